//! The admin API's messages, declared once and used by both sides: the
//! companion's handlers (`admin.rs`, `publish.rs`) serialize them and the
//! writer's client (`client.rs`) reads them back, so a field renamed on one
//! side cannot silently read as zero on the other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET /admin/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The blog's actor id.
    pub actor: String,
    /// Followers by state.
    pub followers: FollowerCounts,
    /// Interactions by kind (`like`, `announce`, `reply`); absent kinds are 0.
    pub interactions: BTreeMap<String, i64>,
    /// Deliveries by state.
    pub deliveries: DeliveryCounts,
    /// Received activities not applied yet.
    pub incoming_backlog: i64,
    /// Fingerprint of the public half of the key the companion signs with
    /// ([`crate::signatures::keys::fingerprint`]); empty from an older companion.
    #[serde(default)]
    pub key_fingerprint: String,
    /// Deliveries given up in the last 24 hours.
    #[serde(default)]
    pub failed_last_day: i64,
    /// Hosts skipped because their deliveries failed on 7 different days.
    #[serde(default)]
    pub unavailable_hosts: Vec<String>,
    /// The companion's clock when it answered (ms since the epoch; 0 from
    /// an older companion), to compare with the writer's.
    #[serde(default)]
    pub now_ms: i64,
    /// Followers who came after an earlier account pointed to the blog, by
    /// that account (`companion::moves`).
    #[serde(default)]
    pub moved_in: BTreeMap<String, i64>,
    /// Where the published profile says the blog moved (`stoa move`).
    #[serde(default)]
    pub moved_to: Option<String>,
}

/// The `type` of the deployment self-test that `stoa doctor` POSTs to the
/// blog's own inbox through its public address. The companion answers it
/// only when it is signed with the blog's own key (the one it signs with),
/// and stores nothing: it proves that the proxy keeps `Host`, `Date`,
/// `Digest` and the signature headers intact.
pub const SELF_TEST_TYPE: &str = "StoaSelfTest";

/// The companion's `202` answer to a self-test that verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfTestAnswer {
    /// Always `"verified"`.
    pub self_test: String,
    /// Fingerprint of the key the signature verified with.
    pub key_fingerprint: String,
}

/// Followers by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowerCounts {
    /// Following.
    pub accepted: i64,
    /// Waiting for approval.
    pub pending: i64,
}

/// Deliveries by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    /// Waiting for a first try or a retry.
    pub pending: i64,
    /// Accepted by the receiving server.
    pub delivered: i64,
    /// Given up.
    pub failed: i64,
}

/// `GET /admin/manifest`: what was published before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Whether the first publish (the baseline) happened.
    pub baseline: bool,
    /// Live objects: id → SHA-256 as last published.
    pub objects: BTreeMap<String, String>,
    /// Ids deleted once, which never come back.
    #[serde(default)]
    pub deleted: Vec<String>,
    /// SHA-256 of the actor document as last published.
    pub actor_hash: Option<String>,
    /// Stamps other servers gave the blog's quoting posts: object id →
    /// `QuoteAuthorization` URL (the next build carries them).
    #[serde(default)]
    pub quote_authorizations: BTreeMap<String, String>,
}

/// `POST /admin/publish`: what `stoa publish` sends.
#[derive(Debug, Deserialize, Serialize)]
pub struct PublishRequest {
    /// Every post object of the built site: id → SHA-256 of its bytes.
    pub manifest: BTreeMap<String, String>,
    /// The objects that are new or changed since the last publish.
    #[serde(default)]
    pub objects: BTreeMap<String, Value>,
    /// The actor document and its hash (an Update goes out when it changed).
    pub actor: Option<Value>,
    /// SHA-256 of the actor document.
    pub actor_hash: Option<String>,
    /// Record changed posts without sending Updates (after a theme or stoa
    /// upgrade changed every post, followers need not hear of it).
    #[serde(default)]
    pub quiet_updates: bool,
    /// `stoa move`: after the Update of the profile (whose `movedTo` must
    /// name this account), a `Move` to this account goes to every follower.
    #[serde(default)]
    pub move_to: Option<MoveOrder>,
}

