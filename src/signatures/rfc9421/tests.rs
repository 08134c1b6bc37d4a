//! Tests of RFC 9421 parsing, signature bases, verification and signing.

use super::*;
use crate::signatures::structured_field::MAX_MEMBERS;
use jiff::SignedDuration;

const URL: &str = "https://b.example/inbox";
const KEY_ID: &str = "https://a.example/actor#main-key";

use crate::signatures::keys::testing::pair;

fn now() -> Timestamp {
    "2026-11-26T12:00:00Z".parse().expect("time")
}

fn signed(key: &SigningKey, body: &[u8]) -> Vec<(String, String)> {
    sign(key, KEY_ID, "POST", URL, Some(body), now()).expect("sign")
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
    h.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header"))
}

fn set(h: &mut [(String, String)], name: &str, value: &str) {
    for (n, v) in h.iter_mut() {
        if n.eq_ignore_ascii_case(name) {
            *v = value.to_string();
        }
    }
}

/// Parses and verifies a POST to /inbox.
fn check_req(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    key: &PublicKey,
    at: Timestamp,
) -> Result<(), SignatureError> {
    let sig = parse_headers(headers)?;
    let req = RequestParts {
        method,
        path_and_query: path,
        headers,
    };
    verify(
        &sig,
        &req,
        &format!("https://b.example{path}"),
        body,
        key,
        at,
    )
}

fn check(
    headers: &[(String, String)],
    body: &[u8],
    key: &PublicKey,
    at: Timestamp,
) -> Result<(), SignatureError> {
    check_req("POST", "/inbox", headers, body, key, at)
}

/// Signs `input` (a Signature-Input value) over a POST to /inbox, the
/// way a third-party signer would, and returns the full header set.
fn signed_with_input(
    key: &SigningKey,
    input: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut h = vec![
        ("Host".to_string(), "b.example".to_string()),
        ("Content-Digest".to_string(), content_digest_header(body)),
    ];
    for (n, v) in extra {
        h.push((n.to_string(), v.to_string()));
    }
    let sig = parse_input(input).expect("input parses");
    let req = RequestParts {
        method: "POST",
        path_and_query: "/inbox",
        headers: &h,
    };
    // Sign the raw text, as a signer that serializes it once would.
    let base = format!(
        "{}\"@signature-params\": {}",
        component_lines(&sig, &req, URL).expect("lines"),
        sig.params_raw
    );
    let s = B64.encode(key.sign(base.as_bytes()));
    h.push(("Signature-Input".to_string(), input.to_string()));
    h.push(("Signature".to_string(), format!("{}=:{s}:", sig.label)));
    h
}

#[test]
fn round_trip_and_every_tampering_is_caught() {
    let (sk, pk) = pair();
    let body = br#"{"type":"Follow"}"#;
    let h = signed(&sk, body);
    assert!(is_rfc9421(&h));
    assert_eq!(check(&h, body, &pk, now()), Ok(()));
    let sig = parse_headers(&h).expect("parse");
    assert_eq!(sig.key_id, KEY_ID);
    assert_eq!(sig.label, "sig1");
    assert_eq!(sig.algorithm.as_deref(), Some(ALGORITHM));
    assert_eq!(
        sig.components,
        ["@method", "@target-uri", "@authority", "content-digest"]
    );
    assert_eq!(sig.created, now().as_second());
    assert_eq!(sig.signature.len(), 256);

    // Tampered body.
    assert_eq!(
        check(&h, b"{}", &pk, now()),
        Err(SignatureError::DigestMismatch)
    );
    // Digest recomputed over a tampered body: the signature breaks.
    let mut h2 = h.clone();
    set(&mut h2, "content-digest", &content_digest_header(b"{}"));
    assert!(matches!(
        check(&h2, b"{}", &pk, now()),
        Err(SignatureError::BadSignature(_))
    ));
    // Another method (still POST-like, so content-digest stays required).
    assert!(matches!(
        check_req("PUT", "/inbox", &h, body, &pk, now()),
        Err(SignatureError::BadSignature(_))
    ));
    // Another path: @target-uri differs.
    assert!(matches!(
        check_req("POST", "/other-inbox", &h, body, &pk, now()),
        Err(SignatureError::BadSignature(_))
    ));
    // Another host.
    let sig = parse_headers(&h).expect("parse");
    let req = RequestParts {
        method: "POST",
        path_and_query: "/inbox",
        headers: &h,
    };
    assert!(matches!(
        verify(&sig, &req, "https://c.example/inbox", body, &pk, now()),
        Err(SignatureError::BadSignature(_))
    ));
    // The key-free checks pass a good request and stop a bad body.
    assert_eq!(check_before_key(&sig, &req, body, now()), Ok(()));
    assert_eq!(
        check_before_key(&sig, &req, b"{}", now()),
        Err(SignatureError::DigestMismatch)
    );
    // Wrong key.
    let (_, other) = pair();
    assert!(matches!(
        check(&h, body, &other, now()),
        Err(SignatureError::BadSignature(_))
    ));
    // A flipped signature bit.
    let mut h3 = h.clone();
    let mut bytes = parse_headers(&h).expect("parse").signature;
    if let Some(b) = bytes.first_mut() {
        *b ^= 1;
    }
    set(
        &mut h3,
        "signature",
        &format!("sig1=:{}:", B64.encode(&bytes)),
    );
    assert!(matches!(
        check(&h3, body, &pk, now()),
        Err(SignatureError::BadSignature(_))
    ));
    // A changed parameter (created one second later).
    let mut h4 = h.clone();
    let input = header(&h, "signature-input").replace(
        &format!("created={}", now().as_second()),
        &format!("created={}", now().as_second() + 1),
    );
    set(&mut h4, "signature-input", &input);
    assert!(matches!(
        check(&h4, body, &pk, now()),
        Err(SignatureError::BadSignature(_))
    ));
}

