//! RFC 9421 `Signature-Input` / `Signature` parsing (the RFC 8941 dictionary
//! parser), the signature base, `Content-Digest` and the time window.
//!
//! Input layout (text, read lossily as UTF-8), so seeds stay readable:
//!
//! ```text
//! <Signature-Input value>
//! <Signature value>
//! <METHOD> <path-and-query>
//! <target URI>
//! <Name>: <value>          (zero or more request headers, e.g. Content-Digest)
//!
//! <body>                   (everything after the first empty line)
//! ```
//!
//! Invariants checked besides "never panics":
//! - `parse` and `parse_headers` agree;
//! - a parsed signature has a non-empty keyid and signature, and distinct,
//!   well-formed component names;
//! - a signature base has one `"name": value` line per covered component,
//!   in order, then `"@signature-params": <canonical params>`;
//! - the canonical params parse back to the same signature and the same
//!   base (canonical serialization is a fixed point);
//! - `verify_content_digest` accepts `content_digest_header(body)`.
#![no_main]

use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;
use stoa::signatures::RequestParts;
use stoa::signatures::rfc9421::{self, Rfc9421Signature};

/// 2023-11-14T22:13:20Z, the `created` of the seeds.
const NOW: i64 = 1_700_000_000;

const PARAMS_PREFIX: &str = "\"@signature-params\": ";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, b.as_bytes()),
        None => (&*text, &[][..]),
    };
    let mut lines = head.split('\n');
    let input = lines.next().unwrap_or("");
    let signature = lines.next().unwrap_or("");
    let request_line = lines.next().unwrap_or("");
    let (method, path) = request_line.split_once(' ').unwrap_or((request_line, "/"));
    let target_uri = lines.next().unwrap_or("");
    let mut headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let req = RequestParts {
        method,
        path_and_query: path,
        headers: &headers,
    };

    // Content-Digest: the header written for a body always verifies; the
    // one given (all its lines) is checked without panicking.
    assert_eq!(
        rfc9421::verify_content_digest(&rfc9421::content_digest_header(body), body),
        Ok(())
    );
    for (_, v) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-digest"))
    {
        let _ = rfc9421::verify_content_digest(v, body);
    }

    let parsed = rfc9421::parse(input, signature);
    {
        // The same two values given as request headers read the same.
        let mut with_sig = headers.clone();
        with_sig.push(("Signature-Input".into(), input.to_string()));
        with_sig.push(("Signature".into(), signature.to_string()));
        assert!(rfc9421::is_rfc9421(&with_sig));
        if !headers.iter().any(|(n, _)| {
            n.eq_ignore_ascii_case("signature-input") || n.eq_ignore_ascii_case("signature")
        }) {
            assert_eq!(rfc9421::parse_headers(&with_sig), parsed);
        } else {
            let _ = rfc9421::parse_headers(&with_sig);
        }
    }
    let Ok(sig) = parsed else {
        return;
    };
    assert!(!sig.key_id.is_empty());
    assert!(!sig.signature.is_empty());
    for (i, c) in sig.components.iter().enumerate() {
        assert!(!c.is_empty());
        assert!(!sig.components[..i].contains(c), "{c:?} covered twice");
        assert!(
            c.starts_with('@') || !c.bytes().any(|b| b.is_ascii_uppercase()),
            "header component {c:?} is not lowercase"
        );
        assert!(c.bytes().all(|b| b.is_ascii_graphic()), "{c:?}");
    }

    let _ = rfc9421::check_coverage(&sig, method);
    let mut instants = vec![
        Timestamp::from_second(NOW).unwrap(),
        Timestamp::MIN,
        Timestamp::MAX,
    ];
    for t in [Some(sig.created), sig.expires].into_iter().flatten() {
        if let Ok(t) = Timestamp::from_second(t) {
            instants.push(t);
        }
    }
    for now in instants {
        let _ = rfc9421::check_time(&sig, now);
        let _ = rfc9421::check_before_key(&sig, &req, body, now);
    }

    let Ok(base) = rfc9421::signature_base(&sig, &req, target_uri) else {
        return;
    };
    let out: Vec<&str> = base.split('\n').collect();
    assert_eq!(out.len(), sig.components.len() + 1, "base: {base:?}");
    for (line, c) in out.iter().zip(&sig.components) {
        assert!(
            line.starts_with(&format!("\"{c}\": ")),
            "{line:?} is not {c:?}"
        );
    }
    let canonical = out
        .last()
        .and_then(|l| l.strip_prefix(PARAMS_PREFIX))
        .unwrap_or_else(|| panic!("no @signature-params line: {base:?}"));
    assert!(canonical.starts_with('('), "{canonical:?}");

    // Canonical form is a fixed point: the canonical params, sent as the
    // Signature-Input, read back to the same signature and the same base.
    let again_input = format!("{}={canonical}", sig.label);
    if again_input.len() <= rfc9421::MAX_HEADER_LEN {
        let again = rfc9421::parse(&again_input, signature)
            .unwrap_or_else(|e| panic!("canonical {again_input:?} does not parse: {e}"));
        assert_same(&sig, &again);
        let base2 = rfc9421::signature_base(&again, &req, target_uri)
            .unwrap_or_else(|e| panic!("canonical {again_input:?} has no base: {e}"));
        assert_eq!(base, base2);
    }

    // Another request header after the base is built does not change a base
    // that does not cover it.
    headers.push(("x-fuzz-extra".into(), "1".into()));
    if !sig.components.iter().any(|c| c == "x-fuzz-extra") {
        let req2 = RequestParts {
            method,
            path_and_query: path,
            headers: &headers,
        };
        assert_eq!(rfc9421::signature_base(&sig, &req2, target_uri), Ok(base));
    }
});

fn assert_same(a: &Rfc9421Signature, b: &Rfc9421Signature) {
    assert_eq!(a.label, b.label);
    assert_eq!(a.key_id, b.key_id);
    assert_eq!(a.algorithm, b.algorithm);
    assert_eq!(a.components, b.components);
    assert_eq!(a.created, b.created);
    assert_eq!(a.expires, b.expires);
    assert_eq!(a.nonce, b.nonce);
    assert_eq!(a.tag, b.tag);
    assert_eq!(a.signature, b.signature);
}
