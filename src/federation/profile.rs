//! The blog as an account: the actor (`Person`), WebFinger, host-meta,
//! NodeInfo, and the collections a profile links to.

use serde_json::{Value, json};

use crate::config::Config;
use crate::content::tag_names;
use crate::federation::{Urls, with_context};
use crate::text::escape;

/// What the actor document needs besides the configuration.
pub struct Profile<'a> {
    /// Site settings.
    pub config: &'a Config,
    /// Document URLs.
    pub urls: &'a Urls,
    /// SPKI PEM of the actor key.
    pub public_key_pem: &'a str,
    /// Account creation date (RFC 3339).
    pub published: &'a str,
}

/// Media type from a file name, for `icon` and attachments.
pub fn media_type(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    match crate::content_types::for_path(path) {
        t if t.starts_with("image/") || t.starts_with("video/") || t.starts_with("audio/") => t,
        _ => "application/octet-stream",
    }
}

fn image(config: &Config, src: &str) -> Value {
    let url = if src.contains("://") {
        src.to_string()
    } else {
        config.url(&format!("/{}", src.trim_start_matches('/')))
    };
    json!({"type": "Image", "mediaType": media_type(&url), "url": url})
}

/// Profile text as HTML paragraphs.
fn bio_html(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", escape(p).replace('\n', "<br>")))
        .collect()
}

/// The actor: everything Mastodon, GoToSocial and Misskey read.
pub fn actor(p: &Profile<'_>) -> Value {
    let c = p.config;
    let f = &c.fediverse;
    let u = p.urls;
    let bio = f.bio.clone().unwrap_or_else(|| c.description.clone());
    let fields: Vec<Value> = c
        .links
        .iter()
        .map(|l| {
            let shown = l
                .url
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/');
            json!({
                "type": "PropertyValue",
                "name": l.name,
                "value": format!("<a href=\"{}\" rel=\"me nofollow noopener noreferrer\" target=\"_blank\">{}</a>", escape(&l.url), escape(shown)),
            })
        })
        .collect();
    let domains = if f.attribution_domains.is_empty() {
        vec![f.host.split(':').next().unwrap_or(&f.host).to_string()]
    } else {
        f.attribution_domains.clone()
    };
    let mut v = json!({
        "id": u.actor,
        "type": "Person",
        "preferredUsername": f.username,
        "name": f.display_name.clone().unwrap_or_else(|| c.title.clone()),
        "summary": bio_html(&bio),
        "url": u.profile,
        "inbox": u.inbox,
        "outbox": u.outbox,
        "followers": u.followers,
        "following": u.following,
        "featured": u.featured,
        "featuredTags": u.featured_tags,
        "endpoints": {"sharedInbox": u.inbox},
        "publicKey": {"id": u.key_id, "owner": u.actor, "publicKeyPem": p.public_key_pem},
        "attachment": fields,
        "manuallyApprovesFollowers": f.manually_approves_followers,
        "discoverable": f.discoverable,
        "indexable": f.indexable,
        "published": p.published,
        "alsoKnownAs": f.also_known_as,
        "attributionDomains": domains,
        "interactionPolicy": crate::federation::quotes::actor_policy(u, f.can_feature),
        "tag": [],
    });
    if let Some(a) = &f.avatar {
        v["icon"] = image(c, a);
    }
    if let Some(h) = &f.header {
        v["image"] = image(c, h);
    }
    if let Some(m) = &f.moved_to {
        v["movedTo"] = json!(m);
    }
    with_context(v)
}

/// WebFinger answer (a static file: the query is ignored, one user per host).
/// The self link equals the actor id byte for byte.
pub fn webfinger(c: &Config, u: &Urls) -> Value {
    json!({
        "subject": format!("acct:{}@{}", c.fediverse.username, c.fediverse.host),
        "aliases": [u.actor, u.profile],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": u.actor},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": u.profile},
        ]
    })
}

/// host-meta, for servers that look WebFinger up through it.
pub fn host_meta(c: &Config) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  <Link rel=\"lrdd\" template=\"{}/.well-known/webfinger?resource={{uri}}\"/>\n</XRD>\n",
        crate::text::xml_escape(&c.base_url)
    )
}

/// NodeInfo discovery document.
pub fn nodeinfo_discovery(c: &Config) -> Value {
    json!({"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": c.url("/nodeinfo/2.1.json")}]})
}

/// NodeInfo 2.1 (no clock-dependent numbers, so rebuilds stay identical).
pub fn nodeinfo(c: &Config, posts: usize) -> Value {
    json!({
        "version": "2.1",
        "software": {"name": "stoa", "version": env!("CARGO_PKG_VERSION"), "homepage": c.url("/")},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0", "rss2.0"]},
        "openRegistrations": false,
        "usage": {"users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1}, "localPosts": posts},
        "metadata": {"nodeName": c.title, "nodeDescription": c.description}
    })
}

/// A collection known only by its size (followers, following).
pub fn counted_collection(id: &str, total: usize) -> Value {
    with_context(json!({"id": id, "type": "OrderedCollection", "totalItems": total}))
}

/// Tags featured on the profile.
pub fn featured_tags(c: &Config, u: &Urls) -> Value {
    let items: Vec<Value> = c
        .fediverse
        .featured_tags
        .iter()
        .filter_map(|t| {
            let path = tag_names::page_path(&tag_names::slug(t));
            let name = tag_names::hashtag(t)?;
            Some(json!({"type": "Hashtag", "href": c.url(&path), "name": format!("#{name}")}))
        })
        .collect();
    with_context(
        json!({"id": u.featured_tags, "type": "Collection", "totalItems": items.len(), "items": items}),
    )
}
