//! The writer's side of the admin API: how `stoa publish` and `stoa
//! deliveries` talk to their own companion (bearer token, JSON). Not the
//! fediverse client: no signatures, and the companion may be on localhost.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::companion::api::{
    ConversationsAnswer, ErrorBody, FollowerAction, FollowerChanged, FollowerEntry, Manifest,
    Moderate, Moderated, Progress, PublishRequest, PublishResponse, Purged, ReplyInfo, Retrying,
    Status,
};
use crate::companion::api::{
    MarkRead, MarkedRead, Notification, QuoteEntry, QuoteRevoked, RevokeQuote,
};

/// Why the companion could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection.
    #[error(
        "cannot reach the companion at {url}: {reason}\n  help: is `stoa inbox` running there? \
         Set `companion` under [publish] in stoa.toml to its address"
    )]
    Unreachable {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// 401: the token is wrong.
    #[error(
        "the companion at {0} refused the admin token\n  help: use the same token on both sides: \
         secrets/admin-token (or STOA_ADMIN_TOKEN)"
    )]
    Token(String),
    /// Any other error answer.
    #[error("the companion answered {status} for {url}: {message}")]
    Status {
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Its `error` message.
        message: String,
    },
    /// The answer was not what was expected.
    #[error("unexpected answer from the companion at {url}: {reason}")]
    Answer {
        /// The URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

/// A client for one companion.
#[derive(Debug, Clone)]
pub struct CompanionClient {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl CompanionClient {
    /// A client for the companion at `base` (its origin, like `https://blog.example.com`).
    pub fn new(base: &str, token: &str) -> CompanionClient {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(120)))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        CompanionClient {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            agent,
        }
    }

    /// Followers, interactions, deliveries and backlog, counted.
    pub fn status(&self) -> Result<Status, ClientError> {
        self.get("status")
    }

    /// Every follower, oldest first.
    pub fn followers(&self) -> Result<Vec<FollowerEntry>, ClientError> {
        self.get("followers")
    }

    /// Approves `who` (a follow waiting for approval).
    pub fn approve_follower(&self, who: &str) -> Result<FollowerChanged, ClientError> {
        self.post("followers/approve", &FollowerAction { who: who.into() })
    }

    /// Removes (or rejects) the follower `who`.
    pub fn remove_follower(&self, who: &str) -> Result<FollowerChanged, ClientError> {
        self.post("followers/remove", &FollowerAction { who: who.into() })
    }

    /// The public conversation under the blog's posts, with its avatars.
    pub fn conversations(&self) -> Result<ConversationsAnswer, ClientError> {
        self.get("conversations")
    }

    /// Every reply, newest first, with its audience and moderation state.
    pub fn replies(&self, limit: usize) -> Result<Vec<ReplyInfo>, ClientError> {
        self.get(&format!("replies?limit={limit}"))
    }

    /// Hides, shows, approves or blocks.
    pub fn moderate(&self, request: &Moderate) -> Result<Moderated, ClientError> {
        self.post("replies/moderate", request)
    }

    /// The quotes the companion approved, newest first.
    pub fn quotes(&self) -> Result<Vec<QuoteEntry>, ClientError> {
        self.get("quotes")
    }

    /// Revokes one quote.
    pub fn revoke_quote(&self, quote: &str) -> Result<QuoteRevoked, ClientError> {
        self.post(
            "quotes/revoke",
            &RevokeQuote {
                quote: quote.to_string(),
            },
        )
    }

    /// Notifications, newest first: unread, or all.
    pub fn notifications(&self, all: bool) -> Result<Vec<Notification>, ClientError> {
        self.get(if all {
            "notifications?all=1&limit=1000"
        } else {
            "notifications?limit=1000"
        })
    }

    /// Marks notifications up to `up_to` as read.
    pub fn mark_read(&self, up_to: i64) -> Result<MarkedRead, ClientError> {
        self.post("notifications/read", &MarkRead { up_to })
    }

    /// What was published before.
    pub fn manifest(&self) -> Result<Manifest, ClientError> {
        self.get("manifest")
    }

    /// Publishes: the companion diffs, queues and answers what it sent.
    pub fn publish(&self, request: &PublishRequest) -> Result<PublishResponse, ClientError> {
        self.post("publish", request)
    }

    /// How the deliveries of one publish are doing.
    pub fn progress(&self, publish_id: i64) -> Result<Progress, ClientError> {
        self.get(&format!("publishes/{publish_id}"))
    }

    /// How every delivery is doing.
    pub fn deliveries(&self) -> Result<Progress, ClientError> {
        self.get("deliveries")
    }

    /// Makes every waiting delivery due now.
    pub fn retry(&self) -> Result<Retrying, ClientError> {
        self.post("deliveries/retry", &serde_json::json!({}))
    }

    /// Forgets finished deliveries.
    pub fn purge(&self) -> Result<Purged, ClientError> {
        self.post("deliveries/purge", &serde_json::json!({}))
    }

    /// Drops the Move deliveries that have not arrived yet (`stoa move --cancel`).
    pub fn cancel_move(&self) -> Result<crate::companion::api::MoveCancelled, ClientError> {
        self.post("move/cancel", &serde_json::json!({}))
    }

    /// `GET /admin/<path>`.
    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}/admin/{path}", self.base);
        let resp = self
            .agent
            .get(&url)
            .header("Authorization", format!("Bearer {}", self.token))
            .call();
        self.answer(&url, resp)
    }

    /// `POST /admin/<path>` with a JSON body.
    fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let url = format!("{}/admin/{path}", self.base);
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Answer {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let resp = self
            .agent
            .post(&url)
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .send(&bytes[..]);
        self.answer(&url, resp)
    }

    fn answer<T: DeserializeOwned>(
        &self,
        url: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let mut resp = resp.map_err(|e| ClientError::Unreachable {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_default();
        if status == 401 {
            return Err(ClientError::Token(self.base.clone()));
        }
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<ErrorBody>(&text)
                .map(|b| b.error)
                .unwrap_or(text);
            return Err(ClientError::Status {
                url: url.to_string(),
                status,
                message,
            });
        }
        serde_json::from_str(&text).map_err(|e| ClientError::Answer {
            url: url.to_string(),
            reason: e.to_string(),
        })
    }
}