#[test]
fn the_time_window_is_mastodons() {
    let (sk, pk) = pair();
    let body = b"{}";
    let h = signed(&sk, body);
    // 5 min lifetime + 1 h skew.
    let ok = now() + SignedDuration::from_mins(65);
    assert_eq!(check(&h, body, &pk, ok), Ok(()));
    assert!(matches!(
        check(&h, body, &pk, ok + SignedDuration::from_secs(1)),
        Err(SignatureError::Expired(_))
    ));
    assert!(matches!(
        check(&h, body, &pk, now() + SignedDuration::from_hours(2)),
        Err(SignatureError::Expired(_))
    ));
    // Created an hour and a half ahead.
    assert!(matches!(
        check(&h, body, &pk, now() - SignedDuration::from_mins(90)),
        Err(SignatureError::InFuture(_))
    ));
    assert_eq!(
        check(&h, body, &pk, now() - SignedDuration::from_mins(59)),
        Ok(())
    );

    // `expires` extends the lifetime, but never past 12 h.
    let c = now().as_second();
    let in_a_day = format!(
        "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created={c};expires={};keyid=\"k\"",
        c + 86_400
    );
    let h = signed_with_input(&sk, &in_a_day, body, &[]);
    let at = |mins| now() + SignedDuration::from_mins(mins);
    assert_eq!(check(&h, body, &pk, at(12 * 60 + 60)), Ok(()));
    assert!(matches!(
        check(&h, body, &pk, at(12 * 60 + 61)),
        Err(SignatureError::Expired(_))
    ));
    // A short `expires` shortens it.
    let short = format!(
        "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created={c};expires={};keyid=\"k\"",
        c + 60
    );
    let h = signed_with_input(&sk, &short, body, &[]);
    assert_eq!(check(&h, body, &pk, at(61)), Ok(()));
    assert!(matches!(
        check(&h, body, &pk, at(62)),
        Err(SignatureError::Expired(_))
    ));
    // Out-of-range times are refused, not panicked on.
    for bad in ["created=999999999999999", "created=-999999999999999"] {
        let input = format!("sig1=(\"@method\" \"@target-uri\");{bad};keyid=\"k\"");
        let sig = parse_input(&input).expect("parses");
        assert!(check_time(&sig, now()).is_err(), "{bad}");
    }
}

