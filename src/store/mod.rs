//! The companion's memory: one SQLite file in WAL mode with
//! `synchronous=FULL`, so whatever the companion has acknowledged survives a
//! crash or a power cut. Each submodule owns one table family and works on a
//! plain `&Connection`, so a caller can combine several changes in one
//! transaction.

pub mod deliveries;
pub mod followers;
pub mod hosts;
pub mod incoming;
pub mod interactions;
pub mod keys;
pub mod objects;
mod schema;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or created.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The folder for the database could not be created.
    #[error("cannot create the folder for the database {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file was written by a newer stoa.
    #[error(
        "the database {path} has schema version {found}, newer than this stoa knows ({known}); \
         upgrade stoa"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// An open database with the schema up to date.
pub struct Store {
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens (or creates) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|source| StoreError::Folder {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        // The wait comes first: the companion and a command such as
        // `stoa followers approve` share the file, and even switching the
        // journal mode may have to wait for the other one's lock.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&conn).map_err(|e| match e {
            schema::MigrateError::TooNew { found, known } => StoreError::TooNew {
                path: path.to_path_buf(),
                found,
                known,
            },
            schema::MigrateError::Sql(e) => StoreError::Sql(e),
        })?;
        Ok(Store { conn })
    }

    /// The connection, for reads and single statements.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Starts a write transaction; changes made through it land together or
    /// not at all.
    ///
    /// It takes the write lock at once (`BEGIN IMMEDIATE`): a deferred
    /// transaction that reads and then writes fails with "database is locked"
    /// without waiting when another process wrote in between, which is what
    /// happens when the companion and a `stoa followers` command meet.
    pub fn transaction(&mut self) -> rusqlite::Result<rusqlite::Transaction<'_>> {
        self.conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
    }
}

/// Milliseconds since the Unix epoch, the time unit of every table.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_twice_and_keeps_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/stoa.db");
        {
            let store = Store::open(&path).unwrap();
            let mode: String = store
                .conn()
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
            let sync: i64 = store
                .conn()
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap();
            assert_eq!(sync, 2, "synchronous=FULL");
        }
        let store = Store::open(&path).unwrap();
        let version: i64 = store
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, schema::VERSION);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stoa.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        drop(conn);
        let err = Store::open(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::TooNew { found: 999, .. }),
            "{err}"
        );
    }

    /// Two processes on one file: while one holds a write transaction and
    /// commits, the other's read-then-write transaction waits and succeeds
    /// (a deferred one failed here with "database is locked").
    #[test]
    fn a_second_process_waits_for_the_writer_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stoa.db");
        let mut command = Store::open(&path).unwrap();
        let insert = "INSERT INTO incoming (actor, body, received_at) VALUES (?1, '{}', 0)";
        let (began, writing) = std::sync::mpsc::channel();
        let companion_path = path.clone();
        let writer = std::thread::spawn(move || {
            let mut companion = Store::open(&companion_path).unwrap();
            let tx = companion.transaction().unwrap();
            tx.execute(insert, ["https://a.example/u"]).unwrap();
            began.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            tx.commit().unwrap();
        });
        writing.recv().unwrap();
        let tx = command.transaction().unwrap();
        let before: i64 = tx
            .query_row("SELECT count(*) FROM incoming", [], |r| r.get(0))
            .unwrap();
        tx.execute(insert, ["https://b.example/u"]).unwrap();
        tx.commit().unwrap();
        writer.join().unwrap();
        assert_eq!(before, 1, "the command saw the companion's committed row");
        let after: i64 = command
            .conn()
            .query_row("SELECT count(*) FROM incoming", [], |r| r.get(0))
            .unwrap();
        assert_eq!(after, 2);
    }
}
