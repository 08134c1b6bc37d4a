//! `stoa inbox`, the companion: an HTTP server that receives activities
//! (`/inbox`), answers health checks, offers the admin API and optionally
//! serves the built site, plus two background loops: one applies received
//! activities, one delivers the blog's own.

mod admin;
pub(crate) use admin::entry as admin_entry;
pub(crate) mod api;
mod apply;
pub(crate) mod client;
pub(crate) mod delivery;
pub(crate) mod followers;
mod health;
pub(crate) mod http;
mod inbox;
mod intake;
pub(crate) mod key_cache;
pub(crate) mod moves;
mod notify;
mod profiles;
pub(crate) mod publish;
mod quotes;
pub mod rerender;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::companion::store::Store;
use crate::companion::store::integrity::Fault;
use crate::config::Config;
use crate::federation::Urls;
use crate::fetch::{Client, Signer};
use crate::static_files::files;

pub use notify::NOTIFY_TIMEOUT;

/// Largest inbox body accepted (413 past it).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Largest publish request (the manifest and the changed objects).
pub const MAX_PUBLISH_BYTES: usize = 64 * 1024 * 1024;
/// Longest a request may take from its head to the answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Requests handled at once (more wait for a slot).
pub const MAX_CONCURRENT_REQUESTS: usize = 512;

/// Everything the handlers and loops share.
pub struct App {
    /// The site configuration.
    pub config: Config,
    /// The blog's ActivityPub URLs.
    pub urls: Urls,
    store: Arc<Mutex<Store>>,
    watch: Arc<health::Watch>,
    client: Client,
    keys: key_cache::KeyCache,
    intake: intake::Intake,
    wake_processor: Arc<Notify>,
    wake_delivery: Arc<Notify>,
    /// Told when the public conversation may have changed ([`rerender`]).
    wake_rerender: Notify,
    admin_token: Option<String>,
    site: Option<PathBuf>,
    /// Blocks added with `stoa replies block` (stored; kept here too so a
    /// check needs no database lock).
    blocks: std::sync::RwLock<store::blocks::Blocks>,
    own_key: OwnKey,
}

/// The public half of the key the companion signs with: it verifies the
/// deployment self-test (`stoa doctor`), and its fingerprint is in
/// `/admin/status`.
struct OwnKey {
    key: crate::signatures::keys::PublicKey,
    fingerprint: String,
}

impl App {
    fn lock_store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `actor` is blocked, in stoa.toml or from the command line.
    pub fn is_blocked(&self, actor: &str) -> bool {
        self.config.companion.is_blocked(actor)
            || self
                .blocks
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .covers(actor)
    }
}

/// What `stoa inbox` was asked to run.
pub struct Options {
    /// The validated configuration (base URL already overridden if asked).
    pub config: Config,
    /// The database, opened (before listening, so that a database that
    /// cannot be used stops the start with its own message).
    pub store: Store,
    /// The actor's signing key.
    pub signer: Signer,
    /// The admin API token, if any.
    pub admin_token: Option<String>,
    /// Serve this folder (the built site) for every other GET.
    pub site: Option<PathBuf>,
    /// Re-render that site after changes to the public conversation (when
    /// it is the output of the site the companion runs in).
    pub rerender: Option<rerender::Target>,
    /// Retry schedule multiplier (1.0 = Mastodon's schedule).
    pub retry_scale: f64,
    /// Connection limits.
    pub limits: http::Limits,
}

