//! Player names as the public sees them (SPEC §11, `race.name_masking`): as they are,
//! partly hidden (`ab***yz`), or hidden. A verified owner may choose to show their name.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NameMasking {
    #[default]
    None,
    Partial,
    Full,
}

/// What shows instead of a fully hidden name.
pub const HIDDEN: &str = "*****";

/// `name` under `mode`. Partial keeps the first two and last two characters of names of
/// six or more (`LuckyGoat77` → `Lu***77`), only the first of shorter ones (`bob` →
/// `b***`), so a short name is never shown whole.
pub fn mask(name: &str, mode: NameMasking) -> String {
    match mode {
        NameMasking::None => name.to_string(),
        NameMasking::Full => HIDDEN.to_string(),
        NameMasking::Partial => {
            let chars: Vec<char> = name.chars().collect();
            if chars.len() >= 6 {
                let head: String = chars[..2].iter().collect();
                let tail: String = chars[chars.len() - 2..].iter().collect();
                format!("{head}***{tail}")
            } else {
                format!("{}***", chars.first().copied().unwrap_or('*'))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shown_partly_or_not_at_all() {
        assert_eq!(mask("LuckyGoat77", NameMasking::None), "LuckyGoat77");
        assert_eq!(mask("LuckyGoat77", NameMasking::Partial), "Lu***77");
        assert_eq!(mask("abcdef", NameMasking::Partial), "ab***ef");
        assert_eq!(mask("abcde", NameMasking::Partial), "a***");
        assert_eq!(mask("bob", NameMasking::Partial), "b***");
        assert_eq!(mask("Ünïcødé🐐", NameMasking::Partial), "Ün***é🐐");
        assert_eq!(mask("", NameMasking::Partial), "****");
        assert_eq!(mask("LuckyGoat77", NameMasking::Full), HIDDEN);
    }
}
