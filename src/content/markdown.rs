//! Markdown to HTML: CommonMark plus tables, footnotes, strikethrough, task
//! lists and smart punctuation; heading anchors; highlighted code blocks;
//! images with their width and height read from the files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd};

use crate::config::MarkdownConfig;
use crate::content::{highlight, images};
use crate::text::{escape, shorten};

/// Which HTML to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// For the site: heading anchors, highlighted code, images inline.
    #[default]
    Web,
    /// For fediverse objects: only what Mastodon keeps (headings become bold
    /// paragraphs, tables become lines of text, images travel as attachments).
    Fediverse,
}

/// Where the document lives, so relative images can be found and reported.
pub struct DocContext<'a> {
    /// Which HTML to produce.
    pub flavor: Flavor,
    /// Source file, for warnings.
    pub source: &'a Path,
    /// Folders that site-absolute image paths are looked up in (`static/`, theme static).
    pub static_dirs: &'a [PathBuf],
    /// Folder of the Markdown file, for images next to it.
    pub source_dir: &'a Path,
    /// Base URL for making site-relative links absolute (fediverse flavour).
    pub base_url: &'a str,
    /// Site path of the page the document becomes (`/posts/<slug>/`):
    /// relative links and images resolve against it, so they still work
    /// where the HTML is shown elsewhere (a note in full on the home page
    /// and tag pages, a feed, the fediverse).
    pub page_path: &'a str,
    /// Fediverse accounts resolved by `stoa publish`: `@user@host` in the
    /// text becomes a link to them (and, for the fediverse, a Mention).
    pub mentions: &'a Mentions,
}

/// A fediverse account found by WebFinger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mentioned {
    /// Actor id (the Mention's `href`, and who gets the post).
    pub actor: String,
    /// Profile page (the link's `href`).
    pub url: String,
}

/// Resolved accounts by lowercase `user@host`.
pub type Mentions = std::collections::BTreeMap<String, Mentioned>;

/// Every `@user@host` handle written in `text` (lowercase `user@host`),
/// in order, without repeats.
pub fn find_handles(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (_, _, handle) in handles(text) {
        let key = handle.to_ascii_lowercase();
        if !found.contains(&key) {
            found.push(key);
        }
    }
    found
}

/// (start, end, `user@host`) of each handle in `text`.
fn handles(text: &str) -> Vec<(usize, usize, &str)> {
    let bytes = text.as_bytes();
    let user_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-';
    let host_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':';
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(user_byte(bytes[i - 1]) || bytes[i - 1] == b'@');
        if bytes[i] != b'@' || !starts_word {
            i += 1;
            continue;
        }
        let user_end = (i + 1..bytes.len())
            .find(|&j| !user_byte(bytes[j]))
            .unwrap_or(bytes.len());
        if user_end == i + 1 || user_end >= bytes.len() || bytes[user_end] != b'@' {
            i += 1;
            continue;
        }
        let mut host_end = (user_end + 1..bytes.len())
            .find(|&j| !host_byte(bytes[j]))
            .unwrap_or(bytes.len());
        // A sentence may end right after the handle.
        while host_end > user_end + 1 && matches!(bytes[host_end - 1], b'.' | b'-' | b':') {
            host_end -= 1;
        }
        let host = &text[user_end + 1..host_end];
        let user = &text[i + 1..user_end];
        if host.contains('.') && !user.ends_with('.') {
            out.push((i, host_end, &text[i + 1..host_end]));
        }
        i = host_end.max(i + 1);
    }
    out
}

