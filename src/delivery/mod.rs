//! Sending the blog's activities: a worker that takes due rows from the
//! durable queue, signs each at send time, posts it with a bounded number
//! in flight (overall and per host), and records the outcome: done, retry
//! later on Mastodon's schedule, or give up. A 410 from a follower's inbox
//! removes that follower.

pub mod backoff;
pub mod classify;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};

use crate::fetch::Client;
use crate::store::deliveries::{self, Due};
use crate::store::{Store, followers, hosts, now_ms};
use classify::{Outcome, classify};

/// Deliveries to one host in flight at most.
pub const PER_HOST: usize = 4;

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Deliveries in flight at most.
    pub workers: usize,
    /// Multiplies the retry schedule (1.0 in production; small in tests).
    pub retry_scale: f64,
}

/// Runs the delivery loop until `stop` is notified.
pub async fn run(
    store: Arc<Mutex<Store>>,
    client: Client,
    settings: Settings,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(settings.workers));
    let busy: Arc<Mutex<Busy>> = Arc::default();
    loop {
        let due = {
            let store = store.clone();
            let exclude = busy.lock().unwrap_or_else(|e| e.into_inner()).ids.clone();
            let limit = settings.workers * 4 + exclude.len();
            tokio::task::spawn_blocking(move || {
                let store = store.lock().unwrap_or_else(|e| e.into_inner());
                deliveries::due(store.conn(), now_ms(), limit).map(|rows| {
                    rows.into_iter()
                        .filter(|d| !exclude.contains(&d.id))
                        .collect::<Vec<_>>()
                })
            })
            .await
        };
        let due = match due {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot read the delivery queue");
                Vec::new()
            }
            Err(_) => Vec::new(),
        };
        let mut started = 0;
        for d in due {
            {
                let mut b = busy.lock().unwrap_or_else(|e| e.into_inner());
                let on_host = b.per_host.get(&d.host).copied().unwrap_or(0);
                if on_host >= PER_HOST {
                    continue;
                }
                b.ids.insert(d.id);
                *b.per_host.entry(d.host.clone()).or_default() += 1;
            }
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            started += 1;
            let (store, client, busy, wake, scale) = (
                store.clone(),
                client.clone(),
                busy.clone(),
                wake.clone(),
                settings.retry_scale,
            );
            tokio::task::spawn_blocking(move || {
                let unavailable = {
                    let store = store.lock().unwrap_or_else(|e| e.into_inner());
                    hosts::unavailable_since(store.conn(), &d.host)
                        .ok()
                        .flatten()
                };
                match unavailable {
                    Some(since) => skip_unavailable(&store, &d, since),
                    None => {
                        let result = client.post_activity(&d.inbox, d.body.as_bytes());
                        record(&store, &d, &result, scale);
                    }
                }
                let mut b = busy.lock().unwrap_or_else(|e| e.into_inner());
                b.ids.remove(&d.id);
                if let Some(n) = b.per_host.get_mut(&d.host) {
                    *n = n.saturating_sub(1);
                }
                drop(b);
                drop(permit);
                // A slot is free: look for more work at once.
                wake.notify_one();
            });
        }
        let pause = if started > 0 {
            Duration::from_millis(20)
        } else {
            Duration::from_secs(1)
        };
        if !continue_after(&wake, &mut stop, pause).await {
            return;
        }
    }
}

#[derive(Debug, Default)]
struct Busy {
    ids: HashSet<i64>,
    per_host: HashMap<String, usize>,
}

/// Waits for a wake-up or the timeout; false when asked to stop.
async fn continue_after(
    wake: &Notify,
    stop: &mut watch::Receiver<bool>,
    timeout: Duration,
) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        () = wake.notified() => true,
        () = tokio::time::sleep(timeout) => true,
        _ = stop.changed() => !*stop.borrow(),
    }
}

fn record(
    store: &Mutex<Store>,
    d: &Due,
    result: &Result<u16, crate::fetch::FetchError>,
    scale: f64,
) {
    let outcome = classify(result);
    let now = now_ms();
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    let done = (|| -> rusqlite::Result<()> {
        let tx = store.transaction()?;
        match &outcome {
            Outcome::Delivered(status) => {
                deliveries::delivered(&tx, d.id, *status, now)?;
                hosts::healthy(&tx, &d.host)?;
            }
            Outcome::Gone => {
                deliveries::failed(&tx, d.id, Some(410), "the inbox is gone (410)", now)?;
                let removed = followers::remove_by_inbox(&tx, &d.inbox)?;
                if removed > 0 {
                    tracing::info!(inbox = %d.inbox, "follower removed: its inbox answered 410 Gone");
                }
            }
            Outcome::Refused(status) => deliveries::failed(
                &tx,
                d.id,
                Some(*status),
                &format!("refused with HTTP {status}"),
                now,
            )?,
            Outcome::Unreachable(why) => deliveries::failed(&tx, d.id, None, why, now)?,
            Outcome::Retry(status, why) => {
                let day = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
                if hosts::failed(&tx, &d.host, &day, now)? {
                    tracing::warn!(host = %d.host, "host unavailable: deliveries failed on 7 different days; skipped until it writes to us");
                }
                if d.attempts + 1 >= backoff::MAX_ATTEMPTS {
                    deliveries::failed(
                        &tx,
                        d.id,
                        *status,
                        &format!("gave up after {} tries: {why}", d.attempts + 1),
                        now,
                    )?;
                } else {
                    let wait = backoff::delay(d.attempts + 1, rand::random::<f64>(), scale);
                    deliveries::retry(&tx, d.id, *status, why, now + wait.as_millis() as i64, now)?;
                }
            }
        }
        tx.commit()
    })();
    match (&outcome, done) {
        (_, Err(e)) => tracing::error!(error = %e, "cannot record a delivery outcome"),
        (Outcome::Delivered(status), Ok(())) => {
            tracing::info!(activity = %d.activity_id, inbox = %d.inbox, status, "delivered")
        }
        (other, Ok(())) => {
            tracing::warn!(activity = %d.activity_id, inbox = %d.inbox, outcome = ?other, "not delivered")
        }
    }
}

fn skip_unavailable(store: &Mutex<Store>, d: &Due, since: i64) {
    let day = jiff::Timestamp::from_millisecond(since)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let store = store.lock().unwrap_or_else(|e| e.into_inner());
    let why = format!(
        "{} has been unavailable since {day} (failures on 7 days); skipped until it writes to us",
        d.host
    );
    if let Err(e) = deliveries::failed(store.conn(), d.id, None, &why, now_ms()) {
        tracing::error!(error = %e, "cannot record a skipped delivery");
    }
}
