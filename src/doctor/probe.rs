//! The edge of `stoa doctor`: fetches what a remote server would, from the
//! public address, through the one HTTP client (`fetch.rs`, with its SSRF
//! guard), and hands each answer to the pure checks.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Check, HostKind, Problem, Report, companion, documents, inbox};
use crate::companion::api::{SELF_TEST_TYPE, Status};
use crate::companion::client::{ClientError, CompanionClient};
use crate::config::Config;
use crate::federation::Urls;
use crate::fetch::Client;
use crate::signatures::cavage;
use crate::signatures::keys::SigningKey;

/// What the doctor needs from the writer's machine.
pub struct Inputs<'a> {
    /// The site's configuration (its `base_url` is the address checked).
    pub config: &'a Config,
    /// The local `actor-key.pub.pem`.
    pub public_pem: &'a str,
    /// The local private key, for the signed self-test (skipped without it).
    pub signer: Option<&'a SigningKey>,
    /// The companion's admin API, when a token is at hand.
    pub admin: Option<&'a CompanionClient>,
}

/// Runs every check against the live deployment.
pub fn run(inputs: &Inputs<'_>) -> Report {
    let config = inputs.config;
    let base = config.base_url.trim_end_matches('/').to_string();
    let urls = Urls::new(config);
    let local_fp = crate::signatures::keys::fingerprint(inputs.public_pem).unwrap_or_default();
    let user_agent = format!("stoa-doctor/{} (+{base})", env!("CARGO_PKG_VERSION"));
    let client = Client::unsigned(config.companion.allow_private_addresses, &user_agent);
    let get = |url: &str, accept: &str| {
        client.raw(url, &[("Accept".to_string(), accept.to_string())], None)
    };

    let actor_answers: Vec<_> = documents::ACCEPTS
        .iter()
        .map(|a| (a, get(&urls.actor, a)))
        .collect();
    let public_health = get(&format!("{base}/healthz"), "text/plain");
    let single = matches!(&public_health, Ok(a) if a.status == 200 && a.body.trim_ascii() == b"ok");
    let server = actor_answers.iter().find_map(|(_, f)| {
        f.as_ref()
            .ok()
            .and_then(|a| a.header("server").map(str::to_string))
    });
    let host = HostKind::detect(server.as_deref(), single);
    let mut checks = vec![transport(config, &base, host)];
    // A blog that does not answer at all: one line, not one per check.
    let home = get(&format!("{base}/"), "text/html");
    if let Err(e) = &home
        && matches!(
            e,
            crate::fetch::FetchError::Network { .. } | crate::fetch::FetchError::Private(_)
        )
    {
        checks.push(Check::fail(
            "reach",
            e.to_string(),
            &Problem::Unreachable,
            host,
        ));
        return Report {
            base_url: base,
            host,
            checks,
        };
    }

    let handle_host = &config.fediverse.host;
    let subject = format!("acct:{}@{handle_host}", config.fediverse.username);
    let wf_url = format!("{base}/.well-known/webfinger?resource={subject}");
    checks.push(documents::webfinger(
        &wf_url,
        &get(&wf_url, "application/jrd+json"),
        &subject,
        &urls.actor,
        host,
    ));
    let hm_url = format!("{base}/.well-known/host-meta");
    checks.push(documents::host_meta(
        &hm_url,
        &get(&hm_url, "application/xrd+xml"),
        host,
    ));

    // The actor, with both Accept headers.
    let mut actor = None;
    let mut actor_failure = None;
    for (accept, fetched) in &actor_answers {
        match documents::document("actor", &urls.actor, accept, fetched, host) {
            Ok(doc) => actor = actor.or(Some(doc)),
            Err(check) => {
                actor_failure.get_or_insert(check);
            }
        }
    }
    match (&actor_failure, &actor) {
        (Some(check), _) => checks.push(check.clone()),
        (None, _) => checks.push(Check::pass(
            "actor",
            format!(
                "{} is served directly as ActivityPub to both Accept headers, its id is its URL",
                urls.actor
            ),
        )),
    }
    match &actor {
        Some(doc) if actor_failure.is_none() => {
            checks.push(documents::actor_key(doc, &local_fp, host))
        }
        _ => checks.push(Check::skip("actor-key", "the actor could not be read")),
    }

    // The outbox, its first page, a recent post, its page.
    let post = outbox_and_post(&get, &urls, host, &mut checks);
    match post {
        Some((object_id, Some(page))) => {
            let fetched = get(&page, "text/html");
            checks.push(documents::post_page(&page, &fetched, &object_id, host));
        }
        Some((_, None)) => checks.push(Check::skip(
            "post-page",
            "the post object names no page (url)",
        )),
        None => checks.push(Check::skip("post-page", "no post to look at")),
    }

    // NodeInfo.
    let ni_url = format!("{base}/.well-known/nodeinfo");
    checks.push(
        match documents::nodeinfo_discovery(&ni_url, &get(&ni_url, "application/json"), host) {
            Ok(doc_url) => {
                documents::nodeinfo_document(&doc_url, &get(&doc_url, "application/json"), host)
            }
            Err(check) => check,
        },
    );

    // The inbox: unsigned, then the signed self-test.
    let unsigned = client.raw(
        &urls.inbox,
        &[(
            "Content-Type".to_string(),
            crate::content_types::ACTIVITY_JSON.to_string(),
        )],
        Some(b"{}"),
    );
    checks.push(inbox::reach(&urls.inbox, &unsigned, host));
    checks.push(match inputs.signer {
        Some(key) => {
            let fetched = self_test(&client, key, &urls);
            inbox::self_test(&urls.inbox, &fetched, &local_fp, host)
        }
        None => Check::skip(
            "inbox-signed",
            "no private key here (secrets/actor-key.pem or STOA_PRIVATE_KEY): the signed self-test is skipped",
        ),
    });

    // The companion.
    let status: Option<Result<Status, ClientError>> = inputs.admin.map(CompanionClient::status);
    let companion_base = config.publish.companion.trim_end_matches('/');
    let health_url = format!("{companion_base}/healthz");
    let health = if companion_base == base {
        public_health.clone()
    } else {
        get(&health_url, "text/plain")
    };
    checks.push(companion::health(
        &health_url,
        &health,
        status.as_ref(),
        host,
    ));
    checks.extend(companion::status(status.as_ref(), &local_fp, host));

    // Clocks: the host's Date and the companion's own clock.
    let now = Timestamp::now();
    let mut measured = Vec::new();
    if let Some(Ok(a)) = actor_answers.first().map(|(_, f)| f) {
        measured.push(("the host", inbox::clock("the host", a.header("date"), now)));
    }
    if let Some(Ok(s)) = &status
        && s.now_ms > 0
    {
        let offset = jiff::SignedDuration::from_millis(s.now_ms - now.as_millisecond());
        measured.push(("the companion", Ok(offset)));
    }
    checks.push(inbox::clocks(&measured, host));

    Report {
        base_url: base,
        host,
        checks,
    }
}

