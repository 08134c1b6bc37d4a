//! Code blocks: syntax colouring with CSS classes (`hl-*`), so themes own the
//! colours and light/dark switching needs no JavaScript.

use std::sync::OnceLock;

use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

use crate::text::escape;

/// The class prefix themes style (`.hl-keyword`, `.hl-string`, …).
pub const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };

/// Loading the grammars takes tens of milliseconds: do it once, on first use.
fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// Renders a code block; unknown languages and `highlight = false` give plain,
/// escaped code with the same markup.
pub fn code_block(code: &str, lang: &str, highlight: bool) -> String {
    let lang_attr = if lang.is_empty() {
        String::new()
    } else {
        format!(
            " class=\"language-{}\" data-lang=\"{}\"",
            escape(lang),
            escape(lang)
        )
    };
    let body = if highlight && !lang.is_empty() {
        colour(code, lang).unwrap_or_else(|| escape(code))
    } else {
        escape(code)
    };
    format!("<pre class=\"code\"><code{lang_attr}>{body}</code></pre>\n")
}

fn colour(code: &str, lang: &str) -> Option<String> {
    let set = syntaxes();
    let syntax = set
        .find_syntax_by_token(lang)
        .or_else(|| set.find_syntax_by_extension(lang))?;
    let mut generator = ClassedHTMLGenerator::new_with_class_style(syntax, set, CLASS_STYLE);
    for line in LinesWithEndings::from(code) {
        generator
            .parse_html_for_line_which_includes_newline(line)
            .ok()?;
    }
    Some(generator.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_language_is_escaped() {
        let html = code_block("<b>", "klingon", true);
        assert!(html.contains("&lt;b&gt;"));
        assert!(html.contains("language-klingon"));
    }

    #[test]
    fn known_language_gets_classes() {
        let html = code_block("let x = \"a\";\n", "rust", true);
        assert!(html.contains("hl-"), "{html}");
        let plain = code_block("let x = 1;\n", "rust", false);
        assert!(!plain.contains("hl-"));
    }
}