/// The move `stoa move` asks the companion to announce.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct MoveOrder {
    /// The new account's actor id (its `alsoKnownAs` lists the blog).
    pub target: String,
    /// Seconds the Move waits in the queue after the Update of the profile
    /// (the time left for `stoa move --cancel`); at least one.
    #[serde(default)]
    pub delay_secs: u64,
}

/// `POST /admin/move/cancel`: what `stoa move --cancel` stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct MoveCancelled {
    /// The account the blog was moving to, if a move was recorded.
    pub target: Option<String>,
    /// Deliveries of the Move that had not arrived yet, now dropped.
    pub cancelled: i64,
    /// Deliveries of the Move that had arrived already (those servers have
    /// moved their followers; a cancel cannot call that back).
    pub delivered: i64,
}

/// What the companion did with a [`PublishRequest`].
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct PublishResponse {
    /// Id for progress queries.
    pub publish_id: i64,
    /// First publish of the archive: recorded, nothing sent.
    pub baseline: bool,
    /// Posts sent as Create.
    pub created: Vec<String>,
    /// Posts sent as Update.
    pub updated: Vec<String>,
    /// Posts sent as Delete.
    pub deleted: Vec<String>,
    /// Whether the profile went out as Update(Person).
    pub actor_updated: bool,
    /// Deliveries of a `Move` queued (`stoa move`).
    #[serde(default)]
    pub move_deliveries: usize,
    /// Deliveries queued.
    pub deliveries: usize,
}

/// `GET /admin/publishes/{id}` and `GET /admin/deliveries`: how deliveries
/// are doing, for one publish or for all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Deliveries in all.
    pub total: i64,
    /// Accepted.
    pub delivered: i64,
    /// Waiting for a retry.
    pub retrying: i64,
    /// Not tried yet.
    pub queued: i64,
    /// Given up.
    pub failed: i64,
    /// Followers on the servers these deliveries go to.
    #[serde(default)]
    pub followers: i64,
    /// Of those, the ones on servers where every delivery arrived.
    #[serde(default)]
    pub followers_reached: i64,
    /// Per host, sorted by host.
    pub hosts: Vec<HostReport>,
}

/// How one host fared in a publish (or overall).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostReport {
    /// `host[:port]`.
    pub host: String,
    /// Deliveries accepted.
    pub delivered: i64,
    /// Deliveries waiting for a retry.
    pub retrying: i64,
    /// Deliveries not tried yet.
    pub queued: i64,
    /// Deliveries given up.
    pub failed: i64,
    /// Followers on this server (one delivery to a shared inbox reaches them all).
    #[serde(default)]
    pub followers: i64,
    /// The next retry (ms), if any.
    pub next_attempt_at: Option<i64>,
    /// The last error seen, if any.
    pub last_error: Option<String>,
}

/// `POST /admin/deliveries/retry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retrying {
    /// Deliveries made due now.
    pub retrying: usize,
}

/// `POST /admin/deliveries/purge`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    /// Finished deliveries forgotten.
    pub purged: usize,
}

/// Every error answer: `{"error": "…"}`, written for the blog's writer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong and what to do.
    pub error: String,
}

/// One follower, as `GET /admin/followers` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowerEntry {
    /// Actor URL.
    pub actor: String,
    /// Personal inbox.
    pub inbox: String,
    /// Shared inbox of their server, if it has one.
    pub shared_inbox: Option<String>,
    /// `@user@host`, when known.
    pub handle: Option<String>,
    /// `accepted` or `pending`.
    pub state: String,
    /// When they followed (ms since the epoch).
    pub created_at: i64,
    /// The writer's earlier account (`also_known_as`) that had just moved to
    /// the blog when they followed (see [`crate::companion::moves`]).
    #[serde(default)]
    pub moved_from: Option<String>,
}

