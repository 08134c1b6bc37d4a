//! What arrives at the inbox, read into types. Pure: it neither verifies
//! signatures nor looks anything up; it only refuses shapes that cannot be
//! understood, with a reason the sender can read.
//!
//! The shapes follow what Mastodon, GoToSocial, Misskey and snac send
//! (docs/interop.md, "Followers" and "What followers send"): ids and
//! actors are strings or objects with an `id`, `to`/`cc` a string or a
//! list, the `object` of an Undo or a Delete embedded or referenced.

use serde_json::Value;

/// An activity read from an inbox POST.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Its `id`, when it has one.
    pub id: Option<String>,
    /// Its `actor` (a URL).
    pub actor: String,
    /// What it asks.
    pub what: Inbound,
}

/// The activities the blog acts on; everything else is [`Inbound::Other`].
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Someone wants to follow `object`.
    Follow {
        /// The Follow's id (embedded again in our Accept).
        id: String,
        /// Who is to be followed.
        object: String,
    },
    /// Someone takes back an earlier activity.
    Undo(Undone),
    /// A favourite of `object`.
    Like {
        /// The Like's id.
        id: String,
        /// The post liked.
        object: String,
    },
    /// A boost of `object`.
    Announce {
        /// The Announce's id.
        id: String,
        /// The post boosted.
        object: String,
    },
    /// A new post (maybe a reply to the blog).
    Create(Note),
    /// An edited post.
    Update(Note),
    /// A deleted post or, when `object == actor`, a deleted account.
    Delete {
        /// Id of what was deleted.
        object: String,
    },
    /// A request to quote `object` in the post `instrument` (FEP-044f).
    QuoteRequest(QuoteRequest),
    /// An Accept or a Reject of one of the blog's requests (a QuoteRequest).
    Answer {
        /// Accept (true) or Reject.
        accepted: bool,
        /// Id of the activity answered.
        object: String,
        /// `result` of an Accept (a QuoteAuthorization's URL).
        result: Option<String>,
    },
    /// Anything else (Accept, Add, Move, Flag, …): acknowledged, ignored.
    Other {
        /// Its `type`.
        kind: String,
    },
}

/// The activity an Undo takes back, as far as the Undo says.
#[derive(Debug, Clone, PartialEq)]
pub struct Undone {
    /// `Follow`, `Like`, `Announce`… when embedded.
    pub kind: Option<String>,
    /// The undone activity's id.
    pub id: Option<String>,
    /// The undone activity's object, when embedded.
    pub object: Option<String>,
    /// The undone activity's actor, when embedded.
    pub actor: Option<String>,
}

/// A `QuoteRequest`: someone wants to quote one of the blog's posts.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteRequest {
    /// The request's id.
    pub id: String,
    /// The post to be quoted.
    pub object: String,
    /// The post that quotes it.
    pub instrument: Instrument,
}

/// The quoting post of a `QuoteRequest`, as far as the request says.
#[derive(Debug, Clone, PartialEq)]
pub struct Instrument {
    /// Its id.
    pub id: String,
    /// Its author, when embedded.
    pub attributed_to: Option<String>,
    /// The post it quotes, when embedded (`quote`, `quoteUrl`, `quoteUri` or `_misskey_quote`).
    pub quote: Option<String>,
    /// Everyone in its `to` and `cc`, when embedded: a quote is shown on
    /// the blog only when addressed to the public.
    pub audience: Vec<String>,
    /// Its web page, when embedded and given.
    pub url: Option<String>,
}

impl Instrument {
    /// The quoting post as `doc` (embedded in the request, or fetched
    /// from `id`) describes it; one reading for both.
    pub fn read(id: String, doc: &Value) -> Instrument {
        Instrument {
            id,
            attributed_to: doc.get("attributedTo").and_then(id_of),
            quote: crate::federation::quotes::quoted_by(doc),
            audience: ["to", "cc"]
                .iter()
                .flat_map(|k| ids_of(doc.get(*k)))
                .collect(),
            url: doc.get("url").and_then(web_url),
        }
    }
}

/// A post (Note, Article, Question…) carried by Create or Update.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// The post's id.
    pub id: String,
    /// Its author.
    pub attributed_to: Option<String>,
    /// The post it answers.
    pub in_reply_to: Option<String>,
    /// HTML as sent (sanitize before storing).
    pub content: String,
    /// Content warning.
    pub summary: Option<String>,
    /// Web page of the post: the first http(s) link given (others, such as
    /// `magnet:` or `javascript:`, are left out).
    pub url: Option<String>,
    /// `published`, when it is a valid RFC 3339 time (normalized to UTC).
    pub published: Option<String>,
    /// `href`s of its Mention tags.
    pub mentions: Vec<String>,
    /// Everyone in `to` and `cc`.
    pub audience: Vec<String>,
}

