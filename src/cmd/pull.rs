//! `stoa pull`: fetch the public conversation (replies, favourites, boosts
//! and the avatars they show) from the companion into the site folder:
//! `conversations.toml` and `conversations/avatars/`. The next build shows
//! it under each post; `stoa publish` does the same before it builds.

use std::path::Path;

use anyhow::Result;

use crate::cmd::cli::PullArgs;
use crate::cmd::common::{admin_client, load_config};
use crate::companion::client::CompanionClient;
use crate::conversation_files::{self, Pulled};
use crate::outln;

/// Runs `stoa pull`.
pub fn run(args: &PullArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    let client = admin_client(&root, &config, args.companion.as_deref())?;
    let pulled = pull(&root, &client)?;
    outln!(
        "{}: {} replies, {} favourites, {} boosts under {} posts{}.",
        crate::conversations::FILE,
        pulled.replies,
        pulled.likes,
        pulled.boosts,
        pulled.posts,
        if pulled.changed { "" } else { " (unchanged)" }
    );
    Ok(())
}

/// Fetches the conversation and writes it into the site folder at `root`
/// (see [`conversation_files::write`]).
pub fn pull(root: &Path, client: &CompanionClient) -> Result<Pulled> {
    let answer = client.conversations()?;
    conversation_files::write(root, &answer)
}
