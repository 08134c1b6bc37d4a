//! Group commit of verified activities. Each request hands its activity to
//! one writer thread and waits; the writer commits everything that arrived
//! meanwhile in one transaction (one fsync for many requests) and then
//! answers them all. A request is acknowledged only once its row is on disk,
//! in the database file the companion opened: the file is checked before
//! and after each commit (see [`crate::companion::health`]).

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::companion::health::Watch;
use crate::companion::store::incoming::{self, Received};
use crate::companion::store::integrity::{self, Fault};
use crate::companion::store::{Store, StoreError};

/// Most activities committed together.
const MAX_BATCH: usize = 512;

/// What the writer says about one activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// Stored; it will be processed.
    New,
    /// Its signature was seen before: a replay, ignored.
    Replay,
}

type Job = (Received, oneshot::Sender<Result<Queued, String>>);

/// The handle requests use to queue activities.
#[derive(Debug, Clone)]
pub struct Intake {
    tx: mpsc::Sender<Job>,
}

impl Intake {
    /// Starts the writer thread; `committed` is called after each batch.
    pub fn start(
        store: Arc<Mutex<Store>>,
        watch: Arc<Watch>,
        committed: impl Fn() + Send + 'static,
    ) -> std::io::Result<Intake> {
        let (tx, rx) = mpsc::channel::<Job>(4 * MAX_BATCH);
        std::thread::Builder::new()
            .name("stoa-intake".into())
            .spawn(move || writer(store, &watch, rx, committed))?;
        Ok(Intake { tx })
    }

    /// Queues one activity durably.
    pub async fn push(&self, r: Received) -> Result<Queued, String> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((r, done))
            .await
            .map_err(|_| "the companion is shutting down".to_string())?;
        wait.await
            .map_err(|_| "the companion is shutting down".to_string())?
    }
}

fn writer(
    store: Arc<Mutex<Store>>,
    watch: &Watch,
    mut rx: mpsc::Receiver<Job>,
    committed: impl Fn(),
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match store_batch(&store, watch, &batch) {
            Ok(flags) => {
                for ((_, done), fresh) in batch.drain(..).zip(flags) {
                    let _ = done.send(Ok(if fresh { Queued::New } else { Queued::Replay }));
                }
                committed();
            }
            Err(reason) => {
                for (_, done) in batch.drain(..) {
                    let _ = done.send(Err(reason.clone()));
                }
            }
        }
    }
}

/// Commits a batch into the database file opened at start, or says why
/// not (for the senders, who retry later).
fn store_batch(store: &Mutex<Store>, watch: &Watch, batch: &[Job]) -> Result<Vec<bool>, String> {
    let unusable = |fault: Fault| format!("{}; try again later", fault.public_reason());
    watch.check_files().map_err(unusable)?;
    let result = {
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        commit(&mut store, batch)
    };
    match result {
        // Committed, but to the real file only if it is still at its path.
        Ok(flags) => watch.check_files().map(|()| flags).map_err(unusable),
        Err(StoreError::Sql(e)) if integrity::is_corruption(&e) => {
            Err(unusable(watch.record(Fault::Broken {
                file: watch.database().to_path_buf(),
                detail: e.to_string(),
            })))
        }
        Err(e) => {
            tracing::error!(error = %e, "could not store received activities");
            Err("could not store the activity; try again".into())
        }
    }
}

fn commit(store: &mut Store, batch: &[Job]) -> Result<Vec<bool>, StoreError> {
    let tx = store.transaction()?;
    let mut flags = Vec::with_capacity(batch.len());
    for (r, _) in batch {
        flags.push(incoming::push(&tx, r)?);
    }
    tx.commit()?;
    Ok(flags)
}
