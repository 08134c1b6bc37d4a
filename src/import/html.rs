//! The HTML of a toot or a feed item, as Markdown a writer can go on
//! editing. A small converter for what those carry (paragraphs, line
//! breaks, headings, links, hashtag and mention links, emphasis, lists, quotes,
//! code, images); any other tag is dropped and its text kept, `<script>`
//! and `<style>` with their text. Text is escaped so that it reads back as
//! the same text, never as Markdown or HTML.

/// One piece of the HTML.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    Text(&'a str),
    Open(String, Vec<(String, String)>),
    Close(String),
}

/// Splits HTML into text, start and end tags (comments and doctypes
/// dropped); tag names and attribute names in lower case.
fn tokens(html: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            out.push(Token::Text(rest));
            break;
        };
        if lt > 0 {
            out.push(Token::Text(&rest[..lt]));
        }
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        let next = rest[1..].chars().next().unwrap_or(' ');
        if !(next.is_ascii_alphabetic() || next == '/' || next == '!') {
            out.push(Token::Text("<"));
            rest = &rest[1..];
            continue;
        }
        let Some(end) = tag_end(rest) else {
            out.push(Token::Text(rest));
            break;
        };
        let inner = &rest[1..end];
        rest = &rest[end + 1..];
        if let Some(name) = inner.strip_prefix('/') {
            out.push(Token::Close(name.trim().to_ascii_lowercase()));
        } else if !inner.starts_with('!') && !inner.starts_with('?') {
            let (name, attrs) = parse_tag(inner.trim_end_matches('/'));
            out.push(Token::Open(name, attrs));
        }
    }
    out
}

/// Where the tag starting at `s[0] == '<'` ends (`>` outside quotes).
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_tag(inner: &str) -> (String, Vec<(String, String)>) {
    let name_end = inner
        .find(|c: char| c.is_whitespace())
        .unwrap_or(inner.len());
    let name = inner[..name_end].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut rest = inner[name_end..].trim_start();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '=')
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (v, left) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let close = body.find(q).unwrap_or(body.len());
                    (&body[..close], body.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let e = after
                        .find(|c: char| c.is_whitespace())
                        .unwrap_or(after.len());
                    (&after[..e], &after[e..])
                }
            };
            value = decode(v);
            rest = left.trim_start();
        }
        if !key.is_empty() {
            attrs.push((key, value));
        }
    }
    (name, attrs)
}

/// Decodes HTML character references (the named ones toots and feeds use,
/// and every numeric one).
pub fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => '\u{a0}',
                "hellip" => '…',
                "mdash" => '—',
                "ndash" => '–',
                "rsquo" => '’',
                "lsquo" => '‘',
                "rdquo" => '”',
                "ldquo" => '“',
                _ => {
                    let n = name.strip_prefix('#')?;
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => n.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// An open link, collecting its text.
struct Link {
    href: String,
    class: String,
    text: String,
}

/// Where an image of the HTML goes in the Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageTarget {
    /// Shown, from here (the file the import put beside the post).
    Local(String),
    /// Not brought over: a link to this address.
    Link(String),
}

/// Converts HTML to Markdown. `image` says where each image's `src` goes.
pub fn to_markdown(html: &str, image: &mut dyn FnMut(&str) -> ImageTarget) -> String {
    let mut c = Converter::default();
    for t in tokens(html) {
        c.token(t, image);
    }
    c.finish()
}

/// Every image `src` in the HTML, in order.
pub fn image_sources(html: &str) -> Vec<String> {
    tokens(html)
        .into_iter()
        .filter_map(|t| match t {
            Token::Open(name, attrs) if name == "img" => attr(&attrs, "src").map(str::to_string),
            _ => None,
        })
        .collect()
}

