//! Pure rendering: library + theme → bytes for every output path. Nothing
//! here writes files; the caller passes a [`Sink`] (the output stager).
//!
//! Two parallel passes keep memory to the size of one page plus a short
//! summary per post: post pages first (each keeps only its list form), then
//! every list, feed and index page, each given only its own slice of posts.

pub mod context;
pub mod feeds;
pub mod theme;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::config::Config;
use crate::content::library::{Library, Post};
use crate::content::markdown::{self, DocContext};
use crate::error::SiteError;
use crate::federation::documents::{self, Identity};
use crate::federation::{self, Urls, objects};
use context::{NavLink, Pager, PostItem, PostPage, SiteCtx, pager_path};
use theme::Theme;

/// Receives rendered files. Implemented by the output stager (and by tests).
pub trait Sink: Sync {
    /// Takes the bytes of the file at `path` (relative, `/`-separated).
    fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), SiteError>;

    /// Fails when the build is to stop (the output stager was asked to by
    /// a signal); checked before each unit of work. Never, by default.
    fn check(&self) -> Result<(), SiteError> {
        Ok(())
    }
}

/// What a render produced besides files.
#[derive(Debug, Default)]
pub struct RenderReport {
    /// Files handed to the sink.
    pub files: usize,
    /// Problems that did not stop the build (missing images, missing alt text).
    pub warnings: Vec<String>,
}

/// Everything the renderer reads.
pub struct Renderer<'a> {
    /// Site settings.
    pub config: &'a Config,
    /// Content.
    pub library: &'a Library,
    /// Compiled theme.
    pub theme: &'a Theme,
    /// Folders where site-absolute image paths are found.
    pub static_dirs: Vec<PathBuf>,
    /// The actor's public key and account date, for the ActivityPub documents.
    pub identity: &'a Identity,
    /// The writer's posts answering replies, by the slug whose thread they join.
    pub own_replies: std::collections::BTreeMap<String, Vec<crate::conversations::Reply>>,
    /// The blog's actor id and how the writer looks in a thread.
    pub me: (String, crate::conversations::PersonCtx),
}

/// A post after the first pass: its list form, and its full HTML when a feed needs it.
struct Summary {
    item: PostItem,
    feed_html: Option<String>,
}

