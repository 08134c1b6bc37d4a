//! Atomic, incremental writes into the output folder.
//!
//! A build stages every new or changed file in `.stoa-staging/` inside the
//! output folder (only files whose bytes changed are staged at all), where
//! nobody looks: until the commit, the folder shows the previous build.
//! [`Stager::commit`] then
//!
//! 1. writes the new manifest into the staging folder;
//! 2. writes the journal, `.stoa-journal`: which staged file goes where,
//!    which stale files go away. It is written to a temporary name, synced,
//!    then renamed: once it is there, the build is decided;
//! 3. moves the staged files into place, removes stale files (those earlier
//!    builds wrote and this one did not) and installs the manifest;
//! 4. deletes the journal and the staging folder.
//!
//! Dropping a stager without committing (a failed build) removes the
//! staging folder, so the previous output stays exactly as it was. A
//! process killed before step 2 leaves only the staging folder, which the
//! next build removes; killed after it, the next build finishes steps 3
//! and 4 before anything else ([`recover`]) and renders every file the
//! journal moved again (their bytes may not have reached the disk before a
//! power cut). SIGINT, SIGTERM and SIGHUP never stop a commit half-way
//! (see [`crate::interrupt`]).
//!
//! A first build into an empty folder has no earlier build to keep whole,
//! and creating files is what it spends its time on: it writes its files
//! in place, once, after a journal that marks the folder as its own. Its
//! manifest is its commit; stopped before that, it is removed whole (by its
//! own clean-up, or by the next build). `serve`'s partial rebuilds, into a
//! temporary folder that no build reopens, need no journal either.
//!
//! The manifest (`.stoa-manifest`) records a hash per written file, so an
//! unchanged file is recognised without reading it back, and stale files
//! are known without walking the folder. Files stoa did not write are never
//! touched.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use crate::error::SiteError;
use crate::interrupt;
use crate::render::Sink;

/// Name of the manifest inside the output folder.
pub const MANIFEST: &str = ".stoa-manifest";
/// Folder inside the output folder where a build stages its files.
pub const STAGING: &str = ".stoa-staging";
/// The commit journal inside the output folder (there only during a commit).
pub const JOURNAL: &str = ".stoa-journal";
const TMP_SUFFIX: &str = ".stoa-tmp";
const MANIFEST_HEADER: &str = "stoa-manifest 1";
const JOURNAL_HEADER: &str = "stoa-journal 1";
/// The new manifest inside the staging folder (staged files are numbered).
const STAGED_MANIFEST: &str = "manifest";

type Hash = [u8; 16];

/// The hash recovery gives to files it cannot vouch for: it matches no
/// content, so the next render writes them again.
const UNKNOWN: Hash = [0; 16];

fn hash(bytes: &[u8]) -> Hash {
    let d = Sha256::digest(bytes);
    let mut h = [0u8; 16];
    h.copy_from_slice(&d[..16]);
    h
}

/// What the previous build left: file hashes and the input fingerprint.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Manifest {
    /// Fingerprint of the inputs that produced it.
    pub fingerprint: String,
    /// Relative path → content hash.
    pub files: HashMap<String, Hash>,
}

impl Manifest {
    /// Reads the manifest of `root`; `None` when there is none.
    pub fn read(root: &Path) -> Option<Manifest> {
        let text = fs::read_to_string(root.join(MANIFEST)).ok()?;
        let mut lines = text.lines();
        if lines.next()? != MANIFEST_HEADER {
            return None;
        }
        let fingerprint = lines.next()?.strip_prefix("fingerprint ")?.to_string();
        let mut files = HashMap::new();
        for line in lines {
            let (h, path) = line.split_once(' ')?;
            let bytes = hex::decode(h).ok()?;
            files.insert(path.to_string(), bytes.try_into().ok()?);
        }
        Some(Manifest { fingerprint, files })
    }

    fn text(&self) -> String {
        let mut paths: Vec<&String> = self.files.keys().collect();
        paths.sort();
        let mut text = format!("{MANIFEST_HEADER}\nfingerprint {}\n", self.fingerprint);
        for p in paths {
            text.push_str(&hex::encode(self.files[p]));
            text.push(' ');
            text.push_str(p);
            text.push('\n');
        }
        text
    }