/// Replaces resolved handles in text events with Mastodon-style mention
/// links (outside links and code), collecting what was linked.
fn link_mentions<'a>(
    events: Vec<Event<'a>>,
    mentions: &Mentions,
    found: &mut Vec<(String, Mentioned)>,
) -> Vec<Event<'a>> {
    if mentions.is_empty() {
        return events;
    }
    let mut out = Vec::with_capacity(events.len());
    let mut in_link = 0usize;
    for e in events {
        match e {
            Event::Start(Tag::Link { .. }) => {
                in_link += 1;
                out.push(e);
            }
            Event::End(TagEnd::Link) => {
                in_link = in_link.saturating_sub(1);
                out.push(e);
            }
            Event::Text(ref t) if in_link == 0 && t.contains('@') => {
                let text = t.to_string();
                let mut last = 0;
                for (start, end, handle) in handles(&text) {
                    let key = handle.to_ascii_lowercase();
                    let Some(m) = mentions.get(&key) else {
                        continue;
                    };
                    if start > last {
                        out.push(Event::Text(CowStr::from(text[last..start].to_string())));
                    }
                    let user = handle.split('@').next().unwrap_or(handle);
                    out.push(Event::InlineHtml(CowStr::from(format!(
                        "<span class=\"h-card\" translate=\"no\"><a href=\"{}\" class=\"u-url mention\">@<span>{}</span></a></span>",
                        escape(&m.url),
                        escape(user)
                    ))));
                    if !found.iter().any(|(k, _)| *k == key) {
                        found.push((key, m.clone()));
                    }
                    last = end;
                }
                if last == 0 {
                    out.push(e);
                } else if last < text.len() {
                    out.push(Event::Text(CowStr::from(text[last..].to_string())));
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// One image found in the body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Image {
    /// URL as written (site path or absolute).
    pub src: String,
    /// Alternative text.
    pub alt: String,
    /// Pixel size when the file was found.
    pub size: Option<(usize, usize)>,
}

/// The result of rendering one document.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Body HTML.
    pub html: String,
    /// Plain text of the first paragraph, shortened: for listings and meta tags.
    pub excerpt: String,
    /// Images in order of appearance.
    pub images: Vec<Image>,
    /// Problems worth telling the writer that do not stop the build.
    pub warnings: Vec<String>,
    /// The source holds raw HTML or links with unusual schemes: output for
    /// the fediverse must go through the allowlist cleaner.
    pub needs_cleaning: bool,
    /// Accounts mentioned and linked, by lowercase `user@host`.
    pub mentions: Vec<(String, Mentioned)>,
}

/// Length of generated excerpts, in characters.
const EXCERPT_CHARS: usize = 280;

fn options(config: &MarkdownConfig) -> Options {
    let mut o = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    if config.smart_punctuation {
        o |= Options::ENABLE_SMART_PUNCTUATION;
    }
    o
}

/// Renders Markdown `body` to HTML.
pub fn render(body: &str, config: &MarkdownConfig, doc: &DocContext<'_>) -> Rendered {
    let mut out = Rendered::default();
    let mut events: Vec<Event<'_>> = Vec::with_capacity(body.len() / 8);
    let mut ids = HashSet::new();
    let mut parser = Parser::new_ext(body, options(config));
    let mut excerpt_state = ExcerptState::Waiting;
    let fedi = doc.flavor == Flavor::Fediverse;
    while let Some(event) = parser.next() {
        match event {
            Event::Start(Tag::Heading { .. }) if fedi => {
                let inner =
                    take_until(&mut parser, |e| matches!(e, Event::End(TagEnd::Heading(_))));
                events.push(Event::Html(CowStr::from("<p><strong>")));
                events.extend(inner);
                events.push(Event::Html(CowStr::from("</strong></p>\n")));
            }
            Event::Start(Tag::Table(_)) if fedi => {
                let inner = take_until(&mut parser, |e| matches!(e, Event::End(TagEnd::Table)));
                let mut row: Vec<String> = Vec::new();
                let mut cell: Vec<Event<'_>> = Vec::new();
                for e in inner {
                    match e {
                        Event::End(TagEnd::TableCell) => {
                            row.push(escape(&plain_text(&std::mem::take(&mut cell))))
                        }
                        Event::End(TagEnd::TableHead) | Event::End(TagEnd::TableRow) => {
                            events.push(Event::Html(CowStr::from(format!(
                                "<p>{}</p>\n",
                                row.join(" | ")
                            ))));
                            row.clear();
                        }
                        Event::Start(_) | Event::End(_) => {}
                        other => cell.push(other),
                    }
                }
            }
            Event::Rule if fedi => {}
            Event::FootnoteReference(label) if fedi => {
                events.push(Event::Text(CowStr::from(format!("[{label}]"))));
            }
            Event::Start(Tag::FootnoteDefinition(label)) if fedi => {
                let inner = take_until(&mut parser, |e| {
                    matches!(e, Event::End(TagEnd::FootnoteDefinition))
                });
                events.push(Event::Html(CowStr::from(format!(
                    "<p>[{}] {}</p>\n",
                    escape(&label),
                    escape(plain_text(&inner).trim())
                ))));
            }
            Event::TaskListMarker(done) if fedi => {
                events.push(Event::Text(CowStr::from(if done {
                    "☑ "
                } else {
                    "☐ "
                })));
            }
            Event::Start(Tag::Heading {
                level,
                id,
                classes,
                attrs,
            }) => {
                let inner =
                    take_until(&mut parser, |e| matches!(e, Event::End(TagEnd::Heading(_))));
                let text = plain_text(&inner);
                let id = unique_id(
                    id.map(|s| s.to_string())
                        .unwrap_or_else(|| slug::slugify(&text)),
                    &mut ids,
                );
                events.push(Event::Start(Tag::Heading {
                    level,
                    id: Some(CowStr::from(id.clone())),
                    classes,
                    attrs,
                }));
                events.extend(inner);
                events.push(Event::Html(CowStr::from(format!(
                    " <a class=\"heading-anchor\" href=\"#{id}\" aria-label=\"Link to this section\">#</a>"
                ))));
                events.push(Event::End(TagEnd::Heading(level)));
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let inner = take_until(&mut parser, |e| matches!(e, Event::End(TagEnd::CodeBlock)));
                let mut code = String::new();
                for e in &inner {
                    if let Event::Text(t) = e {
                        code.push_str(t);
                    }
                }
                let lang = match &kind {
                    CodeBlockKind::Fenced(info) => info.split([' ', ',', '{']).next().unwrap_or(""),
                    CodeBlockKind::Indented => "",
                };
                let html = if fedi {
                    format!("<pre><code>{}</code></pre>\n", escape(&code))
                } else {
                    highlight::code_block(&code, lang, config.highlight)
                };
                events.push(Event::Html(CowStr::from(html)));
            }
            Event::Start(Tag::Image {
                dest_url, title, ..
            }) => {
                let inner = take_until(&mut parser, |e| matches!(e, Event::End(TagEnd::Image)));
                let alt = plain_text(&inner);
                let src = dest_url.to_string();
                let size = image_size(&src, doc);
                if size.is_none() && images::is_local(&src) {
                    out.warnings.push(format!(
                        "{}: image {src} was not found (looked in static/ and next to the post)",
                        doc.source.display()
                    ));
                }
                if alt.trim().is_empty() {
                    out.warnings.push(format!(
                        "{}: image {src} has no alt text; write it as ![what the picture shows]({src})",
                        doc.source.display()
                    ));
                }
                if fedi {
                    out.images.push(Image { src, alt, size });
                    continue;
                }
                let shown = page_relative(&src, doc).unwrap_or_else(|| src.clone());
                let mut tag = format!("<img src=\"{}\" alt=\"{}\"", escape(&shown), escape(&alt));
                if !title.is_empty() {
                    tag.push_str(&format!(" title=\"{}\"", escape(&title)));
                }
                if let Some((w, h)) = size {
                    tag.push_str(&format!(" width=\"{w}\" height=\"{h}\""));
                }
                tag.push_str(" loading=\"lazy\" decoding=\"async\">");
                events.push(Event::InlineHtml(CowStr::from(tag)));
                out.images.push(Image { src, alt, size });
            }
            Event::Start(Tag::Paragraph) if excerpt_state == ExcerptState::Waiting => {
                excerpt_state = ExcerptState::Collecting;
                events.push(event);
            }
            Event::End(TagEnd::Paragraph) if excerpt_state == ExcerptState::Collecting => {
                excerpt_state = ExcerptState::Done;
                events.push(event);
            }
            Event::Text(ref t) | Event::Code(ref t)
                if excerpt_state == ExcerptState::Collecting =>
            {
                if out.excerpt.len() < EXCERPT_CHARS * 4 {
                    out.excerpt.push_str(t);
                }
                events.push(event);
            }
            Event::SoftBreak | Event::HardBreak if excerpt_state == ExcerptState::Collecting => {
                out.excerpt.push(' ');
                events.push(event);
            }
            Event::Html(_) | Event::InlineHtml(_) => {
                out.needs_cleaning = true;
                events.push(event);
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let dest = dest_url.to_string();
                let scheme = dest.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
                if !title.is_empty()
                    || scheme.as_deref().is_some_and(|s| {
                        !matches!(s, "http" | "https" | "mailto")
                            && !s.contains('/')
                            && !s.contains('#')
                    })
                {
                    out.needs_cleaning = true;
                }
                let dest_url = if fedi && dest.starts_with('/') && !dest.starts_with("//") {
                    CowStr::from(format!("{}{dest}", doc.base_url))
                } else if let Some(resolved) = page_relative(&dest, doc) {
                    CowStr::from(resolved)
                } else {
                    dest_url
                };
                events.push(Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }));
            }
            other => events.push(other),
        }
    }
    out.excerpt = shorten(&out.excerpt, EXCERPT_CHARS);
    let events = link_mentions(events, doc.mentions, &mut out.mentions);
    out.html.reserve(body.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut out.html, events.into_iter());
    out
}

