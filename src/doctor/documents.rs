//! Checks of what the static host serves: WebFinger, host-meta, the
//! ActivityPub documents, a post page's alternate link, NodeInfo (pure:
//! they judge answers fetched by `probe.rs`).

use serde_json::Value;

use super::{Check, Fetched, HostKind, Problem};
use crate::fetch::RawAnswer;

/// The two `Accept` headers servers send for documents: the plain one and
/// Mastodon's.
pub const ACCEPTS: [&str; 2] = [
    "application/activity+json",
    "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
];

/// The Content-Type, lower case, without surrounding spaces ("" if none).
pub fn content_type(a: &RawAnswer) -> String {
    a.header("content-type")
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn media_type(a: &RawAnswer) -> String {
    content_type(a)
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Whether a Content-Type is one fediverse servers take for ActivityPub.
pub fn is_activity_type(ct: &str) -> bool {
    let media = ct.split(';').next().unwrap_or("").trim();
    media == "application/activity+json"
        || (media == "application/ld+json" && ct.contains("https://www.w3.org/ns/activitystreams"))
}

/// Judges an ActivityPub document fetched from `url` (asked for with
/// `accept`): 200 without redirect, an ActivityPub type, JSON whose `id` is
/// the URL. The document, or the failed check.
pub fn document(
    id: &'static str,
    url: &str,
    accept: &str,
    fetched: &Fetched,
    host: HostKind,
) -> Result<Value, Check> {
    let a = match fetched {
        Ok(a) => a,
        Err(e) => {
            return Err(Check::fail(id, e.to_string(), &Problem::NotDeployed, host));
        }
    };
    let ct = content_type(a);
    if (300..400).contains(&a.status) {
        let to = a.header("location").unwrap_or("(no Location)");
        return Err(Check::fail(
            id,
            format!("{url} answers {} redirecting to {to}", a.status),
            &Problem::ApRedirect,
            host,
        ));
    }
    if media_type(a) == "text/html" {
        return Err(Check::fail(
            id,
            format!(
                "{url} answers HTML (HTTP {}) when asked for `{accept}`",
                a.status
            ),
            &Problem::HtmlForEveryAccept,
            host,
        ));
    }
    if a.status != 200 {
        return Err(Check::fail(
            id,
            format!("{url} answers HTTP {}", a.status),
            &Problem::NotDeployed,
            host,
        ));
    }
    if !is_activity_type(&ct) {
        let shown = if ct.is_empty() {
            "no Content-Type"
        } else {
            &ct
        };
        return Err(Check::fail(
            id,
            format!("{url} is served as {shown}, not application/activity+json"),
            &Problem::ApType,
            host,
        ));
    }
    let doc: Value = match serde_json::from_slice(&a.body) {
        Ok(v) => v,
        Err(_) => {
            return Err(Check::fail(
                id,
                format!("{url} is not JSON"),
                &Problem::NotDeployed,
                host,
            ));
        }
    };
    let doc_id = doc.get("id").and_then(Value::as_str).unwrap_or("");
    if doc_id != url {
        return Err(Check::fail(
            id,
            format!("{url} says its id is {doc_id:?}: it was built for another address"),
            &Problem::NotDeployed,
            host,
        ));
    }
    Ok(doc)
}

/// The published actor's public key against the local `actor-key.pub.pem`.
pub fn actor_key(actor: &Value, local_fingerprint: &str, host: HostKind) -> Check {
    let pem = actor
        .get("publicKey")
        .and_then(|k| k.get("publicKeyPem"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match crate::signatures::keys::fingerprint(pem) {
        Some(f) if f == local_fingerprint => Check::pass(
            "actor-key",
            format!("the actor's public key is actor-key.pub.pem ({f})"),
        ),
        Some(f) => Check::fail(
            "actor-key",
            format!(
                "the actor's public key is {f}, but actor-key.pub.pem here is {local_fingerprint}"
            ),
            &Problem::PublishedKeyMismatch,
            host,
        ),
        None => Check::fail(
            "actor-key",
            "the actor carries no readable publicKey.publicKeyPem",
            &Problem::PublishedKeyMismatch,
            host,
        ),
    }
}

/// WebFinger for `subject` (`acct:user@host`): 200 without redirect,
/// `application/jrd+json`, CORS, the subject, and a self link equal to
/// `actor` byte for byte.
pub fn webfinger(
    url: &str,
    fetched: &Fetched,
    subject: &str,
    actor: &str,
    host: HostKind,
) -> Check {
    const ID: &str = "webfinger";
    let a = match fetched {
        Ok(a) => a,
        Err(e) => {
            return Check::fail(ID, e.to_string(), &Problem::NotDeployed, host);
        }
    };
    if (300..400).contains(&a.status) {
        let to = a.header("location").unwrap_or("(no Location)");
        return Check::fail(
            ID,
            format!("{url} answers {} redirecting to {to}", a.status),
            &Problem::ApRedirect,
            host,
        );
    }
    let media = media_type(a);
    if media == "text/html" {
        return Check::fail(
            ID,
            format!("{url} answers HTML (HTTP {})", a.status),
            &Problem::WebfingerType,
            host,
        );
    }
    if a.status != 200 {
        return Check::fail(
            ID,
            format!("{url} answers HTTP {}", a.status),
            &Problem::NotDeployed,
            host,
        );
    }
    if media != "application/jrd+json" {
        let shown = if media.is_empty() {
            "no Content-Type".to_string()
        } else {
            media
        };
        return Check::fail(
            ID,
            format!("WebFinger is served as {shown}, not application/jrd+json"),
            &Problem::WebfingerType,
            host,
        );
    }
    if a.header("access-control-allow-origin").is_none() {
        return Check::fail(
            ID,
            "WebFinger has no Access-Control-Allow-Origin header",
            &Problem::WebfingerType,
            host,
        );
    }
    let Ok(doc) = serde_json::from_slice::<Value>(&a.body) else {
        return Check::fail(ID, "WebFinger is not JSON", &Problem::NotDeployed, host);
    };
    let got = doc.get("subject").and_then(Value::as_str).unwrap_or("");
    if got != subject {
        return Check::fail(
            ID,
            format!("WebFinger's subject is {got:?}, not {subject:?}"),
            &Problem::NotDeployed,
            host,
        );
    }
    let self_link = doc
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|l| l.get("rel").and_then(Value::as_str) == Some("self"))
        .and_then(|l| l.get("href").and_then(Value::as_str));
    match self_link {
        Some(href) if href == actor => Check::pass(
            ID,
            format!("{subject} → {actor} (application/jrd+json, CORS)"),
        ),
        other => Check::fail(
            ID,
            format!(
                "WebFinger's self link is {:?}, not the actor id {actor} byte for byte",
                other.unwrap_or("")
            ),
            &Problem::NotDeployed,
            host,
        ),
    }
}

/// host-meta: 200 as `application/xrd+xml`.
pub fn host_meta(url: &str, fetched: &Fetched, host: HostKind) -> Check {
    match fetched {
        Ok(a) if a.status == 200 && media_type(a) == "application/xrd+xml" => {
            Check::pass("host-meta", "host-meta is served as application/xrd+xml")
        }
        Ok(a) if a.status == 200 => Check::fail(
            "host-meta",
            format!(
                "{url} is served as {:?}, not application/xrd+xml",
                content_type(a)
            ),
            &Problem::HostMetaType,
            host,
        ),
        Ok(a) => Check::fail(
            "host-meta",
            format!("{url} answers HTTP {}", a.status),
            &Problem::NotDeployed,
            host,
        ),
        Err(e) => Check::fail("host-meta", e.to_string(), &Problem::NotDeployed, host),
    }
}

/// The `href`s of `<link rel="alternate" type="application/activity+json">`
/// in a page.
pub fn alternate_links(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut rest = 0;
    while let Some(start) = lower[rest..].find("<link") {
        let from = rest + start;
        let Some(len) = lower[from..].find('>') else {
            break;
        };
        let tag = &html[from..from + len];
        let tag_lower = &lower[from..from + len];
        if tag_lower.contains("rel=\"alternate\"")
            && tag_lower.contains("type=\"application/activity+json\"")
            && let Some(h) = tag_lower.find("href=\"")
        {
            let value = &tag[h + 6..];
            if let Some(end) = value.find('"') {
                found.push(value[..end].replace("&amp;", "&"));
            }
        }
        rest = from + len;
    }
    found
}

/// A post's page fetched as HTML links its object as alternate.
pub fn post_page(url: &str, fetched: &Fetched, object: &str, host: HostKind) -> Check {
    const ID: &str = "post-page";
    let a = match fetched {
        Ok(a) => a,
        Err(e) => {
            return Check::fail(ID, e.to_string(), &Problem::NotDeployed, host);
        }
    };
    if a.status != 200 {
        let problem = if (300..400).contains(&a.status) {
            Problem::ApRedirect
        } else {
            Problem::NotDeployed
        };
        return Check::fail(
            ID,
            format!("{url} answers HTTP {}", a.status),
            &problem,
            host,
        );
    }
    let links = alternate_links(&String::from_utf8_lossy(&a.body));
    if links.iter().any(|l| l == object) {
        Check::pass(ID, format!("{url} links its object {object} as alternate"))
    } else {
        Check::fail(
            ID,
            format!(
                "{url} has no <link rel=\"alternate\" type=\"application/activity+json\" href=\"{object}\"> (pasting it into Mastodon's search finds nothing)"
            ),
            &Problem::NotDeployed,
            host,
        )
    }
}

/// NodeInfo discovery: the 2.x document's URL, or the failed check.
pub fn nodeinfo_discovery(url: &str, fetched: &Fetched, host: HostKind) -> Result<String, Check> {
    let fail = |summary: String, problem: Problem| Check::fail("nodeinfo", summary, &problem, host);
    let a = fetched
        .as_ref()
        .map_err(|e| fail(e.to_string(), Problem::NotDeployed))?;
    if a.status != 200 {
        return Err(fail(
            format!("{url} answers HTTP {}", a.status),
            Problem::NotDeployed,
        ));
    }
    if !media_type(a).ends_with("json") {
        return Err(fail(
            format!(
                "{url} is served as {:?}, not application/json",
                content_type(a)
            ),
            Problem::NodeinfoType,
        ));
    }
    let doc: Value = serde_json::from_slice(&a.body)
        .map_err(|_| fail(format!("{url} is not JSON"), Problem::NodeinfoType))?;
    doc.get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|l| {
            l.get("rel")
                .and_then(Value::as_str)
                .is_some_and(|r| r.starts_with("http://nodeinfo.diaspora.software/ns/schema/2."))
        })
        .find_map(|l| l.get("href").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| {
            fail(
                format!("{url} links no NodeInfo 2.x document"),
                Problem::NotDeployed,
            )
        })
}

/// The NodeInfo document: 200, JSON, naming its software.
pub fn nodeinfo_document(url: &str, fetched: &Fetched, host: HostKind) -> Check {
    let fail = |summary: String, problem: Problem| Check::fail("nodeinfo", summary, &problem, host);
    let a = match fetched {
        Ok(a) => a,
        Err(e) => return fail(e.to_string(), Problem::NotDeployed),
    };
    if a.status != 200 {
        return fail(
            format!("{url} answers HTTP {}", a.status),
            Problem::NotDeployed,
        );
    }
    if !media_type(a).ends_with("json") {
        return fail(
            format!(
                "{url} is served as {:?}, not application/json",
                content_type(a)
            ),
            Problem::NodeinfoType,
        );
    }
    match serde_json::from_slice::<Value>(&a.body) {
        Ok(doc) if doc.pointer("/software/name").is_some() => {
            Check::pass("nodeinfo", format!("NodeInfo at {url}"))
        }
        _ => fail(
            format!("{url} is not a NodeInfo document"),
            Problem::NotDeployed,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, ct: &str, body: &str) -> Fetched {
        Ok(RawAnswer {
            status,
            headers: vec![
                ("content-type".into(), ct.into()),
                ("access-control-allow-origin".into(), "*".into()),
            ],
            body: body.as_bytes().to_vec(),
        })
    }

    const URL: &str = "https://blog.example/ap/actor.json";

    #[test]
    fn a_document_must_be_served_directly_with_its_type_and_id() {
        let body = format!("{{\"id\":\"{URL}\"}}");
        let h = HostKind::Nginx;
        assert!(
            document(
                "actor",
                URL,
                ACCEPTS[0],
                &answer(200, "application/activity+json", &body),
                h
            )
            .is_ok()
        );
        assert!(
            document(
                "actor",
                URL,
                ACCEPTS[1],
                &answer(
                    200,
                    "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
                    &body
                ),
                h
            )
            .is_ok()
        );
        let octet = document(
            "actor",
            URL,
            ACCEPTS[0],
            &answer(200, "application/octet-stream", &body),
            h,
        )
        .unwrap_err();
        assert!(
            octet.summary.contains("application/octet-stream"),
            "{octet:?}"
        );
        assert!(
            octet
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("default_type application/activity+json")
        );
        let mut moved = answer(301, "text/html", "").unwrap();
        moved.headers.push(("location".into(), format!("{URL}/")));
        let redirect = document("actor", URL, ACCEPTS[0], &Ok(moved), h).unwrap_err();
        assert!(redirect.summary.contains("redirecting"), "{redirect:?}");
        let html = document(
            "actor",
            URL,
            ACCEPTS[0],
            &answer(200, "text/html; charset=utf-8", "<p>"),
            h,
        )
        .unwrap_err();
        assert!(html.summary.contains("HTML"));
        assert_eq!(
            html.breaks.as_deref(),
            Some(Problem::HtmlForEveryAccept.breaks())
        );
        let wrong_id = document(
            "actor",
            URL,
            ACCEPTS[0],
            &answer(
                200,
                "application/activity+json",
                "{\"id\":\"http://localhost/x\"}",
            ),
            h,
        )
        .unwrap_err();
        assert!(wrong_id.summary.contains("another address"));
    }

    #[test]
    fn webfinger_needs_its_type_cors_and_the_exact_self_link() {
        let good = format!(
            "{{\"subject\":\"acct:ada@blog.example\",\"links\":[{{\"rel\":\"self\",\"type\":\"application/activity+json\",\"href\":\"{URL}\"}}]}}"
        );
        let h = HostKind::Caddy;
        let w = |f: &Fetched| webfinger("u", f, "acct:ada@blog.example", URL, h);
        assert_eq!(
            w(&answer(200, "application/jrd+json", &good)).outcome,
            super::super::Outcome::Pass
        );
        let html = w(&answer(200, "text/html", &good));
        assert_eq!(
            html.breaks.as_deref(),
            Some(Problem::WebfingerType.breaks())
        );
        assert!(html.fix.as_deref().unwrap_or("").contains("@webfinger"));
        let other = w(&answer(
            200,
            "application/jrd+json",
            &good.replace("actor.json", "actor"),
        ));
        assert!(other.summary.contains("byte for byte"));
    }

    #[test]
    fn alternate_links_are_found_in_a_page() {
        let html = r#"<head><link rel="canonical" href="/x"><LINK rel="alternate" type="application/activity+json" href="https://b.example/ap/posts/x.json"></head>"#;
        assert_eq!(
            alternate_links(html),
            vec!["https://b.example/ap/posts/x.json"]
        );
        assert!(
            alternate_links(
                "<link rel=\"alternate\" type=\"application/rss+xml\" href=\"/rss.xml\">"
            )
            .is_empty()
        );
    }
}
