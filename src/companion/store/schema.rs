//! Versioned migrations: `PRAGMA user_version` says which have run; each
//! runs once, inside a transaction, in order. Never edit a released step;
//! append a new one.

use rusqlite::Connection;

/// The steps, oldest first. Step `i` moves the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the companion's first schema.
    r#"
    -- People who follow the blog. `state` is 'pending' while a follow
    -- waits for approval (manually_approves_followers), then 'accepted'.
    CREATE TABLE followers (
        actor        TEXT PRIMARY KEY,
        inbox        TEXT NOT NULL,
        shared_inbox TEXT,
        handle       TEXT,
        follow_id    TEXT NOT NULL,
        follow_json  TEXT NOT NULL,
        state        TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
        created_at   INTEGER NOT NULL
    );

    -- Public keys and inboxes of remote actors, as fetched.
    CREATE TABLE actors (
        key_id       TEXT PRIMARY KEY,
        actor        TEXT NOT NULL,
        public_key   TEXT NOT NULL,
        inbox        TEXT,
        shared_inbox TEXT,
        handle       TEXT,
        fetched_at   INTEGER NOT NULL
    );
    CREATE INDEX actors_by_actor ON actors (actor);

    -- Verified activities, acknowledged with 202 and waiting to be applied.
    CREATE TABLE incoming (
        id          INTEGER PRIMARY KEY,
        actor       TEXT NOT NULL,
        body        TEXT NOT NULL,
        received_at INTEGER NOT NULL
    );

    -- Signatures already accepted, so a replayed request changes nothing.
    -- Kept for as long as a signature can be valid.
    CREATE TABLE seen_signatures (
        hash        BLOB PRIMARY KEY,
        received_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX seen_by_time ON seen_signatures (received_at);

    -- Likes, boosts and replies to the blog's posts. `id` is the Like or
    -- Announce activity id, or the reply's Note id.
    CREATE TABLE interactions (
        id          TEXT PRIMARY KEY,
        kind        TEXT NOT NULL CHECK (kind IN ('like', 'announce', 'reply')),
        actor       TEXT NOT NULL,
        object      TEXT NOT NULL,
        content     TEXT,
        url         TEXT,
        published   TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER
    );
    CREATE INDEX interactions_by_object ON interactions (object, kind);
    CREATE INDEX interactions_by_actor ON interactions (actor);

    -- Activities the blog sends (Accept, Reject, and later posts).
    CREATE TABLE outgoing (
        id          TEXT PRIMARY KEY,
        body        TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );

    -- One row per (activity, inbox): the durable delivery queue.
    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY,
        activity_id     TEXT NOT NULL REFERENCES outgoing (id) ON DELETE CASCADE,
        inbox           TEXT NOT NULL,
        host            TEXT NOT NULL,
        state           TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_status     INTEGER,
        last_error      TEXT,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        UNIQUE (activity_id, inbox)
    );
    CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
    "#,
    // 2: publishing posts.
    r#"
    -- What `stoa publish` reported, one row per run.
    CREATE TABLE publishes (
        id         INTEGER PRIMARY KEY,
        created_at INTEGER NOT NULL,
        baseline   INTEGER NOT NULL,
        created    INTEGER NOT NULL,
        updated    INTEGER NOT NULL,
        deleted    INTEGER NOT NULL
    );

    -- The blog's objects as last published: the manifest the next publish
    -- is compared with. `state` 'deleted' keeps the id from ever coming back.
    CREATE TABLE objects (
        id         TEXT PRIMARY KEY,
        hash       TEXT NOT NULL,
        body       TEXT NOT NULL,
        state      TEXT NOT NULL CHECK (state IN ('live', 'deleted')),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );

    -- Which publish sent an activity (NULL for Accepts and Rejects).
    ALTER TABLE outgoing ADD COLUMN publish_id INTEGER REFERENCES publishes (id);
    CREATE INDEX outgoing_by_publish ON outgoing (publish_id);

    -- Delivery health per host: UTC days with failures since the last
    -- success; after 7 such days the host is skipped until it writes to us.
    CREATE TABLE hosts (
        host              TEXT PRIMARY KEY,
        failure_days      TEXT NOT NULL DEFAULT '',
        unavailable_since INTEGER
    );

    -- Small facts: the actor's published hash, whether a baseline exists.
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // 3: an interaction is known by its actor and its id together, so an id
    // that one actor claims can never replace or block another's.
    r#"
    CREATE TABLE interactions_v3 (
        id          TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('like', 'announce', 'reply')),
        actor       TEXT NOT NULL,
        object      TEXT NOT NULL,
        content     TEXT,
        url         TEXT,
        published   TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER,
        PRIMARY KEY (actor, id)
    );
    INSERT INTO interactions_v3 (id, kind, actor, object, content, url, published, created_at, updated_at)
        SELECT id, kind, actor, object, content, url, published, created_at, updated_at FROM interactions;
    DROP TABLE interactions;
    ALTER TABLE interactions_v3 RENAME TO interactions;
    CREATE INDEX interactions_by_object ON interactions (object, kind);
    "#,
    // 4: quotes of the blog's posts are interactions of kind 'quote',
    // and each approved one has a stamp (a QuoteAuthorization) that the
    // companion serves until the writer revokes it.
    r#"
    CREATE TABLE interactions_quotes (
        id          TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('like', 'announce', 'reply', 'quote')),
        actor       TEXT NOT NULL,
        object      TEXT NOT NULL,
        content     TEXT,
        url         TEXT,
        published   TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER,
        PRIMARY KEY (actor, id)
    );
    INSERT INTO interactions_quotes (id, kind, actor, object, content, url, published, created_at, updated_at)
        SELECT id, kind, actor, object, content, url, published, created_at, updated_at FROM interactions;
    DROP TABLE interactions;
    ALTER TABLE interactions_quotes RENAME TO interactions;
    CREATE INDEX interactions_by_object ON interactions (object, kind);

    -- One row per approved quote: `key` names the stamp's URL
    -- (/quote-authorizations/<key>); 'revoked' stamps answer 410 forever.
    CREATE TABLE quote_stamps (
        key         TEXT PRIMARY KEY,
        actor       TEXT NOT NULL,
        instrument  TEXT NOT NULL,
        object      TEXT NOT NULL,
        request_id  TEXT NOT NULL,
        inbox       TEXT NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('live', 'revoked')),
        created_at  INTEGER NOT NULL,
        revoked_at  INTEGER
    );

    -- Quotes the blog asked for: one row per post of the blog that quotes
    -- someone's post; `stamp` is their QuoteAuthorization once accepted.
    CREATE TABLE quotes_asked (
        object      TEXT PRIMARY KEY,
        quoted      TEXT NOT NULL,
        author      TEXT NOT NULL,
        request_id  TEXT NOT NULL UNIQUE,
        state       TEXT NOT NULL CHECK (state IN ('requested', 'accepted', 'rejected')),
        stamp       TEXT,
        updated_at  INTEGER NOT NULL
    );
    "#,
    // 5: conversations shown on the blog. Whether a reply was addressed to
    // the public (only those are ever published), the reply it answers
    // (threads), and the writer's moderation; the people who interacted,
    // with their avatar fetched once and resized.
    r#"
    ALTER TABLE interactions ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE interactions ADD COLUMN in_reply_to TEXT;
    ALTER TABLE interactions ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
    UPDATE interactions SET public = 1 WHERE kind IN ('like', 'announce');

    CREATE TABLE people (
        actor       TEXT PRIMARY KEY,
        name        TEXT,
        handle      TEXT,
        url         TEXT,
        avatar      BLOB,
        approved    INTEGER NOT NULL DEFAULT 0,
        fetched_at  INTEGER NOT NULL
    );

    -- Accounts and domains the writer blocked from the command line
    -- (`stoa replies block`), added to the blocks in stoa.toml.
    CREATE TABLE blocks (
        kind   TEXT NOT NULL CHECK (kind IN ('actor', 'domain')),
        value  TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (kind, value)
    );

    -- What the writer hears about (`stoa notifications`, the notify command):
    -- follows, unfollows, follow requests, replies, mentions, favourites,
    -- boosts, deliveries given up. `notified` once the notify command ran.
    CREATE TABLE notifications (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL,
        actor       TEXT,
        object      TEXT,
        url         TEXT,
        content     TEXT,
        public      INTEGER NOT NULL DEFAULT 0,
        created_at  INTEGER NOT NULL,
        read        INTEGER NOT NULL DEFAULT 0,
        notified    INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX notifications_unread ON notifications (read, id);
    CREATE INDEX notifications_unnotified ON notifications (notified, id);
    "#,
    // 6: account migration. A follower who arrived after an earlier account
    // of the writer (`also_known_as`) moved to the blog: that account's URL.
    r#"
    ALTER TABLE followers ADD COLUMN moved_from TEXT;
    "#,
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Why migrating failed.
#[derive(Debug)]
pub enum MigrateError {
    /// The database is newer than this build.
    TooNew {
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
    },
    /// SQLite failed.
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sql(e)
    }
}

/// Brings the schema up to [`VERSION`].
pub fn migrate(conn: &Connection) -> Result<(), MigrateError> {
    let check = |found: i64| {
        if found > VERSION {
            Err(MigrateError::TooNew {
                found,
                known: VERSION,
            })
        } else {
            Ok(found)
        }
    };
    if check(user_version(conn)?)? == VERSION {
        return Ok(());
    }
    // Another process (the companion, a `stoa followers` command) may be
    // migrating the same file: take the write lock, then read the version
    // again, so each step runs exactly once.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let found = check(user_version(&tx)?)?;
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.commit()?;
    Ok(())
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}
