//! Reads a fetched `keyId` document: an actor with `publicKey` (Mastodon,
//! Misskey, snac), a minimal actor served at the key URL (GoToSocial), or a
//! bare key object `{id, owner, publicKeyPem}`. Pure.

use serde_json::Value;

use crate::federation::inbound::id_of;

/// A key and what the document said about its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteKey {
    /// The key's owner (actor URL).
    pub owner: String,
    /// SPKI PEM.
    pub pem: String,
    /// Personal inbox, when the document is the actor.
    pub inbox: Option<String>,
    /// Shared inbox, when advertised.
    pub shared_inbox: Option<String>,
    /// `@user@host`, when the document is the actor.
    pub handle: Option<String>,
}

/// Why a key document is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyDocError {
    /// No key with that id in the document.
    #[error("the document has no public key with id {0}")]
    NoKey(String),
    /// The key names no owner, or an owner other than the actor document.
    #[error("the key {0} does not say which actor owns it")]
    NoOwner(String),
}

/// Finds the key `key_id` in `doc`, fetched from `key_id` without its fragment.
pub fn read_key(doc: &Value, key_id: &str) -> Result<RemoteKey, KeyDocError> {
    let doc_id = doc.get("id").and_then(Value::as_str).unwrap_or("");
    // A bare key object.
    if let Some(pem) = doc.get("publicKeyPem").and_then(Value::as_str) {
        let owner = doc
            .get("owner")
            .and_then(id_of)
            .filter(|o| !o.is_empty())
            .ok_or_else(|| KeyDocError::NoOwner(key_id.to_string()))?;
        if doc_id != key_id && doc_id != key_id.split('#').next().unwrap_or("") {
            return Err(KeyDocError::NoKey(key_id.to_string()));
        }
        return Ok(RemoteKey {
            owner,
            pem: pem.to_string(),
            inbox: None,
            shared_inbox: None,
            handle: None,
        });
    }
    // An actor (or minimal actor) with one or several keys.
    let keys: Vec<&Value> = match doc.get("publicKey") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(k @ Value::Object(_)) => vec![k],
        _ => Vec::new(),
    };
    let key = keys
        .iter()
        .find(|k| k.get("id").and_then(Value::as_str) == Some(key_id))
        .or_else(|| (keys.len() == 1 && key_id == doc_id).then(|| &keys[0]))
        .ok_or_else(|| KeyDocError::NoKey(key_id.to_string()))?;
    let pem = key
        .get("publicKeyPem")
        .and_then(Value::as_str)
        .ok_or_else(|| KeyDocError::NoKey(key_id.to_string()))?;
    let owner = key
        .get("owner")
        .and_then(id_of)
        .unwrap_or_else(|| doc_id.to_string());
    if owner.is_empty() {
        return Err(KeyDocError::NoOwner(key_id.to_string()));
    }
    // The actor's own fields describe the owner only when the document is it.
    let is_owner_doc = owner == doc_id;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let inbox = is_owner_doc.then(|| text(doc.get("inbox"))).flatten();
    let shared_inbox = is_owner_doc
        .then(|| text(doc.get("endpoints").and_then(|e| e.get("sharedInbox"))))
        .flatten();
    let handle = is_owner_doc
        .then(|| {
            let user = doc.get("preferredUsername").and_then(Value::as_str)?;
            let host = crate::config::url_host(doc_id)?;
            Some(format!("@{user}@{host}"))
        })
        .flatten();
    Ok(RemoteKey {
        owner,
        pem: pem.to_string(),
        inbox,
        shared_inbox,
        handle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mastodon_actor() {
        let doc = json!({"id":"https://m.example/users/a","type":"Person","preferredUsername":"a",
            "inbox":"https://m.example/users/a/inbox","endpoints":{"sharedInbox":"https://m.example/inbox"},
            "publicKey":{"id":"https://m.example/users/a#main-key","owner":"https://m.example/users/a","publicKeyPem":"PEM"}});
        let k = read_key(&doc, "https://m.example/users/a#main-key").unwrap();
        assert_eq!(k.owner, "https://m.example/users/a");
        assert_eq!(k.inbox.as_deref(), Some("https://m.example/users/a/inbox"));
        assert_eq!(k.shared_inbox.as_deref(), Some("https://m.example/inbox"));
        assert_eq!(k.handle.as_deref(), Some("@a@m.example"));
        assert_eq!(
            read_key(&doc, "https://m.example/users/a#other-key"),
            Err(KeyDocError::NoKey(
                "https://m.example/users/a#other-key".into()
            ))
        );
    }

    #[test]
    fn gotosocial_minimal_actor_and_bare_key() {
        let minimal = json!({"id":"https://g.example/users/a/main-key","type":"Person",
            "publicKey":{"id":"https://g.example/users/a/main-key","owner":"https://g.example/users/a","publicKeyPem":"PEM"}});
        let k = read_key(&minimal, "https://g.example/users/a/main-key").unwrap();
        assert_eq!(k.owner, "https://g.example/users/a");
        assert_eq!(
            k.inbox, None,
            "the minimal actor does not describe the owner"
        );
        let bare = json!({"id":"https://k.example/keys/1","owner":"https://k.example/u/1","publicKeyPem":"PEM"});
        assert_eq!(
            read_key(&bare, "https://k.example/keys/1").unwrap().owner,
            "https://k.example/u/1"
        );
        let ownerless = json!({"id":"https://k.example/keys/1","publicKeyPem":"PEM"});
        assert!(read_key(&ownerless, "https://k.example/keys/1").is_err());
        // Found by the `activity` fuzz target (docs/reliability.md, F1).
        let empty_owner =
            json!({"id":"https://k.example/keys/1","owner":{"id":""},"publicKeyPem":"PEM"});
        assert!(read_key(&empty_owner, "https://k.example/keys/1").is_err());
    }
}

/// Where an actor receives activities, read from its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Personal inbox.
    pub inbox: String,
    /// Shared inbox, when advertised.
    pub shared_inbox: Option<String>,
    /// `@user@host`, when it has a `preferredUsername`.
    pub handle: Option<String>,
}

/// Reads the inbox of a fetched actor document; `None` if it has none.
pub fn read_endpoints(doc: &Value) -> Option<Endpoints> {
    let id = doc.get("id").and_then(Value::as_str)?;
    let inbox = doc.get("inbox").and_then(Value::as_str)?;
    crate::config::url_host(inbox)?;
    Some(Endpoints {
        inbox: inbox.to_string(),
        shared_inbox: doc
            .get("endpoints")
            .and_then(|e| e.get("sharedInbox"))
            .and_then(Value::as_str)
            .map(str::to_string),
        handle: doc
            .get("preferredUsername")
            .and_then(Value::as_str)
            .zip(crate::config::url_host(id))
            .map(|(u, h)| format!("@{u}@{h}")),
    })
}
