//! Who may say what. A valid signature proves only that the holder of a key
//! sent the bytes; these rules decide whether that sender may speak for the
//! activity's actor and for every id the activity names. Pure: the inbox
//! applies them before anything is queued, and the key lookup applies
//! [`same_origin`] to the keys it fetches.
//!
//! The rules are the ones Mastodon, Misskey and Fedify enforce (see
//! `docs/interop.md`, "Trust"): an activity's id, the ids of the objects it
//! creates, edits, deletes or takes back, and the key that signed it all live
//! on the actor's own origin. Without them, a stranger could record a reply
//! under an id that belongs to someone else and so block the real one.

use crate::federation::inbound::{Activity, Inbound};

/// Why a verified request may still not change anything (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The actor has no origin (it passed as an http(s) URL, but its
    /// authority is not a host with an optional port), so no id can be on
    /// its server.
    #[error("the actor {0} is not on any server: its URL has no usable host")]
    NoOrigin(String),
    /// An id in the activity is on another origin than its actor.
    #[error(
        "`{field}` ({id}) is not on the actor's server ({actor}); ids must be on their author's server"
    )]
    ForeignId {
        /// Which field.
        field: &'static str,
        /// The id.
        id: String,
        /// The activity's actor.
        actor: String,
    },
    /// A post says it was written by someone other than the actor.
    #[error("the post {id} is attributed to {author}, not to the activity's actor {actor}")]
    NotTheAuthor {
        /// The post id.
        id: String,
        /// Its `attributedTo`.
        author: String,
        /// The activity's actor.
        actor: String,
    },
    /// An Undo takes back an activity of someone else.
    #[error("the Undo takes back an activity by {inner}, not by its actor {actor}")]
    NotTheirs {
        /// The undone activity's actor.
        inner: String,
        /// The Undo's actor.
        actor: String,
    },
}

/// `scheme://host[:port]` of an http(s) URL, lowercased, the port written as
/// a number and left out when it is the scheme's default: what two ids must
/// share to come from one server. `None` unless the authority is a non-empty
/// host (a name or a bracketed IPv6 literal) and an optional decimal port,
/// so the origin of an origin is itself.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains(['@', ' ', '\\']) {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    // The port follows the last `:`, except inside an IPv6 literal.
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority.as_str(), None),
    };
    let well_formed = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ipv6) => !ipv6.is_empty() && !ipv6.contains(['[', ']']),
        None => !host.is_empty() && !host.contains([':', '[', ']']),
    };
    if !well_formed {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok()?).filter(|&p| p != default_port)
        }
        Some(_) => return None,
    };
    Some(match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Whether two URLs are on the same origin (both must be http(s) URLs).
pub fn same_origin(a: &str, b: &str) -> bool {
    matches!((origin(a), origin(b)), (Some(x), Some(y)) if x == y)
}

/// Checks that the actor has an origin, that every id the activity names is
/// on it, that a post (a created or edited one, or the quoting post of a
/// QuoteRequest) is attributed to the actor, and that an Undo takes back
/// the actor's own activity.
pub fn check_ids(a: &Activity) -> Result<(), TrustError> {
    if origin(&a.actor).is_none() {
        return Err(TrustError::NoOrigin(a.actor.clone()));
    }
    let on_actor_origin = |field: &'static str, id: &str| {
        if same_origin(id, &a.actor) {
            Ok(())
        } else {
            Err(TrustError::ForeignId {
                field,
                id: id.to_string(),
                actor: a.actor.clone(),
            })
        }
    };
    if let Some(id) = &a.id {
        on_actor_origin("id", id)?;
    }
    match &a.what {
        Inbound::Follow { id, .. } | Inbound::Like { id, .. } | Inbound::Announce { id, .. } => {
            on_actor_origin("id", id)?;
        }
        Inbound::Create(note) | Inbound::Update(note) => {
            on_actor_origin("object.id", &note.id)?;
            if let Some(author) = &note.attributed_to
                && *author != a.actor
            {
                return Err(TrustError::NotTheAuthor {
                    id: note.id.clone(),
                    author: author.clone(),
                    actor: a.actor.clone(),
                });
            }
        }
        Inbound::Undo(undone) => {
            if let Some(id) = &undone.id {
                on_actor_origin("object.id", id)?;
            }
            if let Some(inner) = &undone.actor
                && *inner != a.actor
            {
                return Err(TrustError::NotTheirs {
                    inner: inner.clone(),
                    actor: a.actor.clone(),
                });
            }
        }
        Inbound::Delete { object } => on_actor_origin("object", object)?,
        Inbound::Answer {
            result: Some(result),
            ..
        } => on_actor_origin("result", result)?,
        Inbound::QuoteRequest(q) => {
            on_actor_origin("id", &q.id)?;
            on_actor_origin("instrument", &q.instrument.id)?;
            if let Some(author) = &q.instrument.attributed_to
                && *author != a.actor
            {
                return Err(TrustError::NotTheAuthor {
                    id: q.instrument.id.clone(),
                    author: author.clone(),
                    actor: a.actor.clone(),
                });
            }
        }
        Inbound::Answer { result: None, .. } | Inbound::Other { .. } => {}
    }
    Ok(())
}

