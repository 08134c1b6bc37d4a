//! Quote posts (FEP-044f, as Mastodon 4.5 implements them): the
//! `interactionPolicy` every post carries, the `QuoteAuthorization` stamp
//! the blog gives a post that quotes one of its own, the answers to a
//! `QuoteRequest`, and what a post that quotes someone else carries. Pure:
//! values in, JSON out. The rules and their sources are in
//! `docs/interop.md`, "Quotes".

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::{Config, QuotePolicy};
use crate::federation::{PUBLIC, Urls, with_context};
use crate::text::escape;

/// Site path under which the companion serves quote stamps.
pub const STAMP_PATH: &str = "/quote-authorizations/";

/// The `interactionPolicy` of a post: who may quote it, approved
/// automatically. Mastodon reads `automaticApproval` (a list): the public
/// collection means anyone, the followers collection means followers;
/// "nobody" is written, as Mastodon writes it, as the author alone.
pub fn interaction_policy(urls: &Urls, policy: QuotePolicy) -> Value {
    let who = match policy {
        QuotePolicy::Anyone => PUBLIC,
        QuotePolicy::Followers => urls.followers.as_str(),
        QuotePolicy::Nobody => urls.actor.as_str(),
    };
    json!({"canQuote": {"automaticApproval": [who]}})
}

/// The `interactionPolicy` of the actor: whether others may feature the
/// blog in their collections (Mastodon 4.6 `canFeature`, FEP-7aa9).
pub fn actor_policy(urls: &Urls, can_feature: bool) -> Value {
    let who = if can_feature {
        PUBLIC
    } else {
        urls.actor.as_str()
    };
    json!({"canFeature": {"automaticApproval": [who]}})
}

/// The quote policy a published post object states (see
/// [`interaction_policy`]); an object without one states "nobody", as
/// Mastodon reads it.
pub fn policy_of(urls: &Urls, object: &Value) -> QuotePolicy {
    let approval = &object["interactionPolicy"]["canQuote"]["automaticApproval"];
    let listed: Vec<&str> = match approval {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if listed
        .iter()
        .any(|w| *w == PUBLIC || *w == "as:Public" || *w == "Public")
    {
        QuotePolicy::Anyone
    } else if listed.contains(&urls.followers.as_str()) {
        QuotePolicy::Followers
    } else {
        QuotePolicy::Nobody
    }
}

/// The short name of the stamp for `actor`'s post `instrument`: the same
/// request always gets the same stamp.
pub fn stamp_key(actor: &str, instrument: &str) -> String {
    let digest = Sha256::digest(format!("{actor}\n{instrument}").as_bytes());
    hex::encode(&digest[..16])
}

/// Whether `key` has the shape [`stamp_key`] gives (32 lowercase hex digits).
pub fn is_stamp_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The URL (and id) of a stamp, on the blog's own host: Mastodon refuses a
/// stamp whose id is on another host than its `attributedTo`.
pub fn stamp_url(config: &Config, key: &str) -> String {
    config.url(&format!("{STAMP_PATH}{key}"))
}

/// One approved quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// Its URL (and id).
    pub id: String,
    /// The quoting post.
    pub instrument: String,
    /// The blog's post it quotes.
    pub object: String,
}

/// The `QuoteAuthorization` document served at the stamp's URL.
pub fn authorization(urls: &Urls, stamp: &Stamp) -> Value {
    with_context(json!({
        "id": stamp.id,
        "type": "QuoteAuthorization",
        "attributedTo": urls.actor,
        "interactingObject": stamp.instrument,
        "interactionTarget": stamp.object,
    }))
}

/// What stays at a revoked stamp's URL (answered with 410).
pub fn revoked(stamp_id: &str, deleted: jiff::Timestamp) -> Value {
    with_context(json!({
        "id": stamp_id,
        "type": "Tombstone",
        "formerType": "QuoteAuthorization",
        "deleted": deleted.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }))
}

