//! The inbox's trust decision, signatures aside: `inbound::from_value` +
//! `trust::check_ids` on the activity, `remote_actor::resolve_key` on the
//! key id, and the inbox's "the key's owner is the activity's actor".
//!
//! Input layout (JSON), so seeds stay readable:
//!
//! ```text
//! {
//!   "activity": <the inbox POST body>,
//!   "key_id":   "<the signature's keyId>",
//!   "docs":     { "<URL>": <the document a server answers at that URL>, ... }
//! }
//! ```
//!
//! `resolve_key`'s `fetch(url, check)` is served from `docs` like the real
//! client (`fetch::Client::get_document` / `get_json`): the fragment is
//! stripped from the URL, a URL not in `docs` answers 404, and with
//! `IdCheck::Owner` a document whose `id` is not the URL is refused
//! (`FetchError::IdMismatch`). A missing or wrongly typed field stands for
//! an empty one; input that is not JSON is ignored.
//!
//! Invariants checked besides "never panics":
//! - `resolve_key` fetches at most twice: the key URL (`IdCheck::KeyDocument`)
//!   first, then maybe the owner (`IdCheck::Owner`);
//! - whenever `resolve_key` returns a key: the key id is on the owner's
//!   origin; `docs` holds, at the owner's URL, a document whose `id` is the
//!   owner; that document lists the key with the same PEM (whitespace aside)
//!   and that owner: a `publicKey` entry whose id is the key id (or its only
//!   entry, when the key id is the actor's own id, as Mastodon accepts), or,
//!   for a self-owned bare key, the document itself at the key's URL; and the
//!   key's inbox, shared inbox and handle are that document's;
//! - whenever `check_ids` passes: the activity's id, the Follow / Like /
//!   Announce id, the note's id, the Undo's inner id and the Delete's object
//!   are all on the actor's origin (`trust::same_origin`); a note's
//!   `attributedTo` and an Undo's inner actor, when given, are the actor;
//! - when both pass and the key's owner is the activity's actor (the inbox
//!   would accept the request if its signature verifies with that key), the
//!   key id is also on the actor's origin;
//! - `trust::origin` on every URL involved: the origin of an origin is
//!   itself, a URL is on its own origin, `same_origin` is symmetric and is
//!   "both have an origin and they are equal", and `host_allowed` admits the
//!   origin's own host.
//!
//! With `TRUST_FUZZ_VERBOSE` set in the environment, each input's decision is
//! printed to stderr (to check that the seeds reach every path).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use stoa::federation::inbound::{self, Activity, Inbound};
use stoa::federation::remote_actor::{self, IdCheck, RemoteKey};
use stoa::federation::trust;
use stoa::fetch::FetchError;

