//! The admin API, for the writer's own tools (`stoa publish` in the next
//! step, scripts, monitoring). Every route needs `Authorization: Bearer
//! <token>`, compared in constant time; without a configured token the API
//! is off.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::companion::App;
use crate::companion::api::{
    ErrorBody, FollowerAction, FollowerChanged, FollowerCounts, FollowerEntry, Status,
};
use crate::companion::followers::Outcome;
use crate::companion::store::{deliveries, followers, hosts, incoming, interactions};

/// Rejects requests without the right bearer token.
pub async fn require_token(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let Some(expected) = app.admin_token.as_deref() else {
        return error(
            StatusCode::NOT_FOUND,
            "the admin API is off: set STOA_ADMIN_TOKEN or create the admin token file",
        );
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Hash both sides so the comparison takes the same time whatever the lengths.
    let same: bool = Sha256::digest(given.as_bytes())
        .ct_eq(&Sha256::digest(expected.as_bytes()))
        .into();
    if given.is_empty() || !same {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(ErrorBody {
                error: "missing or wrong admin token".into(),
            }),
        )
            .into_response();
    }
    next.run(req).await
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(ErrorBody {
            error: message.to_string(),
        }),
    )
        .into_response()
}

async fn blocking<T: Send + 'static>(
    app: Arc<App>,
    f: impl FnOnce(&App) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(move || f(&app)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "admin query failed");
            Err(error(StatusCode::INTERNAL_SERVER_ERROR, "database error"))
        }
        Err(_) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, "query stopped")),
    }
}

/// `GET /admin/status`: counts of followers, interactions, deliveries.
pub async fn status(State(app): State<Arc<App>>) -> Response {
    let result = blocking(app, |app| {
        let store = app.lock_store();
        let c = store.conn();
        Ok(Status {
            actor: app.urls.actor.clone(),
            followers: FollowerCounts {
                accepted: followers::count(c, followers::FollowState::Accepted)?,
                pending: followers::count(c, followers::FollowState::Pending)?,
            },
            interactions: interactions::counts(c)?
                .into_iter()
                .map(|(k, n)| (k.as_str().to_string(), n))
                .collect(),
            deliveries: deliveries::counts(c)?,
            incoming_backlog: incoming::backlog(c)?,
            key_fingerprint: app.own_key.fingerprint.clone(),
            failed_last_day: deliveries::failed_since(
                c,
                crate::companion::store::now_ms() - 24 * 3600 * 1000,
            )?,
            unavailable_hosts: hosts::unavailable(c)?.into_keys().collect(),
            now_ms: crate::companion::store::now_ms(),
        })
    })
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

/// `GET /admin/followers`: every follower, oldest first.
pub async fn list_followers(State(app): State<Arc<App>>) -> Response {
    let list = blocking(app, |app| followers::list(app.lock_store().conn(), None)).await;
    match list {
        Ok(v) => Json(v.iter().map(entry).collect::<Vec<_>>()).into_response(),
        Err(r) => r,
    }
}

/// A follower as the admin API shows it.
pub fn entry(f: &followers::Follower) -> FollowerEntry {
    FollowerEntry {
        actor: f.actor.clone(),
        inbox: f.inbox.clone(),
        shared_inbox: f.shared_inbox.clone(),
        handle: f.handle.clone(),
        state: match f.state {
            followers::FollowState::Accepted => "accepted".into(),
            followers::FollowState::Pending => "pending".into(),
        },
        created_at: f.created_at,
    }
}

/// `POST /admin/followers/approve`: approve a follow waiting for approval.
pub async fn approve_follower(
    State(app): State<Arc<App>>,
    Json(req): Json<FollowerAction>,
) -> Response {
    change_follower(app, req, crate::companion::followers::approve).await
}

/// `POST /admin/followers/remove`: remove (or reject) a follower.
pub async fn remove_follower(
    State(app): State<Arc<App>>,
    Json(req): Json<FollowerAction>,
) -> Response {
    change_follower(app, req, crate::companion::followers::dismiss).await
}

async fn change_follower(
    app: Arc<App>,
    req: FollowerAction,
    change: fn(
        &mut crate::companion::store::Store,
        &crate::federation::Urls,
        &str,
    ) -> rusqlite::Result<Outcome>,
) -> Response {
    let worker = app.clone();
    let who = req.who.clone();
    let outcome = blocking(app, move |app| {
        change(&mut app.lock_store(), &app.urls, &who)
    })
    .await;
    let (outcome, f) = match outcome {
        Ok(Outcome::Approved(f)) => ("approved", f),
        Ok(Outcome::AlreadyFollowing(f)) => ("already_following", f),
        Ok(Outcome::Removed(f)) => ("removed", f),
        Ok(Outcome::Unknown) => {
            return error(
                StatusCode::NOT_FOUND,
                &format!(
                    "no follower {:?}; `stoa followers list` shows their handles and actor URLs",
                    req.who
                ),
            );
        }
        Err(r) => return r,
    };
    worker.wake_delivery.notify_one();
    Json(FollowerChanged {
        outcome: outcome.into(),
        actor: f.actor,
        handle: f.handle,
    })
    .into_response()
}

/// `GET /admin/interactions?object=<post id>&limit=N`: newest first.
pub async fn list_interactions(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let object = q.get("object").cloned();
    let limit = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100usize)
        .min(1000);
    match blocking(app, move |app| {
        interactions::list(app.lock_store().conn(), object.as_deref(), limit)
    })
    .await
    {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}
