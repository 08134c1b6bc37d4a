//! Applies queued activities to the store, one transaction each: the change,
//! the deliveries it causes, and the removal of the queued row land
//! together, so a crash before the commit means the activity is simply
//! applied again after the restart.

use std::sync::Arc;

use serde_json::Value;

use crate::companion::App;
use crate::companion::followers;
use crate::companion::store::followers::{FollowState, Follower};
use crate::companion::store::incoming::{self, Queued};
use crate::companion::store::interactions::{self, Interaction, Kind};
use crate::companion::store::{self, now_ms};
use crate::config::QuotePolicy;
use crate::federation::html::mastodon_clean;
use crate::federation::inbound::{self, Activity, Inbound, Instrument, Note};
use crate::federation::quotes;
use crate::federation::remote_actor;

/// What applying one activity did, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Something changed.
    Changed(&'static str),
    /// Nothing to do (not about this blog, a repeat, a blocked actor's interaction).
    Ignored(&'static str),
}

/// Most activities applied in one transaction.
const BATCH: usize = 128;

/// Applies everything queued, a batch per transaction (one fsync per
/// batch). Blocking. Returns how many were applied.
pub fn drain(app: &Arc<App>) -> usize {
    let mut total = 0;
    loop {
        let batch = incoming::next(app.lock_store().conn(), BATCH);
        let batch = match batch {
            Ok(b) if !b.is_empty() => b,
            Ok(_) => return total,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the incoming queue");
                return total;
            }
        };
        // Reading and fetching happen outside the lock and the transaction.
        let prepared: Vec<Prepared> = batch.into_iter().map(|q| prepare(app, q)).collect();
        let outcomes = {
            let mut store = app.lock_store();
            apply_batch(app, &mut store, &prepared)
        };
        match outcomes {
            Ok(outcomes) => {
                let mut wake = false;
                // Anything that changed may change the public conversation;
                // the re-render finds out (and does nothing when not).
                if outcomes.iter().any(|a| matches!(a, Applied::Changed(_))) {
                    app.wake_rerender.notify_one();
                }
                for (p, applied) in prepared.iter().zip(&outcomes) {
                    tracing::info!(actor = %p.queued.actor, outcome = ?applied, "activity applied");
                    wake |= matches!(
                        applied,
                        Applied::Changed(
                            "follow accepted"
                                | "follow refused"
                                | "quote approved"
                                | "quote refused"
                        )
                    );
                }
                if wake {
                    app.wake_delivery.notify_one();
                }
                total += outcomes.len();
            }
            Err(e) => {
                // Everything stays queued; the next pass tries again.
                tracing::error!(error = %e, "could not apply received activities");
                return total;
            }
        }
    }
}

/// A queued activity, read and with what the network had to say.
struct Prepared {
    queued: Queued,
    read: Option<(Activity, Value)>,
    endpoints: Option<remote_actor::Endpoints>,
    /// For a QuoteRequest: the quoting post's author and what it quotes,
    /// from the request when embedded, else fetched from its id.
    instrument: Option<Instrument>,
    /// For an Accept with a `result`: that document (a quote stamp), fetched.
    stamp: Option<Value>,
    /// The profile of someone who replied, favourited or boosted, when it
    /// was unknown or old.
    person: Option<store::people::Person>,
    /// For a Follow: the writer's earlier account that had just moved to the
    /// blog (`companion::moves`).
    moved_from: Option<String>,
}

