//! The durable delivery queue: one row per (activity, inbox). Rows are
//! written in the same transaction as the change that causes them, and stay
//! `pending` until an inbox answers, so a crash at any point resends rather
//! than loses (a delivery in flight during a crash may arrive twice).

use rusqlite::{Connection, params};

use crate::companion::api::{DeliveryCounts, HostReport, Progress};

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

/// Stores an outgoing activity (once) and queues it for each inbox (once
/// per inbox). Returns how many deliveries were newly queued.
pub fn enqueue(
    conn: &Connection,
    activity_id: &str,
    body: &str,
    inboxes: &[String],
    publish_id: Option<i64>,
    now_ms: i64,
) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT OR IGNORE INTO outgoing (id, body, created_at, publish_id) VALUES (?1, ?2, ?3, ?4)",
        params![activity_id, body, now_ms, publish_id],
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
    // The writer hears of it (`stoa notifications`).
    conn.execute(
        "INSERT INTO notifications (kind, actor, object, content, created_at)
         SELECT 'delivery_failed', inbox, activity_id, ?2, ?3 FROM deliveries WHERE id = ?1",
        params![id, error, now_ms],
    )?;
    Ok(())
}

/// Counts by state.
pub fn counts(conn: &Connection) -> rusqlite::Result<DeliveryCounts> {
    let mut c = DeliveryCounts::default();
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

/// Progress of the deliveries of one publish, or of all of them.
pub fn progress(conn: &Connection, publish_id: Option<i64>) -> rusqlite::Result<Progress> {
    let mut stmt = conn.prepare(
        "SELECT d.host, d.state, d.attempts, d.next_attempt_at, d.last_error
         FROM deliveries d JOIN outgoing o ON o.id = d.activity_id
         WHERE ?1 IS NULL OR o.publish_id = ?1
         ORDER BY d.host, d.id",
    )?;
    let rows = stmt.query_map([publish_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let per_host = crate::companion::store::followers::count_by_host(conn)?;
    let mut p = Progress::default();
    for row in rows {
        let (host, state, attempts, next, error) = row?;
        if p.hosts.last().is_none_or(|h| h.host != host) {
            p.hosts.push(HostReport {
                host: host.clone(),
                ..HostReport::default()
            });
        }
        let h = p.hosts.last_mut().expect("pushed above");
        p.total += 1;
        match (state.as_str(), attempts) {
            ("delivered", _) => {
                p.delivered += 1;
                h.delivered += 1;
            }
            ("failed", _) => {
                p.failed += 1;
                h.failed += 1;
                h.last_error = error;
            }
            (_, 0) => {
                p.queued += 1;
                h.queued += 1;
            }
            _ => {
                p.retrying += 1;
                h.retrying += 1;
                h.next_attempt_at = Some(h.next_attempt_at.map_or(next, |n| n.min(next)));
                h.last_error = error;
            }
        }
    }
    for h in &mut p.hosts {
        h.followers = per_host.get(&h.host).copied().unwrap_or(0);
        p.followers += h.followers;
        if h.delivered > 0 && h.retrying == 0 && h.failed == 0 && h.queued == 0 {
            p.followers_reached += h.followers;
        }
    }
    Ok(p)
}

/// Makes every pending delivery due now (`stoa deliveries retry`).
pub fn retry_now(conn: &Connection, now_ms: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE deliveries SET next_attempt_at = ?1 WHERE state = 'pending'",
        [now_ms],
    )
}

/// Deliveries given up (`failed`) since `since_ms`.
pub fn failed_since(conn: &Connection, since_ms: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM deliveries WHERE state = 'failed' AND updated_at >= ?1",
        [since_ms],
        |r| r.get(0),
    )
}

/// Forgets finished deliveries (`stoa deliveries purge`).
pub fn purge(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM deliveries WHERE state IN ('delivered', 'failed')",
        [],
    )
}
