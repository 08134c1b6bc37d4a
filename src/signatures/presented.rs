//! The signature a request presents, in either scheme: RFC 9421 when it
//! carries `Signature-Input`, draft-cavage otherwise. One interface for the
//! inbox: the key to fetch, the checks that need no key, the full check.

use jiff::Timestamp;

use crate::signatures::cavage::{self, SignatureParams};
use crate::signatures::keys::PublicKey;
use crate::signatures::rfc9421::{self, Rfc9421Signature};
use crate::signatures::{RequestParts, SignatureError};

/// A parsed signature.
#[derive(Debug, Clone)]
pub enum Presented {
    /// draft-cavage `Signature` header.
    Cavage(SignatureParams),
    /// RFC 9421 `Signature-Input` + `Signature`.
    Rfc9421(Rfc9421Signature),
}

impl Presented {
    /// Reads the signature headers of a request.
    pub fn from_headers(headers: &[(String, String)]) -> Result<Presented, SignatureError> {
        if rfc9421::is_rfc9421(headers) {
            return rfc9421::parse_headers(headers).map(Presented::Rfc9421);
        }
        let value = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("signature"))
            .map(|(_, v)| v.as_str())
            .ok_or(SignatureError::Missing)?;
        cavage::parse_header(value).map(Presented::Cavage)
    }

    /// The `keyId` / `keyid` to look up.
    pub fn key_id(&self) -> &str {
        match self {
            Presented::Cavage(p) => &p.key_id,
            Presented::Rfc9421(s) => &s.key_id,
        }
    }

    /// The signature bytes (hashed for the replay guard).
    pub fn signature_bytes(&self) -> &[u8] {
        match self {
            Presented::Cavage(p) => &p.signature,
            Presented::Rfc9421(s) => &s.signature,
        }
    }

    /// Checks that need no key: algorithm, coverage, time, body digest.
    pub fn check_before_key(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(String, String)],
        _target_uri: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<(), SignatureError> {
        let req = parts(method, path_and_query, headers);
        match self {
            Presented::Cavage(p) => cavage::check_before_key(p, &req, body, now),
            Presented::Rfc9421(s) => rfc9421::check_before_key(s, &req, body, now),
        }
    }

    /// The full check with the key.
    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(String, String)],
        target_uri: &str,
        body: &[u8],
        key: &PublicKey,
        now: Timestamp,
    ) -> Result<(), SignatureError> {
        let req = parts(method, path_and_query, headers);
        match self {
            Presented::Cavage(p) => cavage::verify(p, &req, body, key, now),
            Presented::Rfc9421(s) => rfc9421::verify(s, &req, target_uri, body, key, now),
        }
    }
}

fn parts<'a>(
    method: &'a str,
    path_and_query: &'a str,
    headers: &'a [(String, String)],
) -> RequestParts<'a> {
    RequestParts {
        method,
        path_and_query,
        headers,
    }
}
