//! The companion's watch over its database file. SQLite goes on writing to
//! a file that was deleted or replaced while open, and answers from its
//! cache for a file damaged on disk; the companion must notice both before
//! it acknowledges anything, because an acknowledged activity is never sent
//! again.
//!
//! - Every group commit compares the database and its `-wal` journal with
//!   the files opened at start (device and inode, a `stat` each) before and
//!   after it commits, so nothing is acknowledged that is not in the real
//!   file. So does `/healthz`.
//! - Once a second a fresh connection reads the file's header and schema;
//!   a full `quick_check` runs as often as 1 % of one core allows (every
//!   2 s for a small database, every 13 s at 61 MB).
//! - A fault found (deleted, replaced, damaged) lasts until the companion
//!   is restarted: every POST gets `503` (senders retry later), `/healthz`
//!   answers `503`, and an ERROR names the file and the fix, repeated every
//!   five minutes. When the file was deleted or replaced, what the
//!   companion still holds is saved next to it once (`STEM-rescued-TIME.db`).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::companion::store::integrity::{self, Fault, FileId};
use crate::companion::store::{Store, backup};

/// How often the alarm is repeated while the database cannot be used.
const ALARM_EVERY: Duration = Duration::from_secs(300);

/// How often a passing failure to look at the file is logged.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Watches one database file.
#[derive(Debug)]
pub struct Watch {
    database: PathBuf,
    /// The database and its `-wal` journal, as opened.
    files: Vec<(PathBuf, FileId)>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    fault: Option<Fault>,
    rescue: Rescue,
    next_deep: Option<Instant>,
    last_alarm: Option<Instant>,
    last_warning: Option<Instant>,
}

#[derive(Debug, Default, Clone)]
enum Rescue {
    #[default]
    NotTried,
    Saved(PathBuf),
    Failed(String),
}

impl Watch {
    /// Remembers which files `database` (just opened) and its journal are.
    pub fn new(database: &Path) -> std::io::Result<Watch> {
        let mut files = vec![(database.to_path_buf(), FileId::of(database)?)];
        let wal = integrity::wal_path(database);
        if let Ok(id) = FileId::of(&wal) {
            files.push((wal, id));
        }
        Ok(Watch {
            database: database.to_path_buf(),
            files,
            state: Mutex::new(State::default()),
        })
    }

