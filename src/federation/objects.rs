//! Posts as ActivityPub objects (`Note` by default, `Article` on request),
//! the `Create` activities of the outbox, featured posts and replies.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::config::Config;
use crate::content::front_matter::ObjectKind;
use crate::content::images;
use crate::content::library::{Post, Tag};
use crate::content::markdown::{self, DocContext, Flavor};
use crate::content::tag_names;
use crate::federation::profile::media_type;
use crate::federation::{
    DOCUMENT_BUDGET, OBJECT_BUDGET, OUTBOX_PAGE_SIZE, PUBLIC, REPLIES_PAGE_SIZE, Urls,
    document_size, html, json_size, quotes, with_context,
};
use crate::text::escape;

/// Mastodon shows at most four attachments.
pub const MAX_ATTACHMENTS: usize = 4;

/// Everything needed to turn a post into an object.
pub struct ObjectContext<'a> {
    /// Site settings.
    pub config: &'a Config,
    /// Document URLs.
    pub urls: &'a Urls,
    /// All tags (for hrefs).
    pub tags: &'a [Tag],
    /// Where site-absolute image paths are found.
    pub static_dirs: &'a [PathBuf],
    /// Accounts resolved by `stoa publish`.
    pub mentions: &'a markdown::Mentions,
    /// Public replies (for each post's `replies` collection), if any.
    pub conversations: Option<&'a crate::conversations::Conversations>,
}

/// The fediverse HTML of a post and the images found in it.
pub struct FediContent {
    /// Mastodon-clean HTML (titled posts start with the title, linked).
    pub html: String,
    /// Images: front matter first, then the body's.
    pub images: Vec<markdown::Image>,
    /// Accounts mentioned (and linked) in the body.
    pub mentions: Vec<(String, markdown::Mentioned)>,
}

/// Renders the body for the fediverse.
pub fn content(cx: &ObjectContext<'_>, post: &Post) -> FediContent {
    let path = post.path();
    let doc = DocContext {
        flavor: Flavor::Fediverse,
        source: &post.source,
        static_dirs: cx.static_dirs,
        source_dir: &post.source_dir,
        base_url: &cx.config.base_url,
        mentions: cx.mentions,
    };
    let rendered = markdown::render(&post.body, &cx.config.markdown, &doc);
    let mut body = String::new();
    if let (Some(title), ObjectKind::Note) = (&post.meta.title, post.meta.fediverse) {
        body.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>\n",
            escape(&cx.config.url(&path)),
            escape(title)
        ));
    }
    body.push_str(&rendered.html);
    let mut images: Vec<markdown::Image> = post
        .meta
        .images
        .iter()
        .map(|i| markdown::Image {
            src: i.src.clone(),
            alt: i.alt.clone(),
            size: None,
        })
        .collect();
    for img in rendered.images {
        match images.iter_mut().find(|i| i.src == img.src) {
            Some(existing) => existing.size = existing.size.or(img.size),
            None => images.push(img),
        }
    }
    // Our own fediverse flavour only emits tags Mastodon keeps; the cleaner
    // (an HTML parse, the costliest step) runs when the source could add others.
    let html = if rendered.needs_cleaning {
        html::mastodon_clean(&body)
    } else {
        body
    };
    FediContent {
        html,
        images,
        mentions: rendered.mentions,
    }
}

/// A post's object, and what keeping it within [`OBJECT_BUDGET`] took.
pub struct Object {
    /// The object (without `@context`).
    pub value: Value,
    /// Set when the post's text was too long and was cut.
    pub shortened: Option<Shortened>,
}

/// What cutting a post's text for the fediverse did, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortened {
    /// The object with the whole text.
    pub full: usize,
    /// The object as written.
    pub now: usize,
    /// The post's fediverse HTML.
    pub html: usize,
    /// The part of it the object carries.
    pub kept: usize,
}

impl Shortened {
    /// The build's warning about the post at `source`.
    pub fn warning(&self, source: &Path) -> String {
        let mut w = format!(
            "{}: too long for the fediverse: its ActivityPub object would take {} (Mastodon fetches at most 1 MiB), so it carries the first {} of its {} of text and a link to the whole post on the blog",
            source.display(),
            human_size(self.full),
            human_size(self.kept),
            human_size(self.html)
        );
        if self.now > OBJECT_BUDGET {
            w.push_str(&format!(
                "; even so it takes {}: shorten its summary, description or tags",
                human_size(self.now)
            ));
        }
        w
    }
}

