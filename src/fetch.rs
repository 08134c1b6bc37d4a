//! The companion's one HTTP client: signed GETs of actors and keys, signed
//! POSTs of activities. Blocking (ureq), called from worker threads.
//!
//! Every request is capped in time and size, never follows redirects (a peer
//! must serve a document at its id, as Mastodon and Misskey require), and
//! goes through an SSRF guard: names that resolve to loopback, private,
//! link-local or otherwise non-public addresses are refused unless the site
//! sets `allow_private_addresses` (tests on one machine). The guard checks
//! the addresses the connection will actually use, so DNS rebinding between
//! a check and the connect is not possible.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::content_types::ACTIVITY_JSON;
use crate::signatures::cavage;
use crate::signatures::keys::SigningKey;

/// `stoa/VERSION (+BASE_URL)`: who is asking, as servers log it.
pub fn user_agent(config: &crate::config::Config) -> String {
    format!("stoa/{} (+{})", env!("CARGO_PKG_VERSION"), config.base_url)
}

/// Largest document read from a peer.
pub const MAX_DOCUMENT_BYTES: u64 = 1024 * 1024;
/// Longest a whole request may take (Mastodon reads for 10 s).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Longest an image (an avatar) may take to arrive.
pub const IMAGE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a fetch or a delivery did not give a usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL is not an http(s) URL.
    #[error("not an http(s) URL: {0}")]
    BadUrl(String),
    /// The host resolves only to addresses the SSRF guard refuses.
    #[error("refused to contact {0}: it is a private, loopback or link-local address")]
    Private(String),
    /// The resource answered 410 Gone (a deleted account).
    #[error("{0} is gone (410)")]
    Gone(String),
    /// Any other non-2xx status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// Connection, TLS, timeout or protocol failure.
    #[error("could not reach {url}: {reason}")]
    Network {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The document is larger than [`MAX_DOCUMENT_BYTES`].
    #[error("{0} sent more than 1 MiB")]
    TooLarge(String),
    /// The document is not JSON.
    #[error("{0} did not answer with JSON")]
    NotJson(String),
    /// An image was asked for and something else came (or one too large).
    #[error("{url} is not a usable image: {reason}")]
    NotImage {
        /// The URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The document's `id` is not the URL it was fetched from.
    #[error("the document at {url} says its id is {id:?}")]
    IdMismatch {
        /// The URL.
        url: String,
        /// Its `id`.
        id: String,
    },
}

/// The blog's signing identity for outgoing requests.
pub struct Signer {
    /// The private key.
    pub key: SigningKey,
    /// `{actor}#main-key`.
    pub key_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.key_id)
    }
}

/// The HTTP client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    signer: Option<Arc<Signer>>,
    allow_private: bool,
}

impl Client {
    /// A client that signs as `signer`; `allow_private` turns the SSRF guard off.
    pub fn new(signer: Arc<Signer>, allow_private: bool, user_agent: &str) -> Client {
        Client::build(Some(signer), allow_private, user_agent)
    }

    /// The unsigned client a site's commands use (WebFinger, quoted posts,
    /// the post `stoa new` answers): the site's user agent and SSRF setting.
    pub fn for_site(config: &crate::config::Config) -> Client {
        Client::unsigned(
            config.companion.allow_private_addresses,
            &user_agent(config),
        )
    }

    /// A client without a key, for unsigned lookups (WebFinger at publish).
    pub fn unsigned(allow_private: bool, user_agent: &str) -> Client {
        Client::build(None, allow_private, user_agent)
    }