    /// The database file.
    pub fn database(&self) -> &Path {
        &self.database
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fault found so far, if any (no new check).
    pub fn fault(&self) -> Option<Fault> {
        self.state().fault.clone()
    }

    /// Checks that the database and its journal are still the files opened
    /// at start (a `stat` each).
    pub fn check_files(&self) -> Result<(), Fault> {
        if let Some(f) = self.fault() {
            return Err(f);
        }
        for (file, opened) in &self.files {
            if let Some(f) = integrity::compare(file, *opened, FileId::of(file)) {
                return Err(self.record(f));
            }
        }
        Ok(())
    }

    /// Reads the file through a fresh connection; runs the full
    /// `quick_check` when its turn has come.
    pub fn check_contents(&self) -> Result<(), Fault> {
        self.check_files()?;
        let deep = self.state().next_deep.is_none_or(|at| Instant::now() >= at);
        let started = Instant::now();
        let result = integrity::probe(&self.database, deep);
        if deep {
            let gap = integrity::deep_check_gap(started.elapsed());
            self.state().next_deep = Instant::now().checked_add(gap);
        }
        result.map_err(|f| self.record(f))
    }

    /// Takes note of a fault found here or elsewhere (a commit that SQLite
    /// refused as corrupt), and raises the alarm the first time. A file
    /// that cannot be looked at right now is not remembered.
    pub fn record(&self, fault: Fault) -> Fault {
        let mut state = self.state();
        if matches!(fault, Fault::Unreachable { .. }) {
            if state
                .last_warning
                .is_none_or(|at| at.elapsed() >= WARN_EVERY)
            {
                state.last_warning = Some(Instant::now());
                tracing::warn!(database = %self.database.display(), "{fault}");
            }
            return fault;
        }
        if let Some(first) = &state.fault {
            return first.clone();
        }
        // The alarm is written before anyone can see the fault (and answer 503).
        let help = help(&self.database, &fault, &state.rescue);
        tracing::error!(database = %self.database.display(), "{fault}. {help}");
        state.fault = Some(fault.clone());
        state.last_alarm = Some(Instant::now());
        fault
    }

    /// One round of checks, then what a fault calls for: saving what the
    /// companion holds (once) and repeating the alarm.
    pub fn tick(&self, store: &Mutex<Store>) {
        let _ = self.check_contents();
        let Some(fault) = self.fault() else {
            return;
        };
        let tried = !matches!(self.state().rescue, Rescue::NotTried);
        if fault.orphaned() && !tried {
            self.rescue(store);
        } else if self
            .state()
            .last_alarm
            .is_none_or(|at| at.elapsed() >= ALARM_EVERY)
        {
            self.alarm(&fault);
        }
    }

    /// The fault and what to do, for the log.
    fn alarm(&self, fault: &Fault) {
        let help = {
            let mut state = self.state();
            state.last_alarm = Some(Instant::now());
            help(&self.database, fault, &state.rescue)
        };
        tracing::error!(database = %self.database.display(), "{fault}. {help}");
    }

    /// Copies what the companion's connection still sees (the deleted or
    /// replaced file and its journal) next to the database.
    fn rescue(&self, store: &Mutex<Store>) {
        let dest = integrity::stamped(&self.database, integrity::RESCUED, jiff::Timestamp::now());
        let copied = {
            let store = store.lock().unwrap_or_else(|e| e.into_inner());
            backup::copy_into(store.conn(), &dest)
        };
        let rescue = match copied {
            Ok(c) => {
                tracing::info!(
                    copy = %dest.display(),
                    followers = c.followers,
                    pending = c.pending,
                    "saved what the companion held"
                );
                Rescue::Saved(dest)
            }
            Err(e) => Rescue::Failed(e.to_string()),
        };
        self.state().rescue = rescue;
        if let Some(fault) = self.fault() {
            self.alarm(&fault);
        }
    }
}

/// What the blog's writer should do about `fault`.
fn help(database: &Path, fault: &Fault, rescue: &Rescue) -> String {
    let db = database.display();
    let wal = integrity::wal_path(database);
    let shm = integrity::shm_path(database);
    let refusing = "The companion answers 503 to every activity now (senders retry later) \
                    instead of acknowledging what it cannot keep.";
    match fault {
        Fault::Gone { .. } | Fault::Replaced { .. } => {
            let (saved, put_back) = match rescue {
                Rescue::Saved(p) => (
                    format!(" What it held is saved in {}.", p.display()),
                    format!("`mv {} {db}`", p.display()),
                ),
                Rescue::Failed(e) => (
                    format!(" Saving a copy of what it held failed: {e}."),
                    "copy a backup made with `stoa backup` there".into(),
                ),
                Rescue::NotTried => (
                    String::new(),
                    "copy a backup made with `stoa backup` there".into(),
                ),
            };
            format!(
                "{refusing}{saved} Stop the companion, remove {} and {} if they are there, put the \
                 database back at {db} ({put_back}), and start it again.",
                wal.display(),
                shm.display()
            )
        }
        Fault::Broken { .. } => format!(
            "{refusing} Stop the companion, then restore the database from a backup made with \
             `stoa backup`: remove {} and {} if they are there and copy the backup to {db}; or \
             move {db} aside to start with an empty database (your followers would be lost).",
            wal.display(),
            shm.display()
        ),
        Fault::Unreachable { file, .. } => format!(
            "{refusing} Check that the companion's user may read {} and its folder.",
            file.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened() -> (tempfile::TempDir, PathBuf, Mutex<Store>, Watch) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stoa.db");
        let store = Store::open(&path).unwrap();
        let watch = Watch::new(&path).unwrap();
        (dir, path, Mutex::new(store), watch)
    }

    #[test]
    fn a_healthy_file_passes_every_check() {
        let (_dir, _path, store, watch) = opened();
        assert_eq!(watch.files.len(), 2, "the database and its journal");
        assert_eq!(watch.check_files(), Ok(()));
        assert_eq!(watch.check_contents(), Ok(()));
        watch.tick(&store);
        assert_eq!(watch.fault(), None);
    }

    #[test]
    fn a_deleted_file_is_a_lasting_fault_and_what_was_held_is_saved() {
        let (dir, path, store, watch) = opened();
        store
            .lock()
            .unwrap()
            .conn()
            .execute(
                "INSERT INTO followers (actor, inbox, follow_id, follow_json, state, created_at)
                 VALUES ('https://a.example/u', 'https://a.example/inbox', 'f', '{}', 'accepted', 0)",
                [],
            )
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(watch.check_files(), Err(Fault::Gone { .. })));
        watch.tick(&store);
        let Rescue::Saved(copy) = watch.state().rescue.clone() else {
            panic!("no rescue: {:?}", watch.state().rescue);
        };
        assert!(copy.starts_with(dir.path()), "{}", copy.display());
        assert_eq!(backup::verify(&copy).unwrap().followers, 1);
        // Even a new file at the path is not the one the companion writes to.
        std::fs::write(&path, "").unwrap();
        assert!(matches!(watch.check_files(), Err(Fault::Gone { .. })));
        let help = help(&path, &watch.fault().unwrap(), &watch.state().rescue);
        assert!(help.contains(&format!("mv {}", copy.display())), "{help}");
    }

    #[test]
    fn a_deleted_journal_is_a_fault() {
        let (_dir, path, _store, watch) = opened();
        std::fs::remove_file(integrity::wal_path(&path)).unwrap();
        assert!(
            matches!(watch.check_files(), Err(Fault::Gone { file }) if file.ends_with("stoa.db-wal"))
        );
    }

    #[test]
    fn the_first_fault_is_the_one_reported() {
        let (_dir, path, _store, watch) = opened();
        let broken = Fault::Broken {
            file: path.clone(),
            detail: "database disk image is malformed".into(),
        };
        assert_eq!(watch.record(broken.clone()), broken);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(watch.check_files(), Err(broken));
    }

    #[test]
    fn an_unreachable_file_is_not_remembered() {
        let (_dir, path, _store, watch) = opened();
        watch.record(Fault::Unreachable {
            file: path,
            error: "permission denied".into(),
        });
        assert_eq!(watch.fault(), None);
    }
}