fn prepare(app: &App, queued: Queued) -> Prepared {
    let value: Value = serde_json::from_str(&queued.body).unwrap_or(Value::Null);
    let read = match inbound::from_value(&value) {
        // Checked before it was queued; only a manual edit fails here.
        Ok(a) if a.actor == queued.actor => Some((a, value)),
        _ => None,
    };
    let endpoints = match &read {
        Some((
            a @ Activity {
                what: Inbound::Follow { .. } | Inbound::QuoteRequest(_),
                ..
            },
            _,
        )) => endpoints_of(app, &a.actor),
        _ => None,
    };
    let instrument = match &read {
        Some((
            Activity {
                what: Inbound::QuoteRequest(q),
                ..
            },
            _,
        )) => resolve_instrument(app, &q.instrument),
        _ => None,
    };
    let stamp = match &read {
        Some((
            Activity {
                what:
                    Inbound::Answer {
                        accepted: true,
                        result: Some(result),
                        ..
                    },
                ..
            },
            _,
        )) => match app.client.get_json(result) {
            Ok(doc) => Some(doc),
            Err(e) => {
                tracing::warn!(stamp = %result, error = %e, "cannot fetch the quote stamp");
                None
            }
        },
        _ => None,
    };
    let person = match &read {
        Some((
            a @ Activity {
                what:
                    Inbound::Create(_)
                    | Inbound::Update(_)
                    | Inbound::Like { .. }
                    | Inbound::Announce { .. }
                    | Inbound::QuoteRequest(_),
                ..
            },
            _,
        )) if !app.is_blocked(&a.actor) => {
            let stale = {
                let store = app.lock_store();
                store::people::stale(store.conn(), &a.actor, now_ms()).unwrap_or(false)
            };
            if stale {
                crate::companion::profiles::fetch(&app.client, &a.actor, now_ms())
            } else {
                None
            }
        }
        _ => None,
    };
    let moved_from = match &read {
        Some((
            a @ Activity {
                what: Inbound::Follow { .. },
                ..
            },
            _,
        )) if !app.is_blocked(&a.actor) => {
            crate::companion::moves::arrived_with_move(app, now_ms())
        }
        _ => None,
    };
    Prepared {
        queued,
        read,
        endpoints,
        person,
        instrument,
        stamp,
        moved_from,
    }
}

/// The quoting post of a QuoteRequest with its author and the post it
/// quotes: as embedded in the request (already checked to be on the
/// signer's server), else fetched from its id, as Mastodon does.
fn resolve_instrument(app: &App, i: &Instrument) -> Option<Instrument> {
    if i.attributed_to.is_some() && i.quote.is_some() {
        return Some(i.clone());
    }
    match app.client.get_json(&i.id) {
        Ok(doc) => Some(Instrument::read(i.id.clone(), &doc)),
        Err(e) => {
            tracing::warn!(instrument = %i.id, error = %e, "cannot fetch the quoting post");
            None
        }
    }
}

fn apply_batch(
    app: &App,
    store: &mut crate::companion::store::Store,
    prepared: &[Prepared],
) -> rusqlite::Result<Vec<Applied>> {
    let tx = store.transaction()?;
    let mut outcomes = Vec::with_capacity(prepared.len());
    for p in prepared {
        let applied = match &p.read {
            Some((activity, raw)) => apply(app, &tx, activity, raw, p)?,
            None => Applied::Ignored("unreadable"),
        };
        if let Some(person) = &p.person
            && matches!(applied, Applied::Changed(_))
        {
            store::people::put(&tx, person)?;
        }
        incoming::done(&tx, p.queued.id)?;
        // A host that writes to us is reachable again (Mastodon does the same).
        if let Some(host) = crate::config::url_host(&p.queued.actor) {
            crate::companion::store::hosts::healthy(&tx, &host)?;
        }
        outcomes.push(applied);
    }
    tx.commit()?;
    Ok(outcomes)
}