    /// Replaces the manifest of `root` (temporary file, then rename).
    fn write(&self, root: &Path) -> std::io::Result<()> {
        let tmp = root.join(format!("{MANIFEST}{TMP_SUFFIX}"));
        fs::write(&tmp, self.text())?;
        fs::rename(tmp, root.join(MANIFEST))
    }

    /// Whether every file it lists is still there.
    pub fn files_present(&self, root: &Path) -> bool {
        self.files.keys().all(|p| root.join(p).is_file())
    }
}

/// What a commit changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    /// Files produced by the build.
    pub total: usize,
    /// Files written because they are new or changed.
    pub written: usize,
    /// Stale files removed.
    pub removed: usize,
}

/// A relative, `/`-separated path that stays inside the output folder.
fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\n')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// What a commit does, written down before it does any of it.
#[derive(Debug, Default, Clone, PartialEq)]
struct Journal {
    /// A first build into an empty folder, which writes its files in place
    /// (see [`Stager::open`]): everything in the folder is that build's.
    fresh: bool,
    /// (file in the staging folder, its place in the output), in order.
    moves: Vec<(String, String)>,
    /// Stale files to remove.
    removals: Vec<String>,
    /// Whether a new manifest waits in the staging folder.
    manifest: bool,
}

impl Journal {
    fn text(&self) -> String {
        let mut text = format!("{JOURNAL_HEADER}\n");
        if self.fresh {
            text.push_str("fresh\n");
        }
        if self.manifest {
            text.push_str("manifest\n");
        }
        for (name, path) in &self.moves {
            text.push_str(&format!("move {name} {path}\n"));
        }
        for path in &self.removals {
            text.push_str(&format!("remove {path}\n"));
        }
        text.push_str("end\n");
        text
    }

    /// `None` for a journal that is damaged or names a path outside the folder.
    fn parse(text: &str) -> Option<Journal> {
        let mut lines = text.lines();
        if lines.next()? != JOURNAL_HEADER {
            return None;
        }
        let mut journal = Journal::default();
        for line in lines {
            if line == "end" {
                return Some(journal);
            } else if line == "fresh" {
                journal.fresh = true;
            } else if line == "manifest" {
                journal.manifest = true;
            } else if let Some(rest) = line.strip_prefix("move ") {
                let (name, path) = rest.split_once(' ')?;
                if !name.bytes().all(|b| b.is_ascii_digit()) || !is_safe_relative(path) {
                    return None;
                }
                journal.moves.push((name.to_string(), path.to_string()));
            } else if let Some(path) = line.strip_prefix("remove ") {
                if !is_safe_relative(path) {
                    return None;
                }
                journal.removals.push(path.to_string());
            } else {
                return None;
            }
        }
        // No `end`: cut short.
        None
    }

