//! draft-cavage HTTP Signatures, the scheme every fediverse server accepts:
//! signing outgoing requests and verifying incoming ones. Pure: no network,
//! no clock (callers pass `now`), no key fetching.
//!
//! Verification follows Mastodon's rules (`app/lib/signed_request.rb`):
//! `rsa-sha256` or `hs2019` (both RSA-SHA256 here), headers checked in the
//! order the sender listed them, `(request-target)` or `digest` required,
//! `digest` required on POST and `host` on GET, `Date` (or `(created)`)
//! within the window Mastodon allows, and the body digest recomputed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::signatures::keys::{PublicKey, SigningKey};
use crate::signatures::{CLOCK_SKEW, DEFAULT_EXPIRY, MAX_EXPIRY, RequestParts, SignatureError};

/// The parameters of a `Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    /// Key URL, usually `{actor}#main-key`.
    pub key_id: String,
    /// `rsa-sha256` or `hs2019`.
    pub algorithm: String,
    /// Covered headers, lowercased, in the sender's order.
    pub headers: Vec<String>,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// `created` (seconds since the epoch), for hs2019.
    pub created: Option<i64>,
    /// `expires` (seconds since the epoch).
    pub expires: Option<i64>,
}

/// Parses `keyId="…",algorithm="…",headers="…",signature="…"`.
pub fn parse_header(value: &str) -> Result<SignatureParams, SignatureError> {
    let mut key_id = None;
    let mut algorithm = None;
    let mut headers = None;
    let mut signature = None;
    let mut created = None;
    let mut expires = None;
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| SignatureError::Malformed("expected name=value".into()))?;
        let name = name.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (val, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').ok_or_else(|| {
                SignatureError::Malformed(format!("unterminated value of {name}"))
            })?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), &after[end..])
        };
        let number = |v: &str| {
            v.parse::<i64>()
                .map_err(|_| SignatureError::Malformed(format!("{name} is not a number")))
        };
        match name.as_str() {
            "keyid" => key_id = Some(val.to_string()),
            "algorithm" => algorithm = Some(val.to_ascii_lowercase()),
            "headers" => {
                headers = Some(
                    val.split_ascii_whitespace()
                        .map(|h| h.to_ascii_lowercase())
                        .collect::<Vec<_>>(),
                )
            }
            "signature" => {
                signature = Some(
                    B64.decode(val)
                        .map_err(|_| SignatureError::Malformed("signature is not base64".into()))?,
                )
            }
            "created" => created = Some(number(val)?),
            "expires" => expires = Some(number(val)?),
            _ => {}
        }
        rest = remaining.trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.is_empty() {
            return Err(SignatureError::Malformed(
                "expected a comma between parameters".into(),
            ));
        }
    }
    let algorithm = algorithm.unwrap_or_else(|| "hs2019".to_string());
    let headers = headers.unwrap_or_else(|| {
        vec![
            if algorithm == "hs2019" {
                "(created)"
            } else {
                "date"
            }
            .to_string(),
        ]
    });
    Ok(SignatureParams {
        key_id: key_id.ok_or_else(|| SignatureError::Malformed("no keyId".into()))?,
        algorithm,
        headers,
        signature: signature.ok_or_else(|| SignatureError::Malformed("no signature".into()))?,
        created,
        expires,
    })
}

/// The string that is signed: one `name: value` line per covered header.
pub fn signing_string(
    params_headers: &[String],
    req: &RequestParts<'_>,
    created: Option<i64>,
    expires: Option<i64>,
) -> Result<String, SignatureError> {
    let mut lines = Vec::with_capacity(params_headers.len());
    for h in params_headers {
        let value = match h.as_str() {
            "(request-target)" => {
                format!("{} {}", req.method.to_ascii_lowercase(), req.path_and_query)
            }
            "(created)" => created
                .ok_or_else(|| {
                    SignatureError::Malformed("(created) is signed but not given".into())
                })?
                .to_string(),
            "(expires)" => expires
                .ok_or_else(|| {
                    SignatureError::Malformed("(expires) is signed but not given".into())
                })?
                .to_string(),
            name => req
                .header(name)
                .ok_or_else(|| SignatureError::MissingHeader(name.to_string()))?
                .trim()
                .to_string(),
        };
        lines.push(format!("{h}: {value}"));
    }
    Ok(lines.join("\n"))
}

