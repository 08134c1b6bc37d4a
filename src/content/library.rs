//! The sorted library of posts and pages: every Markdown file under
//! `content/`, its front matter checked, slugs checked for collisions, posts
//! sorted newest first, tags collected.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::content::front_matter::{self, FrontMatter, PostDate};
use crate::error::{Located, SiteError};

/// Folder of the Markdown sources, relative to the site root.
pub const CONTENT_DIR: &str = "content";
/// Sub-folder of `content/` whose files are posts; everything else is a page.
pub const POSTS_DIR: &str = "posts";

/// A dated entry of the blog.
#[derive(Debug, Clone)]
pub struct Post {
    /// Source file relative to the site root, as shown in messages.
    pub source: PathBuf,
    /// Folder holding the source (for images next to it).
    pub source_dir: PathBuf,
    /// URL segment, also the fediverse object id: never change once published.
    pub slug: String,
    /// Front matter.
    pub meta: FrontMatter,
    /// Publication date (from front matter).
    pub date: PostDate,
    /// Markdown body.
    pub body: String,
}

impl Post {
    /// Site path of the HTML page.
    pub fn path(&self) -> String {
        format!("/posts/{}/", self.slug)
    }
}

/// An undated page such as `/about/`.
#[derive(Debug, Clone)]
pub struct Page {
    /// Source file relative to the site root.
    pub source: PathBuf,
    /// Folder holding the source.
    pub source_dir: PathBuf,
    /// Site path, like `/about/`.
    pub path: String,
    /// Front matter.
    pub meta: FrontMatter,
    /// Markdown body.
    pub body: String,
}

/// A tag and the posts carrying it (indices into `Library::posts`, newest first).
#[derive(Debug, Clone)]
pub struct Tag {
    /// Display name (the first spelling in sort order).
    pub name: String,
    /// URL segment.
    pub slug: String,
    /// Posts with this tag, newest first.
    pub posts: Vec<usize>,
}

impl Tag {
    /// Site path of the tag's first page.
    pub fn path(&self) -> String {
        format!("/tags/{}/", self.slug)
    }
}

/// Everything the renderer needs to know about the content.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// Posts, newest first.
    pub posts: Vec<Post>,
    /// Pages, by path.
    pub pages: Vec<Page>,
    /// Tags, by slug.
    pub tags: Vec<Tag>,
    /// Drafts that were left out.
    pub skipped_drafts: usize,
    /// Fediverse accounts resolved by `stoa publish` (from `published.toml`).
    pub mentions: crate::content::markdown::Mentions,
    /// How many follow the blog, as of the last `stoa publish`.
    pub followers: usize,
    /// Public replies, favourites and boosts (from `conversations.toml`).
    pub conversations: crate::conversations::Conversations,
}

/// One Markdown file found under `content/`.
struct Source {
    rel: PathBuf,
    abs: PathBuf,
    is_post: bool,
}

/// Lists the Markdown files under `root/content`, sorted for determinism.
fn find_sources(root: &Path) -> Result<Vec<Source>, SiteError> {
    let content = root.join(CONTENT_DIR);
    if !content.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(&content)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()))
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(&content).to_path_buf();
            SiteError::io(&path, e.into())
        })?;
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file() || !name.ends_with(".md") || name.starts_with('_') {
            continue;
        }
        let abs = entry.path().to_path_buf();
        let in_content = abs.strip_prefix(&content).unwrap_or(&abs).to_path_buf();
        let is_post = in_content.starts_with(POSTS_DIR);
        out.push(Source {
            rel: Path::new(CONTENT_DIR).join(&in_content),
            abs,
            is_post,
        });
    }
    Ok(out)
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with('.')
}

/// Reads and checks every source; all errors are reported together.
pub fn load(root: &Path, include_drafts: bool) -> Result<Library, SiteError> {
    let sources = find_sources(root)?;
    let parsed: Vec<Result<Entry, SiteError>> = sources.par_iter().map(read_entry).collect();
    let mut errors = Vec::new();
    let mut posts = Vec::new();
    let mut pages = Vec::new();
    let mut skipped_drafts = 0;
    for entry in parsed {
        match entry {
            Err(e) => errors.push(e),
            Ok(e) if e.meta.draft && !include_drafts => skipped_drafts += 1,
            Ok(Entry {
                source,
                meta,
                body,
                is_post: true,
                line,
            }) => {
                let Some(date) = meta.date else {
                    errors.push(SiteError::Content(Located::new(
                        &source.rel,
                        line,
                        "this post has no date".into(),
                        Some("add `date = 2024-05-01T09:30:00Z` (or just the day) to the front matter".into()),
                    )));
                    continue;
                };
                let slug = meta
                    .slug
                    .clone()
                    .unwrap_or_else(|| slug_from_path(&source.rel));
                posts.push(Post {
                    source_dir: source.abs.parent().unwrap_or(root).to_path_buf(),
                    source: source.rel,
                    slug,
                    meta,
                    date,
                    body,
                });
            }
            Ok(Entry {
                source, meta, body, ..
            }) => {
                let path = page_path(&source.rel, meta.slug.as_deref());
                pages.push(Page {
                    source_dir: source.abs.parent().unwrap_or(root).to_path_buf(),
                    source: source.rel,
                    path,
                    meta,
                    body,
                });
            }
        }
    }
    check_duplicates(
        posts.iter().map(|p| (p.slug.as_str(), p.source.as_path())),
        "slug",
        &mut errors,
    );
    check_duplicates(
        pages.iter().map(|p| (p.path.as_str(), p.source.as_path())),
        "page address",
        &mut errors,
    );
    SiteError::collect(errors)?;
    posts.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.slug.cmp(&b.slug)));
    pages.sort_by(|a, b| a.path.cmp(&b.path));
    let tags = collect_tags(&posts);
    Ok(Library {
        posts,
        pages,
        tags,
        skipped_drafts,
        mentions: Default::default(),
        followers: 0,
        conversations: crate::conversations::Conversations::load(root)?,
    })
}

