//! The site's ActivityPub and discovery documents as files (path and
//! bytes): the actor, WebFinger, host-meta, NodeInfo, the collections, the
//! outbox and its pages, featured posts. The renderer asks for them and
//! writes them; their shape is decided here.

use crate::config::Config;
use crate::content::library::Post;
use crate::federation::objects::{self, ObjectContext};
use crate::federation::profile::{self, Profile};
use crate::federation::{OUTBOX_PAGE_SIZE, Urls, to_bytes, with_context};

/// One file of the site: where it goes (relative, `/`-separated) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Output path.
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

impl Document {
    fn json(path: &str, value: &serde_json::Value) -> Document {
        Document {
            path: path.to_string(),
            bytes: to_bytes(value),
        }
    }
}

/// The actor's key and account date, which the actor document carries.
#[derive(Debug, Clone)]
pub struct Identity {
    /// SPKI PEM of the actor's public key.
    pub public_key_pem: String,
    /// Account creation date (RFC 3339).
    pub published: String,
}

/// The documents about the blog as a whole: actor, WebFinger, host-meta,
/// NodeInfo, followers, following, featured tags and the outbox's first page
/// of links.
pub fn site(config: &Config, identity: &Identity, posts: usize, followers: usize) -> Vec<Document> {
    let urls = Urls::new(config);
    let actor = Profile {
        config,
        urls: &urls,
        public_key_pem: &identity.public_key_pem,
        published: &identity.published,
    };
    vec![
        Document::json("ap/actor.json", &profile::actor(&actor)),
        Document::json(".well-known/webfinger", &profile::webfinger(config, &urls)),
        Document {
            path: ".well-known/host-meta".into(),
            bytes: profile::host_meta(config).into_bytes(),
        },
        Document::json(".well-known/nodeinfo", &profile::nodeinfo_discovery(config)),
        Document::json("nodeinfo/2.1.json", &profile::nodeinfo(config, posts)),
        Document::json(
            "ap/followers.json",
            &profile::counted_collection(&urls.followers, followers),
        ),
        Document::json(
            "ap/following.json",
            &profile::counted_collection(&urls.following, 0),
        ),
        Document::json(
            "ap/featured-tags.json",
            &profile::featured_tags(config, &urls),
        ),
        Document::json("ap/outbox.json", &objects::outbox(config, &urls, posts)),
    ]
}

/// Page `n` (1-based) of the outbox: its posts as Creates, newest first.
/// The embedded objects leave out their `replies` collection (readers
/// that want it fetch the object, where it is): a new reply then changes
/// only its post's page and object, never an outbox page.
pub fn outbox_page(cx: &ObjectContext<'_>, posts: &[Post], n: usize) -> Document {
    let size = OUTBOX_PAGE_SIZE;
    let notes = posts[((n - 1) * size).min(posts.len())..(n * size).min(posts.len())]
        .iter()
        .map(|p| {
            let mut note = objects::note(cx, p);
            if let Some(fields) = note.as_object_mut() {
                fields.remove("replies");
            }
            note
        })
        .collect();
    let page = objects::outbox_page(cx.config, cx.urls, n, posts.len(), notes);
    Document::json(&Urls::outbox_page_path(n)[1..], &page)
}

/// The pages of a post's `replies` collection after the first (which the
/// post object embeds): none until it has more than
/// [`REPLIES_PAGE_SIZE`](crate::federation::REPLIES_PAGE_SIZE) public replies.
pub fn reply_pages(cx: &ObjectContext<'_>, post: &Post) -> Vec<Document> {
    let ids = objects::reply_ids(cx, &post.slug);
    (2..=objects::replies_pages(ids.len()))
        .map(|n| {
            let page = objects::replies_page(cx.config, &post.slug, &ids, n);
            Document::json(
                &Urls::replies_page_path(&post.slug, n)[1..],
                &with_context(page),
            )
        })
        .collect()
}

/// The featured collection: the pinned posts, else the latest three.
pub fn featured(cx: &ObjectContext<'_>, posts: &[Post]) -> Document {
    let pinned: Vec<&Post> = posts.iter().filter(|p| p.meta.pinned).collect();
    let chosen: Vec<&Post> = if pinned.is_empty() {
        posts.iter().take(3).collect()
    } else {
        pinned
    };
    let notes = chosen.into_iter().map(|p| objects::note(cx, p)).collect();
    Document::json("ap/featured.json", &objects::featured(cx.urls, notes))
}
