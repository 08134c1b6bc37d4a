//! `stoa deliveries`: how deliveries are doing, per server; retry the
//! waiting ones now; forget finished ones. Talks to the companion's admin
//! API, so it works from the writer's machine as well as on the server.

use anyhow::Result;

use crate::cmd::cli::{DeliveriesAction, DeliveriesArgs};
use crate::cmd::common::{admin_client, load_config};
use crate::outln;

/// Runs `stoa deliveries`.
pub fn run(args: &DeliveriesArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    let client = admin_client(&root, &config, args.companion.as_deref())?;
    match args.action.as_ref().unwrap_or(&DeliveriesAction::Status) {
        DeliveriesAction::Status => {
            let p = client.deliveries()?;
            outln!(
                "{} deliveries: {} delivered, {} retrying, {} failed, {} waiting",
                p.total,
                p.delivered,
                p.retrying,
                p.failed,
                p.queued
            );
            for h in &p.hosts {
                let mut line = format!(
                    "  {:<32} {} delivered, {} retrying, {} failed, {} waiting",
                    h.host, h.delivered, h.retrying, h.failed, h.queued
                );
                if let Some(e) = &h.last_error {
                    line.push_str(&format!("  ({e})"));
                }
                outln!("{line}");
            }
        }
        DeliveriesAction::Retry => {
            let r = client.retry()?;
            outln!("{} deliveries will be tried again now.", r.retrying);
        }
        DeliveriesAction::Purge => {
            let p = client.purge()?;
            outln!("Forgot {} finished deliveries.", p.purged);
        }
    }
    Ok(())
}
