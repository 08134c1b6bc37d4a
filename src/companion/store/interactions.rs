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
    /// Addressed to the public (`to` or `cc`); only these are ever published.
    /// Likes and boosts are public by nature.
    #[serde(default)]
    pub public: bool,
    /// For a reply to a reply: the reply it answers (a thread).
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// Hidden by the writer (`stoa replies hide`).
    #[serde(default)]
    pub hidden: bool,
}

/// Records an interaction; a repeat of the same id from the same actor
/// updates the reply text, anything else is ignored. Interactions are
/// keyed by actor and id together: what one actor sends under an id never
/// touches, or blocks, another actor's interaction with the same id.
pub fn record(conn: &Connection, i: &Interaction) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO interactions (id, kind, actor, object, content, url, published, created_at,
           updated_at, public, in_reply_to)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (actor, id) DO UPDATE SET content = excluded.content, url = excluded.url,
           updated_at = excluded.updated_at, public = excluded.public
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
            i.updated_at,
            i.public,
            i.in_reply_to
        ],
    )?;
    Ok(())
}

/// Edits a reply already recorded (only its author may); false if unknown.
/// An edit may change the audience too (a reply made followers-only
/// leaves the blog).
pub fn edit_reply(
    conn: &Connection,
    id: &str,
    actor: &str,
    content: &str,
    public: bool,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE interactions SET content = ?3, updated_at = ?4, public = ?5
         WHERE id = ?1 AND actor = ?2 AND kind = 'reply'",
        params![id, actor, content, now_ms, public],
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
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM interactions WHERE ?1 IS NULL OR object = ?1
         ORDER BY created_at DESC, id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![object, limit as i64], row)?;
    rows.collect()
}

const COLUMNS: &str = "id, kind, actor, object, content, url, published, created_at, updated_at, public, in_reply_to, hidden";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Interaction> {
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
        public: r.get(9)?,
        in_reply_to: r.get(10)?,
        hidden: r.get(11)?,
    })
}

/// Every public interaction, oldest first: what the blog may show (the
/// caller applies hiding, blocks and the `[conversations]` policy).
pub fn public(conn: &Connection) -> rusqlite::Result<Vec<Interaction>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM interactions WHERE public = 1 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([], row)?;
    rows.collect()
}

/// Replies, newest first, whatever their audience (for the writer).
pub fn replies(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<Interaction>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM interactions WHERE kind = 'reply'
         ORDER BY created_at DESC, id LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], row)?;
    rows.collect()
}

/// Whether `actor` already has an interaction with this id.
pub fn exists(conn: &Connection, actor: &str, id: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM interactions WHERE actor = ?1 AND id = ?2)",
        params![actor, id],
        |r| r.get(0),
    )
}

/// The post a known reply is about, for a reply to that reply (a thread).
pub fn reply_object(conn: &Connection, id: &str) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT object FROM interactions WHERE id = ?1 AND kind = 'reply' LIMIT 1",
        [id],
        |r| r.get(0),
    )
    .optional()
}

/// Replies whose id or web page is `key`, newest first.
pub fn find_reply(conn: &Connection, key: &str) -> rusqlite::Result<Vec<Interaction>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM interactions WHERE kind = 'reply' AND (id = ?1 OR url = ?1)
         ORDER BY created_at DESC"
    ))?;
    let rows = stmt.query_map([key], row)?;
    rows.collect()
}

/// Hides or shows again a reply (by id or web page); how many changed.
pub fn set_hidden(conn: &Connection, key: &str, hidden: bool) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE interactions SET hidden = ?2 WHERE kind = 'reply' AND (id = ?1 OR url = ?1)",
        params![key, hidden],
    )
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
