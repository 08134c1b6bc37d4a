//! What a tag is called where it leaves the blog: the folder of its page
//! (`/tags/<slug>/`) and the hashtag Mastodon files it under. Tags mean
//! what they say: `C++`, `C` and `C#` are three tags, `日本` and `تقنية`
//! keep their script.
//!
//! Mastodon folds a hashtag to lowercase, ASCII-folds Latin letters and
//! drops every character that is not a letter, a digit or one of `_`, `·`,
//! `・` and U+200C (`app/lib/hashtag_normalizer.rb`,
//! `Tag::HASHTAG_INVALID_CHARS_RE`), and needs a letter in it
//! (`HASHTAG_NAME_RE`): `#C++` and `#C#` would both be `#c` there. So the
//! symbols that tell programming languages apart become words.

use icu_properties::CodePointMapData;
use icu_properties::props::{GeneralCategory, GeneralCategoryGroup};

/// Symbols that make a tag another tag (`C++` is not `C`), and the word
/// each becomes in a page's folder and (capitalised) in a hashtag.
const SYMBOL_WORDS: [(char, &str); 2] = [('+', "plus"), ('#', "sharp")];

/// Characters besides letters and digits Mastodon keeps in a hashtag
/// (`Tag::HASHTAG_SEPARATORS`).
const HASHTAG_SEPARATORS: [char; 4] = ['_', '\u{00B7}', '\u{30FB}', '\u{200C}'];

/// Is `c` a letter, a combining mark or a digit, in any script?
fn is_word_char(c: char) -> bool {
    let gc = CodePointMapData::<GeneralCategory>::new().get(c);
    GeneralCategoryGroup::Letter.contains(gc)
        || GeneralCategoryGroup::Mark.contains(gc)
        || GeneralCategoryGroup::Number.contains(gc)
}

/// Latin letters with diacritics, which page folders spell in ASCII (as
/// stoa always has: `Café` lives at `/tags/cafe/`).
fn is_accented_latin(c: char) -> bool {
    matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}')
}

/// The tag without the `#` it may be written with (`#rust` is `rust`).
fn bare(tag: &str) -> &str {
    tag.trim().trim_start_matches('#')
}

/// One character of a tag, as page folders see it.
enum Piece {
    /// Letters or digits, lowercase (accented Latin letters in ASCII).
    Word(String),
    /// A symbol of [`SYMBOL_WORDS`]: the symbol and its word.
    Symbol(char, &'static str),
    /// Anything else: a gap between words.
    Gap,
}

/// The tag, character by character (`#` it starts with left out).
fn pieces(tag: &str) -> impl Iterator<Item = Piece> + '_ {
    bare(tag).chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            Piece::Word(c.to_ascii_lowercase().to_string())
        } else if let Some((s, word)) = SYMBOL_WORDS.iter().find(|(s, _)| *s == c) {
            Piece::Symbol(*s, word)
        } else if is_accented_latin(c) && is_word_char(c) {
            let folded = slug::slugify(c.to_string());
            if folded.is_empty() {
                Piece::Gap
            } else {
                Piece::Word(folded)
            }
        } else if !c.is_ascii() && is_word_char(c) {
            Piece::Word(c.to_lowercase().to_string())
        } else {
            Piece::Gap
        }
    })
}

/// The folder of a tag's page: lowercase letters and digits of every
/// script (accented Latin letters in ASCII), `+` and `#` as `plus` and
/// `sharp`, anything else a `-` between words: `C++` → `c-plus-plus`,
/// `c#` → `c-sharp`, `日本` → `日本`, `Self hosting` → `self-hosting`.
/// Empty when the tag has no letter, digit, `+` or `#`.
pub fn slug(tag: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for piece in pieces(tag) {
        let (word, symbol) = match piece {
            Piece::Word(w) => (w, false),
            Piece::Symbol(_, w) => (w.to_string(), true),
            Piece::Gap => {
                gap = true;
                continue;
            }
        };
        if (gap || symbol) && !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word);
        gap = symbol;
    }
    out
}

