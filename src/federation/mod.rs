//! ActivityPub documents as static files: the actor, WebFinger, host-meta,
//! NodeInfo, the outbox, one object per post, featured posts and tags, and
//! the collections. Pure: values in, JSON out; the renderer writes them.
//!
//! Every document has its own URL, and that URL is its `id`, because static
//! hosts cannot negotiate content (docs/architecture.md, "Addresses: one URL
//! per document").

pub(crate) mod documents;
pub(crate) mod follows;
pub(crate) mod html;
pub mod inbound;
pub(crate) mod objects;
pub(crate) mod outbound;
pub(crate) mod profile;
pub(crate) mod quotes;
pub mod remote_actor;
pub mod trust;

use crate::config::Config;

/// The ActivityStreams public collection.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
/// Posts per outbox page.
pub const OUTBOX_PAGE_SIZE: usize = 20;
/// Reply ids on each page of a post's `replies` collection. Mastodon's
/// fetch-all-replies keeps at most 500 replies of one post per pass
/// (`FetchAllRepliesService::MAX_REPLIES`), and the walk it shares with
/// `FetchRepliesService` stops at the first page that brings it 5 ids
/// (`FetchRepliesService::MAX_REPLIES`, `JsonLdHelper#collection_items`):
/// with 500 a page, everything it would take is on the page the post embeds.
pub const REPLIES_PAGE_SIZE: usize = 500;

/// Largest document the build writes for the fediverse, in bytes.
/// Mastodon fetches at most 1 MiB of a remote document (and refuses the
/// rest: the post, the page, the collection is simply not there); half of
/// that leaves room for servers with smaller limits. Outbox pages and the
/// featured collection embed posts while they fit, and give the others by
/// id (each is then fetched on its own).
pub const DOCUMENT_BUDGET: usize = 512 * 1024;

/// Largest object a post becomes, in bytes: a quarter of what Mastodon
/// fetches, so the `Create` that delivers it is far from any limit, and an
/// outbox page holds two whole. Its text travels twice (`content` and
/// `contentMap`, which is where Mastodon reads its language), so this
/// keeps about 125 KiB of HTML, some 15,000 words; a longer post's object
/// carries its beginning and a link to the whole post.
pub const OBJECT_BUDGET: usize = 256 * 1024;

/// Where every ActivityPub document of the blog lives.
#[derive(Debug, Clone)]
pub struct Urls {
    /// `…/ap/actor.json`, the actor id.
    pub actor: String,
    /// `…/ap/actor.json#main-key`.
    pub key_id: String,
    /// Profile page (`…/`).
    pub profile: String,
    /// Inbox (personal and shared are the same endpoint).
    pub inbox: String,
    /// `…/ap/outbox.json`.
    pub outbox: String,
    /// `…/ap/followers.json`.
    pub followers: String,
    /// `…/ap/following.json`.
    pub following: String,
    /// `…/ap/featured.json`.
    pub featured: String,
    /// `…/ap/featured-tags.json`.
    pub featured_tags: String,
}

impl Urls {
    /// The URLs for a site.
    pub fn new(config: &Config) -> Self {
        let ap = |p: &str| config.url(&format!("/ap/{p}"));
        let actor = ap("actor.json");
        Urls {
            key_id: format!("{actor}#main-key"),
            actor,
            profile: config.url("/"),
            inbox: config
                .fediverse
                .inbox
                .clone()
                .unwrap_or_else(|| config.url("/inbox")),
            outbox: ap("outbox.json"),
            followers: ap("followers.json"),
            following: ap("following.json"),
            featured: ap("featured.json"),
            featured_tags: ap("featured-tags.json"),
        }
    }

    /// Id (and URL) of a post's object.
    pub fn object(config: &Config, slug: &str) -> String {
        config.url(&format!("/ap/posts/{slug}.json"))
    }