/// The text of HTML, for plain-text settings (a bio): paragraphs apart by a
/// blank line, line breaks kept, every tag dropped.
pub fn to_text(html: &str) -> String {
    let mut out = String::new();
    let mut skip = 0usize;
    for t in tokens(html) {
        match t {
            Token::Text(text) if skip == 0 => {
                let text = collapse(&decode(text), &out);
                out.push_str(&text);
            }
            Token::Text(_) => {}
            Token::Open(name, _) if name == "script" || name == "style" => skip += 1,
            Token::Close(name) if name == "script" || name == "style" => {
                skip = skip.saturating_sub(1);
            }
            Token::Open(name, _) if name == "br" => {
                out.truncate(out.trim_end_matches(' ').len());
                out.push('\n');
            }
            Token::Close(name) if name == "p" || name == "div" => {
                out.truncate(out.trim_end().len());
                out.push_str("\n\n");
            }
            _ => {}
        }
    }
    out.trim().to_string()
}

/// The first http(s) link target in HTML (a profile field's value).
pub fn link_target(html: &str) -> Option<String> {
    tokens(html).into_iter().find_map(|t| match t {
        Token::Open(name, attrs) if name == "a" => attr(&attrs, "href")
            .filter(|h| h.starts_with("https://") || h.starts_with("http://"))
            .map(str::to_string),
        _ => None,
    })
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[derive(Default)]
struct Converter {
    /// Finished blocks' text, one buffer per open blockquote.
    stack: Vec<String>,
    out: String,
    link: Option<Link>,
    lists: Vec<(bool, usize)>,
    /// Open `<pre>` elements (nested ones are part of the outer block).
    pre: usize,
    /// Where the outermost `<pre>`'s text starts in `out`.
    pre_start: usize,
    skip: usize,
}

impl Converter {
    fn buf(&mut self) -> &mut String {
        match &mut self.link {
            Some(l) => &mut l.text,
            None => &mut self.out,
        }
    }

    fn blank_line(&mut self) {
        let out = &mut self.out;
        let trimmed = out.trim_end_matches([' ', '\n']).len();
        out.truncate(trimmed);
        if !out.is_empty() {
            out.push_str("\n\n");
        }
    }

    fn newline(&mut self) {
        let out = &mut self.out;
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
    }

    fn token(&mut self, t: Token<'_>, image: &mut dyn FnMut(&str) -> ImageTarget) {
        // Inside a code block only text, line breaks and nested `<pre>`
        // count: every other tag is left out, so none can move text out of
        // the fence.
        if self.pre > 0 {
            match &t {
                Token::Open(name, _) if name == "br" => {
                    self.out.push('\n');
                    return;
                }
                Token::Open(name, _) | Token::Close(name) if name != "pre" => return,
                _ => {}
            }
        }
        match t {
            Token::Text(text) => {
                if self.skip > 0 {
                    return;
                }
                let text = decode(text);
                if self.pre > 0 {
                    self.out.push_str(&text);
                } else {
                    let collapsed = collapse(&text, self.buf());
                    let escaped =
                        escape(&collapsed, self.link.is_none() && at_line_start(&self.out));
                    self.buf().push_str(&escaped);
                }
            }
            Token::Open(name, attrs) => match name.as_str() {
                "script" | "style" => self.skip += 1,
                "p" | "div" => self.blank_line(),
                "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                    self.blank_line();
                    let level = name[1..].parse().unwrap_or(2);
                    self.out.push_str(&"#".repeat(level));
                    self.out.push(' ');
                }
                "br" if self.link.is_none() => self.out.push_str("\\\n"),
                "a" => {
                    self.link = Some(Link {
                        href: attr(&attrs, "href").unwrap_or("").to_string(),
                        class: attr(&attrs, "class").unwrap_or("").to_string(),
                        text: String::new(),
                    });
                }
                "strong" | "b" => self.buf().push_str("**"),
                "em" | "i" => self.buf().push('*'),
                "del" | "s" => self.buf().push_str("~~"),
                "code" if self.pre == 0 => self.buf().push('`'),
                "pre" => {
                    if self.pre == 0 {
                        if let Some(link) = self.link.take() {
                            let md = link_markdown(&link);
                            self.out.push_str(&md);
                        }
                        self.blank_line();
                        self.pre_start = self.out.len();
                    }
                    self.pre += 1;
                }
                "blockquote" => {
                    self.blank_line();
                    let outer = std::mem::take(&mut self.out);
                    self.stack.push(outer);
                }
                "ul" | "ol" => {
                    self.newline();
                    self.lists.push((name == "ol", 0));
                }
                "li" => {
                    self.newline();
                    let depth = self.lists.len().saturating_sub(1);
                    let marker = match self.lists.last_mut() {
                        Some((true, n)) => {
                            *n += 1;
                            format!("{n}. ")
                        }
                        _ => "- ".into(),
                    };
                    self.out.push_str(&"  ".repeat(depth));
                    self.out.push_str(&marker);
                }
                "img" => {
                    let src = attr(&attrs, "src").unwrap_or("");
                    let alt = escape(attr(&attrs, "alt").unwrap_or(""), false);
                    if src.is_empty() {
                        return;
                    }
                    let md = match image(src) {
                        ImageTarget::Local(local) => format!("![{alt}]({})", destination(&local)),
                        ImageTarget::Link(url) if is_web_or_site(&url) => format!(
                            "[{}]({})",
                            if alt.is_empty() { "image" } else { &alt },
                            destination(&url)
                        ),
                        // `javascript:`, `data:` and the like: the alt text only.
                        ImageTarget::Link(_) => alt,
                    };
                    self.buf().push_str(&md);
                }
                _ => {}
            },
            Token::Close(name) => match name.as_str() {
                "script" | "style" => self.skip = self.skip.saturating_sub(1),
                "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => self.blank_line(),
                "a" => {
                    if let Some(link) = self.link.take() {
                        let md = link_markdown(&link);
                        self.out.push_str(&md);
                    }
                }
                "strong" | "b" => self.buf().push_str("**"),
                "em" | "i" => self.buf().push('*'),
                "del" | "s" => self.buf().push_str("~~"),
                "code" if self.pre == 0 => self.buf().push('`'),
                "pre" if self.pre > 0 => {
                    self.pre -= 1;
                    if self.pre == 0 {
                        self.close_code_block();
                    }
                }
                // A stray end tag closes nothing.
                "blockquote" if self.stack.is_empty() => {}
                "blockquote" => {
                    let inner = std::mem::take(&mut self.out);
                    self.out = self.stack.pop().unwrap_or_default();
                    self.blank_line();
                    for line in inner.trim().lines() {
                        self.out.push_str(if line.is_empty() { ">" } else { "> " });
                        self.out.push_str(line);
                        self.out.push('\n');
                    }
                    self.blank_line();
                }
                "ul" | "ol" => {
                    self.lists.pop();
                    if self.lists.is_empty() {
                        self.blank_line();
                    }
                }
                _ => {}
            },
        }
    }

    /// Wraps the text written since the outermost `<pre>` opened in a
    /// code fence longer than any run of backticks in it, so nothing in it
    /// can end the block early and be read as Markdown or HTML.
    fn close_code_block(&mut self) {
        let code = self.out.split_off(self.pre_start.min(self.out.len()));
        let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        let fence = "`".repeat(longest.max(2) + 1);
        self.out.push_str(&fence);
        self.out.push('\n');
        self.out.push_str(code.trim_end_matches('\n'));
        self.out.push('\n');
        self.out.push_str(&fence);
        self.blank_line();
    }

    fn finish(mut self) -> String {
        if self.pre > 0 {
            self.pre = 0;
            self.close_code_block();
        }
        if let Some(link) = self.link.take() {
            let md = link_markdown(&link);
            self.out.push_str(&md);
        }
        while let Some(outer) = self.stack.pop() {
            let inner = std::mem::replace(&mut self.out, outer);
            self.out.push_str(&inner);
        }
        let mut out = self.out.trim().to_string();
        out.push('\n');
        out
    }
}

