//! The certificate: it must cover the blog's host (the handshake fails
//! otherwise) and not expire within 14 days. Reading the expiry from a
//! certificate is pure; the handshake is in `probe.rs`.

use jiff::{SignedDuration, Timestamp};

use super::{Check, HostKind, Problem};

/// A certificate expiring sooner than this fails.
pub const EXPIRY_MARGIN: SignedDuration = SignedDuration::from_hours(14 * 24);

/// One DER element: (tag, contents, what follows).
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The `notAfter` of an X.509 certificate in DER, or `None` if it does
/// not read as one.
pub fn not_after(der: &[u8]) -> Option<Timestamp> {
    let (0x30, cert, _) = element(der)? else {
        return None;
    };
    let (0x30, tbs, _) = element(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after; // [0] version
    }
    // serial, signature algorithm, issuer, then validity.
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (0x30, validity, _) = element(rest)? else {
        return None;
    };
    let (_, _, after_before) = element(validity)?;
    let (tag, time, _) = element(after_before)?;
    let text = std::str::from_utf8(time).ok()?;
    let full = match tag {
        0x17 => {
            // UTCTime: YYMMDDHHMMSSZ, years 50–99 are 19xx.
            let yy: u32 = text.get(..2)?.parse().ok()?;
            format!("{}{text}", if yy >= 50 { "19" } else { "20" })
        }
        0x18 => text.to_string(),
        _ => return None,
    };
    let digits = full.strip_suffix('Z')?;
    if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &digits[..4],
        &digits[4..6],
        &digits[6..8],
        &digits[8..10],
        &digits[10..12],
        &digits[12..14]
    )
    .parse()
    .ok()
}

/// The TLS check from the handshake's outcome: the certificate's expiry,
/// or why the handshake failed (a certificate that does not cover the
/// host, has expired or is not trusted).
pub fn evaluate(
    host_name: &str,
    handshake: &Result<Timestamp, String>,
    now: Timestamp,
    host: HostKind,
) -> Check {
    match handshake {
        Err(e) => Check::fail(
            "tls",
            format!("the TLS handshake with {host_name} fails: {e}"),
            &Problem::Certificate,
            host,
        ),
        Ok(expiry) if expiry.duration_since(now) < EXPIRY_MARGIN => Check::fail(
            "tls",
            format!("the certificate for {host_name} expires {expiry}, within 14 days"),
            &Problem::Certificate,
            host,
        ),
        Ok(expiry) => Check::pass(
            "tls",
            format!("the certificate covers {host_name} and is valid until {expiry}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    /// A self-signed certificate for blog.example (openssl req -x509 -days 3).
    const CERT: &str = "MIIDDzCCAfegAwIBAgIUJdtjkr13jzOLPiueJhFcv7la1jEwDQYJKoZIhvcNAQELBQAwFzEVMBMGA1UEAwwMYmxvZy5leGFtcGxlMB4XDTI2MTIwMjEwNDIwNVoXDTI2MTIwNTEwNDIwNVowFzEVMBMGA1UEAwwMYmxvZy5leGFtcGxlMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA37p7+TWTiajaTE6kC0N24961e3+xTWahOaWzpkNr1ZlcDjuxD4Qv3xMhvuC+94th6ihe90zQ9tr4Knn5xtWj108dSMUBZRS8LcYX2zUHueFGSl6q7kvOTYAeEQxptF5WO4jaKGpan16ou9QaxCME4w0Jfg4ENLOA+7Gc9f5FDbxaAaoCyV56OOuuWbuQJpceAhhkcTW2mJlcnWFtWgMaRfw3ED3PaBwHiJXePjXes5KbCZkkEiIq1QlalmE5YMTbxIWv7pkHHC4jx8BVvDTCSHWvkEARAflhOGmeIO0WCf+oz1keBZ52XM8IosmTFIz6aCQHaNMI+Lk4YgcoCfZJiQIDAQABo1MwUTAdBgNVHQ4EFgQUDygdQ36RbviMjodGpOuHfPryPhUwHwYDVR0jBBgwFoAUDygdQ36RbviMjodGpOuHfPryPhUwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAqdkHBMMFaQpiH3NFn+kEKAZIUjUMIa6WFUp4IPWLX+SGQ8+lsPdJhptHf5HC7yCxvuwfLV3kWNPjMugL80vABPU/9c9xc4FrZzwYV/Y4tFCz7geLfELxopsaLNTN5tGQqOrgoE1GGGLWIPWlDWnGzD5yhsD5DOnjvI+qI7JmIYrycdTSS59PuiikuFM0KbRPOAZgzmVspYeXNNoRAzU3bX4Jgz788j/1winAEFYnTQXJMd5yBFSBbOWfkJ3AfCaPwuC2N5JBYHlG5zxABQ5tWn7kGtk97e5HMuZ8ELLqPC0pm70SR9i1883DcIJSRIygEzvZbcSiBYWucByjzM/5dg==";

    #[test]
    fn the_expiry_is_read_from_the_certificate() {
        let der = base64::engine::general_purpose::STANDARD
            .decode(CERT)
            .expect("base64");
        let expiry = not_after(&der).expect("notAfter");
        assert_eq!(expiry.to_string(), "2026-12-05T10:42:05Z");
        assert_eq!(not_after(&der[..40]), None);
        assert_eq!(not_after(b"junk"), None);
        let soon = evaluate(
            "blog.example",
            &Ok(expiry),
            "2026-12-02T10:00:00Z".parse().unwrap(),
            HostKind::Caddy,
        );
        assert_eq!(soon.outcome, super::super::Outcome::Fail);
        assert!(soon.summary.contains("within 14 days"), "{soon:?}");
        let fine = evaluate(
            "blog.example",
            &Ok(expiry),
            "2026-11-01T10:00:00Z".parse().unwrap(),
            HostKind::Caddy,
        );
        assert_eq!(fine.outcome, super::super::Outcome::Pass);
        let bad = evaluate(
            "blog.example",
            &Err("invalid peer certificate: NotValidForName".into()),
            "2026-11-01T10:00:00Z".parse().unwrap(),
            HostKind::Nginx,
        );
        assert!(
            bad.fix.as_deref().unwrap_or("").contains("certbot"),
            "{bad:?}"
        );
    }
}
