//! Who follows the blog.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// Whether a follower is waiting for approval or following.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FollowState {
    /// Waits for `stoa followers approve` (manually approved followers).
    Pending,
    /// Follows; gets every post.
    Accepted,
}

impl FollowState {
    fn as_str(self) -> &'static str {
        match self {
            FollowState::Pending => "pending",
            FollowState::Accepted => "accepted",
        }
    }
    fn parse(s: &str) -> FollowState {
        if s == "accepted" {
            FollowState::Accepted
        } else {
            FollowState::Pending
        }
    }
}

/// One follower.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Follower {
    /// Actor URL.
    pub actor: String,
    /// Personal inbox (Accept and Reject go here).
    pub inbox: String,
    /// Shared inbox of their server, if it has one (posts go here).
    pub shared_inbox: Option<String>,
    /// `@user@host`, when known.
    pub handle: Option<String>,
    /// Id of their Follow activity.
    pub follow_id: String,
    /// Their Follow activity as received, embedded in our Accept or Reject.
    #[serde(skip)]
    pub follow_json: String,
    /// Pending or accepted.
    pub state: FollowState,
    /// When they followed (ms since the epoch).
    pub created_at: i64,
    /// The writer's earlier account (`also_known_as`) that had moved to the
    /// blog when they followed: they most likely came with that move.
    pub moved_from: Option<String>,
}

const COLUMNS: &str =
    "actor, inbox, shared_inbox, handle, follow_id, follow_json, state, created_at, moved_from";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Follower> {
    Ok(Follower {
        actor: r.get(0)?,
        inbox: r.get(1)?,
        shared_inbox: r.get(2)?,
        handle: r.get(3)?,
        follow_id: r.get(4)?,
        follow_json: r.get(5)?,
        state: FollowState::parse(&r.get::<_, String>(6)?),
        created_at: r.get(7)?,
        moved_from: r.get(8)?,
    })
}

/// Adds a follower or refreshes an existing one (a repeated Follow keeps the
/// original date and an accepted state).
pub fn upsert(conn: &Connection, f: &Follower) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO followers (actor, inbox, shared_inbox, handle, follow_id, follow_json, state, created_at, moved_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (actor) DO UPDATE SET
           inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,
           handle = COALESCE(excluded.handle, handle),
           moved_from = COALESCE(moved_from, excluded.moved_from),
           follow_id = excluded.follow_id, follow_json = excluded.follow_json,
           state = CASE WHEN state = 'accepted' THEN 'accepted' ELSE excluded.state END",
        params![
            f.actor,
            f.inbox,
            f.shared_inbox,
            f.handle,
            f.follow_id,
            f.follow_json,
            f.state.as_str(),
            f.created_at,
            f.moved_from
        ],
    )?;
    Ok(())
}

/// One follower by actor URL.
pub fn get(conn: &Connection, actor: &str) -> rusqlite::Result<Option<Follower>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM followers WHERE actor = ?1"),
        [actor],
        row,
    )
    .optional()
}

/// Finds a follower by actor URL or by `@user@host` handle (with or without
/// the leading `@`), for the `stoa followers` commands.
pub fn find(conn: &Connection, who: &str) -> rusqlite::Result<Option<Follower>> {
    if let Some(f) = get(conn, who)? {
        return Ok(Some(f));
    }
    let handle = format!("@{}", who.trim_start_matches('@'));
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM followers WHERE lower(handle) = lower(?1)"),
        [handle],
        row,
    )
    .optional()
}

/// Marks a pending follower as accepted; false if there was none pending.
pub fn accept(conn: &Connection, actor: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE followers SET state = 'accepted' WHERE actor = ?1 AND state = 'pending'",
        [actor],
    )? > 0)
}

/// Removes a follower; false if it was not one.
pub fn remove(conn: &Connection, actor: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM followers WHERE actor = ?1", [actor])? > 0)
}

/// Removes the follower whose personal inbox is `inbox` (after a 410 from it).
pub fn remove_by_inbox(conn: &Connection, inbox: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM followers WHERE inbox = ?1", [inbox])
}

/// All followers in one state (or all), oldest first.
pub fn list(conn: &Connection, state: Option<FollowState>) -> rusqlite::Result<Vec<Follower>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM followers WHERE ?1 IS NULL OR state = ?1 ORDER BY created_at, actor"
    ))?;
    let rows = stmt.query_map([state.map(FollowState::as_str)], row)?;
    rows.collect()
}

/// Accepted followers by the host of the inbox posts reach them at (the
/// shared inbox when their server has one): one row per inbox is read, not
/// one per follower, since `stoa publish` asks for it while it watches.
pub fn count_by_host(conn: &Connection) -> rusqlite::Result<HashMap<String, i64>> {
    let mut stmt = conn.prepare(
        "SELECT coalesce(shared_inbox, inbox), count(*) FROM followers
         WHERE state = 'accepted' GROUP BY 1",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut by_host = HashMap::new();
    for row in rows {
        let (inbox, n) = row?;
        if let Some(host) = crate::config::url_host(&inbox) {
            *by_host.entry(host).or_default() += n;
        }
    }
    Ok(by_host)
}

/// How many followers are in a state.
pub fn count(conn: &Connection, state: FollowState) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM followers WHERE state = ?1",
        [state.as_str()],
        |r| r.get(0),
    )
}

/// Followers marked with the earlier account they came after, counted per
/// account (`companion::moves`).
pub fn count_moved_in(
    conn: &Connection,
) -> rusqlite::Result<std::collections::BTreeMap<String, i64>> {
    let mut stmt = conn.prepare(
        "SELECT moved_from, COUNT(*) FROM followers WHERE moved_from IS NOT NULL GROUP BY moved_from",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