    /// Writes the journal of `root` so that it is either wholly there or
    /// not at all, and on the disk before any file moves.
    fn write(&self, root: &Path) -> std::io::Result<()> {
        let tmp = root.join(format!("{JOURNAL}{TMP_SUFFIX}"));
        let mut f = fs::File::create(&tmp)?;
        f.write_all(self.text().as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, root.join(JOURNAL))?;
        // The rename itself must be on the disk too (not every file system
        // can sync a folder; those that cannot order it anyway).
        if let Ok(dir) = fs::File::open(root) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Moves the staged files into place, removes the stale ones and
    /// installs the manifest; returns how many files were removed. With
    /// `replay` (finishing an interrupted commit), a staged file that is no
    /// longer there was moved before the interruption.
    fn install(&self, root: &Path, replay: bool) -> Result<usize, SiteError> {
        let staging = root.join(STAGING);
        let mut dirs: HashSet<PathBuf> = HashSet::new();
        let tolerate = |e: &std::io::Error| replay && e.kind() == std::io::ErrorKind::NotFound;
        for (name, path) in &self.moves {
            let to = root.join(path);
            if let Some(parent) = to.parent()
                && !dirs.contains(parent)
            {
                fs::create_dir_all(parent).map_err(|e| SiteError::io(parent, e))?;
                dirs.insert(parent.to_path_buf());
            }
            match fs::rename(staging.join(name), &to) {
                Err(e) if !tolerate(&e) => return Err(SiteError::io(&to, e)),
                _ => {}
            }
        }
        let mut removed = 0;
        for p in &self.removals {
            let path = root.join(p);
            if fs::remove_file(&path).is_ok() {
                removed += 1;
            }
            remove_empty_parents(root, &path);
        }
        if self.manifest {
            let to = root.join(MANIFEST);
            match fs::rename(staging.join(STAGED_MANIFEST), &to) {
                Err(e) if !tolerate(&e) => return Err(SiteError::io(&to, e)),
                _ => {}
            }
        }
        Ok(removed)
    }

    /// Ends the commit: the journal goes first, then the staging folder.
    fn close(root: &Path) {
        let _ = fs::remove_file(root.join(JOURNAL));
        let _ = fs::remove_dir_all(root.join(STAGING));
    }
}

/// Repairs the output folder `root` after a build that was stopped (killed,
/// or the machine lost power): finishes its commit when its journal is
/// there, otherwise removes what it had staged. Returns a note for the
/// writer when something was repaired. Every build does this first.
pub fn recover(root: &Path) -> Result<Option<String>, SiteError> {
    // A journal still being written: the commit had not started.
    let _ = fs::remove_file(root.join(format!("{JOURNAL}{TMP_SUFFIX}")));
    let journal_path = root.join(JOURNAL);
    let text = match fs::read_to_string(&journal_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let staging = root.join(STAGING);
            if !staging.exists() {
                return Ok(None);
            }
            fs::remove_dir_all(&staging).map_err(|e| SiteError::io(&staging, e))?;
            return Ok(Some(format!(
                "the last build was stopped before it changed anything in {}; its unfinished files were removed",
                root.display()
            )));
        }
        Err(e) => return Err(SiteError::io(&journal_path, e)),
    };
    let journal =
        Journal::parse(&text).ok_or_else(|| SiteError::DamagedOutput(root.to_path_buf()))?;
    interrupt::set_may_die(false);
    let result = if journal.fresh {
        roll_back_fresh(root)
    } else {
        roll_forward(root, &journal)
    };
    interrupt::set_may_die(true);
    result
}

/// A first build into an empty folder was stopped. Its manifest is its
/// last step: with one, it had finished; without, everything in the folder
/// is its unfinished work (the folder was empty when it began) and goes.
fn roll_back_fresh(root: &Path) -> Result<Option<String>, SiteError> {
    if Manifest::read(root).is_some() {
        Journal::close(root);
        return Ok(None);
    }
    let entries = fs::read_dir(root).map_err(|e| SiteError::io(root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| SiteError::io(root, e))?;
        let path = entry.path();
        if path
            .file_name()
            .is_some_and(|n| n == JOURNAL || n == crate::output_lock::LOCK)
        {
            continue;
        }
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        removed.map_err(|e| SiteError::io(&path, e))?;
    }
    // Last, so that a repair stopped half-way is taken up again.
    let _ = fs::remove_file(root.join(JOURNAL));
    Ok(Some(format!(
        "the last build, the first into {}, was stopped before it finished; what it had written was removed",
        root.display()
    )))
}

/// A commit was stopped after its journal was written: it is finished.
fn roll_forward(root: &Path, journal: &Journal) -> Result<Option<String>, SiteError> {
    journal.install(root, true)?;
    // The moved files' bytes may not have reached the disk before a power
    // cut: the manifest no longer vouches for them, nor for the inputs, so
    // the build that follows renders and checks everything.
    if let Some(mut m) = Manifest::read(root) {
        m.fingerprint.clear();
        for (_, path) in &journal.moves {
            if let Some(h) = m.files.get_mut(path) {
                *h = UNKNOWN;
            }
        }
        m.write(root)
            .map_err(|e| SiteError::io(&root.join(MANIFEST), e))?;
    }
    Journal::close(root);
    Ok(Some(format!(
        "the last build was stopped while it was writing {}; it was finished now ({} files), and this build checks them again",
        root.display(),
        journal.moves.len() + journal.removals.len()
    )))
}

