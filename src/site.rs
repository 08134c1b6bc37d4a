//! The build, start to finish: configuration → content → theme → render →
//! atomic commit of the output folder. Used by `stoa build`, `stoa serve`
//! and (later) `stoa publish`, so all three produce the same bytes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::config::{CONFIG_FILE, Config};
use crate::content::library::{self, CONTENT_DIR, Library};
use crate::error::Located;
use crate::error::SiteError;
use crate::federation::Urls;
use crate::federation::documents::Identity;
use crate::output::{self, Stager, WriteStats};
use crate::output_lock::OutputLock;
use crate::publish::log::PublishLog;
use crate::render::{Rendered, Renderer, Sink, theme};

/// Folder of files copied as they are into the output.
pub const STATIC_DIR: &str = "static";

/// Options shared by `build` and `serve` (the same meaning as Zola's flags).
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Output folder; default from `stoa.toml` (`public`).
    pub output: Option<PathBuf>,
    /// Replaces `base_url` from `stoa.toml`.
    pub base_url: Option<String>,
    /// Include posts marked `draft = true`.
    pub drafts: bool,
    /// Render even when no input changed since the last build.
    pub force: bool,
    /// Told (with the other writer's description) when another process is
    /// writing the output folder and this build waits for it.
    pub on_wait: Option<fn(&str)>,
}

/// What a build did, for the one-line summary.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Posts built.
    pub posts: usize,
    /// Pages built.
    pub pages: usize,
    /// Drafts left out.
    pub drafts_skipped: usize,
    /// Files produced, written and removed.
    pub stats: WriteStats,
    /// Non-fatal problems.
    pub warnings: Vec<String>,
    /// True when no input had changed and nothing was rendered.
    pub unchanged: bool,
    /// The output folder.
    pub output: PathBuf,
    /// Wall time.
    pub elapsed: std::time::Duration,
}

/// A full build and the parts it loaded.
pub struct Built {
    /// What the build did.
    pub report: BuildReport,
    /// The content.
    pub library: Library,
    /// The compiled theme.
    pub theme: theme::Theme,
    /// Public key and account date.
    pub identity: Identity,
    /// Every post's list form.
    pub items: Vec<crate::render::context::PostItem>,
    /// The output's manifest after the build.
    pub manifest: output::Manifest,
}

/// A loaded site: configuration and output location resolved.
pub struct Site {
    /// Site root folder.
    pub root: PathBuf,
    /// Validated configuration (with any base URL override applied).
    pub config: Config,
    /// Absolute output folder.
    pub output: PathBuf,
}

impl Site {
    /// Loads `stoa.toml` and applies the command-line overrides.
    pub fn open(root: &Path, opts: &BuildOptions) -> Result<Site, SiteError> {
        let mut config = Config::load(root)?;
        if let Some(url) = &opts.base_url {
            config = config.with_base_url(url)?;
        }
        let output = match &opts.output {
            Some(o) => o.clone(),
            None if config.output_dir.is_absolute() => config.output_dir.clone(),
            None => root.join(&config.output_dir),
        };
        check_output(root, &output)?;
        Ok(Site {
            root: root.to_path_buf(),
            config,
            output,
        })
    }

    /// What must never be published, canonical: the private key, the admin
    /// token, the companion's database and the `secrets/` folder.
    pub fn secrets(&self) -> Vec<PathBuf> {
        let c = &self.config.companion;
        [
            self.root.join("secrets"),
            self.root.join(&c.private_key),
            self.root.join(&c.admin_token_file),
            self.root.join(&c.database),
        ]
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect()
    }

