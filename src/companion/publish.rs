//! The admin endpoints `stoa publish` and `stoa deliveries` use: the
//! manifest of what was published, the publish itself (diff, activities,
//! deliveries, all in one transaction), progress, retry and purge.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::companion::App;
use crate::companion::api::{
    ErrorBody, Manifest, PublishRequest, PublishResponse, Purged, Retrying,
};
use crate::companion::store::followers::{self, FollowState};
use crate::companion::store::objects::{self, PublishCounts};
use crate::companion::store::quotes as store_quotes;
use crate::companion::store::{deliveries, now_ms};
use crate::federation::remote_actor;
use crate::federation::{outbound, quotes};

/// `GET /admin/manifest`: what was published before.
pub async fn manifest(State(app): State<Arc<App>>) -> Response {
    let result = tokio::task::spawn_blocking(move || {
        let store = app.lock_store();
        let c = store.conn();
        let all = objects::all(c)?;
        let live: BTreeMap<String, String> = all
            .iter()
            .filter(|(_, k)| k.live)
            .map(|(id, k)| (id.clone(), k.hash.clone()))
            .collect();
        let deleted: Vec<String> = all
            .iter()
            .filter(|(_, k)| !k.live)
            .map(|(id, _)| id.clone())
            .collect();
        Ok::<_, rusqlite::Error>(Manifest {
            baseline: objects::meta(c, "baseline")?.is_some(),
            objects: live,
            deleted,
            actor_hash: objects::meta(c, "actor_hash")?,
            quote_authorizations: store_quotes::authorizations(c)?,
        })
    })
    .await;
    match result {
        Ok(Ok(v)) => Json(v).into_response(),
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot read the manifest".into(),
        ),
    }
}

/// `POST /admin/publish`.
pub async fn publish(State(app): State<Arc<App>>, Json(req): Json<PublishRequest>) -> Response {
    let worker = app.clone();
    match tokio::task::spawn_blocking(move || run(&worker, req)).await {
        Ok(Ok(r)) => {
            app.wake_delivery.notify_one();
            tracing::info!(
                publish = r.publish_id,
                baseline = r.baseline,
                created = r.created.len(),
                updated = r.updated.len(),
                deleted = r.deleted.len(),
                deliveries = r.deliveries,
                "published"
            );
            Json(r).into_response()
        }
        Ok(Err((status, message))) => error(status, message),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "publish stopped".into()),
    }
}

/// `GET /admin/publishes/{id}`: how its deliveries are doing.
pub async fn progress(State(app): State<Arc<App>>, Path(id): Path<i64>) -> Response {
    report(app, Some(id)).await
}

/// `GET /admin/deliveries`: how every delivery is doing.
pub async fn all_deliveries(State(app): State<Arc<App>>) -> Response {
    report(app, None).await
}

async fn report(app: Arc<App>, id: Option<i64>) -> Response {
    let result =
        tokio::task::spawn_blocking(move || deliveries::progress(app.lock_store().conn(), id))
            .await;
    match result {
        Ok(Ok(p)) => Json(p).into_response(),
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot read the deliveries".into(),
        ),
    }
}

/// `POST /admin/deliveries/retry`: every pending delivery is due now.
pub async fn retry(State(app): State<Arc<App>>) -> Response {
    let worker = app.clone();
    let result = tokio::task::spawn_blocking(move || {
        deliveries::retry_now(worker.lock_store().conn(), now_ms())
    })
    .await;
    match result {
        Ok(Ok(n)) => {
            app.wake_delivery.notify_one();
            Json(Retrying { retrying: n }).into_response()
        }
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot reschedule".into(),
        ),
    }
}

/// `POST /admin/deliveries/purge`: forget finished deliveries.
pub async fn purge(State(app): State<Arc<App>>) -> Response {
    let result =
        tokio::task::spawn_blocking(move || deliveries::purge(app.lock_store().conn())).await;
    match result {
        Ok(Ok(n)) => Json(Purged { purged: n }).into_response(),
        _ => error(StatusCode::INTERNAL_SERVER_ERROR, "cannot purge".into()),
    }
}

