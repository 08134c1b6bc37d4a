//! `POST /inbox`: authenticate, check, queue, answer 202. Nothing here
//! changes the blog's state: a request either lands in the intake queue
//! (and is applied later by `process`) or is refused with a status and a
//! reason the sender can read.
//!
//! Order of checks (cheap before costly, no fetch for junk): a `Host` that
//! names this blog; a signature header that parses and covers what it must,
//! a fresh date and a matching body digest; a JSON activity addressed
//! sensibly, every id in it on its actor's server; then the key (cached, or
//! fetched and proven by its owner's actor document), its owner equal to
//! the activity's actor, and the RSA check; then a durable, replay-proof
//! enqueue.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::companion::App;
use crate::companion::api::{SELF_TEST_TYPE, SelfTestAnswer};
use crate::companion::intake::Queued;
use crate::companion::key_cache::KeyLookupError;
use crate::companion::store::incoming::Received;
use crate::federation::inbound::{self, Activity, Inbound};
use crate::federation::trust;
use crate::fetch::FetchError;
use crate::signatures::SignatureError;
use crate::signatures::presented::Presented;

/// The handler.
pub async fn post(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match receive(&app, &method, &uri, &headers, &body).await {
        Ok(Answer::Queued(Queued::New)) => {
            app.wake_processor.notify_one();
            (StatusCode::ACCEPTED, "").into_response()
        }
        Ok(Answer::Queued(Queued::Replay)) => (StatusCode::ACCEPTED, "").into_response(),
        Ok(Answer::SelfTest(answer)) => (StatusCode::ACCEPTED, axum::Json(answer)).into_response(),
        Err(refusal) => {
            tracing::info!(status = refusal.status.as_u16(), reason = %refusal.reason, "inbox request refused");
            refusal.into_response()
        }
    }
}

/// What an accepted request became.
enum Answer {
    /// An activity, queued (or a replay).
    Queued(Queued),
    /// The deployment self-test, verified; nothing stored.
    SelfTest(SelfTestAnswer),
}

/// A refused request: status and a reason for the sender.
#[derive(Debug)]
pub struct Refusal {
    /// HTTP status.
    pub status: StatusCode,
    /// Why, in words.
    pub reason: String,
}

impl Refusal {
    fn new(status: StatusCode, reason: impl std::fmt::Display) -> Refusal {
        Refusal {
            status,
            reason: reason.to_string(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "error": self.reason }).to_string(),
        )
            .into_response()
    }
}

async fn receive(
    app: &Arc<App>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Answer, Refusal> {
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    check_host(app, headers)?;
    let path_and_query = uri.path_and_query().map_or("/inbox", |p| p.as_str());
    let target_uri = format!("{}{}", app.config.base_url, path_and_query);
    let now = Timestamp::now();
    let presented = Presented::from_headers(&pairs).map_err(unauthorized)?;
    presented
        .check_before_key(
            method.as_str(),
            path_and_query,
            &pairs,
            &target_uri,
            body,
            now,
        )
        .map_err(unauthorized)?;

    if is_self_test(body) {
        return self_test(
            app,
            &presented,
            method,
            path_and_query,
            &pairs,
            &target_uri,
            body,
            now,
        )
        .map(Answer::SelfTest);
    }
    let activity = inbound::parse(body).map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e))?;
    check_addressing(app, &activity)?;
    trust::check_ids(&activity).map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e))?;

    let key_id = presented.key_id().to_string();
    let verify = |key: &crate::signatures::keys::PublicKey| {
        presented.verify(
            method.as_str(),
            path_and_query,
            &pairs,
            &target_uri,
            body,
            key,
            now,
        )
    };
    let mut refreshed = false;
    let lookup = |refresh: bool| lookup_key(app, &presented, &activity, &key_id, body, refresh);
    let key = match lookup(false).await? {
        Lookup::Key(k) => k,
        Lookup::Answered(a) => return Ok(a),
    };
    let key = match verify(&key.key) {
        Ok(()) => key,
        Err(e) if !key.may_refetch(crate::companion::store::now_ms()) => {
            return Err(unauthorized(e));
        }
        Err(_) => {
            // Maybe the actor rotated its key: fetch it again, once.
            refreshed = true;
            let fresh = match lookup(true).await? {
                Lookup::Key(k) => k,
                Lookup::Answered(a) => return Ok(a),
            };
            verify(&fresh.key).map_err(unauthorized)?;
            fresh
        }
    };
    if key.owner != activity.actor {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "the key {key_id} belongs to {}, not to the activity's actor {}",
                key.owner, activity.actor
            ),
        ));
    }
    if refreshed {
        tracing::info!(key_id, "verified with a refetched key");
    }
    queue(app, &presented, &activity, body)
        .await
        .map(Answer::Queued)
}

