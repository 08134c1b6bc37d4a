//! Reads a fetched `keyId` document: an actor with `publicKey` (Mastodon,
//! Misskey, snac), a minimal actor served at the key URL (GoToSocial), or a
//! bare key object `{id, owner, publicKeyPem}`; and proves who owns a key
//! ([`resolve_key`]). Pure: the caller passes the fetching.

use serde_json::Value;

use crate::federation::inbound::id_of;
use crate::federation::trust::same_origin;
use crate::fetch::FetchError;

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
    /// The key claims an owner on another server.
    #[error("the key {key_id} says it belongs to {owner}, which is on another server")]
    ForeignOwner {
        /// The key.
        key_id: String,
        /// The owner it claims.
        owner: String,
    },
    /// The claimed owner's actor document does not list the key.
    #[error("the key {key_id} is not listed by {owner}, the actor it claims as its owner")]
    NotListed {
        /// The key.
        key_id: String,
        /// The owner it claims.
        owner: String,
    },
}

/// Why no proven key could be found for a `keyId`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// A fetch failed.
    #[error("could not fetch the key: {0}")]
    Fetch(#[from] FetchError),
    /// A document did not prove the key.
    #[error("{0}")]
    Doc(#[from] KeyDocError),
}

/// Whether a fetch must check that the document's `id` is the URL fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdCheck {
    /// The key's own URL: GoToSocial answers with a minimal actor whose id
    /// is the actor's, so no check (the owner is fetched next, checked).
    KeyDocument,
    /// The owner's actor: its id must be the URL fetched.
    Owner,
}

/// Finds the key `key_id` and proves its owner the way Mastodon does
/// (`FetchRemoteKeyService`): the key must be listed, with the same PEM,
/// by its owner's own actor document, fetched at the owner's id, and the
/// owner must be on the key's server. A key document on one server that
/// names an actor on another as its owner proves nothing.
///
/// `fetch(url, check)` fetches a document (the fragment aside). For the
/// usual `actor#main-key` this is one fetch: the actor is the key document.
pub fn resolve_key(
    key_id: &str,
    mut fetch: impl FnMut(&str, IdCheck) -> Result<Value, FetchError>,
) -> Result<RemoteKey, LookupError> {
    let key_url = key_id.split('#').next().unwrap_or(key_id);
    let doc = fetch(key_url, IdCheck::KeyDocument)?;
    let claimed = read_key(&doc, key_id)?;
    if !same_origin(&claimed.owner, key_id) {
        return Err(KeyDocError::ForeignOwner {
            key_id: key_id.to_string(),
            owner: claimed.owner,
        }
        .into());
    }
    let doc_id = doc.get("id").and_then(Value::as_str).unwrap_or("");
    let owner_doc = if doc_id == key_url && claimed.owner == doc_id {
        doc // the actor itself, fetched at its own id
    } else {
        fetch(&claimed.owner, IdCheck::Owner)?
    };
    let not_listed = || KeyDocError::NotListed {
        key_id: key_id.to_string(),
        owner: claimed.owner.clone(),
    };
    let listed = read_key(&owner_doc, key_id).map_err(|_| not_listed())?;
    let owner_id = owner_doc.get("id").and_then(Value::as_str).unwrap_or("");
    if owner_id != claimed.owner
        || listed.owner != claimed.owner
        || !same_pem(&listed.pem, &claimed.pem)
    {
        return Err(not_listed().into());
    }
    Ok(listed)
}

