//! What an inbox's answer means for a delivery (Mastodon's
//! `response_error_unsalvageable?`; docs/interop.md, "Delivering").

use crate::fetch::FetchError;

/// The fate of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered(u16),
    /// 410 Gone: the account is gone (remove it if it is a follower).
    Gone,
    /// A final refusal (4xx other than 401/408/429, or 501): no retry.
    Refused(u16),
    /// Worth trying again (401, 408, 429, 5xx, network errors).
    Retry(Option<u16>, String),
    /// The address itself is unusable (not a URL, a private address).
    Unreachable(String),
}

/// Classifies the result of a POST.
pub fn classify(result: &Result<u16, FetchError>) -> Outcome {
    match result {
        Ok(status @ 200..=299) => Outcome::Delivered(*status),
        Ok(410) => Outcome::Gone,
        Ok(status @ (401 | 408 | 429)) => Outcome::Retry(Some(*status), format!("HTTP {status}")),
        Ok(status @ (400..=499 | 501)) => Outcome::Refused(*status),
        Ok(status) => Outcome::Retry(Some(*status), format!("HTTP {status}")),
        Err(e @ (FetchError::BadUrl(_) | FetchError::Private(_))) => {
            Outcome::Unreachable(e.to_string())
        }
        Err(e) => Outcome::Retry(None, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_sort_like_mastodon() {
        assert_eq!(classify(&Ok(202)), Outcome::Delivered(202));
        assert_eq!(classify(&Ok(410)), Outcome::Gone);
        assert_eq!(classify(&Ok(404)), Outcome::Refused(404));
        assert_eq!(classify(&Ok(501)), Outcome::Refused(501));
        for retry in [401, 408, 429, 500, 502, 503] {
            assert!(matches!(classify(&Ok(retry)), Outcome::Retry(Some(s), _) if s == retry));
        }
        assert!(matches!(
            classify(&Err(FetchError::Network {
                url: "u".into(),
                reason: "r".into()
            })),
            Outcome::Retry(None, _)
        ));
        assert!(matches!(
            classify(&Err(FetchError::Private("h".into()))),
            Outcome::Unreachable(_)
        ));
    }
}
