//! Verified activities between the 202 and their processing. A request is
//! acknowledged only after its row is committed, so a crash loses nothing.

use rusqlite::{Connection, params};

/// One verified activity received over HTTP.
#[derive(Debug, Clone)]
pub struct Received {
    /// SHA-256 of the signature that authenticated it (replay guard).
    pub signature_hash: [u8; 32],
    /// The verified actor.
    pub actor: String,
    /// The raw JSON body.
    pub body: String,
    /// When it arrived (ms).
    pub received_at: i64,
}

/// A queued activity.
#[derive(Debug, Clone)]
pub struct Queued {
    /// Row id.
    pub id: i64,
    /// The verified actor.
    pub actor: String,
    /// The raw JSON body.
    pub body: String,
}

/// How long a signature hash is remembered: the longest a signature can be
/// valid (12 h lifetime plus 1 h skew on each side).
pub const REPLAY_WINDOW_MS: i64 = 14 * 3600 * 1000;

/// Queues one activity unless its signature was seen before (a replay).
/// Returns whether it was queued. Run many in one transaction to commit them
/// together.
pub fn push(conn: &Connection, r: &Received) -> rusqlite::Result<bool> {
    let fresh = conn.execute(
        "INSERT OR IGNORE INTO seen_signatures (hash, received_at) VALUES (?1, ?2)",
        params![&r.signature_hash[..], r.received_at],
    )? > 0;
    if fresh {
        conn.execute(
            "INSERT INTO incoming (actor, body, received_at) VALUES (?1, ?2, ?3)",
            params![r.actor, r.body, r.received_at],
        )?;
    }
    Ok(fresh)
}

/// The oldest queued activities.
pub fn next(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Queued>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, actor, body FROM incoming ORDER BY id LIMIT ?1")?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(Queued {
            id: r.get(0)?,
            actor: r.get(1)?,
            body: r.get(2)?,
        })
    })?;
    rows.collect()
}

/// Removes a processed activity (in the transaction that applied it).
pub fn done(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM incoming WHERE id = ?1", [id])?;
    Ok(())
}

/// How many activities wait.
pub fn backlog(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM incoming", [], |r| r.get(0))
}

/// Forgets signature hashes older than the replay window.
pub fn prune_seen(conn: &Connection, now_ms: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM seen_signatures WHERE received_at < ?1",
        [now_ms - REPLAY_WINDOW_MS],
    )
}
