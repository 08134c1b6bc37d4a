//! Inbox activity parsing and remote key / actor documents.
//!
//! The input is a request body (bytes, usually JSON). It goes to
//! `federation::inbound::parse`; when it is JSON it is also read as a
//! fetched key document (`remote_actor::read_key`, with key ids taken from
//! the document itself so the matching paths are reached) and as an actor
//! document (`remote_actor::read_endpoints`).
//!
//! Invariants checked besides "never panics":
//! - `parse(bytes)` equals `from_value` of the same JSON, and equals
//!   `parse` of the JSON re-serialized (the result depends on the JSON
//!   value only, not on its spelling);
//! - an accepted activity's `actor` is an http(s) URL (`url_host` is some),
//!   and so is the id of a Create / Update's note;
//! - a key read from a document has a non-empty owner; the inbox, shared
//!   inbox and handle are only taken from the owner's own document, and a
//!   handle is `@user@host` with the document's host;
//! - an actor's endpoints have an http(s) inbox.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use stoa::config::url_host;
use stoa::federation::inbound::{self, Inbound};
use stoa::federation::remote_actor;

fuzz_target!(|data: &[u8]| {
    let parsed = inbound::parse(data);
    let json: Option<Value> = serde_json::from_slice(data).ok();
    match &json {
        Some(v) => {
            assert_eq!(inbound::from_value(v), parsed);
            let respelled = serde_json::to_vec(v).expect("serializing a Value");
            assert_eq!(
                inbound::parse(&respelled),
                parsed,
                "differs after re-serializing"
            );
        }
        None => assert!(matches!(parsed, Err(inbound::InboundError::NotJson(_)))),
    }
    if let Ok(a) = &parsed {
        assert!(
            url_host(&a.actor).is_some(),
            "actor {:?} is not an http(s) URL",
            a.actor
        );
        if let Inbound::Create(n) | Inbound::Update(n) = &a.what {
            assert!(
                url_host(&n.id).is_some(),
                "note id {:?} is not an http(s) URL",
                n.id
            );
        }
    }
    let Some(doc) = json else {
        return;
    };

    // Key documents: try the key ids a real lookup would use.
    let doc_id = doc.get("id").and_then(Value::as_str).unwrap_or("");
    let mut key_ids: Vec<String> = vec![
        doc_id.to_string(),
        format!("{doc_id}#main-key"),
        "https://a.example/users/alice#main-key".to_string(),
    ];
    match doc.get("publicKey") {
        Some(Value::Array(keys)) => key_ids.extend(
            keys.iter()
                .filter_map(|k| k.get("id").and_then(Value::as_str))
                .map(str::to_string),
        ),
        Some(k) => key_ids.extend(k.get("id").and_then(Value::as_str).map(str::to_string)),
        None => {}
    }
    for key_id in &key_ids {
        let Ok(key) = remote_actor::read_key(&doc, key_id) else {
            continue;
        };
        // F1 (docs/reliability.md): an empty owner used to slip through for a bare key.
        assert!(!key.owner.is_empty(), "key {key_id:?} read with an empty owner");
        if key.inbox.is_some() || key.shared_inbox.is_some() || key.handle.is_some() {
            assert_eq!(
                key.owner, doc_id,
                "actor fields taken from a non-owner document"
            );
        }
        if let Some(h) = &key.handle {
            let host = url_host(doc_id).expect("a handle needs the document's host");
            assert!(
                h.starts_with('@') && h.ends_with(&format!("@{host}")),
                "{h:?}"
            );
        }
    }

    if let Some(e) = remote_actor::read_endpoints(&doc) {
        assert!(url_host(&e.inbox).is_some(), "inbox {:?}", e.inbox);
        if let Some(h) = &e.handle {
            let host = url_host(doc_id).expect("a handle needs the actor's host");
            assert!(
                h.starts_with('@') && h.ends_with(&format!("@{host}")),
                "{h:?}"
            );
        }
    }
});
