//! Approved quotes of the blog's posts and their stamps (`QuoteAuthorization`
//! documents the companion serves at `/quote-authorizations/<key>`).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// One approved (or revoked) quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StampRow {
    /// Names the stamp's URL.
    pub key: String,
    /// Who quoted.
    pub actor: String,
    /// Their quoting post.
    pub instrument: String,
    /// The blog's post they quote.
    pub object: String,
    /// Their `QuoteRequest`'s id.
    pub request_id: String,
    /// Their inbox (where a revocation goes).
    pub inbox: String,
    /// Still valid, or revoked by the writer.
    pub live: bool,
    /// When it was approved (ms).
    pub created_at: i64,
    /// When it was revoked (ms).
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str =
    "key, actor, instrument, object, request_id, inbox, state, created_at, revoked_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StampRow> {
    Ok(StampRow {
        key: r.get(0)?,
        actor: r.get(1)?,
        instrument: r.get(2)?,
        object: r.get(3)?,
        request_id: r.get(4)?,
        inbox: r.get(5)?,
        live: r.get::<_, String>(6)? == "live",
        created_at: r.get(7)?,
        revoked_at: r.get(8)?,
    })
}

/// Records an approved quote; a stamp that exists already (live or
/// revoked) is left as it is.
pub fn approve(conn: &Connection, s: &StampRow) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO quote_stamps (key, actor, instrument, object, request_id, inbox, state, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'live', ?7)",
        params![s.key, s.actor, s.instrument, s.object, s.request_id, s.inbox, s.created_at],
    )?;
    Ok(())
}

/// The stamp named `key`.
pub fn get(conn: &Connection, key: &str) -> rusqlite::Result<Option<StampRow>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM quote_stamps WHERE key = ?1"),
        [key],
        row,
    )
    .optional()
}

/// The stamps whose key, stamp URL suffix, quoting post or quoter is `who`.
pub fn find(conn: &Connection, who: &str) -> rusqlite::Result<Vec<StampRow>> {
    let key = who.rsplit('/').next().unwrap_or(who);
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM quote_stamps WHERE key = ?1 OR instrument = ?2 OR actor = ?2 ORDER BY created_at"
    ))?;
    let rows = stmt.query_map(params![key, who], row)?;
    rows.collect()
}

/// Every stamp, newest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<StampRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM quote_stamps ORDER BY created_at DESC, key"
    ))?;
    let rows = stmt.query_map([], row)?;
    rows.collect()
}

/// Marks a stamp revoked; false if it was not live.
pub fn revoke(conn: &Connection, key: &str, now_ms: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE quote_stamps SET state = 'revoked', revoked_at = ?2 WHERE key = ?1 AND state = 'live'",
        params![key, now_ms],
    )? > 0)
}
