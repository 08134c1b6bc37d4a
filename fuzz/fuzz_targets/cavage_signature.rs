//! draft-cavage `Signature` header parsing, signing string and time window.
//!
//! Input layout (text, read lossily as UTF-8), so seeds stay readable:
//!
//! ```text
//! <Signature header value>
//! <METHOD> <path-and-query>
//! <Name>: <value>          (zero or more request headers)
//!
//! <body>                   (everything after the first empty line)
//! ```
//!
//! Invariants checked besides "never panics":
//! - a parsed header has lowercase, non-empty, whitespace-free header names
//!   and a lowercase algorithm;
//! - re-serializing the parsed parameters and parsing again gives the same
//!   parameters (when no value holds a `"`, which cannot be re-quoted);
//! - a signing string has exactly one `name: value` line per covered header,
//!   in the sender's order;
//! - `verify_digest` accepts `digest_header(body)` for every body.
#![no_main]

use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;
use stoa::signatures::RequestParts;
use stoa::signatures::cavage::{self, SignatureParams};

/// 2023-11-14T22:13:20Z, the `created` of the seeds.
const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, b),
        None => (&*text, ""),
    };
    let mut lines = head.split('\n');
    let sig_header = lines.next().unwrap_or("");
    let request_line = lines.next().unwrap_or("");
    let (method, path) = request_line.split_once(' ').unwrap_or((request_line, "/"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let req = RequestParts {
        method,
        path_and_query: path,
        headers: &headers,
    };

    // The digest helpers agree with each other on any body, and the Digest
    // header given (if any) is checked without panicking.
    assert_eq!(
        cavage::verify_digest(&cavage::digest_header(body.as_bytes()), body.as_bytes()),
        Ok(())
    );
    if let Some((_, d)) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("digest"))
    {
        let _ = cavage::verify_digest(d, body.as_bytes());
    }
    if let Some((_, d)) = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("date")) {
        // Formatting a parsed date and parsing it back is stable (for dates
        // from 1970 to the year 8000; RFC 2822 has no negative years).
        if let Some(t) =
            cavage::parse_http_date(d).filter(|t| (0..190_000_000_000).contains(&t.as_second()))
        {
            let again = cavage::parse_http_date(&cavage::http_date(t));
            assert_eq!(again, Some(t), "http_date round trip of {d:?}");
        }
    }

    let Ok(params) = cavage::parse_header(sig_header) else {
        return;
    };
    assert_eq!(params.algorithm, params.algorithm.to_ascii_lowercase());
    for h in &params.headers {
        assert!(!h.is_empty(), "empty covered header name");
        assert_eq!(*h, h.to_ascii_lowercase(), "covered name not lowercased");
        assert!(
            !h.contains(|c: char| c.is_ascii_whitespace()),
            "covered name {h:?} holds whitespace"
        );
    }
    round_trip(&params);

    if let Ok(s) = cavage::signing_string(&params.headers, &req, params.created, params.expires) {
        if params.headers.is_empty() {
            assert!(s.is_empty());
        } else {
            let out: Vec<&str> = s.split('\n').collect();
            assert_eq!(
                out.len(),
                params.headers.len(),
                "one line per header: {s:?}"
            );
            for (line, h) in out.iter().zip(&params.headers) {
                assert!(line.starts_with(&format!("{h}: ")), "{line:?} is not {h:?}");
            }
        }
    }

    let body = body.as_bytes();
    let _ = cavage::check_coverage(&params, method);
    let mut instants = vec![
        Timestamp::from_second(NOW).unwrap(),
        Timestamp::MIN,
        Timestamp::MAX,
    ];
    for t in [params.created, params.expires].into_iter().flatten() {
        if let Ok(t) = Timestamp::from_second(t) {
            instants.push(t);
        }
    }
    for now in instants {
        let _ = cavage::check_time(&params, &req, now);
        let _ = cavage::check_before_key(&params, &req, body, now);
    }
});

/// Writes the parameters back as a header and parses that again.
fn round_trip(p: &SignatureParams) {
    let quotable = |s: &str| !s.contains('"');
    if !quotable(&p.key_id) || !quotable(&p.algorithm) || !p.headers.iter().all(|h| quotable(h)) {
        return;
    }
    use base64::Engine as _;
    let mut header = format!(
        "keyId=\"{}\",algorithm=\"{}\",headers=\"{}\",signature=\"{}\"",
        p.key_id,
        p.algorithm,
        p.headers.join(" "),
        base64::engine::general_purpose::STANDARD.encode(&p.signature)
    );
    if let Some(c) = p.created {
        header.push_str(&format!(",created={c}"));
    }
    if let Some(e) = p.expires {
        header.push_str(&format!(",expires={e}"));
    }
    let again = cavage::parse_header(&header);
    assert_eq!(again.as_ref(), Ok(p), "re-serialized header: {header:?}");
}
