//! What templates see. These structs are the theme API: the README lists
//! their fields. Dates come pre-formatted so themes need no date filter.

use jiff::Timestamp;
use serde::Serialize;

use crate::config::{Config, MenuItem, ProfileLink};
use crate::content::library::{Post, Tag};
use crate::text::shorten;

/// `site` in every template.
#[derive(Debug, Serialize)]
pub struct SiteCtx<'a> {
    /// Site title.
    pub title: &'a str,
    /// One-line description.
    pub description: &'a str,
    /// Absolute root URL without trailing slash.
    pub base_url: &'a str,
    /// Language tag.
    pub language: &'a str,
    /// Author name.
    pub author: &'a str,
    /// `@user@host`.
    pub handle: String,
    /// Navigation, with site paths made absolute.
    pub menu: Vec<MenuItem>,
    /// Profile links (`rel="me"`).
    pub links: &'a [ProfileLink],
    /// Site path of the RSS feed.
    pub rss_path: &'static str,
    /// Site path of the Atom feed.
    pub atom_path: &'static str,
    /// Site path of the JSON feed.
    pub json_feed_path: &'static str,
    /// `stoa x.y.z`.
    pub generator: String,
    /// The ActivityPub actor id (for `<link rel="alternate">` on pages without an object).
    pub actor_url: String,
    /// Absolute URL of the avatar (`[fediverse] avatar`), if any.
    pub avatar: Option<String>,
}

impl<'a> SiteCtx<'a> {
    /// Builds the site context from the configuration.
    pub fn new(config: &'a Config) -> Self {
        SiteCtx {
            title: &config.title,
            description: &config.description,
            base_url: &config.base_url,
            language: &config.language,
            author: &config.author,
            handle: config.fediverse.handle(),
            menu: config
                .menu
                .iter()
                .map(|m| MenuItem {
                    name: m.name.clone(),
                    url: if m.url.starts_with('/') {
                        config.url(&m.url)
                    } else {
                        m.url.clone()
                    },
                })
                .collect(),
            links: &config.links,
            rss_path: "/rss.xml",
            atom_path: "/atom.xml",
            json_feed_path: "/feed.json",
            generator: format!("stoa {}", env!("CARGO_PKG_VERSION")),
            actor_url: crate::federation::Urls::new(config).actor,
            avatar: config.fediverse.avatar.as_ref().map(|a| {
                if a.contains("://") {
                    a.clone()
                } else {
                    config.url(&format!("/{}", a.trim_start_matches('/')))
                }
            }),
        }
    }
}

/// A date in the forms templates need.
#[derive(Debug, Clone, Serialize)]
pub struct DateCtx {
    /// RFC 3339, for `<time datetime>`.
    pub iso: String,
    /// `26 November 2026`.
    pub display: String,
    /// `2026`.
    pub year: i16,
}

impl DateCtx {
    /// Formats a timestamp (dates are shown in UTC).
    pub fn new(at: Timestamp) -> Self {
        let z = at.to_zoned_datetime(jiff::tz::TimeZone::UTC);
        DateCtx {
            iso: at.to_string(),
            display: format!("{} {} {}", z.day(), month_name(z.month()), z.year()),
            year: z.year(),
        }
    }
}

fn month_name(m: i8) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES[(m.clamp(1, 12) - 1) as usize]
}

/// A link to a tag.
#[derive(Debug, Clone, Serialize)]
pub struct TagLink {
    /// As written.
    pub name: String,
    /// Site path.
    pub path: String,
}