/// `SHA-256=<base64>` of a body, for the `Digest` header.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", B64.encode(Sha256::digest(body)))
}

/// Checks a `Digest` header (several comma-separated values allowed; only
/// SHA-256 counts) against the body.
pub fn verify_digest(header: &str, body: &[u8]) -> Result<(), SignatureError> {
    let expected = Sha256::digest(body);
    let mut saw_sha256 = false;
    for part in header.split(',') {
        let Some((alg, value)) = part.trim().split_once('=') else {
            continue;
        };
        if alg.trim().eq_ignore_ascii_case("sha-256") {
            saw_sha256 = true;
            let decoded = B64
                .decode(value.trim())
                .map_err(|_| SignatureError::DigestMismatch)?;
            if decoded.len() == 32 && decoded[..] == expected[..] {
                return Ok(());
            }
        }
    }
    if saw_sha256 {
        Err(SignatureError::DigestMismatch)
    } else {
        Err(SignatureError::Malformed(
            "Digest has no SHA-256 value".into(),
        ))
    }
}

/// Checks that the signature is recent, as Mastodon's `matches_time_window?` does.
pub fn check_time(
    params: &SignatureParams,
    req: &RequestParts<'_>,
    now: Timestamp,
) -> Result<(), SignatureError> {
    let created = match params.created {
        Some(c) if params.headers.iter().any(|h| h == "(created)") => Timestamp::from_second(c)
            .map_err(|_| SignatureError::Malformed("bad created".into()))?,
        _ => {
            let date = req
                .header("date")
                .ok_or(SignatureError::NotCovered("date"))?;
            parse_http_date(date)
                .ok_or_else(|| SignatureError::Malformed(format!("bad Date {date:?}")))?
        }
    };
    let lifetime = params
        .expires
        .and_then(|e| Timestamp::from_second(e).ok())
        .map(|e| e.duration_since(created))
        .unwrap_or(DEFAULT_EXPIRY)
        .min(MAX_EXPIRY);
    let expires = created
        .saturating_add(lifetime)
        .map_err(|_| SignatureError::Malformed("date out of range".into()))?;
    if created > now.saturating_add(CLOCK_SKEW).unwrap_or(now) {
        return Err(SignatureError::InFuture(created.to_string()));
    }
    if now > expires.saturating_add(CLOCK_SKEW).unwrap_or(expires) {
        return Err(SignatureError::Expired(created.to_string()));
    }
    Ok(())
}

/// Parses an HTTP date (`Tue, 15 Nov 1994 08:12:31 GMT`).
pub fn parse_http_date(s: &str) -> Option<Timestamp> {
    let s = s.trim().replace("GMT", "+0000");
    jiff::fmt::rfc2822::parse(&s).ok().map(|z| z.timestamp())
}