/// Why an activity was refused (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// The body is not JSON.
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
    /// The JSON is not an object.
    #[error("the activity must be a JSON object")]
    NotAnObject,
    /// A required field is missing or has the wrong type.
    #[error("the activity has no usable `{0}`")]
    Missing(&'static str),
    /// A field that must be an http(s) URL is not one.
    #[error("`{0}` must be an http(s) URL")]
    NotAUrl(&'static str),
}

/// Reads an activity from a request body.
pub fn parse(body: &[u8]) -> Result<Activity, InboundError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| InboundError::NotJson(e.to_string()))?;
    from_value(&value)
}

/// Reads an activity from parsed JSON.
pub fn from_value(v: &Value) -> Result<Activity, InboundError> {
    if !v.is_object() {
        return Err(InboundError::NotAnObject);
    }
    let kind = kind_of(v).ok_or(InboundError::Missing("type"))?;
    let actor = v
        .get("actor")
        .and_then(id_of)
        .ok_or(InboundError::Missing("actor"))?;
    require_url(&actor, "actor")?;
    let id = v.get("id").and_then(Value::as_str).map(str::to_string);
    let object = v.get("object");
    let need_id = || id.clone().ok_or(InboundError::Missing("id"));
    let need_object = || {
        object
            .and_then(id_of)
            .ok_or(InboundError::Missing("object"))
    };
    let what = match kind.as_str() {
        "Follow" => Inbound::Follow {
            id: need_id()?,
            object: need_object()?,
        },
        "Like" => Inbound::Like {
            id: need_id()?,
            object: need_object()?,
        },
        "Announce" => Inbound::Announce {
            id: need_id()?,
            object: need_object()?,
        },
        "Undo" => {
            let inner = object.ok_or(InboundError::Missing("object"))?;
            Inbound::Undo(Undone {
                kind: if inner.is_object() {
                    kind_of(inner)
                } else {
                    None
                },
                id: id_of(inner),
                object: inner.get("object").and_then(id_of),
                actor: inner.get("actor").and_then(id_of),
            })
        }
        "Create" | "Update" => match object {
            Some(o) if o.is_object() && !is_activity_or_actor(o) => {
                let note = note(o)?;
                if kind == "Create" {
                    Inbound::Create(note)
                } else {
                    Inbound::Update(note)
                }
            }
            // Update of an actor (profile edits) and Creates of anything
            // that is not a post do not concern the blog.
            _ => Inbound::Other { kind },
        },
        "Delete" => Inbound::Delete {
            object: need_object()?,
        },
        "Accept" | "Reject" => Inbound::Answer {
            accepted: kind == "Accept",
            object: need_object()?,
            result: v.get("result").and_then(id_of),
        },
        "QuoteRequest" => {
            let instrument = v
                .get("instrument")
                .ok_or(InboundError::Missing("instrument"))?;
            let instrument_id = id_of(instrument).ok_or(InboundError::Missing("instrument"))?;
            require_url(&instrument_id, "instrument")?;
            Inbound::QuoteRequest(QuoteRequest {
                id: need_id()?,
                object: need_object()?,
                // A bare id reads as nothing known: no author, no audience.
                instrument: Instrument::read(instrument_id, instrument),
            })
        }
        _ => Inbound::Other { kind },
    };
    Ok(Activity { id, actor, what })
}

fn note(o: &Value) -> Result<Note, InboundError> {
    let id = o
        .get("id")
        .and_then(Value::as_str)
        .ok_or(InboundError::Missing("object.id"))?;
    require_url(id, "object.id")?;
    let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    let audience = ["to", "cc"]
        .iter()
        .flat_map(|k| ids_of(o.get(*k)))
        .collect();
    let mentions = match o.get("tag") {
        Some(Value::Array(tags)) => tags.iter().filter_map(mention_href).collect(),
        Some(t @ Value::Object(_)) => mention_href(t).into_iter().collect(),
        _ => Vec::new(),
    };
    Ok(Note {
        id: id.to_string(),
        attributed_to: o.get("attributedTo").and_then(id_of),
        in_reply_to: o.get("inReplyTo").and_then(id_of),
        content: text("content").unwrap_or_default(),
        summary: text("summary").filter(|s| !s.is_empty()),
        url: o.get("url").and_then(web_url),
        published: o
            .get("published")
            .and_then(Value::as_str)
            .and_then(|p| p.parse::<jiff::Timestamp>().ok())
            .map(|t| t.to_string()),
        mentions,
        audience,
    })
}