#[test]
fn required_parameters_and_components() {
    let (sk, pk) = pair();
    let body = b"{}";
    let c = now().as_second();
    let all = "\"@method\" \"@target-uri\" \"content-digest\"";
    // Baseline: a minimal Mastodon-acceptable signature, without alg.
    let good = format!("sig1=({all});created={c};keyid=\"k\"");
    let h = signed_with_input(&sk, &good, body, &[]);
    assert_eq!(check(&h, body, &pk, now()), Ok(()));

    let refused = |input: &str| {
        let h = signed_with_input(&sk, input, body, &[]);
        check(&h, body, &pk, now())
    };
    let parse_fails = |input: &str, needle: &str| match parse(input, "sig1=:AAAA:") {
        Err(SignatureError::Malformed(m)) => {
            assert!(m.contains(needle), "{input}: {m} (wanted {needle})")
        }
        other => panic!("{input}: {other:?}"),
    };
    parse_fails(&format!("sig1=({all});keyid=\"k\""), "created");
    parse_fails(&format!("sig1=({all});created={c}"), "keyid");
    parse_fails(&format!("sig1=({all});created={c};keyid=\"\""), "keyid");
    parse_fails(
        &format!("sig1=({all});created=\"{c}\";keyid=\"k\""),
        "created",
    );
    parse_fails(&format!("sig1=({all});created={c};keyid=k"), "keyid");
    parse_fails(
        &format!("sig1=({all});created={c}.5;keyid=\"k\""),
        "created",
    );

    assert_eq!(
        refused(&format!(
            "sig1=(\"@target-uri\" \"content-digest\");created={c};keyid=\"k\""
        )),
        Err(SignatureError::NotCovered("@method"))
    );
    assert_eq!(
        refused(&format!(
            "sig1=(\"@method\" \"content-digest\");created={c};keyid=\"k\""
        )),
        Err(SignatureError::NotCovered("@target-uri"))
    );
    // @path + @authority is not enough for Mastodon either.
    assert_eq!(
        refused(&format!(
            "sig1=(\"@method\" \"@path\" \"@authority\" \"content-digest\");created={c};keyid=\"k\""
        )),
        Err(SignatureError::NotCovered("@target-uri"))
    );
    assert_eq!(
        refused(&format!(
            "sig1=(\"@method\" \"@target-uri\");created={c};keyid=\"k\""
        )),
        Err(SignatureError::NotCovered("content-digest"))
    );
    // A GET needs no digest.
    let get = format!("sig1=(\"@method\" \"@target-uri\");created={c};keyid=\"k\"");
    let mut h = signed_with_input(&sk, &get, b"", &[]);
    h.retain(|(n, _)| n != "Content-Digest");
    let sig = parse_headers(&h).expect("parse");
    let req = RequestParts {
        method: "GET",
        path_and_query: "/inbox",
        headers: &h,
    };
    // Signed as POST by the helper: coverage passes, the RSA check fails.
    assert!(matches!(
        verify(&sig, &req, URL, b"", &pk, now()),
        Err(SignatureError::BadSignature(_))
    ));
    assert_eq!(check_coverage(&sig, "GET"), Ok(()));

    // Another algorithm.
    assert_eq!(
        refused(&format!(
            "sig1=({all});created={c};keyid=\"k\";alg=\"rsa-pss-sha512\""
        )),
        Err(SignatureError::UnsupportedAlgorithm(
            "rsa-pss-sha512".into()
        ))
    );
    // A covered header that is absent.
    assert_eq!(
        {
            let input = format!("sig1=({all} \"content-type\");created={c};keyid=\"k\"");
            let mut h = signed_with_input(&sk, &input, body, &[("Content-Type", "a/b")]);
            h.retain(|(n, _)| n != "Content-Type");
            check(&h, body, &pk, now())
        },
        Err(SignatureError::MissingHeader("content-type".into()))
    );
    // Content-Digest covered but absent.
    let mut h = signed_with_input(&sk, &good, body, &[]);
    h.retain(|(n, _)| n != "Content-Digest");
    assert_eq!(
        check(&h, body, &pk, now()),
        Err(SignatureError::MissingHeader("content-digest".into()))
    );
}

