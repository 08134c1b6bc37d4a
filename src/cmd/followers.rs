//! `stoa followers`: see and manage followers on the machine that runs the
//! companion (it works on the database directly, also while the companion
//! runs; Accepts and Rejects queued here are sent by the running companion).

use anyhow::{Context, Result};

use crate::cmd::cli::{FollowersAction, FollowersArgs};
use crate::cmd::common::{existing_database, load_config};
use crate::companion::followers as ops;
use crate::companion::store::Store;
use crate::companion::store::followers::{self, FollowState};
use crate::federation::Urls;
use crate::outln;

/// Runs `stoa followers`.
pub fn run(args: &FollowersArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    let path = existing_database(&root, &config)?;
    let mut store = Store::open(&path)?;
    let urls = Urls::new(&config);
    match &args.action {
        FollowersAction::List { pending } => {
            let state = pending.then_some(FollowState::Pending);
            for f in followers::list(store.conn(), state)? {
                let when = jiff::Timestamp::from_millisecond(f.created_at)
                    .map(|t| t.strftime("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                let state = match f.state {
                    FollowState::Accepted => "",
                    FollowState::Pending => "  (waiting for approval)",
                };
                outln!(
                    "{}  {}  {}{}",
                    when,
                    f.handle.as_deref().unwrap_or("-"),
                    f.actor,
                    state
                );
            }
        }
        FollowersAction::Count => {
            let c = store.conn();
            let accepted = followers::count(c, FollowState::Accepted)?;
            let pending = followers::count(c, FollowState::Pending)?;
            outln!("{accepted} followers, {pending} waiting for approval");
        }
        FollowersAction::Export => {
            // Mastodon's import format: one account address per line, with a header.
            outln!("Account address,Show boosts,Notify on new posts,Languages");
            for f in followers::list(store.conn(), Some(FollowState::Accepted))? {
                let who = f
                    .handle
                    .as_deref()
                    .map(|h| h.trim_start_matches('@').to_string())
                    .unwrap_or_else(|| f.actor.clone());
                outln!("{who},true,false,");
            }
        }
        // Read and change in one write transaction: the companion may
        // apply an Undo or a newer Follow from the same person meanwhile.
        FollowersAction::Approve { who } => {
            let tx = store.transaction()?;
            let f = find(&tx, who)?;
            if f.state == FollowState::Accepted {
                outln!("{} already follows", label(&f));
                return Ok(());
            }
            ops::accept(&tx, &urls, &f)?;
            tx.commit()?;
            outln!("Approved {}; the companion sends the Accept.", label(&f));
        }
        FollowersAction::Reject { who } | FollowersAction::Remove { who } => {
            let tx = store.transaction()?;
            let f = find(&tx, who)?;
            ops::remove(&tx, &urls, &f.actor)?;
            tx.commit()?;
            outln!("Removed {}; the companion tells their server.", label(&f));
        }
    }
    Ok(())
}

fn find(conn: &rusqlite::Connection, who: &str) -> Result<followers::Follower> {
    followers::find(conn, who)
        .context("reading followers")?
        .with_context(|| {
            format!("no follower {who:?}\n  help: `stoa followers list` shows their handles and actor URLs")
        })
}

fn label(f: &followers::Follower) -> String {
    f.handle.clone().unwrap_or_else(|| f.actor.clone())
}
