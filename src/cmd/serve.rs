//! `stoa serve`: build into a temporary folder, serve it on 127.0.0.1,
//! rebuild on every change and reload the browser. A failed build is shown
//! in the terminal and over the page; the server keeps running.

use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::{Context, Result};
use notify::RecursiveMode;

use crate::cmd::build::print_report;
use crate::cmd::cli::ServeArgs;
use crate::cmd::common::shutdown_signal;
use crate::live_server::incremental::{Preview, Rebuilt};
use crate::live_server::{self, ServeState};
use crate::site::{BuildOptions, Site};
use crate::{errln, outln};

/// How long requests in flight may take to finish once asked to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Runs `stoa serve` until Ctrl-C or SIGTERM, then removes its build folder.
pub fn run(args: &ServeArgs) -> Result<()> {
    let root = args
        .site
        .root
        .canonicalize()
        .unwrap_or_else(|_| args.site.root.clone());
    if !root.join(crate::config::CONFIG_FILE).exists() {
        // Same message as a build would give.
        Site::open(&root, &BuildOptions::default())?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = live_server::bind((args.interface, args.port).into())
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}:{} (is another server using it? try --port 0)",
                    args.interface, args.port
                )
            })?;
        let addr = listener.local_addr()?;
        let base_url = args
            .site
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let out = tempfile::Builder::new()
            .prefix("stoa-serve-")
            .tempdir()
            .context("creating a temporary folder for the preview")?;
        let opts = BuildOptions {
            output: Some(out.path().to_path_buf()),
            base_url: Some(base_url.clone()),
            drafts: args.site.drafts,
            force: false,
            // A temporary folder only this preview writes.
            on_wait: None,
        };
        let out_path = out.path().to_path_buf();
        let state = ServeState::new(out_path.clone());
        // From here on SIGTERM, like Ctrl-C, stops cleanly and removes `out`.
        {
            let state = state.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                state.stop();
            });
        }
        let preview = Arc::new(Mutex::new(Preview::new(&root, opts)));
        {
            let (preview, state) = (preview.clone(), state.clone());
            tokio::task::spawn_blocking(move || rebuild(&preview, &[], &state)).await?;
        }
        let ignored = ignored_dirs(&root, out.path());
        let (tx, rx) = mpsc::channel();
        let mut debouncer =
            notify_debouncer_full::new_debouncer(Duration::from_millis(50), None, tx)
                .context("starting the file watcher")?;
        debouncer
            .watch(&root, RecursiveMode::Recursive)
            .with_context(|| format!("watching {}", root.display()))?;
        {
            let (preview, state) = (preview.clone(), state.clone());
            std::thread::spawn(move || {
                for result in rx {
                    let Ok(events) = result else { continue };
                    // Reading files (our own builds do) raises access events: skip them.
                    let mut changed: Vec<PathBuf> = events
                        .iter()
                        .filter(|e| !matches!(e.kind, notify::EventKind::Access(_)))
                        .flat_map(|e| e.paths.iter())
                        .filter(|p| is_relevant(p, &ignored))
                        .cloned()
                        .collect();
                    changed.sort();
                    changed.dedup();
                    if !changed.is_empty() {
                        rebuild(&preview, &changed, &state);
                    }
                }
            });
        }
        outln!("Serving {base_url}/ (Ctrl-C to stop)");
        let server = axum::serve(listener, live_server::router(state.clone()))
            .with_graceful_shutdown(state.stopped())
            .into_future();
        // Reload streams end at once; other requests get a moment to finish.
        let deadline = async {
            state.stopped().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            served = server => served.context("the preview server stopped")?,
            () = deadline => {}
        }
        // No rebuild may run while, or start after, the folder goes away.
        drop(debouncer);
        let _no_more_builds = preview.lock().unwrap_or_else(|e| e.into_inner());
        out.close()
            .with_context(|| format!("removing the preview folder {}", out_path.display()))?;
        Ok(())
    })
}

fn rebuild(preview: &Mutex<Preview>, changed: &[PathBuf], state: &ServeState) {
    let mut preview = preview.lock().unwrap_or_else(|e| e.into_inner());
    match preview.rebuild(changed) {
        Ok(rebuilt) => {
            match &rebuilt {
                Rebuilt::Full(report) => print_report(report),
                Rebuilt::Partial {
                    posts,
                    files,
                    written,
                    elapsed,
                } => outln!(
                    "Rebuilt {posts} changed post(s): {files} files rendered, {written} written, {} ms",
                    elapsed.as_millis()
                ),
            }
            state.build_finished(None, rebuilt.changed_output());
        }
        Err(e) => {
            errln!("error: {e}");
            state.build_finished(Some(e.to_string()), true);
        }
    }
}

fn ignored_dirs(root: &Path, out: &Path) -> Vec<PathBuf> {
    let abs = |p: PathBuf| p.canonicalize().unwrap_or(p);
    let mut v = vec![
        abs(out.to_path_buf()),
        abs(root.join(".git")),
        abs(root.join("secrets")),
    ];
    if let Ok(site) = Site::open(root, &BuildOptions::default()) {
        v.push(abs(site.output));
    }
    v
}

fn is_relevant(path: &Path, ignored: &[PathBuf]) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".stoa-tmp")
        || name.starts_with(".#")
    {
        return false;
    }
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    !ignored.iter().any(|d| path.starts_with(d))
}