fn apply(
    app: &App,
    conn: &rusqlite::Connection,
    a: &Activity,
    raw: &Value,
    prepared: &Prepared,
) -> Result<Applied, rusqlite::Error> {
    let endpoints = prepared.endpoints.clone();
    let blocked = app.is_blocked(&a.actor);
    let ours = |id: &str| is_our_post(app, conn, id);
    match &a.what {
        Inbound::Follow { id, .. } => {
            let Some(ep) = endpoints else {
                tracing::warn!(actor = %a.actor, "follow dropped: the follower's inbox is unknown");
                return Ok(Applied::Ignored("follower inbox unknown"));
            };
            let follow_json = raw.to_string();
            if blocked {
                followers::refuse(conn, &app.urls, &follow_json, &ep.inbox)?;
                return Ok(Applied::Changed("follow refused"));
            }
            // A moved account takes no followers (Mastodon's Follow handler
            // rejects them: docs/interop.md, "Moving accounts").
            if let Some(target) = crate::companion::moves::moved_to(app, conn)? {
                followers::refuse(conn, &app.urls, &follow_json, &ep.inbox)?;
                note_for_writer(
                    conn,
                    "follow_refused_moved",
                    &a.actor,
                    Some(&target),
                    None,
                    None,
                    false,
                )?;
                return Ok(Applied::Changed("follow refused"));
            }
            if let Some(existing) = store::followers::get(conn, &a.actor)?
                && existing.follow_id == *id
                && existing.state == FollowState::Accepted
            {
                return Ok(Applied::Ignored("already following"));
            }
            let follower = Follower {
                actor: a.actor.clone(),
                inbox: ep.inbox,
                shared_inbox: ep.shared_inbox,
                handle: ep.handle,
                follow_id: id.clone(),
                follow_json,
                state: FollowState::Pending,
                created_at: now_ms(),
                moved_from: prepared.moved_from.clone(),
            };
            if app.config.fediverse.manually_approves_followers
                && store::followers::get(conn, &a.actor)?
                    .is_none_or(|f| f.state == FollowState::Pending)
            {
                followers::hold(conn, &follower)?;
                note_for_writer(conn, "follow_request", &a.actor, None, None, None, false)?;
                Ok(Applied::Changed("follow awaits approval"))
            } else {
                followers::accept(conn, &app.urls, &follower)?;
                note_for_writer(conn, "follow", &a.actor, None, None, None, false)?;
                Ok(Applied::Changed("follow accepted"))
            }
        }
        Inbound::Undo(undone) => {
            let kind = undone.kind.as_deref();
            if matches!(kind, None | Some("Follow"))
                && let Some(f) = store::followers::get(conn, &a.actor)?
            {
                let same_follow = undone.id.as_deref() == Some(f.follow_id.as_str());
                let follows_us = undone.object.as_deref() == Some(app.urls.actor.as_str());
                if same_follow || (kind == Some("Follow") && follows_us) {
                    store::followers::remove(conn, &a.actor)?;
                    note_for_writer(conn, "unfollow", &a.actor, None, None, None, false)?;
                    return Ok(Applied::Changed("unfollowed"));
                }
            }
            if let Some(id) = &undone.id
                && interactions::remove(conn, id, &a.actor)?
            {
                return Ok(Applied::Changed("interaction undone"));
            }
            let kind = match kind {
                Some("Like") => Kind::Like,
                Some("Announce") => Kind::Announce,
                _ => return Ok(Applied::Ignored("nothing to undo")),
            };
            match &undone.object {
                Some(object)
                    if interactions::remove_matching(conn, kind, &a.actor, object)? > 0 =>
                {
                    Ok(Applied::Changed("interaction undone"))
                }
                _ => Ok(Applied::Ignored("nothing to undo")),
            }
        }
        Inbound::Like { id, object } | Inbound::Announce { id, object } => {
            if blocked {
                return Ok(Applied::Ignored("blocked"));
            }
            if !ours(object)? {
                return Ok(Applied::Ignored("not about a post of this blog"));
            }
            let kind = if matches!(a.what, Inbound::Like { .. }) {
                Kind::Like
            } else {
                Kind::Announce
            };
            if !interactions::exists(conn, &a.actor, id)? {
                let what = if kind == Kind::Like { "like" } else { "boost" };
                note_for_writer(conn, what, &a.actor, Some(object), None, None, true)?;
            }
            interactions::record(
                conn,
                &Interaction {
                    id: id.clone(),
                    kind,
                    actor: a.actor.clone(),
                    object: object.clone(),
                    content: None,
                    url: None,
                    published: None,
                    created_at: now_ms(),
                    updated_at: None,
                    // A favourite or a boost is shown as a face and a count.
                    public: true,
                    in_reply_to: None,
                    hidden: false,
                },
            )?;
            Ok(Applied::Changed("interaction recorded"))
        }
        Inbound::Create(note) | Inbound::Update(note) => {
            if blocked {
                return Ok(Applied::Ignored("blocked"));
            }
            if note
                .attributed_to
                .as_deref()
                .is_some_and(|by| by != a.actor)
            {
                return Ok(Applied::Ignored("post by someone else"));
            }
            let Some((object, parent)) = reply_target(app, conn, note, &ours)? else {
                return Ok(Applied::Ignored("not a reply to this blog"));
            };
            let content = mastodon_clean(&note.content);
            let now = now_ms();
            let public = is_public(&note.audience);
            let is_update = matches!(a.what, Inbound::Update(_));
            if is_update
                && interactions::edit_reply(conn, &note.id, &a.actor, &content, public, now)?
            {
                return Ok(Applied::Changed("reply edited"));
            }
            let url = note
                .url
                .clone()
                .filter(|u| crate::federation::trust::same_origin(u, &a.actor));
            if !interactions::exists(conn, &a.actor, &note.id)? {
                let what = if object == app.urls.actor {
                    "mention"
                } else {
                    "reply"
                };
                note_for_writer(
                    conn,
                    what,
                    &a.actor,
                    Some(&note.id),
                    url.as_deref(),
                    Some(&content),
                    public,
                )?;
            }
            interactions::record(
                conn,
                &Interaction {
                    id: note.id.clone(),
                    kind: Kind::Reply,
                    actor: a.actor.clone(),
                    object,
                    content: Some(content),
                    // A web page on another server would let a reply pose
                    // as someone else's; the id is shown instead.
                    url,
                    published: note.published.clone(),
                    created_at: now,
                    updated_at: is_update.then_some(now),
                    public,
                    in_reply_to: parent,
                    hidden: false,
                },
            )?;
            Ok(Applied::Changed("reply recorded"))
        }
        Inbound::Delete { object } => {
            if *object == a.actor {
                let was_follower = store::followers::remove(conn, &a.actor)?;
                let removed = interactions::remove_actor(conn, &a.actor)?;
                store::quotes::revoke_actor(conn, &a.actor, now_ms())?;
                store::actors::forget(conn, &a.actor)?;
                store::people::forget(conn, &a.actor)?;
                app.keys.forget_owner(&a.actor);
                return Ok(if was_follower || removed > 0 {
                    Applied::Changed("account deleted")
                } else {
                    Applied::Ignored("unknown account deleted")
                });
            }
            // A deleted quoting post needs its stamp no more.
            store::quotes::revoke(conn, &quotes::stamp_key(&a.actor, object), now_ms())?;
            if interactions::remove(conn, object, &a.actor)? {
                Ok(Applied::Changed("reply deleted"))
            } else {
                Ok(Applied::Ignored("nothing to delete"))
            }
        }
        Inbound::QuoteRequest(q) => {
            if blocked {
                return Ok(Applied::Ignored("blocked"));
            }
            if !ours(&q.object)? {
                return Ok(Applied::Ignored("not about a post of this blog"));
            }
            let Some(inbox) = endpoints.map(|e| e.inbox) else {
                tracing::warn!(actor = %a.actor, "quote request dropped: the quoter's inbox is unknown");
                return Ok(Applied::Ignored("quoter inbox unknown"));
            };
            // Mastodon's sanity check: the quoting post is the actor's and
            // quotes this very post.
            let Some(instrument) = &prepared.instrument else {
                return Ok(Applied::Ignored("quoting post unknown"));
            };
            if instrument.attributed_to.as_deref() != Some(a.actor.as_str())
                || instrument.quote.as_deref() != Some(q.object.as_str())
            {
                return Ok(Applied::Ignored(
                    "the quoting post is not theirs or quotes another post",
                ));
            }
            answer_quote(app, conn, a, q, instrument, &inbox)
        }
        Inbound::Answer {
            accepted, object, ..
        } => {
            // Only answers to the blog's own QuoteRequests matter, and only
            // from the author who was asked.
            let Some(asked) = store::quotes::asked_by_request(conn, object)? else {
                return Ok(Applied::Ignored("not an answer to a quote request"));
            };
            if asked.author != a.actor {
                return Ok(Applied::Ignored("answer from someone who was not asked"));
            }
            if !accepted {
                store::quotes::answered(conn, object, None, now_ms())?;
                return Ok(Applied::Changed("quote request rejected"));
            }
            let (
                Some(Inbound::Answer {
                    result: Some(stamp_url),
                    ..
                }),
                Some(stamp),
            ) = (Some(&a.what), &prepared.stamp)
            else {
                return Ok(Applied::Ignored("accept without a stamp"));
            };
            if !quotes::stamp_matches(stamp, stamp_url, &a.actor, &asked.object, &asked.quoted) {
                tracing::warn!(stamp = %stamp_url, "the quote stamp does not match the request");
                return Ok(Applied::Ignored("stamp does not match"));
            }
            store::quotes::answered(conn, object, Some(stamp_url), now_ms())?;
            Ok(Applied::Changed("quote request accepted"))
        }
        Inbound::Other { .. } => Ok(Applied::Ignored("activity type not used")),
    }
}

