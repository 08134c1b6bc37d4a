//! Account migration, both ways (docs/interop.md, "Moving accounts").
//!
//! **Out** (`stoa move`): the publish that carries the profile with
//! `movedTo` also queues a `Move` to every follower's server, a little
//! after the Update of the profile; from then on Follows are refused, as
//! Mastodon refuses them for a moved account. `stoa move --cancel` drops the
//! Move deliveries that have not arrived yet.
//!
//! **In**: a Follow carries no mark of the Move that caused it, and the
//! Move itself goes to the old account's followers, not to the blog. What
//! the companion can know: whether an earlier account of the writer
//! (`also_known_as`) now points to the blog
//! ([`remote_actor::points_to`]). It looks when a Follow
//! arrives (at most once a minute per account), records when it first saw
//! the move, and marks followers who arrive within [`MOVE_IN_WINDOW_MS`] of
//! that with the old account, so `stoa followers` can say who came after the
//! move. It is a match in time, and says so; it never claims more.

use rusqlite::{Connection, params};

use crate::companion::App;
use crate::companion::api::{MoveCancelled, MoveOrder};
use crate::companion::store::deliveries;
use crate::companion::store::objects::{meta, set_meta};
use crate::federation::{Urls, outbound, remote_actor};

/// How long after the companion first saw an earlier account's move a new
/// follower counts as having come with it: servers process a Move at once,
/// but a server that was down retries its deliveries for days (Mastodon's
/// schedule spans about two and a half days; a week leaves room).
pub const MOVE_IN_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;

/// Fewest milliseconds between two looks at the same earlier account.
const RECHECK_MS: i64 = 60 * 1000;

const MOVED_TO: &str = "moved_to";
const MOVE_ACTIVITY: &str = "move_activity";
const MOVE_TARGET: &str = "move_target";

/// Queues the `Move` to `inboxes` (the followers'), due `delay_secs` (at
/// least one) after `now`, so it leaves after the Update of the profile
/// queued in the same transaction; records it for `--cancel`. Returns how
/// many deliveries were queued (none when the same Move was queued before).
pub fn announce(
    conn: &Connection,
    urls: &Urls,
    order: &MoveOrder,
    inboxes: &std::collections::BTreeSet<String>,
    publish_id: i64,
    now_ms: i64,
) -> rusqlite::Result<usize> {
    let activity = outbound::move_to(urls, &order.target);
    let id = activity["id"].as_str().unwrap_or_default().to_string();
    let body = String::from_utf8_lossy(&crate::federation::to_bytes(&activity)).into_owned();
    let due = now_ms.saturating_add(i64::try_from(order.delay_secs.max(1) * 1000).unwrap_or(0));
    let to: Vec<String> = inboxes.iter().cloned().collect();
    let queued = deliveries::enqueue(conn, &id, &body, &to, Some(publish_id), due)?;
    set_meta(conn, MOVE_ACTIVITY, &id)?;
    set_meta(conn, MOVE_TARGET, &order.target)?;
    Ok(queued)
}

/// Records where the published profile says the blog moved to (`None`: it
/// has not moved, recorded as empty), which decides whether Follows are
/// refused.
pub fn record_profile(conn: &Connection, moved_to: Option<&str>) -> rusqlite::Result<()> {
    set_meta(conn, MOVED_TO, moved_to.unwrap_or(""))
}

/// The account the blog moved to, as last published; before any publish
/// said, the companion's own stoa.toml (`moved_to`).
pub fn moved_to(app: &App, conn: &Connection) -> rusqlite::Result<Option<String>> {
    Ok(match meta(conn, MOVED_TO)? {
        Some(published) => Some(published).filter(|t| !t.is_empty()),
        None => app.config.fediverse.moved_to.clone(),
    })
}

/// Drops the deliveries of the recorded Move that have not arrived yet.
pub fn cancel(conn: &Connection) -> rusqlite::Result<MoveCancelled> {
    let Some(activity) = meta(conn, MOVE_ACTIVITY)? else {
        return Ok(MoveCancelled::default());
    };
    let delivered: i64 = conn.query_row(
        "SELECT COUNT(*) FROM deliveries WHERE activity_id = ?1 AND state = 'delivered'",
        [&activity],
        |r| r.get(0),
    )?;
    let cancelled = conn.execute(
        "DELETE FROM deliveries WHERE activity_id = ?1 AND state = 'pending'",
        params![activity],
    )?;
    let target = meta(conn, MOVE_TARGET)?;
    for key in [MOVE_ACTIVITY, MOVE_TARGET] {
        conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    }
    Ok(MoveCancelled {
        target,
        cancelled: i64::try_from(cancelled).unwrap_or(i64::MAX),
        delivered,
    })
}

/// The writer's earlier account that had moved to the blog shortly before
/// now, if any (see the module comment). Network: fetches an earlier
/// account's actor when its move has not been seen yet, at most once a
/// minute each. Call outside a transaction.
pub fn arrived_with_move(app: &App, now_ms: i64) -> Option<String> {
    for old in &app.config.fediverse.also_known_as {
        let seen_key = format!("move_in_seen {old}");
        let checked_key = format!("move_in_checked {old}");
        let (seen, checked) = {
            let store = app.lock_store();
            (
                meta(store.conn(), &seen_key).ok().flatten(),
                meta(store.conn(), &checked_key).ok().flatten(),
            )
        };
        let seen = match seen.and_then(|s| s.parse::<i64>().ok()) {
            Some(t) => t,
            None => {
                let recent = checked
                    .and_then(|c| c.parse::<i64>().ok())
                    .is_some_and(|c| now_ms - c < RECHECK_MS);
                if recent {
                    continue;
                }
                let moved_here = match app.client.get_json(old) {
                    Ok(doc) => remote_actor::points_to(&doc, &app.urls.actor),
                    Err(e) => {
                        tracing::warn!(account = %old, error = %e, "cannot fetch an earlier account of the blog");
                        false
                    }
                };
                let store = app.lock_store();
                let _ = set_meta(store.conn(), &checked_key, &now_ms.to_string());
                if !moved_here {
                    continue;
                }
                tracing::info!(account = %old, "an earlier account moved to the blog");
                let _ = set_meta(store.conn(), &seen_key, &now_ms.to_string());
                now_ms
            }
        };
        if now_ms - seen <= MOVE_IN_WINDOW_MS {
            return Some(old.clone());
        }
    }
    None
}
