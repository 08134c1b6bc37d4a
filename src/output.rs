//! Atomic, incremental writes into the output folder.
//!
//! Rendered files are staged next to their targets (`*.stoa-tmp`) and only
//! files whose bytes changed are staged at all. [`Stager::commit`] renames
//! them into place and removes files that earlier builds wrote and this one
//! did not; dropping a stager without committing (a failed build) removes
//! the staged files, so the previous output stays exactly as it was.
//!
//! A manifest (`.stoa-manifest`) records a hash per written file, so an
//! unchanged file is recognised without reading it back, and stale files
//! are known without walking the folder. Files stoa did not write are never
//! touched.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::error::SiteError;
use crate::render::Sink;

/// Name of the manifest inside the output folder.
pub const MANIFEST: &str = ".stoa-manifest";
const TMP_SUFFIX: &str = ".stoa-tmp";
const MANIFEST_HEADER: &str = "stoa-manifest 1";

type Hash = [u8; 16];

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

    fn write(&self, root: &Path) -> std::io::Result<()> {
        let mut paths: Vec<&String> = self.files.keys().collect();
        paths.sort();
        let mut text = format!("{MANIFEST_HEADER}\nfingerprint {}\n", self.fingerprint);
        for p in paths {
            text.push_str(&hex::encode(self.files[p]));
            text.push(' ');
            text.push_str(p);
            text.push('\n');
        }
        let tmp = root.join(format!("{MANIFEST}{TMP_SUFFIX}"));
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        drop(f);
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

/// Collects a build's files; see the module documentation.
pub struct Stager {
    root: PathBuf,
    previous: Manifest,
    /// When false, only the files handed in are known: stale files are kept
    /// (used by partial rebuilds in `serve`).
    complete: bool,
    produced: Mutex<Vec<(String, Hash)>>,
    staged: Mutex<Vec<(PathBuf, PathBuf)>>,
    created_files: Mutex<Vec<PathBuf>>,
    created_dirs: Mutex<Vec<PathBuf>>,
    seen_dirs: Mutex<HashSet<PathBuf>>,
    committed: bool,
}

impl Stager {
    /// Opens the output folder `root` for a full build. Refuses a non-empty
    /// folder that stoa did not write.
    pub fn open(root: &Path) -> Result<Stager, SiteError> {
        Self::open_with(root, true)
    }

    /// Opens the output folder for a partial rebuild that knows the
    /// current manifest (kept in memory by `serve`): nothing is read,
    /// nothing is removed.
    pub fn open_partial(root: &Path, previous: Manifest) -> Stager {
        Self::new(root, previous, false)
    }

    fn open_with(root: &Path, complete: bool) -> Result<Stager, SiteError> {
        let previous = match Manifest::read(root) {
            Some(m) => m,
            None => {
                if let Ok(mut entries) = fs::read_dir(root)
                    && entries.next().is_some()
                {
                    return Err(SiteError::ForeignOutput(root.to_path_buf()));
                }
                Manifest::default()
            }
        };
        Ok(Self::new(root, previous, complete))
    }

    fn new(root: &Path, previous: Manifest, complete: bool) -> Stager {
        Stager {
            root: root.to_path_buf(),
            previous,
            complete,
            produced: Mutex::new(Vec::new()),
            staged: Mutex::new(Vec::new()),
            created_files: Mutex::new(Vec::new()),
            created_dirs: Mutex::new(Vec::new()),
            seen_dirs: Mutex::new(HashSet::new()),
            committed: false,
        }
    }

    /// Makes sure `dir` exists, remembering the folders this build created
    /// (so an aborted build removes them). One `mkdir` per new folder and no
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

    /// Moves staged files into place, removes stale ones, writes the manifest.
    pub fn commit(self, fingerprint: &str) -> Result<WriteStats, SiteError> {
        self.finish(Some(fingerprint)).map(|(stats, _)| stats)
    }

    /// Like [`Stager::commit`], and also returns the new manifest; with
    /// `fingerprint: None` the manifest is not written to disk (partial
    /// rebuilds in `serve`, which keep it in memory).
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
        let staged = std::mem::take(&mut *self.staged.lock().unwrap_or_else(|e| e.into_inner()));
        let written = staged.len()
            + self
                .created_files
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len();
        for (tmp, target) in &staged {
            fs::rename(tmp, target).map_err(|e| SiteError::io(target, e))?;
        }
        let mut files: HashMap<String, Hash> = if self.complete {
            HashMap::new()
        } else {
            std::mem::take(&mut self.previous.files)
        };
        let mut removed = 0;
        if self.complete {
            let keep: HashSet<&str> = produced.iter().map(|(p, _)| p.as_str()).collect();
            let mut stale: Vec<&String> = self
                .previous
                .files
                .keys()
                .filter(|p| !keep.contains(p.as_str()))
                .collect();
            stale.sort();
            for p in stale {
                let path = self.root.join(p);
                if fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
                remove_empty_parents(&self.root, &path);
            }
        }
        let total = produced.len();
        files.extend(produced);
        let manifest = Manifest {
            fingerprint: fingerprint.unwrap_or_default().to_string(),
            files,
        };
        if fingerprint.is_some() {
            manifest
                .write(&self.root)
                .map_err(|e| SiteError::io(&self.root.join(MANIFEST), e))?;
        }
        self.committed = true;
        Ok((
            WriteStats {
                total,
                written,
                removed,
            },
            manifest,
        ))
    }
}

impl Sink for Stager {
    fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), SiteError> {
        let h = hash(&bytes);
        self.produced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((path.to_string(), h));
        let target = self.root.join(path);
        if self.previous.files.get(path) == Some(&h) && target.is_file() {
            return Ok(());
        }
        if let Some(parent) = target.parent() {
            self.ensure_dir(parent)
                .map_err(|e| SiteError::io(parent, e))?;
        }
        // A new file replaces nothing, so it is written in place (one file
        // creation instead of two, and no lookup first; creating files
        // dominates cold builds). An aborted build deletes it again.
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
                return f.write_all(&bytes).map_err(|e| SiteError::io(&target, e));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(SiteError::io(&target, e)),
        }
        let mut tmp_name = target.clone().into_os_string();
        tmp_name.push(TMP_SUFFIX);
        let tmp = PathBuf::from(tmp_name);
        fs::write(&tmp, &bytes).map_err(|e| SiteError::io(&tmp, e))?;
        self.staged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((tmp, target));
        Ok(())
    }
}

impl Drop for Stager {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for f in self
            .created_files
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = fs::remove_file(f);
        }
        for (tmp, _) in self
            .staged
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            let _ = fs::remove_file(tmp);
        }
        let mut dirs = std::mem::take(
            self.created_dirs
                .get_mut()
                .unwrap_or_else(|e| e.into_inner()),
        );
        // Deepest first.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            let _ = fs::remove_dir(d);
        }
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
}
