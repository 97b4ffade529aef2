//! Rules for user-supplied text shown back to people.

use unicode_normalization::UnicodeNormalization;

/// Characters that can make text say something other than it shows: control
/// characters, every format character of Unicode (category Cf: zero-width
/// characters, bidirectional marks and overrides, the soft hyphen, tag
/// characters and the like), line and paragraph separators, and the fillers
/// that render as nothing (the combining grapheme joiner, the Hangul fillers,
/// the Mongolian variation selectors). Emoji variation selectors (U+FE00 to
/// U+FE0F) stay allowed: they change how a symbol is drawn, not which.
pub(crate) fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Format characters (Cf), Unicode 15.
            '\u{AD}'
                | '\u{600}'..='\u{605}'
                | '\u{61C}'
                | '\u{6DD}'
                | '\u{70F}'
                | '\u{890}'..='\u{891}'
                | '\u{8E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
                // Separators that break lines, and characters drawn as nothing.
                | '\u{2028}'..='\u{2029}'
                | '\u{34F}'
                | '\u{115F}'..='\u{1160}'
                | '\u{3164}'
                | '\u{FFA0}'
                | '\u{180B}'..='\u{180D}'
                | '\u{180F}'
                | '\u{17B4}'..='\u{17B5}'
                // Noncharacters: never meant to be shown.
                | '\u{FDD0}'..='\u{FDEF}'
        )
        || (u32::from(c) & 0xFFFE) == 0xFFFE
}

/// Whether `text` has a character that shows: not only spaces, combining
/// marks, variation selectors and the blank braille pattern, which alone
/// display as nothing.
pub(crate) fn has_visible(text: &str) -> bool {
    text.chars().any(|c| {
        !c.is_whitespace()
            && !unicode_normalization::char::is_combining_mark(c)
            && !matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' | '\u{2800}')
            && !is_invisible(c)
    })
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

    #[test]
    fn text_made_only_of_marks_selectors_or_blanks_shows_nothing() {
        for blank in ["\u{FE0F}", "\u{FE00}", "\u{E0100}", "\u{2800}", "\u{300}", " \u{301}\u{302}"]
        {
            assert!(!has_visible(blank), "{blank:?}");
        }
        for shown in ["a", "e\u{301}", "❤\u{FE0F}", "漢\u{E0100}", "\u{E000}"] {
            assert!(has_visible(shown), "{shown:?}");
        }
    }

    #[test]
    fn format_characters_separators_and_fillers_are_invisible() {
        let found_by_the_review = [
            '\u{61C}',
            '\u{AD}',
            '\u{180E}',
            '\u{FFF9}',
            '\u{FFFB}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{34F}',
            '\u{115F}',
            '\u{1160}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{2028}',
            '\u{2029}',
            '\u{180B}',
        ];
        for c in found_by_the_review {
            assert!(is_invisible(c), "U+{:04X}", u32::from(c));
        }
        for c in ['\u{17B4}', '\u{FDD0}', '\u{FFFF}', '\u{FFFE}', '\u{10FFFF}', '\u{1FFFE}'] {
            assert!(is_invisible(c), "U+{:04X}", u32::from(c));
        }
        // An emoji's presentation selector is part of how people write it.
        for c in ['\u{FE0F}', '❤', '한', 'ㄱ'] {
            assert!(!is_invisible(c), "U+{:04X}", u32::from(c));
        }
    }
}