/// Whether the body is `stoa doctor`'s deployment self-test.
fn is_self_test(body: &[u8]) -> bool {
    // A scan first, so other activities are not parsed twice.
    let marker = SELF_TEST_TYPE.as_bytes();
    body.windows(marker.len()).any(|w| w == marker)
        && serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| {
            v.get("type").and_then(serde_json::Value::as_str) == Some(SELF_TEST_TYPE)
        })
}

/// The deployment self-test: it passes only when signed with the blog's own
/// key (the one this companion signs with), so nobody else can use it, and
/// it changes nothing (no row, no replay record: a replay gets the same
/// answer and still changes nothing). The answer carries the key's
/// fingerprint, so `stoa doctor` can tell a companion holding another key.
#[allow(clippy::too_many_arguments)]
fn self_test(
    app: &App,
    presented: &Presented,
    method: &Method,
    path_and_query: &str,
    pairs: &[(String, String)],
    target_uri: &str,
    body: &[u8],
    now: Timestamp,
) -> Result<SelfTestAnswer, Refusal> {
    let fingerprint = &app.own_key.fingerprint;
    if presented.key_id() != app.urls.key_id {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "a self-test must be signed with this blog's key {}",
                app.urls.key_id
            ),
        ));
    }
    presented
        .verify(
            method.as_str(),
            path_and_query,
            pairs,
            target_uri,
            body,
            &app.own_key.key,
            now,
        )
        .map_err(|e| {
            Refusal::new(
                StatusCode::UNAUTHORIZED,
                format!("self-test: {e}; this companion's key is {fingerprint}"),
            )
        })?;
    tracing::info!("deployment self-test verified (nothing stored)");
    Ok(SelfTestAnswer {
        self_test: "verified".into(),
        key_fingerprint: fingerprint.clone(),
    })
}

async fn queue(
    app: &Arc<App>,
    presented: &Presented,
    activity: &Activity,
    body: &Bytes,
) -> Result<Queued, Refusal> {
    let received = Received {
        signature_hash: Sha256::digest(presented.signature_bytes()).into(),
        actor: activity.actor.clone(),
        body: String::from_utf8_lossy(body).into_owned(),
        received_at: crate::companion::store::now_ms(),
    };
    app.intake
        .push(received)
        .await
        .map_err(|e| Refusal::new(StatusCode::SERVICE_UNAVAILABLE, e))
}

fn check_addressing(app: &App, activity: &Activity) -> Result<(), Refusal> {
    if activity.actor == app.urls.actor {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "the activity claims to come from this blog itself",
        ));
    }
    if let Inbound::Follow { object, .. } = &activity.what
        && *object != app.urls.actor
    {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!(
                "this Follow is addressed to {object}; the only actor here is {}",
                app.urls.actor
            ),
        ));
    }
    Ok(())
}

fn is_self_delete(a: &Activity) -> bool {
    matches!(&a.what, Inbound::Delete { object } if *object == a.actor)
}

/// A key to verify with, or the answer already given (a deleted account's
/// Delete, queued on its own server's word).
enum Lookup {
    Key(crate::companion::key_cache::Key),
    Answered(Answer),
}

/// The key for `key_id` (`refresh`: fetched again); when it is gone and the
/// activity deletes its own actor, the deleted-account path answers instead.
async fn lookup_key(
    app: &Arc<App>,
    presented: &Presented,
    activity: &Activity,
    key_id: &str,
    body: &Bytes,
    refresh: bool,
) -> Result<Lookup, Refusal> {
    match fetch_key(app, key_id, refresh).await {
        Ok(k) => Ok(Lookup::Key(k)),
        Err(e) if is_self_delete(activity) && is_gone(&e) => {
            queue_if_gone(app, presented, activity, key_id, body)
                .await
                .map(|q| Lookup::Answered(Answer::Queued(q)))
        }
        Err(e) => Err(key_refusal(e)),
    }
}

/// Whether a key lookup failed because the key's document is gone (410) or
/// not there (404): what a deleted account's server answers.
fn is_gone(e: &KeyLookupError) -> bool {
    matches!(
        e,
        KeyLookupError::Fetch(FetchError::Gone(_) | FetchError::Status { status: 404, .. })
    )
}

