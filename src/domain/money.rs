//! Money is carried in whole cents so that ties and prize splits are exact.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(pub i64);

impl Cents {
    /// Rounds half away from zero; the upstream's long float fractions end here.
    pub fn from_dollars(dollars: f64) -> Cents {
        Cents((dollars * 100.0).round() as i64)
    }

    pub fn to_dollars(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// The sum of `amounts`, in checked arithmetic: it saturates instead of wrapping
    /// round to a negative total. Stored amounts are validated so that their totals fit
    /// (`transform::check_totals`), which leaves saturation for the impossible case.
    pub fn total(amounts: impl IntoIterator<Item = Cents>) -> Cents {
        Cents(
            amounts
                .into_iter()
                .fold(0i64, |sum, c| sum.saturating_add(c.0)),
        )
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}.{:02}", self.0 / 100, (self.0 % 100).abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the API shows is dollars: cents divided by 100, sub-dollar amounts kept.
    #[test]
    fn cents_become_the_dollars_the_api_shows() {
        assert_eq!(Cents(973160).to_dollars(), 9731.6);
        assert_eq!(Cents(5).to_dollars(), 0.05);
        assert_eq!(Cents(0).to_dollars(), 0.0);
        assert_eq!(Cents(-250).to_dollars(), -2.5);
    }

    #[test]
    fn long_upstream_fractions_round_to_the_nearest_cent() {
        assert_eq!(Cents::from_dollars(9731.602714409152), Cents(973160));
        assert_eq!(Cents::from_dollars(0.005), Cents(1));
        assert_eq!(Cents::from_dollars(0.0049), Cents(0));
    }

    #[test]
    fn totals_never_wrap_to_negative() {
        assert_eq!(Cents::total([Cents(1), Cents(2)]), Cents(3));
        assert_eq!(Cents::total([Cents(i64::MAX), Cents(1)]), Cents(i64::MAX));
    }

    #[test]
    fn cents_print_as_dollars() {
        assert_eq!(Cents(123405).to_string(), "$1234.05");
    }
}
