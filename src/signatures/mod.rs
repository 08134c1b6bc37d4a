//! The actor's keys and HTTP Signatures in both schemes the fediverse uses:
//! draft-cavage (`cavage.rs`, what every server accepts and what stoa
//! signs with) and RFC 9421 (`rfc9421.rs`, on `structured_field.rs`);
//! `presented.rs` picks the scheme of an incoming request. Pure: no network
//! and no clock (callers pass `now`). The types both schemes share live
//! here: the request a signature covers, why one is refused, and the time
//! window Mastodon allows.

pub mod cavage;
pub mod keys;
pub(crate) mod presented;
pub mod rfc9421;
mod structured_field;

use jiff::SignedDuration;

/// Why a signature was refused. Each message is safe to return to the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Signature` header.
    #[error("the request is not signed (no Signature header)")]
    Missing,
    /// The header does not parse.
    #[error("malformed Signature header: {0}")]
    Malformed(String),
    /// An algorithm other than rsa-sha256 / hs2019 (draft-cavage) or
    /// rsa-v1_5-sha256 (RFC 9421).
    #[error(
        "unsupported signature algorithm {0:?} (use rsa-sha256 or hs2019, or rsa-v1_5-sha256 with RFC 9421)"
    )]
    UnsupportedAlgorithm(String),
    /// A header the policy requires is not covered by the signature.
    #[error("the signature must cover {0}")]
    NotCovered(&'static str),
    /// A signed header is not present in the request.
    #[error("signed header {0:?} is missing from the request")]
    MissingHeader(String),
    /// `Date` / `(created)` is too old.
    #[error("the signature has expired (date {0})")]
    Expired(String),
    /// `Date` / `(created)` is too far in the future.
    #[error("the signature is dated in the future ({0})")]
    InFuture(String),
    /// The body does not match the `Digest` header.
    #[error("the Digest header does not match the body")]
    DigestMismatch,
    /// The RSA signature does not verify with the key.
    #[error("the signature does not verify with the key {0}")]
    BadSignature(String),
}

/// How far a `Date` may be in the future (Mastodon's `CLOCK_SKEW_MARGIN`).
pub const CLOCK_SKEW: SignedDuration = SignedDuration::from_hours(1);
/// Default lifetime of a signature without `expires` (Mastodon: 5 min),
/// after which the skew margin still applies.
pub const DEFAULT_EXPIRY: SignedDuration = SignedDuration::from_mins(5);
/// The longest lifetime accepted even when `expires` says more (12 h).
pub const MAX_EXPIRY: SignedDuration = SignedDuration::from_hours(12);

/// The parts of an HTTP request a signature covers.
#[derive(Debug, Clone)]
pub struct RequestParts<'a> {
    /// Method, any case.
    pub method: &'a str,
    /// Path with query, as sent (`/inbox`).
    pub path_and_query: &'a str,
    /// All header (name, value) pairs; names any case.
    pub headers: &'a [(String, String)],
}

impl RequestParts<'_> {
    /// The first value of a header, by name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