fn verbose() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| std::env::var_os("TRUST_FUZZ_VERBOSE").is_some())
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let no_docs = Map::new();
    let docs = input
        .get("docs")
        .and_then(Value::as_object)
        .unwrap_or(&no_docs);
    let key_id = input.get("key_id").and_then(Value::as_str).unwrap_or("");
    let activity = input
        .get("activity")
        .map(inbound::from_value)
        .and_then(Result::ok);
    let ids_ok = activity.as_ref().map(trust::check_ids);

    let mut fetches: Vec<(String, IdCheck)> = Vec::new();
    let resolved = remote_actor::resolve_key(key_id, |url: &str, check: IdCheck| {
        fetches.push((url.to_string(), check));
        serve(docs, url, check)
    });

    let key_url = key_id.split('#').next().unwrap_or(key_id);
    assert!(fetches.len() <= 2, "{fetches:?}");
    if let Some((url, check)) = fetches.first() {
        assert_eq!(url.split('#').next(), Some(key_url));
        assert_eq!(*check, IdCheck::KeyDocument);
    }
    if let Some((_, check)) = fetches.get(1) {
        assert_eq!(*check, IdCheck::Owner);
    }

    if let Ok(key) = &resolved {
        proven_by_owner(docs, key_id, key);
    }
    if let (Some(a), Some(Ok(()))) = (&activity, &ids_ok) {
        ids_on_actor_origin(a);
    }
    let accepted = match (&activity, &ids_ok, &resolved) {
        (Some(a), Some(Ok(())), Ok(key)) if key.owner == a.actor => {
            assert!(trust::same_origin(key_id, &a.actor), "{key_id} / {}", a.actor);
            true
        }
        _ => false,
    };
    if verbose() {
        eprintln!(
            "trust: activity={:?} check_ids={:?} resolve_key={:?} accepted={accepted}",
            activity.as_ref().map(|a| &a.what),
            ids_ok,
            resolved.as_ref().map(|k| &k.owner),
        );
    }

    // `origin` properties on every URL involved.
    let mut urls: Vec<&str> = vec![key_id, key_url];
    urls.extend(docs.keys().map(String::as_str));
    urls.extend(
        docs.values()
            .filter_map(|d| d.get("id").and_then(Value::as_str)),
    );
    if let Some(a) = &activity {
        urls.push(a.actor.as_str());
        urls.extend(a.id.as_deref());
        urls.extend(activity_ids(a));
    }
    if let Ok(key) = &resolved {
        urls.push(key.owner.as_str());
    }
    urls.truncate(24);
    for u in &urls {
        origin_properties(u);
    }
    for a in &urls {
        for b in &urls {
            assert_eq!(
                trust::same_origin(a, b),
                trust::same_origin(b, a),
                "{a:?} {b:?}"
            );
            let (oa, ob) = (trust::origin(a), trust::origin(b));
            assert_eq!(trust::same_origin(a, b), oa.is_some() && oa == ob);
        }
    }
});

/// A document served from `docs` as `fetch::Client` would.
fn serve(docs: &Map<String, Value>, url: &str, check: IdCheck) -> Result<Value, FetchError> {
    let url = url.split('#').next().unwrap_or(url);
    let doc = docs.get(url).cloned().ok_or_else(|| FetchError::Status {
        url: url.to_string(),
        status: 404,
    })?;
    if check == IdCheck::Owner {
        let id = doc.get("id").and_then(Value::as_str).unwrap_or("");
        if id != url {
            return Err(FetchError::IdMismatch {
                url: url.to_string(),
                id: id.to_string(),
            });
        }
    }
    Ok(doc)
}

fn squeeze(pem: &str) -> String {
    pem.split_whitespace().collect()
}

/// A key returned by `resolve_key` is listed, with its PEM, by its owner's
/// own document in `docs`.
fn proven_by_owner(docs: &Map<String, Value>, key_id: &str, key: &RemoteKey) {
    let owner = key.owner.as_str();
    assert!(
        trust::same_origin(key_id, owner),
        "key {key_id:?} is not on the origin of its owner {owner:?}"
    );
    let owner_doc = docs
        .get(owner)
        .unwrap_or_else(|| panic!("no document at the owner's URL {owner:?}"));
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    assert_eq!(
        str_of(owner_doc, "id").as_deref(),
        Some(owner),
        "the owner's document has another id"
    );
    let key_url = key_id.split('#').next().unwrap_or(key_id);
    let pem = squeeze(&key.pem);
    let listed = if let Some(top) = owner_doc.get("publicKeyPem").and_then(Value::as_str) {
        // A self-owned bare key: the owner's document is the key itself.
        (owner == key_id || owner == key_url)
            && squeeze(top) == pem
            && owner_doc.get("owner").and_then(inbound::id_of).as_deref() == Some(owner)
    } else {
        let entries: Vec<&Value> = match owner_doc.get("publicKey") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(k @ Value::Object(_)) => vec![k],
            _ => Vec::new(),
        };
        entries.iter().any(|e| {
            let id_matches = str_of(e, "id").as_deref() == Some(key_id)
                || (key_id == owner && entries.len() == 1);
            let owner_matches = e
                .get("owner")
                .and_then(inbound::id_of)
                .is_none_or(|o| o == owner);
            id_matches
                && owner_matches
                && e.get("publicKeyPem")
                    .and_then(Value::as_str)
                    .is_some_and(|p| squeeze(p) == pem)
        })
    };
    assert!(
        listed,
        "the key {key_id:?} is not listed with its PEM by its owner's document {owner_doc}"
    );
    // What the key says about its owner comes from the owner's document.
    if key.inbox.is_some() {
        assert_eq!(key.inbox, str_of(owner_doc, "inbox"));
    }
    if key.shared_inbox.is_some() {
        let shared = owner_doc
            .get("endpoints")
            .and_then(|e| e.get("sharedInbox"))
            .and_then(Value::as_str)
            .map(str::to_string);
        assert_eq!(key.shared_inbox, shared);
    }
    if let Some(h) = &key.handle {
        let user = str_of(owner_doc, "preferredUsername").expect("a handle needs a username");
        assert!(h.starts_with(&format!("@{user}@")), "{h:?}");
    }
}

