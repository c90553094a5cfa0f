//! Values that arrive as text and are checked once, where they arrive: a Goated uid, a
//! site username, an email address, the id of a race of any kind. Past the edge they
//! travel as these types, so no later code checks them again. Each has the pattern
//! the published API schema states, and a check that means the same (the HTTP layer's
//! tests compare the two on generated text).

use std::fmt;

/// Why a value was refused, in words for the person who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub &'static str);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

fn all_of(text: &str, allowed: impl Fn(u8) -> bool) -> bool {
    text.bytes().all(allowed)
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_value!(
    /// A Goated player's uid: 1–64 of letters, digits, `_`, `-` (SPEC §17). The same
    /// pattern is checked where an upstream entry arrives (`domain::transform`) and where
    /// a client names a player, so every stored player can be asked for, and no uid can
    /// carry the space or newline that would forge a line of a race's proof.
    Uid
);

impl Uid {
    pub const PATTERN: &'static str = "^[A-Za-z0-9_-]{1,64}$";

    pub fn parse(text: &str) -> Result<Uid, Invalid> {
        if Uid::is_valid(text) {
            Ok(Uid(text.to_string()))
        } else {
            Err(Invalid("a uid is 1 to 64 letters, digits, `_` or `-`"))
        }
    }

    /// Whether `text` matches [`Uid::PATTERN`], without making a value of it.
    pub fn is_valid(text: &str) -> bool {
        (1..=64).contains(&text.len())
            && all_of(text, |b| {
                b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
            })
    }
}

text_value!(
    /// A site account's name: 3–32 of letters, digits, `_`, `.`, `-` (unique ignoring
    /// case, which the database decides).
    Username
);

impl Username {
    pub const PATTERN: &'static str = "^[A-Za-z0-9_.-]{3,32}$";

    pub fn parse(text: &str) -> Result<Username, Invalid> {
        let ok = (3..=32).contains(&text.len())
            && all_of(text, |b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        ok.then(|| Username(text.to_string())).ok_or(Invalid(
            "a username is 3 to 32 letters, digits, `_`, `.` or `-`",
        ))
    }
}

text_value!(
    /// An email address, trimmed and lowercased: something before one `@`, a dotted
    /// domain after it, no spaces or control characters, 3–254 characters.
    Email
);

impl Email {
    pub fn parse(text: &str) -> Result<Email, Invalid> {
        let email = text.trim().to_lowercase();
        let refused = Invalid("This is not an email address.");
        if !(3..=254).contains(&email.len()) {
            return Err(refused);
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(refused);
        };
        let ok = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        ok.then_some(Email(email)).ok_or(refused)
    }
}

text_value!(
    /// The id of a race of any kind: a month (`202611`), a week (`2026-w48`) or a custom
    /// race (`black-friday-sprint`): 1–40 of lowercase letters, digits and `-`.
    RaceKey
);

impl RaceKey {
    pub const PATTERN: &'static str = "^[a-z0-9-]{1,40}$";

    pub fn parse(text: &str) -> Result<RaceKey, Invalid> {
        let ok = (1..=40).contains(&text.len())
            && all_of(text, |b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
            });
        ok.then(|| RaceKey(text.to_string())).ok_or(Invalid(
            "a race id is 1 to 40 lowercase letters, digits or `-`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uid_is_checked_at_its_bounds() {
        assert!(Uid::parse("").is_err());
        assert!(Uid::parse("a").is_ok());
        assert!(Uid::parse(&"a".repeat(64)).is_ok());
        assert!(Uid::parse(&"a".repeat(65)).is_err());
        assert!(Uid::parse("ab_-9Z").is_ok());
        for bad in [
            "a b",
            "a/b",
            "a%2F",
            "ä",
            "a\n",
            "a.b",
            "a:b",
            "x 1 999999 999\n1 forged",
        ] {
            assert!(Uid::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_username_is_checked_at_its_bounds() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(32)).is_ok());
        assert!(Username::parse(&"a".repeat(33)).is_err());
        for bad in ["dave<script>", "da:ve", "dave bob"] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_email_is_trimmed_and_lowercased_and_must_look_like_one() {
        assert_eq!(
            Email::parse("  Bob@EXAMPLE.com ").unwrap().as_str(),
            "bob@example.com"
        );
        for bad in [
            "not-an-email",
            "@example.com",
            "bob@example",
            "bob@.example.com",
            "bob@example.com.",
            "bob@ex@ample.com",
            "bob smith@example.com",
            "a@",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(243))).is_err());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(242))).is_ok());
    }

    #[test]
    fn a_race_key_is_any_kind_of_race_id() {
        for good in ["202611", "2026-w48", "2026-w48-2", "black-friday-sprint"] {
            assert!(RaceKey::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Black", "race_1", "a b", &"a".repeat(41)] {
            assert!(RaceKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
