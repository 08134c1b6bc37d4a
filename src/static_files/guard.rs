//! What a server may show from a folder: nothing a symlink leads to outside
//! it, and no folder that holds the site's private files. Shared by
//! `stoa serve` and the companion's `--site`; paths are compared in their
//! canonical form (symlinks resolved), so `..`, `.` and links cannot hide
//! where a file really is.

use std::path::{Component, Path, PathBuf};

/// `path` made absolute with every symlink resolved, even when its end does
/// not exist yet (a database not created yet, a key given by the
/// environment instead): the longest existing ancestor is canonicalized and
/// the rest appended, with `.` dropped and `..` applied by hand.
pub fn canonical_lenient(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut base = absolute.as_path();
    let mut rest: Vec<Component<'_>> = Vec::new();
    loop {
        if let Ok(canonical) = base.canonicalize() {
            let mut out = canonical;
            for c in rest.iter().rev() {
                match c {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(n) => out.push(n),
                    _ => {}
                }
            }
            return out;
        }
        let (Some(parent), Some(last)) = (base.parent(), base.components().next_back()) else {
            // Nothing of it exists (not even `/`): keep it as given.
            return absolute;
        };
        rest.push(last);
        base = parent;
    }
}

/// Where `path` really is (symlinks followed), if it exists and that is
/// inside `root`, which must be canonical already. `None` for a file a
/// symlink leads to outside `root`, and for a missing one.
pub fn resolve_inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let real = path.canonicalize().ok()?;
    real.starts_with(root).then_some(real)
}

/// A file or folder that must never be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Private {
    /// Where it is (need not exist).
    pub path: PathBuf,
    /// What it is, for the writer: "the site's settings".
    pub what: &'static str,
}

/// The private files and folders that serving `served` would make public:
/// those that are `served` itself or inside it, compared canonically.
pub fn exposed<'a>(served: &Path, private: &'a [Private]) -> Vec<&'a Private> {
    let served = canonical_lenient(served);
    private
        .iter()
        .filter(|p| canonical_lenient(&p.path).starts_with(&served))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(path: PathBuf) -> Private {
        Private {
            path,
            what: "secret",
        }
    }

    #[test]
    fn a_folder_exposes_what_is_in_it_or_below_and_nothing_beside_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("blog");
        std::fs::create_dir_all(root.join("public")).expect("mkdir");
        std::fs::create_dir_all(root.join("secrets")).expect("mkdir");
        std::fs::write(root.join("stoa.toml"), "").expect("write");
        let list = [
            private(root.join("stoa.toml")),
            private(root.join("secrets")),
            // Not created yet: still compared where it will be.
            private(root.join("companion/stoa.db")),
        ];
        assert_eq!(exposed(&root, &list).len(), 3, "the site root");
        assert_eq!(exposed(dir.path(), &list).len(), 3, "an ancestor");
        assert_eq!(exposed(&root.join("public/."), &list).len(), 0);
        assert_eq!(exposed(&root.join("public"), &list).len(), 0);
        assert_eq!(
            exposed(&root.join("public/.."), &list).len(),
            3,
            "`..` is resolved"
        );
        assert_eq!(exposed(&root.join("secrets"), &list), vec![&list[1]]);
        // A database configured inside the output folder.
        let inside = [private(root.join("public/data/../stoa.db"))];
        assert_eq!(exposed(&root.join("public"), &inside).len(), 1);
    }

    #[test]
    fn symlinks_are_resolved_before_comparing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("blog");
        std::fs::create_dir_all(root.join("secrets")).expect("mkdir");
        std::os::unix::fs::symlink(&root, dir.path().join("alias")).expect("symlink");
        let list = [private(dir.path().join("alias/secrets/actor-key.pem"))];
        assert_eq!(exposed(&root, &list).len(), 1, "private path via a link");
        let list = [private(root.join("secrets/actor-key.pem"))];
        assert_eq!(
            exposed(&dir.path().join("alias"), &list).len(),
            1,
            "served folder via a link"
        );
    }

    #[test]
    fn resolving_stays_inside_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().canonicalize().expect("canonical");
        let root = base.join("public");
        std::fs::create_dir_all(root.join("posts")).expect("mkdir");
        std::fs::write(base.join("secret"), "key").expect("write");
        std::fs::write(root.join("index.html"), "hi").expect("write");
        std::os::unix::fs::symlink("../secret", root.join("leak")).expect("symlink");
        std::os::unix::fs::symlink("..", root.join("up")).expect("symlink");
        std::os::unix::fs::symlink("../index.html", root.join("posts/home")).expect("symlink");
        assert_eq!(resolve_inside(&root, &root.join("leak")), None);
        assert_eq!(resolve_inside(&root, &root.join("up/secret")), None);
        assert_eq!(resolve_inside(&root, &root.join("missing")), None);
        assert_eq!(
            resolve_inside(&root, &root.join("posts/home")),
            Some(root.join("index.html"))
        );
    }

    #[test]
    fn lenient_canonical_forms_of_missing_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().canonicalize().expect("canonical");
        assert_eq!(
            canonical_lenient(&dir.path().join("a/./b/../c")),
            base.join("a/c")
        );
        assert_eq!(canonical_lenient(dir.path()), base);
    }
}
