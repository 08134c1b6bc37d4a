//! `stoa publish`: build, deploy, and have the companion tell every
//! follower what changed: Create for new posts, Update for edits and a
//! changed profile, Delete for removed posts. Then watch the deliveries and
//! report, per server, what arrived and what is still retrying.
//!
//! The first publish of an existing archive sends nothing: it records what
//! is there. A new post whose date has no time, or is more than an hour old,
//! gets the time of its first publish (Mastodon keeps older posts out of
//! home timelines); an edited post gets the time of the edit as `updated`
//! (Mastodon ignores Updates without it). Both are written to
//! `published.toml`, so rebuilds stay byte-identical.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cmd::build::print_report;
use crate::cmd::cli::PublishArgs;
use crate::cmd::common::{admin_client, load_config};
use crate::companion_client::CompanionClient;
use crate::config::Config;
use crate::content::{library, markdown};
use crate::deploy;
use crate::federation::Urls;
use crate::fetch::Client;
use crate::publish_log::PublishLog;
use crate::server::publish::{PublishRequest, PublishResponse};
use crate::site::{BuildOptions, Site};
use crate::store::deliveries::Progress;

/// Past this many edited posts in one publish, ask before sending Updates.
pub const UPDATE_FLOOD_LIMIT: usize = 20;

/// What the companion says it published before.
#[derive(Debug, serde::Deserialize)]
struct Remote {
    baseline: bool,
    objects: BTreeMap<String, String>,
    #[serde(default)]
    deleted: Vec<String>,
}

/// A built post object: its bytes and hash.
struct Local {
    bytes: Vec<u8>,
    hash: String,
}

/// Runs `stoa publish`.
pub fn run(args: &PublishArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    let client = admin_client(&root, &config, args.companion.as_deref())?;
    let opts = BuildOptions::default();
    let site = Site::open(&root, &opts)?;

    // 1. Ask the companion what it published before and how many follow;
    // find the accounts that posts mention (WebFinger), so the build links
    // and tags them; then build.
    let remote: Remote = client.get("manifest")?;
    let status: Value = client.get("status")?;
    let posts = library::load(&root, false)?.posts;
    let mut log = PublishLog::load(&root)?;
    let mut changed = resolve_mentions(&config, &posts, &mut log);
    // The static followers collection shows the count as of this publish.
    let followers = status["followers"]["accepted"].as_u64().unwrap_or(0) as usize;
    if followers != log.followers {
        log.followers = followers;
        changed = true;
    }
    if changed {
        log.save(&root)
            .with_context(|| format!("writing {}", PublishLog::path(&root).display()))?;
    }
    // A signal finishes or rolls back the build's commit, never cuts it half-way.
    crate::interrupt::install()?;
    let report = site.build(&opts)?;
    print_report(&report);

    // 2. Decide times for new and edited posts; rebuild if any were decided.
    let local = read_objects(&site.output, &config)?;
    let before = log.clone();
    let now = Timestamp::now();
    let mut edited = Vec::new();
    if remote.baseline {
        for post in &posts {
            let id = Urls::object(&config, &post.slug);
            if remote.deleted.contains(&id) {
                bail!(
                    "the post {} reuses the address of a post deleted earlier ({id}); fediverse servers never accept an id again\n  help: give it another slug (`slug = \"...\"` in its front matter)",
                    post.source.display()
                );
            }
            match remote.objects.get(&id) {
                None => {
                    let stale = !post.date.has_time
                        || now.duration_since(post.date.at) > SignedDuration::from_hours(1);
                    if stale && !args.keep_dates && !log.published.contains_key(&post.slug) {
                        log.published.insert(post.slug.clone(), now);
                    }
                }
                Some(hash) if local.get(&id).is_some_and(|l| &l.hash != hash) => {
                    edited.push(post.slug.clone());
                }
                Some(_) => {}
            }
        }
        if edited.len() > UPDATE_FLOOD_LIMIT && !args.send_updates && !args.quiet_updates {
            bail!(
                "{} posts changed since the last publish (a theme or stoa upgrade does that); sending an Update for each would flood your followers' timelines\n  help: publish with --quiet-updates to record the new versions without telling anyone, or --send-updates to send them all",
                edited.len()
            );
        }
        if !args.quiet_updates {
            for slug in &edited {
                log.updated.insert(slug.clone(), now);
            }
        }
        for id in remote.objects.keys() {
            if !local.contains_key(id)
                && let Some(slug) = slug_of(&config, id)
            {
                log.deleted.entry(slug).or_insert(now);
            }
        }
    }
    let local = if log != before {
        log.save(&root)
            .with_context(|| format!("writing {}", PublishLog::path(&root).display()))?;
        site.build(&opts)?;
        read_objects(&site.output, &config)?
    } else {
        local
    };

    // 3. Deploy, before anyone is told: followers' servers fetch what they are sent.
    if args.no_deploy {
        println!("Not deployed (--no-deploy).");
    } else if let Some(command) = &config.publish.deploy {
        println!("Deploying: {command}");
        deploy::run_command(command, &site.output)?;
    } else if let Some(dir) = &config.publish.deploy_dir {
        let dir = if dir.is_absolute() {
            dir.clone()
        } else {
            root.join(dir)
        };
        let m = deploy::mirror(&site.output, &dir)?;
        println!(
            "Deployed to {}: {} files written, {} removed.",
            dir.display(),
            m.written,
            m.removed
        );
    } else {
        println!(
            "No `deploy` or `deploy_dir` under [publish]: upload {} yourself (or let `stoa inbox --site` serve it).",
            site.output.display()
        );
    }

    // 4. Tell the companion.
    let manifest: BTreeMap<String, String> = local
        .iter()
        .map(|(id, l)| (id.clone(), l.hash.clone()))
        .collect();
    let objects: BTreeMap<String, Value> = local
        .iter()
        .filter(|(id, l)| remote.objects.get(*id) != Some(&l.hash))
        .map(|(id, l)| Ok((id.clone(), serde_json::from_slice(&l.bytes)?)))
        .collect::<Result<_, serde_json::Error>>()
        .context("reading the built objects")?;
    let actor_path = site.output.join("ap").join("actor.json");
    let actor_bytes =
        std::fs::read(&actor_path).with_context(|| format!("reading {}", actor_path.display()))?;
    let request = PublishRequest {
        manifest,
        objects,
        actor: serde_json::from_slice(&actor_bytes).ok(),
        actor_hash: Some(hex::encode(Sha256::digest(&actor_bytes))),
        quiet_updates: args.quiet_updates,
    };
    let response: PublishResponse = client.post("publish", &request)?;
    if response.baseline {
        println!(
            "First publish: recorded {} posts as already published; nothing was sent. From now on new posts, edits and deletions go to your followers.",
            local.len()
        );
        return Ok(());
    }
    print_changes(&config, &response);
    if response.deliveries == 0 {
        if response.created.is_empty()
            && response.updated.is_empty()
            && response.deleted.is_empty()
            && !response.actor_updated
        {
            println!("Nothing new to send.");
        } else {
            println!("No followers yet: nothing to deliver.");
        }
        return Ok(());
    }
    if args.no_wait {
        println!(
            "{} deliveries queued; the companion sends them (`stoa deliveries` shows how it goes).",
            response.deliveries
        );
        return Ok(());
    }
    let progress = watch(
        &client,
        response.publish_id,
        Duration::from_secs(args.wait_secs),
    )?;
    print_summary(&progress);
    Ok(())
}