/// A link as Markdown: hashtags stay `#tag` text (the tags are the post's
/// own), a link showing its own address an autolink, any other a link;
/// a link that is not http(s), mailto or relative keeps only its text.
fn link_markdown(link: &Link) -> String {
    let text = link.text.trim();
    let href = link.href.as_str();
    let web = href.starts_with("https://") || href.starts_with("http://");
    let allowed = is_web_or_site(href) || href.starts_with("mailto:");
    let hashtag = link.class.split_whitespace().any(|c| c == "hashtag")
        || (text.starts_with('#') && !text.contains(' '));
    if !allowed || hashtag {
        return text.to_string();
    }
    let shown = text.replace('\\', "");
    let bare = href
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    if web && (shown == href || shown == bare) {
        return format!("<{href}>");
    }
    format!("[{text}]({})", destination(href))
}

/// An http(s) address or a path on the site: the only link targets an
/// import keeps (not `javascript:`, `data:`, `//host`).
fn is_web_or_site(url: &str) -> bool {
    url.starts_with("https://")
        || url.starts_with("http://")
        || (url.starts_with('/') && !url.starts_with("//"))
}

/// A link destination that Markdown reads back whole.
fn destination(url: &str) -> String {
    if url.contains([' ', '(', ')', '<', '>']) {
        format!("<{}>", url.replace(['<', '>'], ""))
    } else {
        url.to_string()
    }
}