#[derive(PartialEq, Eq)]
enum ExcerptState {
    Waiting,
    Collecting,
    Done,
}

fn take_until<'a>(parser: &mut Parser<'a>, end: impl Fn(&Event<'a>) -> bool) -> Vec<Event<'a>> {
    let mut inner = Vec::new();
    for e in parser.by_ref() {
        if end(&e) {
            break;
        }
        inner.push(e);
    }
    inner
}

fn plain_text(events: &[Event<'_>]) -> String {
    let mut s = String::new();
    for e in events {
        match e {
            Event::Text(t) | Event::Code(t) => s.push_str(t),
            Event::SoftBreak | Event::HardBreak => s.push(' '),
            _ => {}
        }
    }
    s
}

fn unique_id(base: String, seen: &mut HashSet<String>) -> String {
    let base = if base.is_empty() {
        "section".to_string()
    } else {
        base
    };
    let mut id = base.clone();
    let mut n = 1;
    while !seen.insert(id.clone()) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

/// Finds the file behind an image URL and reads its pixel size from the header.
/// A link or image written relative to its page (`photo.jpg`,
/// `../other/`), as an absolute URL of the page's folder; `None` for
/// anything else (site paths, anchors, queries, URLs with a scheme).
fn page_relative(dest: &str, doc: &DocContext<'_>) -> Option<String> {
    let scheme = dest
        .split_once(':')
        .is_some_and(|(s, _)| !s.is_empty() && !s.contains(['/', '?', '#']));
    let relative = !(dest.is_empty()
        || dest.starts_with(['/', '#', '?'])
        || scheme
        || doc.page_path.is_empty());
    if !relative {
        return None;
    }
    // Resolve `.` and `..` against the page's folder, as a browser would.
    let split = dest.find(['?', '#']).unwrap_or(dest.len());
    let (path, rest) = dest.split_at(split);
    let mut segments: Vec<&str> = doc.page_path.split('/').filter(|s| !s.is_empty()).collect();
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts {
        match *part {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let dir = matches!(parts.last(), Some(&"." | &".." | &""));
    let joined = segments.join("/");
    let slash = if dir && !joined.is_empty() { "/" } else { "" };
    Some(format!("{}/{joined}{slash}{rest}", doc.base_url))
}

fn image_size(src: &str, doc: &DocContext<'_>) -> Option<(usize, usize)> {
    images::locate(src, doc.static_dirs, doc.source_dir).and_then(|p| images::size(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_as(md: &str, flavor: Flavor) -> Rendered {
        let dirs = [PathBuf::from("/nonexistent")];
        let doc = DocContext {
            flavor,
            source: Path::new("content/posts/t.md"),
            static_dirs: &dirs,
            source_dir: Path::new("/nonexistent"),
            base_url: "https://b.example",
            page_path: "/posts/t/",
            mentions: &Mentions::new(),
        };
        render(md, &MarkdownConfig::default(), &doc)
    }

    fn r(md: &str) -> Rendered {
        render_as(md, Flavor::Web)
    }

    #[test]
    fn links_and_images_relative_to_the_page_work_wherever_the_html_is_shown() {
        let html = r(
            "![A cat](cat.jpg) [next](../next/) [here](#top) [site](/about/) \
             [web](https://w.example/x) [mail](mailto:a@b.example) [q](?page=2) \
             [up](../../) [doc](./files/a.pdf#p2)",
        )
        .html;
        for want in [
            "src=\"https://b.example/posts/t/cat.jpg\"",
            "href=\"https://b.example/posts/next/\"",
            "href=\"#top\"",
            "href=\"/about/\"",
            "href=\"https://w.example/x\"",
            "href=\"mailto:a@b.example\"",
            "href=\"?page=2\"",
            "href=\"https://b.example/\"",
            "href=\"https://b.example/posts/t/files/a.pdf#p2\"",
        ] {
            assert!(html.contains(want), "{want} in {html}");
        }
        let fedi = render_as("[next](../next/)", Flavor::Fediverse).html;
        assert!(
            fedi.contains("href=\"https://b.example/posts/next/\""),
            "{fedi}"
        );
    }

    #[test]
    fn headings_get_unique_anchors() {
        let out = r("## Hello World\n\n## Hello World\n");
        assert!(out.html.contains("<h2 id=\"hello-world\">"), "{}", out.html);
        assert!(
            out.html.contains("<h2 id=\"hello-world-1\">"),
            "{}",
            out.html
        );
        assert!(out.html.contains("href=\"#hello-world\""));
    }

    #[test]
    fn extensions_are_on() {
        let out = r(
            "| a | b |\n|---|---|\n| 1 | 2 |\n\n~~x~~ \"q\"\n\n- [x] done\n\nnote[^1]\n\n[^1]: foot\n",
        );
        assert!(out.html.contains("<table>"));
        assert!(out.html.contains("<del>x</del>"));
        assert!(out.html.contains("“q”"));
        assert!(out.html.contains("type=\"checkbox\""));
        assert!(out.html.contains("footnote-definition"));
    }

    #[test]
    fn code_is_highlighted_with_classes() {
        let out = r("```rust\nfn main() {}\n```\n");
        assert!(out.html.contains("class=\"hl-"), "{}", out.html);
        assert!(out.html.contains("language-rust"));
    }

    #[test]
    fn missing_image_is_a_warning_not_an_error() {
        let out = r("![a cat](/images/cat.jpg)\n");
        assert_eq!(out.warnings.len(), 1);
        assert!(
            out.warnings[0].contains("content/posts/t.md")
                && out.warnings[0].contains("/images/cat.jpg")
        );
        assert!(out.html.contains("alt=\"a cat\""));
    }

    #[test]
    fn fediverse_flavour_keeps_to_mastodon_tags_and_flags_the_rest() {
        let md = "## Head\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n---\n\n- [x] done\n\nSee [older](/posts/x/) and ![pic](/p.png)[^n].\n\n[^n]: note\n\n```rust\nfn x() {}\n```\n";
        let out = render_as(md, Flavor::Fediverse);
        assert!(!out.needs_cleaning, "{}", out.html);
        for bad in [
            "<h2",
            "<table",
            "<hr",
            "<img",
            "<input",
            "<sup",
            "<div",
            "class=\"hl-",
        ] {
            assert!(!out.html.contains(bad), "{bad} in {}", out.html);
        }
        assert!(out.html.contains("<p><strong>Head</strong></p>"));
        assert!(out.html.contains("<p>a | b</p>") && out.html.contains("<p>1 | 2</p>"));
        assert!(
            out.html.contains("href=\"https://b.example/posts/x/\""),
            "{}",
            out.html
        );
        assert_eq!(out.images.len(), 1);
        for risky in [
            "<script>x</script>\n",
            "[x](javascript:alert(1))\n",
            "<img src=x>\n",
            "[t](https://e.example \"title\")\n",
        ] {
            assert!(
                render_as(risky, Flavor::Fediverse).needs_cleaning,
                "{risky}"
            );
        }
    }

    #[test]
    fn excerpt_is_first_paragraph() {
        let out = r("# T\n\nFirst *para* here.\n\nSecond.\n");
        assert_eq!(out.excerpt, "First para here.");
    }

    #[test]
    fn handles_are_found_in_running_text() {
        assert_eq!(
            find_handles(
                "Hi @Bob@M.example, and @carol@127.0.0.1:8080. Not a@b.c or @dave@local or me@x.y"
            ),
            vec!["bob@m.example", "carol@127.0.0.1:8080"]
        );
    }

    #[test]
    fn resolved_mentions_become_links_outside_code_and_links() {
        let mut mentions = Mentions::new();
        mentions.insert(
            "bob@m.example".into(),
            Mentioned {
                actor: "https://m.example/users/bob".into(),
                url: "https://m.example/@bob".into(),
            },
        );
        let dirs = Vec::new();
        let doc = DocContext {
            flavor: Flavor::Fediverse,
            source: Path::new("content/posts/t.md"),
            static_dirs: &dirs,
            source_dir: Path::new("/nonexistent"),
            base_url: "https://b.example",
            page_path: "/posts/t/",
            mentions: &mentions,
        };
        let r = render(
            "Thanks @bob@m.example! `@bob@m.example` [@bob@m.example](https://x.example) @eve@n.example",
            &MarkdownConfig::default(),
            &doc,
        );
        assert!(
            r.html.contains("<span class=\"h-card\" translate=\"no\"><a href=\"https://m.example/@bob\" class=\"u-url mention\">@<span>bob</span></a></span>!"),
            "{}",
            r.html
        );
        assert_eq!(
            r.html.matches("u-url mention").count(),
            1,
            "not in code, not inside a link: {}",
            r.html
        );
        assert!(
            r.html.contains("@eve@n.example"),
            "unresolved handles stay text"
        );
        assert_eq!(r.mentions.len(), 1);
        assert_eq!(r.mentions[0].1.actor, "https://m.example/users/bob");
    }
}
