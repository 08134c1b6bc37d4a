//! Likes, boosts, replies and quotes that people sent to the blog's posts.

use rusqlite::{Connection, params};
use serde::Serialize;

/// What kind of interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A favourite.
    Like,
    /// A boost.
    Announce,
    /// A reply (or a post mentioning the blog).
    Reply,
    /// A post quoting one of the blog's posts, with the blog's approval.
    Quote,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Like => "like",
            Kind::Announce => "announce",
            Kind::Reply => "reply",
            Kind::Quote => "quote",
        }
    }
    fn parse(s: &str) -> Kind {
        match s {
            "like" => Kind::Like,
            "announce" => Kind::Announce,
            "quote" => Kind::Quote,
            _ => Kind::Reply,
        }
    }
}

/// One recorded interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interaction {
    /// Like/Announce activity id, or the reply's Note id.
    pub id: String,
    /// Like, boost or reply.
    pub kind: Kind,
    /// Who.
    pub actor: String,
    /// Our post it is about (for a reply: its `inReplyTo`, or our actor for a mention).
    pub object: String,
    /// Sanitized HTML of a reply.
    pub content: Option<String>,
    /// Web page of a reply.
    pub url: Option<String>,
    /// `published` of a reply, as sent.
    pub published: Option<String>,
    /// When it was recorded (ms).
    pub created_at: i64,
    /// When a reply was last edited (ms).
    pub updated_at: Option<i64>,
}

/// Records an interaction; a repeat of the same id from the same actor
/// updates the reply text, anything else is ignored. Interactions are
/// keyed by actor and id together: what one actor sends under an id never
/// touches, or blocks, another actor's interaction with the same id.
pub fn record(conn: &Connection, i: &Interaction) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO interactions (id, kind, actor, object, content, url, published, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (actor, id) DO UPDATE SET content = excluded.content, url = excluded.url,
           updated_at = excluded.updated_at
         WHERE interactions.kind = excluded.kind",
        params![
            i.id,
            i.kind.as_str(),
            i.actor,
            i.object,
            i.content,
            i.url,
            i.published,
            i.created_at,
            i.updated_at
        ],
    )?;
    Ok(())
}

/// Edits a reply already recorded (only its author may); false if unknown.
pub fn edit_reply(
    conn: &Connection,
    id: &str,
    actor: &str,
    content: &str,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE interactions SET content = ?3, updated_at = ?4
         WHERE id = ?1 AND actor = ?2 AND kind = 'reply'",
        params![id, actor, content, now_ms],
    )? > 0)
}

/// Removes an interaction by id, only if `actor` made it.
pub fn remove(conn: &Connection, id: &str, actor: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM interactions WHERE id = ?1 AND actor = ?2",
        params![id, actor],
    )? > 0)
}

/// Removes `actor`'s like or boost of `object` (an Undo that names only the object).
pub fn remove_matching(
    conn: &Connection,
    kind: Kind,
    actor: &str,
    object: &str,
) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM interactions WHERE kind = ?1 AND actor = ?2 AND object = ?3",
        params![kind.as_str(), actor, object],
    )
}

/// Removes everything an actor did (their account was deleted).
pub fn remove_actor(conn: &Connection, actor: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM interactions WHERE actor = ?1", [actor])
}

/// Interactions, newest first, optionally about one post.
pub fn list(
    conn: &Connection,
    object: Option<&str>,
    limit: usize,
) -> rusqlite::Result<Vec<Interaction>> {
    let mut stmt = conn.prepare(
        "SELECT id, kind, actor, object, content, url, published, created_at, updated_at
         FROM interactions WHERE ?1 IS NULL OR object = ?1
         ORDER BY created_at DESC, id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![object, limit as i64], |r| {
        Ok(Interaction {
            id: r.get(0)?,
            kind: Kind::parse(&r.get::<_, String>(1)?),
            actor: r.get(2)?,
            object: r.get(3)?,
            content: r.get(4)?,
            url: r.get(5)?,
            published: r.get(6)?,
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
        })
    })?;
    rows.collect()
}

/// How many of each kind.
pub fn counts(conn: &Connection) -> rusqlite::Result<Vec<(Kind, i64)>> {
    let mut stmt =
        conn.prepare("SELECT kind, count(*) FROM interactions GROUP BY kind ORDER BY kind")?;
    let rows = stmt.query_map([], |r| {
        Ok((Kind::parse(&r.get::<_, String>(0)?), r.get(1)?))
    })?;
    rows.collect()
}