/// HTML whitespace: runs become one space, none at a line's start.
fn collapse(text: &str, before: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = before.is_empty() || before.ends_with([' ', '\n']);
    for c in text.chars() {
        if c.is_whitespace() && c != '\u{a0}' {
            if !space {
                out.push(' ');
                space = true;
            }
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

fn at_line_start(out: &str) -> bool {
    out.is_empty() || out.ends_with('\n') || out.ends_with("- ") || out.ends_with(". ")
}

/// Escapes what Markdown would read as markup; `line_start` also what
/// starts a heading, a list or a quote.
/// Text (a poll option, an alt text) as Markdown that reads back as the
/// same text, never as Markdown or HTML.
pub fn markdown_text(text: &str) -> String {
    escape(text, true)
}

fn escape(text: &str, line_start: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    if line_start {
        let digits = text.chars().take_while(char::is_ascii_digit).count();
        let after = text[digits..].chars().next();
        if matches!(text.chars().next(), Some('#' | '-' | '+' | '=' | '>'))
            || (digits > 0 && matches!(after, Some('.' | ')')))
        {
            if digits > 0 {
                out.push_str(&text[..digits]);
                out.push('\\');
                out.push_str(&escape(&text[digits..], false));
                return out;
            }
            out.push('\\');
        }
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '~' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '&' if chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '#') =>
            {
                out.push_str("\\&");
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(html: &str) -> String {
        to_markdown(html, &mut |src| ImageTarget::Link(src.to_string()))
    }

    /// What a build would make of the Markdown: raw HTML (shown as is on
    /// the blog) and link targets.
    fn html_and_links(markdown: &str) -> (Vec<String>, Vec<String>) {
        use pulldown_cmark::{Event, Parser, Tag};
        let (mut html, mut links) = (Vec::new(), Vec::new());
        for e in Parser::new(markdown) {
            match e {
                Event::Html(h) | Event::InlineHtml(h) => html.push(h.to_string()),
                Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                    links.push(dest_url.to_string());
                }
                _ => {}
            }
        }
        (html, links)
    }

    #[test]
    fn hostile_html_never_becomes_html_or_a_script_link() {
        for hostile in [
            "<pre>x\n```\n&lt;script&gt;alert(1)&lt;/script&gt;</pre>",
            "<pre><pre>&lt;img src=x onerror=alert(1)&gt;</pre></pre>",
            "<pre>````\n&lt;b&gt;</pre><p>after</p>",
            "<pre>&lt;script&gt;<blockquote>&lt;i&gt;</blockquote></pre>",
            "<pre>&lt;script&gt;",
            "<img src=\"javascript:alert(document.domain)\" alt=\"x\">",
            "<a href=\"javascript:alert(1)\">click</a>",
            "<img src=\"data:text/html,&lt;script&gt;\">",
            "</blockquote></blockquote>&lt;script&gt;",
        ] {
            let out = md(hostile);
            let (html, links) = html_and_links(&out);
            assert!(
                html.is_empty(),
                "{hostile} gave raw HTML {html:?} in:\n{out}"
            );
            assert!(
                links
                    .iter()
                    .all(|l| l.starts_with("http") || l.starts_with('/')),
                "{hostile} gave links {links:?}"
            );
        }
        assert_eq!(
            md("<pre>a ``` b\n```\nc</pre>"),
            "````\na ``` b\n```\nc\n````\n"
        );
    }

    #[test]
    fn stray_end_tags_cost_nothing() {
        let many = "</blockquote>".repeat(50_000) + "text";
        assert_eq!(md(&many), "text\n");
    }

    #[test]
    fn a_toot_becomes_markdown() {
        let toot = "<p>Hello <a href=\"https://m.example/tags/rust\" class=\"mention hashtag\" rel=\"tag\">#<span>rust</span></a> and <span class=\"h-card\"><a href=\"https://m.example/@bob\" class=\"u-url mention\">@<span>bob</span></a></span>!</p><p>See <a href=\"https://example.com/a/very/long/path\" rel=\"nofollow noopener\" target=\"_blank\"><span class=\"invisible\">https://</span><span class=\"ellipsis\">example.com/a/very/lo</span><span class=\"invisible\">ng/path</span></a><br>line two &amp; *stars* &lt;b&gt;</p>";
        assert_eq!(
            md(toot),
            "Hello #rust and [@bob](https://m.example/@bob)!\n\nSee <https://example.com/a/very/long/path>\\\nline two & \\*stars\\* \\<b\\>\n"
        );
    }

    #[test]
    fn blocks_lists_and_code() {
        assert_eq!(
            md(
                "<h2>Title</h2><ul><li>one</li><li>two <em>2</em></li></ul><ol><li>a</li><li>b</li></ol><blockquote><p>quoted</p><p>more</p></blockquote><pre><code>let x = 1 * 2;\n</code></pre><p>1. not a list</p><script>alert(1)</script>"
            ),
            "## Title\n\n- one\n- two *2*\n\n1. a\n2. b\n\n> quoted\n>\n> more\n\n```\nlet x = 1 * 2;\n```\n\n1\\. not a list\n"
        );
    }

    #[test]
    fn images_are_mapped_or_linked() {
        let html = "<p><img src=\"https://x.example/a.png\" alt=\"An A\"> <img src=\"https://x.example/b.png\"></p>";
        assert_eq!(
            image_sources(html),
            ["https://x.example/a.png", "https://x.example/b.png"]
        );
        let out = to_markdown(html, &mut |src| {
            if src.ends_with("a.png") {
                ImageTarget::Local("a.png".into())
            } else {
                ImageTarget::Link(src.to_string())
            }
        });
        assert_eq!(out, "![An A](a.png) [image](https://x.example/b.png)\n");
    }

    #[test]
    fn plain_text_and_link_targets() {
        assert_eq!(
            to_text("<p>Developer in <b>Bristol</b>.<br>Cyclist.</p><p>Second &amp; last</p>"),
            "Developer in Bristol.\nCyclist.\n\nSecond & last"
        );
        assert_eq!(
            link_target("<a href=\"https://ada.example\" rel=\"me\"><span class=\"invisible\">https://</span>ada.example</a>").as_deref(),
            Some("https://ada.example")
        );
        assert_eq!(link_target("<a href=\"javascript:x()\">x</a>"), None);
    }

    #[test]
    fn references_are_decoded() {
        assert_eq!(
            decode("a &amp; b &#233; &#x1F600; &bogus; &"),
            "a & b é 😀 &bogus; &"
        );
    }
}