/// Approves or refuses a quote of one of the blog's posts by the policy the
/// post states (its object's `interactionPolicy`), and queues the answer.
fn answer_quote(
    app: &App,
    conn: &rusqlite::Connection,
    a: &Activity,
    q: &inbound::QuoteRequest,
    instrument: &Instrument,
    inbox: &str,
) -> Result<Applied, rusqlite::Error> {
    let policy = post_object(app, conn, &q.object)?
        .map_or(QuotePolicy::Nobody, |o| quotes::policy_of(&app.urls, &o));
    let key = quotes::stamp_key(&a.actor, &q.instrument.id);
    let known = store::quotes::get(conn, &key)?;
    let allowed = match policy {
        QuotePolicy::Anyone => true,
        QuotePolicy::Followers => {
            store::followers::get(conn, &a.actor)?.is_some_and(|f| f.state == FollowState::Accepted)
        }
        QuotePolicy::Nobody => false,
    } && known.as_ref().is_none_or(|k| k.live);
    let request = quotes::Request {
        id: q.id.clone(),
        actor: a.actor.clone(),
        object: q.object.clone(),
        instrument: q.instrument.id.clone(),
    };
    let now = now_ms();
    let (answer, applied) = if allowed {
        let stamp_id = quotes::stamp_url(&app.config, &key);
        store::quotes::approve(
            conn,
            &store::quotes::StampRow {
                key: key.clone(),
                actor: a.actor.clone(),
                instrument: q.instrument.id.clone(),
                object: q.object.clone(),
                request_id: q.id.clone(),
                inbox: inbox.to_string(),
                live: true,
                created_at: now,
                revoked_at: None,
            },
        )?;
        interactions::record(
            conn,
            &Interaction {
                id: q.instrument.id.clone(),
                kind: Kind::Quote,
                actor: a.actor.clone(),
                object: q.object.clone(),
                content: None,
                url: instrument.url.clone(),
                published: None,
                created_at: now,
                updated_at: None,
                // Shown under the post ("quoted by") only when public.
                public: is_public(&instrument.audience),
                in_reply_to: None,
                hidden: false,
            },
        )?;
        if known.is_none() {
            note_for_writer(
                conn,
                "quote",
                &a.actor,
                Some(&q.object),
                Some(instrument.url.as_deref().unwrap_or(&instrument.id)),
                None,
                is_public(&instrument.audience),
            )?;
        }
        (
            quotes::accept(&app.urls, &request, &stamp_id, now),
            Applied::Changed("quote approved"),
        )
    } else {
        (
            quotes::reject(&app.urls, &request, now),
            Applied::Changed("quote refused"),
        )
    };
    let id = answer["id"].as_str().unwrap_or_default().to_string();
    let body = String::from_utf8_lossy(&crate::federation::to_bytes(&answer)).into_owned();
    store::deliveries::enqueue(conn, &id, &body, &[inbox.to_string()], None, now)?;
    Ok(applied)
}