/// https, or plain http on loopback when the site allows private addresses.
fn transport(config: &Config, base: &str, host: HostKind) -> Check {
    if let Some(rest) = base.strip_prefix("https://") {
        let authority = rest.split('/').next().unwrap_or(rest);
        let (name, port) = match authority.rsplit_once(':') {
            Some((n, p)) if p.parse::<u16>().is_ok() => (n, p.parse().unwrap_or(443)),
            _ => (authority, 443),
        };
        let handshake = certificate_expiry(name, port, config.companion.allow_private_addresses);
        return super::tls::evaluate(name, &handshake, Timestamp::now(), host);
    }
    let host_part = base
        .strip_prefix("http://")
        .unwrap_or(base)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    let loopback = host_part == "localhost"
        || host_part
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback && config.companion.allow_private_addresses {
        Check::pass(
            "tls",
            "plain http on loopback (allow_private_addresses = true: for tests on one machine)",
        )
    } else {
        Check::fail(
            "tls",
            format!("{base} is not https"),
            &Problem::NotHttps,
            host,
        )
    }
}

/// Connects to `name:port` with TLS, verifying the certificate against the
/// usual web roots for `name`, and returns when it expires.
fn certificate_expiry(name: &str, port: u16, allow_private: bool) -> Result<Timestamp, String> {
    use std::net::ToSocketAddrs;
    use std::sync::Arc;
    use std::time::Duration;
    let addr = (name, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {name}: {e}"))?
        .find(|a| allow_private || crate::fetch::is_public(a.ip()))
        .ok_or_else(|| format!("{name} resolves to no public address"))?;
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let server_name = rustls::pki_types::ServerName::try_from(name.to_string())
        .map_err(|e| format!("{name}: {e}"))?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), server_name).map_err(|e| e.to_string())?;
    let mut sock = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = sock.set_write_timeout(Some(Duration::from_secs(10)));
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| e.to_string())?;
    }
    let cert = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("the server sent no certificate")?;
    super::tls::not_after(cert.as_ref()).ok_or_else(|| "the certificate cannot be read".to_string())
}

