//! Text that came from outside (an upstream player's name) made safe to show anywhere:
//! on a page, in a proof, in a Discord or Telegram message, in chat.
//!
//! A name is one line of text a person reads. A line break in it writes a second line
//! that looks like ours (a fake "2. Bob — $9,999.00" in a results message); an unclosed
//! right-to-left override reverses the rest of the line, prize included; zero-width
//! characters make two names look alike. SPEC §17: all of them go before a name is
//! stored, and messages apply the same cleaning to what was stored before.

use std::borrow::Cow;

/// Whether `c` is removed from a name: a control character (C0, DEL, C1), a
/// bidirectional control (marks, embeddings, overrides, isolates), a zero-width
/// character or joiner, a line or paragraph separator, a soft hyphen, a byte-order
/// mark, or an interlinear annotation character.
pub fn is_unsafe_in_a_name(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// `name` without the characters [`is_unsafe_in_a_name`] removes, and with its spaces
/// trimmed; borrowed when there was nothing to remove (every real name).
pub fn clean_name(name: &str) -> Cow<'_, str> {
    if !name.chars().any(is_unsafe_in_a_name) && name.trim() == name {
        return Cow::Borrowed(name);
    }
    let kept: String = name.chars().filter(|&c| !is_unsafe_in_a_name(c)).collect();
    Cow::Owned(kept.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_direction_overrides_and_zero_width_characters_are_removed() {
        assert_eq!(
            clean_name("Alice\n2. Bob — $9,999.00"),
            "Alice2. Bob — $9,999.00"
        );
        assert_eq!(clean_name("Eve\u{202E}00.999,9$"), "Eve00.999,9$");
        assert_eq!(clean_name("A\u{200B}li\u{2066}ce\u{2069}"), "Alice");
        assert_eq!(clean_name("x\r\u{85}\u{2028}\u{2029}y\u{FEFF}"), "xy");
        assert_eq!(clean_name("\u{0}\u{7}"), "");
    }

    #[test]
    fn ordinary_names_in_any_script_are_kept_as_they_are() {
        for name in ["LuckyGoat77", "Zoë", "عمر", "山田", "Bob [VIP] *", "a b"] {
            assert!(
                matches!(clean_name(name), Cow::Borrowed(n) if n == name),
                "{name}"
            );
        }
    }
}
