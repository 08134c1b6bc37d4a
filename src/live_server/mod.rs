//! The local preview server behind `stoa serve`: serves the built folder
//! with the same Content-Types a real host must use, never redirects,
//! injects a live-reload script into HTML, and shows build errors in the
//! page. Async stops here; building happens on a blocking thread.

pub mod incremental;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::Stream;

use crate::static_files::files;
use tokio::sync::{broadcast, watch};

/// Path of the server-sent events stream the injected script listens to.
pub const RELOAD_PATH: &str = "/__stoa/reload";

/// Shared between the HTTP handlers and the rebuild loop.
#[derive(Clone)]
pub struct ServeState {
    /// The built site.
    pub output: Arc<PathBuf>,
    /// The last build error, shown over every page until a build succeeds.
    pub error: Arc<RwLock<Option<String>>>,
    /// Tells connected browsers to reload.
    pub reload: broadcast::Sender<()>,
    /// Becomes `true` when the server stops: reload streams end then, so
    /// an open browser tab does not hold up the shutdown.
    pub stopping: watch::Sender<bool>,
}

impl ServeState {
    /// State for serving `output`.
    pub fn new(output: PathBuf) -> Self {
        let (reload, _) = broadcast::channel(16);
        ServeState {
            output: Arc::new(output),
            error: Arc::new(RwLock::new(None)),
            reload,
            stopping: watch::Sender::new(false),
        }
    }

    /// Ends the reload streams; what waits in [`ServeState::stopped`] wakes.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Resolves once [`ServeState::stop`] was called.
    pub fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.stopping.subscribe();
        async move {
            let _ = rx.wait_for(|stopping| *stopping).await;
        }
    }

    /// Records the outcome of a build; reloads the browsers when the site
    /// or the error shown over it changed.
    pub fn build_finished(&self, error: Option<String>, site_changed: bool) {
        let mut slot = self.error.write().unwrap_or_else(|e| e.into_inner());
        let error_changed = *slot != error;
        *slot = error;
        drop(slot);
        if site_changed || error_changed {
            let _ = self.reload.send(());
        }
    }
}

/// The router: the reload stream, then every other path from the output folder.
pub fn router(state: ServeState) -> Router {
    Router::new()
        .route(RELOAD_PATH, get(reload_stream))
        .fallback(get(serve_file).head(serve_file))
        .with_state(state)
}

async fn reload_stream(
    State(state): State<ServeState>,
) -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
    let rx = state.reload.subscribe();
    let stream = futures_util::stream::unfold((rx, state), |(mut rx, state)| async move {
        loop {
            tokio::select! {
                got = rx.recv() => match got {
                    Ok(()) => {
                        return Some((Ok(Event::default().event("reload").data("1")), (rx, state)));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                () = state.stopped() => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn serve_file(State(state): State<ServeState>, uri: Uri, _headers: HeaderMap) -> Response {
    let output = state.output.clone();
    let error = state
        .error
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let path = uri.path().to_string();
    match tokio::task::spawn_blocking(move || files::lookup(&output, &path)).await {
        Ok(found) => files::respond(found, files::Mode::Preview(error.as_deref())),
        Err(_) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
        )
            .into_response(),
    }
}

/// Binds the listener (port 0 picks a free one).
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}
