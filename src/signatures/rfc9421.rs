//! RFC 9421 HTTP Message Signatures, the successor of draft-cavage that
//! Mastodon (4.4 on) and Fedify accept: verifying incoming requests and
//! signing outgoing ones (used by tests). Pure: no network, no clock
//! (callers pass `now`), no key fetching.
//!
//! Verification follows Mastodon's `HttpMessageSignature`
//! (`app/lib/signed_request.rb`): exactly one signature, `keyid` and
//! `created` required, `@method` and `@target-uri` covered, `content-digest`
//! covered on POST and checked against the body (RFC 9530), `created` /
//! `expires` within the window Mastodon allows, RSASSA-PKCS1-v1_5 SHA-256
//! (`alg`, when given, must be `rsa-v1_5-sha256`).
//!
//! `Signature-Input`, `Signature` and `Content-Digest` are RFC 8941
//! structured-field dictionaries, read by `structured_field.rs`. The tests
//! are in `rfc9421/tests.rs`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::Timestamp;
use sha2::{Digest, Sha256, Sha512};

use crate::signatures::cavage::http_date;
use crate::signatures::keys::{PublicKey, SigningKey};
pub use crate::signatures::structured_field::MAX_HEADER_LEN;
use crate::signatures::structured_field::{
    Bare, Item, Member, is_tchar, malformed, parse_dictionary, serialize_inner_list, sf_string,
};
use crate::signatures::{CLOCK_SKEW, DEFAULT_EXPIRY, MAX_EXPIRY, RequestParts, SignatureError};

/// The one algorithm accepted in `alg` (RSASSA-PKCS1-v1_5 with SHA-256, the
/// only key type fediverse actors publish widely).
pub const ALGORITHM: &str = "rsa-v1_5-sha256";

/// The label `sign` gives its signature (Fedify's default too).
const LABEL: &str = "sig1";

/// Derived components this verifier can compute (RFC 9421 §2.2) for a
/// request. `@query-param` (needs a parameter) and `@status` (responses
/// only) are refused.
const DERIVED: [&str; 7] = [
    "@method",
    "@target-uri",
    "@authority",
    "@scheme",
    "@request-target",
    "@path",
    "@query",
];

/// One RFC 9421 signature read from `Signature-Input` and `Signature`: what a
/// caller needs to fetch the key (`key_id`) and then to `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc9421Signature {
    /// The signature's label (`sig1` in `sig1=(...)`).
    pub label: String,
    /// `keyid`: the key URL, usually `{actor}#main-key`.
    pub key_id: String,
    /// `alg`, when the signer named one.
    pub algorithm: Option<String>,
    /// Covered component names (`@method`, `content-digest`, …) in the
    /// signer's order.
    pub components: Vec<String>,
    /// `created`, seconds since the epoch.
    pub created: i64,
    /// `expires`, seconds since the epoch.
    pub expires: Option<i64>,
    /// `nonce`, if any (not checked: Mastodon keeps no nonce store either).
    pub nonce: Option<String>,
    /// `tag`, if any.
    pub tag: Option<String>,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// `@signature-params` value re-serialized canonically (RFC 8941 §4.1).
    params_canonical: String,
    /// `@signature-params` value exactly as the sender wrote it.
    params_raw: String,
}

// ---------------------------------------------------------------------------
// Reading the two headers.

/// Whether a request carries an RFC 9421 signature (a `Signature-Input`
/// header), which is how Mastodon picks this scheme over draft-cavage.
pub fn is_rfc9421(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("signature-input"))
}

/// Every value of a header, trimmed and joined with `", "` (RFC 9421 §2.1,
/// also how HTTP combines repeated fields); `None` if absent.
fn combined_header(headers: &[(String, String)], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim_matches([' ', '\t']))
        .collect();
    if values.is_empty() {
        None
    } else {
        Some(values.join(", "))
    }
}

