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
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}.{:02}", self.0 / 100, (self.0 % 100).abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_upstream_fractions_round_to_the_nearest_cent() {
        assert_eq!(Cents::from_dollars(9731.602714409152), Cents(973160));
        assert_eq!(Cents::from_dollars(0.005), Cents(1));
        assert_eq!(Cents::from_dollars(0.0049), Cents(0));
    }

    #[test]
    fn cents_print_as_dollars() {
        assert_eq!(Cents(123405).to_string(), "$1234.05");
    }
}
