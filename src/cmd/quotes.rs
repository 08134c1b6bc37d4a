//! `stoa quotes`: the approved quotes of the blog's posts, and revoking
//! one, from the writer's machine through the companion's admin API (the
//! companion then sends the quoting server a Delete of the stamp).

use anyhow::Result;

use crate::cmd::cli::{QuotesAction, QuotesArgs};
use crate::cmd::common::{admin_client, load_config};
use crate::outln;

/// Runs `stoa quotes`.
pub fn run(args: &QuotesArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    let client = admin_client(&root, &config, args.companion.as_deref())?;
    match &args.action {
        QuotesAction::List { json } => {
            let quotes = client.quotes()?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&quotes)?);
                return Ok(());
            }
            if quotes.is_empty() {
                outln!("No quotes yet.");
            }
            for q in quotes {
                let when = jiff::Timestamp::from_millisecond(q.created_at)
                    .map(|t| t.strftime("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                let state = if q.live { "" } else { "  (revoked)" };
                outln!("{when}  {}  quotes  {}{state}", q.instrument, q.object);
            }
        }
        QuotesAction::Revoke { url } => {
            let done = client.revoke_quote(url)?;
            if done.outcome == "already_revoked" {
                outln!("The quote {} was already revoked.", done.instrument);
            } else {
                outln!(
                    "Revoked the quote {}; its stamp answers 410 Gone and the companion tells their server.",
                    done.instrument
                );
            }
        }
    }
    Ok(())
}
