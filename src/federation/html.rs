//! Post content for the fediverse: Markdown rendered in the fediverse
//! flavour, then cleaned with Mastodon's own allowlist, so what we send is
//! what Mastodon shows. `stoa preview` prints the same text.

use std::collections::HashSet;
use std::sync::OnceLock;

/// Elements Mastodon keeps (`sanitize_config.rb`, `MASTODON_STRICT`).
pub const MASTODON_TAGS: &[&str] = &[
    "p",
    "br",
    "span",
    "a",
    "del",
    "s",
    "pre",
    "blockquote",
    "code",
    "b",
    "strong",
    "u",
    "i",
    "em",
    "ul",
    "ol",
    "li",
    "ruby",
    "rt",
    "rp",
];

fn cleaner() -> &'static ammonia::Builder<'static> {
    static B: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    B.get_or_init(|| allowlist(None))
}

/// The same allowlist for remote text shown on the blog: every link gets
/// `rel="nofollow ugc noopener"` (and any `rel` it had is dropped).
fn blog_cleaner() -> &'static ammonia::Builder<'static> {
    static B: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    B.get_or_init(|| allowlist(Some("nofollow ugc noopener")))
}

fn allowlist(rel: Option<&'static str>) -> ammonia::Builder<'static> {
    {
        let mut b = ammonia::Builder::empty();
        b.tags(MASTODON_TAGS.iter().copied().collect::<HashSet<_>>());
        b.generic_attributes(["lang"].into_iter().collect::<HashSet<_>>());
        if rel.is_some() {
            b.add_tag_attributes("a", ["href", "class", "translate"]);
        } else {
            b.add_tag_attributes("a", ["href", "rel", "class", "translate"]);
        }
        b.add_tag_attributes("span", ["class", "translate"]);
        b.add_tag_attributes("ol", ["start", "reversed"]);
        b.add_tag_attributes("li", ["value"]);
        b.add_tag_attributes("p", ["class"]);
        b.url_schemes(
            [
                "http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet",
                "gemini",
            ]
            .into_iter()
            .collect::<HashSet<_>>(),
        );
        b.link_rel(rel);
        b.strip_comments(true);
        b
    }
}

/// Cleans a remote reply for the blog's pages: Mastodon's allowlist, and
/// links marked `rel="nofollow ugc noopener"`.
pub fn blog_clean(html: &str) -> String {
    blog_cleaner().clean(html).to_string()
}

/// Cleans HTML to what Mastodon keeps.
pub fn mastodon_clean(html: &str) -> String {
    cleaner().clean(html).to_string()
}

/// Bytes `s` takes inside a JSON string, as `serde_json` escapes it.
pub fn json_len(s: &str) -> usize {
    s.chars().map(json_char_len).sum()
}

fn json_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if u32::from(c) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// Elements after whose end a text reads as whole.
const BLOCKS: &[&str] = &["p", "li", "pre", "blockquote", "ul", "ol"];
/// Elements without an end tag.
const VOID: &[&str] = &["br", "hr", "img", "wbr"];

/// The end (index of `>`) of the tag starting at `start`, quotes respected.
fn tag_end(html: &[u8], start: usize) -> Option<usize> {
    let mut quote = None;
    for (i, &b) in html.iter().enumerate().skip(start + 1) {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), b) if b == q => quote = None,
            (None, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The length of the entity (`&amp;`, `&#39;`) starting at `start`, if one does.
fn entity_len(html: &[u8], start: usize) -> Option<usize> {
    let rest = &html[start + 1..html.len().min(start + 34)];
    let end = rest.iter().position(|&b| b == b';')?;
    (end > 0
        && rest[..end]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'#'))
    .then_some(end + 2)
}

/// An element opened or closed by a tag: (name, closing?); `None` for
/// void elements, comments and the like.
fn tag_effect(tag: &str) -> Option<(String, bool)> {
    let inner = tag.strip_prefix('<')?;
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    let name: String = inner
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    if name.is_empty() || VOID.contains(&name.as_str()) || (!closing && tag.ends_with("/>")) {
        return None;
    }
    Some((name, closing))
}

/// Walks `html` token by token: tags, entities and characters, never
/// splitting one, keeping the stack of open elements. `visit` sees each
/// token's place and text; it returns false to stop. Returns the elements
/// left open, and whether the walk reached the end (a `<` without its `>`
/// stops it).
fn walk(html: &str, mut visit: impl FnMut(usize, &str, &[String]) -> bool) -> (Vec<String>, bool) {
    let bytes = html.as_bytes();
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let end = match bytes[i] {
            b'<' => match tag_end(bytes, i) {
                Some(e) => e + 1,
                None => return (open, false),
            },
            b'&' => i + entity_len(bytes, i).unwrap_or(1),
            _ => i + html[i..].chars().next().map_or(1, char::len_utf8),
        };
        let token = &html[i..end];
        if !visit(i, token, &open) {
            return (open, false);
        }
        if bytes[i] == b'<'
            && let Some((name, closing)) = tag_effect(token)
        {
            if !closing {
                open.push(name);
            } else if let Some(at) = open.iter().rposition(|n| *n == name) {
                open.truncate(at);
            }
        }
        i = end;
    }
    (open, true)
}

