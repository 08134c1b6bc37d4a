//! `stoa import`: another blog or account brought in as stoa posts. One
//! file per source ([`static_site`] for Hugo and Jekyll, [`mastodon`] for
//! a Mastodon archive, [`feed`] for RSS, Atom and JSON Feed); what they
//! share is here: the report, the [`Writer`] that never overwrites a file
//! and writes nothing on `--dry-run`, and the record in `published.toml`
//! that keeps `stoa publish` from announcing imported posts.

pub mod feed;
mod html;
pub mod mastodon;
pub mod static_site;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::content::front_matter::{self, FrontMatter};
use crate::content::library;
use crate::error::SiteError;
use crate::publish::log::PublishLog;

pub use static_site::Kind;

/// Why an import stopped before writing anything.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading or writing the site.
    #[error(transparent)]
    Site(#[from] SiteError),
    /// The Mastodon archive cannot be read, or is forged.
    #[error(transparent)]
    Archive(#[from] mastodon::ArchiveError),
    /// The feed cannot be read.
    #[error(transparent)]
    Feed(#[from] feed::FeedError),
}

/// One post or page written (or that would be, with `--dry-run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Where it came from: a file of the old site, an archive entry, a feed item.
    pub from: String,
    /// The file in the stoa site, relative to its root.
    pub to: PathBuf,
    /// What the writer should look at in this file (shortcodes left as
    /// written, media that could not be brought over).
    pub warnings: Vec<String>,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Report {
    /// Posts and pages written.
    pub imported: Vec<Imported>,
    /// Entries left out, and why (a front matter error, a file already
    /// there, a boost, a followers-only post).
    pub skipped: Vec<(String, String)>,
    /// Other files copied (media, bundle files, static files).
    pub copied: usize,
    /// Slugs of the imported posts (drafts aside), recorded in
    /// `published.toml` so no publish announces them.
    pub posts: BTreeSet<String>,
    /// Problems that concern no single post (the profile, the archive).
    pub notes: Vec<String>,
    /// Settings written to stoa.toml (the profile taken over).
    pub settings: Vec<String>,
}

/// Writes an import into a site: never over an existing file (nor twice
/// to one path), nothing at all on a dry run; keeps the [`Report`].
#[derive(Debug)]
pub struct Writer {
    root: PathBuf,
    dry_run: bool,
    taken: BTreeSet<PathBuf>,
    /// Folders made (or found) so far: one `mkdir` per folder, not per file.
    folders: BTreeSet<PathBuf>,
    /// What was done so far.
    pub report: Report,
}

impl Writer {
    /// Whether nothing is to be written.
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// A writer into the site at `root`.
    pub fn new(root: &Path, dry_run: bool) -> Writer {
        Writer {
            root: root.to_path_buf(),
            dry_run,
            taken: BTreeSet::new(),
            folders: BTreeSet::new(),
            report: Report::default(),
        }
    }

    /// Whether `rel` is already in the site or written by this import.
    pub fn exists(&self, rel: &Path) -> bool {
        self.taken.contains(rel) || self.root.join(rel).exists()
    }

    /// Writes a Markdown file with stoa's TOML front matter (`body` as it
    /// should follow the closing `+++`); a post's slug is recorded so no
    /// publish announces it. Returns false (and says why) when `to` is taken.
    pub fn markdown(
        &mut self,
        from: &str,
        to: PathBuf,
        meta: &FrontMatter,
        body: &str,
        is_post: bool,
        warnings: Vec<String>,
    ) -> Result<bool, SiteError> {
        if !self.claim(from, &to) {
            return Ok(false);
        }
        let text = format!("+++\n{}+++\n{body}", front_matter::to_toml(meta));
        self.put(&to, text.as_bytes())?;
        if is_post && !meta.draft {
            let slug = meta
                .slug
                .clone()
                .unwrap_or_else(|| library::slug_from_path(&to));
            self.report.posts.insert(slug);
        }
        self.report.imported.push(Imported {
            from: from.to_string(),
            to,
            warnings,
        });
        Ok(true)
    }

    /// Copies a file into the site; false (and said) when `to` is taken.
    pub fn copy(&mut self, from: &str, source: &Path, to: PathBuf) -> Result<bool, SiteError> {
        if !self.claim(from, &to) {
            return Ok(false);
        }
        if !self.dry_run {
            let dest = self.root.join(&to);
            self.make_parent(&dest)?;
            std::fs::copy(source, &dest).map_err(|e| SiteError::io(source, e))?;
        }
        self.report.copied += 1;
        Ok(true)
    }

    /// Writes bytes (a downloaded image, an archive entry) as a file of the
    /// site; false (and said) when `to` is taken.
    pub fn bytes(&mut self, from: &str, to: PathBuf, bytes: &[u8]) -> Result<bool, SiteError> {
        if !self.claim(from, &to) {
            return Ok(false);
        }
        self.put(&to, bytes)?;
        self.report.copied += 1;
        Ok(true)
    }

    /// Leaves an entry out, saying why.
    pub fn skip(&mut self, from: impl Into<String>, why: impl Into<String>) {
        self.report.skipped.push((from.into(), why.into()));
    }

    /// Ends the import: records the imported posts in `published.toml`
    /// (not on a dry run) and hands the report over.
    pub fn finish(self) -> Result<Report, SiteError> {
        if !self.dry_run && !self.report.posts.is_empty() {
            record_imported(&self.root, &self.report.posts, Timestamp::now())?;
        }
        Ok(self.report)
    }

    fn claim(&mut self, from: &str, to: &Path) -> bool {
        if self.exists(to) {
            self.skip(from, format!("{} is already there", to.display()));
            return false;
        }
        self.taken.insert(to.to_path_buf());
        true
    }

    fn put(&mut self, to: &Path, bytes: &[u8]) -> Result<(), SiteError> {
        if self.dry_run {
            return Ok(());
        }
        let path = self.root.join(to);
        self.make_parent(&path)?;
        std::fs::write(&path, bytes).map_err(|e| SiteError::io(&path, e))
    }

    fn make_parent(&mut self, path: &Path) -> Result<(), SiteError> {
        if let Some(parent) = path.parent()
            && !self.folders.contains(parent)
        {
            std::fs::create_dir_all(parent).map_err(|e| SiteError::io(parent, e))?;
            self.folders.insert(parent.to_path_buf());
        }
        Ok(())
    }
}

/// Records `slugs` as imported in the site's `published.toml`: `stoa
/// publish` then adds them to what the companion knows without sending
/// them to anyone, also on a blog that has published before.
pub fn record_imported(
    root: &Path,
    slugs: &BTreeSet<String>,
    now: Timestamp,
) -> Result<(), SiteError> {
    let mut log = PublishLog::load(root)?;
    for slug in slugs {
        log.imported.entry(slug.clone()).or_insert(now);
    }
    log.save(root)
        .map_err(|e| SiteError::io(&PublishLog::path(root), e))
}

/// Every file under `dir` (none when it is missing), with its path in it,
/// sorted; hidden files are left out.
pub fn files(dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, SiteError> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for e in walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
    {
        let e = e.map_err(|e| SiteError::io(dir, e.into()))?;
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(dir).unwrap_or(e.path()).to_path_buf();
            out.push((e.path().to_path_buf(), rel));
        }
    }
    Ok(out)
}
