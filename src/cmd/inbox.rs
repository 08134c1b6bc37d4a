//! `stoa inbox`: run the companion. Reads `stoa.toml` (`[companion]`), the
//! private key (file or `STOA_PRIVATE_KEY`) and the admin token (file or
//! `STOA_ADMIN_TOKEN`), then serves until SIGTERM or Ctrl-C.

use anyhow::{Context, Result, bail};

use crate::cmd::cli::InboxArgs;
use crate::cmd::common::{load_admin_token, load_config, load_signer};
use crate::server;
use crate::store::Store;

/// Threads for blocking work at least (deliveries in flight get their own on top).
const BLOCKING_THREADS: usize = 16;

/// Runs `stoa inbox`.
pub fn run(args: &InboxArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, args.base_url.as_deref())?;
    let listen: std::net::SocketAddr = match &args.listen {
        Some(l) => l.parse().with_context(|| {
            format!("--listen {l:?} is not an IP address with a port, like 127.0.0.1:8787")
        })?,
        None => config
            .companion
            .listen
            .parse()
            .context("`listen` in stoa.toml")?,
    };
    let signer = load_signer(&root, &config)?;
    let admin_token = load_admin_token(&root, &config)?;
    if admin_token.is_none() {
        tracing::warn!(
            "no admin token (STOA_ADMIN_TOKEN or {}): the admin API is off",
            config.companion.admin_token_file.display()
        );
    }
    if let Some(site) = &args.site
        && !site.join("index.html").is_file()
    {
        bail!(
            "--site {}: no index.html there\n  help: build first with `stoa build`, then pass the output folder",
            site.display()
        );
    }
    if config.companion.allow_private_addresses {
        tracing::warn!("allow_private_addresses = true: the SSRF guard is off (for tests only)");
    }
    let blocking_threads =
        BLOCKING_THREADS.max(config.companion.delivery_workers + server::keys::MAX_FETCHES + 8);
    let database = root.join(&config.companion.database);
    let store = Store::open(&database).context("opening the companion's database")?;
    let options = server::Options {
        store,
        signer,
        admin_token,
        site: args.site.clone(),
        retry_scale: args.retry_scale,
        limits: server::http::Limits::default(),
        config,
    };
    // Blocking work (SQLite, key fetches, deliveries) runs on a bounded pool:
    // every extra thread costs a stack and, with glibc, a malloc arena, which
    // is what a small VPS pays for in memory.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(blocking_threads)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = server::bind(listen).await.with_context(|| {
            format!("cannot listen on {listen} (is another companion running?)")
        })?;
        println!("stoa inbox listening on http://{}", listener.local_addr()?);
        server::run(options, listener, shutdown_signal())
            .await
            .context("running the companion")
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