/// Why the companion could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A thread could not be started.
    #[error("cannot start a worker thread: {0}")]
    Thread(std::io::Error),
    /// The signing key's public half cannot be read back.
    #[error("cannot read the public half of the blog's key: {0}")]
    Key(String),
    /// The database file just opened cannot be looked at.
    #[error("cannot look at the database {path}: {source}")]
    Watch {
        /// The database file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// Runs the companion on `listener` until `shutdown` resolves.
pub async fn run(
    options: Options,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StartError> {
    let database = options.store.path().to_path_buf();
    let watch = Arc::new(
        health::Watch::new(&database).map_err(|source| StartError::Watch {
            path: database.clone(),
            source,
        })?,
    );
    let blocks = store::blocks::all(options.store.conn()).unwrap_or_default();
    let store = Arc::new(Mutex::new(options.store));
    let public_pem = options.signer.key.public_pem().to_string();
    let own_key = OwnKey {
        key: crate::signatures::keys::PublicKey::from_pem(&public_pem)
            .map_err(|e| StartError::Key(e.to_string()))?,
        fingerprint: crate::signatures::keys::fingerprint(&public_pem)
            .ok_or_else(|| StartError::Key("not an RSA public key".into()))?,
    };
    let urls = Urls::new(&options.config);
    let user_agent = crate::fetch::user_agent(&options.config);
    let client = Client::new(
        Arc::new(options.signer),
        options.config.companion.allow_private_addresses,
        &user_agent,
    );
    let wake_processor = Arc::new(Notify::new());
    let wake = wake_processor.clone();
    let intake = intake::Intake::start(store.clone(), watch.clone(), move || wake.notify_one())
        .map_err(StartError::Thread)?;
    let app = Arc::new(App {
        urls,
        store: store.clone(),
        watch,
        client: client.clone(),
        keys: key_cache::KeyCache::default(),
        intake,
        wake_processor,
        wake_delivery: Arc::new(Notify::new()),
        wake_rerender: Notify::new(),
        admin_token: options.admin_token,
        site: options.site,
        config: options.config,
        own_key,
        blocks: std::sync::RwLock::new(blocks),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let processor = tokio::spawn(process_loop(app.clone(), stop_rx.clone()));
    let watcher = tokio::spawn(watch_loop(app.clone(), stop_rx.clone()));
    let notifier = tokio::spawn(notify::run(app.clone(), stop_rx.clone()));
    let rerenderer = options
        .rerender
        .map(|target| tokio::spawn(rerender::run(app.clone(), target, stop_rx.clone())));
    let deliverer = tokio::spawn(delivery::run(
        store.clone(),
        client,
        delivery::Settings {
            workers: app.config.companion.delivery_workers,
            retry_scale: options.retry_scale,
        },
        app.wake_delivery.clone(),
        stop_rx,
    ));
    tracing::info!(
        address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        actor = %app.urls.actor,
        "companion listening"
    );
    http::serve(listener, router(app.clone()), options.limits, shutdown).await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = processor.await;
    let _ = watcher.await;
    let _ = notifier.await;
    if let Some(r) = rerenderer {
        let _ = r.await;
    }
    let _ = deliverer.await;
    Ok(())
}

fn router(app: Arc<App>) -> Router {
    use tower::ServiceBuilder;
    let admin = Router::new()
        .route("/admin/status", get(admin::status))
        .route("/admin/followers", get(admin::list_followers))
        .route("/admin/followers/approve", post(admin::approve_follower))
        .route("/admin/followers/remove", post(admin::remove_follower))
        .route("/admin/interactions", get(admin::list_interactions))
        .route("/admin/conversations", get(admin::conversations))
        .route("/admin/replies", get(admin::list_replies))
        .route("/admin/notifications", get(admin::list_notifications))
        .route("/admin/notifications/read", post(admin::read_notifications))
        .route("/admin/replies/moderate", post(admin::moderate))
        .route("/admin/quotes", get(admin::list_quotes))
        .route("/admin/quotes/revoke", post(admin::revoke_quote))
        .route("/admin/manifest", get(publish::manifest))
        .route(
            "/admin/publish",
            post(publish::publish).layer(DefaultBodyLimit::max(MAX_PUBLISH_BYTES)),
        )
        .route("/admin/publishes/{id}", get(publish::progress))
        .route("/admin/deliveries", get(publish::all_deliveries))
        .route("/admin/deliveries/retry", post(publish::retry))
        .route("/admin/deliveries/purge", post(publish::purge))
        .route("/admin/move/cancel", post(publish::cancel_move))
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            admin::require_token,
        ));
    let inbox_path = crate::config::url_path(&app.urls.inbox).to_string();
    let mut router = Router::new()
        .route(
            &inbox_path,
            post(inbox::post).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route("/healthz", get(healthz))
        .route(
            &format!("{}{{key}}", crate::federation::quotes::STAMP_PATH),
            get(quote_stamp),
        )
        .merge(admin);
    if inbox_path != "/inbox" {
        router = router.route(
            "/inbox",
            post(inbox::post).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        );
    }
    router
        .fallback(get(site_file).head(site_file))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            refuse_writes_when_unusable,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    REQUEST_TIMEOUT,
                ))
                .concurrency_limit(MAX_CONCURRENT_REQUESTS),
        )
        .with_state(app)
}