#[test]
fn exactly_one_signature_with_matching_labels() {
    let (sk, pk) = pair();
    let body = b"{}";
    let h = signed(&sk, body);
    let input = header(&h, "signature-input").to_string();
    let sig = header(&h, "signature").to_string();
    let second_input = input.replacen("sig1=", "sig2=", 1);
    let second_sig = sig.replacen("sig1=", "sig2=", 1);

    let is_malformed = |r: Result<Rfc9421Signature, SignatureError>, needle: &str| match r {
        Err(SignatureError::Malformed(m)) => assert!(m.contains(needle), "{m}"),
        other => panic!("{other:?}"),
    };
    // Two signatures in one header, or in two header lines.
    is_malformed(
        parse(&format!("{input}, {second_input}"), &sig),
        "several signatures",
    );
    is_malformed(
        parse(&input, &format!("{sig}, {second_sig}")),
        "several signatures",
    );
    let mut two_lines = h.clone();
    two_lines.push(("Signature-Input".into(), second_input.clone()));
    two_lines.push(("Signature".into(), second_sig.clone()));
    is_malformed(parse_headers(&two_lines), "several signatures");
    // The same label twice.
    is_malformed(parse(&format!("{input}, {input}"), &sig), "twice");
    // Labels that do not match.
    is_malformed(parse(&input, &second_sig), "names signature");
    is_malformed(parse(&second_input, &sig), "names signature");
    // Any label is fine when both agree.
    let renamed = parse(&second_input, &second_sig).expect("parse");
    assert_eq!(renamed.label, "sig2");
    // (The label is not part of the signature base.)
    let req = RequestParts {
        method: "POST",
        path_and_query: "/inbox",
        headers: &h,
    };
    assert_eq!(verify(&renamed, &req, URL, body, &pk, now()), Ok(()));
    // Missing headers.
    let mut no_sig = h.clone();
    no_sig.retain(|(n, _)| n != "Signature");
    assert_eq!(parse_headers(&no_sig), Err(SignatureError::Missing));
    assert!(!is_rfc9421(&[("Signature".into(), "keyId=\"x\"".into())]));
}

#[test]
fn derived_components_and_fields_follow_rfc_9421() {
    let (sk, pk) = pair();
    let body = b"{}";
    let c = now().as_second();
    let input = format!(
        "sig1=(\"@method\" \"@target-uri\" \"@authority\" \"@scheme\" \"@request-target\" \"@path\" \"@query\" \"content-digest\" \"x-multi\" \"x-empty\");created={c};keyid=\"k\""
    );
    let extra = [
        ("X-Multi", "  one  "),
        ("x-multi", "two, three\t"),
        ("X-Empty", ""),
    ];
    let mut h = signed_with_input(&sk, &input, body, &extra);
    let sig = parse_headers(&h).expect("parse");
    let req = RequestParts {
        method: "POST",
        path_and_query: "/inbox",
        headers: &h,
    };
    let base = signature_base(&sig, &req, URL).expect("base");
    let digest = content_digest_header(body);
    assert_eq!(
        base,
        format!(
            "\"@method\": POST\n\
             \"@target-uri\": https://b.example/inbox\n\
             \"@authority\": b.example\n\
             \"@scheme\": https\n\
             \"@request-target\": /inbox\n\
             \"@path\": /inbox\n\
             \"@query\": ?\n\
             \"content-digest\": {digest}\n\
             \"x-multi\": one, two, three\n\
             \"x-empty\": \n\
             \"@signature-params\": (\"@method\" \"@target-uri\" \"@authority\" \"@scheme\" \"@request-target\" \"@path\" \"@query\" \"content-digest\" \"x-multi\" \"x-empty\");created={c};keyid=\"k\""
        )
    );
    assert_eq!(check(&h, body, &pk, now()), Ok(()));
    // The order of lines of one field matters; across fields it does not.
    h.swap(2, 3);
    assert!(matches!(
        check(&h, body, &pk, now()),
        Err(SignatureError::BadSignature(_))
    ));

    // @authority drops the default port and lowercases.
    let req = RequestParts {
        method: "GET",
        path_and_query: "/a/b?x=1&y=%20",
        headers: &[],
    };
    let s = parse_input(
        "s=(\"@authority\" \"@scheme\" \"@path\" \"@query\" \"@request-target\");created=1;keyid=\"k\"",
    )
    .expect("parse");
    let base = signature_base(&s, &req, "HTTPS://Example.COM:443/a/b?x=1&y=%20").expect("b");
    assert!(
        base.starts_with(
            "\"@authority\": example.com\n\"@scheme\": https\n\"@path\": /a/b\n\"@query\": ?x=1&y=%20\n\"@request-target\": /a/b?x=1&y=%20\n"
        ),
        "{base}"
    );
    let base = signature_base(&s, &req, "http://example.com:8080/a").expect("b");
    assert!(
        base.starts_with("\"@authority\": example.com:8080\n"),
        "{base}"
    );

    // Refused components.
    for bad in [
        "\"@status\"",
        "\"@query-param\";name=\"x\"",
        "\"@signature-params\"",
        "\"Content-Type\"",
        "\"content-type\";sf",
        "\"content-type\";bs",
        "\"\"",
        "\"a b\"",
        "\"@method\" \"@method\"",
        "token",
        "1",
    ] {
        let input = format!("sig1=({bad});created=1;keyid=\"k\"");
        assert!(
            matches!(parse_input(&input), Err(SignatureError::Malformed(_))),
            "{bad} should be refused"
        );
    }
    // A header value with a line break is refused, never put in the base.
    let h = vec![("x-a".to_string(), "1\n\"@method\": GET".to_string())];
    let req = RequestParts {
        method: "POST",
        path_and_query: "/",
        headers: &h,
    };
    let s = parse_input("s=(\"x-a\");created=1;keyid=\"k\"").expect("parse");
    assert!(matches!(
        signature_base(&s, &req, URL),
        Err(SignatureError::Malformed(_))
    ));
}