fn closing_tags(open: &[String]) -> String {
    open.iter().rev().map(|n| format!("</{n}>")).collect()
}

/// Cuts Mastodon-clean `html` so that, closing tags included, it takes at
/// most `budget` bytes as a JSON string; whole as it is when it fits. The
/// cut falls after the last whole paragraph, list item, quote or code
/// block that fits, when that keeps at least half the budget; otherwise
/// after the last whole word, with "…". Never inside a tag or an entity;
/// every element left open is closed.
pub fn cut(html: &str, budget: usize) -> String {
    const ELLIPSIS: &str = "…";
    let mut used = 0;
    let mut block: Option<(usize, usize)> = None;
    let mut word: Option<usize> = None;
    let mut any: Option<usize> = None;
    let (_, whole) = walk(html, |at, token, open| {
        let closing: usize = open.iter().map(|n| n.len() + 3).sum();
        let in_text = !token.starts_with('<');
        // A cut here, before this token, inside the text: "…" and closings.
        if in_text && used + ELLIPSIS.len() + closing <= budget {
            any = Some(at);
            if token.chars().all(char::is_whitespace) {
                word = Some(at);
            }
        }
        used += json_len(token);
        if let Some((name, true)) = tag_effect(token)
            && BLOCKS.contains(&name.as_str())
        {
            // After this end tag (which closes `name` and what it holds).
            let after: usize = open
                .iter()
                .take(open.iter().rposition(|n| *n == name).unwrap_or(open.len()))
                .map(|n| n.len() + 3)
                .sum();
            if used + after <= budget {
                block = Some((at + token.len(), used));
            }
        }
        used + closing <= budget
    });
    if whole {
        return html.to_string();
    }
    let (end, ellipsis) = match (block, word.or(any)) {
        (Some((end, kept)), _) if kept * 2 >= budget => (end, false),
        (_, Some(end)) => (end, true),
        (Some((end, _)), None) => (end, false),
        (None, None) => return String::new(),
    };
    let head = html[..end].trim_end();
    let (open, _) = walk(head, |_, _, _| true);
    let mut out = head.to_string();
    if ellipsis {
        out.push_str(ELLIPSIS);
    }
    out.push_str(&closing_tags(&open));
    out
}

