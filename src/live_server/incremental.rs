//! Incremental rebuilds for `stoa serve`. The last library, theme and list
//! forms of all posts stay in memory; when only the text of existing posts
//! changed, just the pages that show those posts are rendered again (the
//! post, its home and tag pages, the feeds it is in). Anything else — a new
//! or deleted file, a changed date, slug or tags, config, templates, static
//! files — takes a full build, which is always correct.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::content::library::{self, Library, POSTS_DIR};
use crate::error::SiteError;
use crate::federation::documents::Identity;
use crate::output::{Manifest, Stager};
use crate::render::context::PostItem;
use crate::render::{Selection, theme::Theme};
use crate::site::{BuildOptions, BuildReport, Site};

/// What a rebuild did.
#[derive(Debug)]
pub enum Rebuilt {
    /// A full build.
    Full(BuildReport),
    /// Only the pages showing the changed posts.
    Partial {
        /// Posts re-read.
        posts: usize,
        /// Files rendered.
        files: usize,
        /// Files whose bytes changed.
        written: usize,
        /// Wall time.
        elapsed: Duration,
    },
}

impl Rebuilt {
    /// Whether any output file changed (so browsers should reload).
    pub fn changed_output(&self) -> bool {
        match self {
            Rebuilt::Full(r) => r.stats.written > 0 || r.stats.removed > 0,
            Rebuilt::Partial { written, .. } => *written > 0,
        }
    }
}

struct State {
    site: Site,
    library: Library,
    theme: Theme,
    identity: Identity,
    items: Vec<PostItem>,
    manifest: Manifest,
}

/// The preview build kept by `serve`.
pub struct Preview {
    root: PathBuf,
    opts: BuildOptions,
    state: Option<State>,
}

impl Preview {
    /// A preview of the site at `root`, built with `opts` (output folder set).
    pub fn new(root: &Path, opts: BuildOptions) -> Self {
        Preview {
            root: root.to_path_buf(),
            opts,
            state: None,
        }
    }

    /// Rebuilds after `changed` paths changed (empty: full build).
    pub fn rebuild(&mut self, changed: &[PathBuf]) -> Result<Rebuilt, SiteError> {
        if let Some(state) = self.state.take() {
            match self.partial(state, changed) {
                Ok(Some((state, rebuilt))) => {
                    self.state = Some(state);
                    return Ok(rebuilt);
                }
                Ok(None) => {}
                Err(e) => return Err(e),
            }
        }
        self.full()
    }

    fn full(&mut self) -> Result<Rebuilt, SiteError> {
        let site = Site::open(&self.root, &self.opts)?;
        // Written to disk too, so the next full build knows its own files.
        let built = site.build_everything(self.opts.drafts, Some("serve"), Instant::now())?;
        self.state = Some(State {
            site,
            library: built.library,
            theme: built.theme,
            identity: built.identity,
            items: built.items,
            manifest: built.manifest,
        });
        Ok(Rebuilt::Full(built.report))
    }

    /// `Ok(None)` when the change needs a full build.
    fn partial(
        &self,
        mut state: State,
        changed: &[PathBuf],
    ) -> Result<Option<(State, Rebuilt)>, SiteError> {
        let started = Instant::now();
        let posts_dir = self.root.join(library::CONTENT_DIR).join(POSTS_DIR);
        let mut indices = Vec::new();
        for path in changed {
            let is_post =
                path.extension().is_some_and(|e| e == "md") && path.starts_with(&posts_dir);
            let Some(i) = state
                .library
                .posts
                .iter()
                .position(|p| self.root.join(&p.source) == *path)
            else {
                return Ok(None);
            };
            if !is_post || !path.is_file() {
                return Ok(None);
            }
            indices.push(i);
        }
        if indices.is_empty() {
            return Ok(None);
        }
        indices.sort_unstable();
        indices.dedup();
        let mut selection = Selection::default();
        for &i in &indices {
            let post = &state.library.posts[i];
            let (meta, body) = library::reread(&self.root, &post.source)?;
            let same_place = meta.date == post.meta.date
                && meta.slug == post.meta.slug
                && meta.tags == post.meta.tags
                && meta.draft == post.meta.draft
                // Old addresses are pages and `_redirects` lines of their own.
                && meta.aliases == post.meta.aliases;
            if !same_place {
                return Ok(None);
            }
            let title_changed =
                meta.title != post.meta.title || meta.description != post.meta.description;
            let post = &mut state.library.posts[i];
            post.meta = meta;
            post.body = body;
            let renderer = state
                .site
                .renderer(&state.library, &state.theme, &state.identity);
            let s = renderer.selection_for_post(i, title_changed);
            selection.posts.extend(s.posts);
            selection.jobs.extend(s.jobs);
        }
        selection.posts.sort_unstable();
        selection.posts.dedup();
        selection.jobs.sort_unstable();
        selection.jobs.dedup();
        let stager = Stager::open_partial(&state.site.output, std::mem::take(&mut state.manifest));
        let renderer = state
            .site
            .renderer(&state.library, &state.theme, &state.identity);
        let rendered = renderer.render(&selection, std::mem::take(&mut state.items), &stager)?;
        let (stats, manifest) = stager.finish(None)?;
        state.manifest = manifest;
        state.items = rendered.items;
        let rebuilt = Rebuilt::Partial {
            posts: indices.len(),
            files: rendered.report.files,
            written: stats.written,
            elapsed: started.elapsed(),
        };
        Ok(Some((state, rebuilt)))
    }
}
