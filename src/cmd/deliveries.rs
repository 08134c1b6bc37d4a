//! `stoa deliveries`: how deliveries are doing, per server; retry the
//! waiting ones now; forget finished ones. Talks to the companion's admin
//! API, so it works from the writer's machine as well as on the server.

use anyhow::{Context, Result};
use serde_json::Value;

use crate::cmd::cli::{DeliveriesAction, DeliveriesArgs};
use crate::cmd::inbox::{load_admin_token, load_config};
use crate::companion_client::CompanionClient;
use crate::store::deliveries::Progress;

/// Runs `stoa deliveries`.
pub fn run(args: &DeliveriesArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    let token = load_admin_token(&root, &config)?.with_context(|| {
        format!(
            "no admin token: put the companion's token in {} or set STOA_ADMIN_TOKEN",
            config.companion.admin_token_file.display()
        )
    })?;
    let companion = args
        .companion
        .clone()
        .unwrap_or_else(|| config.publish.companion.clone());
    let client = CompanionClient::new(&companion, &token);
    match args.action.as_ref().unwrap_or(&DeliveriesAction::Status) {
        DeliveriesAction::Status => {
            let p: Progress = client.get("deliveries")?;
            println!(
                "{} deliveries: {} delivered, {} retrying, {} failed, {} waiting",
                p.total, p.delivered, p.retrying, p.failed, p.queued
            );
            for h in &p.hosts {
                let mut line = format!(
                    "  {:<32} {} delivered, {} retrying, {} failed, {} waiting",
                    h.host, h.delivered, h.retrying, h.failed, h.queued
                );
                if let Some(e) = &h.last_error {
                    line.push_str(&format!("  ({e})"));
                }
                println!("{line}");
            }
        }
        DeliveriesAction::Retry => {
            let v: Value = client.post("deliveries/retry", &serde_json::json!({}))?;
            println!("{} deliveries will be tried again now.", v["retrying"]);
        }
        DeliveriesAction::Purge => {
            let v: Value = client.post("deliveries/purge", &serde_json::json!({}))?;
            println!("Forgot {} finished deliveries.", v["purged"]);
        }
    }
    Ok(())
}
