//! The activities `stoa publish` sends: Create for a new post (the same
//! activity the outbox lists), Update for an edit and for a changed profile,
//! Delete with a Tombstone for a removed post, and Move (`stoa move`). Pure. Ids are derived from
//! the object and its content hash, so publishing the same thing twice
//! yields the same ids and the delivery queue sends nothing twice.

use serde_json::{Value, json};

use crate::federation::{PUBLIC, Urls, objects, with_context};

/// `Create` of a new post.
pub fn create(urls: &Urls, object: &Value) -> Value {
    with_context(objects::create(urls, without_context(object)))
}

/// `Update` of an edited post (its `updated` must be later than before;
/// `stoa publish` sees to that) or of the profile (`object` is the actor).
pub fn update(urls: &Urls, object: &Value, hash: &str) -> Value {
    let object = without_context(object);
    let id = format!(
        "{}#update-{}",
        object["id"].as_str().unwrap_or_default(),
        short(hash)
    );
    let (to, cc) = if object["type"] == "Person" {
        (json!([PUBLIC]), json!([urls.followers]))
    } else {
        (object["to"].clone(), object["cc"].clone())
    };
    with_context(json!({
        "id": id,
        "type": "Update",
        "actor": urls.actor,
        "to": to,
        "cc": cc,
        "object": object,
    }))
}

/// `Delete` of a removed post, with a Tombstone.
pub fn delete(urls: &Urls, object_id: &str) -> Value {
    with_context(json!({
        "id": format!("{object_id}#delete"),
        "type": "Delete",
        "actor": urls.actor,
        "to": [PUBLIC],
        "cc": [urls.followers],
        "object": {"id": object_id, "type": "Tombstone"},
    }))
}

/// `Move` of the blog's account to `target` (`stoa move`), as Mastodon
/// sends it: `object` is the blog's own actor, `target` the new account,
/// whose `alsoKnownAs` must list the blog (receivers check it). The id
/// depends on the target only, so a repeated `stoa move` queues nothing new.
pub fn move_to(urls: &Urls, target: &str) -> Value {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(target.as_bytes()));
    with_context(json!({
        "id": format!("{}#move-{}", urls.actor, short(&digest)),
        "type": "Move",
        "actor": urls.actor,
        "object": urls.actor,
        "target": target,
        "to": [urls.followers],
    }))
}

/// Who a post names besides the followers: mentioned actors and the author
/// of the post it replies to (its URL; the companion finds the author).
pub fn extra_recipients(object: &Value) -> (Vec<String>, Option<String>) {
    let mentions = match object.get("tag") {
        Some(Value::Array(tags)) => tags
            .iter()
            .filter(|t| t["type"] == "Mention")
            .filter_map(|t| t["href"].as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let in_reply_to = object["inReplyTo"].as_str().map(str::to_string);
    (mentions, in_reply_to)
}

fn without_context(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("@context");
    }
    v
}

fn short(hash: &str) -> &str {
    hash.get(..16).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> Urls {
        let c = crate::config::Config::parse(
            "base_url = \"https://blog.example\"\ntitle = \"t\"\n",
            std::path::Path::new("stoa.toml"),
        )
        .unwrap();
        Urls::new(&c)
    }

    #[test]
    fn ids_follow_the_object_and_its_content() {
        let u = urls();
        let note = json!({"@context": "x", "id": "https://blog.example/ap/posts/a.json", "type": "Note",
            "to": [PUBLIC], "cc": [u.followers], "published": "2026-01-01T00:00:00Z",
            "tag": [{"type": "Mention", "href": "https://m.example/users/b"}, {"type": "Hashtag"}],
            "inReplyTo": "https://m.example/statuses/1"});
        let c = create(&u, &note);
        assert_eq!(c["id"], "https://blog.example/ap/posts/a.json#create");
        assert!(c["object"].get("@context").is_none());
        assert!(c.get("@context").is_some());
        let up = update(&u, &note, "abcdef0123456789ffff");
        assert_eq!(
            up["id"],
            "https://blog.example/ap/posts/a.json#update-abcdef0123456789"
        );
        assert_eq!(up["cc"], json!([u.followers]));
        let d = delete(&u, "https://blog.example/ap/posts/a.json");
        assert_eq!(d["object"]["type"], "Tombstone");
        let m = move_to(&u, "https://new.example/users/ada");
        assert_eq!(m["type"], "Move");
        assert_eq!(m["object"], u.actor);
        assert_eq!(m["target"], "https://new.example/users/ada");
        assert!(
            m["id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}#move-", u.actor))
        );
        assert_eq!(m["id"], move_to(&u, "https://new.example/users/ada")["id"]);
        assert_ne!(
            m["id"],
            move_to(&u, "https://other.example/users/ada")["id"]
        );
        let (mentions, reply) = extra_recipients(&note);
        assert_eq!(mentions, vec!["https://m.example/users/b"]);
        assert_eq!(reply.as_deref(), Some("https://m.example/statuses/1"));
    }
}
