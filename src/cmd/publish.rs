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
//!
//! Nobody is told about a document readers cannot fetch: after the deploy,
//! the actor and every new or changed object are fetched from the public
//! address and compared with the build, again and again for up to
//! `verify_secs` (CDN propagation); otherwise publish stops, naming `stoa
//! doctor`, and nothing is queued.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;

use crate::cmd::build::print_report;
use crate::cmd::cli::PublishArgs;
use crate::cmd::common::admin_client;
use crate::companion::api::{MoveOrder, Progress, PublishResponse};
use crate::companion::client::CompanionClient;
use crate::config::Config;
use crate::content::library;
use crate::federation::Urls;
use crate::publish::log::PublishLog;
use crate::publish::plan::{self, Candidate};
use crate::publish::{mentions, objects};
use crate::site::{BuildOptions, Site};
use crate::{deploy, errln, outln};

/// Runs `stoa publish`.
pub fn run(args: &PublishArgs) -> Result<()> {
    publish(args, None)
}

/// A publish; with `move_to` (`stoa move`), the companion also queues a
/// Move to every follower after the Update of the profile.
pub(crate) fn publish(args: &PublishArgs, move_to: Option<MoveOrder>) -> Result<()> {
    let root = args
        .root
        .canonicalize()
        .unwrap_or_else(|_| args.root.clone());
    let opts = BuildOptions {
        on_wait: Some(crate::cmd::build::say_waiting),
        ..BuildOptions::default()
    };
    let site = Site::open(&root, &opts)?;
    let config = &site.config;
    let client = admin_client(&root, config, args.companion.as_deref())?;

    // 1. Ask the companion what it published before and how many follow;
    // find the accounts that posts mention (WebFinger), so the build links
    // and tags them; then build.
    let remote = client.manifest()?;
    let status = client.status()?;
    let posts = library::load(&root, false)?.posts;
    let mut log = PublishLog::load(&root)?;
    let before = log.clone();
    let wanted = mentions::unknown(&posts, &mut log);
    let lookups = mentions::resolve(
        config,
        wanted,
        &mut log,
        Timestamp::now(),
        args.retry_mentions,
    );
    for (handle, m) in &lookups.found {
        outln!("Found @{handle}: {}", m.actor);
    }
    for (handle, e) in &lookups.missing {
        errln!(
            "warning: @{handle} could not be found ({e}); it stays plain text and gets no notification\n  help: check the handle in the post; the next publishes look again after a while (or now with --retry-mentions)"
        );
    }
    for (handle, u) in &lookups.waiting {
        errln!(
            "warning: @{handle} is still not found ({}, last: {}); next look after {} (or now with --retry-mentions)",
            crate::cmd::build::count(u.tries as usize, "try", "tries"),
            u.reason,
            u.next_try().strftime("%Y-%m-%d %H:%M UTC")
        );
    }
    for (url, e) in mentions::resolve_quoted(config, &posts, &mut log) {
        errln!(
            "warning: the quoted post {url} could not be fetched ({e}); the post shows only its link"
        );
    }
    // The public conversation under each post, into conversations.toml.
    let pulled = crate::cmd::pull::pull(&root, &client)?;
    if pulled.changed {
        outln!(
            "Conversation: {} replies, {} favourites, {} boosts under {} posts.",
            pulled.replies,
            pulled.likes,
            pulled.boosts,
            pulled.posts
        );
    }
    // The static followers collection shows the count as of this publish.
    log.followers = usize::try_from(status.followers.accepted).unwrap_or(0);
    // Quotes the quoted authors approved: the objects carry their stamps.
    log.quote_authorizations = remote
        .quote_authorizations
        .iter()
        .filter_map(|(id, stamp)| {
            let slug = crate::federation::Urls::post_slug(config, id)?;
            Some((slug.to_string(), stamp.clone()))
        })
        .collect();
    save_if_changed(&root, &log, &before)?;
    // A signal finishes or rolls back the build's commit, never cuts it half-way.
    crate::interrupt::install()?;
    let report = site.build(&opts)?;
    print_report(&report);

    // 2. Decide times for new and edited posts; rebuild if any were decided.
    let read_built = || {
        objects::read(&site.output, config)
            .with_context(|| format!("reading the built objects in {}", site.output.display()))
    };
    let local = read_built()?;
    let candidates: Vec<Candidate> = posts
        .iter()
        .map(|p| Candidate {
            slug: p.slug.clone(),
            source: p.source.clone(),
            date: p.date,
        })
        .collect();
    let before = log.clone();
    let options = plan::Options {
        keep_dates: args.keep_dates,
        send_updates: args.send_updates,
        quiet_updates: args.quiet_updates,
    };
    plan::decide(
        config,
        &candidates,
        &remote,
        &local,
        &mut log,
        Timestamp::now(),
        options,
    )?;
    let local = if save_if_changed(&root, &log, &before)? {
        site.build(&opts)?;
        read_built()?
    } else {
        local
    };

    // 3. Deploy, before anyone is told: followers' servers fetch what they are sent.
    deploy_site(args, &site)?;

    // 4. Tell the companion.
    let actor_path = site.output.join("ap").join("actor.json");
    let actor =
        std::fs::read(&actor_path).with_context(|| format!("reading {}", actor_path.display()))?;
    let mut request = plan::request(config, &local, &remote, &log, &actor, args.quiet_updates)
        .context("reading the built objects")?;
    request.move_to = move_to;
    verify_deploy(args, config, &remote, &request)?;
    let response = client.publish(&request)?;
    // The companion has recorded the imported posts: a post written later
    // under one of their slugs is a new post, announced.
    if !log.imported.is_empty() {
        let before = log.clone();
        log.imported.clear();
        save_if_changed(&root, &log, &before)?;
    }
    if let Some(order) = &request.move_to {
        outln!(
            "  move     to {}: {} queued, leaving {} after the profile's Update",
            order.target,
            crate::cmd::build::count(response.move_deliveries, "delivery", "deliveries"),
            crate::cmd::build::count(
                usize::try_from(order.delay_secs.max(1)).unwrap_or(1),
                "second",
                "seconds"
            )
        );
    }
    if response.baseline {
        outln!(
            "First publish: recorded {} posts as already published; nothing was sent. From now on new posts, edits and deletions go to your followers.",
            local.len()
        );
        return Ok(());
    }
    print_changes(config, &response);
    if response.deliveries == 0 {
        if response.created.is_empty()
            && response.updated.is_empty()
            && response.deleted.is_empty()
            && !response.actor_updated
        {
            outln!("Nothing new to send.");
        } else {
            outln!("No followers yet: nothing to deliver.");
        }
        return Ok(());
    }
    if args.no_wait {
        outln!(
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

/// Waits until the deployed site serves the actor and every new or changed
/// object as built (all objects are only recorded on the first publish, so
/// then only the actor is checked); stops the publish otherwise.
fn verify_deploy(
    args: &PublishArgs,
    config: &Config,
    remote: &crate::companion::api::Manifest,
    request: &crate::companion::api::PublishRequest,
) -> Result<()> {
    let mut built = std::collections::BTreeMap::new();
    if remote.baseline {
        built.extend(request.objects.clone());
    }
    if let Some(actor) = &request.actor {
        built.insert(Urls::new(config).actor, actor.clone());
    }
    if built.is_empty() {
        return Ok(());
    }
    // The writer's own base_url, not an address a stranger supplied: the
    // SSRF guard is for the companion, and a blog on loopback is a test.
    let client = crate::fetch::Client::unsigned(
        true,
        &format!("stoa-publish/{}", env!("CARGO_PKG_VERSION")),
    );
    let limit = Duration::from_secs(args.verify_secs.unwrap_or(config.publish.verify_secs));
    let mut told = false;
    crate::publish::verify::wait_until_served(
        &client,
        &built,
        limit,
        Duration::from_secs(2),
        |left| {
            if !told {
                outln!(
                    "Waiting for the deployed site to serve {left} new or changed document{} (up to {}s)…",
                    if left == 1 { "" } else { "s" },
                    limit.as_secs()
                );
                told = true;
            }
        },
    )?;
    Ok(())
}

/// Writes `published.toml` when `log` differs from `before`; returns whether it did.
fn save_if_changed(root: &Path, log: &PublishLog, before: &PublishLog) -> Result<bool> {
    if log == before {
        return Ok(false);
    }
    log.save(root)
        .with_context(|| format!("writing {}", PublishLog::path(root).display()))?;
    Ok(true)
}

/// Runs the configured deploy, or says there is none.
fn deploy_site(args: &PublishArgs, site: &Site) -> Result<()> {
    let config = &site.config;
    if args.no_deploy {
        outln!("Not deployed (--no-deploy).");
    } else if let Some(command) = &config.publish.deploy {
        outln!("Deploying: {command}");
        deploy::run_command(command, &site.output)?;
    } else if let Some(dir) = &config.publish.deploy_dir {
        let dir = if dir.is_absolute() {
            dir.clone()
        } else {
            site.root.join(dir)
        };
        let m = deploy::mirror(&site.output, &dir)?;
        outln!(
            "Deployed to {}: {} files written, {} removed.",
            dir.display(),
            m.written,
            m.removed
        );
    } else {
        outln!(
            "No `deploy` or `deploy_dir` under [publish]: upload {} yourself (or let `stoa inbox --site` serve it).",
            site.output.display()
        );
    }
    Ok(())
}

fn print_changes(config: &Config, r: &PublishResponse) {
    let name = |id: &String| {
        Urls::post_slug(config, id)
            .map(str::to_string)
            .unwrap_or_else(|| id.clone())
    };
    for (verb, ids) in [
        ("new", &r.created),
        ("imported", &r.imported),
        ("edited", &r.updated),
        ("deleted", &r.deleted),
    ] {
        for id in ids {
            outln!("  {verb:>7}  {}", name(id));
        }
    }
    if r.actor_updated {
        outln!("  profile  updated");
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
        let p = client.progress(id)?;
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
    use crate::cmd::build::{count, grouped};
    let servers_done = p
        .hosts
        .iter()
        .filter(|h| h.delivered > 0 && h.retrying == 0 && h.failed == 0 && h.queued == 0)
        .count();
    outln!(
        "Reached {} of {} on {} of {} ({} retrying, {} failed, {} not tried yet).",
        grouped(usize::try_from(p.followers_reached).unwrap_or(0)),
        count(
            usize::try_from(p.followers).unwrap_or(0),
            "follower",
            "followers"
        ),
        servers_done,
        count(p.hosts.len(), "server", "servers"),
        p.retrying,
        p.failed,
        p.queued
    );
    for h in &p.hosts {
        let who = match h.followers {
            0 => "mentioned or replied to".to_string(),
            n => count(usize::try_from(n).unwrap_or(0), "follower", "followers"),
        };
        let mut line = format!("  {:<32} {who}: {} delivered", h.host, h.delivered);
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
        outln!("{line}");
    }
}
