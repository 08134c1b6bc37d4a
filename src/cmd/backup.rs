//! `stoa backup`: a consistent, verified copy of the companion's database,
//! also while the companion runs (see [`crate::companion::store::backup`]).

use crate::outln;
use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};

use crate::cmd::cli::BackupArgs;
use crate::cmd::common::{existing_database, load_config};
use crate::companion::store::backup::{self, BackupError};
use crate::companion::store::integrity;

/// Runs `stoa backup`.
pub fn run(args: &BackupArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    let path = existing_database(&root, &config)?;
    // Read-write without create, and without migrating: a backup changes
    // nothing, whichever stoa wrote the file.
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open the database {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .context("setting the busy timeout")?;
    let dest = args
        .output
        .clone()
        .unwrap_or_else(|| integrity::stamped(&path, "backup", jiff::Timestamp::now()));
    let copied = match backup::copy_into(&conn, &dest) {
        Ok(c) => c,
        Err(BackupError::Copy { source, .. }) if integrity::is_corruption(&source) => bail!(
            "the database {} is damaged ({source}); no backup was written\n  help: keep your older backups; restore the newest good one (see `stoa inbox`'s message)",
            path.display()
        ),
        Err(e) => {
            return Err(e).with_context(|| format!("backing up {}", path.display()));
        }
    };
    outln!(
        "Backed up {} to {}: {} followers, {} waiting for approval; the copy passes the integrity check.",
        path.display(),
        dest.display(),
        copied.followers,
        copied.pending
    );
    outln!(
        "To restore it: stop the companion, remove {} and {} if they are there, copy the backup to {}, start the companion.",
        integrity::wal_path(&path).display(),
        integrity::shm_path(&path).display(),
        path.display()
    );
    Ok(())
}