/// A `QuoteRequest` as the blog answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request's id.
    pub id: String,
    /// Who asks.
    pub actor: String,
    /// The blog's post to be quoted.
    pub object: String,
    /// Their post that quotes it.
    pub instrument: String,
}

/// The request, as embedded in the answer (the instrument by id, as
/// Mastodon's `QuoteRequestSerializer` writes it).
fn embedded(r: &Request) -> Value {
    json!({
        "id": r.id,
        "type": "QuoteRequest",
        "actor": r.actor,
        "object": r.object,
        "instrument": r.instrument,
    })
}

fn answer_id(urls: &Urls, kind: &str, r: &Request, nonce: i64) -> String {
    let digest = Sha256::digest(format!("{}\n{}\n{nonce}", r.id, r.instrument).as_bytes());
    format!(
        "{}#{kind}/quote-requests/{}",
        urls.actor,
        hex::encode(&digest[..12])
    )
}

/// `Accept` of a request, its `result` the stamp's URL.
pub fn accept(urls: &Urls, r: &Request, stamp_id: &str, nonce: i64) -> Value {
    with_context(json!({
        "id": answer_id(urls, "accepts", r, nonce),
        "type": "Accept",
        "actor": urls.actor,
        "to": [r.actor],
        "object": embedded(r),
        "result": stamp_id,
    }))
}

/// `Reject` of a request.
pub fn reject(urls: &Urls, r: &Request, nonce: i64) -> Value {
    with_context(json!({
        "id": answer_id(urls, "rejects", r, nonce),
        "type": "Reject",
        "actor": urls.actor,
        "to": [r.actor],
        "object": embedded(r),
    }))
}

/// `Delete` of a stamp: the quote is revoked (Mastodon then shows the
/// quoting post without the quote).
pub fn delete_stamp(urls: &Urls, stamp_id: &str, to: &str) -> Value {
    with_context(json!({
        "id": format!("{stamp_id}#delete"),
        "type": "Delete",
        "actor": urls.actor,
        "to": [to],
        "object": stamp_id,
    }))
}

/// The id of the `QuoteRequest` the blog sends for its post `object_id`.
pub fn request_id(object_id: &str) -> String {
    format!("{object_id}#quote-request")
}

/// The `QuoteRequest` the blog sends to the author of `quoted`: its post
/// `object` (embedded, as Mastodon accepts an instrument on the actor's
/// host without fetching it) asks to quote theirs.
pub fn request(urls: &Urls, object: &Value, quoted: &str, author: &str) -> Value {
    let mut instrument = object.clone();
    if let Some(o) = instrument.as_object_mut() {
        o.remove("@context");
    }
    let id = object["id"].as_str().unwrap_or_default();
    with_context(json!({
        "id": request_id(id),
        "type": "QuoteRequest",
        "actor": urls.actor,
        "to": [author],
        "object": quoted,
        "instrument": instrument,
    }))
}

/// Whether `stamp` is a valid approval, by `author`, of the blog's post
/// `object` quoting `quoted`: the checks Mastodon's `VerifyQuoteService`
/// makes (type, the stamp on its author's host, the three fields).
pub fn stamp_matches(
    stamp: &Value,
    stamp_url: &str,
    author: &str,
    object: &str,
    quoted: &str,
) -> bool {
    let id_of = |k: &str| stamp.get(k).and_then(crate::federation::inbound::id_of);
    let is_type = match &stamp["type"] {
        Value::String(t) => t == "QuoteAuthorization",
        Value::Array(a) => a.iter().any(|t| t == "QuoteAuthorization"),
        _ => false,
    };
    is_type
        && id_of("id").as_deref() == Some(stamp_url)
        && crate::federation::trust::same_origin(stamp_url, author)
        && id_of("attributedTo").as_deref() == Some(author)
        && id_of("interactingObject").as_deref() == Some(object)
        && id_of("interactionTarget").as_deref() == Some(quoted)
}

