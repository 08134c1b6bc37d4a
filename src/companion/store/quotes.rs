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

/// Marks every live stamp of `actor`'s quotes revoked (their account was deleted).
pub fn revoke_actor(conn: &Connection, actor: &str, now_ms: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE quote_stamps SET state = 'revoked', revoked_at = ?2 WHERE actor = ?1 AND state = 'live'",
        params![actor, now_ms],
    )
}

/// A quote the blog asked for (its post quotes someone else's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// The blog's quoting post.
    pub object: String,
    /// The quoted post.
    pub quoted: String,
    /// Its author, who answers.
    pub author: String,
    /// The QuoteRequest's id.
    pub request_id: String,
    /// `requested`, `accepted` or `rejected`.
    pub state: String,
    /// Their stamp, once accepted.
    pub stamp: Option<String>,
}

fn asked_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Asked> {
    Ok(Asked {
        object: r.get(0)?,
        quoted: r.get(1)?,
        author: r.get(2)?,
        request_id: r.get(3)?,
        state: r.get(4)?,
        stamp: r.get(5)?,
    })
}

/// The quote asked for by the blog's post `object`.
pub fn asked(conn: &Connection, object: &str) -> rusqlite::Result<Option<Asked>> {
    conn.query_row(
        "SELECT object, quoted, author, request_id, state, stamp FROM quotes_asked WHERE object = ?1",
        [object],
        asked_row,
    )
    .optional()
}

/// The quote asked for with the QuoteRequest `request_id`.
pub fn asked_by_request(conn: &Connection, request_id: &str) -> rusqlite::Result<Option<Asked>> {
    conn.query_row(
        "SELECT object, quoted, author, request_id, state, stamp FROM quotes_asked WHERE request_id = ?1",
        [request_id],
        asked_row,
    )
    .optional()
}

/// Records that the blog asked (again) to quote `quoted` in `object`.
pub fn ask(conn: &Connection, a: &Asked, now_ms: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO quotes_asked (object, quoted, author, request_id, state, stamp, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'requested', NULL, ?5)
         ON CONFLICT (object) DO UPDATE SET quoted = excluded.quoted, author = excluded.author,
           request_id = excluded.request_id, state = 'requested', stamp = NULL,
           updated_at = excluded.updated_at",
        params![a.object, a.quoted, a.author, a.request_id, now_ms],
    )?;
    Ok(())
}

/// Records the quoted author's answer: their stamp when accepted, `None`
/// when rejected.
pub fn answered(
    conn: &Connection,
    request_id: &str,
    stamp: Option<&str>,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    let state = if stamp.is_some() {
        "accepted"
    } else {
        "rejected"
    };
    Ok(conn.execute(
        "UPDATE quotes_asked SET state = ?2, stamp = ?3, updated_at = ?4 WHERE request_id = ?1",
        params![request_id, state, stamp, now_ms],
    )? > 0)
}

/// The stamps other servers gave the blog's quoting posts: object → stamp.
pub fn authorizations(
    conn: &Connection,
) -> rusqlite::Result<std::collections::BTreeMap<String, String>> {
    let mut stmt = conn.prepare(
        "SELECT object, stamp FROM quotes_asked WHERE state = 'accepted' AND stamp IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
