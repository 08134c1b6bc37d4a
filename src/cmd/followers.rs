//! `stoa followers`: see and manage followers. On the machine that runs the
//! companion it works on the database directly (also while the companion
//! runs; Accepts and Rejects queued here are sent by the running
//! companion); from the writer's machine, or with `--companion`, it asks the
//! companion through its admin API. Both paths end in the same
//! `companion::followers` decisions.

use anyhow::{Context, Result, bail};

use crate::cmd::cli::{FollowersAction, FollowersArgs};
use crate::cmd::common::{admin_client, load_config};
use crate::companion::api::FollowerEntry;
use crate::companion::client::CompanionClient;
use crate::companion::followers::{self as ops, Outcome};
use crate::companion::store::Store;
use crate::companion::store::followers;
use crate::config::Config;
use crate::federation::Urls;
use crate::outln;

/// Where the followers are read and changed.
enum Source {
    /// The companion's database, on this machine.
    Local(Box<Store>, Urls),
    /// The companion's admin API.
    Remote(CompanionClient),
}

impl Source {
    fn open(args: &FollowersArgs, root: &std::path::Path, config: &Config) -> Result<Source> {
        let database = root.join(&config.companion.database);
        if args.companion.is_none() && database.is_file() {
            let store = Store::open(&database)?;
            return Ok(Source::Local(Box::new(store), Urls::new(config)));
        }
        if args.companion.is_none() {
            let traces = crate::companion::store::integrity::leftovers(&database);
            if !traces.is_empty() {
                return Err(crate::companion::store::StoreError::Missing {
                    path: database,
                    traces,
                }
                .into());
            }
        }
        let client = admin_client(root, config, args.companion.as_deref()).with_context(|| {
            format!(
                "no companion database here ({}) and no way to ask the companion\n  help: run this on the server, or give the admin token (secrets/admin-token or STOA_ADMIN_TOKEN) and the companion's address (`--companion URL` or `[publish] companion`)",
                database.display()
            )
        })?;
        Ok(Source::Remote(client))
    }

    fn list(&mut self) -> Result<Vec<FollowerEntry>> {
        match self {
            Source::Local(store, _) => Ok(followers::list(store.conn(), None)?
                .iter()
                .map(crate::companion::admin_entry)
                .collect()),
            Source::Remote(client) => Ok(client.followers()?),
        }
    }

    fn change(&mut self, who: &str, approve: bool) -> Result<(&'static str, String)> {
        let label = |actor: String, handle: Option<String>| handle.unwrap_or(actor);
        match self {
            Source::Local(store, urls) => {
                let outcome = if approve {
                    ops::approve(store, urls, who)?
                } else {
                    ops::dismiss(store, urls, who)?
                };
                Ok(match outcome {
                    Outcome::Approved(f) => ("approved", label(f.actor, f.handle)),
                    Outcome::AlreadyFollowing(f) => ("already_following", label(f.actor, f.handle)),
                    Outcome::Removed(f) => ("removed", label(f.actor, f.handle)),
                    Outcome::Unknown => bail!(
                        "no follower {who:?}\n  help: `stoa followers list` shows their handles and actor URLs"
                    ),
                })
            }
            Source::Remote(client) => {
                let changed = if approve {
                    client.approve_follower(who)?
                } else {
                    client.remove_follower(who)?
                };
                let outcome = match changed.outcome.as_str() {
                    "approved" => "approved",
                    "already_following" => "already_following",
                    _ => "removed",
                };
                Ok((outcome, label(changed.actor, changed.handle)))
            }
        }
    }
}

/// Runs `stoa followers`.
pub fn run(args: &FollowersArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    let mut source = Source::open(args, &root, &config)?;
    match &args.action {
        FollowersAction::List { pending } => {
            for f in source.list()? {
                if *pending && f.state != "pending" {
                    continue;
                }
                let when = jiff::Timestamp::from_millisecond(f.created_at)
                    .map(|t| t.strftime("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                let state = if f.state == "pending" {
                    "  (waiting for approval)"
                } else {
                    ""
                };
                let came = f
                    .moved_from
                    .as_deref()
                    .map(|old| format!("  (followed after {old} pointed to the blog)"))
                    .unwrap_or_default();
                outln!(
                    "{}  {}  {}{}{}",
                    when,
                    f.handle.as_deref().unwrap_or("-"),
                    f.actor,
                    state,
                    came
                );
            }
        }
        FollowersAction::Count => {
            let all = source.list()?;
            let pending = all.iter().filter(|f| f.state == "pending").count();
            outln!(
                "{}, {pending} waiting for approval",
                crate::cmd::build::count(all.len() - pending, "follower", "followers")
            );
            let mut moved: std::collections::BTreeMap<&str, usize> = Default::default();
            for old in all.iter().filter_map(|f| f.moved_from.as_deref()) {
                *moved.entry(old).or_default() += 1;
            }
            for (old, n) in moved {
                outln!("{n} of them followed after {old} pointed to the blog");
            }
        }
        FollowersAction::Export => {
            // Mastodon's import format: one account address per line, with a header.
            outln!("Account address,Show boosts,Notify on new posts,Languages");
            for f in source.list()? {
                if f.state != "accepted" {
                    continue;
                }
                let who = f
                    .handle
                    .as_deref()
                    .map(|h| h.trim_start_matches('@').to_string())
                    .unwrap_or_else(|| f.actor.clone());
                outln!("{who},true,false,");
            }
        }
        FollowersAction::Approve { who } => match source.change(who, true)? {
            ("already_following", name) => outln!("{name} already follows"),
            (_, name) => outln!("Approved {name}; the companion sends the Accept."),
        },
        FollowersAction::Reject { who } | FollowersAction::Remove { who } => {
            let (_, name) = source.change(who, false)?;
            outln!("Removed {name}; the companion tells their server.");
        }
    }
    Ok(())
}
