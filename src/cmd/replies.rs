//! `stoa replies`: see the replies the companion received and decide which
//! the blog shows: hide or show one again, approve an author (for
//! `replies = "approved"` under `[conversations]`), block an author or
//! their domain. Changes reach the pages at the next `stoa publish` (or
//! `stoa pull` and a build).

use anyhow::Result;

use crate::cmd::cli::{RepliesAction, RepliesArgs};
use crate::cmd::common::{admin_client, load_config};
use crate::companion::api::{Moderate, ModerateAction, ReplyInfo};
use crate::outln;

/// Runs `stoa replies`.
pub fn run(args: &RepliesArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    let client = admin_client(&root, &config, args.companion.as_deref())?;
    let moderate = |action: ModerateAction, target: &str| -> Result<()> {
        let done = client.moderate(&Moderate {
            action,
            target: target.to_string(),
        })?;
        outln!("{}", done.message);
        Ok(())
    };
    match &args.action {
        RepliesAction::List { all, json } => {
            let replies: Vec<ReplyInfo> = client
                .replies(if *all { 10_000 } else { 50 })?
                .into_iter()
                .filter(|r| *all || (r.public && !r.hidden && !r.blocked))
                .collect();
            if *json {
                outln!("{}", serde_json::to_string_pretty(&replies)?);
                return Ok(());
            }
            if replies.is_empty() {
                outln!("No replies yet.");
            }
            for r in &replies {
                outln!("{}", summary(r));
            }
        }
        RepliesAction::Show { reply } => {
            let all = client.replies(10_000)?;
            let Some(r) = all
                .iter()
                .find(|r| r.id == *reply || r.url.as_deref() == Some(reply))
            else {
                anyhow::bail!(
                    "no reply has the id or address {reply}\n  help: `stoa replies list --all` shows them"
                );
            };
            outln!("{}", summary(r));
            outln!("  id:        {}", r.id);
            outln!("  author:    {}", r.actor);
            outln!("  about:     {}", r.object);
            if let Some(p) = &r.in_reply_to {
                outln!("  answering: {p}");
            }
            outln!("");
            outln!("{}", crate::federation::html::to_text(&r.content));
        }
        RepliesAction::Hide {
            reply,
            block,
            block_domain,
        } => {
            moderate(ModerateAction::Hide, reply)?;
            if *block {
                moderate(ModerateAction::Block, reply)?;
            }
            if *block_domain {
                moderate(ModerateAction::BlockDomain, reply)?;
            }
        }
        RepliesAction::Unhide { reply } => moderate(ModerateAction::Unhide, reply)?,
        RepliesAction::Approve { who } => moderate(ModerateAction::Approve, who)?,
        RepliesAction::Block { who, domain } => moderate(
            if *domain {
                ModerateAction::BlockDomain
            } else {
                ModerateAction::Block
            },
            who,
        )?,
    }
    Ok(())
}

fn summary(r: &ReplyInfo) -> String {
    let who = r
        .handle
        .clone()
        .or_else(|| r.name.clone())
        .unwrap_or_else(|| r.actor.clone());
    let mut flags = Vec::new();
    if !r.public {
        flags.push("not public: never shown");
    }
    if r.hidden {
        flags.push("hidden");
    }
    if r.blocked {
        flags.push("blocked");
    }
    if r.approved {
        flags.push("approved");
    }
    let text = crate::text::shorten(&crate::federation::html::to_text(&r.content), 70);
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!(" [{}]", flags.join(", "))
    };
    format!(
        "{}  {who}{flags}\n  {text}",
        r.url.as_deref().unwrap_or(&r.id)
    )
}