    /// The slug of a post object id (`<base_url>/ap/posts/<slug>.json`),
    /// if `id` has that shape with a plain slug (no folders, no dots first).
    pub fn post_slug<'a>(config: &Config, id: &'a str) -> Option<&'a str> {
        let prefix = config.url("/ap/posts/");
        let slug = id.strip_prefix(prefix.as_str())?.strip_suffix(".json")?;
        let plain = !slug.is_empty()
            && !slug.starts_with('.')
            && !slug.contains(['/', '\\', '?', '#', '%']);
        plain.then_some(slug)
    }

    /// Output path of a post's object.
    pub fn object_path(slug: &str) -> String {
        format!("ap/posts/{slug}.json")
    }

    /// Site path of page `n` (2 or more: the post object embeds the
    /// first) of a post's `replies` collection. Under `/ap/`, so every host
    /// configuration serves it as `application/activity+json`.
    pub fn replies_page_path(slug: &str, n: usize) -> String {
        format!("/ap/replies/{slug}/page-{n}.json")
    }

    /// Site path of page `n` of the outbox.
    pub fn outbox_page_path(n: usize) -> String {
        format!("/ap/outbox/page-{n}.json")
    }
}

/// The JSON-LD context of every document: ActivityStreams, the security
/// vocabulary (Fedify ignores `publicKey` without it) and the extension
/// terms we use, mapped as Mastodon maps them (quotes and interaction
/// policies as in Mastodon's `quotes`, `interaction_policies` and
/// `quote_authorizations` context extensions; `canFeature` as FEP-7aa9).
pub fn context() -> serde_json::Value {
    serde_json::json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
            "movedTo": {"@id": "as:movedTo", "@type": "@id"},
            "toot": "http://joinmastodon.org/ns#",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
            "blurhash": "toot:blurhash",
            "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "gts": "https://gotosocial.org/ns#",
            "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
            "canQuote": {"@id": "gts:canQuote", "@type": "@id"},
            "automaticApproval": {"@id": "gts:automaticApproval", "@type": "@id"},
            "manualApproval": {"@id": "gts:manualApproval", "@type": "@id"},
            "canFeature": {"@id": "https://w3id.org/fep/7aa9#canFeature", "@type": "@id"},
            "quote": {"@id": "https://w3id.org/fep/044f#quote", "@type": "@id"},
            "quoteUri": "http://fedibird.com/ns#quoteUri",
            "_misskey_quote": "https://misskey-hub.net/ns#_misskey_quote",
            "quoteAuthorization": {"@id": "https://w3id.org/fep/044f#quoteAuthorization", "@type": "@id"},
            "QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest",
            "QuoteAuthorization": "https://w3id.org/fep/044f#QuoteAuthorization",
            "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
            "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"}
        }
    ])
}

/// Adds `@context` to a document.
pub fn with_context(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(map) = v.as_object_mut() {
        map.insert("@context".to_string(), context());
    }
    v
}

/// Counts bytes instead of keeping them.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Bytes `v` takes as compact JSON, without writing it anywhere.
pub fn json_size(v: &serde_json::Value) -> usize {
    let mut c = Counter(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// Bytes of the file [`to_bytes`] makes of `v` once [`with_context`] adds
/// the `@context` (`v` a non-empty object without one).
pub fn document_size(v: &serde_json::Value) -> usize {
    static CONTEXT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // `"@context":` and the comma after it.
    let context = *CONTEXT.get_or_init(|| json_size(&context()) + "\"@context\":,".len());
    json_size(v) + context + 1
}

/// Compact JSON with a final newline: the bytes of a document.
pub fn to_bytes(v: &serde_json::Value) -> Vec<u8> {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_size_is_the_size_of_the_file() {
        for v in [
            serde_json::json!({"id": "https://e.example/x", "content": "<p class=\"a\">\"q\"\n</p>"}),
            serde_json::json!({"a": [1, 2, {"b": "é✓"}]}),
        ] {
            assert_eq!(document_size(&v), to_bytes(&with_context(v.clone())).len());
        }
    }
}