/// Reads the signature of a request from its `Signature-Input` and
/// `Signature` headers (all their lines), so the caller can fetch the key
/// named by `key_id` before calling `verify`.
pub fn parse_headers(headers: &[(String, String)]) -> Result<Rfc9421Signature, SignatureError> {
    let input = combined_header(headers, "signature-input").ok_or(SignatureError::Missing)?;
    let signature = combined_header(headers, "signature").ok_or(SignatureError::Missing)?;
    parse(&input, &signature)
}

/// Parses `Signature-Input` and `Signature` values holding exactly one
/// signature, with the same label in both. Requires `keyid` and `created`
/// (as Mastodon does) and covered components this module can compute.
pub fn parse(signature_input: &str, signature: &str) -> Result<Rfc9421Signature, SignatureError> {
    let mut sig = parse_input(signature_input)?;
    let entries = parse_dictionary(signature, "Signature")?;
    let entry = match entries.as_slice() {
        [] => return Err(SignatureError::Missing),
        [one] => one,
        _ => {
            return Err(SignatureError::Malformed(
                "Signature holds several signatures; send exactly one".into(),
            ));
        }
    };
    if entry.key != sig.label {
        return Err(SignatureError::Malformed(format!(
            "Signature-Input names signature {:?} but Signature names {:?}",
            sig.label, entry.key
        )));
    }
    match &entry.member {
        Member::Item(Item {
            value: Bare::Bytes(b),
            ..
        }) if !b.is_empty() => sig.signature = b.clone(),
        _ => {
            return Err(SignatureError::Malformed(
                "Signature must be a byte sequence (label=:base64:)".into(),
            ));
        }
    }
    Ok(sig)
}

/// Parses a `Signature-Input` value (one signature); `signature` is left
/// empty.
fn parse_input(signature_input: &str) -> Result<Rfc9421Signature, SignatureError> {
    let what = "Signature-Input";
    let entries = parse_dictionary(signature_input, what)?;
    let entry = match entries.as_slice() {
        [] => return Err(malformed(what, "no signature is described")),
        [one] => one,
        _ => {
            return Err(malformed(
                what,
                "several signatures are described; send exactly one",
            ));
        }
    };
    let Member::InnerList(items, params) = &entry.member else {
        return Err(malformed(
            what,
            "expected a list of covered components, like sig1=(\"@method\" ...)",
        ));
    };
    let mut components: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let Bare::String(name) = &item.value else {
            return Err(malformed(what, "a covered component is not a quoted name"));
        };
        if !item.params.is_empty() {
            return Err(malformed(
                what,
                "component parameters (;sf, ;key, ;bs, ;req, ;tr, ;name) are not supported",
            ));
        }
        check_component_name(name)?;
        if components.contains(name) {
            return Err(malformed(what, "a component is covered twice"));
        }
        components.push(name.clone());
    }
    let mut key_id = None;
    let mut algorithm = None;
    let mut created = None;
    let mut expires = None;
    let mut nonce = None;
    let mut tag = None;
    for (k, v) in params {
        let bad = |name: &str, kind: &str| malformed(what, &format!("{name} must be {kind}"));
        match (k.as_str(), v) {
            ("keyid", Bare::String(s)) => key_id = Some(s.clone()),
            ("keyid", _) => return Err(bad("keyid", "a quoted string")),
            ("alg", Bare::String(s)) => algorithm = Some(s.clone()),
            ("alg", _) => return Err(bad("alg", "a quoted string")),
            ("created", Bare::Integer(i)) => created = Some(*i),
            ("created", _) => return Err(bad("created", "an integer")),
            ("expires", Bare::Integer(i)) => expires = Some(*i),
            ("expires", _) => return Err(bad("expires", "an integer")),
            ("nonce", Bare::String(s)) => nonce = Some(s.clone()),
            ("nonce", _) => return Err(bad("nonce", "a quoted string")),
            ("tag", Bare::String(s)) => tag = Some(s.clone()),
            ("tag", _) => return Err(bad("tag", "a quoted string")),
            // Other parameters are signed (they are in @signature-params)
            // but carry nothing this verifier uses.
            _ => {}
        }
    }
    let key_id = key_id
        .filter(|k| !k.is_empty())
        .ok_or_else(|| malformed(what, "the keyid parameter is required"))?;
    let created = created.ok_or_else(|| malformed(what, "the created parameter is required"))?;
    Ok(Rfc9421Signature {
        label: entry.key.clone(),
        key_id,
        algorithm,
        components,
        created,
        expires,
        nonce,
        tag,
        signature: Vec::new(),
        params_canonical: serialize_inner_list(items, params),
        params_raw: entry.raw.clone(),
    })
}

