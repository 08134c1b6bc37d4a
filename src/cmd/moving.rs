//! `stoa move @new@host`: move the blog's followers to a new account.
//!
//! Receivers (Mastodon, GoToSocial, snac…) act on a Move only when the new
//! account's `alsoKnownAs` lists the old one, so that is checked first and
//! the command stops, with the fix, before anything changes. Then
//! `moved_to` goes into stoa.toml and the publish path does the rest: build,
//! deploy, check the deployed profile, and have the companion queue the
//! Update of the profile and, a little later, the Move to every follower's
//! server (docs/interop.md, "Moving accounts"). `--cancel` drops the Move
//! where it has not arrived yet and publishes the profile without
//! `movedTo`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::cmd::cli::{MoveArgs, PublishArgs};
use crate::cmd::common::{admin_client, load_config, load_signer};
use crate::companion::api::MoveOrder;
use crate::config::Config;
use crate::federation::inbound::id_of;
use crate::federation::{Urls, remote_actor};
use crate::{errln, outln};

/// Runs `stoa move`.
pub fn run(args: &MoveArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    if args.cancel {
        return cancel(args, &root, &config);
    }
    let Some(wanted) = args.target.as_deref() else {
        bail!("name the new account: `stoa move @you@new.example` (or its actor URL)");
    };
    let urls = Urls::new(&config);
    let target = check_target(&root, &config, &urls, wanted)?;
    let client = admin_client(&root, &config, args.companion.as_deref())?;
    let status = client.status()?;
    let followers = crate::cmd::build::count(
        usize::try_from(status.followers.accepted).unwrap_or(0),
        "follower",
        "followers",
    );
    outln!("{wanted} ({target}) lists this blog among its aliases (alsoKnownAs).");
    if let Some(before) = &config.fediverse.moved_to
        && *before != target
    {
        errln!(
            "warning: stoa.toml says the blog moved to {before} already; this moves it to {target} instead"
        );
    }
    outln!("stoa move will:");
    outln!("  1. set moved_to = \"{target}\" in stoa.toml");
    outln!(
        "  2. build and deploy (with anything else not yet published, as `stoa publish` does); the profile then says movedTo"
    );
    outln!("  3. send the profile's Update to {followers}");
    outln!(
        "  4. then send a Move to {followers}{}: their servers follow {wanted} instead",
        match args.delay {
            0 => String::new(),
            m => format!(
                " {} later (`stoa move --cancel` stops it until then)",
                crate::cmd::build::count(usize::try_from(m).unwrap_or(0), "minute", "minutes")
            ),
        }
    );
    outln!("  5. refuse new follows from then on (as Mastodon does for a moved account)");
    outln!(
        "note: servers allow one move per account in a while: Mastodon accepts a new Move of the same account only after 7 days, and its users can move again only after 30; GoToSocial refuses moves to or from an account that moved in the last 7 days."
    );
    if args.dry_run {
        outln!("Dry run: nothing changed, nothing sent.");
        return Ok(());
    }
    set_moved_to(&root, Some(&target))?;
    outln!("stoa.toml: moved_to = \"{target}\"");
    let order = MoveOrder {
        target: target.clone(),
        delay_secs: args.delay.saturating_mul(60),
    };
    crate::cmd::publish::publish(&publish_args(args), Some(order)).with_context(|| {
        format!(
            "stoa.toml now says moved_to = \"{target}\", but the move was not sent\n  help: fix the problem above and run `stoa move {wanted}` again (nothing is sent twice), or `stoa move --cancel`"
        )
    })?;
    outln!(
        "Moved to {wanted}. The blog stays online, refuses new follows and points to the new account."
    );
    Ok(())
}

/// `stoa move --cancel`.
fn cancel(args: &MoveArgs, root: &Path, config: &Config) -> Result<()> {
    let client = admin_client(root, config, args.companion.as_deref())?;
    let c = client.cancel_move()?;
    match &c.target {
        Some(target) => outln!(
            "Move to {target}: {} dropped before they arrived, {} arrived already{}.",
            crate::cmd::build::count(
                usize::try_from(c.cancelled).unwrap_or(0),
                "delivery",
                "deliveries"
            ),
            c.delivered,
            if c.delivered > 0 {
                " (those servers moved their followers; a cancel cannot call that back)"
            } else {
                ""
            }
        ),
        None => outln!("No Move was sent; nothing to stop."),
    }
    if config.fediverse.moved_to.is_some() {
        set_moved_to(root, None)?;
        outln!("stoa.toml: moved_to removed");
    }
    crate::cmd::publish::publish(&publish_args(args), None)
        .context("the profile without movedTo was not published\n  help: fix the problem above and run `stoa publish`")?;
    Ok(())
}

/// The publish that `stoa move` runs.
fn publish_args(args: &MoveArgs) -> PublishArgs {
    PublishArgs {
        root: args.root.clone(),
        no_deploy: args.no_deploy,
        retry_mentions: false,
        no_wait: args.no_wait,
        wait_secs: args.wait_secs,
        keep_dates: false,
        send_updates: false,
        quiet_updates: false,
        companion: args.companion.clone(),
        verify_secs: args.verify_secs,
    }
}