/// Two PEMs with the same key, whatever their line breaks.
fn same_pem(a: &str, b: &str) -> bool {
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    squeeze(a) == squeeze(b)
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
    #[test]
    fn an_old_account_points_here_by_moved_to_or_by_its_aliases() {
        use serde_json::json;
        let blog = "https://blog.example/ap/actor.json";
        assert!(super::points_to(&json!({"movedTo": blog}), blog));
        assert!(super::points_to(&json!({"alsoKnownAs": [blog]}), blog));
        assert!(super::points_to(
            &json!({"alsoKnownAs": {"id": blog}}),
            blog
        ));
        assert!(!super::points_to(
            &json!({"movedTo": "https://else.example/u"}),
            blog
        ));
        assert!(!super::points_to(
            &json!({"alsoKnownAs": ["https://else.example/u"]}),
            blog
        ));
        assert!(!super::points_to(&json!({}), blog));
    }

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

    /// Documents by URL, as a server would serve them; counts the fetches.
    fn web(docs: &[Value]) -> impl FnMut(&str, IdCheck) -> Result<Value, FetchError> + '_ {
        move |url: &str, check: IdCheck| {
            let doc = docs
                .iter()
                .find(|d| d["_at"] == url)
                .cloned()
                .ok_or_else(|| FetchError::Status {
                    url: url.to_string(),
                    status: 404,
                })?;
            if check == IdCheck::Owner && doc["id"] != url {
                return Err(FetchError::IdMismatch {
                    url: url.to_string(),
                    id: doc["id"].to_string(),
                });
            }
            Ok(doc)
        }
    }

    fn actor(at: &str, key_id: &str, pem: &str) -> Value {
        json!({"_at": at, "id": at, "type": "Person", "preferredUsername": "a",
            "inbox": format!("{at}/inbox"),
            "publicKey": {"id": key_id, "owner": at, "publicKeyPem": pem}})
    }

    #[test]
    fn a_mastodon_key_is_proven_by_its_actor_in_one_fetch() {
        let docs = [actor(
            "https://m.example/users/a",
            "https://m.example/users/a#main-key",
            "PEM-A",
        )];
        let mut fetches = 0;
        let mut fetch = web(&docs);
        let k = resolve_key("https://m.example/users/a#main-key", |u, c| {
            fetches += 1;
            fetch(u, c)
        })
        .unwrap();
        assert_eq!(k.owner, "https://m.example/users/a");
        assert_eq!(k.inbox.as_deref(), Some("https://m.example/users/a/inbox"));
        assert_eq!(fetches, 1);
    }

    #[test]
    fn a_gotosocial_key_is_proven_by_fetching_its_owner() {
        let owner = "https://g.example/users/a";
        let key_id = "https://g.example/users/a/main-key";
        // GoToSocial's minimal actor at the key URL carries the actor's id.
        let mut minimal = actor(owner, key_id, "PEM-G");
        minimal["_at"] = json!(key_id);
        let docs = [minimal, actor(owner, key_id, "PEM-G")];
        let k = resolve_key(key_id, web(&docs)).unwrap();
        assert_eq!(k.owner, owner);
        assert_eq!(k.inbox.as_deref(), Some("https://g.example/users/a/inbox"));
        let bare = json!({"_at": "https://k.example/keys/1", "id": "https://k.example/keys/1",
            "owner": "https://k.example/u/1", "publicKeyPem": "PEM-K\n"});
        let docs = [
            bare,
            actor("https://k.example/u/1", "https://k.example/keys/1", "PEM-K"),
        ];
        assert_eq!(
            resolve_key("https://k.example/keys/1", web(&docs))
                .unwrap()
                .owner,
            "https://k.example/u/1"
        );
    }

    #[test]
    fn a_key_that_names_someone_else_as_owner_proves_nothing() {
        let alice = "https://a.example/users/alice";
        let alice_doc = actor(alice, &format!("{alice}#main-key"), "PEM-ALICE");
        // A key object on the attacker's server claiming alice as its owner.
        let forged_bare = json!({"_at": "https://evil.example/key", "id": "https://evil.example/key",
            "owner": alice, "publicKeyPem": "PEM-EVIL"});
        // An actor on the attacker's server whose key claims alice.
        let forged_actor = json!({"_at": "https://evil.example/actor", "id": "https://evil.example/actor",
            "type": "Person", "publicKey": {"id": "https://evil.example/actor#k", "owner": alice,
            "publicKeyPem": "PEM-EVIL"}});
        let docs = [alice_doc.clone(), forged_bare, forged_actor];
        for key_id in ["https://evil.example/key", "https://evil.example/actor#k"] {
            assert!(
                matches!(
                    resolve_key(key_id, web(&docs)),
                    Err(LookupError::Doc(KeyDocError::ForeignOwner { .. }))
                ),
                "{key_id}"
            );
        }
        // On alice's own server, a key document alice's actor does not list
        // (or lists with another PEM) proves nothing either.
        let stray = json!({"_at": "https://a.example/keys/9", "id": "https://a.example/keys/9",
            "owner": alice, "publicKeyPem": "PEM-ALICE"});
        let other_pem = json!({"_at": "https://a.example/keys/1", "id": "https://a.example/keys/1",
            "owner": alice, "publicKeyPem": "PEM-OTHER"});
        let mut lists_keys_1 = alice_doc;
        lists_keys_1["publicKey"] = json!([{"id": "https://a.example/keys/1", "owner": alice,
            "publicKeyPem": "PEM-ALICE"}]);
        let docs = [lists_keys_1, stray, other_pem];
        for key_id in ["https://a.example/keys/9", "https://a.example/keys/1"] {
            assert!(
                matches!(
                    resolve_key(key_id, web(&docs)),
                    Err(LookupError::Doc(KeyDocError::NotListed { .. }))
                ),
                "{key_id}"
            );
        }
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

/// An actor's `alsoKnownAs` as ids (servers send a string or a list):
/// the accounts it says are the same person. A Move is accepted only when
/// the new account's list holds the old one.
pub fn also_known_as(doc: &Value) -> Vec<String> {
    match doc.get("alsoKnownAs") {
        Some(Value::Array(items)) => items.iter().filter_map(id_of).collect(),
        Some(one) => id_of(one).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Whether an account document points its followers to `actor`: its
/// `movedTo` names it (Mastodon, GoToSocial after a move), or its
/// `alsoKnownAs` does (snac publishes no `movedTo`: `snac migrate` moves to
/// the account its `alias` names, which it publishes as `alsoKnownAs`).
pub fn points_to(doc: &Value, actor: &str) -> bool {
    doc.get("movedTo").and_then(id_of).as_deref() == Some(actor)
        || also_known_as(doc).iter().any(|a| a == actor)
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
