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
    B.get_or_init(|| {
        let mut b = ammonia::Builder::empty();
        b.tags(MASTODON_TAGS.iter().copied().collect::<HashSet<_>>());
        b.generic_attributes(["lang"].into_iter().collect::<HashSet<_>>());
        b.add_tag_attributes("a", ["href", "rel", "class", "translate"]);
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
        b.link_rel(None);
        b.strip_comments(true);
        b
    })
}

/// Cleans HTML to what Mastodon keeps.
pub fn mastodon_clean(html: &str) -> String {
    cleaner().clean(html).to_string()
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
}
