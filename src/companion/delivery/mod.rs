//! Sending the blog's activities: a worker that takes due rows from the
//! durable queue, signs each at send time, posts it with a bounded number
//! in flight (overall and per host), and records the outcome: done, retry
//! later on Mastodon's schedule, or give up. A 410 from a follower's inbox
//! removes that follower.

pub(crate) mod backoff;
pub(crate) mod classify;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};

use crate::companion::store::deliveries::{self, Due};
use crate::companion::store::{Store, followers, hosts, now_ms};
use crate::fetch::Client;
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
    let recorder = match Recorder::start(
        store.clone(),
        busy.clone(),
        wake.clone(),
        settings.retry_scale,
    ) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the delivery recorder; nothing will be delivered");
            return;
        }
    };
    loop {
        let due = {
            let store = store.clone();
            let exclude = busy.lock().unwrap_or_else(|e| e.into_inner()).ids.clone();
            let limit = settings.workers * 4 + exclude.len();
            tokio::task::spawn_blocking(move || {
                let store = store.lock().unwrap_or_else(|e| e.into_inner());
                let rows = deliveries::due(store.conn(), now_ms(), limit)?;
                let unavailable = hosts::unavailable(store.conn())?;
                Ok::<_, rusqlite::Error>((
                    rows.into_iter()
                        .filter(|d| !exclude.contains(&d.id))
                        .collect::<Vec<_>>(),
                    unavailable,
                ))
            })
            .await
        };
        let (due, unavailable) = match due {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot read the delivery queue");
                (Vec::new(), HashMap::new())
            }
            Err(_) => (Vec::new(), HashMap::new()),
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
            started += 1;
            if let Some(since) = unavailable.get(&d.host) {
                recorder.finished(d, Attempt::Unavailable(*since));
                continue;
            }
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let (client, recorder) = (client.clone(), recorder.clone());
            tokio::task::spawn_blocking(move || {
                let result = client.post_activity(&d.inbox, d.body.as_bytes());
                drop(permit);
                recorder.finished(d, Attempt::Sent(result));
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

/// What happened to one delivery.
enum Attempt {
    /// It was posted: the status, or the error.
    Sent(Result<u16, crate::fetch::FetchError>),
    /// Its host is unavailable since this time (ms).
    Unavailable(i64),
}

/// Records outcomes in batches (one transaction, one fsync, for all that
/// finished meanwhile), then frees their places in the busy set: a row
/// stays excluded from new picks until its outcome is on disk.
#[derive(Clone)]
struct Recorder {
    tx: std::sync::mpsc::Sender<(Due, Attempt)>,
}

impl Recorder {
    fn start(
        store: Arc<Mutex<Store>>,
        busy: Arc<Mutex<Busy>>,
        wake: Arc<Notify>,
        scale: f64,
    ) -> std::io::Result<Recorder> {
        let (tx, rx) = std::sync::mpsc::channel::<(Due, Attempt)>();
        std::thread::Builder::new()
            .name("stoa-deliveries".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < 512 {
                        match rx.try_recv() {
                            Ok(item) => batch.push(item),
                            Err(_) => break,
                        }
                    }
                    record_batch(&store, &batch, scale);
                    let mut b = busy.lock().unwrap_or_else(|e| e.into_inner());
                    for (d, _) in &batch {
                        b.ids.remove(&d.id);
                        if let Some(n) = b.per_host.get_mut(&d.host) {
                            *n = n.saturating_sub(1);
                        }
                    }
                    drop(b);
                    // Places are free: look for more work at once.
                    wake.notify_one();
                }
            })?;
        Ok(Recorder { tx })
    }

    fn finished(&self, d: Due, attempt: Attempt) {
        if self.tx.send((d, attempt)).is_err() {
            tracing::error!("the delivery recorder stopped");
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

fn record_batch(store: &Mutex<Store>, batch: &[(Due, Attempt)], scale: f64) {
    let now = now_ms();
    let day = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    let done = (|| -> rusqlite::Result<()> {
        let tx = store.transaction()?;
        for (d, attempt) in batch {
            match attempt {
                Attempt::Sent(result) => record_one(&tx, d, &classify(result), &day, scale, now)?,
                Attempt::Unavailable(since) => {
                    let since = jiff::Timestamp::from_millisecond(*since)
                        .map(|t| t.strftime("%Y-%m-%d").to_string())
                        .unwrap_or_default();
                    let why = format!(
                        "{} has been unavailable since {since} (failures on 7 days); skipped until it writes to us",
                        d.host
                    );
                    deliveries::failed(&tx, d.id, None, &why, now)?;
                }
            }
        }
        tx.commit()
    })();
    if let Err(e) = done {
        // Nothing was recorded: the rows stay pending and are sent again.
        tracing::error!(error = %e, "cannot record delivery outcomes");
    }
}

fn record_one(
    tx: &rusqlite::Connection,
    d: &Due,
    outcome: &Outcome,
    day: &str,
    scale: f64,
    now: i64,
) -> rusqlite::Result<()> {
    match outcome {
        Outcome::Delivered(status) => {
            deliveries::delivered(tx, d.id, *status, now)?;
            hosts::healthy(tx, &d.host)?;
            tracing::info!(activity = %d.activity_id, inbox = %d.inbox, status, "delivered");
            return Ok(());
        }
        Outcome::Gone => {
            deliveries::failed(tx, d.id, Some(410), "the inbox is gone (410)", now)?;
            if followers::remove_by_inbox(tx, &d.inbox)? > 0 {
                tracing::info!(inbox = %d.inbox, "follower removed: its inbox answered 410 Gone");
            }
        }
        Outcome::Refused(status) => deliveries::failed(
            tx,
            d.id,
            Some(*status),
            &format!("refused with HTTP {status}"),
            now,
        )?,
        Outcome::Unreachable(why) => deliveries::failed(tx, d.id, None, why, now)?,
        Outcome::Retry(status, why) => {
            if hosts::failed(tx, &d.host, day, now)? {
                tracing::warn!(host = %d.host, "host unavailable: deliveries failed on 7 different days; skipped until it writes to us");
            }
            if d.attempts + 1 >= backoff::MAX_ATTEMPTS {
                deliveries::failed(
                    tx,
                    d.id,
                    *status,
                    &format!("gave up after {} tries: {why}", d.attempts + 1),
                    now,
                )?;
            } else {
                let wait = backoff::delay(d.attempts + 1, rand::random::<f64>(), scale);
                deliveries::retry(tx, d.id, *status, why, now + wait.as_millis() as i64, now)?;
            }
        }
    }
    tracing::warn!(activity = %d.activity_id, inbox = %d.inbox, outcome = ?outcome, "not delivered");
    Ok(())
}
