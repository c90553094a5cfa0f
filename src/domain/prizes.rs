//! Splitting a prize pool over places, exactly to the cent.

use super::Cents;

/// The most paid places a distribution may have.
pub const MAX_PLACES: usize = 100;
const SUM_TOLERANCE: f64 = 1e-6;

/// Checks a distribution of shares by place: each a share in [0, 1], summing to 1.
pub fn check_distribution(shares: &[f64]) -> Result<(), String> {
    if shares.is_empty() || shares.len() > MAX_PLACES {
        return Err(format!("must list 1 to {MAX_PLACES} shares"));
    }
    if let Some(bad) = shares
        .iter()
        .find(|s| !s.is_finite() || **s < 0.0 || **s > 1.0)
    {
        return Err(format!("every share must be between 0 and 1 (found {bad})"));
    }
    let sum: f64 = shares.iter().sum();
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err(format!("shares must sum to 1 (they sum to {sum})"));
    }
    Ok(())
}

/// The prize of each place, in cents, summing exactly to the pool: each place gets its
/// share rounded down, and the cents left over go to the places with the largest
/// remainders (the higher place first on equal remainders).
pub fn place_prizes(pool: Cents, shares: &[f64]) -> Vec<Cents> {
    // Normalised so that shares summing to 1 within the tolerance still split the pool.
    let total: f64 = shares.iter().sum();
    let exact: Vec<f64> = if total > 0.0 {
        shares.iter().map(|s| pool.0 as f64 * s / total).collect()
    } else {
        vec![0.0; shares.len()]
    };
    let mut cents: Vec<i64> = exact.iter().map(|e| e.floor() as i64).collect();
    let mut left = pool.0 - cents.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &place in order.iter().cycle() {
        if left <= 0 || total <= 0.0 {
            break;
        }
        cents[place] += 1;
        left -= 1;
    }
    cents.into_iter().map(Cents).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_default_split_of_500_dollars() {
        let prizes = place_prizes(Cents(50_000), &[0.5, 0.3, 0.1, 0.05, 0.05]);
        assert_eq!(
            prizes,
            vec![
                Cents(25_000),
                Cents(15_000),
                Cents(5_000),
                Cents(2_500),
                Cents(2_500)
            ]
        );
    }

    #[test]
    fn a_pool_that_does_not_divide_evenly_still_sums_to_the_pool() {
        let prizes = place_prizes(Cents(100), &[1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]);
        assert_eq!(prizes, vec![Cents(34), Cents(33), Cents(33)]);
    }

    #[test]
    fn the_bounds_of_a_distribution_are_exact() {
        // Shares of exactly 0 and 1 are shares; a hair outside is not.
        assert!(check_distribution(&[1.0]).is_ok());
        assert!(check_distribution(&[0.0, 1.0]).is_ok());
        assert!(check_distribution(&[1.000_000_1]).is_err());
        assert!(check_distribution(&[-0.000_000_1, 1.000_000_1]).is_err());
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(check_distribution(&[bad]).is_err(), "{bad}");
        }
        // 1 to 100 places.
        assert!(check_distribution(&[0.01; MAX_PLACES]).is_ok());
        assert!(check_distribution(&[1.0 / 101.0; MAX_PLACES + 1]).is_err());
        // The sum: within 1e-6 of 1 either way, not beyond.
        assert!(check_distribution(&[0.5, 0.500_000_9]).is_ok());
        assert!(check_distribution(&[0.5, 0.499_999_1]).is_ok());
        assert!(check_distribution(&[0.5, 0.500_001_1]).is_err());
        assert!(check_distribution(&[0.5, 0.499_998_9]).is_err());
    }

    #[test]
    fn shares_that_sum_to_one_within_the_tolerance_split_as_if_normalised() {
        // 0.6 + 0.3999991 = 0.9999991: 0.6 of the pool normalised is 600,000.54 cents,
        // so first place takes the odd cent.
        assert_eq!(
            place_prizes(Cents(1_000_000), &[0.6, 0.399_999_1]),
            vec![Cents(600_001), Cents(399_999)]
        );
    }

    #[test]
    fn leftover_cents_go_to_the_largest_remainders_first() {
        // 10.4 and 89.6 cents: the one cent left goes to the .6, not to the higher place.
        assert_eq!(
            place_prizes(Cents(100), &[0.104, 0.896]),
            vec![Cents(10), Cents(90)]
        );
        // Equal remainders: the higher place first.
        assert_eq!(
            place_prizes(Cents(10), &[0.15, 0.85]),
            vec![Cents(2), Cents(8)]
        );
    }

    #[test]
    fn distributions_that_do_not_sum_to_one_are_refused() {
        assert!(check_distribution(&[0.5, 0.3]).is_err());
        assert!(check_distribution(&[]).is_err());
        assert!(check_distribution(&[1.5, -0.5]).is_err());
        assert!(check_distribution(&[f64::NAN]).is_err());
        assert!(check_distribution(&[0.7, 0.2, 0.1]).is_ok());
    }

    fn distribution() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(1u32..1000, 1..20).prop_map(|weights| {
            let total: u32 = weights.iter().sum();
            weights.iter().map(|w| *w as f64 / total as f64).collect()
        })
    }

    proptest! {
        #[test]
        fn place_prizes_always_sum_to_the_pool(pool in 0i64..100_000_000, shares in distribution()) {
            let prizes = place_prizes(Cents(pool), &shares);
            prop_assert_eq!(prizes.iter().map(|c| c.0).sum::<i64>(), pool);
            prop_assert!(prizes.iter().all(|c| c.0 >= 0));
        }
    }

    proptest! {
        /// The admin page turns dollars per place into shares as amount ÷ sum (in
        /// cents): the split to the cent must give back exactly those amounts.
        #[test]
        fn dollar_amounts_typed_per_place_come_back_to_the_cent(
            amounts in prop::collection::vec(1i64..10_000_000, 1..30)
        ) {
            let pool: i64 = amounts.iter().sum();
            let shares: Vec<f64> = amounts.iter().map(|&a| a as f64 / pool as f64).collect();
            prop_assert!(check_distribution(&shares).is_ok());
            let paid: Vec<i64> = place_prizes(Cents(pool), &shares).into_iter().map(|c| c.0).collect();
            prop_assert_eq!(paid, amounts);
        }
    }
}