impl Renderer<'_> {
    fn base_context(&self) -> tera::Context {
        let mut ctx = tera::Context::new();
        ctx.insert("site", &SiteCtx::new(self.config));
        ctx
    }

    /// Renders the whole site into `sink`.
    pub fn render_all(&self, sink: &dyn Sink) -> Result<Rendered, SiteError> {
        let all = Selection {
            posts: (0..self.library.posts.len()).collect(),
            jobs: self.list_jobs(),
        };
        self.render(&all, Vec::new(), sink)
    }

    /// Renders the selected post pages and jobs. `previous` holds the list
    /// form of every post from the last render (empty for a full render,
    /// where every post is selected).
    pub fn render(
        &self,
        selection: &Selection,
        previous: Vec<PostItem>,
        sink: &dyn Sink,
    ) -> Result<Rendered, SiteError> {
        let counting = Counting {
            inner: sink,
            files: AtomicUsize::new(0),
        };
        let sink: &dyn Sink = &counting;
        let lib = self.library;
        let warnings = Mutex::new(Vec::new());
        let needs_feed_html = self.feed_members();
        let urls = Urls::new(self.config);
        // Pass 1: post pages and their ActivityPub objects.
        let summaries: Vec<Result<(usize, Summary), SiteError>> = selection
            .posts
            .par_iter()
            .map(|&i| {
                sink.check()?;
                let post = &lib.posts[i];
                let rendered = self.markdown(post);
                if !rendered.warnings.is_empty() {
                    warnings
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(rendered.warnings.iter().cloned());
                }
                let item = PostItem::new(
                    self.config,
                    post,
                    &lib.tags,
                    &rendered.excerpt,
                    Some(&rendered.html),
                );
                let html = self.post_page(i, &item, &rendered)?;
                sink.put(&output_path(&item.path), html.into_bytes())?;
                let cx = self.object_context(&urls);
                let object = objects::object(&cx, post);
                if let Some(shortened) = &object.shortened {
                    warnings
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(shortened.warning(&post.source));
                }
                sink.put(
                    &Urls::object_path(&post.slug),
                    federation::to_bytes(&federation::with_context(object.value)),
                )?;
                for page in documents::reply_pages(&cx, post) {
                    write(sink, page)?;
                }
                Ok((
                    i,
                    Summary {
                        item,
                        feed_html: needs_feed_html[i].then_some(rendered.html),
                    },
                ))
            })
            .collect();
        let mut items: Vec<Option<PostItem>> = previous.into_iter().map(Some).collect();
        items.resize(lib.posts.len(), None);
        let mut feed_html: Vec<Option<String>> = vec![None; lib.posts.len()];
        for s in summaries {
            let (i, summary) = s?;
            items[i] = Some(summary.item);
            feed_html[i] = summary.feed_html;
        }
        let items: Vec<PostItem> = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                item.ok_or_else(|| {
                    SiteError::Template(format!("internal: post {i} was not rendered"))
                })
            })
            .collect::<Result<_, _>>()?;
        // A partial render needs the HTML of the members of the feeds it
        // renders that it did not render itself.
        let n = self.config.feed_items;
        let mut wanted: Vec<usize> = Vec::new();
        for job in &selection.jobs {
            match *job {
                Job::Feeds => wanted.extend(0..n.min(lib.posts.len())),
                Job::TagFeed(t) => wanted.extend(lib.tags[t].posts.iter().take(n)),
                _ => {}
            }
        }
        wanted.sort_unstable();
        wanted.dedup();
        wanted.retain(|&i| feed_html[i].is_none());
        let missing: Vec<(usize, String)> = wanted
            .par_iter()
            .map(|&i| (i, self.markdown(&lib.posts[i]).html))
            .collect();
        for (i, html) in missing {
            feed_html[i] = Some(html);
        }
        let feed_html: Vec<Option<&str>> = feed_html.iter().map(|h| h.as_deref()).collect();

        // Pass 2: everything that lists posts, plus pages.
        selection.jobs.par_iter().try_for_each(|job| {
            sink.check()?;
            self.run_job(job, &items, &feed_html, sink, &warnings)
        })?;
        let files = counting.files.load(Ordering::Relaxed);
        let mut warnings = warnings.into_inner().unwrap_or_else(|e| e.into_inner());
        warnings.sort();
        Ok(Rendered {
            report: RenderReport { files, warnings },
            items,
        })
    }

    /// What to re-render when only post `i` changed and its place in every
    /// list stayed the same (same date, slug and tags). `title_changed`
    /// also redoes its neighbours and the archive, which show its title.
    pub fn selection_for_post(&self, i: usize, title_changed: bool) -> Selection {
        let lib = self.library;
        let per = self.config.posts_per_page;
        let feed = self.config.feed_items;
        let mut posts = vec![i];
        let mut jobs = vec![
            Job::Home(i / per + 1),
            Job::OutboxPage(i / federation::OUTBOX_PAGE_SIZE + 1),
            Job::Featured,
        ];
        if i < feed {
            jobs.push(Job::Feeds);
        }
        for (t, tag) in lib.tags.iter().enumerate() {
            if let Some(pos) = tag.posts.iter().position(|&p| p == i) {
                jobs.push(Job::Tag(t, pos / per + 1));
                if pos < feed {
                    jobs.push(Job::TagFeed(t));
                }
            }
        }
        if title_changed {
            jobs.push(Job::Archive);
            posts.extend(i.checked_sub(1));
            if i + 1 < lib.posts.len() {
                posts.push(i + 1);
            }
        }
        Selection { posts, jobs }
    }

    fn object_context<'b>(&'b self, urls: &'b Urls) -> objects::ObjectContext<'b> {
        objects::ObjectContext {
            config: self.config,
            urls,
            tags: &self.library.tags,
            static_dirs: &self.static_dirs,
            mentions: &self.library.mentions,
            conversations: Some(&self.library.conversations),
        }
    }

    fn markdown(&self, post: &Post) -> markdown::Rendered {
        let page_path = post.path();
        let doc = DocContext {
            flavor: markdown::Flavor::Web,
            source: &post.source,
            static_dirs: &self.static_dirs,
            source_dir: &post.source_dir,
            base_url: &self.config.base_url,
            page_path: &page_path,
            mentions: &self.library.mentions,
        };
        markdown::render(&post.body, &self.config.markdown, &doc)
    }

    /// Which posts appear in some feed (the only ones whose full HTML is kept).
    fn feed_members(&self) -> Vec<bool> {
        let n = self.config.feed_items;
        let mut keep = vec![false; self.library.posts.len()];
        for k in keep.iter_mut().take(n) {
            *k = true;
        }
        for tag in &self.library.tags {
            for &i in tag.posts.iter().take(n) {
                keep[i] = true;
            }
        }
        keep
    }

    fn post_page(
        &self,
        i: usize,
        item: &PostItem,
        rendered: &markdown::Rendered,
    ) -> Result<String, SiteError> {
        let lib = self.library;
        let post = &lib.posts[i];
        let nav = |j: usize| {
            let p = &lib.posts[j];
            NavLink {
                title: p.meta.title.clone().unwrap_or_else(|| {
                    context::untitled_title(p.meta.description.as_deref().unwrap_or("a note"))
                }),
                path: p.path(),
            }
        };
        let description = post
            .meta
            .description
            .clone()
            .unwrap_or_else(|| rendered.excerpt.clone());
        let image = post
            .meta
            .images
            .first()
            .map(|i| i.src.clone())
            .or_else(|| rendered.images.first().map(|i| i.src.clone()))
            .map(|src| self.config.absolute_url(&post.path(), &src));
        let page = PostPage {
            item,
            body: &rendered.html,
            description: &description,
            language: post
                .meta
                .language
                .as_deref()
                .unwrap_or(&self.config.language),
            image,
            newer: i.checked_sub(1).map(nav),
            older: (i + 1 < lib.posts.len()).then(|| nav(i + 1)),
            is_post: true,
            conversation: lib.conversations.for_post(
                &post.slug,
                self.own_replies
                    .get(&post.slug)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
                &self.me,
            ),
        };
        let mut ctx = self.base_context();
        ctx.insert("page", &page);
        self.theme.render("post.html", &ctx)
    }

    fn list_jobs(&self) -> Vec<Job> {
        let per = self.config.posts_per_page;
        let lib = self.library;
        let mut jobs = vec![
            Job::Archive,
            Job::TagIndex,
            Job::NotFound,
            Job::Feeds,
            Job::Sitemap,
            Job::Robots,
            Job::Profile,
            Job::Featured,
        ];
        let outbox_pages = lib
            .posts
            .len()
            .div_ceil(federation::OUTBOX_PAGE_SIZE)
            .max(1);
        jobs.extend((1..=outbox_pages).map(Job::OutboxPage));
        let home_pages = lib.posts.len().div_ceil(per).max(1);
        jobs.extend((1..=home_pages).map(Job::Home));
        for (t, tag) in lib.tags.iter().enumerate() {
            jobs.extend((1..=tag.posts.len().div_ceil(per).max(1)).map(|n| Job::Tag(t, n)));
            jobs.push(Job::TagFeed(t));
        }
        jobs.extend((0..lib.pages.len()).map(Job::Page));
        jobs
    }

    /// Renders one job into `sink`.
    fn run_job(
        &self,
        job: &Job,
        items: &[PostItem],
        feed_html: &[Option<&str>],
        sink: &dyn Sink,
        warnings: &Mutex<Vec<String>>,
    ) -> Result<(), SiteError> {
        match *job {
            Job::Home(n) => self.home(n, items, sink),
            Job::Tag(t, n) => self.tag(t, n, items, sink),
            Job::TagIndex => self.tag_index(sink),
            Job::Archive => self.archive(items, sink),
            Job::NotFound => put(
                sink,
                "404.html",
                self.theme.render("404.html", &self.base_context())?,
            ),
            Job::Page(p) => self.page(p, sink, warnings),
            Job::Feeds => self.feeds(items, feed_html, sink),
            Job::TagFeed(t) => self.tag_feed(t, items, feed_html, sink),
            Job::Sitemap => put(
                sink,
                "sitemap.xml",
                feeds::sitemap(self.config, self.library, items),
            ),
            Job::Profile => self.site_documents(sink),
            Job::OutboxPage(n) => {
                let urls = Urls::new(self.config);
                write(
                    sink,
                    documents::outbox_page(&self.object_context(&urls), &self.library.posts, n),
                )
            }
            Job::Featured => {
                let urls = Urls::new(self.config);
                write(
                    sink,
                    documents::featured(&self.object_context(&urls), &self.library.posts),
                )
            }
            Job::Robots => put(
                sink,
                "robots.txt",
                format!(
                    "User-agent: *\nAllow: /\n\nSitemap: {}\n",
                    self.config.url("/sitemap.xml")
                ),
            ),
        }
    }

    /// Home page `n`.
    fn home(&self, n: usize, items: &[PostItem], sink: &dyn Sink) -> Result<(), SiteError> {
        let per = self.config.posts_per_page;
        let total = items.len().div_ceil(per).max(1);
        let slice = &items[((n - 1) * per).min(items.len())..(n * per).min(items.len())];
        let mut ctx = self.base_context();
        ctx.insert("pager", &pager("/", n, total, slice));
        put(
            sink,
            &output_path(&pager_path("/", n)),
            self.theme.render("index.html", &ctx)?,
        )
    }

    /// Page `n` of tag `t`.
    fn tag(
        &self,
        t: usize,
        n: usize,
        items: &[PostItem],
        sink: &dyn Sink,
    ) -> Result<(), SiteError> {
        let per = self.config.posts_per_page;
        let tag = &self.library.tags[t];
        let total = tag.posts.len().div_ceil(per).max(1);
        let chosen: Vec<PostItem> = tag.posts
            [((n - 1) * per).min(tag.posts.len())..(n * per).min(tag.posts.len())]
            .iter()
            .map(|&i| items[i].clone())
            .collect();
        let base = tag.path();
        let mut ctx = self.base_context();
        ctx.insert(
            "tag",
            &serde_json::json!({"name": tag.name, "slug": tag.slug, "path": base, "count": tag.posts.len(),
                "rss_path": format!("{base}rss.xml")}),
        );
        ctx.insert("pager", &pager(&base, n, total, &chosen));
        put(
            sink,
            &output_path(&pager_path(&base, n)),
            self.theme.render("tag.html", &ctx)?,
        )
    }

    /// The list of tags.
    fn tag_index(&self, sink: &dyn Sink) -> Result<(), SiteError> {
        let tags: Vec<_> = self
            .library
            .tags
            .iter()
            .map(|t| serde_json::json!({"name": t.name, "slug": t.slug, "path": t.path(), "count": t.posts.len()}))
            .collect();
        let mut ctx = self.base_context();
        ctx.insert("tags", &tags);
        put(
            sink,
            "tags/index.html",
            self.theme.render("tags.html", &ctx)?,
        )
    }

    /// Every post by year.
    fn archive(&self, items: &[PostItem], sink: &dyn Sink) -> Result<(), SiteError> {
        let mut years: Vec<(i16, Vec<&PostItem>)> = Vec::new();
        for item in items {
            match years.last_mut() {
                Some((y, list)) if *y == item.date.year => list.push(item),
                _ => years.push((item.date.year, vec![item])),
            }
        }
        let years: Vec<_> = years
            .into_iter()
            .map(|(year, posts)| serde_json::json!({"year": year, "posts": posts}))
            .collect();
        let mut ctx = self.base_context();
        ctx.insert("years", &years);
        ctx.insert("count", &items.len());
        put(
            sink,
            "archive/index.html",
            self.theme.render("archive.html", &ctx)?,
        )
    }

    /// Page `p` (an undated page such as `/about/`).
    fn page(
        &self,
        p: usize,
        sink: &dyn Sink,
        warnings: &Mutex<Vec<String>>,
    ) -> Result<(), SiteError> {
        let config = self.config;
        let lib = self.library;
        let page = &lib.pages[p];
        let page_path = page.path.clone();
        let doc = DocContext {
            flavor: markdown::Flavor::Web,
            source: &page.source,
            static_dirs: &self.static_dirs,
            source_dir: &page.source_dir,
            base_url: &config.base_url,
            page_path: &page_path,
            mentions: &lib.mentions,
        };
        let rendered = markdown::render(&page.body, &config.markdown, &doc);
        if !rendered.warnings.is_empty() {
            warnings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(rendered.warnings.iter().cloned());
        }
        let mut ctx = self.base_context();
        ctx.insert(
            "page",
            &serde_json::json!({
                "title": page.meta.title.clone().unwrap_or_default(),
                "display_title": page.meta.title.clone().unwrap_or_else(|| config.title.clone()),
                "path": page.path,
                "permalink": config.url(&page.path),
                "body": rendered.html,
                "description": page.meta.description.clone().unwrap_or(rendered.excerpt),
                "language": page.meta.language.as_deref().unwrap_or(&config.language),
                "is_post": false,
            }),
        );
        put(
            sink,
            &output_path(&page.path),
            self.theme.render("page.html", &ctx)?,
        )
    }

    /// The site's RSS, Atom and JSON feeds.
    fn feeds(
        &self,
        items: &[PostItem],
        feed_html: &[Option<&str>],
        sink: &dyn Sink,
    ) -> Result<(), SiteError> {
        let config = self.config;
        let n = config.feed_items.min(items.len());
        let entries: Vec<feeds::Entry<'_>> = (0..n)
            .map(|i| feeds::Entry {
                item: &items[i],
                html: feed_html[i].unwrap_or(""),
            })
            .collect();
        let feed = feeds::Feed {
            config,
            title: &config.title,
            path: "/",
            entries: &entries,
        };
        put(sink, "rss.xml", feeds::rss(&feed, "/rss.xml"))?;
        put(sink, "atom.xml", feeds::atom(&feed, "/atom.xml"))?;
        put(sink, "feed.json", feeds::json_feed(&feed, "/feed.json"))
    }

    /// The RSS feed of tag `t`.
    fn tag_feed(
        &self,
        t: usize,
        items: &[PostItem],
        feed_html: &[Option<&str>],
        sink: &dyn Sink,
    ) -> Result<(), SiteError> {
        let config = self.config;
        let tag = &self.library.tags[t];
        let entries: Vec<feeds::Entry<'_>> = tag
            .posts
            .iter()
            .take(config.feed_items)
            .map(|&i| feeds::Entry {
                item: &items[i],
                html: feed_html[i].unwrap_or(""),
            })
            .collect();
        let title = format!("{} — #{}", config.title, tag.name);
        let base = tag.path();
        let feed = feeds::Feed {
            config,
            title: &title,
            path: &base,
            entries: &entries,
        };
        put(
            sink,
            &output_path(&format!("{base}rss.xml")),
            feeds::rss(&feed, &format!("{base}rss.xml")),
        )
    }

    /// The blog-wide ActivityPub and discovery documents, and the host
    /// configuration files (`_headers`, `_redirects`).
    fn site_documents(&self, sink: &dyn Sink) -> Result<(), SiteError> {
        let lib = self.library;
        for doc in documents::site(self.config, self.identity, lib.posts.len(), lib.followers) {
            write(sink, doc)?;
        }
        put(sink, "_headers", crate::content_types::netlify_headers())?;
        // The writer's own `static/_redirects` comes first (the first
        // matching rule wins on Netlify and Cloudflare Pages), then ours.
        let mut redirects = String::new();
        if let Some(dir) = self.static_dirs.first() {
            let theirs = dir.join("_redirects");
            if theirs.is_file() {
                let text =
                    std::fs::read_to_string(&theirs).map_err(|e| SiteError::io(&theirs, e))?;
                redirects.push_str("# From static/_redirects.\n");
                redirects.push_str(&text);
                if !text.ends_with('\n') {
                    redirects.push('\n');
                }
            }
        }
        redirects.push_str(&crate::content_types::netlify_redirects(self.config));
        let moved = self.old_addresses();
        if !moved.is_empty() {
            redirects
                .push_str("# Old addresses (`aliases` in front matter, tag pages that moved).\n");
        }
        for (alias, target) in &moved {
            redirects.push_str(&format!("{alias}  {target}  301\n"));
            if let Some(file) = crate::content::library::alias_file(alias) {
                put(sink, &file, redirect_page(&self.config.url(target)))?;
            }
        }
        put(sink, "_redirects", redirects)
    }

    /// Every old address of a post or page and where it lives now, sorted.
    fn old_addresses(&self) -> Vec<(String, String)> {
        let lib = self.library;
        let mut out: Vec<(String, String)> = lib
            .posts
            .iter()
            .flat_map(|p| p.meta.aliases.iter().map(move |a| (a.clone(), p.path())))
            .chain(lib.pages.iter().flat_map(|p| {
                p.meta
                    .aliases
                    .iter()
                    .map(move |a| (a.clone(), p.path.clone()))
            }))
            .chain(self.old_tag_addresses())
            .collect();
        out.sort();
        out
    }

    /// Tag pages that moved when tags began to keep their script and their
    /// `+` and `#` (`日本` was at `/tags/ri-ben/`, `Node+` at `/tags/node/`):
    /// the old folder, when it is no tag's page now and only one tag had it.
    fn old_tag_addresses(&self) -> Vec<(String, String)> {
        let tags = &self.library.tags;
        let mut old: std::collections::BTreeMap<String, Vec<String>> =
            std::collections::BTreeMap::new();
        for tag in tags {
            let before = slug::slugify(&tag.name);
            if !before.is_empty() && before != tag.slug {
                old.entry(before).or_default().push(tag.path());
            }
        }
        old.into_iter()
            .filter(|(before, now)| now.len() == 1 && !tags.iter().any(|t| &t.slug == before))
            .map(|(before, now)| (format!("/tags/{before}/"), now[0].clone()))
            .collect()
    }
}