/// A covered component must be a derived component this module computes or
/// a lowercase field name.
fn check_component_name(name: &str) -> Result<(), SignatureError> {
    let what = "Signature-Input";
    if name.starts_with('@') {
        if DERIVED.contains(&name) {
            return Ok(());
        }
        return Err(SignatureError::Malformed(format!(
            "{what}: unsupported derived component {name:?} (supported: {})",
            DERIVED.join(", ")
        )));
    }
    if name.is_empty() || !name.bytes().all(|c| is_tchar(c) && !c.is_ascii_uppercase()) {
        return Err(malformed(
            what,
            "a covered header name is not a lowercase field name",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The signature base (RFC 9421 §2.5).

/// Scheme, authority (lowercase, default port dropped) and the rest of an
/// absolute http(s) URL.
fn split_url(url: &str) -> Option<(String, String, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end)?.to_ascii_lowercase();
    let tail = rest.get(end..)?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority
        .strip_suffix(default_port)
        .map(str::to_string)
        .unwrap_or(authority);
    Some((scheme, authority, tail))
}

/// The value of one covered component for this request.
fn component_value(
    name: &str,
    req: &RequestParts<'_>,
    target_uri: &str,
) -> Result<String, SignatureError> {
    let url_part = |pick: fn((String, String, &str)) -> String| {
        split_url(target_uri).map(pick).ok_or_else(|| {
            SignatureError::Malformed(format!("cannot derive {name} from the request URL"))
        })
    };
    let (path, query) = match req.path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (req.path_and_query, None),
    };
    let value = match name {
        "@method" => req.method.to_string(),
        "@target-uri" => target_uri.to_string(),
        "@authority" => url_part(|(_, a, _)| a)?,
        "@scheme" => url_part(|(s, _, _)| s)?,
        "@request-target" => req.path_and_query.to_string(),
        "@path" => {
            if path.is_empty() {
                "/".to_string()
            } else {
                path.to_string()
            }
        }
        "@query" => format!("?{}", query.unwrap_or("")),
        _ if name.starts_with('@') => {
            return Err(SignatureError::Malformed(format!(
                "unsupported derived component {name:?}"
            )));
        }
        _ => combined_header(req.headers, name)
            .ok_or_else(|| SignatureError::MissingHeader(name.to_string()))?,
    };
    if value.contains(['\r', '\n']) {
        return Err(SignatureError::Malformed(format!(
            "the value of {name} contains a line break"
        )));
    }
    Ok(value)
}

/// The component lines of the base (without `@signature-params`), each
/// ending in `\n`.
fn component_lines(
    sig: &Rfc9421Signature,
    req: &RequestParts<'_>,
    target_uri: &str,
) -> Result<String, SignatureError> {
    let mut out = String::new();
    for name in &sig.components {
        let value = component_value(name, req, target_uri)?;
        // Names were checked to be `@`-names or tchars: always serializable.
        out.push_str(&sf_string(name).unwrap_or_default());
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
    Ok(out)
}

/// The signature base RFC 9421 §2.5 builds for this signature and request:
/// one `"name": value` line per covered component, then
/// `"@signature-params": ...` (re-serialized canonically). `target_uri` is
/// the full URL the request was sent to (the server's public base URL plus
/// the path and query it received).
pub fn signature_base(
    sig: &Rfc9421Signature,
    req: &RequestParts<'_>,
    target_uri: &str,
) -> Result<String, SignatureError> {
    let mut base = component_lines(sig, req, target_uri)?;
    base.push_str("\"@signature-params\": ");
    base.push_str(&sig.params_canonical);
    Ok(base)
}

// ---------------------------------------------------------------------------
// Policy checks.

/// Checks that the signature is recent, as Mastodon's `matches_time_window?`
/// does: `created` at most an hour ahead, and now at most an hour past the
/// expiry (`expires`, else `created` + 5 min, never beyond `created` + 12 h).
pub fn check_time(sig: &Rfc9421Signature, now: Timestamp) -> Result<(), SignatureError> {
    let created = Timestamp::from_second(sig.created)
        .map_err(|_| SignatureError::Malformed("created is out of range".into()))?;
    let stated = match sig.expires {
        Some(e) => Timestamp::from_second(e)
            .map_err(|_| SignatureError::Malformed("expires is out of range".into()))?,
        None => created.saturating_add(DEFAULT_EXPIRY).unwrap_or(created),
    };
    let expires = stated.min(created.saturating_add(MAX_EXPIRY).unwrap_or(created));
    if created > now.saturating_add(CLOCK_SKEW).unwrap_or(now) {
        return Err(SignatureError::InFuture(created.to_string()));
    }
    if now > expires.saturating_add(CLOCK_SKEW).unwrap_or(expires) {
        return Err(SignatureError::Expired(created.to_string()));
    }
    Ok(())
}

/// Checks which components a signature must cover (Mastodon's
/// `verify_signature_strength!`): `@method` and `@target-uri` always,
/// `content-digest` on POST.
pub fn check_coverage(sig: &Rfc9421Signature, method: &str) -> Result<(), SignatureError> {
    let has = |c: &str| sig.components.iter().any(|x| x == c);
    if !has("@method") {
        return Err(SignatureError::NotCovered("@method"));
    }
    if !has("@target-uri") {
        return Err(SignatureError::NotCovered("@target-uri"));
    }
    if method.eq_ignore_ascii_case("post") && !has("content-digest") {
        return Err(SignatureError::NotCovered("content-digest"));
    }
    Ok(())
}

/// `sha-256=:<base64>:` of a body, for the `Content-Digest` header
/// (RFC 9530).
pub fn content_digest_header(body: &[u8]) -> String {
    format!("sha-256=:{}:", B64.encode(Sha256::digest(body)))
}

/// Checks a `Content-Digest` header against the body: its `sha-256` value
/// if present, else its `sha-512` value; other algorithms are ignored.
pub fn verify_content_digest(header: &str, body: &[u8]) -> Result<(), SignatureError> {
    let entries = parse_dictionary(header, "Content-Digest")?;
    let find = |alg: &str| {
        entries
            .iter()
            .find(|e| e.key == alg)
            .map(|e| match &e.member {
                Member::Item(Item {
                    value: Bare::Bytes(b),
                    ..
                }) => Ok(b.as_slice()),
                _ => Err(SignatureError::Malformed(format!(
                    "Content-Digest: {alg} must be a byte sequence ({alg}=:base64:)"
                ))),
            })
    };
    let matches = if let Some(given) = find("sha-256") {
        given? == Sha256::digest(body).as_slice()
    } else if let Some(given) = find("sha-512") {
        given? == Sha512::digest(body).as_slice()
    } else {
        return Err(SignatureError::Malformed(
            "Content-Digest has no sha-256 or sha-512 value".into(),
        ));
    };
    if matches {
        Ok(())
    } else {
        Err(SignatureError::DigestMismatch)
    }
}

/// Every check that needs no key: algorithm, time window, coverage and body
/// digest, in Mastodon's order. Run it before fetching a key so junk costs
/// no fetch (`verify` runs it again).
pub fn check_before_key(
    sig: &Rfc9421Signature,
    req: &RequestParts<'_>,
    body: &[u8],
    now: Timestamp,
) -> Result<(), SignatureError> {
    if let Some(alg) = &sig.algorithm
        && alg != ALGORITHM
    {
        return Err(SignatureError::UnsupportedAlgorithm(alg.clone()));
    }
    check_time(sig, now)?;
    check_coverage(sig, req.method)?;
    if sig.components.iter().any(|c| c == "content-digest") {
        let header = combined_header(req.headers, "content-digest")
            .ok_or_else(|| SignatureError::MissingHeader("content-digest".into()))?;
        verify_content_digest(&header, body)?;
    }
    Ok(())
}

/// Verifies a request: `check_before_key`, then the RSA signature over the
/// signature base. The caller finds `key` from `sig.key_id` (and checks its
/// owner), and passes `target_uri`, the full URL the request was sent to
/// (its public base URL plus `req.path_and_query`), for `@target-uri`.
pub fn verify(
    sig: &Rfc9421Signature,
    req: &RequestParts<'_>,
    target_uri: &str,
    body: &[u8],
    key: &PublicKey,
    now: Timestamp,
) -> Result<(), SignatureError> {
    check_before_key(sig, req, body, now)?;
    let lines = component_lines(sig, req, target_uri)?;
    // The base ends with the signature parameters as the signer serialized
    // them. Signers emit the canonical form (RFC 8941 §4.1), and verifiers
    // (Fedify, Linzer in Mastodon) re-serialize, so that comes first; the
    // text exactly as received is the fallback for a signer that wrote, and
    // signed, a non-canonical but equivalent form (say `; created=1`).
    let mut candidates = vec![sig.params_canonical.as_str()];
    if sig.params_raw != sig.params_canonical {
        candidates.push(sig.params_raw.as_str());
    }
    for params in candidates {
        let base = format!("{lines}\"@signature-params\": {params}");
        if key.verify(base.as_bytes(), &sig.signature) {
            return Ok(());
        }
    }
    Err(SignatureError::BadSignature(sig.key_id.clone()))
}

/// Headers to add to an outgoing request: `Date`, `Content-Digest` (for a
/// body), `Signature-Input` and `Signature`, covering `@method`,
/// `@target-uri`, `@authority` and `content-digest`, with `created`, `keyid`
/// and `alg="rsa-v1_5-sha256"`. The HTTP client adds `Host`.
pub fn sign(
    key: &SigningKey,
    key_id: &str,
    method: &str,
    url: &str,
    body: Option<&[u8]>,
    now: Timestamp,
) -> Result<Vec<(String, String)>, SignatureError> {
    let (_, _, tail) = split_url(url)
        .ok_or_else(|| SignatureError::Malformed(format!("not an http(s) URL: {url}")))?;
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(SignatureError::Malformed(format!(
            "not an HTTP method: {method:?}"
        )));
    }
    let key_id_sf = sf_string(key_id)
        .ok_or_else(|| SignatureError::Malformed("the key id must be printable ASCII".into()))?;
    let path_and_query = tail.split('#').next().unwrap_or("");
    let path_and_query = if path_and_query.is_empty() {
        "/"
    } else {
        path_and_query
    };
    let mut headers = vec![("Date".to_string(), http_date(now))];
    let mut components = vec!["\"@method\"", "\"@target-uri\"", "\"@authority\""];
    if let Some(b) = body {
        headers.push(("Content-Digest".to_string(), content_digest_header(b)));
        components.push("\"content-digest\"");
    }
    let input = format!(
        "{LABEL}=({});created={};keyid={key_id_sf};alg=\"{ALGORITHM}\"",
        components.join(" "),
        now.as_second()
    );
    // Read back what was written, so signing and verifying share one path.
    let sig = parse_input(&input)?;
    let req = RequestParts {
        method,
        path_and_query,
        headers: &headers,
    };
    let base = signature_base(&sig, &req, url)?;
    let signature = key.sign(base.as_bytes());
    headers.push(("Signature-Input".to_string(), input));
    headers.push((
        "Signature".to_string(),
        format!("{LABEL}=:{}:", B64.encode(signature)),
    ));
    Ok(headers)
}

#[cfg(test)]
mod tests;
