//! `stoa import feed URL|FILE`: the items of an RSS 2.0, Atom or JSON Feed
//! (a Micro.blog or WordPress export, any blog's feed) as stoa posts, with
//! their date, title, tags and text (HTML turned into Markdown). Images in
//! the text are downloaded through the site's fetcher ([`crate::fetch`]:
//! the SSRF guard, a size cap, image types only) into
//! `static/images/<slug>/`;
//! one that cannot be fetched stays a link to where it was, with a warning.
//! The feed is read with `quick-xml` (XML) or `serde_json` (JSON Feed):
//! only the few elements a post needs are looked at.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use quick_xml::events::Event;
use serde_json::Value;

use super::{ImportError, Report, Writer, html};
use crate::config::Config;
use crate::content::front_matter::{FrontMatter, PostDate};
use crate::content::library::{CONTENT_DIR, POSTS_DIR};
use crate::error::SiteError;
use crate::fetch::{Client, FetchError};

/// Largest feed file read.
pub const MAX_FEED_BYTES: u64 = 256 * 1024 * 1024;
/// Largest image downloaded.
pub const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;

/// Why a feed cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The feed's URL did not answer with it.
    #[error(
        "could not fetch the feed: {0}\n  help: check the address, or download the feed and pass the file"
    )]
    Fetch(#[from] FetchError),
    /// Not RSS, Atom or JSON Feed.
    #[error(
        "{source_name}: {reason}\n  help: pass an RSS 2.0, Atom or JSON Feed document (a blog's /feed, /rss.xml, /atom.xml or /feed.json)"
    )]
    NotAFeed {
        /// The URL or file.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// The file is too large.
    #[error(
        "{0} is larger than {MAX_FEED_BYTES} bytes\n  help: split the export, or import the feed of a part of the blog"
    )]
    TooLarge(String),
}

/// One item of a feed, in any of the three formats.
#[derive(Debug, Default, Clone, PartialEq)]
struct Item {
    id: String,
    url: String,
    title: String,
    html: String,
    text: String,
    published: String,
    updated: String,
    tags: Vec<String>,
}

/// Imports the feed at `source` (an http(s) URL or a file) into the site
/// at `root`. Never overwrites a file; with `dry_run`, writes and
/// downloads nothing.
pub fn run(
    source: &str,
    root: &Path,
    config: &Config,
    dry_run: bool,
) -> Result<Report, ImportError> {
    let client = Client::for_site(config);
    let bytes = if source.starts_with("https://") || source.starts_with("http://") {
        let answer = client
            .raw_limited(
                source,
                &[(
                    "Accept".into(),
                    "application/feed+json, application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.1".into(),
                )],
                None,
                MAX_FEED_BYTES,
            )
            .map_err(FeedError::Fetch)?;
        if !(200..300).contains(&answer.status) {
            return Err(FeedError::Fetch(FetchError::Status {
                url: source.to_string(),
                status: answer.status,
            })
            .into());
        }
        answer.body
    } else {
        let path = Path::new(source);
        let size = path.metadata().map_err(|e| SiteError::io(path, e))?.len();
        if size > MAX_FEED_BYTES {
            return Err(FeedError::TooLarge(source.to_string()).into());
        }
        std::fs::read(path).map_err(|e| SiteError::io(path, e))?
    };
    let not_a_feed = |reason: String| FeedError::NotAFeed {
        source_name: source.to_string(),
        reason,
    };
    let text = String::from_utf8(bytes).map_err(|_| not_a_feed("not UTF-8 text".into()))?;
    let items = parse(&text).map_err(not_a_feed)?;
    let mut writer = Writer::new(root, dry_run);
    let posts = Path::new(CONTENT_DIR).join(POSTS_DIR);
    for (n, item) in items.into_iter().enumerate() {
        let label = [&item.url, &item.id]
            .into_iter()
            .find(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| format!("item {}", n + 1));
        import_item(&mut writer, &client, &posts, &label, item)?;
    }
    Ok(writer.finish()?)
}

