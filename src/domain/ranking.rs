//! Race standings: who takes part, in which position, for which prize.
//!
//! Ties are equal amounts to the cent. Tied players share a position (1, 2, 2, 4) and
//! share equally the prizes of the places they occupy; among themselves they are listed
//! by name (case-insensitive), then uid. Any cent that cannot be split evenly goes to the
//! tied players in that listing order, so the prizes always add up.

use std::cmp::Ordering;

use super::Cents;
use super::prizes::place_prizes;

/// One player's amount for the period being ranked.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub uid: String,
    pub name: String,
    pub wagered: Cents,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub uid: String,
    pub name: String,
    pub wagered: Cents,
    pub position: u32,
    pub prize: Cents,
}

/// Orders entries for display: amount descending, then name, then uid.
pub fn display_order(a: &Entry, b: &Entry) -> Ordering {
    b.wagered
        .cmp(&a.wagered)
        .then_with(|| compare_names(&a.name, &b.name))
        .then_with(|| a.uid.cmp(&b.uid))
}

/// Names compared lowercased, char by char: the order of the lowercased strings (UTF-8
/// orders as its code points do) without making them, which on a month's first
/// days, when many players tie at zero, was most of a ranking's time.
fn compare_names(a: &str, b: &str) -> Ordering {
    fn lower(s: &str) -> impl Iterator<Item = char> + '_ {
        s.chars().flat_map(char::to_lowercase)
    }
    lower(a).cmp(lower(b))
}

/// Positions shared by ties, without prizes: for leaderboards of any period.
pub fn rank(mut entries: Vec<Entry>) -> Vec<(u32, Entry)> {
    entries.sort_by(display_order);
    let mut ranked = Vec::with_capacity(entries.len());
    let mut position = 0u32;
    let mut previous: Option<Cents> = None;
    for (index, entry) in entries.into_iter().enumerate() {
        if previous != Some(entry.wagered) {
            position = index as u32 + 1;
            previous = Some(entry.wagered);
        }
        ranked.push((position, entry));
    }
    ranked
}

/// The standings of a race: entries strictly above `min_wager`, ranked, with prizes.
pub fn standings(
    entries: Vec<Entry>,
    min_wager: Cents,
    pool: Cents,
    shares: &[f64],
) -> Vec<Standing> {
    let eligible: Vec<Entry> = entries
        .into_iter()
        .filter(|e| e.wagered > min_wager)
        .collect();
    let ranked = rank(eligible);
    let places = place_prizes(pool, shares);
    let mut standings: Vec<Standing> = ranked
        .into_iter()
        .map(|(position, e)| Standing {
            uid: e.uid,
            name: e.name,
            wagered: e.wagered,
            position,
            prize: Cents(0),
        })
        .collect();
    for group in tie_groups(&standings) {
        let first_place = group.start;
        let group_total: i64 = (first_place..group.end)
            .map(|p| places.get(p).map_or(0, |c| c.0))
            .sum();
        let size = (group.end - group.start) as i64;
        let (each, extra) = (group_total / size, group_total % size);
        for (offset, standing) in standings[group].iter_mut().enumerate() {
            standing.prize = Cents(each + i64::from((offset as i64) < extra));
        }
    }
    standings
}