/// Collects a build's files; see the module documentation.
pub struct Stager {
    root: PathBuf,
    staging: PathBuf,
    previous: Manifest,
    /// When false, only the files handed in are known: stale files are kept
    /// (used by partial rebuilds in `serve`).
    complete: bool,
    /// A first build into an empty folder: files are written in place.
    fresh: bool,
    produced: Mutex<Vec<(String, Hash)>>,
    /// (file in the staging folder, its place in the output).
    staged: Mutex<Vec<(String, String)>>,
    next_name: AtomicUsize,
    /// Whether the staging folder exists.
    staging_made: Mutex<bool>,
    /// Folders this build made (the output folder and its missing parents
    /// first), removed again when it fails.
    created_dirs: Mutex<Vec<PathBuf>>,
    seen_dirs: Mutex<HashSet<PathBuf>>,
    /// Files a fresh build wrote in place.
    created_files: Mutex<Vec<PathBuf>>,
    repaired: Option<String>,
    /// From the moment a commit's journal is written, the staged files
    /// belong to it: a failure after that leaves them for [`recover`].
    journaled: bool,
    committed: bool,
}

impl Stager {
    /// Opens the output folder `root` for a full build, after repairing
    /// what a stopped build left ([`recover`]). Refuses a non-empty folder
    /// that stoa did not write.
    ///
    /// Into an empty folder there is no earlier build to keep whole, and
    /// creating files is what such a build spends its time on: files are
    /// written in place, once, after a journal that marks the folder as
    /// this build's (a stopped build is then removed whole).
    pub fn open(root: &Path) -> Result<Stager, SiteError> {
        let repaired = recover(root)?;
        let (previous, fresh) = match Manifest::read(root) {
            Some(m) => (m, false),
            None => {
                // The output lock's file is made before this ([`crate::output_lock`]).
                if let Ok(mut entries) = fs::read_dir(root)
                    && entries.any(|e| e.is_ok_and(|e| e.file_name() != crate::output_lock::LOCK))
                {
                    return Err(SiteError::ForeignOutput(root.to_path_buf()));
                }
                (Manifest::default(), true)
            }
        };
        let mut stager = Self::new(root, previous, true);
        stager.repaired = repaired;
        if fresh {
            stager.fresh = true;
            stager
                .ensure_dir(root)
                .map_err(|e| SiteError::io(root, e))?;
            let marker = Journal {
                fresh: true,
                ..Journal::default()
            };
            marker
                .write(root)
                .map_err(|e| SiteError::io(&root.join(JOURNAL), e))?;
        }
        Ok(stager)
    }

    /// Opens the output folder for a partial rebuild that knows the
    /// current manifest (kept in memory by `serve`): nothing is read,
    /// nothing is removed.
    pub fn open_partial(root: &Path, previous: Manifest) -> Stager {
        Self::new(root, previous, false)
    }

    fn new(root: &Path, previous: Manifest, complete: bool) -> Stager {
        // From here until the stager is dropped, a signal stops the build
        // at its next file instead of killing the process mid-write.
        interrupt::set_may_die(false);
        Stager {
            root: root.to_path_buf(),
            staging: root.join(STAGING),
            previous,
            complete,
            fresh: false,
            produced: Mutex::new(Vec::new()),
            staged: Mutex::new(Vec::new()),
            next_name: AtomicUsize::new(0),
            staging_made: Mutex::new(false),
            created_dirs: Mutex::new(Vec::new()),
            seen_dirs: Mutex::new(HashSet::new()),
            created_files: Mutex::new(Vec::new()),
            repaired: None,
            journaled: false,
            committed: false,
        }
    }

    /// What [`Stager::open`] repaired, for the build's warnings.
    pub fn repaired(&self) -> Option<&str> {
        self.repaired.as_deref()
    }