fn import_item(
    writer: &mut Writer,
    client: &Client,
    posts: &Path,
    label: &str,
    item: Item,
) -> Result<(), ImportError> {
    let Some(date) = date_of(&item.published).or_else(|| date_of(&item.updated)) else {
        writer.skip(
            label,
            "no date (pubDate, published or date_published) that reads as one",
        );
        return Ok(());
    };
    let slug = slug(&item, date.at);
    let file = posts.join(format!("{slug}.md"));
    let bundle = posts.join(&slug);
    if writer.exists(&file) || writer.exists(&bundle) {
        writer.skip(label, format!("{} is already there", file.display()));
        return Ok(());
    }
    let html = if item.html.trim().is_empty() {
        text_to_html(&item.text)
    } else {
        item.html.clone()
    };
    let mut warnings = Vec::new();
    // Images: downloaded beside the post; the ones that fail stay links.
    let mut images: BTreeMap<String, (String, Vec<u8>)> = BTreeMap::new();
    for src in html::image_sources(&html) {
        if images.contains_key(&src) {
            continue;
        }
        let absolute = absolute(&src, &item.url);
        let Some(absolute) = absolute else {
            warnings.push(format!(
                "the image {src} has no address to fetch it from: left as a link"
            ));
            continue;
        };
        if writer.dry_run() {
            continue;
        }
        match client.get_image(&absolute, MAX_IMAGE_BYTES) {
            Ok(bytes) => {
                // Named by what the bytes are, never by the address (a
                // server can call a page `x.html` and say it is a PNG).
                let Some(ext) = picture_extension(&bytes) else {
                    warnings.push(format!(
                        "the image {absolute} is not a PNG, JPEG, GIF or WebP picture: left as a link"
                    ));
                    continue;
                };
                // Under static/, so the site path works on every page that
                // shows the post (a note is shown whole on list pages).
                let name = format!("images/{slug}/{}", file_name(&absolute, images.len(), ext));
                images.insert(src, (name, bytes));
            }
            Err(e) => warnings.push(format!(
                "the image {absolute} was not downloaded ({e}): left as a link"
            )),
        }
    }
    let body = html::to_markdown(&html, &mut |src| match images.get(src) {
        Some((name, _)) => html::ImageTarget::Local(format!("/{name}")),
        None => {
            html::ImageTarget::Link(absolute(src, &item.url).unwrap_or_else(|| src.to_string()))
        }
    });
    let title = html::to_text(&item.title);
    let title_is_text = {
        let words: String = title.chars().filter(|c| c.is_alphanumeric()).collect();
        let text: String = body
            .chars()
            .filter(|c| c.is_alphanumeric())
            .take(words.chars().count())
            .collect();
        !words.is_empty() && words == text && title.ends_with(['…', '.'])
    };
    let meta = FrontMatter {
        title: (!title.is_empty() && !title_is_text).then_some(title),
        date: Some(date),
        updated: date_of(&item.updated).filter(|u| u.at > date.at),
        tags: item.tags.clone(),
        slug: None,
        aliases: alias(&item.url, &slug).into_iter().collect(),
        language: None,
        ..FrontMatter::default()
    };
    if !writer.markdown(label, file, &meta, &format!("\n{body}"), true, warnings)? {
        return Ok(());
    }
    for (_, (name, bytes)) in images {
        writer.bytes(label, Path::new("static").join(&name), &bytes)?;
    }
    Ok(())
}

/// RFC 3339 (Atom, JSON Feed) or RFC 2822 (RSS) as a point in time.
fn date_of(s: &str) -> Option<PostDate> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let at = s.parse::<Timestamp>().ok().or_else(|| {
        jiff::fmt::rfc2822::DateTimeParser::new()
            .parse_timestamp(s)
            .ok()
    })?;
    Some(PostDate { at, has_time: true })
}