    /// Every file and folder a build reads.
    pub fn inputs(&self) -> Vec<PathBuf> {
        let mut v = vec![
            self.root.join(CONFIG_FILE),
            self.root.join(CONTENT_DIR),
            self.root.join(STATIC_DIR),
            self.root.join("templates"),
            self.root.join("themes").join(&self.config.theme),
            self.root.join(&self.config.fediverse.public_key),
            PublishLog::path(&self.root),
            crate::conversations::Conversations::path(&self.root),
            self.root.join(crate::conversations::AVATAR_DIR),
        ];
        v.retain(|p| p.exists());
        v
    }

    fn fingerprint(&self, opts: &BuildOptions) -> String {
        let options = format!(
            "{}\0{}\0{}",
            self.config.base_url,
            opts.drafts,
            self.output.display()
        );
        output::fingerprint(&self.inputs(), &options)
    }

    /// Builds the site into its output folder.
    pub fn build(&self, opts: &BuildOptions) -> Result<BuildReport, SiteError> {
        let started = Instant::now();
        // One writer at a time (`stoa build`, `stoa publish`, the
        // companion's re-render), held until the commit is done.
        let _lock = OutputLock::acquire(&self.output, |holder| {
            if let Some(tell) = opts.on_wait {
                tell(holder);
            }
        })?;
        // Before the manifest is trusted: a stopped build may have left a
        // commit to finish.
        let repaired = output::recover(&self.output)?;
        let fingerprint = self.fingerprint(opts);
        if !opts.force
            && let Some(m) = output::Manifest::read(&self.output)
            && m.fingerprint == fingerprint
            && m.files_present(&self.output)
        {
            return Ok(BuildReport {
                posts: 0,
                pages: 0,
                drafts_skipped: 0,
                stats: WriteStats {
                    total: m.files.len(),
                    written: 0,
                    removed: 0,
                },
                warnings: repaired.into_iter().collect(),
                unchanged: true,
                output: self.output.clone(),
                elapsed: started.elapsed(),
            });
        }
        let mut report = self
            .build_everything(opts.drafts, Some(&fingerprint), started)?
            .report;
        report.warnings.splice(0..0, repaired);
        Ok(report)
    }

    /// Loads content, theme and key, renders everything and commits the
    /// output (the manifest is written when a fingerprint is given). Shared
    /// by `build` and `serve`, which keeps the loaded parts for partial rebuilds.
    pub fn build_everything(
        &self,
        drafts: bool,
        fingerprint: Option<&str>,
        started: Instant,
    ) -> Result<Built, SiteError> {
        let mut library = library::load(&self.root, drafts)?;
        let log = PublishLog::load(&self.root)?;
        log.apply(&mut library);
        let theme = theme::load(&self.root, &self.config.theme)?;
        let identity = self.identity(&library)?;
        let stager = Stager::open(&self.output)?;
        let repaired = stager.repaired().map(str::to_string);
        let rendered = self.render(&library, &theme, &identity, &stager)?;
        for (slug, deleted) in log.tombstones(&library) {
            let object = crate::federation::objects::tombstone(&self.config, slug, deleted);
            stager.put(
                &Urls::object_path(slug),
                crate::federation::to_bytes(&object),
            )?;
        }
        let (stats, manifest) = stager.finish(fingerprint)?;
        let report = BuildReport {
            posts: library.posts.len(),
            pages: library.pages.len(),
            drafts_skipped: library.skipped_drafts,
            stats,
            warnings: repaired
                .into_iter()
                .chain(rendered.report.warnings)
                .collect(),
            unchanged: false,
            output: self.output.clone(),
            elapsed: started.elapsed(),
        };
        Ok(Built {
            report,
            library,
            theme,
            identity,
            items: rendered.items,
            manifest,
        })
    }

