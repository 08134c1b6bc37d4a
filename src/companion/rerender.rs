//! Re-rendering the blog the companion serves (`stoa inbox --site`, run in
//! the site folder): after a change to the public conversation (a public
//! reply received, edited or deleted, a favourite or boost or its undo, a
//! reply hidden or shown, a person approved or blocked), the companion
//! writes `conversations.toml` and the avatars as `stoa pull` does
//! ([`crate::conversation_files`]) and runs `stoa build` on the site, so
//! the page shows the conversation within seconds, with no writer action.
//!
//! - **Debounced:** a pass starts once no change came for [`QUIET`] (at
//!   most [`MAX_DELAY`] after the first), so a burst is one build.
//! - **Off the inbox's path:** this is a task of its own; it reads the
//!   conversation through a read-only connection of its own (a WAL
//!   snapshot: the inbox's writes never wait for it). The build is a child process
//!   (the same `stoa` binary) at a lower priority (`nice` 10), so the inbox
//!   gets the CPU first; its memory goes back to the system when it
//!   ends, and a build that fails or crashes cannot take the companion
//!   down. It takes the output folder's lock like every build
//!   ([`crate::output_lock`]), so it never writes at the same time as a
//!   `stoa build` or `stoa publish`.
//! - **A failed build changes no output** (the build's own guarantee); it
//!   is logged, and the writer gets a `rerender_failed` notification once
//!   per distinct error. The next change tries again.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::companion::App;
use crate::companion::store::{self, notifications};

/// Quiet time after the last change before a pass starts.
pub const QUIET: Duration = Duration::from_secs(1);
/// Longest a pass waits after the first change of a burst.
pub const MAX_DELAY: Duration = Duration::from_secs(10);
/// The build's scheduling priority (`nice`): below the companion's own.
const BUILD_NICENESS: i32 = 10;

/// The site the companion re-renders.
#[derive(Debug, Clone)]
pub struct Target {
    /// The site folder (stoa.toml, content/).
    pub root: PathBuf,
    /// The output folder it serves (`--site`).
    pub output: PathBuf,
    /// The base URL given to `stoa inbox --base-url`, passed on to the build.
    pub base_url: Option<String>,
}

/// Re-renders after each burst of changes until `stop`; one pass at the
/// start catches up with what changed while the companion was down.
pub async fn run(app: Arc<App>, target: Target, mut stop: watch::Receiver<bool>) {
    let mut failed: Option<String> = None;
    let mut due = true;
    loop {
        if !due {
            tokio::select! {
                () = app.wake_rerender.notified() => {}
                _ = stop.changed() => {
                    if *stop.borrow() {
                        return;
                    }
                }
            }
        }
        due = false;
        let first = Instant::now();
        loop {
            let left = MAX_DELAY.saturating_sub(first.elapsed());
            if left.is_zero() {
                break;
            }
            tokio::select! {
                () = app.wake_rerender.notified() => {}
                () = tokio::time::sleep(QUIET.min(left)) => break,
                _ = stop.changed() => {
                    if *stop.borrow() {
                        return;
                    }
                }
            }
        }
        let worker = app.clone();
        let site = target.clone();
        let before = failed.clone();
        failed = tokio::task::spawn_blocking(move || pass(&worker, &site, before))
            .await
            .unwrap_or_else(|e| Some(format!("the re-render stopped: {e}")));
    }
}

/// One pass: the conversation into the site folder, then a build if it
/// changed (or the last build failed). Returns the error, if any.
fn pass(app: &App, target: &Target, failed_before: Option<String>) -> Option<String> {
    let result = read_conversations(app)
        .map_err(|e| format!("cannot read the conversation from the database: {e}"))
        .and_then(|answer| {
            crate::conversation_files::write(&target.root, &answer).map_err(|e| format!("{e:#}"))
        })
        .and_then(|pulled| {
            if pulled.changed || failed_before.is_some() {
                build(target).map(Some)
            } else {
                Ok(None)
            }
        });
    match result {
        Ok(None) => None,
        Ok(Some(summary)) => {
            if failed_before.is_some() {
                tracing::info!("re-rendering the site works again");
            }
            tracing::info!(%summary, "site re-rendered for the conversation");
            None
        }
        Err(error) => {
            tracing::error!(
                %error,
                "could not re-render the site after a change to the conversation; the served site is unchanged"
            );
            if failed_before.as_deref() != Some(error.as_str()) {
                let note = notifications::Notification {
                    kind: "rerender_failed".into(),
                    content: Some(error.clone()),
                    created_at: store::now_ms(),
                    ..notifications::Notification::default()
                };
                if let Err(e) = notifications::add(app.lock_store().conn(), &note) {
                    tracing::error!(error = %e, "cannot record the notification");
                }
            }
            Some(error)
        }
    }
}

/// The public conversation, read through a connection of its own in one
/// read transaction: the database is in WAL mode, so this reads a snapshot
/// while the companion goes on writing, and the inbox's group commits never
/// wait for it (the shared connection's lock is not taken).
fn read_conversations(app: &App) -> rusqlite::Result<crate::companion::api::ConversationsAnswer> {
    use rusqlite::{Connection, OpenFlags};
    let path = app.lock_store().path().to_path_buf();
    let mut conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    let snapshot = conn.transaction()?;
    super::admin::public_conversations(app, &snapshot)
}

/// Runs `stoa build` on the site into the served folder; its summary line,
/// or what it printed on failure.
fn build(target: &Target) -> Result<String, String> {
    let program = std::env::current_exe()
        .map_err(|e| format!("cannot find the stoa program to build with: {e}"))?;
    let mut command = Command::new(program);
    command
        .arg("build")
        .arg("--root")
        .arg(&target.root)
        .arg("--output")
        .arg(&target.output);
    if let Some(url) = &target.base_url {
        command.arg("--base-url").arg(url);
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run stoa build: {e}"))?;
    // The inbox comes first: the build gets the CPU the companion leaves.
    if let Some(pid) = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        && let Err(e) = rustix::process::setpriority_process(Some(pid), BUILD_NICENESS)
    {
        tracing::debug!(error = %e, "cannot lower the re-render's priority");
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot run stoa build: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.status.success() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(format!("stoa build failed ({}):\n{stderr}", out.status))
    }
}
