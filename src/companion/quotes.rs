//! What revoking an approved quote does, in one transaction: the stamp
//! stops being valid (its URL answers 410 Gone), the quote leaves the
//! blog's conversation, and a `Delete` of the stamp is queued to the
//! quoting author's server, which then shows their post without the
//! quote. The one place that decides it, behind the admin API that
//! `stoa quotes revoke` calls.

use crate::companion::store::quotes::{self, StampRow};
use crate::companion::store::{Store, deliveries, interactions, now_ms};
use crate::config::Config;
use crate::federation::{Urls, quotes as documents, to_bytes};

/// What [`revoke`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoke {
    /// Revoked now; the Delete is queued.
    Revoked(StampRow),
    /// It was revoked before; nothing changed.
    AlreadyRevoked(StampRow),
    /// No quote has this quoting post or author.
    Unknown,
    /// The URL names this many quotes (an author's, say): give one post.
    Ambiguous(usize),
}

/// Revokes the quote `who` names: the quoting post's id, the stamp's URL,
/// or, when they quoted once, the quoting author.
pub fn revoke(
    store: &mut Store,
    config: &Config,
    urls: &Urls,
    who: &str,
) -> rusqlite::Result<Revoke> {
    // Read and change in one write transaction: the inbox may record the
    // same quote again meanwhile.
    let tx = store.transaction()?;
    let found = quotes::find(&tx, who)?;
    let q = match found.as_slice() {
        [one] => one.clone(),
        [] => return Ok(Revoke::Unknown),
        more => return Ok(Revoke::Ambiguous(more.len())),
    };
    if !q.live {
        return Ok(Revoke::AlreadyRevoked(q));
    }
    let now = now_ms();
    quotes::revoke(&tx, &q.key, now)?;
    interactions::remove(&tx, &q.instrument, &q.actor)?;
    let stamp = documents::stamp_url(config, &q.key);
    let delete = documents::delete_stamp(urls, &stamp, &q.actor);
    let id = delete["id"].as_str().unwrap_or_default().to_string();
    let body = String::from_utf8_lossy(&to_bytes(&delete)).into_owned();
    deliveries::enqueue(&tx, &id, &body, std::slice::from_ref(&q.inbox), None, now)?;
    tx.commit()?;
    Ok(Revoke::Revoked(q))
}