/// `GET /healthz`: `ok` while the database is the file opened at start and
/// reads back sound; `503` with the reason otherwise.
async fn healthz(State(app): State<Arc<App>>) -> Response {
    let checked = tokio::task::spawn_blocking(move || app.watch.check_files())
        .await
        .unwrap_or_else(|_| {
            Err(Fault::Unreachable {
                file: PathBuf::new(),
                error: "the check stopped".into(),
            })
        });
    match checked {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(fault) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "database unavailable: {}; the companion's log says what to do\n",
                fault.public_reason()
            ),
        )
            .into_response(),
    }
}

/// Answers every POST with `503` once the database is known to be gone or
/// damaged: nothing sent now could be kept, and senders retry later.
async fn refuse_writes_when_unusable(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if req.method() == axum::http::Method::POST
        && let Some(fault) = app.watch.fault()
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            serde_json::json!({
                "error": format!("{}; try again later", fault.public_reason())
            })
            .to_string(),
        )
            .into_response();
    }
    next.run(req).await
}

/// `GET /quote-authorizations/<key>`: the stamp of an approved quote
/// (`QuoteAuthorization`), a Tombstone with 410 once revoked, else 404.
/// It lives on the blog's host (Mastodon refuses a stamp elsewhere), so the
/// host configurations proxy this path to the companion like `/inbox`.
async fn quote_stamp(
    State(app): State<Arc<App>>,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> Response {
    use crate::federation::quotes;
    let not_found = || (StatusCode::NOT_FOUND, "not found\n").into_response();
    if !quotes::is_stamp_key(&key) {
        return not_found();
    }
    let worker = app.clone();
    let found = tokio::task::spawn_blocking(move || {
        crate::companion::store::quotes::get(worker.lock_store().conn(), &key)
    })
    .await;
    let row = match found {
        Ok(Ok(Some(row))) => row,
        Ok(Ok(None)) => return not_found(),
        _ => return (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response(),
    };
    let id = quotes::stamp_url(&app.config, &row.key);
    let (status, doc) = if row.live {
        let stamp = quotes::Stamp {
            id,
            instrument: row.instrument,
            object: row.object,
        };
        (StatusCode::OK, quotes::authorization(&app.urls, &stamp))
    } else {
        let at = jiff::Timestamp::from_millisecond(row.revoked_at.unwrap_or(row.created_at))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        (StatusCode::GONE, quotes::revoked(&id, at))
    };
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            crate::content_types::ACTIVITY_JSON,
        )],
        crate::federation::to_bytes(&doc),
    )
        .into_response()
}

async fn site_file(State(app): State<Arc<App>>, uri: Uri) -> Response {
    let Some(root) = app.site.clone() else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let path = uri.path().to_string();
    match tokio::task::spawn_blocking(move || files::lookup(&root, &path)).await {
        // A deleted post's object: the Tombstone, with 410 Gone.
        Ok(files::Found::File { site_path, bytes })
            if site_path.starts_with("/ap/") && is_tombstone(&bytes) =>
        {
            let mut r = files::respond(
                files::Found::File { site_path, bytes },
                files::Mode::Deployed,
            );
            *r.status_mut() = StatusCode::GONE;
            r
        }
        Ok(found) => files::respond(found, files::Mode::Deployed),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response(),
    }
}

async fn process_loop(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut last_prune = std::time::Instant::now() - Duration::from_secs(3600);
    loop {
        let worker = app.clone();
        let _ = tokio::task::spawn_blocking(move || apply::drain(&worker)).await;
        if last_prune.elapsed() > Duration::from_secs(600) {
            last_prune = std::time::Instant::now();
            let worker = app.clone();
            let _ = tokio::task::spawn_blocking(move || {
                crate::companion::store::incoming::prune_seen(
                    worker.lock_store().conn(),
                    crate::companion::store::now_ms(),
                )
            })
            .await;
        }
        tokio::select! {
            () = app.wake_processor.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stop.changed() => {
                if *stop.borrow() {
                    return;
                }
            }
        }
    }
}

/// Checks the database file once a second (see [`watch`]).
async fn watch_loop(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    loop {
        let worker = app.clone();
        let _ = tokio::task::spawn_blocking(move || worker.watch.tick(&worker.store)).await;
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => {
                if *stop.borrow() {
                    return;
                }
            }
        }
    }
}

/// Binds the listener.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Whether a served object is a deleted post's Tombstone.
pub(crate) fn is_tombstone(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| v["type"] == "Tombstone")
}
