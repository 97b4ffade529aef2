//! Rules for user-supplied text shown back to people.

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory, NoncharacterCodePoint};
use icu_properties::{CodePointMapData, CodePointSetData};
use unicode_normalization::UnicodeNormalization;

/// Characters that can make text say something other than it shows, by
/// Unicode's own properties: control and format characters (zero-width
/// characters, bidirectional marks and overrides, tags), line and paragraph
/// separators, noncharacters, and the default-ignorable code points that
/// render as nothing (fillers, the combining grapheme joiner). The variation
/// selectors of emoji and ideographs stay allowed: they change how a symbol
/// is drawn (an emoji's colour, an ideograph's form), not which it is.
pub(crate) fn is_invisible(c: char) -> bool {
    use GeneralCategory as Gc;
    let category = CodePointMapData::<GeneralCategory>::new().get(c);
    c.is_control()
        || matches!(category, Gc::Format | Gc::LineSeparator | Gc::ParagraphSeparator)
        || CodePointSetData::new::<NoncharacterCodePoint>().contains(c)
        || (CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
            && !is_symbol_variation_selector(c))
}

/// The variation selectors of emoji and ideographs (U+FE00 to U+FE0F and
/// U+E0100 to U+E01EF). Mongolian's free variation selectors stay among the
/// invisible characters, as before.
fn is_symbol_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Whether `text` has a character that shows: not only spaces, combining
/// marks, variation selectors and the blank braille pattern, which alone
/// display as nothing.
pub(crate) fn has_visible(text: &str) -> bool {
    use GeneralCategory as Gc;
    text.chars().any(|c| {
        let category = CodePointMapData::<GeneralCategory>::new().get(c);
        !c.is_whitespace()
            && !matches!(category, Gc::NonspacingMark | Gc::EnclosingMark)
            && c != '\u{2800}'
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
