//! What the writer hears about: new followers and unfollows, follow
//! requests, replies, mentions, favourites, boosts, quotes, and deliveries given
//! up. Written in the same transaction as the change they report, so each
//! is recorded exactly once; read by `stoa notifications` and by the
//! notify command's runner.

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

/// One notification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Sequence number (newer is larger).
    pub id: i64,
    /// `follow`, `follow_request`, `unfollow`, `reply`, `mention`, `like`,
    /// `boost`, `quote` or `delivery_failed`.
    pub kind: String,
    /// Who (for a failed delivery: the inbox).
    pub actor: Option<String>,
    /// What about: the post, the reply, or the activity not delivered.
    pub object: Option<String>,
    /// A web page to open, when known.
    pub url: Option<String>,
    /// A reply's cleaned HTML, or why a delivery failed.
    pub content: Option<String>,
    /// Addressed to the public (a reply the blog may show).
    pub public: bool,
    /// When (ms since the epoch).
    pub created_at: i64,
    /// Shown to the writer already.
    pub read: bool,
}

/// Records a notification.
pub fn add(conn: &Connection, n: &Notification) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO notifications (kind, actor, object, url, content, public, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            n.kind,
            n.actor,
            n.object,
            n.url,
            n.content,
            n.public,
            n.created_at
        ],
    )?;
    Ok(())
}

const COLUMNS: &str = "id, kind, actor, object, url, content, public, created_at, read";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notification> {
    Ok(Notification {
        id: r.get(0)?,
        kind: r.get(1)?,
        actor: r.get(2)?,
        object: r.get(3)?,
        url: r.get(4)?,
        content: r.get(5)?,
        public: r.get(6)?,
        created_at: r.get(7)?,
        read: r.get(8)?,
    })
}

/// Notifications, newest first: unread ones, or all with `all`.
pub fn list(conn: &Connection, all: bool, limit: usize) -> rusqlite::Result<Vec<Notification>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE ?1 OR read = 0 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![all, limit as i64], row)?;
    rows.collect()
}

/// Marks every notification up to `id` as read; how many changed.
pub fn mark_read(conn: &Connection, up_to: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE notifications SET read = 1 WHERE id <= ?1 AND read = 0",
        [up_to],
    )
}

/// The oldest notifications the notify command has not received yet.
pub fn unnotified(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Notification>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE notified = 0 ORDER BY id LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], row)?;
    rows.collect()
}

/// Marks a notification as handed to the notify command.
pub fn mark_notified(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute("UPDATE notifications SET notified = 1 WHERE id = ?1", [id])?;
    Ok(())
}

/// Marks everything as handed over (no notify command is configured, so
/// one configured later does not receive the backlog).
pub fn mark_all_notified(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE notifications SET notified = 1 WHERE notified = 0",
        [],
    )
}
