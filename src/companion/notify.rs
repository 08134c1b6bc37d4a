//! The writer's notify command (`notify` under `[companion]`): run once for
//! each new notification with its JSON on standard input, so a writer can
//! forward it to email, ntfy or a phone. It runs in its own task, one
//! command at a time, each stopped after [`NOTIFY_TIMEOUT`]: a slow or
//! hanging command delays only the next notifications, never the inbox.
//! A notification is marked as handed over after its command ran, so each
//! is sent once (one cut off by a crash may be sent again).

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::companion::App;
use crate::companion::store::notifications::{self, Notification};

/// Longest a notify command may run.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// Hands new notifications to the command until `stop`.
pub async fn run(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    loop {
        let worker = app.clone();
        let _ = tokio::task::spawn_blocking(move || pass(&worker)).await;
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => {
                if *stop.borrow() {
                    return;
                }
            }
        }
    }
}

/// One pass: every notification not handed over yet.
fn pass(app: &App) {
    let Some(command) = app.config.companion.notify.clone() else {
        // Without a command, nothing waits: one configured later gets only
        // what is new from then on.
        let _ = notifications::mark_all_notified(app.lock_store().conn());
        return;
    };
    loop {
        let batch = notifications::unnotified(app.lock_store().conn(), 20).unwrap_or_default();
        if batch.is_empty() {
            return;
        }
        for n in batch {
            run_one(&command, &n);
            if let Err(e) = notifications::mark_notified(app.lock_store().conn(), n.id) {
                tracing::error!(error = %e, "cannot record a notification as sent");
                return;
            }
        }
    }
}

/// Runs the command for one notification (`sh -c`, JSON on stdin), killed
/// after [`NOTIFY_TIMEOUT`].
fn run_one(command: &str, n: &Notification) {
    let json = serde_json::to_vec(n).unwrap_or_default();
    let child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("STOA_NOTIFICATION_KIND", &n.kind)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot run the notify command");
            return;
        }
    };
    // Written from a thread: a command that never reads must not block us.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = std::thread::Builder::new()
            .name("notify-stdin".into())
            .spawn(move || {
                let _ = stdin.write_all(&json);
            });
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                if !status.success() {
                    tracing::warn!(%status, kind = %n.kind, "the notify command failed");
                }
                return;
            }
            Ok(None) if started.elapsed() > NOTIFY_TIMEOUT => {
                tracing::warn!(kind = %n.kind, "the notify command took too long and was stopped");
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot wait for the notify command");
                return;
            }
        }
    }
}
