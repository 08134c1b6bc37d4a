//! The durable delivery queue: one row per (activity, inbox). Rows are
//! written in the same transaction as the change that causes them, and stay
//! `pending` until an inbox answers, so a crash at any point resends rather
//! than loses (a delivery in flight during a crash may arrive twice).

use rusqlite::{Connection, params};
use serde::Serialize;

/// A delivery that is due.
#[derive(Debug, Clone)]
pub struct Due {
    /// Row id.
    pub id: i64,
    /// The activity's id.
    pub activity_id: String,
    /// Where to POST it.
    pub inbox: String,
    /// `host[:port]` of the inbox (per-host limits).
    pub host: String,
    /// The activity JSON.
    pub body: String,
    /// Attempts made so far.
    pub attempts: i64,
}

/// Counts by state, for status pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Waiting for a first try or a retry.
    pub pending: i64,
    /// Accepted by the receiving server.
    pub delivered: i64,
    /// Given up.
    pub failed: i64,
}

/// Stores an outgoing activity (once) and queues it for each inbox (once
/// per inbox). Returns how many deliveries were newly queued.
pub fn enqueue(
    conn: &Connection,
    activity_id: &str,
    body: &str,
    inboxes: &[String],
    now_ms: i64,
) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT OR IGNORE INTO outgoing (id, body, created_at) VALUES (?1, ?2, ?3)",
        params![activity_id, body, now_ms],
    )?;
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO deliveries (activity_id, inbox, host, next_attempt_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4, ?4)",
    )?;
    let mut added = 0;
    for inbox in inboxes {
        let host = crate::config::url_host(inbox).unwrap_or_default();
        added += stmt.execute(params![activity_id, inbox, host, now_ms])?;
    }
    Ok(added)
}

/// Pending deliveries whose time has come, oldest first, skipping `busy` ids.
pub fn due(conn: &Connection, now_ms: i64, limit: usize) -> rusqlite::Result<Vec<Due>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, d.activity_id, d.inbox, d.host, o.body, d.attempts
         FROM deliveries d JOIN outgoing o ON o.id = d.activity_id
         WHERE d.state = 'pending' AND d.next_attempt_at <= ?1
         ORDER BY d.next_attempt_at, d.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now_ms, limit as i64], |r| {
        Ok(Due {
            id: r.get(0)?,
            activity_id: r.get(1)?,
            inbox: r.get(2)?,
            host: r.get(3)?,
            body: r.get(4)?,
            attempts: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// When the next pending delivery is due, if any.
pub fn next_due_at(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'",
        [],
        |r| r.get(0),
    )
}

/// The inbox accepted it.
pub fn delivered(conn: &Connection, id: i64, status: u16, now_ms: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, last_status = ?2,
           last_error = NULL, updated_at = ?3 WHERE id = ?1",
        params![id, status, now_ms],
    )?;
    Ok(())
}

/// Try again at `next_ms`.
pub fn retry(
    conn: &Connection,
    id: i64,
    status: Option<u16>,
    error: &str,
    next_ms: i64,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE deliveries SET attempts = attempts + 1, last_status = ?2, last_error = ?3,
           next_attempt_at = ?4, updated_at = ?5 WHERE id = ?1",
        params![id, status, error, next_ms, now_ms],
    )?;
    Ok(())
}

/// Give up on it.
pub fn failed(
    conn: &Connection,
    id: i64,
    status: Option<u16>,
    error: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE deliveries SET state = 'failed', attempts = attempts + 1, last_status = ?2,
           last_error = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, status, error, now_ms],
    )?;
    Ok(())
}

/// Counts by state.
pub fn counts(conn: &Connection) -> rusqlite::Result<Counts> {
    let mut c = Counts::default();
    let mut stmt = conn.prepare("SELECT state, count(*) FROM deliveries GROUP BY state")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (state, n) = row?;
        match state.as_str() {
            "pending" => c.pending = n,
            "delivered" => c.delivered = n,
            _ => c.failed = n,
        }
    }
    Ok(c)
}