/// `1536` → `1.5 KiB`.
pub fn human_size(bytes: usize) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB {
        format!("{:.1} MiB", b / KIB / KIB)
    } else if b >= KIB {
        format!("{:.0} KiB", b / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The paragraph that ends a shortened post's text on the fediverse.
pub fn read_more(page_url: &str) -> String {
    format!(
        "<p><a href=\"{}\">Read the whole post</a></p>",
        escape(page_url)
    )
}

/// The object of a post.
pub fn note(cx: &ObjectContext<'_>, post: &Post) -> Value {
    object(cx, post).value
}

/// The object of a post, within [`OBJECT_BUDGET`]: a post whose object
/// would be larger keeps the beginning of its text (cut at a clean place,
/// see [`html::cut`]) and ends with a link to its page.
pub fn object(cx: &ObjectContext<'_>, post: &Post) -> Object {
    let mut v = whole_object(cx, post);
    let full = document_size(&v);
    if full <= OBJECT_BUDGET {
        return Object {
            value: v,
            shortened: None,
        };
    }
    let text = v["content"].as_str().unwrap_or_default().to_string();
    let text_json = html::json_len(&text);
    // Everything but the text, which is there twice.
    let rest = full.saturating_sub(2 * text_json);
    let link = format!("\n{}", read_more(&cx.config.url(&post.path())));
    let room = (OBJECT_BUDGET.saturating_sub(rest) / 2).saturating_sub(html::json_len(&link));
    let kept = html::cut(&text, room);
    let short = format!("{kept}{link}").trim_start().to_string();
    v["content"] = json!(short);
    if let Some(map) = v["contentMap"].as_object_mut() {
        for value in map.values_mut() {
            *value = json!(short);
        }
    }
    let now = document_size(&v);
    Object {
        value: v,
        shortened: Some(Shortened {
            full,
            now,
            html: text.len(),
            kept: kept.len(),
        }),
    }
}

/// The object of a post with its whole text, whatever its size.
fn whole_object(cx: &ObjectContext<'_>, post: &Post) -> Value {
    let c = cx.config;
    let id = Urls::object(c, &post.slug);
    let fc = content(cx, post);
    let replies = replies(c, &post.slug, &reply_ids(cx, &post.slug));
    let lang = post
        .meta
        .language
        .clone()
        .unwrap_or_else(|| c.language.clone());
    let page = post.path();
    let attachments: Vec<Value> = fc
        .images
        .iter()
        .take(MAX_ATTACHMENTS)
        .map(|img| {
            let url = c.absolute_url(&page, &img.src);
            let mut a = json!({
                "type": "Document",
                "mediaType": media_type(&url),
                "url": url,
                "name": img.alt,
            });
            let file = images::locate(&img.src, cx.static_dirs, &post.source_dir);
            if let Some((w, h)) = img.size.or_else(|| file.as_deref().and_then(images::size)) {
                a["width"] = json!(w);
                a["height"] = json!(h);
            }
            if let Some(hash) = file.as_deref().and_then(images::blurhash) {
                a["blurhash"] = json!(hash);
            }
            a
        })
        .collect();
    let mut tags: Vec<Value> = crate::content::library::tag_slugs(post)
        .iter()
        .filter_map(|slug| {
            let t = cx.tags.iter().find(|t| &t.slug == slug)?;
            let name = tag_names::hashtag(&t.name)?;
            Some(json!({"type": "Hashtag", "href": c.url(&t.path()), "name": format!("#{name}")}))
        })
        .collect();
    // Mentioned accounts are tagged and addressed, so their servers notify them.
    let mut cc = vec![json!(cx.urls.followers)];
    for (handle, m) in &fc.mentions {
        tags.push(json!({"type": "Mention", "href": m.actor, "name": format!("@{handle}")}));
        cc.push(json!(m.actor));
    }
    let mut v = json!({
        "id": id,
        "type": match post.meta.fediverse { ObjectKind::Note => "Note", ObjectKind::Article => "Article" },
        "url": c.url(&page),
        "attributedTo": cx.urls.actor,
        "to": [PUBLIC],
        "cc": cc,
        "published": post.date.at.to_string(),
        "content": fc.html,
        "contentMap": {lang.clone(): fc.html},
        "mediaType": "text/html",
        "attachment": attachments,
        "tag": tags,
        "sensitive": post.meta.sensitive || post.meta.summary.is_some(),
        "replies": replies,
    });
    if let Some(u) = post.meta.updated {
        v["updated"] = json!(u.at.to_string());
    }
    if let Some(cw) = &post.meta.summary {
        v["summary"] = json!(cw);
    } else if post.meta.fediverse == ObjectKind::Article
        && let Some(d) = &post.meta.description
    {
        v["summary"] = json!(d);
    }
    if post.meta.fediverse == ObjectKind::Article
        && let Some(t) = &post.meta.title
    {
        v["name"] = json!(t);
    }
    if let Some(r) = &post.meta.in_reply_to {
        v["inReplyTo"] = json!(r);
    }
    let policy = post.meta.quote_policy.unwrap_or(c.fediverse.quote_policy);
    v["interactionPolicy"] = quotes::interaction_policy(cx.urls, policy);
    if let Some(q) = &post.meta.quote {
        quotes::mark_quote(&mut v, q);
        if let Some(stamp) = &post.meta.quote_authorization {
            v["quoteAuthorization"] = json!(stamp);
        }
        let with_link = format!("{}\n{}", fc.html, quotes::fallback_paragraph(q));
        v["content"] = json!(with_link);
        v["contentMap"] = json!({lang: with_link});
    }
    v
}

/// `Create` wrapping an object (as the outbox lists it).
pub fn create(urls: &Urls, object: Value) -> Value {
    let mut activity = create_by_id(urls, &object);
    activity["object"] = object;
    activity
}

/// `Create` naming its object by id (for an outbox page that has no room
/// for the object itself).
fn create_by_id(urls: &Urls, object: &Value) -> Value {
    let id = format!("{}#create", object["id"].as_str().unwrap_or_default());
    json!({
        "id": id,
        "type": "Create",
        "actor": urls.actor,
        "published": object["published"],
        "to": object["to"],
        "cc": object["cc"],
        "object": object["id"],
    })
}

/// Sets `key` of the collection document `doc` to its items, each `(whole,
/// by id)`: whole while the document stays within [`DOCUMENT_BUDGET`], in
/// order, by id past that. Returns the document with its `@context`.
fn within_budget(mut doc: Value, key: &str, items: Vec<(Value, Value)>) -> Value {
    let (whole, by_id): (Vec<Value>, Vec<Value>) = items.into_iter().unzip();
    doc[key] = Value::Array(whole);
    let size = document_size(&doc);
    if size <= DOCUMENT_BUDGET {
        return with_context(doc);
    }
    let whole = match doc[key].take() {
        Value::Array(items) => items,
        _ => Vec::new(),
    };
    let sizes: Vec<(usize, usize)> = whole
        .iter()
        .zip(&by_id)
        .map(|(w, s)| (json_size(w), json_size(s)))
        .collect();
    // All by id first; then each item whole, in order, while it fits.
    let mut total = size + sizes.iter().map(|(_, s)| s).sum::<usize>()
        - sizes.iter().map(|(w, _)| w).sum::<usize>();
    let mut chosen = Vec::with_capacity(whole.len());
    for ((w, s), (w_size, s_size)) in whole.into_iter().zip(by_id).zip(sizes) {
        let grow = w_size.saturating_sub(s_size);
        if total + grow <= DOCUMENT_BUDGET {
            total += grow;
            chosen.push(w);
        } else {
            chosen.push(s);
        }
    }
    doc[key] = Value::Array(chosen);
    with_context(doc)
}

/// The outbox: its size and a link to the first page.
pub fn outbox(c: &Config, urls: &Urls, total: usize) -> Value {
    let pages = total.div_ceil(OUTBOX_PAGE_SIZE).max(1);
    with_context(json!({
        "id": urls.outbox,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": c.url(&Urls::outbox_page_path(1)),
        "last": c.url(&Urls::outbox_page_path(pages)),
    }))
}

/// Page `n` (1-based) of the outbox, with its `Create` activities.
pub fn outbox_page(c: &Config, urls: &Urls, n: usize, total: usize, objects: Vec<Value>) -> Value {
    let pages = total.div_ceil(OUTBOX_PAGE_SIZE).max(1);
    let mut v = json!({
        "id": c.url(&Urls::outbox_page_path(n)),
        "type": "OrderedCollectionPage",
        "partOf": urls.outbox,
    });
    if n > 1 {
        v["prev"] = json!(c.url(&Urls::outbox_page_path(n - 1)));
    }
    if n < pages {
        v["next"] = json!(c.url(&Urls::outbox_page_path(n + 1)));
    }
    let items = objects
        .into_iter()
        .map(|o| {
            let by_id = create_by_id(urls, &o);
            (create(urls, o), by_id)
        })
        .collect();
    within_budget(v, "orderedItems", items)
}

/// Featured (pinned) posts: Notes embedded, Articles by id (Mastodon skips
/// embedded Articles).
pub fn featured(urls: &Urls, objects: Vec<Value>) -> Value {
    let items: Vec<(Value, Value)> = objects
        .into_iter()
        .map(|o| {
            let id = o["id"].clone();
            if o["type"] == "Note" {
                (o, id)
            } else {
                (id.clone(), id)
            }
        })
        .collect();
    let doc = json!({
        "id": urls.featured,
        "type": "OrderedCollection",
        "totalItems": items.len(),
    });
    within_budget(doc, "orderedItems", items)
}

/// The ids of a post's public replies, oldest first, as `conversations.toml`
/// has them.
pub fn reply_ids<'a>(cx: &ObjectContext<'a>, slug: &str) -> Vec<&'a str> {
    cx.conversations
        .and_then(|c| c.posts.get(slug))
        .map(|c| c.replies.iter().map(|r| r.id.as_str()).collect())
        .unwrap_or_default()
}