    fn build(signer: Option<Arc<Signer>>, allow_private: bool, user_agent: &str) -> Client {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .timeout_connect(Some(Duration::from_secs(5)))
            .max_redirects(0)
            .max_redirects_will_error(false)
            .http_status_as_error(false)
            .user_agent(user_agent)
            .max_idle_connections_per_host(4)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            DefaultConnector::default(),
            GuardedResolver { allow_private },
        );
        Client {
            agent,
            signer,
            allow_private,
        }
    }

    /// Fetches an ActivityPub document with a signed GET (secure-mode
    /// Mastodon and GoToSocial require one) and checks that its `id` is the
    /// URL asked for (the fragment aside).
    pub fn get_json(&self, url: &str) -> Result<Value, FetchError> {
        let url = url.split('#').next().unwrap_or(url);
        let doc = self.get_document(url)?;
        let id = doc.get("id").and_then(Value::as_str).unwrap_or("");
        if id != url {
            return Err(FetchError::IdMismatch {
                url: url.to_string(),
                id: id.to_string(),
            });
        }
        Ok(doc)
    }

    /// Fetches an ActivityPub document without checking its `id`: for key
    /// documents, which GoToSocial serves as a minimal actor whose `id` is
    /// the actor's (the caller then fetches that id with [`Client::get_json`]).
    pub fn get_document(&self, url: &str) -> Result<Value, FetchError> {
        let url = url.split('#').next().unwrap_or(url);
        self.get(
            url,
            "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
        )
    }

    /// Finds an account by its `user@host` handle with WebFinger: its actor
    /// id and profile page. Over https (plain http only for loopback
    /// addresses when the SSRF guard is off, as in tests).
    pub fn webfinger(
        &self,
        handle: &str,
    ) -> Result<crate::content::markdown::Mentioned, FetchError> {
        let handle = handle.trim_start_matches('@');
        let host = handle
            .split_once('@')
            .map(|(_, h)| h)
            .filter(|h| !h.is_empty() && !h.contains(['/', '?', '#']))
            .ok_or_else(|| FetchError::BadUrl(handle.to_string()))?;
        let bare = host.split(':').next().unwrap_or(host);
        let local = bare == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| !is_public(ip));
        let scheme = if self.allow_private && local {
            "http"
        } else {
            "https"
        };
        let url = format!("{scheme}://{host}/.well-known/webfinger?resource=acct:{handle}");
        let doc = self.get(&url, "application/jrd+json, application/json")?;
        let links = doc
            .get("links")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let find = |rel: &str, kind: Option<&str>| {
            links.iter().find_map(|l| {
                let rel_ok = l.get("rel").and_then(Value::as_str) == Some(rel);
                let kind_ok = kind.is_none_or(|k| {
                    l.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.starts_with(k) || t.contains("activitystreams"))
                });
                (rel_ok && kind_ok)
                    .then(|| l.get("href").and_then(Value::as_str).map(str::to_string))
                    .flatten()
            })
        };
        let actor = find("self", Some("application/activity+json"))
            .or_else(|| find("self", Some("application/ld+json")))
            .ok_or_else(|| FetchError::NotJson(url.clone()))?;
        let page =
            find("http://webfinger.net/rel/profile-page", None).unwrap_or_else(|| actor.clone());
        Ok(crate::content::markdown::Mentioned { actor, url: page })
    }

    fn get(&self, url: &str, accept: &str) -> Result<Value, FetchError> {
        let mut req = self.agent.get(url).header("Accept", accept);
        if let Some(signer) = &self.signer {
            let headers = cavage::sign(
                &signer.key,
                &signer.key_id,
                "GET",
                url,
                None,
                Timestamp::now(),
            )
            .map_err(|_| FetchError::BadUrl(url.to_string()))?;
            for (name, value) in &headers {
                req = req.header(name.as_str(), value.as_str());
            }
        }
        let mut resp = req.call().map_err(|e| network(url, e))?;
        let status = resp.status().as_u16();
        if status == 410 {
            return Err(FetchError::Gone(url.to_string()));
        }
        if !(200..300).contains(&status) {
            return Err(FetchError::Status {
                url: url.to_string(),
                status,
            });
        }
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_DOCUMENT_BYTES)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge(url.to_string()),
                other => network(url, other),
            })?;
        serde_json::from_slice(&bytes).map_err(|_| FetchError::NotJson(url.to_string()))
    }

    /// Fetches an image (an avatar): at most `max_bytes`, within
    /// [`IMAGE_TIMEOUT`], only when the answer says it is a PNG, JPEG, GIF
    /// or WebP. Unsigned: an avatar is public, and a signed request would
    /// tell the avatar's host who is asking. The SSRF guard applies.
    pub fn get_image(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(FetchError::BadUrl(url.to_string()));
        }
        let not_image = |reason: String| FetchError::NotImage {
            url: url.to_string(),
            reason,
        };
        let mut resp = self
            .agent
            .get(url)
            .header("Accept", "image/png, image/jpeg, image/gif, image/webp")
            .config()
            .timeout_global(Some(IMAGE_TIMEOUT))
            .build()
            .call()
            .map_err(|e| network(url, e))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(FetchError::Status {
                url: url.to_string(),
                status,
            });
        }
        let kind = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !matches!(
            kind.as_str(),
            "image/png" | "image/jpeg" | "image/gif" | "image/webp"
        ) {
            return Err(not_image(format!("its type is {kind:?}")));
        }
        resp.body_mut()
            .with_config()
            .limit(max_bytes)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => {
                    not_image(format!("it is larger than {max_bytes} bytes"))
                }
                other => network(url, other),
            })
    }

    /// POSTs an activity to an inbox, signed at send time (signatures expire
    /// within the hour). Returns the HTTP status the inbox answered.
    pub fn post_activity(&self, inbox: &str, body: &[u8]) -> Result<u16, FetchError> {
        let signer = self
            .signer
            .as_ref()
            .ok_or_else(|| FetchError::BadUrl(format!("{inbox} (no key to sign with)")))?;
        let headers = cavage::sign(
            &signer.key,
            &signer.key_id,
            "POST",
            inbox,
            Some(body),
            Timestamp::now(),
        )
        .map_err(|_| FetchError::BadUrl(inbox.to_string()))?;
        let mut req = self.agent.post(inbox).header("Content-Type", ACTIVITY_JSON);
        for (name, value) in &headers {
            req = req.header(name.as_str(), value.as_str());
        }
        let mut resp = req.send(body).map_err(|e| network(inbox, e))?;
        // Read (a little of) the answer so the connection can be reused.
        let _ = resp.body_mut().with_config().limit(64 * 1024).read_to_vec();
        Ok(resp.status().as_u16())
    }
}

