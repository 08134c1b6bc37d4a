//! The blog's objects as last published, and the publishes themselves:
//! what the next `stoa publish` is compared with.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// One published object as the companion knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// Content hash as last published.
    pub hash: String,
    /// Still on the blog, or deleted (its id never comes back).
    pub live: bool,
}

/// Every object ever published, by id.
pub fn all(conn: &Connection) -> rusqlite::Result<BTreeMap<String, Known>> {
    let mut stmt = conn.prepare("SELECT id, hash, state FROM objects")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Known {
                hash: r.get(1)?,
                live: r.get::<_, String>(2)? == "live",
            },
        ))
    })?;
    rows.collect()
}

/// One object as last published, if it ever was.
pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Known>> {
    conn.query_row("SELECT hash, state FROM objects WHERE id = ?1", [id], |r| {
        Ok(Known {
            hash: r.get(0)?,
            live: r.get::<_, String>(1)? == "live",
        })
    })
    .optional()
}

/// The body of a live object as last published.
pub fn body(conn: &Connection, id: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT body FROM objects WHERE id = ?1 AND state = 'live'",
        [id],
        |r| r.get(0),
    )
    .optional()
}

/// Whether anything was ever published.
pub fn any(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM objects)", [], |r| r.get(0))
}

/// Records an object as published with this hash and body.
pub fn put(
    conn: &Connection,
    id: &str,
    hash: &str,
    body: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO objects (id, hash, body, state, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'live', ?4, ?4)
         ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, body = excluded.body,
           state = 'live', updated_at = excluded.updated_at",
        params![id, hash, body, now_ms],
    )?;
    Ok(())
}

/// Marks an object deleted.
pub fn delete(conn: &Connection, id: &str, now_ms: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE objects SET state = 'deleted', updated_at = ?2 WHERE id = ?1",
        params![id, now_ms],
    )?;
    Ok(())
}

/// A small stored fact.
pub fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

/// Stores a small fact.
pub fn set_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// What one publish changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishCounts {
    /// Recorded without sending (the first publish of an archive).
    pub baseline: bool,
    /// New posts.
    pub created: i64,
    /// Edited posts.
    pub updated: i64,
    /// Removed posts.
    pub deleted: i64,
}

/// Records a publish; returns its id.
pub fn record_publish(conn: &Connection, c: &PublishCounts, now_ms: i64) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO publishes (created_at, baseline, created, updated, deleted) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now_ms, c.baseline, c.created, c.updated, c.deleted],
    )?;
    Ok(conn.last_insert_rowid())
}
