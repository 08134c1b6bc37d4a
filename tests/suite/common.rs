//! Shared helpers: temporary sites, running the binary, reading output trees.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `stoa` command.
pub fn stoa() -> Command {
    Command::cargo_bin("stoa").expect("the stoa binary is built")
}

/// Runs `stoa build` on `root` into `out`.
pub fn build(root: &Path, out: &Path, extra: &[&str]) -> Output {
    stoa()
        .arg("build")
        .arg("--root")
        .arg(root)
        .arg("--output")
        .arg(out)
        .args(extra)
        .output()
        .expect("stoa runs")
}

/// Text of stdout and stderr.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A throwaway site built from (path, contents) pairs.
pub struct TempSite {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
}

impl TempSite {
    /// A minimal valid site with one post and one page.
    pub fn minimal() -> TempSite {
        TempSite::with(&[
            (
                "stoa.toml",
                "base_url = \"https://blog.example.com\"\ntitle = \"Test\"\n[fediverse]\nusername = \"test\"\n",
            ),
            (
                "content/posts/first.md",
                "+++\ntitle = \"First\"\ndate = 2026-01-02T10:00:00Z\ntags = [\"one\"]\n+++\n\nHello *world*.\n",
            ),
            (
                "content/about.md",
                "+++\ntitle = \"About\"\n+++\n\nAbout me.\n",
            ),
        ])
    }

    /// A site with exactly these files, plus the example's public key.
    pub fn with(files: &[(&str, &str)]) -> TempSite {
        let dir = tempfile::tempdir().expect("temp dir");
        let site = TempSite { dir };
        let key = std::fs::read_to_string(repo().join("content-example/actor-key.pub.pem"))
            .expect("example public key");
        site.write("actor-key.pub.pem", &key);
        for (path, text) in files {
            site.write(path, text);
        }
        site
    }

    /// Site root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Default output folder of this site.
    pub fn out(&self) -> PathBuf {
        self.dir.path().join("public")
    }

    /// Writes (or replaces) a file.
    pub fn write(&self, path: &str, text: &str) {
        let p = self.dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

/// Every file under `dir` with its bytes, keyed by relative path.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut map = BTreeMap::new();
    if !dir.exists() {
        return map;
    }
    for e in walkdir::WalkDir::new(dir) {
        let e = e.expect("walk");
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("prefix")
                .to_string_lossy()
                .replace('\\', "/");
            map.insert(rel, std::fs::read(e.path()).expect("read"));
        }
    }
    map
}

/// Copies `content-example/` (without any build output) to a temp folder.
pub fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = repo().join("content-example");
    for e in walkdir::WalkDir::new(&src) {
        let e = e.expect("walk");
        let rel = e.path().strip_prefix(&src).expect("prefix");
        if rel.starts_with("public") {
            continue;
        }
        let to = dir.path().join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&to).expect("mkdir");
        } else {
            std::fs::copy(e.path(), &to).expect("copy");
        }
    }
    dir
}