#[test]
fn signature_params_canonical_and_as_sent() {
    let (sk, pk) = pair();
    let body = b"{}";
    let c = now().as_second();
    // Non-canonical spacing and number forms a sender might write (and
    // sign): accepted through the as-received fallback.
    for input in [
        format!(
            "sig1=( \"@method\"  \"@target-uri\" \"content-digest\" );created={c}; keyid=\"k\""
        ),
        format!("sig1=(\"@method\" \"@target-uri\" \"content-digest\");created=000{c};keyid=\"k\""),
        format!(
            "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created={c};keyid=\"k\";x=1.50;y;z=?1;w=tok/en:1;v=:AQ:"
        ),
    ] {
        let h = signed_with_input(&sk, &input, body, &[]);
        assert_eq!(check(&h, body, &pk, now()), Ok(()), "{input}");
    }
    // And when the sender signed the canonical form of those.
    let sig = parse_input(&format!(
        "sig1=( \"@method\"  \"@target-uri\");created=00{c}; keyid=\"k\\\\\\\"\";x=1.50;y=?1;z=-0.0;v=:AQ:"
    ))
    .expect("parse");
    assert_eq!(
        sig.params_canonical,
        format!(
            "(\"@method\" \"@target-uri\");created={c};keyid=\"k\\\\\\\"\";x=1.5;y;z=0.0;v=:AQ==:"
        )
    );
    assert_eq!(sig.key_id, "k\\\"");
    let canonical = format!("sig1={}", sig.params_canonical);
    let reparsed = parse_input(&canonical).expect("reparse");
    assert_eq!(reparsed.params_canonical, reparsed.params_raw);
}