/// The first http(s) URL of a `url` value: a string, a Link, or a list of them.
fn web_url(u: &Value) -> Option<String> {
    let href = |x: &Value| match x {
        Value::String(s) => Some(s.clone()),
        _ => x.get("href").and_then(Value::as_str).map(str::to_string),
    };
    let candidates: Vec<String> = match u {
        Value::Array(a) => a.iter().filter_map(href).collect(),
        other => href(other).into_iter().collect(),
    };
    candidates
        .into_iter()
        .find(|c| crate::config::url_host(c).is_some())
}

fn mention_href(t: &Value) -> Option<String> {
    (kind_of(t).as_deref() == Some("Mention"))
        .then(|| t.get("href").and_then(Value::as_str).map(str::to_string))
        .flatten()
}

/// `type`, or the first of a list of types.
fn kind_of(v: &Value) -> Option<String> {
    match v.get("type")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.iter().find_map(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// A reference: a string, or an object's `id`.
pub fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(_) => v
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_string),
        _ => None,
    }
}

fn ids_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(id_of).collect(),
        Some(other) => id_of(other).into_iter().collect(),
        None => Vec::new(),
    }
}

fn is_activity_or_actor(o: &Value) -> bool {
    matches!(
        kind_of(o).as_deref(),
        Some(
            "Person"
                | "Service"
                | "Application"
                | "Group"
                | "Organization"
                | "Follow"
                | "Like"
                | "Announce"
                | "Undo"
                | "Accept"
                | "Reject"
        )
    )
}

