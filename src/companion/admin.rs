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
    ConversationsAnswer, ErrorBody, FollowerAction, FollowerChanged, FollowerCounts, FollowerEntry,
    Moderate, ModerateAction, Moderated, QuoteEntry, QuoteRevoked, ReplyInfo, RevokeQuote, Status,
};
use crate::companion::api::{MarkRead, MarkedRead};
use crate::companion::followers::Outcome;
use crate::companion::store::{
    blocks, deliveries, followers, hosts, incoming, interactions, notifications, people,
};

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
            moved_in: followers::count_moved_in(c)?,
            moved_to: crate::companion::moves::moved_to(app, c)?,
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
        moved_from: f.moved_from.clone(),
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

/// `GET /admin/conversations`: see [`ConversationsAnswer`].
pub async fn conversations(State(app): State<Arc<App>>) -> Response {
    match blocking(app, |app| {
        public_conversations(app, app.lock_store().conn())
    })
    .await
    {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

/// The public conversation under every post, as the blog may show it
/// (also what the companion's own re-render writes, [`super::rerender`]).
pub(super) fn public_conversations(
    app: &App,
    conn: &rusqlite::Connection,
) -> rusqlite::Result<ConversationsAnswer> {
    use crate::config::ReplyPolicy;
    use crate::conversations::{Conversations, Person, Quote, Reply};
    use base64::Engine;
    let policy = app.config.conversations.replies;
    let mut out = Conversations::default();
    let mut approved: HashMap<String, bool> = HashMap::new();
    for i in interactions::public(conn)? {
        if !i.public || app.is_blocked(&i.actor) {
            continue;
        }
        let Some(slug) = crate::federation::Urls::post_slug(&app.config, &i.object) else {
            continue;
        };
        let post = out.posts.entry(slug.to_string()).or_default();
        match i.kind {
            interactions::Kind::Like => {
                if !post.likes.contains(&i.actor) {
                    post.likes.push(i.actor.clone());
                }
            }
            interactions::Kind::Announce => {
                if !post.boosts.contains(&i.actor) {
                    post.boosts.push(i.actor.clone());
                }
            }
            interactions::Kind::Quote => {
                if !post.quotes.iter().any(|q| q.id == i.id) {
                    post.quotes.push(Quote {
                        id: i.id.clone(),
                        author: i.actor.clone(),
                        url: i.url.clone(),
                    });
                }
            }
            interactions::Kind::Reply => {
                let allowed = match policy {
                    ReplyPolicy::All => true,
                    ReplyPolicy::None => false,
                    ReplyPolicy::Approved => match approved.get(&i.actor) {
                        Some(&a) => a,
                        None => {
                            let a = people::get(conn, &i.actor)?.is_some_and(|p| p.approved);
                            approved.insert(i.actor.clone(), a);
                            a
                        }
                    },
                };
                if i.hidden || !allowed {
                    continue;
                }
                let at = |ms: i64| {
                    jiff::Timestamp::from_millisecond(ms)
                        .ok()
                        .map(|t| t.to_string())
                };
                post.replies.push(Reply {
                    id: i.id.clone(),
                    author: i.actor.clone(),
                    in_reply_to: i.in_reply_to.clone(),
                    url: i.url.clone(),
                    published: i.published.clone().or_else(|| at(i.created_at)),
                    updated: i.updated_at.and_then(at),
                    content: i.content.clone().unwrap_or_default(),
                });
            }
        }
    }
    out.posts.retain(|_, p| {
        // A reply whose parent is not shown here stands on its own.
        let ids: std::collections::HashSet<String> =
            p.replies.iter().map(|r| r.id.clone()).collect();
        for r in &mut p.replies {
            if r.in_reply_to
                .as_ref()
                .is_some_and(|parent| !ids.contains(parent))
            {
                r.in_reply_to = None;
            }
        }
        !(p.likes.is_empty() && p.boosts.is_empty() && p.replies.is_empty() && p.quotes.is_empty())
    });
    let actors: std::collections::BTreeSet<String> = out
        .posts
        .values()
        .flat_map(|p| {
            p.likes
                .iter()
                .chain(&p.boosts)
                .cloned()
                .chain(p.replies.iter().map(|r| r.author.clone()))
                .chain(p.quotes.iter().map(|q| q.author.clone()))
        })
        .collect();
    let mut avatars = std::collections::BTreeMap::new();
    for actor in actors {
        let known = people::get(conn, &actor)?;
        let avatar = known.as_ref().and_then(|p| p.avatar.as_ref()).map(|png| {
            let name = format!("{}.png", &hex::encode(Sha256::digest(png))[..32]);
            avatars.insert(
                name.clone(),
                base64::engine::general_purpose::STANDARD.encode(png),
            );
            name
        });
        out.people.insert(
            actor.clone(),
            Person {
                name: known.as_ref().and_then(|p| p.name.clone()),
                handle: known.as_ref().and_then(|p| p.handle.clone()),
                url: known.as_ref().and_then(|p| p.url.clone()),
                avatar,
            },
        );
    }
    Ok(ConversationsAnswer {
        conversations: out,
        avatars,
    })
}

/// `GET /admin/replies?limit=N`: every reply, newest first, with its
/// audience and moderation state.
pub async fn list_replies(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100usize)
        .min(10_000);
    let result = blocking(app, move |app| {
        let store = app.lock_store();
        let c = store.conn();
        let mut out = Vec::new();
        for i in interactions::replies(c, limit)? {
            let person = people::get(c, &i.actor)?;
            out.push(ReplyInfo {
                blocked: app.is_blocked(&i.actor),
                name: person.as_ref().and_then(|p| p.name.clone()),
                handle: person.as_ref().and_then(|p| p.handle.clone()),
                approved: person.is_some_and(|p| p.approved),
                id: i.id,
                actor: i.actor,
                object: i.object,
                in_reply_to: i.in_reply_to,
                url: i.url,
                content: i.content.unwrap_or_default(),
                published: i.published,
                created_at: i.created_at,
                public: i.public,
                hidden: i.hidden,
            });
        }
        Ok(out)
    })
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

/// `POST /admin/replies/moderate`: hide, unhide, approve, block.
pub async fn moderate(State(app): State<Arc<App>>, Json(m): Json<Moderate>) -> Response {
    let result = blocking(app, move |app| {
        let now = crate::companion::store::now_ms();
        let store = app.lock_store();
        let c = store.conn();
        let found = interactions::find_reply(c, &m.target)?;
        let actor = found.first().map(|r| r.actor.clone()).or_else(|| {
            (m.target.starts_with("https://") || m.target.starts_with("http://"))
                .then(|| m.target.clone())
        });
        let not_found = || {
            Err(format!(
                "no reply has the id or address {}\n  help: `stoa replies list` shows them",
                m.target
            ))
        };
        let message = match m.action {
            ModerateAction::Hide | ModerateAction::Unhide => {
                if found.is_empty() {
                    return Ok(not_found());
                }
                let hide = m.action == ModerateAction::Hide;
                interactions::set_hidden(c, &m.target, hide)?;
                format!(
                    "{} {}; the next `stoa publish` (or `stoa pull` and a build) updates the page.",
                    if hide { "Hidden" } else { "Shown again" },
                    m.target
                )
            }
            ModerateAction::Approve => {
                let Some(actor) = &actor else {
                    return Ok(not_found());
                };
                people::approve(c, actor, true)?;
                format!("Approved {actor}: their public replies are shown.")
            }
            ModerateAction::Block => {
                let Some(actor) = &actor else {
                    return Ok(not_found());
                };
                blocks::block_actor(c, actor, now)?;
                *app.blocks.write().unwrap_or_else(|e| e.into_inner()) = blocks::all(c)?;
                format!("Blocked {actor}: nothing of theirs is shown or recorded any more.")
            }
            ModerateAction::BlockDomain => {
                let Some(host) = actor
                    .as_deref()
                    .and_then(crate::config::url_host)
                    .map(|h| h.split(':').next().unwrap_or("").to_string())
                else {
                    return Ok(not_found());
                };
                blocks::block_domain(c, &host, now)?;
                *app.blocks.write().unwrap_or_else(|e| e.into_inner()) = blocks::all(c)?;
                format!("Blocked {host}: nothing from there is shown or recorded any more.")
            }
        };
        // What the blog shows may have changed: re-render it (when served).
        app.wake_rerender.notify_one();
        Ok(Ok(Moderated { message, actor }))
    })
    .await;
    match result {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(message)) => error(StatusCode::NOT_FOUND, &message),
        Err(r) => r,
    }
}

/// `GET /admin/notifications?all=1&limit=N`: unread (or all), newest first.
pub async fn list_notifications(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let all = q.get("all").is_some_and(|v| v == "1" || v == "true");
    let limit = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(200usize)
        .min(10_000);
    match blocking(app, move |app| {
        notifications::list(app.lock_store().conn(), all, limit)
    })
    .await
    {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

/// `POST /admin/notifications/read`: marks notifications as read.
pub async fn read_notifications(State(app): State<Arc<App>>, Json(m): Json<MarkRead>) -> Response {
    match blocking(app, move |app| {
        notifications::mark_read(app.lock_store().conn(), m.up_to)
    })
    .await
    {
        Ok(read) => Json(MarkedRead { read }).into_response(),
        Err(r) => r,
    }
}

/// `GET /admin/quotes`: every quote the companion approved, newest first.
pub async fn list_quotes(State(app): State<Arc<App>>) -> Response {
    match blocking(app, move |app| {
        let rows = crate::companion::store::quotes::list(app.lock_store().conn())?;
        Ok(rows
            .into_iter()
            .map(|q| QuoteEntry {
                stamp: crate::federation::quotes::stamp_url(&app.config, &q.key),
                instrument: q.instrument,
                actor: q.actor,
                object: q.object,
                created_at: q.created_at,
                live: q.live,
            })
            .collect::<Vec<_>>())
    })
    .await
    {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

/// `POST /admin/quotes/revoke`: see [`crate::companion::quotes::revoke`].
pub async fn revoke_quote(State(app): State<Arc<App>>, Json(r): Json<RevokeQuote>) -> Response {
    use crate::companion::quotes::{Revoke, revoke};
    let worker = app.clone();
    let who = r.quote.clone();
    let done = blocking(app, move |app| {
        revoke(&mut app.lock_store(), &app.config, &app.urls, &who)
    })
    .await;
    let (outcome, q) = match done {
        Ok(Revoke::Revoked(q)) => ("revoked", q),
        Ok(Revoke::AlreadyRevoked(q)) => ("already_revoked", q),
        Ok(Revoke::Unknown) => {
            return error(
                StatusCode::NOT_FOUND,
                &format!(
                    "no quote {:?}\n  help: `stoa quotes list` shows the quoting posts' URLs",
                    r.quote
                ),
            );
        }
        Ok(Revoke::Ambiguous(n)) => {
            return error(
                StatusCode::CONFLICT,
                &format!(
                    "{:?} names {n} quotes\n  help: give the URL of one quoting post, as `stoa quotes list` shows it",
                    r.quote
                ),
            );
        }
        Err(resp) => return resp,
    };
    worker.wake_delivery.notify_one();
    Json(QuoteRevoked {
        outcome: outcome.into(),
        instrument: q.instrument,
    })
    .into_response()
}