/// Plain text of Mastodon-clean HTML, the way a reader sees it (for `stoa preview`).
pub fn to_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' if in_tag => {
                in_tag = false;
                let name = tag
                    .trim_start_matches('/')
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                match name.as_str() {
                    "p" | "pre" | "blockquote" | "ul" | "ol" if tag.starts_with('/') => {
                        out.push_str("\n\n")
                    }
                    "br" => out.push('\n'),
                    "li" if !tag.starts_with('/') => out.push_str("• "),
                    "li" => out.push('\n'),
                    _ => {}
                }
            }
            c if in_tag => tag.push(c),
            // Line breaks in HTML source are spaces; only <br> and blocks break lines.
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let mut lines: Vec<&str> = out.lines().map(str::trim).collect();
    lines.dedup_by(|a, b| a.is_empty() && b.is_empty());
    lines.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_mastodon_tags() {
        let html = "<h2 id=x>T</h2><p onclick=\"x()\">a <img src=y> <a href=\"javascript:alert(1)\">b</a> <a href=\"https://e.example/\" class=\"u-url\">c</a></p><script>bad()</script><table><tr><td>1</td></tr></table>";
        let clean = mastodon_clean(html);
        assert!(!clean.contains("<h2") && !clean.contains("<img") && !clean.contains("script"));
        assert!(!clean.contains("onclick") && !clean.contains("javascript"));
        assert!(
            clean.contains("<a href=\"https://e.example/\" class=\"u-url\">c</a>"),
            "{clean}"
        );
    }

    #[test]
    fn text_view() {
        let t = to_text(
            "<p>Hello <strong>you</strong></p><ul><li>one</li><li>two</li></ul><p>a&amp;b</p>",
        );
        assert_eq!(t, "Hello you\n\n• one\n• two\n\na&b");
    }

    /// Checks that `html` is well-formed: every element closed in order,
    /// no tag or entity split.
    fn well_formed(html: &str) {
        let (open, complete) = walk(html, |_, token, _| {
            assert!(
                !token.starts_with('&') || token.ends_with(';'),
                "split entity {token:?} in {html}"
            );
            true
        });
        assert!(complete && open.is_empty(), "{open:?} left open in {html}");
        let doc = scraper::Html::parse_fragment(html);
        assert!(doc.errors.is_empty(), "{:?} in {html}", doc.errors);
    }

    #[test]
    fn json_len_is_what_serde_json_writes() {
        for s in [
            "plain",
            "<a href=\"x\">q</a>",
            "tab\tnew\nline\\ \u{1} é ✓ 🦀",
        ] {
            let written = serde_json::to_string(s).unwrap();
            assert_eq!(json_len(s) + 2, written.len(), "{s}");
        }
    }

    #[test]
    fn cut_keeps_what_fits_whole() {
        let html = "<p>One &amp; two.</p>\n<p>Three.</p>";
        assert_eq!(cut(html, 1000), html);
        assert_eq!(cut(html, json_len(html)), html);
    }

    #[test]
    fn cut_ends_after_a_whole_paragraph_when_it_can() {
        let para = "<p>Some words, <em>stressed</em> &amp; <a href=\"https://e.example/?a=1&amp;b=2\">linked</a>.</p>\n";
        let html = para.repeat(50);
        for budget in [para.len() * 3 + 5, 700, 1999, 2500] {
            let short = cut(&html, budget);
            assert!(json_len(&short) <= budget, "{budget}: {}", json_len(&short));
            assert!(short.ends_with("</p>"), "{budget}: {short}");
            assert!(json_len(&short) * 2 >= budget - para.len() * 2, "{budget}");
            well_formed(&short);
        }
    }

    #[test]
    fn cut_ends_after_a_word_inside_one_long_paragraph() {
        let html = format!(
            "<blockquote><p>{}<strong>bold &quot;words&quot; here</strong></p></blockquote><ul><li>x</li></ul>",
            "word &amp; word ".repeat(500)
        );
        for budget in [40, 41, 100, 333, 1000, 4097, 8000] {
            let short = cut(&html, budget);
            assert!(json_len(&short) <= budget, "{budget}: {short}");
            assert!(short.contains('…'), "{budget}: {short}");
            assert!(short.ends_with("</p></blockquote>"), "{budget}: {short}");
            well_formed(&short);
        }
    }

    #[test]
    fn cut_never_splits_a_tag_an_entity_or_a_character() {
        let html = format!(
            "<p><a href=\"https://e.example/a>b\" class=\"x\">{}</a></p>",
            "é&#128512;✓&lt;".repeat(300)
        );
        for budget in 10..300 {
            let short = cut(&html, budget);
            assert!(json_len(&short) <= budget, "{budget}: {short}");
            if !short.is_empty() {
                well_formed(&short);
            }
        }
        let pre = format!("<pre><code>{}</code></pre>", "let x = 1;\n".repeat(400));
        let short = cut(&pre, 1000);
        assert!(short.ends_with("…</code></pre>"), "{short}");
        well_formed(&short);
    }
}