/// A post's `replies` collection: its first page embedded (what Mastodon
/// and Fedify read without another request), each further page a file of
/// its own ([`replies_page`]) linked by `next`, so readers on other
/// servers can load every public reply of the conversation.
pub fn replies(config: &Config, slug: &str, ids: &[&str]) -> Value {
    json!({
        "id": replies_id(config, slug),
        "type": "OrderedCollection",
        "totalItems": ids.len(),
        "first": replies_page(config, slug, ids, 1),
    })
}

/// Pages a `replies` collection of `total` ids takes (at least one).
pub fn replies_pages(total: usize) -> usize {
    total.div_ceil(REPLIES_PAGE_SIZE).max(1)
}

/// Page `n` (1-based) of a post's `replies` collection (without
/// `@context`): its slice of `ids`, `partOf` the collection and `next` the
/// following page's file. The first is embedded in the post object, so its
/// id is a fragment of the object's.
pub fn replies_page(config: &Config, slug: &str, ids: &[&str], n: usize) -> Value {
    let start = ((n - 1) * REPLIES_PAGE_SIZE).min(ids.len());
    let end = (n * REPLIES_PAGE_SIZE).min(ids.len());
    let id = if n == 1 {
        format!("{}#replies-page-1", Urls::object(config, slug))
    } else {
        config.url(&Urls::replies_page_path(slug, n))
    };
    let mut page = json!({
        "id": id,
        "type": "OrderedCollectionPage",
        "partOf": replies_id(config, slug),
        "orderedItems": &ids[start..end],
    });
    if n < replies_pages(ids.len()) {
        page["next"] = json!(config.url(&Urls::replies_page_path(slug, n + 1)));
    }
    page
}

/// The id of a post's `replies` collection: a fragment of the object's id
/// (the collection lives in the object).
fn replies_id(config: &Config, slug: &str) -> String {
    format!("{}#replies", Urls::object(config, slug))
}

/// The `replies` a post object's hash is taken with (see
/// `publish::objects::Built::post`), whatever replies it lists: the empty
/// collection as stoa wrote it before replies were paged, so neither a new
/// reply nor the paged shape changes the hash of a post already published
/// (which would send its followers an Update).
pub fn replies_for_hash(object_id: &str) -> Value {
    json!({
        "id": format!("{object_id}#replies"),
        "type": "OrderedCollection",
        "totalItems": 0,
        "orderedItems": [],
    })
}

/// What stays at a deleted post's id: a Tombstone (the companion answers
/// 410 for it; the id is never reused, as Mastodon requires).
pub fn tombstone(config: &Config, slug: &str, deleted: jiff::Timestamp) -> Value {
    with_context(json!({
        "id": Urls::object(config, slug),
        "type": "Tombstone",
        "formerType": "Note",
        "deleted": deleted.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }))
}
