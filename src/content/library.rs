//! The sorted library of posts and pages: every Markdown file under
//! `content/`, its front matter checked, slugs checked for collisions, posts
//! sorted newest first, tags collected.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::content::front_matter::{self, FrontMatter, PostDate};
use crate::content::tag_names;
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
    /// Site path of the tag's first page, percent-encoded (a tag in
    /// another script than Latin keeps it: its folder is named in UTF-8).
    pub fn path(&self) -> String {
        tag_names::page_path(&self.slug)
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
                format,
            }) => {
                let Some(date) = meta.date else {
                    let example = match format {
                        front_matter::Format::Toml => "date = 2024-05-01T09:30:00Z",
                        front_matter::Format::Yaml => "date: 2024-05-01T09:30:00Z",
                    };
                    errors.push(SiteError::Content(Located::new(
                        &source.rel,
                        line,
                        "this post has no date".into(),
                        Some(format!(
                            "add `{example}` (or just the day) to the front matter"
                        )),
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
    // An old address that is the new one too (`url: /about/` on the about
    // page) needs no redirect.
    for p in &mut posts {
        let own = crate::render::output_path(&p.path());
        p.meta
            .aliases
            .retain(|a| alias_file(a).as_deref() != Some(own.as_str()));
    }
    for p in &mut pages {
        let own = crate::render::output_path(&p.path);
        p.meta
            .aliases
            .retain(|a| alias_file(a).as_deref() != Some(own.as_str()));
    }
    check_aliases(&posts, &pages, &mut errors);
    SiteError::collect(errors)?;
    posts.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.slug.cmp(&b.slug)));
    pages.sort_by(|a, b| a.path.cmp(&b.path));
    let tags = collect_tags(root, &posts)?;
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
    let (mut meta, format, body) = front_matter::read(&text, source)?;
    if source.starts_with(Path::new(CONTENT_DIR).join(POSTS_DIR)) {
        jekyll_name(&mut meta, format, source);
        // As `load` does: an old address that is the post's own is none.
        let slug = meta.slug.clone().unwrap_or_else(|| slug_from_path(source));
        let own = crate::render::output_path(&format!("/posts/{slug}/"));
        meta.aliases
            .retain(|a| alias_file(a).as_deref() != Some(own.as_str()));
    }
    Ok((meta, body.to_string()))
}

struct Entry {
    source: Source,
    meta: FrontMatter,
    body: String,
    is_post: bool,
    line: usize,
    format: front_matter::Format,
}

fn read_entry(source: &Source) -> Result<Entry, SiteError> {
    let text = std::fs::read_to_string(&source.abs).map_err(|e| SiteError::io(&source.rel, e))?;
    let (mut meta, format, body) = front_matter::read(&text, &source.rel)?;
    if source.is_post {
        jekyll_name(&mut meta, format, &source.rel);
    }
    Ok(Entry {
        is_post: source.is_post,
        meta,
        body: body.to_string(),
        line: 1,
        format,
        source: Source {
            rel: source.rel.clone(),
            abs: source.abs.clone(),
            is_post: source.is_post,
        },
    })
}

/// Jekyll's post names (`2024-05-01-my-post.md`, or a folder named so)
/// give the slug `my-post`, and the date when the front matter has none.
/// Only for YAML front matter: Jekyll writes YAML, and a stoa blog whose
/// TOML posts are named so keeps the addresses it has published.
pub(crate) fn jekyll_name(meta: &mut FrontMatter, format: front_matter::Format, rel: &Path) {
    if format != front_matter::Format::Yaml {
        return;
    }
    let Some((day, rest)) = date_prefix(&slug_from_path(rel)) else {
        return;
    };
    if meta.slug.is_none() && !rest.is_empty() {
        meta.slug = Some(rest);
    }
    if meta.date.is_none() {
        meta.date = front_matter::parse_date(&toml::Value::String(day));
    }
}

/// `2024-05-01-my-post` → (`2024-05-01`, `my-post`).
fn date_prefix(name: &str) -> Option<(String, String)> {
    let (day, rest) = (name.get(..10)?, name.get(10..)?);
    let shaped = day.bytes().enumerate().all(|(i, b)| {
        if i == 4 || i == 7 {
            b == b'-'
        } else {
            b.is_ascii_digit()
        }
    });
    if !shaped || day.parse::<jiff::civil::Date>().is_err() {
        return None;
    }
    let rest = match rest.strip_prefix('-') {
        Some(r) => r,
        None if rest.is_empty() => "",
        None => return None,
    };
    Some((day.to_string(), rest.to_string()))
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

/// The file an old address is answered from: `/2019/old/` and `/2019/old`
/// → `2019/old/index.html`; `/2019/old.html` → `2019/old.html`; `None`
/// for other file names (`/old.php`), which only host rules can redirect.
pub fn alias_file(alias: &str) -> Option<String> {
    let trimmed = alias.trim_matches('/');
    let last = trimmed.rsplit('/').next().unwrap_or("");
    if alias.ends_with('/') || !last.contains('.') {
        Some(format!("{trimmed}/index.html"))
    } else if last.ends_with(".html") || last.ends_with(".htm") {
        Some(trimmed.to_string())
    } else {
        None
    }
}

/// Old addresses must not be the address of a post or page, nor the old
/// address of another one.
fn check_aliases(posts: &[Post], pages: &[Page], errors: &mut Vec<SiteError>) {
    let mut taken: HashMap<String, String> = HashMap::new();
    for p in posts {
        taken.insert(
            crate::render::output_path(&p.path()),
            p.source.display().to_string(),
        );
    }
    for p in pages {
        taken.insert(
            crate::render::output_path(&p.path),
            p.source.display().to_string(),
        );
    }
    let owners = posts
        .iter()
        .map(|p| (&p.meta, &p.source))
        .chain(pages.iter().map(|p| (&p.meta, &p.source)));
    for (meta, source) in owners {
        for alias in &meta.aliases {
            let key =
                alias_file(alias).unwrap_or_else(|| alias.trim_start_matches('/').to_string());
            if let Some(other) = taken.get(&key) {
                errors.push(SiteError::Content(Located::new(
                    source,
                    1,
                    format!("the old address `{alias}` is also the address of {other}"),
                    Some("remove it from `aliases` (or `redirect_from`, `url`, `permalink`): two pages cannot live at one address".into()),
                )));
            } else {
                taken.insert(key, source.display().to_string());
            }
        }
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

/// The tags of all posts, by slug. Spellings of one tag
/// ([`tag_names::identity`]: `Rust` and `rust`) share a page; two
/// different tags whose pages would share a folder (`C++` and
/// `c-plus-plus`) are an error naming both posts.
fn collect_tags(root: &Path, posts: &[Post]) -> Result<Vec<Tag>, SiteError> {
    let mut by_slug: BTreeMap<String, (Tag, usize)> = BTreeMap::new();
    let mut errors = Vec::new();
    for (i, post) in posts.iter().enumerate() {
        for name in &post.meta.tags {
            let slug = tag_names::slug(name);
            if slug.is_empty() {
                continue;
            }
            let (tag, first) = by_slug.entry(slug.clone()).or_insert_with(|| {
                let tag = Tag {
                    name: name.clone(),
                    slug,
                    posts: Vec::new(),
                };
                (tag, i)
            });
            if tag_names::identity(name) != tag_names::identity(&tag.name) {
                errors.push(tag_collision(
                    root,
                    post,
                    name,
                    &posts[*first],
                    &tag.name,
                    &tag.path(),
                ));
                continue;
            }
            if name < &tag.name {
                tag.name = name.clone();
            }
            if tag.posts.last() != Some(&i) {
                tag.posts.push(i);
            }
        }
    }
    SiteError::collect(errors)?;
    Ok(by_slug.into_values().map(|(t, _)| t).collect())
}

/// The error for two different tags whose pages would share `path`: at
/// the line of `post` that names `name`.
fn tag_collision(
    root: &Path,
    post: &Post,
    name: &str,
    other: &Post,
    other_name: &str,
    path: &str,
) -> SiteError {
    let text = std::fs::read_to_string(root.join(&post.source)).unwrap_or_default();
    let line = crate::config::line_of(&text, text.find(name).unwrap_or(0));
    SiteError::Content(Located::new(
        &post.source,
        line,
        format!(
            "tags: `{name}` here and `{other_name}` in {} are different tags, but both would have the page {path}",
            other.source.display()
        ),
        Some(format!(
            "if they are one tag, spell it the same in both posts; if not, rename one of them (`{name}` or `{other_name}`)"
        )),
    ))
}

/// Tag slugs of a post, in the order written, without duplicates.
pub fn tag_slugs(post: &Post) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in &post.meta.tags {
        let s = tag_names::slug(t);
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
    fn jekyll_date_prefix() {
        assert_eq!(
            date_prefix("2024-05-01-my-post"),
            Some(("2024-05-01".into(), "my-post".into()))
        );
        assert_eq!(date_prefix("2024-13-01-x"), None);
        assert_eq!(date_prefix("2024-05-01x"), None);
        assert_eq!(date_prefix("hello"), None);
        assert_eq!(alias_file("/old/").as_deref(), Some("old/index.html"));
        assert_eq!(alias_file("/a/old").as_deref(), Some("a/old/index.html"));
        assert_eq!(alias_file("/a/x.html").as_deref(), Some("a/x.html"));
        assert_eq!(alias_file("/x.php"), None);
    }

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
