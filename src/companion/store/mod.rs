//! The companion's memory: one SQLite file in WAL mode with
//! `synchronous=FULL`, so whatever the companion has acknowledged survives a
//! crash or a power cut. Each submodule owns one table family and works on a
//! plain `&Connection`, so a caller can combine several changes in one
//! transaction.

pub(crate) mod actors;
pub(crate) mod backup;
pub(crate) mod blocks;
pub(crate) mod deliveries;
pub mod followers;
pub(crate) mod hosts;
pub(crate) mod incoming;
pub(crate) mod integrity;
pub(crate) mod interactions;
pub(crate) mod notifications;
pub(crate) mod objects;
pub(crate) mod people;
pub(crate) mod quotes;
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
    /// The file is damaged: SQLite cannot read it, or its integrity check
    /// fails.
    #[error(
        "the database {path} is damaged: {detail}\n  help: {}",
        restore_help(path)
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite found.
        detail: String,
    },
    /// The file is missing but traces of it are there (its journal, a copy
    /// the companion rescued): it was deleted or moved, and starting empty
    /// would lose every follower without a word.
    #[error("{}", missing_message(path, traces))]
    Missing {
        /// The database file.
        path: PathBuf,
        /// What is left of it.
        traces: Vec<PathBuf>,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// An open database with the schema up to date.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens (or creates) the database at `path` and applies pending migrations.
    ///
    /// It refuses a damaged file ([`StoreError::Corrupt`], after `PRAGMA
    /// quick_check`) and a missing one that left traces
    /// ([`StoreError::Missing`]).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if matches!(path.try_exists(), Ok(false)) {
            let traces = integrity::leftovers(path);
            if !traces.is_empty() {
                return Err(StoreError::Missing {
                    path: path.to_path_buf(),
                    traces,
                });
            }
        }
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
        let sql = |e: rusqlite::Error| {
            if integrity::is_corruption(&e) {
                StoreError::Corrupt {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                }
            } else {
                StoreError::Sql(e)
            }
        };
        // The wait comes first: the companion and a command such as
        // `stoa followers approve` share the file, and even switching the
        // journal mode may have to wait for the other one's lock.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sql)?;
        if let Some(detail) = integrity::quick_check(&conn).map_err(sql)? {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail,
            });
        }
        schema::migrate(&conn).map_err(|e| match e {
            schema::MigrateError::TooNew { found, known } => StoreError::TooNew {
                path: path.to_path_buf(),
                found,
                known,
            },
            schema::MigrateError::Sql(e) => sql(e),
        })?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The database file, as given to [`Store::open`].
    pub fn path(&self) -> &Path {
        &self.path
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

/// What to do with a damaged database, for the blog's writer.
fn restore_help(path: &Path) -> String {
    let (wal, shm) = (integrity::wal_path(path), integrity::shm_path(path));
    format!(
        "restore it from a backup made with `stoa backup`: stop the companion, remove {} and {} \
         if they are there, copy the backup to {} and start it again; or move {} aside to start \
         with an empty database (your followers would be lost)",
        wal.display(),
        shm.display(),
        path.display(),
        path.display()
    )
}

/// Why a missing database with traces is refused, and what to do.
fn missing_message(path: &Path, traces: &[PathBuf]) -> String {
    let list: Vec<String> = traces.iter().map(|t| t.display().to_string()).collect();
    let rescued = traces.iter().rev().find(|t| {
        t.file_name()
            .is_some_and(|n| n.to_string_lossy().contains(integrity::RESCUED))
    });
    let put_back = match rescued {
        Some(r) => format!(
            "`mv {} {}` (the copy the companion saved when the database disappeared), or copy a \
             backup made with `stoa backup` there",
            r.display(),
            path.display()
        ),
        None => format!(
            "copy a backup made with `stoa backup` to {}",
            path.display()
        ),
    };
    format!(
        "the database {} is missing, but {} {} still there: it was deleted or moved, and starting \
         now would begin with no followers\n  help: put the database back: {put_back}; remove {} \
         and {} first. To start empty on purpose (losing your followers), move these files aside.",
        path.display(),
        list.join(", "),
        if list.len() == 1 { "is" } else { "are" },
        integrity::wal_path(path).display(),
        integrity::shm_path(path).display(),
    )
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

    #[test]
    fn refuses_a_damaged_file_and_says_how_to_restore_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stoa.db");
        drop(Store::open(&path).unwrap());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[..16].copy_from_slice(b"not a database!!");
        std::fs::write(&path, bytes).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&path.display().to_string()) && text.contains("stoa backup"),
            "{text}"
        );
    }

    #[test]
    fn refuses_damaged_pages_found_by_the_quick_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stoa.db");
        {
            let store = Store::open(&path).unwrap();
            store
                .conn()
                .execute_batch(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
                     INSERT INTO incoming (actor, body, received_at) \
                     SELECT printf('https://a.example/u/%d', i), '{}', i FROM n;",
                )
                .unwrap();
        }
        let mut bytes = std::fs::read(&path).unwrap();
        let page = bytes.len() / 4096 / 2;
        bytes[page * 4096..page * 4096 + 12].fill(0xff);
        std::fs::write(&path, bytes).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn refuses_a_missing_file_whose_journal_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stoa.db");
        std::fs::write(integrity::wal_path(&path), "").unwrap();
        std::fs::write(dir.path().join("stoa-rescued-20240501-093005.db"), "").unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Missing { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("mv ") && text.contains("stoa-rescued-"),
            "{text}"
        );
        assert!(!path.exists(), "nothing was created");
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