/// RFC 9421 Appendix B.2.6 (the test request, covering date, @method,
/// @path, @authority, content-type and content-length) and B.2.1 (no
/// components, a nonce): their signature bases, byte for byte. Their
/// algorithms (ed25519, rsa-pss-sha512) are not ours, so only the base
/// is checked; the Content-Digest of the test request is checked too.
#[test]
fn rfc_9421_appendix_b_signature_bases() {
    let body = br#"{"hello": "world"}"#;
    let h: Vec<(String, String)> = [
        ("Host", "example.com"),
        ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("Content-Type", "application/json"),
        (
            "Content-Digest",
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
        ),
        ("Content-Length", "18"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    let req = RequestParts {
        method: "POST",
        path_and_query: "/foo?param=Value&Pet=dog",
        headers: &h,
    };
    let target = "https://example.com/foo?param=Value&Pet=dog";
    let sig = parse(
        "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"",
        "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
    )
    .expect("B.2.6 parses");
    assert_eq!(sig.signature.len(), 64);
    assert_eq!(
        signature_base(&sig, &req, target).expect("base"),
        "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\
         \"@method\": POST\n\
         \"@path\": /foo\n\
         \"@authority\": example.com\n\
         \"content-type\": application/json\n\
         \"content-length\": 18\n\
         \"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\""
    );
    let sig = parse(
        "sig-b21=();created=1618884473;keyid=\"test-key-rsa-pss\";nonce=\"b3k2pp5k7z-50gnwp.yemd\"",
        "sig-b21=:AAAA:",
    )
    .expect("B.2.1 parses");
    assert_eq!(sig.nonce.as_deref(), Some("b3k2pp5k7z-50gnwp.yemd"));
    assert_eq!(
        signature_base(&sig, &req, target).expect("base"),
        "\"@signature-params\": ();created=1618884473;keyid=\"test-key-rsa-pss\";nonce=\"b3k2pp5k7z-50gnwp.yemd\""
    );
    // RFC 9530 / RFC 9421 digests of the same body.
    assert_eq!(
        verify_content_digest(header(&h, "content-digest"), body),
        Ok(())
    );
    assert_eq!(
        content_digest_header(body),
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    );
}

#[test]
fn content_digest_rules() {
    let body = br#"{"hello": "world"}"#;
    let sha256 = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
    let sha512 = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";
    let wrong256 = content_digest_header(b"other");
    assert_eq!(verify_content_digest(sha256, body), Ok(()));
    assert_eq!(verify_content_digest(sha512, body), Ok(()));
    assert_eq!(
        verify_content_digest(&format!("{sha512}, {sha256}"), body),
        Ok(())
    );
    // Unpadded base64 is read too (RFC 8941 §4.2.7).
    assert_eq!(
        verify_content_digest(
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:",
            body
        ),
        Ok(())
    );
    // sha-256 decides when present, even beside a good sha-512.
    assert_eq!(
        verify_content_digest(&format!("{sha512}, {wrong256}"), body),
        Err(SignatureError::DigestMismatch)
    );
    assert_eq!(
        verify_content_digest(&wrong256, body),
        Err(SignatureError::DigestMismatch)
    );
    assert_eq!(
        verify_content_digest("sha-256=:AAAA:", body),
        Err(SignatureError::DigestMismatch)
    );
    assert_eq!(
        verify_content_digest("sha-512=:AAAA:", body),
        Err(SignatureError::DigestMismatch)
    );
    for bad in [
        "",
        "md5=:AAAA:",
        "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        "sha-256=\"X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\"",
        "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,",
        "sha-256=:%%%%:",
    ] {
        assert!(
            matches!(
                verify_content_digest(bad, body),
                Err(SignatureError::Malformed(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn structured_field_parser_edges() {
    let ok = |s: &str| parse_dictionary(s, "t").is_ok();
    assert!(ok(""));
    assert!(ok("a=1, b=2;x, c=(1 2);p=?0,d"));
    assert!(ok("a=-999999999999999"));
    assert!(ok("a=999999999999.999"));
    assert!(ok("a=\"\\\\\\\"\""));
    assert!(ok("a=*tok:/x"));
    assert!(ok("a=()"));
    assert!(ok("a=( )"));
    for bad in [
        "a=1,",
        "a=1,,b=2",
        "A=1",
        "1a=1",
        "a=1 b=2",
        "a=1;",
        "a=1;B=2",
        "a=9999999999999999",
        "a=1234567890123.1",
        "a=1.",
        "a=1.1234",
        "a=-",
        "a=-a",
        "a=\"unterminated",
        "a=\"bad \\n escape\"",
        "a=\"tab\there\"",
        "a=:abc",
        "a=:@@@@:",
        "a=?2",
        "a=?",
        "a=(1 2",
        "a=(1(2))",
        "a=(1;)",
        "a=)",
        "a=é",
        "a=1, a=2",
        "a=1;p=1;p=2",
        "a=@1",
        "a=%\"display\"",
    ] {
        assert!(!ok(bad), "{bad:?} should not parse");
    }
    let long = format!("a=\"{}\"", "x".repeat(MAX_HEADER_LEN));
    assert!(!ok(&long));
    let many = (0..=MAX_MEMBERS)
        .map(|i| format!("k{i}=1"))
        .collect::<Vec<_>>()
        .join(",");
    assert!(!ok(&many));
    let many_items = format!("a=({})", vec!["1"; MAX_MEMBERS + 1].join(" "));
    assert!(!ok(&many_items));
}

/// Deterministic xorshift, so the fuzz loops below are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// Mangled variants of `s`: every truncation, every byte deleted, every
/// byte replaced by each of a set of characters that matter to the
/// grammar (and a few that do not belong).
fn mangled(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let specials: &[&[u8]] = &[
        b"\"",
        b"(",
        b")",
        b";",
        b"=",
        b",",
        b" ",
        b"\t",
        b":",
        b"\\",
        b"-",
        b"9",
        b"?",
        b"*",
        b"@",
        b"A",
        b"\x7f",
        b"\x00",
        b"\n",
        "é".as_bytes(),
        b"((",
        b"::",
    ];
    let mut out = Vec::new();
    for i in 0..=b.len() {
        out.push(b.get(..i).unwrap_or_default().to_vec());
        let head = b.get(..i).unwrap_or_default();
        let tail = b.get(i + 1..).unwrap_or_default();
        out.push([head, tail].concat());
        for sp in specials {
            out.push([head, sp, tail].concat());
            out.push([head, sp, b.get(i..).unwrap_or_default()].concat());
        }
    }
    out.into_iter()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .collect()
}

#[test]
fn garbage_never_panics() {
    let (sk, pk) = pair();
    let body = b"{}";
    let h = signed(&sk, body);
    let input = header(&h, "signature-input").to_string();
    let sig = header(&h, "signature").to_string();
    let digest = header(&h, "content-digest").to_string();
    let req = RequestParts {
        method: "POST",
        path_and_query: "/inbox",
        headers: &h,
    };
    let mut accepted = 0usize;
    // Mangled Signature-Input: the parse may succeed (say a space after
    // a `;`), and then verification runs all the way.
    for m in mangled(&input) {
        if let Ok(s) = parse(&m, &sig)
            && verify(&s, &req, URL, body, &pk, now()).is_ok()
        {
            accepted += 1;
            // Whatever was accepted names the same parameters.
            assert_eq!(s.key_id, KEY_ID);
            assert_eq!(
                s.components,
                ["@method", "@target-uri", "@authority", "content-digest"]
            );
            assert_eq!(s.created, now().as_second());
        }
    }
    assert!(accepted > 0, "at least the harmless variants verify");
    // Mangled Signature: a changed signature never verifies, unless only
    // padding or separators changed.
    for m in mangled(&sig) {
        if let Ok(s) = parse(&input, &m) {
            let r = verify(&s, &req, URL, body, &pk, now());
            if r.is_ok() {
                assert_eq!(s.signature, parse(&input, &sig).expect("p").signature);
            }
        }
    }
    // Mangled Content-Digest: only an equivalent header passes.
    for m in mangled(&digest) {
        if verify_content_digest(&m, body).is_ok() {
            assert!(
                m.contains("sha-256=:") || m.contains("sha-512=:"),
                "{m:?} accepted"
            );
        }
        let mut h2 = h.clone();
        set(&mut h2, "content-digest", &m);
        let req = RequestParts {
            method: "POST",
            path_and_query: "/inbox",
            headers: &h2,
        };
        let s = parse(&input, &sig).expect("parse");
        let _ = verify(&s, &req, URL, body, &pk, now());
    }
    // Random strings over the grammar's alphabet.
    let alphabet = b"abcsig1=();:\",? -*.09@\\AZ_/+\t";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let len = rng.below(60);
        let s: String = (0..len)
            .map(|_| char::from(*alphabet.get(rng.below(alphabet.len())).unwrap_or(&b'a')))
            .collect();
        let _ = parse(&s, &s);
        let _ = parse(&s, &sig);
        let _ = verify_content_digest(&s, body);
        let _ = parse_dictionary(&s, "t");
    }
    // Odd target URIs and paths.
    let s = parse(&input, &sig).expect("parse");
    for target in [
        "",
        "https://",
        "ftp://x/",
        "https://u@h/",
        "://",
        "https:/x",
    ] {
        let r = verify(&s, &req, target, body, &pk, now());
        assert!(r.is_err(), "{target:?}");
    }
    for path in ["", "?", "??", "/a?b?c", "#"] {
        let req = RequestParts {
            method: "POST",
            path_and_query: path,
            headers: &h,
        };
        let _ = verify(&s, &req, URL, body, &pk, now());
    }
}

#[test]
fn signing_refuses_what_it_cannot_express() {
    let (sk, _) = pair();
    assert!(sign(&sk, KEY_ID, "POST", "ftp://x/", None, now()).is_err());
    assert!(sign(&sk, KEY_ID, "PO ST", URL, None, now()).is_err());
    assert!(sign(&sk, "https://a.example/é", "POST", URL, None, now()).is_err());
    // A GET: no digest, three components.
    let h = sign(&sk, KEY_ID, "GET", "https://b.example", None, now()).expect("sign");
    assert!(h.iter().all(|(n, _)| n != "Content-Digest"));
    assert_eq!(
        header(&h, "signature-input"),
        format!(
            "sig1=(\"@method\" \"@target-uri\" \"@authority\");created={};keyid=\"{KEY_ID}\";alg=\"rsa-v1_5-sha256\"",
            now().as_second()
        )
    );
    assert_eq!(header(&h, "date"), "Thu, 26 Nov 2026 12:00:00 GMT");
}