/// A Delete of an account whose key can no longer be fetched cannot be
/// verified. It is accepted (Mastodon does the same) only when the
/// account's own server says so: the actor's URL (not the key's, which
/// anyone can point anywhere) answers 410 or 404, and the key is the
/// actor's own, on its server. Anyone may then send it: the deletion is
/// the truth, whoever brings the news.
async fn queue_if_gone(
    app: &Arc<App>,
    presented: &Presented,
    activity: &Activity,
    key_id: &str,
    body: &Bytes,
) -> Result<Queued, Refusal> {
    let actor = activity.actor.clone();
    let key_url = key_id.split('#').next().unwrap_or(key_id);
    let belongs = trust::same_origin(key_id, &actor)
        && (key_url == actor || key_url.starts_with(&format!("{actor}/")));
    if !belongs {
        return Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "cannot verify the signature: the key {key_id} is gone and is not {actor}'s own key"
            ),
        ));
    }
    let slot = app.keys.fetch_slot(&actor).await.map_err(key_refusal)?;
    let fetched = {
        let app = app.clone();
        let actor = actor.clone();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            app.client.get_document(&actor)
        })
        .await
    };
    match fetched {
        Ok(Err(FetchError::Gone(_) | FetchError::Status { status: 404, .. })) => {
            tracing::info!(actor = %activity.actor, "account deleted (its actor answers 410 or 404)");
            queue(app, presented, activity, body).await
        }
        // Unreachable or failing: the sender may try again later.
        Ok(Err(e @ FetchError::Network { .. })) => Err(key_refusal(KeyLookupError::Fetch(e))),
        Ok(Err(e @ FetchError::Status { status: 500.., .. })) => {
            Err(key_refusal(KeyLookupError::Fetch(e)))
        }
        _ => Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "cannot verify the signature: the key {key_id} is gone but the account {actor} is not"
            ),
        )),
    }
}

/// Refuses a request addressed to another server: its `Host` must name the
/// blog, its inbox's host, or the companion's configured public address.
/// (A signature covers `Host`, so a request signed for another server is
/// otherwise valid here.)
fn check_host(app: &App, headers: &HeaderMap) -> Result<(), Refusal> {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let mut allowed = vec![app.config.base_url.clone(), app.urls.inbox.clone()];
    allowed.extend(app.config.fediverse.companion.clone());
    let scheme = app.config.base_url.split("://").next().unwrap_or("https");
    if trust::host_allowed(host, scheme, &allowed) {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!(
                "this request is addressed to the host {host:?}; this inbox is at {}",
                app.urls.inbox
            ),
        ))
    }
}

/// The key for `key_id`: from memory on this task, else from the database,
/// else fetched holding a fetch slot; `refresh` goes straight to the fetch
/// (after a failed verification, in case the actor rotated its key).
async fn fetch_key(
    app: &Arc<App>,
    key_id: &str,
    refresh: bool,
) -> Result<crate::companion::key_cache::Key, KeyLookupError> {
    if !refresh {
        if let Some(key) = app.keys.cached(key_id) {
            return Ok(key);
        }
        let id = key_id.to_string();
        if let Some(key) = blocking(app, move |app| app.keys.stored(&app.store, &id)).await? {
            return Ok(key);
        }
    }
    let slot = app.keys.fetch_slot(key_id).await?;
    if !refresh && let Some(key) = app.keys.cached(key_id) {
        return Ok(key); // fetched by another request while this one waited
    }
    let id = key_id.to_string();
    blocking(app, move |app| {
        let _slot = slot; // held until the fetch ends, even if the client left
        app.keys.fetch(&app.store, &app.client, &id)
    })
    .await
}

/// Runs a blocking key lookup on the blocking pool.
async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<T, KeyLookupError> + Send + 'static,
) -> Result<T, KeyLookupError> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || f(&app))
        .await
        .unwrap_or_else(|_| {
            Err(KeyLookupError::Fetch(FetchError::Network {
                url: String::new(),
                reason: "key lookup stopped".into(),
            }))
        })
}

fn unauthorized(e: SignatureError) -> Refusal {
    Refusal::new(StatusCode::UNAUTHORIZED, e)
}

fn key_refusal(e: KeyLookupError) -> Refusal {
    let status = match &e {
        // The sender may retry later: Mastodon answers 503 here too.
        KeyLookupError::Fetch(FetchError::Network { .. })
        | KeyLookupError::Store(_)
        | KeyLookupError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
        KeyLookupError::Fetch(FetchError::Status { status, .. }) if *status >= 500 => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::UNAUTHORIZED,
    };
    Refusal::new(status, format!("cannot verify the signature: {e}"))
}