/// Formats an HTTP date.
pub fn http_date(t: Timestamp) -> String {
    t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Checks which headers a signature must cover (Mastodon's
/// `verify_signature_strength!`, plus `host` on every request like Misskey).
pub fn check_coverage(params: &SignatureParams, method: &str) -> Result<(), SignatureError> {
    let has = |h: &str| params.headers.iter().any(|x| x == h);
    if !(has("date") || has("(created)")) {
        return Err(SignatureError::NotCovered("date"));
    }
    if !(has("(request-target)") || has("digest")) {
        return Err(SignatureError::NotCovered("(request-target)"));
    }
    if method.eq_ignore_ascii_case("post") && !has("digest") {
        return Err(SignatureError::NotCovered("digest"));
    }
    if !has("host") {
        return Err(SignatureError::NotCovered("host"));
    }
    Ok(())
}

/// Every check that needs no key: algorithm, coverage, time window and body
/// digest. Run it before fetching a key so junk costs no fetch.
pub fn check_before_key(
    params: &SignatureParams,
    req: &RequestParts<'_>,
    body: &[u8],
    now: Timestamp,
) -> Result<(), SignatureError> {
    if params.algorithm != "rsa-sha256" && params.algorithm != "hs2019" {
        return Err(SignatureError::UnsupportedAlgorithm(
            params.algorithm.clone(),
        ));
    }
    check_coverage(params, req.method)?;
    check_time(params, req, now)?;
    if params.headers.iter().any(|h| h == "digest") || req.method.eq_ignore_ascii_case("post") {
        let digest = req
            .header("digest")
            .ok_or_else(|| SignatureError::MissingHeader("digest".into()))?;
        verify_digest(digest, body)?;
    }
    Ok(())
}

/// Verifies a request: header parse, coverage, time window, digest, RSA.
/// The caller finds `key` from `params.key_id` (and checks its owner).
pub fn verify(
    params: &SignatureParams,
    req: &RequestParts<'_>,
    body: &[u8],
    key: &PublicKey,
    now: Timestamp,
) -> Result<(), SignatureError> {
    check_before_key(params, req, body, now)?;
    let text = signing_string(&params.headers, req, params.created, params.expires)?;
    if key.verify(text.as_bytes(), &params.signature) {
        Ok(())
    } else {
        Err(SignatureError::BadSignature(params.key_id.clone()))
    }
}

/// Headers to add to an outgoing request: `Host`, `Date`, `Digest` (for a
/// body) and `Signature` over `(request-target) host date [digest]`.
pub fn sign(
    key: &SigningKey,
    key_id: &str,
    method: &str,
    url: &str,
    body: Option<&[u8]>,
    now: Timestamp,
) -> Result<Vec<(String, String)>, SignatureError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| SignatureError::Malformed(format!("not an http(s) URL: {url}")))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut headers = vec![
        ("Host".to_string(), host.to_string()),
        ("Date".to_string(), http_date(now)),
    ];
    let mut covered = vec![
        "(request-target)".to_string(),
        "host".to_string(),
        "date".to_string(),
    ];
    if let Some(b) = body {
        headers.push(("Digest".to_string(), digest_header(b)));
        covered.push("digest".to_string());
    }
    let req = RequestParts {
        method,
        path_and_query: path,
        headers: &headers,
    };
    let text = signing_string(&covered, &req, None, None)?;
    let signature = key.sign(text.as_bytes());
    headers.push((
        "Signature".to_string(),
        format!(
            "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{}\",signature=\"{}\"",
            covered.join(" "),
            B64.encode(signature)
        ),
    ));
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    use crate::signatures::keys::testing::pair;

    fn now() -> Timestamp {
        "2026-11-26T12:00:00Z".parse().expect("time")
    }

    fn signed(key: &SigningKey, body: &[u8]) -> Vec<(String, String)> {
        sign(
            key,
            "https://a.example/actor#main-key",
            "POST",
            "https://b.example/inbox",
            Some(body),
            now(),
        )
        .expect("sign")
    }

    fn check(
        headers: &[(String, String)],
        body: &[u8],
        key: &PublicKey,
        at: Timestamp,
    ) -> Result<(), SignatureError> {
        let sig = headers
            .iter()
            .find(|(n, _)| n == "Signature")
            .map(|(_, v)| v.clone())
            .ok_or(SignatureError::Missing)?;
        let params = parse_header(&sig)?;
        let req = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            headers,
        };
        verify(&params, &req, body, key, at)
    }

    #[test]
    fn round_trip_and_every_tampering_is_caught() {
        let (sk, pk) = pair();
        let body = br#"{"type":"Follow"}"#;
        let h = signed(&sk, body);
        assert_eq!(check(&h, body, &pk, now()), Ok(()));
        // Tampered body.
        assert_eq!(
            check(&h, b"{}", &pk, now()),
            Err(SignatureError::DigestMismatch)
        );
        // Digest recomputed over a tampered body: the signature no longer matches.
        let mut h2 = h.clone();
        for (n, v) in h2.iter_mut() {
            if n == "Digest" {
                *v = digest_header(b"{}");
            }
        }
        assert!(matches!(
            check(&h2, b"{}", &pk, now()),
            Err(SignatureError::BadSignature(_))
        ));
        // Wrong key.
        let (_, other) = pair();
        assert!(matches!(
            check(&h, body, &other, now()),
            Err(SignatureError::BadSignature(_))
        ));
        // Two hours old, and an hour and a half ahead.
        assert!(matches!(
            check(&h, body, &pk, now() + SignedDuration::from_hours(2)),
            Err(SignatureError::Expired(_))
        ));
        assert!(matches!(
            check(&h, body, &pk, now() - SignedDuration::from_mins(90)),
            Err(SignatureError::InFuture(_))
        ));
        // Within Mastodon's window: 1 h after expiry is still fine.
        assert_eq!(
            check(&h, body, &pk, now() + SignedDuration::from_mins(60)),
            Ok(())
        );
    }

    #[test]
    fn headers_are_verified_in_the_senders_order() {
        let (sk, pk) = pair();
        let body = b"{}";
        let mut h = vec![
            ("Host".to_string(), "b.example".to_string()),
            ("Date".to_string(), http_date(now())),
            ("Digest".to_string(), digest_header(body)),
            (
                "Content-Type".to_string(),
                "application/activity+json".to_string(),
            ),
        ];
        // Mastodon's order: (request-target) last.
        let order: Vec<String> = ["host", "date", "content-type", "digest", "(request-target)"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let req = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            headers: &h,
        };
        let text = signing_string(&order, &req, None, None).expect("string");
        let sig = B64.encode(sk.sign(text.as_bytes()));
        h.push((
            "Signature".into(),
            format!(
                "keyId=\"k\",algorithm=\"hs2019\",headers=\"{}\",signature=\"{sig}\"",
                order.join(" ")
            ),
        ));
        assert_eq!(check(&h, body, &pk, now()), Ok(()));
    }

    #[test]
    fn weak_or_broken_headers_are_refused() {
        let (sk, pk) = pair();
        let body = b"{}";
        let h = signed(&sk, body);
        let sig = h
            .iter()
            .find(|(n, _)| n == "Signature")
            .map(|(_, v)| v.clone())
            .expect("sig");
        let without_digest = sig.replace(" digest\"", "\"");
        let p = parse_header(&without_digest).expect("parse");
        assert_eq!(
            check_coverage(&p, "POST"),
            Err(SignatureError::NotCovered("digest"))
        );
        let rsa = sig.replace("rsa-sha256", "ed25519");
        let p = parse_header(&rsa).expect("parse");
        let req = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            headers: &h,
        };
        assert!(matches!(
            verify(&p, &req, body, &pk, now()),
            Err(SignatureError::UnsupportedAlgorithm(_))
        ));
        for bad in [
            "",
            "keyId",
            "keyId=\"a",
            "keyId=\"a\" signature=\"b\"",
            "keyId=\"a\",signature=\"%%%\"",
        ] {
            assert!(parse_header(bad).is_err(), "{bad:?} should not parse");
        }
        // A signed header missing from the request.
        let mut missing = h.clone();
        missing.retain(|(n, _)| n != "Host");
        assert_eq!(
            check(&missing, body, &pk, now()),
            Err(SignatureError::MissingHeader("host".into()))
        );
    }

    #[test]
    fn http_dates_round_trip() {
        let d = http_date(now());
        assert_eq!(d, "Thu, 26 Nov 2026 12:00:00 GMT");
        assert_eq!(parse_http_date(&d), Some(now()));
    }
}
