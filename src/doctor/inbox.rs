//! Checks of the inbox through the public address, and of the clocks
//! (pure: they judge answers fetched by `probe.rs`).

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::{Check, Fetched, HostKind, Problem};
use crate::companion::api::SelfTestAnswer;
use crate::fetch::RawAnswer;

/// A clock further off than this fails (Mastodon refuses signatures an
/// hour off; this leaves room for the time a signature travels and waits).
pub const CLOCK_LIMIT: SignedDuration = SignedDuration::from_mins(10);

/// The companion's `{"error": …}`, if the answer is one.
fn companion_error(a: &RawAnswer) -> Option<String> {
    let v: Value = serde_json::from_slice(&a.body).ok()?;
    v.get("error").and_then(Value::as_str).map(str::to_string)
}

/// Why an answer did not come from the companion, or `None` if it did.
fn not_the_companion(url: &str, a: &RawAnswer, host: HostKind, id: &'static str) -> Option<Check> {
    if companion_error(a).is_some() || a.status == 202 {
        return None;
    }
    let problem = if matches!(a.status, 502..=504) {
        Problem::CompanionDown
    } else {
        Problem::InboxNotProxied
    };
    let who = match problem {
        Problem::CompanionDown => "the proxy cannot reach the companion",
        _ => "that is the static host, not the companion",
    };
    Some(Check::fail(
        id,
        format!("a POST to {url} answers HTTP {}: {who}", a.status),
        &problem,
        host,
    ))
}

fn host_rewritten(id: &'static str, error: &str, host: HostKind) -> Option<Check> {
    error.contains("addressed to the host").then(|| {
        Check::fail(
            id,
            format!("the companion got another Host than the blog's: {error}"),
            &Problem::HostRewritten,
            host,
        )
    })
}

/// An unsigned POST to the inbox: the companion must answer it (with its
/// own refusal), not the static host, and must see the blog's `Host`.
pub fn reach(url: &str, fetched: &Fetched, host: HostKind) -> Check {
    const ID: &str = "inbox";
    let a = match fetched {
        Ok(a) => a,
        Err(e) => {
            return Check::fail(ID, format!("POST: {e}"), &Problem::CompanionDown, host);
        }
    };
    if let Some(check) = not_the_companion(url, a, host, ID) {
        return check;
    }
    let error = companion_error(a).unwrap_or_default();
    if let Some(check) = host_rewritten(ID, &error, host) {
        return check;
    }
    if a.status == 503 {
        return Check::fail(
            ID,
            format!("the companion answers 503: {error}"),
            &Problem::CompanionDown,
            host,
        );
    }
    Check::pass(
        ID,
        format!(
            "{url} reaches the companion (an unsigned POST gets its {}: {error})",
            a.status
        ),
    )
}

/// The signed self-test POST: the companion verifies it with its own key
/// through the public address, proving the proxy keeps `Host`, `Date`,
/// `Digest` and the signature headers intact.
pub fn self_test(url: &str, fetched: &Fetched, local_fingerprint: &str, host: HostKind) -> Check {
    const ID: &str = "inbox-signed";
    let a = match fetched {
        Ok(a) => a,
        Err(e) => {
            return Check::fail(ID, format!("POST: {e}"), &Problem::CompanionDown, host);
        }
    };
    if a.status == 202
        && let Ok(answer) = serde_json::from_slice::<SelfTestAnswer>(&a.body)
    {
        return if answer.key_fingerprint == local_fingerprint {
            Check::pass(
                ID,
                "a POST signed with the blog's key is verified by the companion through the public address (Host, Date, Digest and Signature arrive intact)",
            )
        } else {
            Check::fail(
                ID,
                format!(
                    "the companion holds the key {}, this site's is {local_fingerprint}",
                    answer.key_fingerprint
                ),
                &Problem::KeyMismatch,
                host,
            )
        };
    }
    if let Some(check) = not_the_companion(url, a, host, ID) {
        return check;
    }
    let error = companion_error(a).unwrap_or_default();
    if let Some(check) = host_rewritten(ID, &error, host) {
        return check;
    }
    let fail = |problem: Problem| {
        Check::fail(
            ID,
            format!(
                "the companion refused the signed self-test ({}): {error}",
                a.status
            ),
            &problem,
            host,
        )
    };
    if error.contains("claims to come from this blog itself") {
        return fail(Problem::CompanionOutdated);
    }
    if let Some(name) = missing_header(&error) {
        return fail(Problem::HeaderDropped(name));
    }
    if error.contains("Digest") {
        return fail(Problem::HeaderDropped("Digest".into()));
    }
    if error.contains("expired") || error.contains("in the future") {
        return fail(Problem::ClockSkew);
    }
    if let Some((_, theirs)) = error.split_once("this companion's key is ")
        && theirs.trim() != local_fingerprint
    {
        return fail(Problem::KeyMismatch);
    }
    if error.contains("does not verify") {
        return fail(Problem::HeaderDropped(
            "the signed headers (Host, Date, Digest, Signature)".into(),
        ));
    }
    fail(Problem::CompanionDown)
}