/// `POST /admin/move/cancel`: drop the Move deliveries not yet arrived
/// (`stoa move --cancel`; the profile is published again without `movedTo`).
pub async fn cancel_move(State(app): State<Arc<App>>) -> Response {
    let result = tokio::task::spawn_blocking(move || {
        let mut store = app.lock_store();
        let tx = store.transaction()?;
        let cancelled = crate::companion::moves::cancel(&tx)?;
        tx.commit()?;
        Ok::<_, rusqlite::Error>(cancelled)
    })
    .await;
    match result {
        Ok(Ok(c)) => {
            tracing::info!(
                cancelled = c.cancelled,
                delivered = c.delivered,
                "move cancelled"
            );
            Json(c).into_response()
        }
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot cancel the move".into(),
        ),
    }
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(ErrorBody { error: message })).into_response()
}

type Failure = (StatusCode, String);

fn sql(e: rusqlite::Error) -> Failure {
    tracing::error!(error = %e, "publish failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "database error".into())
}

fn run(app: &App, req: PublishRequest) -> Result<PublishResponse, Failure> {
    let prefix = format!("{}/", app.config.base_url);
    if let Some(bad) = req.manifest.keys().find(|id| !id.starts_with(&prefix)) {
        return Err((
            StatusCode::BAD_REQUEST,
            format!(
                "{bad} is not on this blog ({prefix}); was the site built with another base_url?"
            ),
        ));
    }
    let (known, has_baseline, actor_hash) = {
        let store = app.lock_store();
        let c = store.conn();
        (
            objects::all(c).map_err(sql)?,
            objects::meta(c, "baseline").map_err(sql)?.is_some(),
            objects::meta(c, "actor_hash").map_err(sql)?,
        )
    };
    let mut created = Vec::new();
    let mut updated = Vec::new();
    for (id, hash) in &req.manifest {
        match known.get(id) {
            None => created.push(id.clone()),
            Some(k) if !k.live => {
                return Err((
                    StatusCode::CONFLICT,
                    format!(
                        "{id} was deleted earlier, and fediverse servers never accept an id again \
                         (Mastodon keeps a tombstone); give the post a new slug"
                    ),
                ));
            }
            Some(k) if k.hash != *hash => updated.push(id.clone()),
            Some(_) => {}
        }
    }
    let deleted: Vec<String> = known
        .iter()
        .filter(|(id, k)| k.live && !req.manifest.contains_key(*id))
        .map(|(id, _)| id.clone())
        .collect();
    let baseline = !has_baseline;
    if !baseline
        && let Some(missing) = created
            .iter()
            .chain(&updated)
            .find(|id| !req.objects.contains_key(*id))
    {
        return Err((
            StatusCode::BAD_REQUEST,
            format!("the object {missing} is new or changed but was not sent"),
        ));
    }
    let actor_updated = !baseline
        && req.actor.is_some()
        && req.actor_hash.is_some()
        && req.actor_hash != actor_hash;
    let moved_to = req
        .actor
        .as_ref()
        .map(|a| a.get("movedTo").and_then(crate::federation::inbound::id_of));
    if let Some(order) = &req.move_to
        && moved_to.as_ref().and_then(Option::as_deref) != Some(order.target.as_str())
    {
        return Err((
            StatusCode::BAD_REQUEST,
            format!(
                "a Move to {} needs the profile sent with it to say `movedTo` {0}; set `moved_to` in stoa.toml and build",
                order.target
            ),
        ));
    }

    // Recipients besides the followers, found over the network before the
    // transaction: mentioned accounts and the authors of replied-to posts.
    let mut extra: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut asks: Vec<QuoteAsk> = Vec::new();
    if !baseline {
        let mut cache: BTreeMap<String, Option<String>> = BTreeMap::new();
        for id in created.iter().chain(&updated) {
            let (mentions, in_reply_to) = outbound::extra_recipients(&req.objects[id]);
            let mut actors = mentions;
            if let Some(url) = in_reply_to {
                match app.client.get_json(&url) {
                    Ok(doc) => actors.extend(
                        doc.get("attributedTo")
                            .and_then(crate::federation::inbound::id_of),
                    ),
                    Err(e) => {
                        tracing::warn!(post = %id, error = %e, "cannot fetch the post it replies to")
                    }
                }
            }
            if let Some(ask) = quote_to_ask(app, id, &req.objects[id]) {
                actors.push(ask.author.clone());
                asks.push(ask);
            }
            for actor in actors {
                let inbox = cache
                    .entry(actor.clone())
                    .or_insert_with(|| inbox_of(app, &actor))
                    .clone();
                if let Some(inbox) = inbox {
                    extra.entry(id.clone()).or_default().insert(inbox);
                }
            }
        }
        for ask in &mut asks {
            ask.inbox = cache.get(&ask.author).cloned().flatten();
        }
    }

    let now = now_ms();
    let mut store = app.lock_store();
    let tx = store.transaction().map_err(sql)?;
    let counts = PublishCounts {
        baseline,
        created: created.len() as i64,
        updated: updated.len() as i64,
        deleted: deleted.len() as i64,
    };
    let publish_id = objects::record_publish(&tx, &counts, now).map_err(sql)?;
    let mut queued = 0;
    if !baseline {
        let inboxes = follower_inboxes(&tx).map_err(sql)?;
        let mut send =
            |activity: Value, extra: Option<&BTreeSet<String>>| -> rusqlite::Result<()> {
                let mut to: BTreeSet<String> = inboxes.clone();
                if let Some(e) = extra {
                    to.extend(e.iter().cloned());
                }
                let to: Vec<String> = to.into_iter().collect();
                let id = activity["id"].as_str().unwrap_or_default().to_string();
                let body =
                    String::from_utf8_lossy(&crate::federation::to_bytes(&activity)).into_owned();
                queued += deliveries::enqueue(&tx, &id, &body, &to, Some(publish_id), now)?;
                Ok(())
            };
        for id in &created {
            send(outbound::create(&app.urls, &req.objects[id]), extra.get(id)).map_err(sql)?;
        }
        for id in updated.iter().filter(|_| !req.quiet_updates) {
            send(
                outbound::update(&app.urls, &req.objects[id], &req.manifest[id]),
                extra.get(id),
            )
            .map_err(sql)?;
        }
        for id in &deleted {
            send(outbound::delete(&app.urls, id), None).map_err(sql)?;
        }
        if actor_updated && let (Some(actor), Some(hash)) = (&req.actor, &req.actor_hash) {
            send(outbound::update(&app.urls, actor, hash), None).map_err(sql)?;
        }
        for ask in &asks {
            let Some(inbox) = ask.inbox.clone() else {
                continue;
            };
            let activity = quotes::request(
                &app.urls,
                &req.objects[&ask.object],
                &ask.quoted,
                &ask.author,
            );
            store_quotes::ask(
                &tx,
                &store_quotes::Asked {
                    object: ask.object.clone(),
                    quoted: ask.quoted.clone(),
                    author: ask.author.clone(),
                    request_id: quotes::request_id(&ask.object),
                    state: "requested".into(),
                    stamp: None,
                },
                now,
            )
            .map_err(sql)?;
            let id = activity["id"].as_str().unwrap_or_default().to_string();
            let body =
                String::from_utf8_lossy(&crate::federation::to_bytes(&activity)).into_owned();
            queued += deliveries::enqueue(&tx, &id, &body, &[inbox], Some(publish_id), now)
                .map_err(sql)?;
        }
    }
    let mut move_deliveries = 0;
    if let Some(order) = &req.move_to {
        move_deliveries = crate::companion::moves::announce(
            &tx,
            &app.urls,
            order,
            &follower_inboxes(&tx).map_err(sql)?,
            publish_id,
            now,
        )
        .map_err(sql)?;
    }
    // Follows are refused while the published profile says it moved.
    if let Some(moved_to) = &moved_to {
        crate::companion::moves::record_profile(&tx, moved_to.as_deref()).map_err(sql)?;
    }
    for (id, hash) in &req.manifest {
        let changed = baseline || created.contains(id) || updated.contains(id);
        if changed {
            let body = req
                .objects
                .get(id)
                .map(Value::to_string)
                .unwrap_or_default();
            objects::put(&tx, id, hash, &body, now).map_err(sql)?;
        }
    }
    for id in &deleted {
        objects::delete(&tx, id, now).map_err(sql)?;
    }
    if let Some(hash) = &req.actor_hash {
        objects::set_meta(&tx, "actor_hash", hash).map_err(sql)?;
    }
    objects::set_meta(&tx, "baseline", "done").map_err(sql)?;
    tx.commit().map_err(sql)?;
    Ok(PublishResponse {
        publish_id,
        baseline,
        created,
        updated,
        deleted,
        actor_updated,
        deliveries: queued + move_deliveries,
        move_deliveries,
    })
}

/// One inbox per follower, the shared inbox when their server has one (so
/// a server with many followers gets the post once), skipping none: hosts
/// marked unavailable are skipped by the worker, which records why.
pub(crate) fn follower_inboxes(conn: &rusqlite::Connection) -> rusqlite::Result<BTreeSet<String>> {
    Ok(followers::list(conn, Some(FollowState::Accepted))?
        .into_iter()
        .map(|f| f.shared_inbox.unwrap_or(f.inbox))
        .collect())
}

/// A quote the blog is to ask for: its post `object` quotes `quoted`, by `author`.
struct QuoteAsk {
    object: String,
    quoted: String,
    author: String,
    /// The author's inbox, found before the transaction.
    inbox: Option<String>,
}

/// The quote a new or edited object asks for, unless it was asked for
/// already (the same quoted post): the quoted post is fetched for its author.
fn quote_to_ask(app: &App, id: &str, object: &Value) -> Option<QuoteAsk> {
    let quoted = quotes::quoted_by(object)?;
    // Quoting the blog's own post needs nobody's approval (Mastodon's
    // `fast_track_approval!`: authors may always quote themselves).
    if crate::federation::Urls::post_slug(&app.config, &quoted).is_some() {
        return None;
    }
    let known = {
        let store = app.lock_store();
        store_quotes::asked(store.conn(), id).ok().flatten()
    };
    if known.is_some_and(|k| k.quoted == quoted) {
        return None;
    }
    match app.client.get_json(&quoted) {
        Ok(doc) => {
            let author = doc
                .get("attributedTo")
                .and_then(crate::federation::inbound::id_of)?;
            Some(QuoteAsk {
                object: id.to_string(),
                quoted,
                author,
                inbox: None,
            })
        }
        Err(e) => {
            tracing::warn!(post = %id, quoted, error = %e, "cannot fetch the quoted post; it stays a link");
            None
        }
    }
}

fn inbox_of(app: &App, actor: &str) -> Option<String> {
    {
        let store = app.lock_store();
        if let Ok(Some(k)) = crate::companion::store::actors::by_actor(store.conn(), actor)
            && let Some(inbox) = k.shared_inbox.or(k.inbox)
        {
            return Some(inbox);
        }
    }
    match app.client.get_json(actor) {
        Ok(doc) => remote_actor::read_endpoints(&doc).map(|e| e.shared_inbox.unwrap_or(e.inbox)),
        Err(e) => {
            tracing::warn!(actor, error = %e, "cannot find the inbox of a mentioned account");
            None
        }
    }
}