    /// Makes sure `dir` exists, remembering the folders this build created
    /// (so a failed build removes them). One `mkdir` per new folder and no
    /// lookups: on a cold build, file-system calls are the cost.
    fn ensure_dir(&self, dir: &Path) -> std::io::Result<()> {
        if self
            .seen_dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(dir)
        {
            return Ok(());
        }
        match fs::create_dir(dir) {
            Ok(()) => self
                .created_dirs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(dir.to_path_buf()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let parent = dir.parent().ok_or(e)?;
                self.ensure_dir(parent)?;
                return self.ensure_dir(dir);
            }
            Err(e) => return Err(e),
        }
        self.seen_dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dir.to_path_buf());
        Ok(())
    }

    /// Makes the staging folder (and the output folder, when it is new).
    fn make_staging(&self) -> Result<(), SiteError> {
        let mut made = self.staging_made.lock().unwrap_or_else(|e| e.into_inner());
        if !*made {
            self.ensure_dir(&self.staging)
                .map_err(|e| SiteError::io(&self.staging, e))?;
            *made = true;
        }
        Ok(())
    }

    /// Moves staged files into place, removes stale ones, writes the manifest.
    #[cfg(test)]
    pub fn commit(self, fingerprint: &str) -> Result<WriteStats, SiteError> {
        self.finish(Some(fingerprint)).map(|(stats, _)| stats)
    }

    /// Like [`Stager::commit`], and also returns the new manifest; with
    /// `fingerprint: None` the manifest is not written to disk (partial
    /// rebuilds in `serve`, which keep it in memory).
    ///
    /// A signal that arrived before the commit rolls the build back; one
    /// that arrives during it is answered once the commit is done. Both
    /// return [`SiteError::Interrupted`].
    pub fn finish(
        mut self,
        fingerprint: Option<&str>,
    ) -> Result<(WriteStats, Manifest), SiteError> {
        let mut produced =
            std::mem::take(&mut *self.produced.lock().unwrap_or_else(|e| e.into_inner()));
        produced.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = produced.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(SiteError::Template(format!(
                "two parts of the site both want to be written to {}\n  help: rename the page or post that uses this address (pages may not use /posts/, /tags/ or /archive/)",
                w[0].0
            )));
        }
        self.check()?;
        let mut moves = std::mem::take(&mut *self.staged.lock().unwrap_or_else(|e| e.into_inner()));
        moves.sort_by(|a, b| a.1.cmp(&b.1));
        let written = moves.len()
            + self
                .created_files
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len();
        let mut files: HashMap<String, Hash> = if self.complete {
            HashMap::new()
        } else {
            std::mem::take(&mut self.previous.files)
        };
        let mut removals = Vec::new();
        if self.complete {
            let keep: HashSet<&str> = produced.iter().map(|(p, _)| p.as_str()).collect();
            removals = self
                .previous
                .files
                .keys()
                .filter(|p| !keep.contains(p.as_str()))
                .cloned()
                .collect();
            removals.sort();
        }
        let total = produced.len();
        files.extend(produced);
        let manifest = Manifest {
            fingerprint: fingerprint.unwrap_or_default().to_string(),
            files,
        };
        let mut journal = Journal {
            fresh: false,
            moves,
            removals,
            manifest: fingerprint.is_some(),
        };
        let mut removed = 0;
        if self.fresh || !self.complete || (journal.moves.is_empty() && journal.removals.is_empty())
        {
            // No journal when there is nothing to keep whole (a fresh
            // build's own journal covers it; `serve` rebuilds into a
            // temporary folder that no build reopens), or when at most the
            // manifest changes: one rename, atomic by itself.
            journal.manifest = false;
            journal.install(&self.root, false)?;
            if fingerprint.is_some() {
                manifest
                    .write(&self.root)
                    .map_err(|e| SiteError::io(&self.root.join(MANIFEST), e))?;
            }
            Journal::close(&self.root);
        } else {
            self.make_staging()?;
            if fingerprint.is_some() {
                let path = self.staging.join(STAGED_MANIFEST);
                fs::write(&path, manifest.text()).map_err(|e| SiteError::io(&path, e))?;
            }
            let path = self.root.join(JOURNAL);
            journal
                .write(&self.root)
                .map_err(|e| SiteError::io(&path, e))?;
            self.journaled = true;
            removed = journal.install(&self.root, false)?;
            Journal::close(&self.root);
        }
        self.committed = true;
        if let Some(signal) = interrupt::received() {
            interrupt::set_may_die(true);
            return Err(SiteError::Interrupted {
                signal,
                output: self.root.clone(),
                finished: true,
            });
        }
        Ok((
            WriteStats {
                total,
                written,
                removed,
            },
            manifest,
        ))
    }

    /// Stages `bytes` for `path`, to be moved in by the commit.
    fn stage(&self, path: &str, bytes: &[u8]) -> Result<(), SiteError> {
        self.make_staging()?;
        // Staged files are numbered in one flat folder: no folders to make
        // until the commit, and names that cannot clash.
        let name = self.next_name.fetch_add(1, Ordering::Relaxed).to_string();
        let staged = self.staging.join(&name);
        fs::write(&staged, bytes).map_err(|e| SiteError::io(&staged, e))?;
        self.staged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name, path.to_string()));
        Ok(())
    }
}