/// Whether a request's `Host` header names one of `allowed` (origins or
/// URLs of the blog and its companion). A request signed for another server
/// carries that server's name in `Host`.
pub fn host_allowed(host_header: &str, scheme: &str, allowed: &[String]) -> bool {
    let Some(asked) = origin(&format!("{scheme}://{}", host_header.trim())) else {
        return false;
    };
    let bare = |o: &str| o.split_once("://").map(|(_, h)| h.to_string());
    allowed
        .iter()
        .filter_map(|a| origin(a))
        .any(|o| bare(&o) == bare(&asked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::inbound::parse;
    use serde_json::json;

    fn read(v: serde_json::Value) -> Activity {
        parse(v.to_string().as_bytes()).expect("an activity")
    }

    #[test]
    fn origins_ignore_case_paths_and_default_ports() {
        assert_eq!(
            origin("https://M.Example:443/users/a#k").as_deref(),
            Some("https://m.example")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/x").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert!(same_origin(
            "https://a.example/u",
            "https://a.example/likes/1"
        ));
        assert!(!same_origin("https://a.example/u", "https://b.example/u"));
        assert!(!same_origin("https://a.example/u", "http://a.example/u"));
        assert!(!same_origin("http://127.0.0.1:1/u", "http://127.0.0.1:2/u"));
        assert!(!same_origin(
            "https://a.example@b.example/u",
            "https://a.example/u"
        ));
        assert_eq!(origin("javascript:alert(1)"), None);
        assert_eq!(origin("https:///x"), None);
        assert_eq!(
            origin("http://[::1]:8080/x").as_deref(),
            Some("http://[::1]:8080")
        );
        assert_eq!(
            origin("https://[::1]:443").as_deref(),
            Some("https://[::1]")
        );
        assert_eq!(
            origin("https://a.example:0443/x").as_deref(),
            Some("https://a.example")
        );
    }

    /// Found by the `trust` fuzz target (docs/reliability.md, F2): only a
    /// trailing `:443` was cut, so a malformed authority gave an "origin"
    /// whose own origin differed (`https://a:443:443` → `https://a:443` →
    /// `https://a`), and `https://:443` gave the host-less `https://`.
    #[test]
    fn malformed_authorities_have_no_origin() {
        for url in [
            "https://a.example:443:443/u",
            "https://:443/k",
            "https://:8080",
            "https://a.example:/u",
            "https://a.example:https/u",
            "https://a.example:99999/u",
            "https://::1/u",
            "https://[]:80/u",
            "https://a.example]:80/u",
        ] {
            assert_eq!(origin(url), None, "{url}");
            assert!(!same_origin(url, url), "{url}");
        }
        for url in [
            "https://a.example/u",
            "HTTP://A.Example:8080/u",
            "https://[2001:db8::1]:8443/u",
            "http://127.0.0.1:80/u",
        ] {
            let o = origin(url).expect(url);
            assert_eq!(origin(&o).as_deref(), Some(o.as_str()), "{url}");
        }
        assert!(!host_allowed(
            "blog.example:443:443",
            "https",
            &["https://blog.example".into()]
        ));
    }

    #[test]
    fn ids_on_other_servers_are_refused() {
        let like = read(json!({"type":"Like","id":"https://evil.example/likes/1",
            "actor":"https://a.example/u","object":"https://blog.example/ap/posts/p.json"}));
        assert!(matches!(
            check_ids(&like),
            Err(TrustError::ForeignId { field: "id", .. })
        ));
        let reply = read(
            json!({"type":"Create","id":"https://a.example/s/1/activity",
            "actor":"https://a.example/u","object":{"type":"Note","id":"https://b.example/s/1",
            "attributedTo":"https://a.example/u","content":"hi"}}),
        );
        assert!(matches!(
            check_ids(&reply),
            Err(TrustError::ForeignId {
                field: "object.id",
                ..
            })
        ));
        let delete = read(json!({"type":"Delete","actor":"https://a.example/u",
            "object":"https://b.example/s/1"}));
        assert!(check_ids(&delete).is_err());
        let undo = read(json!({"type":"Undo","actor":"https://a.example/u",
            "object":{"type":"Like","id":"https://a.example/likes/1","actor":"https://a.example/other",
            "object":"https://blog.example/ap/posts/p.json"}}));
        assert!(matches!(
            check_ids(&undo),
            Err(TrustError::NotTheirs { .. })
        ));
        let quote = read(json!({"type":"QuoteRequest","id":"https://a.example/r/1",
            "actor":"https://a.example/u","object":"https://blog.example/ap/posts/p.json",
            "instrument":{"type":"Note","id":"https://a.example/s/3","attributedTo":"https://a.example/other"}}));
        assert!(matches!(
            check_ids(&quote),
            Err(TrustError::NotTheAuthor { .. })
        ));
        let elsewhere = read(json!({"type":"QuoteRequest","id":"https://a.example/r/1",
            "actor":"https://a.example/u","object":"https://blog.example/ap/posts/p.json",
            "instrument":"https://b.example/s/3"}));
        assert!(matches!(
            check_ids(&elsewhere),
            Err(TrustError::ForeignId {
                field: "instrument",
                ..
            })
        ));
        let stolen = read(json!({"type":"Update","id":"https://a.example/u#u1",
            "actor":"https://a.example/u","object":{"type":"Note","id":"https://a.example/s/2",
            "attributedTo":"https://a.example/someone-else","content":"hi"}}));
        assert!(matches!(
            check_ids(&stolen),
            Err(TrustError::NotTheAuthor { .. })
        ));
    }

    /// Found by the `trust` fuzz target (docs/reliability.md, F3): an
    /// activity naming no id but its actor passed whatever the actor's URL.
    #[test]
    fn an_actor_without_an_origin_is_refused() {
        for actor in [
            "http://:8080127.0.0.1:8001/users/carol",
            "https://a.example:443:443/u",
            "https://a.example\\b/u",
        ] {
            let accept = read(json!({"type":"Accept","actor":actor,
                "object":"https://blog.example/ap/actor.json"}));
            assert_eq!(
                check_ids(&accept),
                Err(TrustError::NoOrigin(actor.to_string())),
                "{actor}"
            );
        }
    }

    #[test]
    fn what_mastodon_sends_passes() {
        for v in [
            json!({"type":"Follow","id":"https://m.example/1","actor":"https://m.example/users/a",
                "object":"https://blog.example/ap/actor.json"}),
            json!({"type":"Like","id":"https://m.example/users/a#likes/1",
                "actor":"https://m.example/users/a","object":"https://blog.example/ap/posts/p.json"}),
            json!({"type":"Delete","id":"https://m.example/users/a#delete",
                "actor":"https://m.example/users/a","object":"https://m.example/users/a"}),
            json!({"type":"Undo","id":"https://m.example/users/a#likes/1/undo","actor":"https://m.example/users/a",
                "object":{"type":"Like","id":"https://m.example/users/a#likes/1",
                "actor":"https://m.example/users/a","object":"https://blog.example/ap/posts/p.json"}}),
        ] {
            let a = read(v);
            assert_eq!(check_ids(&a), Ok(()), "{a:?}");
        }
    }

    #[test]
    fn the_host_header_must_name_the_blog() {
        let allowed = vec![
            "https://blog.example".to_string(),
            "https://vps.example:8443/".to_string(),
        ];
        assert!(host_allowed("blog.example", "https", &allowed));
        assert!(host_allowed("Blog.Example:443", "https", &allowed));
        assert!(host_allowed("vps.example:8443", "https", &allowed));
        assert!(!host_allowed("vps.example", "https", &allowed));
        assert!(!host_allowed("other.example", "https", &allowed));
        assert!(!host_allowed("", "https", &allowed));
        assert!(!host_allowed(
            "blog.example@other.example",
            "https",
            &allowed
        ));
    }
}
