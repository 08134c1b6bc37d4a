//! The people who replied to, favourited or boosted the blog's posts: the
//! name, handle and small avatar shown beside their interactions, fetched
//! once (and again after a day) from their actor document.

use rusqlite::{Connection, OptionalExtension, params};

/// How long a fetched profile is trusted before it is fetched again (ms).
pub const REFRESH_MS: i64 = 24 * 3600 * 1000;

/// One person, as last fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Actor id.
    pub actor: String,
    /// Display name (plain text).
    pub name: Option<String>,
    /// `@user@host`.
    pub handle: Option<String>,
    /// Profile page (same origin as the actor).
    pub url: Option<String>,
    /// The avatar as a small square PNG, when it could be fetched.
    pub avatar: Option<Vec<u8>>,
    /// Approved once by the writer (`stoa replies approve`).
    pub approved: bool,
    /// When the profile was fetched (ms).
    pub fetched_at: i64,
}

/// The stored profile of `actor`.
pub fn get(conn: &Connection, actor: &str) -> rusqlite::Result<Option<Person>> {
    conn.query_row(
        "SELECT actor, name, handle, url, avatar, approved, fetched_at FROM people WHERE actor = ?1",
        [actor],
        |r| {
            Ok(Person {
                actor: r.get(0)?,
                name: r.get(1)?,
                handle: r.get(2)?,
                url: r.get(3)?,
                avatar: r.get(4)?,
                approved: r.get(5)?,
                fetched_at: r.get(6)?,
            })
        },
    )
    .optional()
}

/// Stores a freshly fetched profile; the writer's approval is kept.
pub fn put(conn: &Connection, p: &Person) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO people (actor, name, handle, url, avatar, approved, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (actor) DO UPDATE SET name = excluded.name, handle = excluded.handle,
           url = excluded.url, avatar = excluded.avatar, fetched_at = excluded.fetched_at",
        params![
            p.actor,
            p.name,
            p.handle,
            p.url,
            p.avatar,
            p.approved,
            p.fetched_at
        ],
    )?;
    Ok(())
}

/// Marks an author as approved (their public replies are shown under the
/// `approved` policy); creates the row when the profile is not known yet.
pub fn approve(conn: &Connection, actor: &str, approved: bool) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO people (actor, approved, fetched_at) VALUES (?1, ?2, 0)
         ON CONFLICT (actor) DO UPDATE SET approved = excluded.approved",
        params![actor, approved],
    )?;
    Ok(())
}

/// Whether a profile needs fetching (unknown or older than [`REFRESH_MS`]).
pub fn stale(conn: &Connection, actor: &str, now_ms: i64) -> rusqlite::Result<bool> {
    Ok(get(conn, actor)?.is_none_or(|p| now_ms - p.fetched_at > REFRESH_MS))
}

/// Forgets a person (their account was deleted).
pub fn forget(conn: &Connection, actor: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM people WHERE actor = ?1", [actor])
}
