//! `stoa preview POST`: how a post will look on Mastodon — the text left
//! after Mastodon's sanitizer, the content warning, attachments, hashtags —
//! without publishing anything.

use std::path::Path;

use anyhow::{Result, bail};

use crate::cmd::cli::PreviewArgs;
use crate::content::front_matter::ObjectKind;
use crate::content::library;
use crate::federation::objects::{self, MAX_ATTACHMENTS, ObjectContext};
use crate::federation::{Urls, html};
use crate::site::{BuildOptions, STATIC_DIR, Site};
use crate::{errln, out, outln};

/// Runs `stoa preview`.
pub fn run(args: &PreviewArgs) -> Result<()> {
    let site = Site::open(&args.root, &BuildOptions::default())?;
    let mut lib = library::load(&args.root, true)?;
    crate::publish::log::PublishLog::load(&args.root)?.apply(&mut lib);
    let wanted = args.post.trim_end_matches('/');
    let Some(post) = lib.posts.iter().find(|p| {
        p.slug == wanted
            || p.source == Path::new(wanted)
            || args.root.join(&p.source) == Path::new(wanted)
            || p.source.ends_with(wanted)
    }) else {
        bail!(
            "no post {wanted:?} in {}\n  help: give the post's slug (like `hello-world`) or its file (like `content/posts/hello-world.md`)",
            args.root.display()
        );
    };
    let urls = Urls::new(&site.config);
    let static_dirs = [args.root.join(STATIC_DIR)];
    let cx = ObjectContext {
        config: &site.config,
        urls: &urls,
        tags: &lib.tags,
        static_dirs: &static_dirs,
        mentions: &lib.mentions,
        conversations: None,
    };
    let object = objects::object(&cx, post);
    if let Some(shortened) = &object.shortened {
        errln!("warning: {}", shortened.warning(&post.source));
    }
    let note = object.value;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&crate::federation::with_context(note))?
        );
        return Ok(());
    }
    let images = objects::content(&cx, post).images.len();
    out!("{}", render_preview(&site, post, &note, images));
    Ok(())
}

/// The preview text (separate from printing, for tests).
pub fn render_preview(
    site: &Site,
    post: &library::Post,
    note: &serde_json::Value,
    images: usize,
) -> String {
    let c = &site.config;
    let mut out = String::new();
    let name = c
        .fediverse
        .display_name
        .clone()
        .unwrap_or_else(|| c.title.clone());
    out.push_str(&format!(
        "How Mastodon will show {}\n",
        post.source.display()
    ));
    out.push_str(&format!("{}\n\n", "─".repeat(60)));
    out.push_str(&format!(
        "{name}  {}  · {}\n",
        c.fediverse.handle(),
        post.date.at.strftime("%-d %b %Y")
    ));
    if post.meta.draft {
        out.push_str("(draft: not published until `draft = true` is removed)\n");
    }
    if let Some(r) = &post.meta.in_reply_to {
        out.push_str(&format!("↪ in reply to {r}\n"));
    }
    out.push('\n');
    let text = match post.meta.fediverse {
        ObjectKind::Note => html::to_text(note["content"].as_str().unwrap_or("")),
        // Mastodon renders an Article as its title, summary and link only.
        ObjectKind::Article => format!(
            "{}\n\n{}\n\n{}",
            note["name"].as_str().unwrap_or(""),
            note["summary"].as_str().unwrap_or(""),
            note["url"].as_str().unwrap_or("")
        ),
    };
    if let Some(cw) = note["summary"]
        .as_str()
        .filter(|_| post.meta.summary.is_some())
    {
        out.push_str(&format!(
            "⚠ Content warning: {cw}\n   [Show more] hides:\n\n"
        ));
        for line in text.lines() {
            out.push_str(&format!("   {line}\n"));
        }
    } else {
        out.push_str(&text);
        out.push('\n');
    }
    let attachments = note["attachment"].as_array().cloned().unwrap_or_default();
    if !attachments.is_empty() {
        let sensitive = if note["sensitive"] == true {
            " (hidden behind a sensitive-media cover)"
        } else {
            ""
        };
        out.push_str(&format!("\nAttachments{sensitive}:\n"));
        for (i, a) in attachments.iter().enumerate() {
            let size = match (a["width"].as_u64(), a["height"].as_u64()) {
                (Some(w), Some(h)) => format!(" {w}×{h}"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  {}. {}{size}  alt: {:?}\n",
                i + 1,
                a["mediaType"].as_str().unwrap_or(""),
                a["name"].as_str().unwrap_or("")
            ));
        }
    }
    if images > MAX_ATTACHMENTS {
        out.push_str(&format!("  (only the first {MAX_ATTACHMENTS} of {images} images travel: Mastodon shows at most {MAX_ATTACHMENTS})\n"));
    }
    let tags: Vec<&str> = note["tag"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    if !tags.is_empty() {
        out.push_str(&format!("\n{}\n", tags.join(" ")));
    }
    out.push_str(&format!("\n{}\n", "─".repeat(60)));
    out.push_str(&format!(
        "{} · {} · {}\n",
        note["type"].as_str().unwrap_or(""),
        note["url"].as_str().unwrap_or(""),
        note["id"].as_str().unwrap_or("")
    ));
    if post.meta.fediverse == ObjectKind::Article {
        out.push_str("note: Mastodon shows an Article only as a title card with a link; remove `fediverse = \"article\"` to show the full text\n");
    }
    out
}
