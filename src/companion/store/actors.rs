//! Remote actors' public keys and inboxes, as last fetched, so most
//! requests verify without a fetch and a deleted account's last key stays
//! known.

use rusqlite::{Connection, OptionalExtension, params};

/// What we know about a remote key and its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownActor {
    /// The `keyId` the key was fetched for (without fragment handling: as sent).
    pub key_id: String,
    /// The key's owner (actor URL).
    pub actor: String,
    /// SPKI PEM.
    pub public_key: String,
    /// Personal inbox, when the fetched document was the actor.
    pub inbox: Option<String>,
    /// Shared inbox, when advertised.
    pub shared_inbox: Option<String>,
    /// `@user@host`, when known.
    pub handle: Option<String>,
    /// When it was fetched (ms).
    pub fetched_at: i64,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KnownActor> {
    Ok(KnownActor {
        key_id: r.get(0)?,
        actor: r.get(1)?,
        public_key: r.get(2)?,
        inbox: r.get(3)?,
        shared_inbox: r.get(4)?,
        handle: r.get(5)?,
        fetched_at: r.get(6)?,
    })
}

const COLUMNS: &str = "key_id, actor, public_key, inbox, shared_inbox, handle, fetched_at";

/// The cached key for a `keyId`.
pub fn by_key_id(conn: &Connection, key_id: &str) -> rusqlite::Result<Option<KnownActor>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM actors WHERE key_id = ?1"),
        [key_id],
        row,
    )
    .optional()
}

/// The newest cached entry for an actor (to find its inbox).
pub fn by_actor(conn: &Connection, actor: &str) -> rusqlite::Result<Option<KnownActor>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM actors WHERE actor = ?1 ORDER BY fetched_at DESC LIMIT 1"),
        [actor],
        row,
    )
    .optional()
}

/// Stores or replaces a fetched key.
pub fn put(conn: &Connection, a: &KnownActor) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO actors (key_id, actor, public_key, inbox, shared_inbox, handle, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (key_id) DO UPDATE SET actor = excluded.actor,
           public_key = excluded.public_key,
           inbox = COALESCE(excluded.inbox, inbox),
           shared_inbox = COALESCE(excluded.shared_inbox, shared_inbox),
           handle = COALESCE(excluded.handle, handle),
           fetched_at = excluded.fetched_at",
        params![
            a.key_id,
            a.actor,
            a.public_key,
            a.inbox,
            a.shared_inbox,
            a.handle,
            a.fetched_at
        ],
    )?;
    Ok(())
}

/// Forgets every key of an actor (its account was deleted).
pub fn forget(conn: &Connection, actor: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM actors WHERE actor = ?1", [actor])
}