/// An HTTP answer as it came, for `stoa doctor`, which judges status,
/// headers and body itself.
#[derive(Debug, Clone, Default)]
pub struct RawAnswer {
    /// The status.
    pub status: u16,
    /// Every header, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, at most [`MAX_DOCUMENT_BYTES`].
    pub body: Vec<u8>,
}

impl RawAnswer {
    /// The first value of a header (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Client {
    /// Sends one request exactly as given (`body` makes it a POST, else a
    /// GET) and returns the answer whatever its status: no redirect is
    /// followed, the same guard, time and size limits apply.
    pub fn raw(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<RawAnswer, FetchError> {
        self.raw_limited(url, headers, body, MAX_DOCUMENT_BYTES)
    }

    /// [`Client::raw`] for a body of up to `limit` bytes (a whole blog's
    /// feed, fetched once by `stoa import feed`).
    pub fn raw_limited(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
        limit: u64,
    ) -> Result<RawAnswer, FetchError> {
        let answer = match body {
            Some(body) => {
                let mut req = self.agent.post(url);
                for (name, value) in headers {
                    req = req.header(name.as_str(), value.as_str());
                }
                req.send(body)
            }
            None => {
                let mut req = self.agent.get(url);
                for (name, value) in headers {
                    req = req.header(name.as_str(), value.as_str());
                }
                req.call()
            }
        };
        let mut resp = answer.map_err(|e| network(url, e))?;
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(n, v)| {
                Some((
                    n.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge(url.to_string()),
                other => network(url, other),
            })?;
        Ok(RawAnswer {
            status,
            headers,
            body,
        })
    }
}

fn network(url: &str, e: ureq::Error) -> FetchError {
    if let ureq::Error::Other(inner) = &e
        && let Some(p) = inner.downcast_ref::<PrivateAddress>()
    {
        return FetchError::Private(p.0.clone());
    }
    FetchError::Network {
        url: url.to_string(),
        reason: e.to_string(),
    }
}

/// Raised by the resolver when every address of a host is refused.
#[derive(Debug)]
struct PrivateAddress(String);

impl std::fmt::Display for PrivateAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} resolves only to non-public addresses", self.0)
    }
}

impl std::error::Error for PrivateAddress {}

#[derive(Debug)]
struct GuardedResolver {
    allow_private: bool,
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let all = DefaultResolver::default().resolve(uri, config, timeout)?;
        if self.allow_private {
            return Ok(all);
        }
        let mut kept = self.empty();
        for addr in all.iter().filter(|a| is_public(a.ip())) {
            kept.push(*addr);
        }
        if kept.is_empty() {
            let host = uri.host().unwrap_or("").to_string();
            return Err(ureq::Error::Other(Box::new(PrivateAddress(host))));
        }
        Ok(kept)
    }
}

/// Whether an address is on the public internet (not loopback, private,
/// link-local, shared, documentation, benchmarking, multicast or reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::from(1u128)
                || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible, deprecated
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avatars_on_private_addresses_are_refused_with_the_guard_on() {
        let client = Client::unsigned(false, "stoa-test");
        for url in [
            "http://127.0.0.1:9/avatar.png",
            "http://10.0.0.1/avatar.png",
            "http://[::1]:9/avatar.png",
            "http://localhost:9/avatar.png",
        ] {
            assert!(
                matches!(client.get_image(url, 1024), Err(FetchError::Private(_))),
                "{url}"
            );
        }
        assert!(matches!(
            client.get_image("file:///etc/passwd", 1024),
            Err(FetchError::BadUrl(_))
        ));
    }

    #[test]
    fn the_guard_knows_which_addresses_are_private() {
        for private in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            assert!(
                !is_public(private.parse().unwrap()),
                "{private} must be refused"
            );
        }
        for public in [
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(
                is_public(public.parse().unwrap()),
                "{public} must be allowed"
            );
        }
    }
}