fn require_url(s: &str, field: &'static str) -> Result<(), InboundError> {
    if crate::config::url_host(s).is_some() {
        Ok(())
    } else {
        Err(InboundError::NotAUrl(field))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Result<Activity, InboundError> {
        parse(v.to_string().as_bytes())
    }

    #[test]
    fn mastodon_follow() {
        let a = read(json!({"@context":"https://www.w3.org/ns/activitystreams",
            "id":"https://m.example/1","type":"Follow",
            "actor":"https://m.example/users/a","object":"https://blog.example/ap/actor.json"}))
        .unwrap();
        assert_eq!(a.actor, "https://m.example/users/a");
        assert_eq!(
            a.what,
            Inbound::Follow {
                id: "https://m.example/1".into(),
                object: "https://blog.example/ap/actor.json".into()
            }
        );
    }

    #[test]
    fn undo_with_embedded_or_referenced_object() {
        let a = read(json!({"type":"Undo","id":"https://m.example/u","actor":"https://m.example/users/a",
            "object":{"type":"Follow","id":"https://m.example/1","actor":"https://m.example/users/a",
                      "object":"https://blog.example/ap/actor.json"}}))
        .unwrap();
        assert_eq!(
            a.what,
            Inbound::Undo(Undone {
                kind: Some("Follow".into()),
                id: Some("https://m.example/1".into()),
                object: Some("https://blog.example/ap/actor.json".into()),
                actor: Some("https://m.example/users/a".into()),
            })
        );
        let b = read(json!({"type":"Undo","actor":"https://m.example/users/a","object":"https://m.example/1"}))
            .unwrap();
        assert_eq!(
            b.what,
            Inbound::Undo(Undone {
                kind: None,
                id: Some("https://m.example/1".into()),
                object: None,
                actor: None,
            })
        );
    }

    #[test]
    fn reply_with_mentions_and_audience() {
        let a = read(json!({"type":"Create","id":"https://m.example/s/1/activity","actor":{"id":"https://m.example/users/a"},
            "object":{"type":"Note","id":"https://m.example/s/1","attributedTo":"https://m.example/users/a",
              "inReplyTo":"https://blog.example/ap/posts/hello.json","content":"<p>hi</p>",
              "to":"https://www.w3.org/ns/activitystreams#Public","cc":["https://m.example/users/a/followers"],
              "tag":[{"type":"Mention","href":"https://blog.example/ap/actor.json"},{"type":"Hashtag","href":"x"}],
              "url":"https://m.example/@a/1"}}))
        .unwrap();
        let Inbound::Create(n) = a.what else {
            panic!("not a Create")
        };
        assert_eq!(
            n.in_reply_to.as_deref(),
            Some("https://blog.example/ap/posts/hello.json")
        );
        assert_eq!(n.mentions, vec!["https://blog.example/ap/actor.json"]);
        assert_eq!(n.audience.len(), 2);
        assert_eq!(n.url.as_deref(), Some("https://m.example/@a/1"));
    }

    #[test]
    fn stored_fields_are_what_they_claim() {
        let a = read(json!({"type":"Create","actor":"https://m.example/users/a",
            "object":{"type":"Note","id":"https://m.example/s/1","content":"x",
              "url":"javascript:alert(7)","published":"<script>"}}))
        .unwrap();
        let Inbound::Create(n) = a.what else {
            panic!("not a Create")
        };
        assert_eq!(n.url, None);
        assert_eq!(n.published, None);
        let b = read(json!({"type":"Create","actor":"https://p.example/a",
            "object":{"type":"Video","id":"https://p.example/v/1","content":"x",
              "url":[{"type":"Link","href":"magnet:?xt=1"},{"type":"Link","href":"https://p.example/w/1"}],
              "published":"2024-05-01T09:30:00+02:00"}}))
        .unwrap();
        let Inbound::Create(n) = b.what else {
            panic!("not a Create")
        };
        assert_eq!(n.url.as_deref(), Some("https://p.example/w/1"));
        assert_eq!(n.published.as_deref(), Some("2024-05-01T07:30:00Z"));
    }

    #[test]
    fn profile_updates_and_unknown_types_are_other() {
        let a = read(json!({"type":"Update","actor":"https://m.example/users/a",
            "object":{"type":"Person","id":"https://m.example/users/a"}}))
        .unwrap();
        assert_eq!(
            a.what,
            Inbound::Other {
                kind: "Update".into()
            }
        );
        let b = read(json!({"type":"Flag","actor":"https://m.example/users/a"})).unwrap();
        assert_eq!(
            b.what,
            Inbound::Other {
                kind: "Flag".into()
            }
        );
    }

    #[test]
    fn mastodon_quote_request() {
        let a = read(json!({"type":"QuoteRequest","id":"https://m.example/users/a/quote_requests/1",
            "actor":"https://m.example/users/a","object":"https://blog.example/ap/posts/p.json",
            "instrument":{"type":"Note","id":"https://m.example/users/a/statuses/2",
              "attributedTo":"https://m.example/users/a","quote":"https://blog.example/ap/posts/p.json"}}))
        .unwrap();
        let Inbound::QuoteRequest(q) = a.what else {
            panic!("not a QuoteRequest")
        };
        assert_eq!(q.object, "https://blog.example/ap/posts/p.json");
        assert_eq!(q.instrument.id, "https://m.example/users/a/statuses/2");
        assert_eq!(
            q.instrument.attributed_to.as_deref(),
            Some("https://m.example/users/a")
        );
        assert_eq!(
            q.instrument.quote.as_deref(),
            Some("https://blog.example/ap/posts/p.json")
        );
        let b = read(json!({"type":"QuoteRequest","id":"https://m.example/r/1","actor":"https://m.example/users/a",
            "object":"https://blog.example/ap/posts/p.json","instrument":"https://m.example/s/2"}))
        .unwrap();
        let Inbound::QuoteRequest(q) = b.what else {
            panic!("not a QuoteRequest")
        };
        assert_eq!(q.instrument.attributed_to, None);
        assert_eq!(
            read(
                json!({"type":"QuoteRequest","id":"https://m.example/r/1","actor":"https://m.example/users/a",
                "object":"https://blog.example/ap/posts/p.json"})
            ),
            Err(InboundError::Missing("instrument"))
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        assert!(matches!(parse(b"{not json"), Err(InboundError::NotJson(_))));
        assert_eq!(parse(b"[]"), Err(InboundError::NotAnObject));
        assert_eq!(
            read(json!({"actor":"https://a.example/u"})),
            Err(InboundError::Missing("type"))
        );
        assert_eq!(
            read(json!({"type":"Follow"})),
            Err(InboundError::Missing("actor"))
        );
        assert_eq!(
            read(json!({"type":"Follow","actor":"javascript:alert(1)","id":"x","object":"y"})),
            Err(InboundError::NotAUrl("actor"))
        );
        assert_eq!(
            read(json!({"type":"Follow","actor":"https://a.example/u","object":"y"})),
            Err(InboundError::Missing("id"))
        );
        assert_eq!(
            read(json!({"type":"Like","id":"https://a.example/l","actor":"https://a.example/u"})),
            Err(InboundError::Missing("object"))
        );
    }
}