/// The post's slug: the last part of its old address (`/2024/05/ridgeway/`,
/// `my-post.html`), else its title, else its date and time.
fn slug(item: &Item, at: Timestamp) -> String {
    let from_url = item
        .url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .map(|last| last.trim_end_matches(".html").trim_end_matches(".htm"))
        .filter(|_| item.url.matches('/').count() > 3)
        .map(slug::slugify)
        .filter(|s| !s.is_empty() && s != "index");
    from_url
        .or_else(|| Some(slug::slugify(&item.title)).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| at.strftime("%Y-%m-%d-%H%M%S").to_string())
}

/// The old address's path, kept as an alias when it is not the new one.
fn alias(url: &str, slug: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let path = &rest[rest.find('/')?..];
    let path = path.split('#').next().unwrap_or(path);
    // Only what the build accepts as an old address (no `..`, `:`, …).
    let path = crate::content::front_matter::old_address(path).ok()?;
    (path != format!("/posts/{slug}/")).then_some(path)
}

/// An image's address, made absolute against the item's.
fn absolute(src: &str, base: &str) -> Option<String> {
    if src.starts_with("https://") || src.starts_with("http://") {
        return Some(src.to_string());
    }
    let scheme_end = base.find("://")? + 3;
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    if let Some(rest) = src.strip_prefix("//") {
        return Some(format!("{}{rest}", &base[..scheme_end]));
    }
    if src.starts_with('/') {
        return Some(format!("{}{src}", &base[..host_end]));
    }
    None
}

/// The extension for a picture's bytes (PNG, JPEG, GIF, WebP), by their
/// magic numbers; `None` for anything else.
fn picture_extension(bytes: &[u8]) -> Option<&'static str> {
    match image::guess_format(bytes).ok()? {
        image::ImageFormat::Png => Some("png"),
        image::ImageFormat::Jpeg => Some("jpg"),
        image::ImageFormat::Gif => Some("gif"),
        image::ImageFormat::WebP => Some("webp"),
        _ => None,
    }
}

/// A file name for a downloaded image: the stem of its own name, made
/// safe (else `image-N`), with the extension of what it is.
fn file_name(url: &str, n: usize, ext: &str) -> String {
    let last = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("");
    let stem = last.rsplit_once('.').map_or(last, |(stem, _)| stem);
    let stem = slug::slugify(stem);
    let stem = if stem.is_empty() {
        format!("image-{}", n + 1)
    } else {
        format!("{}-{stem}", n + 1)
    };
    format!("{stem}.{ext}")
}

/// Plain text (a JSON Feed's `content_text`) as HTML paragraphs.
fn text_to_html(text: &str) -> String {
    text.split("\n\n")
        .map(|p| {
            let escaped = p
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('\n', "<br>");
            format!("<p>{escaped}</p>")
        })
        .collect()
}

/// The items of an RSS, Atom or JSON Feed document.
fn parse(text: &str) -> Result<Vec<Item>, String> {
    if text.trim_start().starts_with('{') {
        return json_feed(text);
    }
    xml_feed(text)
}

