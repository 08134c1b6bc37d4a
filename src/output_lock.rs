//! One writer at a time for an output folder. `stoa build`, `stoa publish`
//! and the companion's re-render (`stoa inbox --site`) may run on the same
//! site; two commits into one folder at once would mix their files and
//! manifests. Each build therefore holds an exclusive lock on
//! `.stoa-lock` in the output folder (beside the commit journal; never
//! served nor deployed, like every `.stoa` file) from before it repairs a
//! stopped build until its commit is done. The lock is the operating
//! system's (`flock`): a writer that dies, even with SIGKILL, releases it.
//! A second writer waits, told who holds it: the lock file names the
//! holder's process id and command line.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::SiteError;

/// The lock file inside the output folder.
pub const LOCK: &str = ".stoa-lock";

/// Held while a build writes the output folder; released when dropped.
#[derive(Debug)]
pub struct OutputLock {
    file: File,
    /// The output folder.
    root: PathBuf,
    /// Whether this lock made the folder.
    made_folder: bool,
    /// Whether this lock made the lock file. When no build of stoa's is in
    /// the folder afterwards (no manifest, no journal: a first build that
    /// failed, or a folder stoa refused as not its own), the file goes
    /// again, and the folder with it when this lock made it: a failed
    /// build leaves nothing behind.
    made_file: bool,
}

impl OutputLock {
    /// Takes the lock of the output folder `root` (made when missing),
    /// waiting as long as another writer holds it; `waiting` is told once,
    /// with that writer's description, before the wait begins.
    pub fn acquire(root: &Path, waiting: impl FnOnce(&str)) -> Result<OutputLock, SiteError> {
        let made_folder = !root.exists();
        let path = root.join(LOCK);
        let made_file = !path.exists();
        let mut waiting = Some(waiting);
        let mut file = loop {
            std::fs::create_dir_all(root).map_err(|e| SiteError::io(root, e))?;
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| SiteError::io(&path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    if let Some(tell) = waiting.take() {
                        tell(if holder.is_empty() {
                            "another stoa"
                        } else {
                            holder
                        });
                    }
                    file.lock().map_err(|e| SiteError::io(&path, e))?;
                }
                Err(TryLockError::Error(e)) => return Err(SiteError::io(&path, e)),
            }
            // The writer before may have removed the file (and the folder
            // it had made) while this one waited: lock the file in place.
            if is_same_file(&file, &path) {
                break file;
            }
        };
        // Who holds it now, for the next writer's message.
        let me = format!(
            "process {} ({})",
            std::process::id(),
            std::env::args().collect::<Vec<_>>().join(" ")
        );
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(me.as_bytes()));
        Ok(OutputLock {
            file,
            root: root.to_path_buf(),
            made_folder,
            made_file,
        })
    }
}

/// Whether the open `file` is the one at `path` now.
fn is_same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let stoa_built = [crate::output::MANIFEST, crate::output::JOURNAL]
            .iter()
            .any(|f| self.root.join(f).exists());
        if self.made_file && !stoa_built {
            // A writer waiting on the removed file notices and starts over.
            let _ = std::fs::remove_file(self.root.join(LOCK));
            if self.made_folder {
                let _ = std::fs::remove_dir(&self.root);
            }
        }
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_waits_for_the_first_and_is_told_who_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let first = OutputLock::acquire(&out, |_| panic!("nobody holds it yet")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let out2 = out.clone();
        let second = std::thread::spawn(move || {
            let told = std::sync::Mutex::new(String::new());
            let lock = OutputLock::acquire(&out2, |holder| {
                *told.lock().unwrap() = holder.to_string();
                tx.send(()).unwrap();
            })
            .unwrap();
            // The first writer's file is in place when the second gets in.
            assert!(out2.join("first").exists());
            drop(lock);
            told.into_inner().unwrap()
        });
        rx.recv().unwrap();
        std::fs::write(out.join("first"), "done").unwrap();
        drop(first);
        let told = second.join().unwrap();
        assert!(
            told.contains(&format!("process {}", std::process::id())),
            "{told}"
        );
    }

    #[test]
    fn without_a_build_of_stoa_in_the_folder_the_lock_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        drop(OutputLock::acquire(&out, |_| {}).unwrap());
        assert!(!out.exists(), "a folder made only for the lock");
        // A folder that is not stoa's keeps only what it had.
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("important.doc"), "x").unwrap();
        drop(OutputLock::acquire(&out, |_| {}).unwrap());
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
        // A build's folder keeps its lock file.
        let kept = OutputLock::acquire(&out, |_| {}).unwrap();
        std::fs::write(out.join(crate::output::MANIFEST), "stoa-manifest 1\n").unwrap();
        drop(kept);
        assert!(out.join(LOCK).exists());
    }
}