/// The paragraph a quoting post ends with, for servers that show neither
/// `quote` nor `quoteUri`: Mastodon hides a `quote-inline` paragraph when
/// it shows the quote itself.
pub fn fallback_paragraph(quoted: &str) -> String {
    let url = escape(quoted);
    format!("<p class=\"quote-inline\">RE: <a href=\"{url}\">{url}</a></p>")
}

/// Sets the quote properties of a post object quoting `quoted`: FEP-044f
/// `quote`, and the older `quoteUri` (Fedibird, Akkoma) and `_misskey_quote`
/// (Misskey and its forks).
pub fn mark_quote(object: &mut Value, quoted: &str) {
    object["quote"] = json!(quoted);
    object["quoteUri"] = json!(quoted);
    object["_misskey_quote"] = json!(quoted);
}

/// The post a quoting object quotes: FEP-044f `quote`, else `quoteUrl`,
/// `quoteUri` or `_misskey_quote` (the order Mastodon reads them in).
pub fn quoted_by(object: &Value) -> Option<String> {
    ["quote", "quoteUrl", "quoteUri", "_misskey_quote"]
        .iter()
        .find_map(|k| object.get(*k).and_then(crate::federation::inbound::id_of))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            "base_url = \"https://blog.example\"\ntitle = \"t\"\n",
            std::path::Path::new("stoa.toml"),
        )
        .expect("config")
    }

    #[test]
    fn policies_round_trip_through_the_object() {
        let urls = Urls::new(&config());
        for p in [
            QuotePolicy::Anyone,
            QuotePolicy::Followers,
            QuotePolicy::Nobody,
        ] {
            let object = json!({"interactionPolicy": interaction_policy(&urls, p)});
            assert_eq!(policy_of(&urls, &object), p);
        }
        assert_eq!(policy_of(&urls, &json!({})), QuotePolicy::Nobody);
    }

    #[test]
    fn stamps_live_on_the_blog_host_and_name_the_three_parties() {
        let c = config();
        let urls = Urls::new(&c);
        let key = stamp_key("https://m.example/u/a", "https://m.example/s/1");
        assert!(is_stamp_key(&key));
        assert!(!is_stamp_key("../etc"));
        let stamp = Stamp {
            id: stamp_url(&c, &key),
            instrument: "https://m.example/s/1".into(),
            object: "https://blog.example/ap/posts/p.json".into(),
        };
        assert!(
            stamp
                .id
                .starts_with("https://blog.example/quote-authorizations/")
        );
        let doc = authorization(&urls, &stamp);
        assert_eq!(doc["type"], "QuoteAuthorization");
        assert_eq!(doc["attributedTo"], urls.actor.as_str());
        assert_eq!(doc["interactingObject"], "https://m.example/s/1");
        assert_eq!(
            doc["interactionTarget"],
            "https://blog.example/ap/posts/p.json"
        );
        let r = Request {
            id: "https://m.example/r/1".into(),
            actor: "https://m.example/u/a".into(),
            object: stamp.object.clone(),
            instrument: stamp.instrument.clone(),
        };
        let a = accept(&urls, &r, &stamp.id, 1);
        assert_eq!(a["result"], stamp.id.as_str());
        assert_eq!(a["object"]["type"], "QuoteRequest");
        assert!(a["id"].as_str().unwrap_or("").starts_with(&urls.actor));
        assert_eq!(reject(&urls, &r, 1)["type"], "Reject");
    }

    #[test]
    fn the_quoted_post_is_read_from_any_of_the_four_properties() {
        let mut o = json!({});
        mark_quote(&mut o, "https://m.example/s/1");
        assert_eq!(quoted_by(&o).as_deref(), Some("https://m.example/s/1"));
        assert_eq!(
            quoted_by(&json!({"_misskey_quote": "https://k.example/n/1"})).as_deref(),
            Some("https://k.example/n/1")
        );
        assert!(fallback_paragraph("https://m.example/s/1?a&b").contains("RE: <a href="));
    }
}