    /// The renderer for this site's content and theme.
    pub fn renderer<'a>(
        &'a self,
        library: &'a Library,
        theme: &'a theme::Theme,
        identity: &'a Identity,
    ) -> Renderer<'a> {
        let actor = Urls::new(&self.config).actor;
        let me = crate::conversations::PersonCtx {
            name: self.config.author.clone(),
            handle: Some(self.config.fediverse.handle()),
            url: self.config.url("/"),
            avatar: self
                .config
                .fediverse
                .avatar
                .as_deref()
                .filter(|a| !a.contains("://"))
                .map(|a| format!("/{}", a.trim_start_matches('/')))
                .unwrap_or_else(|| format!("/{}", crate::conversations::PLACEHOLDER)),
        };
        Renderer {
            config: &self.config,
            library,
            theme,
            static_dirs: vec![self.root.join(STATIC_DIR)],
            identity,
            own_replies: crate::conversations::own_replies(
                &library.conversations,
                &library.posts,
                &self.config,
                &actor,
            ),
            me: (actor, me),
        }
    }

    /// Reads the actor's public key and settles the account date.
    pub fn identity(&self, library: &Library) -> Result<Identity, SiteError> {
        let rel = &self.config.fediverse.public_key;
        let path = self.root.join(rel);
        let hint = format!(
            "make a key pair with `stoa keygen --root {}` (the private half goes to secrets/), or point `public_key` under [fediverse] in stoa.toml at your public key file",
            self.root.display()
        );
        let text = std::fs::read_to_string(&path).map_err(|e| {
            SiteError::Config(Located::new(
                &self.root.join(CONFIG_FILE),
                1,
                format!("cannot read the actor's public key {}: {e}", rel.display()),
                Some(hint.clone()),
            ))
        })?;
        let public_key_pem = crate::signatures::keys::check_public_pem(&text).map_err(|why| {
            SiteError::Config(Located::new(
                &self.root.join(CONFIG_FILE),
                1,
                format!("{}: {why}", rel.display()),
                Some(hint),
            ))
        })?;
        let published = match &self.config.fediverse.created {
            Some(c) => crate::content::front_matter::parse_date(&toml::Value::String(c.clone()))
                .map(|d| d.at.to_string())
                .ok_or_else(|| {
                    SiteError::Config(Located::new(
                        &self.root.join(CONFIG_FILE),
                        1,
                        format!("`created = {c:?}` under [fediverse] is not a date"),
                        Some("write it like `created = 2024-05-01`".into()),
                    ))
                })?,
            None => library
                .posts
                .last()
                .map(|p| p.date.at.to_string())
                .unwrap_or_else(|| "2000-01-01T00:00:00Z".to_string()),
        };
        Ok(Identity {
            public_key_pem,
            published,
        })
    }

    /// Renders everything (pages and static files) into `sink`.
    pub fn render(
        &self,
        library: &Library,
        theme: &theme::Theme,
        identity: &Identity,
        sink: &dyn Sink,
    ) -> Result<Rendered, SiteError> {
        let rendered = self.renderer(library, theme, identity).render_all(sink)?;
        copy_statics(theme, &self.root.join(STATIC_DIR), &self.secrets(), sink)?;
        copy_bundle_assets(library, sink)?;
        copy_avatars(&self.root, library, sink)?;
        Ok(rendered)
    }
}