fn json_feed(text: &str) -> Result<Vec<Item>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    if !doc
        .get("version")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("https://jsonfeed.org/version/"))
    {
        return Err("JSON, but not a JSON Feed (no jsonfeed.org `version`)".into());
    }
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Ok(doc
        .get("items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|i| Item {
                    id: s(i, "id"),
                    url: s(i, "url"),
                    title: html::decode(&s(i, "title")).replace('<', "&lt;"),
                    html: s(i, "content_html"),
                    text: s(i, "content_text"),
                    published: s(i, "date_published"),
                    updated: s(i, "date_modified"),
                    tags: i
                        .get("tags")
                        .and_then(Value::as_array)
                        .map(|t| {
                            t.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default())
}

fn xml_feed(text: &str) -> Result<Vec<Item>, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut items = Vec::new();
    let mut root: Option<String> = None;
    let mut item: Option<Item> = None;
    // The element whose text is being collected, and the text so far.
    let mut field: Option<(String, String)> = None;
    let mut depth_in_field = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not well-formed XML ({e})"))?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if root.is_none() {
                    if !matches!(name.as_str(), "rss" | "RDF" | "feed") {
                        return Err(format!(
                            "XML, but its root is <{name}>, not <rss> or <feed>"
                        ));
                    }
                    root = Some(name);
                    continue;
                }
                if let Some((_, value)) = &mut field {
                    // XHTML content in Atom: keep the markup.
                    depth_in_field += 1;
                    value.push_str(&format!("<{}>", String::from_utf8_lossy(&e)));
                    continue;
                }
                if name == "item" || name == "entry" {
                    item = Some(Item::default());
                } else if let Some(it) = &mut item {
                    match name.as_str() {
                        "category" => {
                            if let Some(term) = attribute(&e, "term") {
                                it.tags.push(term);
                            } else {
                                field = Some((name, String::new()));
                            }
                        }
                        "link" => {
                            if let Some(href) = link_href(&e) {
                                it.url = href;
                            } else {
                                field = Some((name, String::new()));
                            }
                        }
                        _ => field = Some((name, String::new())),
                    }
                    depth_in_field = 0;
                }
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if let Some((_, value)) = &mut field {
                    value.push_str(&format!("<{}/>", String::from_utf8_lossy(&e)));
                } else if let Some(it) = &mut item {
                    if name == "link"
                        && let Some(href) = link_href(&e)
                    {
                        it.url = href;
                    } else if name == "category"
                        && let Some(term) = attribute(&e, "term")
                    {
                        it.tags.push(term);
                    }
                }
            }
            Event::Text(t) => {
                if let Some((_, value)) = &mut field {
                    value.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, value)) = &mut field {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    let decoded = html::decode(&format!("&{name};"));
                    // In XHTML content a reference stays one, in text it is the character.
                    if depth_in_field > 0 {
                        value.push_str(&format!("&{name};"));
                    } else {
                        value.push_str(&decoded);
                    }
                }
            }
            Event::CData(c) => {
                if let Some((_, value)) = &mut field {
                    value.push_str(&c.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if depth_in_field > 0 {
                    depth_in_field -= 1;
                    if let Some((_, value)) = &mut field {
                        value.push_str(&format!(
                            "</{}>",
                            String::from_utf8_lossy(e.name().as_ref())
                        ));
                    }
                    continue;
                }
                if let Some((fname, value)) = field.take() {
                    if let Some(it) = &mut item {
                        set(it, &fname, value);
                    }
                    continue;
                }
                if (name == "item" || name == "entry")
                    && let Some(it) = item.take()
                {
                    items.push(it);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if root.is_none() {
        return Err("not XML nor JSON".into());
    }
    Ok(items)
}

/// One element's text into the item (RSS, Atom and Dublin Core names).
fn set(it: &mut Item, name: &str, value: String) {
    match name {
        "title" => it.title = value,
        "link" => it.url = value.trim().to_string(),
        "guid" | "id" => it.id = value.trim().to_string(),
        "encoded" | "content" if !value.trim().is_empty() => it.html = value,
        "description" | "summary" if it.html.is_empty() => it.html = value,
        "pubDate" | "published" | "date" | "issued" => it.published = value,
        "updated" | "modified" => it.updated = value,
        "category" | "subject" => {
            let tag = value.trim().to_string();
            if !tag.is_empty() {
                it.tags.push(tag);
            }
        }
        _ => {}
    }
}

fn attribute(e: &quick_xml::events::BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref() == key.as_bytes())
            .then(|| html::decode(&String::from_utf8_lossy(&a.value)))
    })
}

