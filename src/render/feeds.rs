//! RSS 2.0, Atom 1.0, JSON Feed 1.1 and the sitemap, written in code so
//! they are well-formed whatever the theme does. Feed dates come from the
//! posts, never from the clock, so rebuilds are byte-identical.

use std::fmt::Write;

use crate::config::Config;
use crate::content::library::Library;
use crate::render::context::PostItem;
use crate::text::xml_escape;

/// One feed item: the post's list form plus its full HTML.
pub struct Entry<'a> {
    /// List form.
    pub item: &'a PostItem,
    /// Body HTML.
    pub html: &'a str,
}

/// A feed to write.
pub struct Feed<'a> {
    /// Site settings.
    pub config: &'a Config,
    /// Feed title.
    pub title: &'a str,
    /// Site path of the HTML page the feed mirrors.
    pub path: &'a str,
    /// Newest first.
    pub entries: &'a [Entry<'a>],
}

impl Feed<'_> {
    fn updated(&self) -> String {
        self.entries
            .iter()
            .map(|e| e.item.updated.as_ref().unwrap_or(&e.item.date).iso.clone())
            .max()
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
    }
}

fn rfc2822(iso: &str) -> String {
    iso.parse::<jiff::Timestamp>()
        .map(|t| {
            jiff::fmt::rfc2822::to_string(&t.to_zoned_datetime(jiff::tz::TimeZone::UTC))
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

/// RSS 2.0 with an `atom:link` to itself.
pub fn rss(feed: &Feed<'_>, self_path: &str) -> String {
    let c = feed.config;
    let mut s = String::with_capacity(
        4096 + feed
            .entries
            .iter()
            .map(|e| e.html.len() * 6 / 5)
            .sum::<usize>(),
    );
    s.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n");
    let _ = writeln!(s, "<title>{}</title>", xml_escape(feed.title));
    let _ = writeln!(s, "<link>{}</link>", xml_escape(&c.url(feed.path)));
    let _ = writeln!(
        s,
        "<description>{}</description>",
        xml_escape(if c.description.is_empty() {
            feed.title
        } else {
            &c.description
        })
    );
    let _ = writeln!(s, "<language>{}</language>", xml_escape(&c.language));
    let _ = writeln!(s, "<generator>stoa</generator>");
    let _ = writeln!(
        s,
        "<lastBuildDate>{}</lastBuildDate>",
        rfc2822(&feed.updated())
    );
    let _ = writeln!(
        s,
        "<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml\"/>",
        xml_escape(&c.url(self_path))
    );
    for e in feed.entries {
        let i = e.item;
        s.push_str("<item>\n");
        if let Some(t) = &i.title {
            let _ = writeln!(s, "<title>{}</title>", xml_escape(t));
        }
        let _ = writeln!(s, "<link>{}</link>", xml_escape(&i.permalink));
        let _ = writeln!(
            s,
            "<guid isPermaLink=\"true\">{}</guid>",
            xml_escape(&i.permalink)
        );
        let _ = writeln!(s, "<pubDate>{}</pubDate>", rfc2822(&i.date.iso));
        for t in &i.tags {
            let _ = writeln!(s, "<category>{}</category>", xml_escape(&t.name));
        }
        let _ = writeln!(s, "<description>{}</description>", xml_escape(e.html));
        s.push_str("</item>\n");
    }
    s.push_str("</channel>\n</rss>\n");
    s
}

/// Atom 1.0. Untitled posts get their opening words as the required title.
pub fn atom(feed: &Feed<'_>, self_path: &str) -> String {
    let c = feed.config;
    let mut s = String::with_capacity(
        4096 + feed
            .entries
            .iter()
            .map(|e| e.html.len() * 6 / 5)
            .sum::<usize>(),
    );
    let _ = writeln!(
        s,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">",
        xml_escape(&c.language)
    );
    let _ = writeln!(s, "<title>{}</title>", xml_escape(feed.title));
    if !c.description.is_empty() {
        let _ = writeln!(s, "<subtitle>{}</subtitle>", xml_escape(&c.description));
    }
    let _ = writeln!(s, "<id>{}</id>", xml_escape(&c.url(self_path)));
    let _ = writeln!(
        s,
        "<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>",
        xml_escape(&c.url(self_path))
    );
    let _ = writeln!(
        s,
        "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
        xml_escape(&c.url(feed.path))
    );
    let _ = writeln!(s, "<updated>{}</updated>", feed.updated());
    let _ = writeln!(s, "<author><name>{}</name></author>", xml_escape(&c.author));
    let _ = writeln!(s, "<generator>stoa</generator>");
    for e in feed.entries {
        let i = e.item;
        s.push_str("<entry>\n");
        let _ = writeln!(s, "<title>{}</title>", xml_escape(&i.display_title));
        let _ = writeln!(s, "<id>{}</id>", xml_escape(&i.permalink));
        let _ = writeln!(
            s,
            "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>",
            xml_escape(&i.permalink)
        );
        let _ = writeln!(s, "<published>{}</published>", i.date.iso);
        let _ = writeln!(
            s,
            "<updated>{}</updated>",
            i.updated.as_ref().unwrap_or(&i.date).iso
        );
        for t in &i.tags {
            let _ = writeln!(s, "<category term=\"{}\"/>", xml_escape(&t.name));
        }
        if !i.excerpt.is_empty() && i.title.is_some() {
            let _ = writeln!(s, "<summary>{}</summary>", xml_escape(&i.excerpt));
        }
        let _ = writeln!(s, "<content type=\"html\">{}</content>", xml_escape(e.html));
        s.push_str("</entry>\n");
    }
    s.push_str("</feed>\n");
    s
}

/// JSON Feed 1.1.
pub fn json_feed(feed: &Feed<'_>, self_path: &str) -> String {
    let c = feed.config;
    let items: Vec<serde_json::Value> = feed
        .entries
        .iter()
        .map(|e| {
            let i = e.item;
            let mut v = serde_json::json!({
                "id": i.permalink,
                "url": i.permalink,
                "content_html": e.html,
                "date_published": i.date.iso,
            });
            if let Some(t) = &i.title {
                v["title"] = t.clone().into();
                v["summary"] = i.excerpt.clone().into();
            }
            if let Some(u) = &i.updated {
                v["date_modified"] = u.iso.clone().into();
            }
            if !i.tags.is_empty() {
                v["tags"] = i
                    .tags
                    .iter()
                    .map(|t| t.name.clone())
                    .collect::<Vec<_>>()
                    .into();
            }
            v
        })
        .collect();
    let doc = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": c.url(feed.path),
        "feed_url": c.url(self_path),
        "description": c.description,
        "language": c.language,
        "authors": [{"name": c.author, "url": c.url("/")}],
        "items": items,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// `sitemap.xml`: home, posts (with their last change), pages, tags, archive.
pub fn sitemap(config: &Config, library: &Library, items: &[PostItem]) -> String {
    let mut s = String::with_capacity(200 + items.len() * 120);
    s.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    let mut url = |loc: &str, lastmod: Option<&str>| {
        let _ = write!(s, "<url><loc>{}</loc>", xml_escape(&config.url(loc)));
        if let Some(m) = lastmod {
            let _ = write!(s, "<lastmod>{m}</lastmod>");
        }
        s.push_str("</url>\n");
    };
    url("/", items.first().map(|i| i.date.iso.as_str()));
    for i in items {
        url(&i.path, Some(&i.updated.as_ref().unwrap_or(&i.date).iso));
    }
    for p in &library.pages {
        url(&p.path, None);
    }
    url("/archive/", None);
    url("/tags/", None);
    for t in &library.tags {
        url(&t.path(), None);
    }
    s.push_str("</urlset>\n");
    s
}
