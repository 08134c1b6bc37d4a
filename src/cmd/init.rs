//! `stoa init`: a new site that builds at once, with the actor's key pair.
//! Never prompts (works in scripts and CI) and never overwrites a site.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cmd::cli::InitArgs;
use crate::config::{CONFIG_FILE, Config};

use crate::cmd::keygen::{self, PRIVATE_KEY_PATH};
use crate::outln;

/// Where `init` puts the public key, relative to the site root.
pub const PUBLIC_KEY_PATH: &str = "actor-key.pub.pem";

/// Where `init` puts the companion's admin token, relative to the site root.
pub const ADMIN_TOKEN_PATH: &str = "secrets/admin-token";

/// A random token for the companion's admin API (mode 0600).
/// Makes a random admin token (mode 0600) for the companion's admin API.
pub fn write_admin_token(path: &Path) -> Result<()> {
    let bytes: [u8; 32] = rand::random();
    let token = crate::signatures::keys::zeroizing::Secret(hex::encode(bytes).into());
    crate::signatures::keys::write_private(path, &token)
        .with_context(|| format!("writing the admin token {}", path.display()))
}

/// Runs `stoa init`.
pub fn run(args: &InitArgs) -> Result<()> {
    let dir = &args.dir;
    if dir.join(CONFIG_FILE).exists() {
        bail!(
            "{} already holds a site ({} exists); nothing was changed\n  help: pick an empty folder, like `stoa init myblog`",
            dir.display(),
            CONFIG_FILE
        );
    }
    for existing in ["content", PRIVATE_KEY_PATH, PUBLIC_KEY_PATH] {
        if dir.join(existing).exists() {
            bail!(
                "{} already exists; nothing was changed\n  help: run `stoa init` in an empty folder",
                dir.join(existing).display()
            );
        }
    }
    // Without --author the blog's title signs it (the README's default).
    let author = args.author.clone().unwrap_or_else(|| args.title.clone());
    let config_text = config_template(&args.title, &args.base_url, &args.username, &author);
    // Validate before writing anything, so a bad flag leaves no half-made site.
    Config::parse(&config_text, Path::new(CONFIG_FILE)).map_err(|e| flag_error(&e.to_string()))?;
    let write = |rel: &str, text: &str| -> Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    std::fs::create_dir_all(dir.join("static"))
        .with_context(|| format!("creating {}", dir.display()))?;
    keygen::write_pair(dir, Path::new(PUBLIC_KEY_PATH))?;
    write_admin_token(&dir.join(ADMIN_TOKEN_PATH))?;
    write(CONFIG_FILE, &config_text)?;
    write(
        ".gitignore",
        "# Built site (stoa build)\n/public/\n# The actor's private key and the admin token: never commit them\n/secrets/\n# The companion's database (stoa inbox)\n/companion/\n",
    )?;
    let now = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now());
    write(
        "content/posts/hello-world.md",
        &format!(
            "+++\ntitle = \"Hello, world\"\ndate = {now}\ntags = [\"meta\"]\n+++\n\nThis is the first post of {title}. Edit it in `content/posts/hello-world.md`,\nor add a new file next to it. A post without a title is a short note, like a toot.\n",
            title = args.title
        ),
    )?;
    write(
        "content/about.md",
        &format!(
            "+++\ntitle = \"About\"\n+++\n\n{who}. Follow this blog from Mastodon or any fediverse server:\nsearch for **@{user}@{host}**.\n",
            who = match &args.author {
                Some(a) => format!("{a} writes here"),
                None => format!("This is {}", args.title),
            },
            user = args.username,
            host = crate::config::url_host(&args.base_url).unwrap_or_default()
        ),
    )?;
    outln!("Created a new site in {}", dir.display());
    outln!(
        "  private key: {} (mode 0600, ignored by git: back it up, never share it)",
        dir.join(PRIVATE_KEY_PATH).display()
    );
    if dir == Path::new(".") || dir.as_os_str().is_empty() {
        outln!("Next: stoa serve");
    } else {
        outln!(
            "Next: cd {} && stoa serve",
            shell_quote(&dir.display().to_string())
        );
    }
    Ok(())
}

/// A problem with a value given on the command line, said in terms of the
/// flag the writer typed, not the `stoa.toml` line it would have become.
fn flag_error(message: &str) -> anyhow::Error {
    let message = message
        .split_once(": ")
        .filter(|(at, _)| at.starts_with(CONFIG_FILE))
        .map_or(message, |(_, m)| m);
    let mut text = message.to_string();
    for (key, flag) in [
        ("base_url", "--base-url"),
        ("username", "--username"),
        ("title", "--title"),
        ("author", "--author"),
    ] {
        text = text.replace(&format!("`{key} = "), &format!("`{flag} "));
    }
    anyhow::anyhow!("{text}\n  note: nothing was created")
}

/// `word` as one shell word: quoted with single quotes unless it is plain.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+@:,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn config_template(title: &str, base_url: &str, username: &str, author: &str) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    format!(
        r#"# stoa site configuration. Every key is described in the README.
base_url = {base_url}
title = {title}
description = "A blog you can follow from the fediverse"
language = "en"
author = {author}

[[menu]]
name = "Archive"
url = "/archive/"

[[menu]]
name = "Tags"
url = "/tags/"

[[menu]]
name = "About"
url = "/about/"

[fediverse]
# People follow @{username_plain}@<your host>.
username = {username}

# The companion (`stoa inbox`), on a small server behind your TLS proxy.
[companion]
# listen = "127.0.0.1:8787"
# database = "companion/stoa.db"
# blocked_domains = ["spam.example"]
"#,
        base_url = q(base_url),
        title = q(title),
        author = q(author),
        username = q(username),
        username_plain = username,
    )
}
