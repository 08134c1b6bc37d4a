//! `stoa inbox`: run the companion. Reads `stoa.toml` (`[companion]`), the
//! private key (file or `STOA_PRIVATE_KEY`) and the admin token (file or
//! `STOA_ADMIN_TOKEN`), then serves until SIGTERM or Ctrl-C.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cmd::cli::InboxArgs;
use crate::cmd::common::{load_admin_token, load_config, load_signer, shutdown_signal};
use crate::companion;
use crate::companion::store::Store;
use crate::config::{CONFIG_FILE, Config};
use crate::outln;
use crate::static_files::guard::{self, Private};

/// Threads for blocking work at least (deliveries in flight get their own on top).
const BLOCKING_THREADS: usize = 16;

/// Runs `stoa inbox`.
pub fn run(args: &InboxArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, args.base_url.as_deref())?;
    if let Some(site) = &args.site {
        check_site_folder(site, &root, &config)?;
    }
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
    if config.companion.allow_private_addresses {
        tracing::warn!("allow_private_addresses = true: the SSRF guard is off (for tests only)");
    }
    let blocking_threads = BLOCKING_THREADS
        .max(config.companion.delivery_workers + companion::key_cache::MAX_FETCHES + 8);
    let database = root.join(&config.companion.database);
    let store = Store::open(&database).context("opening the companion's database")?;
    let rerender = args
        .site
        .as_deref()
        .and_then(|site| rerender_target(site, &root, args.base_url.clone()));
    let options = companion::Options {
        store,
        signer,
        admin_token,
        site: args.site.clone(),
        rerender,
        retry_scale: args.retry_scale,
        limits: companion::http::Limits::default(),
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
        let listener = companion::bind(listen).await.with_context(|| {
            format!("cannot listen on {listen} (is another companion running?)")
        })?;
        outln!("stoa inbox listening on http://{}", listener.local_addr()?);
        companion::run(options, listener, shutdown_signal())
            .await
            .context("running the companion")
    })
}

/// The site the companion re-renders after changes to the conversation:
/// the served folder, when stoa built it (its manifest is there: not a
/// copy made by a deploy) and the site's sources are here.
fn rerender_target(
    site: &Path,
    root: &Path,
    base_url: Option<String>,
) -> Option<companion::rerender::Target> {
    let built = site.join(crate::output::MANIFEST).is_file();
    let sources = root.join(crate::content::library::CONTENT_DIR).is_dir();
    if !(built && sources) {
        tracing::info!(
            site = %site.display(),
            "not re-rendering the served site after new replies: {}",
            if built { "the site's content/ folder is not here" } else { "stoa did not build that folder (no .stoa-manifest)" }
        );
        return None;
    }
    tracing::info!(site = %site.display(), "re-rendering the served site after changes to the conversation");
    Some(companion::rerender::Target {
        root: root.to_path_buf(),
        output: site.to_path_buf(),
        base_url,
    })
}

/// Refuses to serve a folder that holds the site's private files (its
/// settings, `secrets/`, the database, the private key, the admin token),
/// or one without a built site in it.
fn check_site_folder(site: &Path, root: &Path, config: &Config) -> Result<()> {
    if !site.is_dir() {
        bail!(
            "--site {}: no such folder\n  help: build first with `stoa build`, then pass the output folder, e.g. public/",
            site.display()
        );
    }
    let c = &config.companion;
    let mut private = vec![
        Private {
            path: root.join(CONFIG_FILE),
            what: "the site's settings",
        },
        Private {
            path: root.join("secrets"),
            what: "the site's secrets",
        },
        Private {
            path: root.join(&c.private_key),
            what: "the blog's private key",
        },
        Private {
            path: root.join(&c.admin_token_file),
            what: "the admin token",
        },
        Private {
            path: root.join(&c.database),
            what: "the companion's database: followers, replies",
        },
    ];
    // Another site's folder is no better than this one's.
    if site.join(CONFIG_FILE).is_file() {
        private.extend([
            Private {
                path: site.join(CONFIG_FILE),
                what: "a site's settings",
            },
            Private {
                path: site.join("secrets"),
                what: "a site's secrets",
            },
        ]);
    }
    let exposed = guard::exposed(site, &private);
    if !exposed.is_empty() {
        let mut seen = Vec::new();
        let mut list = String::new();
        for p in exposed {
            let path = guard::canonical_lenient(&p.path);
            if !seen.contains(&path) {
                list.push_str(&format!("\n    {} ({})", path.display(), p.what));
                seen.push(path);
            }
        }
        bail!(
            "--site {}: refusing to serve this folder, it would make private files public:{list}\n  help: point --site at the built output folder, e.g. public/ (`stoa build` makes it)",
            site.display()
        );
    }
    if !site.join("index.html").is_file() {
        bail!(
            "--site {}: no index.html there\n  help: build first with `stoa build`, then pass the output folder, e.g. public/",
            site.display()
        );
    }
    Ok(())
}