/// A post as it appears in lists (home, tag pages, archive) and as the base
/// of a post page.
#[derive(Debug, Clone, Serialize)]
pub struct PostItem {
    /// Title, absent for micro-posts.
    pub title: Option<String>,
    /// Title, or the start of the text for micro-posts (for `<title>` and links).
    pub display_title: String,
    /// Site path.
    pub path: String,
    /// Absolute URL.
    pub permalink: String,
    /// Id of the post's ActivityPub object.
    pub ap_url: String,
    /// Publication date.
    pub date: DateCtx,
    /// Last edit, when given.
    pub updated: Option<DateCtx>,
    /// Tags.
    pub tags: Vec<TagLink>,
    /// Description from front matter, else the first paragraph, shortened.
    pub excerpt: String,
    /// Full HTML of micro-posts (shown whole in lists), absent for titled posts.
    pub content: Option<String>,
    /// Content warning.
    pub summary: Option<String>,
    /// URL this post answers.
    pub in_reply_to: Option<String>,
    /// A draft (only built with `--drafts`): themes mark it.
    pub draft: bool,
    /// The post this one quotes, as fetched at publish.
    pub quoted: Option<crate::content::front_matter::QuotedPost>,
}

impl PostItem {
    /// Builds the list form of a post from its metadata and rendered body.
    pub fn new(
        config: &Config,
        post: &Post,
        tags: &[Tag],
        excerpt: &str,
        html: Option<&str>,
    ) -> Self {
        let path = post.path();
        let excerpt = post
            .meta
            .description
            .clone()
            .unwrap_or_else(|| excerpt.to_string());
        PostItem {
            display_title: post
                .meta
                .title
                .clone()
                .unwrap_or_else(|| untitled_title(&excerpt)),
            title: post.meta.title.clone(),
            permalink: config.url(&path),
            ap_url: crate::federation::Urls::object(config, &post.slug),
            path,
            date: DateCtx::new(post.date.at),
            updated: post.meta.updated.map(|d| DateCtx::new(d.at)),
            tags: tag_links(post, tags),
            content: if post.meta.title.is_none() {
                html.map(str::to_string)
            } else {
                None
            },
            excerpt,
            summary: post.meta.summary.clone(),
            in_reply_to: post.meta.in_reply_to.clone(),
            draft: post.meta.draft,
            quoted: post.meta.quoted.clone(),
        }
    }
}

/// A short stand-in title for an untitled post.
pub fn untitled_title(excerpt: &str) -> String {
    let t = shorten(excerpt, 60);
    if t.is_empty() {
        "Untitled note".to_string()
    } else {
        t
    }
}

fn tag_links(post: &Post, tags: &[Tag]) -> Vec<TagLink> {
    crate::content::library::tag_slugs(post)
        .into_iter()
        .filter_map(|slug| {
            tags.binary_search_by(|t| t.slug.as_str().cmp(&slug))
                .ok()
                .map(|i| TagLink {
                    name: tags[i].name.clone(),
                    path: tags[i].path(),
                })
        })
        .collect()
}

/// `page` on a post's own page: the list form plus the full body.
#[derive(Debug, Serialize)]
pub struct PostPage<'a> {
    /// List form (title, dates, tags…), flattened into `page`.
    #[serde(flatten)]
    pub item: &'a PostItem,
    /// Body HTML.
    pub body: &'a str,
    /// Meta/OpenGraph description.
    pub description: &'a str,
    /// Language of the post.
    pub language: &'a str,
    /// Absolute URL of the first image, for OpenGraph.
    pub image: Option<String>,
    /// Newer neighbour.
    pub newer: Option<NavLink>,
    /// Older neighbour.
    pub older: Option<NavLink>,
    /// `true` (lets a shared base template tell posts from pages).
    pub is_post: bool,
    /// Public replies, favourites and boosts (see the README).
    pub conversation: crate::conversations::ConversationCtx,
}

/// A neighbour link.
#[derive(Debug, Clone, Serialize)]
pub struct NavLink {
    /// Link text.
    pub title: String,
    /// Site path.
    pub path: String,
}

/// `pager` on paginated lists.
#[derive(Debug, Serialize)]
pub struct Pager<'a> {
    /// 1-based page number.
    pub number: usize,
    /// Number of pages.
    pub total: usize,
    /// Posts on this page.
    pub items: &'a [PostItem],
    /// Site path of the newer page.
    pub prev_path: Option<String>,
    /// Site path of the older page.
    pub next_path: Option<String>,
}

/// Site path of page `n` (1-based) of a list whose first page is at `base`.
pub fn pager_path(base: &str, n: usize) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}page/{n}/")
    }
}
