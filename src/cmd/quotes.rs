//! `stoa quotes`: the approved quotes of the blog's posts, and revoking one,
//! on the machine that runs the companion (it works on the database
//! directly, also while the companion runs, which then sends the Delete).

use anyhow::{Context, Result, bail};

use crate::cmd::cli::{QuotesAction, QuotesArgs};
use crate::cmd::common::{existing_database, load_config};
use crate::companion::store::quotes::{self, StampRow};
use crate::companion::store::{Store, deliveries, interactions, now_ms};
use crate::federation::{Urls, quotes as documents, to_bytes};
use crate::outln;

/// Runs `stoa quotes`.
pub fn run(args: &QuotesArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    let path = existing_database(&root, &config)?;
    let mut store = Store::open(&path)?;
    let urls = Urls::new(&config);
    match &args.action {
        QuotesAction::List => {
            for q in quotes::list(store.conn()).context("reading quotes")? {
                let when = jiff::Timestamp::from_millisecond(q.created_at)
                    .map(|t| t.strftime("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                let state = if q.live { "" } else { "  (revoked)" };
                outln!("{when}  {}  quotes  {}{state}", q.instrument, q.object);
            }
        }
        QuotesAction::Revoke { url } => {
            // Read and change in one write transaction: the companion may
            // record the same quote again meanwhile.
            let tx = store.transaction()?;
            let q = find(&tx, url)?;
            if !q.live {
                outln!("The quote {} was already revoked.", q.instrument);
                return Ok(());
            }
            let now = now_ms();
            quotes::revoke(&tx, &q.key, now)?;
            interactions::remove(&tx, &q.instrument, &q.actor)?;
            let stamp = documents::stamp_url(&config, &q.key);
            let delete = documents::delete_stamp(&urls, &stamp, &q.actor);
            let id = delete["id"].as_str().unwrap_or_default().to_string();
            let body = String::from_utf8_lossy(&to_bytes(&delete)).into_owned();
            deliveries::enqueue(&tx, &id, &body, std::slice::from_ref(&q.inbox), None, now)?;
            tx.commit()?;
            outln!(
                "Revoked the quote {}; its stamp answers 410 Gone and the companion tells their server.",
                q.instrument
            );
        }
    }
    Ok(())
}

fn find(conn: &rusqlite::Connection, url: &str) -> Result<StampRow> {
    let found = quotes::find(conn, url).context("reading quotes")?;
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("no quote {url:?}\n  help: `stoa quotes list` shows the quoting posts' URLs"),
        _ => bail!(
            "{url:?} names {} quotes\n  help: give the URL of one quoting post, as `stoa quotes list` shows it",
            found.len()
        ),
    }
}