/// Checks the outbox and its first page, then the newest post's object;
/// returns that object's id and page URL.
fn outbox_and_post(
    get: &dyn Fn(&str, &str) -> super::Fetched,
    urls: &Urls,
    host: HostKind,
    checks: &mut Vec<Check>,
) -> Option<(String, Option<String>)> {
    let accept = documents::ACCEPTS[1];
    let outbox = match documents::document(
        "outbox",
        &urls.outbox,
        accept,
        &get(&urls.outbox, accept),
        host,
    ) {
        Ok(doc) => doc,
        Err(check) => {
            checks.push(check);
            checks.push(Check::skip("post-object", "the outbox could not be read"));
            return None;
        }
    };
    let Some(first) = outbox
        .get("first")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        checks.push(Check::pass(
            "outbox",
            format!("{} is served (no pages)", urls.outbox),
        ));
        checks.push(Check::skip("post-object", "the outbox has no page"));
        return None;
    };
    let page = match both_accepts(get, "outbox", &first, host) {
        Ok(doc) => doc,
        Err(check) => {
            checks.push(check);
            checks.push(Check::skip(
                "post-object",
                "the outbox page could not be read",
            ));
            return None;
        }
    };
    checks.push(Check::pass(
        "outbox",
        format!("{} and {first} are served", urls.outbox),
    ));
    let newest = page
        .get("orderedItems")
        .and_then(Value::as_array)
        .and_then(|items| items.first())
        .and_then(|item| item.get("object"))
        .and_then(|o| o.as_str().or_else(|| o.get("id").and_then(Value::as_str)))
        .map(str::to_string);
    let Some(object_id) = newest else {
        checks.push(Check::skip("post-object", "the blog has no post yet"));
        return None;
    };
    let object = match documents::document(
        "post-object",
        &object_id,
        accept,
        &get(&object_id, accept),
        host,
    ) {
        Ok(doc) => doc,
        Err(check) => {
            checks.push(check);
            return None;
        }
    };
    checks.push(Check::pass(
        "post-object",
        format!("{object_id} is served directly as ActivityPub to both Accept headers, its id is its URL"),
    ));
    let page_url = object.get("url").and_then(|u| {
        u.as_str()
            .map(str::to_string)
            .or_else(|| u.get("href").and_then(Value::as_str).map(str::to_string))
    });
    Some((object_id, page_url))
}

/// Fetches a document with each `Accept` servers send; the first failure.
fn both_accepts(
    get: &dyn Fn(&str, &str) -> super::Fetched,
    id: &'static str,
    url: &str,
    host: HostKind,
) -> Result<Value, Check> {
    let mut doc = None;
    for accept in documents::ACCEPTS {
        doc = Some(documents::document(
            id,
            url,
            accept,
            &get(url, accept),
            host,
        )?);
    }
    doc.ok_or_else(|| Check::skip(id, "nothing fetched"))
}

/// POSTs the self-test, signed with the blog's key, to the public inbox.
fn self_test(client: &Client, key: &SigningKey, urls: &Urls) -> super::Fetched {
    let body = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": SELF_TEST_TYPE,
        "actor": urls.actor,
        "id": format!("{}#self-test/{}", urls.actor, Timestamp::now().as_millisecond()),
    })
    .to_string();
    let mut headers = cavage::sign(
        key,
        &urls.key_id,
        "POST",
        &urls.inbox,
        Some(body.as_bytes()),
        Timestamp::now(),
    )
    .map_err(|e| crate::fetch::FetchError::BadUrl(format!("{}: {e}", urls.inbox)))?;
    headers.push((
        "Content-Type".to_string(),
        crate::content_types::ACTIVITY_JSON.to_string(),
    ));
    client.raw(&urls.inbox, &headers, Some(body.as_bytes()))
}