/// `POST /admin/followers/approve` and `/admin/followers/remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowerAction {
    /// `@user@host` or actor URL.
    pub who: String,
}

/// What an approval or removal did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowerChanged {
    /// `approved`, `already_following` or `removed`.
    pub outcome: String,
    /// Their actor URL.
    pub actor: String,
    /// `@user@host`, when known.
    pub handle: Option<String>,
}

/// `GET /admin/conversations`: the public conversation the blog may show,
/// with the avatars it names (base64 PNG, by file name). Replies not
/// addressed to the public never appear here; hidden replies, blocked
/// authors and replies the `[conversations]` policy leaves out neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationsAnswer {
    /// What `conversations.toml` holds.
    pub conversations: crate::conversations::Conversations,
    /// Avatar file name → base64 of the PNG.
    #[serde(default)]
    pub avatars: BTreeMap<String, String>,
}

/// `GET /admin/replies`: one reply as the writer sees it, whatever its
/// audience (the writer may see followers-only and direct replies; the
/// blog never shows them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyInfo {
    /// The reply's id.
    pub id: String,
    /// Its author.
    pub actor: String,
    /// The author's display name, if known.
    pub name: Option<String>,
    /// The author's `@user@host`, if known.
    pub handle: Option<String>,
    /// The post it is about (or the blog's actor, for a mention).
    pub object: String,
    /// The reply it answers, in a thread.
    pub in_reply_to: Option<String>,
    /// Its web page.
    pub url: Option<String>,
    /// Cleaned HTML.
    pub content: String,
    /// `published`, as sent.
    pub published: Option<String>,
    /// When it arrived (ms).
    pub created_at: i64,
    /// Addressed to the public (only then can the blog show it).
    pub public: bool,
    /// Hidden by the writer.
    pub hidden: bool,
    /// Its author was approved by the writer.
    pub approved: bool,
    /// Its author is blocked (stoa.toml or `stoa replies block`).
    pub blocked: bool,
}

/// What `POST /admin/replies/moderate` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModerateAction {
    /// Hide a reply from the blog.
    Hide,
    /// Show a hidden reply again.
    Unhide,
    /// Approve the author (the `approved` policy shows their replies).
    Approve,
    /// Block the author: their interactions are dropped and never shown.
    Block,
    /// Block the author's whole domain.
    BlockDomain,
}

/// `POST /admin/replies/moderate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moderate {
    /// What to do.
    pub action: ModerateAction,
    /// A reply (its id or web page), or for approve and block an actor URL.
    pub target: String,
}

/// What a moderation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moderated {
    /// What changed, in a sentence for the writer.
    pub message: String,
    /// The author concerned, when known.
    pub actor: Option<String>,
}

/// `GET /admin/notifications?all=1&limit=N`: newest first.
pub use crate::companion::store::notifications::Notification;

/// `POST /admin/notifications/read`: marks notifications up to `up_to` read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkRead {
    /// The newest notification shown.
    pub up_to: i64,
}

/// What [`MarkRead`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkedRead {
    /// How many became read.
    pub read: usize,
}

/// `GET /admin/quotes`: one quote of the blog's posts the companion
/// approved, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteEntry {
    /// The quoting post's id.
    pub instrument: String,
    /// Its author.
    pub actor: String,
    /// The blog's post it quotes.
    pub object: String,
    /// The stamp's URL (answers 410 once revoked).
    pub stamp: String,
    /// When it was approved (ms).
    pub created_at: i64,
    /// False once revoked.
    pub live: bool,
}

/// `POST /admin/quotes/revoke`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeQuote {
    /// The quoting post's id, the stamp's URL, or the quoting author.
    pub quote: String,
}

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteRevoked {
    /// `revoked` or `already_revoked`.
    pub outcome: String,
    /// The quoting post.
    pub instrument: String,
}