/// The blog's post object `id` as published (from the store), else as
/// served from the built site.
fn post_object(
    app: &App,
    conn: &rusqlite::Connection,
    id: &str,
) -> rusqlite::Result<Option<Value>> {
    if let Some(body) = store::objects::body(conn, id)? {
        return Ok(serde_json::from_str(&body).ok());
    }
    let (Some(site), Some(slug)) = (
        &app.site,
        crate::federation::Urls::post_slug(&app.config, id),
    ) else {
        return Ok(None);
    };
    let path = site.join(crate::federation::Urls::object_path(slug));
    Ok(std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Which of our posts a note answers, and which reply when it answers a
/// reply the companion knows (a thread): its `inReplyTo` when that is ours;
/// the post of the reply it answers; else our actor when the note mentions
/// the blog; `None` otherwise.
fn reply_target(
    app: &App,
    conn: &rusqlite::Connection,
    note: &Note,
    ours: &dyn Fn(&str) -> rusqlite::Result<bool>,
) -> rusqlite::Result<Option<(String, Option<String>)>> {
    if let Some(target) = &note.in_reply_to {
        if ours(target)? {
            return Ok(Some((target.clone(), None)));
        }
        if let Some(object) = interactions::reply_object(conn, target)? {
            return Ok(Some((object, Some(target.clone()))));
        }
    }
    Ok(note
        .mentions
        .contains(&app.urls.actor)
        .then(|| (app.urls.actor.clone(), None)))
}

/// Records a notification for the writer, in the change's transaction.
fn note_for_writer(
    conn: &rusqlite::Connection,
    kind: &str,
    actor: &str,
    object: Option<&str>,
    url: Option<&str>,
    content: Option<&str>,
    public: bool,
) -> rusqlite::Result<()> {
    store::notifications::add(
        conn,
        &store::notifications::Notification {
            kind: kind.to_string(),
            actor: Some(actor.to_string()),
            object: object.map(str::to_string),
            url: url.map(str::to_string),
            content: content.map(str::to_string),
            public,
            created_at: now_ms(),
            ..Default::default()
        },
    )
}

/// Whether an audience (`to` and `cc`) holds the public collection, in any
/// spelling peers use: the full URI, `as:Public` or `Public`.
pub fn is_public(audience: &[String]) -> bool {
    audience.iter().any(|a| {
        matches!(
            a.as_str(),
            crate::federation::PUBLIC | "as:Public" | "Public"
        )
    })
}

/// Whether `id` is one of the blog's own post objects, as the companion
/// knows them: published with `stoa publish` and not deleted; else, when
/// it serves the built site, a post object in it (not a Tombstone); else,
/// before any publish and without a site, anything shaped like a post id
/// (`<base_url>/ap/posts/<slug>.json`), which is all it can know then.
fn is_our_post(app: &App, conn: &rusqlite::Connection, id: &str) -> rusqlite::Result<bool> {
    let Some(slug) = crate::federation::Urls::post_slug(&app.config, id) else {
        return Ok(false);
    };
    if let Some(known) = store::objects::get(conn, id)? {
        return Ok(known.live);
    }
    if let Some(site) = &app.site {
        let path = site.join(crate::federation::Urls::object_path(slug));
        return Ok(std::fs::read(path).is_ok_and(|b| !crate::companion::is_tombstone(&b)));
    }
    Ok(!store::objects::any(conn)?)
}

/// A follower's inbox: from the key cache (the actor document fetched to
/// verify the Follow), else fetched now.
fn endpoints_of(app: &App, actor: &str) -> Option<remote_actor::Endpoints> {
    let known = {
        let store = app.lock_store();
        store::actors::by_actor(store.conn(), actor).ok().flatten()
    };
    if let Some(k) = known
        && let Some(inbox) = k.inbox
    {
        return Some(remote_actor::Endpoints {
            inbox,
            shared_inbox: k.shared_inbox,
            handle: k.handle,
        });
    }
    match app.client.get_json(actor) {
        Ok(doc) => remote_actor::read_endpoints(&doc),
        Err(e) => {
            tracing::warn!(actor, error = %e, "cannot fetch the follower's actor");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn public_in_every_spelling_and_nothing_else() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        for spelling in [crate::federation::PUBLIC, "as:Public", "Public"] {
            assert!(is_public(&s(&[
                "https://a.example/users/x/followers",
                spelling
            ])));
        }
        assert!(!is_public(&s(&["https://a.example/users/x/followers"])));
        assert!(!is_public(&s(&["https://blog.example/ap/actor.json"])));
        assert!(!is_public(&s(&[
            "https://www.w3.org/ns/activitystreams#public"
        ])));
        assert!(!is_public(&[]));
    }
}
