//! Rules for user-supplied text shown back to people.

use unicode_normalization::UnicodeNormalization;

/// Characters that can make text say something other than it shows:
/// control characters, zero-width characters and bidirectional overrides.
pub(crate) fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// The comparable form of a username: NFKC (so full-width, mathematical and
/// decomposed spellings of one name are one name), trimmed, lowercased.
pub(crate) fn fold_username(raw: &str) -> String {
    raw.nfkc().collect::<String>().trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_spellings_of_a_name_fold_to_one() {
        for spelling in ["ａｌｉｃｅ", "𝐚𝐥𝐢𝐜𝐞", " Alice ", "ALICE"] {
            assert_eq!(fold_username(spelling), "alice", "{spelling}");
        }
        assert_eq!(fold_username("e\u{301}lodie"), fold_username("\u{e9}lodie"));
    }

    #[test]
    fn control_zero_width_and_bidi_characters_are_invisible() {
        for c in ['\u{0}', '\u{1b}', '\n', '\u{200B}', '\u{202E}', '\u{2066}', '\u{FEFF}'] {
            assert!(is_invisible(c), "{c:?}");
        }
        assert!(!is_invisible('a') && !is_invisible('é') && !is_invisible(' '));
    }
}