/// A page at an old address that sends browsers and search engines to
/// `url`: it works on every host, without host rules.
fn redirect_page(url: &str) -> String {
    let u = crate::text::escape(url);
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Moved</title>\n<link rel=\"canonical\" href=\"{u}\">\n<meta name=\"robots\" content=\"noindex\">\n<meta http-equiv=\"refresh\" content=\"0; url={u}\">\n</head>\n<body>\n<p>This page has moved to <a href=\"{u}\">{u}</a>.</p>\n</body>\n</html>\n"
    )
}

impl Renderer<'_> {}

/// Hands a text file to the sink.
fn put(sink: &dyn Sink, path: &str, text: String) -> Result<(), SiteError> {
    sink.put(path, text.into_bytes())
}

/// Hands a document to the sink.
fn write(sink: &dyn Sink, doc: documents::Document) -> Result<(), SiteError> {
    sink.put(&doc.path, doc.bytes)
}

/// A sink that counts what passes through it, so nobody counts by hand.
struct Counting<'a> {
    inner: &'a dyn Sink,
    files: AtomicUsize,
}

impl Sink for Counting<'_> {
    fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), SiteError> {
        self.inner.put(path, bytes)?;
        self.files.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn check(&self) -> Result<(), SiteError> {
        self.inner.check()
    }
}