/// Index ranges of runs of equal positions.
fn tie_groups(standings: &[Standing]) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..=standings.len() {
        if i == standings.len() || standings[i].position != standings[start].position {
            groups.push(start..i);
            start = i;
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(uid: &str, name: &str, cents: i64) -> Entry {
        Entry {
            uid: uid.into(),
            name: name.into(),
            wagered: Cents(cents),
        }
    }

    const DEFAULT: [f64; 5] = [0.5, 0.3, 0.1, 0.05, 0.05];

    #[test]
    fn ties_share_a_position_and_the_next_position_skips() {
        let out = standings(
            vec![
                entry("a", "A", 500),
                entry("b", "b", 300),
                entry("c", "C", 300),
                entry("d", "D", 100),
            ],
            Cents(0),
            Cents(50_000),
            &DEFAULT,
        );
        let positions: Vec<u32> = out.iter().map(|s| s.position).collect();
        assert_eq!(positions, vec![1, 2, 2, 4]);
    }

    #[test]
    fn tied_players_split_the_prizes_of_the_places_they_occupy() {
        let out = standings(
            vec![
                entry("a", "A", 500),
                entry("b", "B", 300),
                entry("c", "C", 300),
                entry("d", "D", 100),
            ],
            Cents(0),
            Cents(50_000),
            &DEFAULT,
        );
        // Places 2 and 3 pay 150 + 50 = 200 dollars, 100 each.
        assert_eq!(out[1].prize, Cents(10_000));
        assert_eq!(out[2].prize, Cents(10_000));
        assert_eq!(out[3].prize, Cents(2_500));
    }

    #[test]
    fn an_odd_cent_in_a_tie_goes_to_the_first_listed() {
        let out = standings(
            vec![
                entry("a", "a", 100),
                entry("b", "b", 100),
                entry("c", "c", 100),
            ],
            Cents(0),
            Cents(100),
            &[1.0],
        );
        assert_eq!(
            out.iter().map(|s| s.prize.0).collect::<Vec<_>>(),
            vec![34, 33, 33]
        );
    }

    #[test]
    fn ties_are_listed_by_name_ignoring_case_then_uid() {
        let out = standings(
            vec![
                entry("z", "bob", 100),
                entry("y", "Alice", 100),
                entry("x", "bob", 100),
            ],
            Cents(0),
            Cents(0),
            &[1.0],
        );
        let uids: Vec<&str> = out.iter().map(|s| s.uid.as_str()).collect();
        assert_eq!(uids, vec!["y", "x", "z"]);
    }

    #[test]
    fn players_at_or_below_the_minimum_wager_do_not_take_part() {
        let out = standings(
            vec![
                entry("a", "A", 1000),
                entry("b", "B", 500),
                entry("c", "C", 0),
            ],
            Cents(500),
            Cents(100),
            &[1.0],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].uid, "a");
    }

    fn entries() -> impl Strategy<Value = Vec<Entry>> {
        prop::collection::vec((0i64..50, "[a-c]{1,2}"), 0..40).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (amount, name))| entry(&format!("u{i}"), &name, amount * 100))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn names_order_as_their_lowercased_text_does(
            a in "(?s).{0,12}", b in "[a-zA-ZßİΣσ ]{0,6}", shared in "[a-zA-Z]{0,3}"
        ) {
            // Against the lowercased strings made whole, as before (char by char, so Σ
            // is σ everywhere), with letters whose lowercase is longer (İ).
            let lowered = |s: &str| s.chars().flat_map(char::to_lowercase).collect::<String>();
            for (x, y) in [(&a, &b), (&b, &a), (&a, &a)] {
                let (x, y) = (format!("{shared}{x}"), format!("{shared}{y}"));
                prop_assert_eq!(
                    compare_names(&x, &y),
                    lowered(&x).cmp(&lowered(&y)),
                    "{:?} vs {:?}", x, y
                );
            }
        }

        #[test]
        fn prizes_sum_to_the_pool_when_every_paid_place_is_taken(
            list in entries(), pool in 0i64..10_000_000
        ) {
            let out = standings(list, Cents(0), Cents(pool), &DEFAULT);
            let paid: i64 = out.iter().map(|s| s.prize.0).sum();
            if out.len() >= DEFAULT.len() {
                prop_assert_eq!(paid, pool);
            } else {
                prop_assert!(paid <= pool);
            }
        }

        #[test]
        fn a_position_is_one_more_than_the_players_strictly_ahead(list in entries()) {
            let out = standings(list, Cents(0), Cents(1000), &DEFAULT);
            for s in &out {
                let ahead = out.iter().filter(|o| o.wagered > s.wagered).count() as u32;
                prop_assert_eq!(s.position, ahead + 1);
            }
        }

        #[test]
        fn equal_amounts_get_equal_prizes_within_a_cent(list in entries(), pool in 0i64..1_000_000) {
            let out = standings(list, Cents(0), Cents(pool), &DEFAULT);
            for a in &out {
                for b in out.iter().filter(|b| b.wagered == a.wagered) {
                    prop_assert!((a.prize.0 - b.prize.0).abs() <= 1);
                }
            }
        }
    }
}
