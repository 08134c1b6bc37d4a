//! Putting the built site where readers get it: a command the writer
//! configured (`deploy`), or a mirror into a folder (`deploy_dir`).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use walkdir::WalkDir;

/// Runs `command` with `sh -c`, the output folder as `$1` and `$STOA_OUTPUT`.
pub fn run_command(command: &str, output: &Path) -> Result<()> {
    let status = Command::new("sh")
        .arg("-c")
        .arg(command)
        .arg("stoa-deploy")
        .arg(output)
        .env("STOA_OUTPUT", output)
        .status()
        .with_context(|| format!("cannot run the deploy command {command:?}"))?;
    if !status.success() {
        bail!(
            "the deploy command failed ({status}): {command}\n  help: nothing was sent to followers; fix the command (`deploy` under [publish]) or publish with --no-deploy"
        );
    }
    Ok(())
}

/// What a mirror did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Mirrored {
    /// Files written (new or changed).
    pub written: usize,
    /// Files removed (no longer in the site).
    pub removed: usize,
}

/// Makes `dest` hold exactly the files of `src` (internal `.stoa*` files
/// aside): writes new and changed files (temporary file, then rename) and
/// removes files that are gone.
pub fn mirror(src: &Path, dest: &Path) -> Result<Mirrored> {
    let mut m = Mirrored::default();
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let mut keep = std::collections::HashSet::new();
    for entry in WalkDir::new(src).sort_by_file_name() {
        let entry = entry.with_context(|| format!("reading {}", src.display()))?;
        let rel = entry
            .path()
            .strip_prefix(src)
            .unwrap_or(entry.path())
            .to_path_buf();
        if rel.as_os_str().is_empty() || is_internal(&rel) {
            continue;
        }
        let target = dest.join(&rel);
        keep.insert(rel.clone());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)
                .with_context(|| format!("creating {}", target.display()))?;
            continue;
        }
        let bytes = std::fs::read(entry.path())
            .with_context(|| format!("reading {}", entry.path().display()))?;
        if std::fs::read(&target).is_ok_and(|old| old == bytes) {
            continue;
        }
        let tmp = target.with_file_name(format!(
            ".{}.stoa-tmp",
            target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &target).with_context(|| format!("writing {}", target.display()))?;
        m.written += 1;
    }
    let mut stale = Vec::new();
    for entry in WalkDir::new(dest).contents_first(true) {
        let entry = entry.with_context(|| format!("reading {}", dest.display()))?;
        let rel = entry
            .path()
            .strip_prefix(dest)
            .unwrap_or(entry.path())
            .to_path_buf();
        if rel.as_os_str().is_empty() || keep.contains(&rel) {
            continue;
        }
        stale.push((entry.path().to_path_buf(), entry.file_type().is_dir()));
    }
    for (path, is_dir) in stale {
        if is_dir {
            let _ = std::fs::remove_dir(&path);
        } else {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            m.removed += 1;
        }
    }
    Ok(m)
}

fn is_internal(rel: &Path) -> bool {
    rel.components()
        .next()
        .is_some_and(|c| c.as_os_str().to_string_lossy().starts_with(".stoa"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_writes_changes_and_removes_what_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dest) = (dir.path().join("src"), dir.path().join("dest"));
        std::fs::create_dir_all(src.join("a")).unwrap();
        std::fs::write(src.join("a/x.html"), "x").unwrap();
        std::fs::write(src.join(".stoa-manifest"), "m").unwrap();
        std::fs::create_dir_all(dest.join("old")).unwrap();
        std::fs::write(dest.join("old/y.html"), "y").unwrap();
        let m = mirror(&src, &dest).unwrap();
        assert_eq!(
            m,
            Mirrored {
                written: 1,
                removed: 1
            }
        );
        assert_eq!(std::fs::read_to_string(dest.join("a/x.html")).unwrap(), "x");
        assert!(!dest.join("old").exists() && !dest.join(".stoa-manifest").exists());
        assert_eq!(
            mirror(&src, &dest).unwrap(),
            Mirrored::default(),
            "nothing twice"
        );
    }
}
