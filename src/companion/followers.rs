//! What happens to a follower, with the message their server must get,
//! in one transaction: accept (now or after approval), reject, remove.
//! Used by the companion when a Follow arrives, by its admin API and by
//! `stoa followers` on the server: [`approve`] and [`dismiss`] are the one
//! place that decides what approving or removing someone does.

use rusqlite::Connection;
use serde_json::Value;

use crate::companion::store::followers::{self, FollowState, Follower};
use crate::companion::store::{Store, deliveries, now_ms};
use crate::federation::Urls;
use crate::federation::follows::{Answer, answer};

/// Records the follower as accepted and queues the Accept to their inbox.
pub fn accept(conn: &Connection, urls: &Urls, follower: &Follower) -> rusqlite::Result<()> {
    let mut f = follower.clone();
    f.state = FollowState::Accepted;
    followers::upsert(conn, &f)?;
    followers::accept(conn, &f.actor)?;
    send_answer(conn, urls, Answer::Accept, &f.follow_json, &f.inbox)
}

/// Records the follower as waiting for approval (nothing is sent yet).
pub fn hold(conn: &Connection, follower: &Follower) -> rusqlite::Result<()> {
    let mut f = follower.clone();
    f.state = FollowState::Pending;
    followers::upsert(conn, &f)
}

/// Refuses a Follow that was never stored (a blocked actor).
pub fn refuse(
    conn: &Connection,
    urls: &Urls,
    follow_json: &str,
    inbox: &str,
) -> rusqlite::Result<()> {
    send_answer(conn, urls, Answer::Reject, follow_json, inbox)
}

/// Removes a follower (pending or accepted) and tells their server with a
/// Reject, which Mastodon and others treat as "you no longer follow".
/// False if there was no such follower.
pub fn remove(conn: &Connection, urls: &Urls, actor: &str) -> rusqlite::Result<bool> {
    let Some(f) = followers::get(conn, actor)? else {
        return Ok(false);
    };
    followers::remove(conn, actor)?;
    send_answer(conn, urls, Answer::Reject, &f.follow_json, &f.inbox)?;
    Ok(true)
}

/// What [`approve`] or [`dismiss`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The follower was approved (the Accept is queued).
    Approved(Follower),
    /// They already followed; nothing changed.
    AlreadyFollowing(Follower),
    /// The follower was removed (the Reject is queued).
    Removed(Follower),
    /// Nobody by that handle or actor URL.
    Unknown,
}

/// Approves the follower `who` (`@user@host` or actor URL), in one write
/// transaction with the lookup (the companion may apply an Undo or a newer
/// Follow from the same person meanwhile).
pub fn approve(store: &mut Store, urls: &Urls, who: &str) -> rusqlite::Result<Outcome> {
    let tx = store.transaction()?;
    let Some(f) = followers::find(&tx, who)? else {
        return Ok(Outcome::Unknown);
    };
    if f.state == FollowState::Accepted {
        return Ok(Outcome::AlreadyFollowing(f));
    }
    accept(&tx, urls, &f)?;
    tx.commit()?;
    Ok(Outcome::Approved(f))
}

/// Removes the follower `who` (rejecting a pending one), telling their server.
pub fn dismiss(store: &mut Store, urls: &Urls, who: &str) -> rusqlite::Result<Outcome> {
    let tx = store.transaction()?;
    let Some(f) = followers::find(&tx, who)? else {
        return Ok(Outcome::Unknown);
    };
    remove(&tx, urls, &f.actor)?;
    tx.commit()?;
    Ok(Outcome::Removed(f))
}

fn send_answer(
    conn: &Connection,
    urls: &Urls,
    kind: Answer,
    follow_json: &str,
    inbox: &str,
) -> rusqlite::Result<()> {
    let follow: Value = serde_json::from_str(follow_json).unwrap_or(Value::Null);
    let now = now_ms();
    let activity = answer(urls, kind, &follow, now);
    let id = activity["id"].as_str().unwrap_or_default().to_string();
    let body = String::from_utf8_lossy(&crate::federation::to_bytes(&activity)).into_owned();
    deliveries::enqueue(conn, &id, &body, &[inbox.to_string()], None, now)?;
    Ok(())
}