fn pager<'a>(base: &str, n: usize, total: usize, items: &'a [PostItem]) -> Pager<'a> {
    Pager {
        number: n,
        total,
        items,
        prev_path: (n > 1).then(|| pager_path(base, n - 1)),
        next_path: (n < total).then(|| pager_path(base, n + 1)),
    }
}

/// What a render did: its report, and the list form of every post (kept
/// by `serve` for the next partial render).
pub struct Rendered {
    /// Files and warnings.
    pub report: RenderReport,
    /// Every post's list form, in library order.
    pub items: Vec<PostItem>,
}

/// The part of the site to render.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Posts whose own page is rendered.
    pub posts: Vec<usize>,
    /// Lists, pages and feeds.
    pub jobs: Vec<Job>,
}

/// Work items of the second pass: each produces one or a few files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Job {
    /// Home page n (1-based).
    Home(usize),
    /// Page n of tag t.
    Tag(usize, usize),
    /// RSS feed of tag t.
    TagFeed(usize),
    /// `/tags/`.
    TagIndex,
    /// `/archive/`.
    Archive,
    /// `404.html`.
    NotFound,
    /// Page p.
    Page(usize),
    /// RSS, Atom and JSON Feed of the whole site.
    Feeds,
    /// `sitemap.xml`.
    Sitemap,
    /// `robots.txt`.
    Robots,
    /// Actor, WebFinger, host-meta, NodeInfo, collections, host config.
    Profile,
    /// Page n of the outbox.
    OutboxPage(usize),
    /// Featured posts.
    Featured,
}

/// `/posts/x/` → `posts/x/index.html`; `/` → `index.html`.
pub fn output_path(site_path: &str) -> String {
    // A site path is a URL path: `%XX` escapes name UTF-8 folders, as
    // every server decodes them (a tag's page `/tags/%E6%97%A5%E6%9C%AC/`).
    let decoded = crate::text::percent_decode(site_path);
    let trimmed = decoded.trim_start_matches('/');
    if trimmed.is_empty() || trimmed.ends_with('/') {
        format!("{trimmed}index.html")
    } else {
        trimmed.to_string()
    }
}