/// Reads one post again (for incremental rebuilds): its front matter and body.
pub fn reread(root: &Path, source: &Path) -> Result<(FrontMatter, String), SiteError> {
    let abs = root.join(source);
    let text = std::fs::read_to_string(&abs).map_err(|e| SiteError::io(source, e))?;
    let (fm, body, _) = front_matter::split(&text, source)?;
    Ok((front_matter::parse(fm, source)?, body.to_string()))
}

struct Entry {
    source: Source,
    meta: FrontMatter,
    body: String,
    is_post: bool,
    line: usize,
}

fn read_entry(source: &Source) -> Result<Entry, SiteError> {
    let text = std::fs::read_to_string(&source.abs).map_err(|e| SiteError::io(&source.rel, e))?;
    let (fm, body, _) = front_matter::split(&text, &source.rel)?;
    let meta = front_matter::parse(fm, &source.rel)?;
    Ok(Entry {
        is_post: source.is_post,
        meta,
        body: body.to_string(),
        line: 1,
        source: Source {
            rel: source.rel.clone(),
            abs: source.abs.clone(),
            is_post: source.is_post,
        },
    })
}

/// `content/posts/hello.md` → `hello`; `content/posts/trip/index.md` → `trip`.
fn slug_from_path(rel: &Path) -> String {
    let stem = rel
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = if stem == "index" {
        rel.parent()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or(stem)
    } else {
        stem
    };
    slug::slugify(name)
}

/// `content/about.md` → `/about/`; `content/projects/x.md` → `/projects/x/`.
fn page_path(rel: &Path, slug: Option<&str>) -> String {
    let in_content = rel.strip_prefix(CONTENT_DIR).unwrap_or(rel);
    let mut parts: Vec<String> = in_content
        .parent()
        .map(|p| {
            p.iter()
                .map(|s| slug::slugify(s.to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    let is_index = in_content.file_stem().is_some_and(|s| s == "index");
    match (is_index, slug) {
        (true, Some(s)) if !parts.is_empty() => {
            parts.pop();
            parts.push(s.to_string());
        }
        (true, _) => {}
        (false, s) => parts.push(s.map(str::to_string).unwrap_or_else(|| slug_from_path(rel))),
    }
    if parts.is_empty() {
        "/".to_string()
    } else {
        format!("/{}/", parts.join("/"))
    }
}

fn check_duplicates<'a>(
    items: impl Iterator<Item = (&'a str, &'a Path)>,
    what: &str,
    errors: &mut Vec<SiteError>,
) {
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    let mut dups: Vec<(&str, &Path, &Path)> = Vec::new();
    for (key, path) in items {
        if let Some(first) = seen.insert(key, path) {
            dups.push((key, first, path));
        }
    }
    dups.sort();
    for (key, first, second) in dups {
        errors.push(SiteError::Content(Located::new(
            second,
            1,
            format!("duplicate {what} `{key}`: {} has it too", first.display()),
            Some("give one of them another `slug = \"...\"` in its front matter (a published slug must never change, so rename the newer one)".to_string()),
        )));
    }
}

fn collect_tags(posts: &[Post]) -> Vec<Tag> {
    let mut by_slug: BTreeMap<String, Tag> = BTreeMap::new();
    for (i, post) in posts.iter().enumerate() {
        for name in &post.meta.tags {
            let slug = slug::slugify(name);
            if slug.is_empty() {
                continue;
            }
            let tag = by_slug.entry(slug.clone()).or_insert_with(|| Tag {
                name: name.clone(),
                slug,
                posts: Vec::new(),
            });
            if name < &tag.name {
                tag.name = name.clone();
            }
            if tag.posts.last() != Some(&i) {
                tag.posts.push(i);
            }
        }
    }
    by_slug.into_values().collect()
}

/// Tag slugs of a post, in the order written, without duplicates.
pub fn tag_slugs(post: &Post) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in &post.meta.tags {
        let s = slug::slugify(t);
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_slugs() {
        assert_eq!(
            slug_from_path(Path::new("content/posts/Hello World.md")),
            "hello-world"
        );
        assert_eq!(
            slug_from_path(Path::new("content/posts/trip/index.md")),
            "trip"
        );
        assert_eq!(page_path(Path::new("content/about.md"), None), "/about/");
        assert_eq!(
            page_path(Path::new("content/projects/x.md"), None),
            "/projects/x/"
        );
        assert_eq!(page_path(Path::new("content/now/index.md"), None), "/now/");
    }
}