/// Looks up, with WebFinger, every `@user@host` the posts mention that is
/// not known yet. An account that cannot be found stays plain text (with a
/// warning). Returns whether anything was added.
fn resolve_mentions(config: &Config, posts: &[library::Post], log: &mut PublishLog) -> bool {
    let mut wanted: Vec<String> = Vec::new();
    for post in posts {
        for handle in markdown::find_handles(&post.body) {
            if !log.mentions.contains_key(&handle) && !wanted.contains(&handle) {
                wanted.push(handle);
            }
        }
    }
    if wanted.is_empty() {
        return false;
    }
    let client = Client::unsigned(
        config.companion.allow_private_addresses,
        &format!("stoa/{} (+{})", env!("CARGO_PKG_VERSION"), config.base_url),
    );
    let mut added = false;
    for handle in wanted {
        match client.webfinger(&handle) {
            Ok(m) => {
                println!("Found @{handle}: {}", m.actor);
                log.mentions.insert(handle, m);
                added = true;
            }
            Err(e) => eprintln!(
                "warning: @{handle} could not be found ({e}); it stays plain text and gets no notification"
            ),
        }
    }
    added
}

/// Every post object in the output (Tombstones aside), by id.
fn read_objects(output: &Path, config: &Config) -> Result<BTreeMap<String, Local>> {
    let dir = output.join("ap").join("posts");
    let mut out = BTreeMap::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        let Some(slug) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let is_tombstone =
            serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| v["type"] == "Tombstone");
        if is_tombstone {
            continue;
        }
        out.insert(
            Urls::object(config, slug),
            Local {
                hash: hex::encode(Sha256::digest(&bytes)),
                bytes,
            },
        );
    }
    Ok(out)
}

fn slug_of(config: &Config, id: &str) -> Option<String> {
    id.strip_prefix(&config.url("/ap/posts/"))?
        .strip_suffix(".json")
        .map(str::to_string)
}

fn print_changes(config: &Config, r: &PublishResponse) {
    let name = |id: &String| slug_of(config, id).unwrap_or_else(|| id.clone());
    for (verb, ids) in [
        ("new", &r.created),
        ("edited", &r.updated),
        ("deleted", &r.deleted),
    ] {
        for id in ids {
            println!("  {verb:>7}  {}", name(id));
        }
    }
    if r.actor_updated {
        println!("  profile  updated");
    }
}

/// Polls the publish's deliveries until each was tried once (or `limit`).
fn watch(client: &CompanionClient, id: i64, limit: Duration) -> Result<Progress> {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} delivering {pos}/{len} [{bar:30}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let started = Instant::now();
    loop {
        let p: Progress = client.get(&format!("publishes/{id}"))?;
        bar.set_length(p.total as u64);
        bar.set_position((p.total - p.queued) as u64);
        bar.set_message(format!(
            "{} delivered, {} retrying, {} failed",
            p.delivered, p.retrying, p.failed
        ));
        if p.queued == 0 || started.elapsed() > limit {
            bar.finish_and_clear();
            return Ok(p);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn print_summary(p: &Progress) {
    println!(
        "Delivered {} of {} ({} retrying, {} failed, {} not tried yet).",
        p.delivered, p.total, p.retrying, p.failed, p.queued
    );
    for h in &p.hosts {
        let mut line = format!("  {:<32} {} delivered", h.host, h.delivered);
        if h.retrying > 0 {
            let next = h
                .next_attempt_at
                .and_then(|ms| Timestamp::from_millisecond(ms).ok())
                .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            line.push_str(&format!(", {} retrying (next try {next})", h.retrying));
        }
        if h.queued > 0 {
            line.push_str(&format!(", {} waiting", h.queued));
        }
        if h.failed > 0 {
            line.push_str(&format!(", {} failed", h.failed));
        }
        if let Some(e) = &h.last_error
            && (h.retrying > 0 || h.failed > 0)
        {
            line.push_str(&format!(": {e}"));
        }
        println!("{line}");
    }
}