/// Site path of the first page of the tag whose folder is `slug`,
/// percent-encoded for links (the folder itself is named in UTF-8).
pub fn page_path(slug: &str) -> String {
    format!("/tags/{}/", crate::text::percent_encode(slug))
}

/// What tells two spellings of a tag apart: `Rust` and `rust`, `Café`
/// and `cafe`, `self-hosting` and `Self hosting` are one tag; `C++` and
/// `c-plus-plus`, whose pages would share a folder, are two.
pub fn identity(tag: &str) -> String {
    pieces(tag)
        .filter_map(|p| match p {
            Piece::Word(w) => Some(w),
            Piece::Symbol(s, _) => Some(s.to_string()),
            Piece::Gap => None,
        })
        .collect()
}

/// The hashtag name (without `#`) Mastodon files the tag under, as
/// written but for the characters it would drop: letters, digits and
/// Mastodon's separators of every script kept, `+` and `#` as `Plus` and
/// `Sharp` (`C++` → `CPlusPlus`, `c#` → `cSharp`), anything else left out
/// (`Self hosting` → `Selfhosting`, which Mastodon shows as typed and files
/// as `selfhosting`). `None` when Mastodon has no hashtag for it: no
/// letter (`2024`).
pub fn hashtag(tag: &str) -> Option<String> {
    let mut out = String::new();
    for c in bare(tag).chars() {
        if let Some((_, word)) = SYMBOL_WORDS.iter().find(|(s, _)| *s == c) {
            let mut w = word.chars();
            out.extend(w.next().map(|f| f.to_ascii_uppercase()));
            out.extend(w);
        } else if is_word_char(c) || HASHTAG_SEPARATORS.contains(&c) {
            out.push(c);
        }
    }
    let has_letter = out.chars().any(|c| {
        GeneralCategoryGroup::Letter.contains(CodePointMapData::<GeneralCategory>::new().get(c))
    });
    has_letter.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_and_scripts_make_distinct_folders() {
        for (tag, want) in [
            ("C++", "c-plus-plus"),
            ("C", "c"),
            ("c#", "c-sharp"),
            ("#rust", "rust"),
            ("Rust", "rust"),
            ("日本", "日本"),
            ("تقنية", "تقنية"),
            ("हिन्दी", "हिन्दी"),
            ("Café", "cafe"),
            ("Self hosting", "self-hosting"),
            ("node.js", "node-js"),
            ("Ελληνικά", "ελληνικά"),
            ("a + b", "a-plus-b"),
            ("!!", ""),
        ] {
            assert_eq!(slug(tag), want, "{tag}");
        }
    }

    #[test]
    fn hashtags_are_what_mastodon_keeps() {
        for (tag, want) in [
            ("C++", Some("CPlusPlus")),
            ("C", Some("C")),
            ("c#", Some("cSharp")),
            ("#rust", Some("rust")),
            ("日本", Some("日本")),
            ("تقنية", Some("تقنية")),
            ("Café", Some("Café")),
            ("Self hosting", Some("Selfhosting")),
            ("snake_case", Some("snake_case")),
            ("2024", None),
            ("!!", None),
        ] {
            assert_eq!(hashtag(tag).as_deref(), want, "{tag}");
        }
    }

    #[test]
    fn spellings_of_one_tag_and_different_tags() {
        let same = |a: &str, b: &str| identity(a) == identity(b);
        assert!(same("Rust", "rust"));
        assert!(same("Café", "cafe"));
        assert!(same("self-hosting", "Self hosting"));
        assert!(same("#C++", "c++"));
        assert!(!same("C++", "c-plus-plus"));
        assert!(!same("c#", "c sharp"));
        assert!(!same("C++", "C"));
        assert_eq!(slug("C++"), slug("c-plus-plus"), "they would share a page");
    }
}