/// An Atom `<link href>` that is the entry's page (`rel` absent or
/// `alternate`).
fn link_href(e: &quick_xml::events::BytesStart<'_>) -> Option<String> {
    let rel = attribute(e, "rel");
    if rel.as_deref().is_some_and(|r| r != "alternate") {
        return None;
    }
    attribute(e, "href")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_atom_and_json_feed_items() {
        let rss = "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>x</title><item><title>Tea &amp; cake</title><link>https://old.example/2024/05/tea-cake/</link><guid>p1</guid><pubDate>Wed, 01 May 2024 09:30:00 +0200</pubDate><category>food</category><description>short</description><content:encoded><![CDATA[<p>Full &amp; <b>bold</b></p>]]></content:encoded></item></channel></rss>";
        let items = parse(rss).expect("rss");
        assert_eq!(items.len(), 1);
        let it = &items[0];
        assert_eq!(it.title, "Tea & cake");
        assert_eq!(it.url, "https://old.example/2024/05/tea-cake/");
        assert_eq!(it.html, "<p>Full &amp; <b>bold</b></p>");
        assert_eq!(it.tags, ["food"]);
        assert_eq!(
            date_of(&it.published).map(|d| d.at.to_string()).as_deref(),
            Some("2024-05-01T07:30:00Z")
        );
        assert_eq!(slug(it, Timestamp::UNIX_EPOCH), "tea-cake");
        assert_eq!(
            alias(&it.url, "tea-cake").as_deref(),
            Some("/2024/05/tea-cake/")
        );

        let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><title type=\"html\">A &lt;i&gt;t&lt;/i&gt;</title><link rel=\"edit\" href=\"https://x/edit\"/><link href=\"https://old.example/a.html\"/><id>urn:1</id><published>2024-05-01T09:30:00Z</published><category term=\"rust\"/><content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Hi &amp; <em>you</em></p></div></content></entry></feed>";
        let items = parse(atom).expect("atom");
        let it = &items[0];
        assert_eq!(it.url, "https://old.example/a.html");
        assert_eq!(it.tags, ["rust"]);
        assert!(
            it.html.contains("<p>Hi &amp; <em>you</em></p>"),
            "{}",
            it.html
        );
        assert_eq!(html::to_text(&it.title), "A t");

        let json = r#"{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"1","url":"https://m.example/2024/05/01/note.html","content_text":"Line\n\nTwo <3","date_published":"2024-05-01T10:00:00Z","tags":["life"]}]}"#;
        let items = parse(json).expect("json feed");
        assert_eq!(items[0].tags, ["life"]);
        assert_eq!(
            html::to_markdown(&text_to_html(&items[0].text), &mut |s| {
                html::ImageTarget::Link(s.to_string())
            }),
            "Line\n\nTwo \\<3\n"
        );
        assert!(parse("<html></html>").is_err());
        assert!(parse("{\"a\":1}").is_err());
    }

    #[test]
    fn image_addresses_and_names() {
        assert_eq!(
            absolute("/img/a.png", "https://old.example/2024/p/").as_deref(),
            Some("https://old.example/img/a.png")
        );
        assert_eq!(
            absolute("//cdn.example/a.png", "https://old.example/").as_deref(),
            Some("https://cdn.example/a.png")
        );
        assert_eq!(absolute("a.png", ""), None);
        assert_eq!(
            file_name("https://x/p/Sun Rise.JPG?w=3", 0, "jpg"),
            "1-sun-rise.jpg"
        );
        assert_eq!(file_name("https://x/", 1, "png"), "image-2.png");
        // The bytes name the kind, not the address.
        assert_eq!(
            file_name("https://evil.example/x.html", 0, "png"),
            "1-x.png"
        );
        assert_eq!(picture_extension(b"<html><script>"), None);
        assert_eq!(picture_extension(b"\x89PNG\r\n\x1a\n\0\0"), Some("png"));
        // Old addresses the build would refuse are not kept.
        assert_eq!(alias("https://old.example/2024/05/my:post/", "p"), None);
        assert_eq!(alias("https://old.example/a/../b/", "p"), None);
        assert_eq!(
            alias("https://old.example/2024/05/post/", "p").as_deref(),
            Some("/2024/05/post/")
        );
    }
}
