//! `stoa new [TITLE] [--reply-to URL]`: a new post file with the right front
//! matter (the date now, a slug from the title, `in_reply_to`), its path
//! printed. With `--reply-to`, the post mentions the author of what it
//! answers, so their server delivers it to them, and `in_reply_to` is the
//! ActivityPub id when the companion or the author's server knows it (what
//! Mastodon threads by).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::cmd::cli::NewArgs;
use crate::cmd::common::{admin_client, load_config};
use crate::config::Config;
use crate::content::library::CONTENT_DIR;
use crate::{errln, outln};

/// Runs `stoa new`.
pub fn run(args: &NewArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    let now = jiff::Timestamp::now();
    let title = args
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let mut in_reply_to = None;
    let mut mention = None;
    if let Some(url) = &args.reply_to {
        anyhow::ensure!(
            url.starts_with("https://") || url.starts_with("http://"),
            "`--reply-to {url}` is not the address of a post\n  help: paste the post's address, like https://mastodon.social/@alice/1234"
        );
        let (id, handle) = resolve(&root, &config, args.companion.as_deref(), url);
        in_reply_to = Some(id);
        match handle {
            Some(h) => mention = Some(h),
            None => errln!(
                "warning: could not find who wrote {url}; add their @user@host to the post so their server gets it"
            ),
        }
    }
    let base = match title {
        Some(t) => slug::slugify(t),
        None => String::new(),
    };
    let base = if base.is_empty() {
        now.strftime("note-%Y%m%d-%H%M%S").to_string()
    } else {
        base
    };
    let dir = root.join(CONTENT_DIR).join("posts");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = free_path(&dir, &base);
    let mut front = String::new();
    if let Some(t) = title {
        front.push_str(&format!("title = {}\n", toml_string(t)));
    }
    front.push_str(&format!("date = {}\n", now.strftime("%Y-%m-%dT%H:%M:%SZ")));
    if let Some(r) = &in_reply_to {
        front.push_str(&format!("in_reply_to = {}\n", toml_string(r)));
    }
    let body = mention.map(|h| format!("{h} ")).unwrap_or_default();
    let text = format!("+++\n{front}+++\n\n{body}\n");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    outln!("{}", path.display());
    Ok(())
}

/// `dir/base.md`, or `base-2.md`, `base-3.md`… when taken.
fn free_path(dir: &Path, base: &str) -> PathBuf {
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{base}.md")
        } else {
            format!("{base}-{n}.md")
        };
        let p = dir.join(name);
        if !p.exists() && !dir.join(format!("{base}-{n}")).exists() {
            return p;
        }
        n += 1;
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The ActivityPub id of `url` and its author's `@user@host`: from the
/// companion when it received that reply, else from the author's server.
fn resolve(
    root: &Path,
    config: &Config,
    companion: Option<&str>,
    url: &str,
) -> (String, Option<String>) {
    if let Ok(client) = admin_client(root, config, companion)
        && let Ok(replies) = client.replies(10_000)
        && let Some(r) = replies
            .iter()
            .find(|r| r.id == url || r.url.as_deref() == Some(url))
        && let Some(h) = &r.handle
    {
        return (r.id.clone(), Some(h.clone()));
    }
    let client = crate::fetch::Client::for_site(config);
    let Ok(doc) = client.get_document(url) else {
        return (url.to_string(), None);
    };
    let id = doc
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| crate::federation::trust::same_origin(id, url))
        .unwrap_or(url)
        .to_string();
    let author = doc
        .get("attributedTo")
        .and_then(crate::federation::inbound::id_of)
        .filter(|a| crate::federation::trust::same_origin(a, &id));
    let handle = author.and_then(|a| {
        let actor = client.get_json(&a).ok()?;
        let user = actor.get("preferredUsername")?.as_str()?.to_string();
        let host = crate::config::url_host(&a)?;
        Some(format!("@{user}@{host}"))
    });
    (id, handle)
}
