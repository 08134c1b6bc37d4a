//! The blog's answers to a Follow: `Accept` or `Reject`, embedding the
//! Follow as received (Mastodon matches either form; Misskey would have to
//! fetch a bare id; docs/interop.md, "Followers"), with an id on the
//! blog's host (Misskey requires it).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::federation::{Urls, with_context};

/// Accept or Reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The follow is accepted.
    Accept,
    /// The follow is refused (blocked, or rejected by the writer).
    Reject,
}

/// The answer to `follow` (the Follow activity as received). `nonce` makes
/// the id unique per answer, so a re-follow with a reused Follow id (Misskey
/// does that) gets a fresh Accept.
pub fn answer(urls: &Urls, answer: Answer, follow: &Value, nonce: i64) -> Value {
    let kind = match answer {
        Answer::Accept => "Accept",
        Answer::Reject => "Reject",
    };
    let mut embedded = follow.clone();
    if let Some(o) = embedded.as_object_mut() {
        o.remove("@context");
        o.remove("signature");
    }
    let follow_id = embedded.get("id").and_then(Value::as_str).unwrap_or("");
    let digest = Sha256::digest(format!("{follow_id}\n{nonce}").as_bytes());
    let id = format!(
        "{}#{}/{}",
        urls.actor,
        kind.to_ascii_lowercase(),
        hex::encode(&digest[..12])
    );
    with_context(json!({
        "id": id,
        "type": kind,
        "actor": urls.actor,
        "object": embedded,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_the_follow_and_lives_on_the_blog_host() {
        let config = crate::config::Config::parse(
            "base_url = \"https://blog.example\"\ntitle = \"t\"\n",
            std::path::Path::new("stoa.toml"),
        )
        .unwrap();
        let urls = Urls::new(&config);
        let follow = json!({"@context":"https://www.w3.org/ns/activitystreams","id":"https://m.example/f/1",
            "type":"Follow","actor":"https://m.example/users/a","object":urls.actor});
        let a = answer(&urls, Answer::Accept, &follow, 1);
        assert_eq!(a["type"], "Accept");
        assert_eq!(a["actor"], urls.actor.as_str());
        assert_eq!(a["object"]["id"], "https://m.example/f/1");
        assert!(a["object"].get("@context").is_none());
        assert!(
            a["id"]
                .as_str()
                .unwrap()
                .starts_with("https://blog.example/")
        );
        assert_ne!(a["id"], answer(&urls, Answer::Accept, &follow, 2)["id"]);
        assert_eq!(answer(&urls, Answer::Reject, &follow, 1)["type"], "Reject");
    }
}