/// Finds the new account (WebFinger for `@user@host`) and checks that its
/// `alsoKnownAs` lists the blog; returns its actor id.
fn check_target(root: &Path, config: &Config, urls: &Urls, wanted: &str) -> Result<String> {
    // Signed when the key is here: secure-mode servers want signed fetches.
    let client = match load_signer(root, config) {
        Ok(signer) => crate::fetch::Client::new(
            Arc::new(signer),
            config.companion.allow_private_addresses,
            &crate::fetch::user_agent(config),
        ),
        Err(_) => crate::fetch::Client::for_site(config),
    };
    let actor = if wanted.starts_with("https://") || wanted.starts_with("http://") {
        wanted.to_string()
    } else {
        client
            .webfinger(wanted)
            .with_context(|| {
                format!("cannot find {wanted}\n  help: check the handle (@user@host), or give the account's actor URL")
            })?
            .actor
    };
    if actor == urls.actor {
        bail!("{wanted} is this blog itself\n  help: name the account the blog moves to");
    }
    let doc = client.get_json(&actor).with_context(|| {
        format!("cannot fetch the new account {actor}\n  help: check the address; the account's server must answer it")
    })?;
    if let Some(moved) = doc.get("movedTo").and_then(id_of) {
        bail!(
            "{wanted} has itself moved to {moved}\n  help: move the blog to the account people can follow ({moved}), after listing the blog in its aliases"
        );
    }
    if !remote_actor::also_known_as(&doc).contains(&urls.actor) {
        bail!(
            "{wanted} does not list this blog among its aliases (its alsoKnownAs), so no server would accept the move\n  help: on the new account, add the alias {} (or @{}@{}), then run this again:\n    Mastodon: Preferences > Account > Moving from a different account > Create an account alias\n    GoToSocial: Settings > Migration > Also known as\n    snac: snac alias DATA_DIR USER {0}\n  nothing was changed or sent",
            urls.actor,
            config.fediverse.username,
            config.fediverse.host
        );
    }
    Ok(actor)
}

/// Writes or removes `moved_to` under `[fediverse]` in stoa.toml, keeping
/// every other line as it is, and checks the result still loads.
fn set_moved_to(root: &Path, target: Option<&str>) -> Result<()> {
    let path = root.join("stoa.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let changed = with_moved_to(&text, target);
    Config::parse(&changed, &path)
        .with_context(|| format!("{} would not load after the change", path.display()))?;
    // Whole or not at all: written beside it, then renamed over it.
    let tmp = root.join(".stoa.toml.tmp");
    std::fs::write(&tmp, changed)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// `text` with its `[fediverse]` table's `moved_to` set to `target` (a
/// commented-out line stays), or removed.
fn with_moved_to(text: &str, target: Option<&str>) -> String {
    let line = target.map(|t| format!("moved_to = {}", toml::Value::String(t.to_string())));
    let mut out: Vec<String> = Vec::new();
    let mut in_fediverse = false;
    let mut done = false;
    for l in text.lines() {
        let trimmed = l.trim_start();
        if trimmed.starts_with('[') {
            if in_fediverse && !done {
                // The table ends without the key: add it at its end.
                while out.last().is_some_and(|p| p.trim().is_empty()) {
                    out.pop();
                }
                out.extend(line.clone());
                out.push(String::new());
                done = true;
            }
            in_fediverse = trimmed.starts_with("[fediverse]");
        } else if in_fediverse && is_key(trimmed, "moved_to") {
            out.extend(line.clone());
            done = true;
            continue;
        }
        out.push(l.to_string());
    }
    if !done && let Some(line) = line {
        if !in_fediverse {
            out.push(String::new());
            out.push("[fediverse]".into());
        }
        out.push(line);
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

fn is_key(line: &str, key: &str) -> bool {
    line.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_to_is_set_replaced_and_removed_in_the_fediverse_table_only() {
        let text = "title = \"t\"\n\n[fediverse]\nusername = \"ada\"\n# moved_to = \"https://…\"\n\n[publish]\nmoved_to_x = 1\n";
        let set = with_moved_to(text, Some("https://new.example/users/ada"));
        assert_eq!(
            set,
            "title = \"t\"\n\n[fediverse]\nusername = \"ada\"\n# moved_to = \"https://…\"\nmoved_to = \"https://new.example/users/ada\"\n\n[publish]\nmoved_to_x = 1\n"
        );
        let again = with_moved_to(&set, Some("https://other.example/u/\"q\""));
        let parsed: toml::Table = toml::from_str(&again).expect("still TOML");
        assert_eq!(
            parsed["fediverse"]["moved_to"].as_str(),
            Some("https://other.example/u/\"q\""),
            "{again}"
        );
        assert_eq!(again.matches("\nmoved_to =").count(), 1, "{again}");
        let removed = with_moved_to(&again, None);
        assert_eq!(
            removed,
            "title = \"t\"\n\n[fediverse]\nusername = \"ada\"\n# moved_to = \"https://…\"\n\n[publish]\nmoved_to_x = 1\n"
        );
        // No [fediverse] table yet; the key last in the file.
        assert_eq!(
            with_moved_to("title = \"t\"\n", Some("https://n.example/a")),
            "title = \"t\"\n\n[fediverse]\nmoved_to = \"https://n.example/a\"\n"
        );
        assert_eq!(
            with_moved_to(
                "[fediverse]\nusername = \"a\"\n",
                Some("https://n.example/a")
            ),
            "[fediverse]\nusername = \"a\"\nmoved_to = \"https://n.example/a\"\n"
        );
    }
}
