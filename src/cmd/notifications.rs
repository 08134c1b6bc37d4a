//! `stoa notifications`: what happened since the writer last looked — new
//! followers and unfollows, follow requests, replies (also followers-only
//! and direct ones, which the blog never shows), mentions, favourites,
//! boosts, deliveries given up — newest first, then marked read.

use anyhow::Result;

use crate::cmd::cli::NotificationsArgs;
use crate::cmd::common::{admin_client, load_config};
use crate::companion::api::Notification;
use crate::outln;

/// Runs `stoa notifications`.
pub fn run(args: &NotificationsArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    let client = admin_client(&root, &config, args.companion.as_deref())?;
    let list = client.notifications(args.all)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        if list.is_empty() {
            outln!("Nothing new.");
        }
        for n in &list {
            outln!("{}", line(n));
        }
        let pending = client.status()?.followers.pending;
        if pending > 0 {
            outln!(
                "{pending} follow request{} waiting: `stoa followers list --pending`, then approve or reject.",
                if pending == 1 { "" } else { "s" }
            );
        }
    }
    if let Some(newest) = list.iter().map(|n| n.id).max() {
        client.mark_read(newest)?;
    }
    Ok(())
}

/// One notification as a line (and the reply's text under it).
pub fn line(n: &Notification) -> String {
    let when = jiff::Timestamp::from_millisecond(n.created_at)
        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default();
    let who = n.actor.as_deref().unwrap_or("someone");
    let about = n.object.as_deref().unwrap_or("");
    let link = n.url.as_deref().unwrap_or(about);
    let text = || {
        n.content
            .as_deref()
            .map(|c| crate::text::shorten(&crate::federation::html::to_text(c), 100))
            .unwrap_or_default()
    };
    let unread = if n.read { " " } else { "*" };
    let what = match n.kind.as_str() {
        "follow" => format!("{who} followed the blog"),
        "follow_request" => format!("{who} asks to follow the blog"),
        "unfollow" => format!("{who} unfollowed the blog"),
        "follow_refused_moved" => {
            format!("{who} tried to follow the blog, refused: it has moved to {about}")
        }
        "like" => format!("{who} favourited {about}"),
        "boost" => format!("{who} boosted {about}"),
        "quote" => format!(
            "{who} quoted {about}{}\n    {link}",
            if n.public {
                ""
            } else {
                " (not public: never shown on the blog)"
            }
        ),
        "reply" | "mention" => format!(
            "{who} {}{}: {}\n    {link}",
            if n.kind == "reply" {
                "replied"
            } else {
                "mentioned the blog"
            },
            if n.public {
                ""
            } else {
                " (not public: never shown on the blog)"
            },
            text()
        ),
        "rerender_failed" => format!(
            "the blog could not be re-rendered after a change to its conversation (the served site is unchanged):\n    {}",
            n.content.as_deref().unwrap_or("").replace('\n', "\n    ")
        ),
        "delivery_failed" => format!("could not deliver {about} to {who}: {}", text()),
        other => format!("{other}: {who} {about}"),
    };
    format!("{unread}{when}  {what}")
}
