//! Text that came from outside (an upstream player's name) made safe to show anywhere:
//! on a page, in a proof, in a Discord or Telegram message, in chat.
//!
//! A name is one line of text a person reads. A line break in it writes a second line
//! that looks like ours (a fake "2. Bob — $9,999.00" in a results message); an unclosed
//! right-to-left override reverses the rest of the line, prize included; zero-width
//! characters make two names look alike. SPEC §17: all of them go before a name is
//! stored, and messages apply the same cleaning to what was stored before.

use std::borrow::Cow;

/// Whether `c` is removed from a name: a control character (C0, DEL, C1), a format
/// character (Unicode's Cf: bidirectional marks, embeddings, overrides and isolates,
/// zero-width characters and joiners, invisible operators, the soft hyphen, the
/// byte-order mark, Arabic number signs, tag characters that can smuggle text), a line
/// or paragraph separator, or a character drawn as nothing (the combining grapheme
/// joiner, the Hangul fillers).
pub fn is_unsafe_in_a_name(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{115F}'..='\u{1160}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// Variation selectors choose how the character before them is drawn (an emoji's
/// colour form): kept after a character, but no name is made of them alone.
fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// `name` without the characters [`is_unsafe_in_a_name`] removes, and with its spaces
/// trimmed; empty when nothing visible is left; borrowed when there was nothing to
/// remove (every real name).
pub fn clean_name(name: &str) -> Cow<'_, str> {
    let blank = |n: &str| {
        n.chars()
            .all(|c| c.is_whitespace() || is_variation_selector(c))
    };
    if !name.chars().any(is_unsafe_in_a_name) && name.trim() == name && !blank(name) {
        return Cow::Borrowed(name);
    }
    let kept: String = name.chars().filter(|&c| !is_unsafe_in_a_name(c)).collect();
    let kept = kept.trim();
    Cow::Owned(if blank(kept) {
        String::new()
    } else {
        kept.to_string()
    })
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
        // Tag characters (text that shows as nothing), fillers, invisible operators.
        assert_eq!(clean_name("Bob\u{E0041}\u{E0042}\u{E007F}"), "Bob");
        assert_eq!(clean_name("\u{3164}\u{115F}\u{FFA0}\u{034F}"), "");
        assert_eq!(clean_name("a\u{2062}b\u{206A}"), "ab");
        // Variation selectors stay with their character, but make no name alone.
        assert_eq!(clean_name("Love\u{2764}\u{FE0F}"), "Love\u{2764}\u{FE0F}");
        assert_eq!(clean_name("\u{FE0F}\u{FE0F}"), "");
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