impl Sink for Stager {
    fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), SiteError> {
        self.check()?;
        let h = hash(&bytes);
        self.produced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((path.to_string(), h));
        let target = self.root.join(path);
        if !self.fresh {
            if self.previous.files.get(path) == Some(&h) && target.is_file() {
                return Ok(());
            }
            return self.stage(path, &bytes);
        }
        // A fresh build writes in place (one file creation instead of two,
        // and no lookup first; creating files dominates cold builds).
        if let Some(parent) = target.parent() {
            self.ensure_dir(parent)
                .map_err(|e| SiteError::io(parent, e))?;
        }
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
        {
            Ok(mut f) => {
                self.created_files
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(target.clone());
                f.write_all(&bytes).map_err(|e| SiteError::io(&target, e))
            }
            // Written twice (the commit refuses that) or by someone else.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self.stage(path, &bytes),
            Err(e) => Err(SiteError::io(&target, e)),
        }
    }

    fn check(&self) -> Result<(), SiteError> {
        match interrupt::received() {
            None => Ok(()),
            Some(signal) => {
                // Stop here and clean up; a second signal need not wait for that.
                interrupt::set_may_die(true);
                Err(SiteError::Interrupted {
                    signal,
                    output: self.root.clone(),
                    finished: false,
                })
            }
        }
    }
}

impl Drop for Stager {
    fn drop(&mut self) {
        if !self.journaled && !self.committed {
            for f in self
                .created_files
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .drain(..)
            {
                let _ = fs::remove_file(f);
            }
            let _ = fs::remove_dir_all(&self.staging);
            let _ = fs::remove_file(self.root.join(format!("{JOURNAL}{TMP_SUFFIX}")));
            if self.fresh {
                let _ = fs::remove_file(self.root.join(JOURNAL));
            }
            let mut dirs = std::mem::take(
                self.created_dirs
                    .get_mut()
                    .unwrap_or_else(|e| e.into_inner()),
            );
            // Deepest first; only folders that are empty again.
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            for d in dirs {
                let _ = fs::remove_dir(d);
            }
        }
        interrupt::set_may_die(true);
    }
}

fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Fingerprint of everything a build reads: file names, sizes and
/// modification times under the given folders, plus the build options.
pub fn fingerprint(paths: &[PathBuf], options: &str) -> String {
    let mut entries: Vec<String> = Vec::new();
    for p in paths {
        for entry in walkdir::WalkDir::new(p)
            .follow_links(true)
            .into_iter()
            .filter_map(Result::ok)
        {
            if let Ok(meta) = entry.metadata() {
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                entries.push(format!(
                    "{}\0{}\0{}\0{}",
                    entry.path().display(),
                    meta.is_dir(),
                    meta.len(),
                    mtime
                ));
            }
        }
    }
    entries.sort();
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION"));
    h.update([0]);
    h.update(options);
    for e in entries {
        h.update([0]);
        h.update(e);
    }
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_build_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let s = Stager::open(&out).unwrap();
        s.put("a/b/index.html", b"x".to_vec()).unwrap();
        drop(s);
        assert!(!out.join("a").exists());
        assert!(!out.exists());
    }

    #[test]
    fn commit_writes_changes_and_removes_stale() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let s = Stager::open(&out).unwrap();
        s.put("a/index.html", b"one".to_vec()).unwrap();
        s.put("b/index.html", b"two".to_vec()).unwrap();
        let st = s.commit("f1").unwrap();
        assert_eq!((st.total, st.written, st.removed), (2, 2, 0));
        let s = Stager::open(&out).unwrap();
        s.put("a/index.html", b"one".to_vec()).unwrap();
        let st = s.commit("f2").unwrap();
        assert_eq!((st.total, st.written, st.removed), (1, 0, 1));
        assert!(!out.join("b").exists());
        assert_eq!(fs::read(out.join("a/index.html")).unwrap(), b"one");
    }

    #[test]
    fn refuses_foreign_folder_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("precious.txt"), "x").unwrap();
        assert!(matches!(
            Stager::open(dir.path()),
            Err(SiteError::ForeignOutput(_))
        ));
        let out = dir.path().join("public");
        let s = Stager::open(&out).unwrap();
        s.put("x.html", b"1".to_vec()).unwrap();
        s.put("x.html", b"2".to_vec()).unwrap();
        assert!(s.commit("f").is_err());
        assert!(!out.join("x.html").exists());
    }

    #[test]
    fn nothing_is_in_sight_before_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let s = Stager::open(&out).unwrap();
        s.put("a/index.html", b"one".to_vec()).unwrap();
        s.commit("f1").unwrap();
        let s = Stager::open(&out).unwrap();
        s.put("a/index.html", b"two".to_vec()).unwrap();
        s.put("b/index.html", b"new".to_vec()).unwrap();
        // Rendered, not committed: the folder still shows the last build.
        assert_eq!(fs::read(out.join("a/index.html")).unwrap(), b"one");
        assert!(!out.join("b").exists());
        s.commit("f2").unwrap();
        assert_eq!(fs::read(out.join("a/index.html")).unwrap(), b"two");
        assert_eq!(fs::read(out.join("b/index.html")).unwrap(), b"new");
        assert!(!out.join(STAGING).exists() && !out.join(JOURNAL).exists());
    }

    #[test]
    fn journal_round_trips_and_refuses_paths_outside_the_folder() {
        let j = Journal {
            fresh: false,
            moves: vec![("0".into(), "posts/a b/index.html".into())],
            removals: vec!["old/index.html".into()],
            manifest: true,
        };
        assert_eq!(Journal::parse(&j.text()), Some(j.clone()));
        // Cut short, or naming a path outside: not a journal to act on.
        let text = j.text();
        assert_eq!(Journal::parse(text.trim_end_matches("end\n")), None);
        for bad in ["move 0 ../x", "move 0 /etc/x", "remove ../../x", "move x a"] {
            assert_eq!(
                Journal::parse(&format!("{JOURNAL_HEADER}\n{bad}\nend\n")),
                None,
                "{bad}"
            );
        }
    }

    /// Stages `files` and writes the journal, as a commit does before it
    /// starts moving files.
    fn journaled(out: &Path, files: &[(&str, &[u8])], removals: &[&str]) -> Journal {
        let staging = out.join(STAGING);
        fs::create_dir_all(&staging).unwrap();
        let mut journal = Journal {
            removals: removals.iter().map(|r| r.to_string()).collect(),
            manifest: true,
            ..Journal::default()
        };
        let mut manifest = Manifest::read(out).unwrap_or_default();
        manifest.fingerprint = "new".into();
        for (n, (path, bytes)) in files.iter().enumerate() {
            fs::write(staging.join(n.to_string()), bytes).unwrap();
            journal.moves.push((n.to_string(), path.to_string()));
            manifest.files.insert(path.to_string(), hash(bytes));
        }
        for r in removals {
            manifest.files.remove(*r);
        }
        fs::write(staging.join(STAGED_MANIFEST), manifest.text()).unwrap();
        journal.write(out).unwrap();
        journal
    }

    #[test]
    fn the_next_build_finishes_a_commit_that_was_killed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let s = Stager::open(&out).unwrap();
        s.put("a/index.html", b"old a".to_vec()).unwrap();
        s.put("b/index.html", b"old b".to_vec()).unwrap();
        s.put("gone/index.html", b"stale".to_vec()).unwrap();
        s.commit("old").unwrap();
        let journal = journaled(
            &out,
            &[
                ("a/index.html", b"new a"),
                ("b/index.html", b"new b"),
                ("c/x.html", b"new c"),
            ],
            &["gone/index.html"],
        );
        // Killed after moving the first file.
        fs::rename(out.join(STAGING).join("0"), out.join("a/index.html")).unwrap();
        assert_eq!(fs::read(out.join("b/index.html")).unwrap(), b"old b");
        let note = recover(&out).unwrap().expect("a repair");
        assert!(note.contains("stopped while it was writing"), "{note}");
        assert_eq!(fs::read(out.join("a/index.html")).unwrap(), b"new a");
        assert_eq!(fs::read(out.join("b/index.html")).unwrap(), b"new b");
        assert_eq!(fs::read(out.join("c/x.html")).unwrap(), b"new c");
        assert!(!out.join("gone").exists());
        assert!(!out.join(STAGING).exists() && !out.join(JOURNAL).exists());
        // The manifest lists the new build, vouching neither for the
        // inputs nor for the moved files: the next render checks them all.
        let m = Manifest::read(&out).unwrap();
        assert_eq!(m.fingerprint, "");
        assert_eq!(m.files.len(), 3);
        for (_, path) in &journal.moves {
            assert_eq!(m.files[path], UNKNOWN, "{path}");
        }
        assert_eq!(recover(&out).unwrap(), None);
        // A build after it writes every one of them again.
        let s = Stager::open(&out).unwrap();
        for (p, b) in [
            ("a/index.html", "new a"),
            ("b/index.html", "new b"),
            ("c/x.html", "new c"),
        ] {
            s.put(p, b.as_bytes().to_vec()).unwrap();
        }
        let st = s.commit("next").unwrap();
        assert_eq!((st.total, st.written, st.removed), (3, 3, 0));
    }

    #[test]
    fn a_first_build_killed_mid_commit_is_finished_too() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        fs::create_dir(&out).unwrap();
        journaled(&out, &[("index.html", b"home")], &[]);
        // Not a foreign folder: the journal says whose it is.
        let s = Stager::open(&out).unwrap();
        assert!(s.repaired().is_some());
        assert_eq!(fs::read(out.join("index.html")).unwrap(), b"home");
    }

    #[test]
    fn the_next_build_removes_what_a_killed_render_staged() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let s = Stager::open(&out).unwrap();
        s.put("a/index.html", b"one".to_vec()).unwrap();
        s.commit("f1").unwrap();
        let before = fs::read(out.join(MANIFEST)).unwrap();
        fs::create_dir(out.join(STAGING)).unwrap();
        fs::write(out.join(STAGING).join("0"), "half").unwrap();
        fs::write(out.join(format!("{JOURNAL}{TMP_SUFFIX}")), "stoa-jour").unwrap();
        let note = recover(&out).unwrap().expect("a repair");
        assert!(note.contains("before it changed anything"), "{note}");
        assert!(!out.join(STAGING).exists());
        assert!(!out.join(format!("{JOURNAL}{TMP_SUFFIX}")).exists());
        assert_eq!(fs::read(out.join(MANIFEST)).unwrap(), before);
        assert_eq!(fs::read(out.join("a/index.html")).unwrap(), b"one");
    }

    #[test]
    fn a_damaged_journal_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(JOURNAL), "stoa-journal 1\nmove 0 a\n").unwrap();
        let e = recover(dir.path()).unwrap_err();
        assert!(matches!(e, SiteError::DamagedOutput(_)));
        assert!(e.to_string().contains("remove the folder and build again"));
    }

    #[test]
    fn a_killed_first_build_is_removed_whole_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let s = Stager::open(&out).unwrap();
        s.put("a/index.html", b"one".to_vec()).unwrap();
        s.put("b/c/index.html", b"two".to_vec()).unwrap();
        // Killed: no destructor runs.
        std::mem::forget(s);
        assert!(out.join("a/index.html").is_file());
        let note = recover(&out).unwrap().expect("a repair");
        assert!(note.contains("what it had written was removed"), "{note}");
        assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
        // The next build is a first build again, and finishes.
        let s = Stager::open(&out).unwrap();
        s.put("a/index.html", b"one".to_vec()).unwrap();
        s.commit("f").unwrap();
        assert_eq!(recover(&out).unwrap(), None);
        let names: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(out.join(MANIFEST).is_file() && out.join("a/index.html").is_file());
    }

    #[test]
    fn a_killed_rebuild_changes_nothing_in_sight() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let s = Stager::open(&out).unwrap();
        s.put("a/index.html", b"one".to_vec()).unwrap();
        s.commit("f1").unwrap();
        let before = fs::read(out.join(MANIFEST)).unwrap();
        let s = Stager::open(&out).unwrap();
        s.put("a/index.html", b"two".to_vec()).unwrap();
        s.put("new/index.html", b"new".to_vec()).unwrap();
        std::mem::forget(s);
        assert_eq!(fs::read(out.join("a/index.html")).unwrap(), b"one");
        assert!(!out.join("new").exists());
        assert!(recover(&out).unwrap().is_some());
        assert!(!out.join(STAGING).exists());
        assert_eq!(fs::read(out.join(MANIFEST)).unwrap(), before);
    }
}
