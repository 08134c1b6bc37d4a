//! Consistent copies of the database, also while the companion writes to
//! it: `VACUUM INTO` reads one snapshot (a read transaction, which in WAL
//! mode blocks no writer) and writes it compacted into a new file, which is
//! then flushed to disk and checked with `PRAGMA integrity_check`.

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::companion::store::followers::{self, FollowState};
use crate::companion::store::integrity;

/// Why a copy could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The output exists: a backup never overwrites anything.
    #[error(
        "{0} already exists\n  help: a backup never overwrites a file: name another one, or move that one away"
    )]
    Exists(PathBuf),
    /// The output could not be created.
    #[error(
        "cannot create {path}: {source}\n  help: check that its folder exists and that you may write there"
    )]
    Create {
        /// The output file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// SQLite takes file names as UTF-8.
    #[error("{0} is not valid UTF-8\n  help: name the backup with plain characters")]
    NotUtf8(PathBuf),
    /// Reading the database or writing the copy failed.
    #[error("copying the database into {path} failed: {source}")]
    Copy {
        /// The output file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The copy could not be flushed to disk.
    #[error("cannot flush {path} to disk: {source}")]
    Sync {
        /// The output file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The copy does not pass the integrity check.
    #[error("the copy {path} does not pass the integrity check: {detail}")]
    Check {
        /// The output file.
        path: PathBuf,
        /// What SQLite found.
        detail: String,
    },
}

/// What a verified copy holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// Accepted followers.
    pub followers: i64,
    /// Followers waiting for approval.
    pub pending: i64,
}

/// Copies the database open on `conn` into `dest`, a new file (mode 0600;
/// an existing file is refused), flushes it to disk and checks it. A
/// failed copy is removed.
pub fn copy_into(conn: &Connection, dest: &Path) -> Result<Copied, BackupError> {
    let name = dest
        .to_str()
        .ok_or_else(|| BackupError::NotUtf8(dest.to_path_buf()))?;
    create_private(dest)?;
    let result = (|| {
        // The file exists (so its mode is ours) and is empty, which VACUUM INTO accepts.
        conn.execute("VACUUM INTO ?1", [name])
            .map_err(|source| BackupError::Copy {
                path: dest.to_path_buf(),
                source,
            })?;
        sync(dest)?;
        verify(dest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}

/// Opens a copy, runs `PRAGMA integrity_check` on it and counts its
/// followers.
pub fn verify(path: &Path) -> Result<Copied, BackupError> {
    let failed = |source: rusqlite::Error| BackupError::Check {
        path: path.to_path_buf(),
        detail: source.to_string(),
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(failed)?;
    if let Some(detail) = integrity::integrity_check(&conn).map_err(failed)? {
        return Err(BackupError::Check {
            path: path.to_path_buf(),
            detail,
        });
    }
    Ok(Copied {
        followers: followers::count(&conn, FollowState::Accepted).map_err(failed)?,
        pending: followers::count(&conn, FollowState::Pending).map_err(failed)?,
    })
}

fn create_private(path: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        .map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                BackupError::Exists(path.to_path_buf())
            } else {
                BackupError::Create {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })
}

/// Flushes the file and the folder entry that names it.
fn sync(path: &Path) -> Result<(), BackupError> {
    let failed = |source| BackupError::Sync {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(failed)?;
    file.flush().map_err(failed)?;
    file.sync_all().map_err(failed)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::companion::store::Store;

    fn store_with_followers(path: &Path) -> Store {
        let store = Store::open(path).unwrap();
        for (n, state) in [(1, "accepted"), (2, "accepted"), (3, "pending")] {
            store
                .conn()
                .execute(
                    "INSERT INTO followers (actor, inbox, follow_id, follow_json, state, created_at)
                     VALUES (?1, 'https://a.example/inbox', 'f', '{}', ?2, 0)",
                    rusqlite::params![format!("https://a.example/u/{n}"), state],
                )
                .unwrap();
        }
        store
    }

    #[test]
    fn copies_verifies_and_keeps_the_copy_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_followers(&dir.path().join("stoa.db"));
        let dest = dir.path().join("copy.db");
        let copied = copy_into(store.conn(), &dest).unwrap();
        assert_eq!(
            copied,
            Copied {
                followers: 2,
                pending: 1
            }
        );
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(verify(&dest).unwrap(), copied);
    }

    #[test]
    fn never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_followers(&dir.path().join("stoa.db"));
        let dest = dir.path().join("copy.db");
        std::fs::write(&dest, "precious").unwrap();
        let err = copy_into(store.conn(), &dest).unwrap_err();
        assert!(matches!(err, BackupError::Exists(_)), "{err}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "precious");
    }

    #[test]
    fn a_failed_copy_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_followers(&dir.path().join("stoa.db"));
        let dest = dir.path().join("copy.db");
        // A copy cannot run inside a transaction.
        store.conn().execute_batch("BEGIN").unwrap();
        let err = copy_into(store.conn(), &dest).unwrap_err();
        assert!(matches!(err, BackupError::Copy { .. }), "{err}");
        assert!(!dest.exists());
    }

    #[test]
    fn a_missing_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_followers(&dir.path().join("stoa.db"));
        let dest = dir.path().join("nowhere/copy.db");
        let err = copy_into(store.conn(), &dest).unwrap_err();
        assert!(err.to_string().contains("nowhere/copy.db"), "{err}");
    }
}