/// Every id an activity names besides its own id and actor.
fn activity_ids(a: &Activity) -> Vec<&str> {
    match &a.what {
        Inbound::Follow { id, .. } | Inbound::Like { id, .. } | Inbound::Announce { id, .. } => {
            vec![id]
        }
        Inbound::Create(n) | Inbound::Update(n) => {
            let mut v = vec![n.id.as_str()];
            v.extend(n.attributed_to.as_deref());
            v
        }
        Inbound::Undo(u) => u.id.iter().chain(&u.actor).map(String::as_str).collect(),
        Inbound::Delete { object } => vec![object],
        Inbound::QuoteRequest(q) => {
            let mut v = vec![q.id.as_str(), q.instrument.id.as_str()];
            v.extend(q.instrument.attributed_to.as_deref());
            v
        }
        Inbound::Answer { result, .. } => result.iter().map(String::as_str).collect(),
        Inbound::Other { .. } => Vec::new(),
    }
}

/// What `check_ids` passing promises.
fn ids_on_actor_origin(a: &Activity) {
    let on = |what: &str, id: &str| {
        assert!(
            trust::same_origin(id, &a.actor),
            "{what} {id:?} is not on the origin of the actor {:?}",
            a.actor
        );
    };
    on("actor", &a.actor);
    if let Some(id) = &a.id {
        on("id", id);
    }
    match &a.what {
        Inbound::Follow { id, .. } | Inbound::Like { id, .. } | Inbound::Announce { id, .. } => {
            on("id", id)
        }
        Inbound::Create(n) | Inbound::Update(n) => {
            on("note id", &n.id);
            if let Some(author) = &n.attributed_to {
                assert_eq!(author, &a.actor, "a note attributed to someone else");
            }
        }
        Inbound::Undo(u) => {
            if let Some(id) = &u.id {
                on("undone id", id);
            }
            if let Some(inner) = &u.actor {
                assert_eq!(inner, &a.actor, "an Undo of someone else's activity");
            }
        }
        Inbound::Delete { object } => on("deleted object", object),
        Inbound::QuoteRequest(q) => {
            on("quote request id", &q.id);
            on("quoting post", &q.instrument.id);
            if let Some(author) = &q.instrument.attributed_to {
                assert_eq!(author, &a.actor, "a quoting post by someone else");
            }
        }
        Inbound::Answer { result, .. } => {
            if let Some(r) = result {
                on("answer result", r);
            }
        }
        Inbound::Other { .. } => {}
    }
}

/// `origin` is idempotent, a URL is on its own origin, and the Host check
/// admits the origin's own host.
fn origin_properties(url: &str) {
    let Some(o) = trust::origin(url) else {
        assert!(!trust::same_origin(url, url));
        return;
    };
    assert_eq!(
        trust::origin(&o).as_deref(),
        Some(o.as_str()),
        "the origin {o:?} of {url:?} is not its own origin"
    );
    assert!(trust::same_origin(url, &o), "{url:?} is not on its origin {o:?}");
    assert_eq!(o, o.to_ascii_lowercase());
    let (scheme, authority) = o.split_once("://").expect("an origin has a scheme");
    if authority == authority.trim() {
        assert!(
            trust::host_allowed(authority, scheme, &[url.to_string()]),
            "Host {authority:?} refused for {url:?}"
        );
    }
}
