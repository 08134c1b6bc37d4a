//! Checks of the companion through its admin API and `/healthz` (pure:
//! they judge answers fetched by `probe.rs`).

use super::{Check, Fetched, HostKind, Problem};
use crate::companion::api::Status;
use crate::companion::client::ClientError;

/// `/healthz`, and whether the admin API answered at all.
pub fn health(
    url: &str,
    fetched: &Fetched,
    status: Option<&Result<Status, ClientError>>,
    host: HostKind,
) -> Check {
    const ID: &str = "companion";
    match fetched {
        Ok(a) if a.status == 200 => return Check::pass(ID, format!("{url} answers ok")),
        Ok(a) if a.status == 503 && !String::from_utf8_lossy(&a.body).contains("<") => {
            return Check::fail(
                ID,
                format!(
                    "{url} answers 503: {}",
                    String::from_utf8_lossy(&a.body).trim()
                ),
                &Problem::CompanionDown,
                host,
            );
        }
        _ => {}
    }
    // /healthz is often not proxied; the admin API is.
    match status {
        Some(Ok(_)) => Check::pass(ID, "the companion answers its admin API"),
        Some(Err(ClientError::Token(_))) => Check::pass(
            ID,
            "the companion answers (its admin API refused the token)",
        ),
        Some(Err(e)) => Check::fail(
            ID,
            format!(
                "the companion does not answer: {}",
                first_line(&e.to_string())
            ),
            &Problem::CompanionDown,
            host,
        ),
        None => Check::skip(
            ID,
            format!("{url} does not answer ok and there is no admin token to ask the companion"),
        ),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// The admin API's status: the token accepted, the companion's key equal to
/// the site's, deliveries and hosts.
pub fn status(
    status: Option<&Result<Status, ClientError>>,
    local_fingerprint: &str,
    host: HostKind,
) -> Vec<Check> {
    let s = match status {
        None => {
            return vec![Check::skip(
                "admin-token",
                "no admin token here (secrets/admin-token or STOA_ADMIN_TOKEN): the companion's key, deliveries and hosts are not checked",
            )];
        }
        Some(Err(ClientError::Token(url))) => {
            return vec![Check::fail(
                "admin-token",
                format!("the companion at {url} refused this site's admin token"),
                &Problem::AdminToken,
                host,
            )];
        }
        Some(Err(ClientError::Unreachable { .. })) => {
            return vec![Check::skip(
                "admin-token",
                "the companion does not answer: its token, key, deliveries and hosts are not checked",
            )];
        }
        Some(Err(e)) => {
            return vec![Check::fail(
                "admin-token",
                format!(
                    "the admin API cannot be used: {}",
                    first_line(&e.to_string())
                ),
                &Problem::AdminToken,
                host,
            )];
        }
        Some(Ok(s)) => s,
    };
    let mut checks = vec![Check::pass(
        "admin-token",
        "the companion accepts this site's admin token",
    )];
    checks.push(if s.key_fingerprint.is_empty() {
        Check::fail(
            "companion-key",
            "the companion does not say which key it holds",
            &Problem::CompanionOutdated,
            host,
        )
    } else if s.key_fingerprint == local_fingerprint {
        Check::pass(
            "companion-key",
            format!("the companion signs with this site's key ({local_fingerprint})"),
        )
    } else {
        Check::fail(
            "companion-key",
            format!(
                "the companion signs with the key {}, this site's is {local_fingerprint}",
                s.key_fingerprint
            ),
            &Problem::KeyMismatch,
            host,
        )
    });
    checks.push(if s.failed_last_day > 0 {
        Check::warn(
            "deliveries",
            format!("{} deliveries failed for good in the last day: `stoa deliveries status` shows which servers and why", s.failed_last_day),
        )
    } else {
        Check::pass("deliveries", format!("no delivery failed for good in the last day ({} waiting)", s.deliveries.pending))
    });
    checks.push(if s.unavailable_hosts.is_empty() {
        Check::pass("hosts", "no server is marked unavailable")
    } else {
        Check::warn(
            "hosts",
            format!(
                "skipped until they write to the blog again (failed on 7 different days): {}",
                s.unavailable_hosts.join(", ")
            ),
        )
    });
    if let Some(target) = &s.moved_to {
        checks.push(Check::pass(
            "moved",
            format!("the blog has moved to {target} (`stoa move`): new follows are refused"),
        ));
    }
    for (old, n) in &s.moved_in {
        checks.push(Check::pass(
            "moved-in",
            format!("{n} of the followers followed after {old} pointed to the blog (`stoa followers list` marks them)"),
        ));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::super::Outcome;
    use super::*;

    #[test]
    fn the_companion_must_hold_the_sites_key_and_take_its_token() {
        let mut s = Status {
            key_fingerprint: "sha256:a".into(),
            ..Status::default()
        };
        let ok = status(Some(&Ok(s.clone())), "sha256:a", HostKind::Nginx);
        assert!(ok.iter().all(|c| c.outcome == Outcome::Pass), "{ok:?}");
        s.key_fingerprint = "sha256:b".into();
        s.unavailable_hosts = vec!["gone.example".into()];
        let bad = status(Some(&Ok(s)), "sha256:a", HostKind::Nginx);
        assert_eq!(bad[1].outcome, Outcome::Fail);
        assert_eq!(bad[3].outcome, Outcome::Warn);
        let moved = Status {
            key_fingerprint: "sha256:a".into(),
            moved_in: [("https://old.example/u/a".to_string(), 3)].into(),
            ..Status::default()
        };
        let moved = status(Some(&Ok(moved)), "sha256:a", HostKind::Nginx);
        assert!(
            moved.iter().any(|c| c.id == "moved-in"
                && c.summary
                    .contains("3 of the followers followed after https://old.example/u/a")),
            "{moved:?}"
        );
        let token = status(
            Some(&Err(ClientError::Token("https://b".into()))),
            "sha256:a",
            HostKind::Caddy,
        );
        assert_eq!(
            token[0].breaks.as_deref(),
            Some(Problem::AdminToken.breaks())
        );
    }
}