/// The header a refusal names as missing: "signed header \"date\" is
/// missing from the request", or "the signature must cover date" (our
/// own signature always covers it, so the proxy dropped it), spelled as
/// people write it.
fn missing_header(error: &str) -> Option<String> {
    let name = if let Some((_, rest)) = error.split_once("signed header \"") {
        if !error.contains("is missing") {
            return None;
        }
        rest.split_once('"')?.0
    } else {
        let (_, rest) = error.split_once("the signature must cover ")?;
        rest.split([' ', ';', ',']).next()?
    };
    if name.is_empty() || name.starts_with('(') {
        return None;
    }
    Some(
        name.split('-')
            .map(|part| {
                let mut c = part.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("-"),
    )
}

/// One clock (`who`: "the host", "the companion") against local time, from
/// its `Date` header.
pub fn clock(who: &str, date: Option<&str>, now: Timestamp) -> Result<SignedDuration, String> {
    let date = date.ok_or_else(|| format!("{who} sends no Date header"))?;
    let then = crate::signatures::cavage::parse_http_date(date)
        .ok_or_else(|| format!("{who} sends a Date that does not parse: {date:?}"))?;
    Ok(then.duration_since(now))
}

/// The clocks check: every measured offset within [`CLOCK_LIMIT`].
pub fn clocks(measured: &[(&str, Result<SignedDuration, String>)], host: HostKind) -> Check {
    const ID: &str = "clock";
    let mut seen = Vec::new();
    for (who, m) in measured {
        match m {
            Ok(d) if d.abs() > CLOCK_LIMIT => {
                return Check::fail(
                    ID,
                    format!("{who}'s clock is {}s off this machine's", d.as_secs()),
                    &Problem::ClockSkew,
                    host,
                );
            }
            Ok(d) => seen.push(format!("{who} {:+}s", d.as_secs())),
            Err(e) => seen.push(e.clone()),
        }
    }
    if seen.is_empty() {
        return Check::skip(ID, "no Date header to compare with");
    }
    Check::pass(
        ID,
        format!("clocks agree with this machine's: {}", seen.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::super::Outcome;
    use super::*;

    fn answer(status: u16, ct: &str, body: &str) -> Fetched {
        Ok(RawAnswer {
            status,
            headers: vec![("content-type".into(), ct.into())],
            body: body.as_bytes().to_vec(),
        })
    }

    #[test]
    fn the_inbox_must_be_the_companions() {
        let h = HostKind::Nginx;
        let ok = reach(
            "u",
            &answer(
                401,
                "application/json",
                r#"{"error":"the request is not signed (no Signature header)"}"#,
            ),
            h,
        );
        assert_eq!(ok.outcome, Outcome::Pass);
        let static_host = reach("u", &answer(405, "text/html", "<h1>405</h1>"), h);
        assert_eq!(
            static_host.breaks.as_deref(),
            Some(Problem::InboxNotProxied.breaks())
        );
        assert!(
            static_host
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("location = /inbox")
        );
        let down = reach("u", &answer(502, "text/html", "Bad Gateway"), h);
        assert_eq!(
            down.breaks.as_deref(),
            Some(Problem::CompanionDown.breaks())
        );
        let rewritten = reach(
            "u",
            &answer(
                400,
                "application/json",
                r#"{"error":"this request is addressed to the host \"127.0.0.1:9\"; this inbox is at x"}"#,
            ),
            h,
        );
        assert!(
            rewritten
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("$http_host")
        );
    }

    #[test]
    fn a_refused_self_test_names_the_header_or_the_key() {
        let h = HostKind::Nginx;
        let date = self_test(
            "u",
            &answer(
                401,
                "application/json",
                r#"{"error":"signed header \"date\" is missing from the request"}"#,
            ),
            "sha256:a",
            h,
        );
        assert!(
            date.fix
                .as_deref()
                .unwrap_or("")
                .contains("proxy_set_header Date"),
            "{date:?}"
        );
        let key = self_test(
            "u",
            &answer(
                401,
                "application/json",
                r#"{"error":"self-test: the signature does not verify with the key x; this companion's key is sha256:b"}"#,
            ),
            "sha256:a",
            h,
        );
        assert_eq!(key.breaks.as_deref(), Some(Problem::KeyMismatch.breaks()));
        let ok = self_test(
            "u",
            &answer(
                202,
                "application/json",
                r#"{"self_test":"verified","key_fingerprint":"sha256:a"}"#,
            ),
            "sha256:a",
            h,
        );
        assert_eq!(ok.outcome, Outcome::Pass);
        let other = self_test(
            "u",
            &answer(
                202,
                "application/json",
                r#"{"self_test":"verified","key_fingerprint":"sha256:b"}"#,
            ),
            "sha256:a",
            h,
        );
        assert_eq!(other.breaks.as_deref(), Some(Problem::KeyMismatch.breaks()));
    }

    #[test]
    fn clocks_more_than_ten_minutes_off_fail() {
        let now: Timestamp = "2026-12-02T10:00:00Z".parse().unwrap();
        let near = clock("the host", Some("Wed, 02 Dec 2026 10:01:00 GMT"), now);
        let far = clock("the companion", Some("Wed, 02 Dec 2026 11:30:00 GMT"), now);
        assert_eq!(
            clocks(&[("the host", near.clone())], HostKind::Nginx).outcome,
            Outcome::Pass
        );
        let c = clocks(
            &[("the host", near), ("the companion", far)],
            HostKind::Nginx,
        );
        assert_eq!(c.outcome, Outcome::Fail);
        assert!(c.summary.contains("5400s"), "{c:?}");
    }
}