/// The avatars `conversations.toml` names, served from the blog (never
/// hot-linked), and the placeholder for everyone without one.
fn copy_avatars(root: &Path, library: &Library, sink: &dyn Sink) -> Result<(), SiteError> {
    use crate::conversations::{
        AVATAR_DIR, AVATAR_PATH, Conversations, PLACEHOLDER, PLACEHOLDER_SVG,
    };
    let c = &library.conversations;
    if c.posts.is_empty() {
        return Ok(());
    }
    sink.put(PLACEHOLDER, PLACEHOLDER_SVG.as_bytes().to_vec())?;
    let names: std::collections::BTreeSet<&str> = c
        .people
        .values()
        .filter_map(|p| p.avatar.as_deref())
        .filter(|a| Conversations::is_avatar_name(a))
        .collect();
    for name in names {
        let path = root.join(AVATAR_DIR).join(name);
        // A missing file shows as the placeholder's broken cousin; pull again to fix.
        match std::fs::read(&path) {
            Ok(bytes) => sink.put(&format!("{AVATAR_PATH}/{name}"), bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(SiteError::io(&path, e)),
        }
    }
    Ok(())
}

/// Files next to a post written as a folder (`content/posts/trip/index.md`,
/// `content/posts/trip/photo.jpg`) are published beside its page.
fn copy_bundle_assets(library: &Library, sink: &dyn Sink) -> Result<(), SiteError> {
    for post in &library.posts {
        if post.source.file_name().is_none_or(|n| n != "index.md") {
            continue;
        }
        for entry in walkdir::WalkDir::new(&post.source_dir).sort_by_file_name() {
            let entry = entry.map_err(|e| SiteError::io(&post.source_dir, e.into()))?;
            let name = entry.file_name().to_string_lossy();
            if !entry.file_type().is_file() || name.ends_with(".md") || name.starts_with('.') {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(&post.source_dir)
                .unwrap_or(entry.path())
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(entry.path()).map_err(|e| SiteError::io(entry.path(), e))?;
            sink.put(&format!("posts/{}/{rel}", post.slug), bytes)?;
        }
    }
    Ok(())
}

/// Refuses an output folder that is the site folder, or is inside (or
/// holds) a folder the build reads: a build there would copy into its own
/// input, or a later clean-up would remove what the writer wrote.
fn check_output(root: &Path, output: &Path) -> Result<(), SiteError> {
    use crate::static_files::guard::canonical_lenient;
    let out = canonical_lenient(output);
    let root = canonical_lenient(root);
    let inputs = [CONTENT_DIR, STATIC_DIR, "templates", "themes", "secrets"];
    let clash = if out == root || root.starts_with(&out) {
        Some(root.clone())
    } else {
        inputs
            .iter()
            .map(|i| root.join(i))
            .find(|i| out.starts_with(i) || i.starts_with(&out))
    };
    match clash {
        Some(input) => Err(SiteError::OutputOverlapsInput { output: out, input }),
        None => Ok(()),
    }
}

/// Theme assets first, then the site's `static/` (which wins on a clash).
/// Symlinks are followed, as in `content/`, except into the site's secrets.
fn copy_statics(
    theme: &theme::Theme,
    static_dir: &Path,
    secrets: &[PathBuf],
    sink: &dyn Sink,
) -> Result<(), SiteError> {
    let mut site_files = Vec::new();
    if static_dir.is_dir() {
        for entry in walkdir::WalkDir::new(static_dir)
            .follow_links(true)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| SiteError::io(static_dir, e.into()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            if entry.path_is_symlink() || entry.depth() > 0 {
                let real = entry
                    .path()
                    .canonicalize()
                    .map_err(|e| SiteError::io(entry.path(), e))?;
                if let Some(secret) = secrets.iter().find(|s| real.starts_with(s)) {
                    return Err(SiteError::SecretInStatic {
                        link: entry.path().to_path_buf(),
                        secret: secret.clone(),
                    });
                }
            }
            let rel = entry
                .path()
                .strip_prefix(static_dir)
                .unwrap_or(entry.path())
                .to_string_lossy()
                .replace('\\', "/");
            if rel.split('/').any(|p| p.starts_with('.')) && !rel.starts_with(".well-known/") {
                continue;
            }
            if rel == "_redirects" {
                // Merged into the generated `_redirects` (theirs first).
                continue;
            }
            site_files.push((rel, entry.path().to_path_buf()));
        }
    }
    for f in &theme.statics {
        if !site_files.iter().any(|(rel, _)| *rel == f.name) {
            sink.put(&f.name, f.bytes.clone())?;
        }
    }
    for (rel, path) in site_files {
        let bytes = std::fs::read(&path).map_err(|e| SiteError::io(&path, e))?;
        sink.put(&rel, bytes)?;
    }
    Ok(())
}
