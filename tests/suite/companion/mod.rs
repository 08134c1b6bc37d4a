//! The companion (`stoa inbox`) driven as a user runs it: a real site built
//! with `stoa build`, the real binary listening on loopback, real SQLite,
//! real RSA signatures. Remote accounts are [`Peer`]s: a small real HTTP
//! server in the test process that serves actor documents with public keys
//! and records what arrives at their inboxes.

mod conversations;
mod database;
pub(crate) mod fedify;
mod lifecycle;
mod notifications;
mod publish;
mod quotes;
mod signatures;
mod trust;

use std::collections::HashMap;
use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde_json::{Value, json};
use stoa::signatures::cavage;
use stoa::signatures::keys::{self, SigningKey};

use crate::common::agent;

/// The admin token every test companion uses.
/// The public collection, as peers address public posts.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// A companion that may fetch from the tests' loopback peers.
pub fn start() -> Companion {
    Companion::start(&Setup {
        allow_private: true,
        ..Setup::default()
    })
}

/// The id of the example post every test site has.
pub fn post_id(blog: &Companion) -> String {
    format!("{}/ap/posts/hello-world.json", blog.base)
}

pub const TOKEN: &str = "test-admin-token-0123456789";

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// How a test wants the companion configured.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Turn the SSRF guard off (needed to talk to loopback peers).
    pub allow_private: bool,
    /// `manually_approves_followers`.
    pub manual_approval: bool,
    /// `blocked_actors`.
    pub blocked_actors: Vec<String>,
    /// `--retry-scale` (the retry schedule multiplied by this).
    pub retry_scale: Option<f64>,
    /// `also_known_as`: the writer's earlier accounts.
    pub also_known_as: Vec<String>,
}

/// A site and its running companion.
pub struct Companion {
    /// The site folder (stoa.toml, secrets/, public/, companion/stoa.db).
    pub dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The port.
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
    retry_scale: Option<f64>,
}

impl Companion {
    /// Makes a site (`stoa init`), builds it for its loopback address and
    /// starts `stoa inbox --site public` on it.
    pub fn start(setup: &Setup) -> Companion {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("blog");
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let out = stoa_cmd()
            .args([
                "init",
                "--title",
                "Companion test",
                "--username",
                "blog",
                "--base-url",
            ])
            .arg(&base)
            .arg(&root)
            .output()
            .expect("stoa init runs");
        assert!(
            out.status.success(),
            "init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config = root.join("stoa.toml");
        let mut text = std::fs::read_to_string(&config).expect("stoa.toml");
        if setup.manual_approval {
            text = text.replace(
                "[fediverse]",
                "[fediverse]\nmanually_approves_followers = true",
            );
            assert!(text.contains("manually_approves_followers"), "{text}");
        }
        if !setup.also_known_as.is_empty() {
            text = text.replace(
                "[fediverse]",
                &format!("[fediverse]\nalso_known_as = {:?}", setup.also_known_as),
            );
        }
        // `stoa init` writes a [companion] table (all commented out): fill it in.
        let settings = format!(
            "[companion]\nallow_private_addresses = {}\nblocked_actors = {:?}\n",
            setup.allow_private, setup.blocked_actors
        );
        assert!(text.contains("\n[companion]\n"), "{text}");
        text = text.replace("[companion]\n", &settings);
        std::fs::write(&config, text).expect("write stoa.toml");
        let out = stoa_cmd()
            .arg("build")
            .arg("--root")
            .arg(&root)
            .output()
            .expect("stoa build runs");
        assert!(
            out.status.success(),
            "build: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut c = Companion {
            log: dir.path().join("companion.log"),
            dir,
            base,
            port,
            child: None,
            retry_scale: setup.retry_scale,
        };
        c.launch();
        c
    }

    /// The site root.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("blog")
    }

    /// The blog's actor id.
    pub fn actor(&self) -> String {
        format!("{}/ap/actor.json", self.base)
    }

    /// The inbox URL.
    pub fn inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }

    /// The companion's database file.
    pub fn database(&self) -> PathBuf {
        self.root().join("companion/stoa.db")
    }

    /// `stoa inbox` for this site, its output appended to the log.
    fn inbox_command(&self) -> Command {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let mut cmd = stoa_cmd();
        if let Some(scale) = self.retry_scale {
            cmd.arg("inbox").arg("--retry-scale").arg(scale.to_string());
        } else {
            cmd.arg("inbox");
        }
        cmd.arg("--root")
            .arg(self.root())
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--site")
            .arg(self.root().join("public"))
            .env("STOA_ADMIN_TOKEN", TOKEN)
            .env("STOA_LOG", "stoa=debug,warn")
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        cmd
    }

    /// Starts the process and waits until `/healthz` answers.
    pub fn launch(&mut self) {
        let child = self.inbox_command().spawn().expect("stoa inbox starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(r) = agent().get(&format!("{}/healthz", self.base)).call()
                && r.status() == 200
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the companion did not start:\n{}", self.log());
    }

    /// Starts the process expecting it to refuse: waits for it to exit and
    /// returns its exit code and what it wrote.
    pub fn launch_refused(&mut self) -> (Option<i32>, String) {
        let before = self.log().len();
        let mut child = self.inbox_command().spawn().expect("stoa inbox starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                let log = self.log();
                return (status.code(), log.get(before..).unwrap_or(&log).to_string());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the companion started instead of refusing:\n{}", self.log());
    }

    /// `GET /healthz`: (status, body).
    pub fn health(&self) -> (u16, String) {
        let mut r = agent()
            .get(&format!("{}/healthz", self.base))
            .call()
            .expect("healthz");
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    }

    /// Runs `stoa backup ARGS` on this site.
    pub fn backup_cli(&self, args: &[&std::ffi::OsStr]) -> (bool, String, String) {
        let out = stoa_cmd()
            .arg("backup")
            .arg("--root")
            .arg(self.root())
            .args(args)
            .output()
            .expect("stoa backup runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a graceful exit; returns the exit status code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Everything the companion logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET /admin/<what>` with the token.
    pub fn admin(&self, what: &str) -> Value {
        let mut r = agent()
            .get(&format!("{}/admin/{what}", self.base))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .call()
            .expect("admin request");
        assert_eq!(r.status(), 200, "admin/{what}");
        serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json")
    }

    /// Followers, interactions, deliveries and incoming backlog, summed up.
    pub fn counts(&self) -> (i64, i64, i64, i64) {
        let s = self.admin("status");
        let followers = s["followers"]["accepted"].as_i64().unwrap_or(0)
            + s["followers"]["pending"].as_i64().unwrap_or(0);
        let interactions: i64 = s["interactions"]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_i64).sum())
            .unwrap_or(0);
        let d = &s["deliveries"];
        let deliveries = ["pending", "delivered", "failed"]
            .iter()
            .map(|k| d[k].as_i64().unwrap_or(0))
            .sum();
        (
            followers,
            interactions,
            deliveries,
            s["incoming_backlog"].as_i64().unwrap_or(0),
        )
    }

    /// Waits until `check` holds on `/admin/status`, or panics with the log.
    pub fn wait_status(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.admin("status");
            if check(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; status {s}\nlog:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `stoa followers ARGS` on this site.
    pub fn followers_cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = stoa_cmd()
            .arg("followers")
            .arg("--root")
            .arg(self.root())
            .args(args)
            .output()
            .expect("stoa followers runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Writes a post (`content/posts/<slug>.md`).
    pub fn write_post(&self, slug: &str, front: &str, body: &str) {
        let path = self.root().join("content/posts").join(format!("{slug}.md"));
        std::fs::write(path, format!("+++\n{front}\n+++\n\n{body}\n")).expect("write post");
    }

    /// Removes a post.
    pub fn remove_post(&self, slug: &str) {
        std::fs::remove_file(self.root().join("content/posts").join(format!("{slug}.md")))
            .expect("remove post");
    }

    /// Runs `stoa COMMAND ARGS` on this site through the admin API (as from
    /// the writer's machine) and returns its output; panics, with the
    /// companion's log, if it fails.
    pub fn admin_cli(&self, command: &str, args: &[&str]) -> String {
        let out = stoa_cmd()
            .arg(command)
            .args(args)
            .arg("--root")
            .arg(self.root())
            .arg("--companion")
            .arg(&self.base)
            .env("STOA_ADMIN_TOKEN", TOKEN)
            .output()
            .expect("stoa runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "stoa {command} {args:?} failed:\n{stdout}\n{}\nlog:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        stdout
    }

    /// `stoa pull` (through the admin API) then `stoa build` on the blog's
    /// site; returns what pull printed.
    pub fn pull_and_build(&self) -> String {
        let stdout = self.admin_cli("pull", &[]);
        self.build_site();
        stdout
    }

    /// `stoa build` on the blog's site.
    pub fn build_site(&self) {
        let out = stoa_cmd()
            .arg("build")
            .arg("--root")
            .arg(self.root())
            .output()
            .expect("stoa build runs");
        assert!(
            out.status.success(),
            "build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `stoa publish --no-deploy ARGS` against this companion.
    pub fn publish(&self, args: &[&str]) -> (bool, String, String) {
        self.deploying("publish", args)
    }

    /// Runs `stoa COMMAND --no-deploy ARGS` (publish, move) against this
    /// companion: (success, stdout, stderr).
    pub fn deploying(&self, command: &str, args: &[&str]) -> (bool, String, String) {
        let out = stoa_cmd()
            .arg(command)
            .arg("--root")
            .arg(self.root())
            .arg("--companion")
            .arg(&self.base)
            .arg("--no-deploy")
            .args(args)
            .env("STOA_ADMIN_TOKEN", TOKEN)
            .output()
            .expect("stoa publish runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `stoa publish` and panics with its output if it fails.
    pub fn publish_ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.publish(args);
        assert!(
            ok,
            "stoa publish failed:\n{out}\n{err}\ncompanion log:\n{}",
            self.log()
        );
        out
    }

    /// The blog's public key, as published in its actor document.
    pub fn public_key(&self) -> keys::PublicKey {
        let pem =
            std::fs::read_to_string(self.root().join("actor-key.pub.pem")).expect("public key");
        keys::PublicKey::from_pem(&pem).expect("pem")
    }
}

impl Drop for Companion {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn stoa_cmd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stoa"))
}

/// One request as a peer received it.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// Request path.
    pub path: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Arrival {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A remote account.
pub struct Account {
    /// Signs its requests.
    pub key: SigningKey,
    /// Its public key PEM.
    pub public_pem: String,
    /// Serve 410 Gone for its actor (a deleted account).
    pub gone: bool,
}

#[derive(Default)]
struct PeerState {
    accounts: HashMap<String, Account>,
    arrivals: Vec<Arrival>,
    /// Inbox POSTs to hold without answering (a delivery in flight).
    stall: usize,
    /// Statuses to answer the next inbox POSTs with, in order.
    answers: Vec<u16>,
    /// Whether actors advertise a shared inbox.
    shared_inbox: bool,
    /// Extra documents by path, with their status (forged keys and the like).
    docs: HashMap<String, (u16, Value)>,
    /// Extra fields of actor documents (`name`, `icon`), by account.
    profiles: HashMap<String, Value>,
    /// Files by path: content type, bytes, and a delay before answering.
    media: HashMap<String, (String, Vec<u8>, Duration)>,
}

/// A fediverse server with accounts, on loopback, in the test process.
pub struct Peer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    state: Arc<Mutex<PeerState>>,
    _runtime: tokio::runtime::Runtime,
}

impl Peer {
    /// Starts a peer with the given account names (each gets a fresh key),
    /// advertising a shared inbox.
    pub fn start(names: &[&str]) -> Peer {
        Peer::start_with(names, true)
    }

    /// Starts a peer; without a shared inbox every account is delivered to
    /// on its own.
    pub fn start_with(names: &[&str], shared_inbox: bool) -> Peer {
        let state = Arc::new(Mutex::new(PeerState {
            shared_inbox,
            ..PeerState::default()
        }));
        for name in names {
            let pair = keys::generate().expect("keygen");
            let key = SigningKey::from_pem(pair.private_pem.expose()).expect("key");
            state.lock().expect("state").accounts.insert(
                name.to_string(),
                Account {
                    key,
                    public_pem: pair.public_pem,
                    gone: false,
                },
            );
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = Router::new()
            .route("/users/{name}", get(actor_doc))
            .route("/users/{name}/statuses/{n}", get(status_doc))
            .route("/.well-known/webfinger", get(webfinger))
            .route("/users/{name}/inbox", post(inbox))
            .route("/inbox", post(inbox_shared))
            .fallback(get(extra_doc))
            .with_state((state.clone(), base.clone()));
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Peer {
            base,
            state,
            _runtime: runtime,
        }
    }

    /// Actor URL of an account.
    pub fn actor(&self, name: &str) -> String {
        format!("{}/users/{name}", self.base)
    }

    /// `keyId` of an account.
    pub fn key_id(&self, name: &str) -> String {
        format!("{}#main-key", self.actor(name))
    }

    /// Serves `doc` at `path` (on this peer's host) with `status`; returns its URL.
    pub fn serve_doc(&self, path: &str, status: u16, doc: Value) -> String {
        self.state
            .lock()
            .expect("state")
            .docs
            .insert(path.to_string(), (status, doc));
        format!("{}{path}", self.base)
    }

    /// Adds fields (`name`, `icon`) to an account's actor document.
    pub fn set_profile(&self, name: &str, fields: Value) {
        self.state
            .lock()
            .expect("state")
            .profiles
            .insert(name.to_string(), fields);
    }

    /// Serves `bytes` as `content_type` at `path` after `delay`; returns its URL.
    pub fn serve_media(
        &self,
        path: &str,
        content_type: &str,
        bytes: Vec<u8>,
        delay: Duration,
    ) -> String {
        self.state
            .lock()
            .expect("state")
            .media
            .insert(path.to_string(), (content_type.to_string(), bytes, delay));
        format!("{}{path}", self.base)
    }

    /// An account's public key PEM.
    pub fn public_pem(&self, name: &str) -> String {
        self.state.lock().expect("state").accounts[name]
            .public_pem
            .clone()
    }

    /// Serves 410 for this account from now on.
    pub fn delete_account(&self, name: &str) {
        if let Some(a) = self.state.lock().expect("state").accounts.get_mut(name) {
            a.gone = true;
        }
    }

    /// Holds the next `n` inbox POSTs without answering.
    pub fn stall_next(&self, n: usize) {
        self.state.lock().expect("state").stall = n;
    }

    /// Answers the next inbox POSTs with these statuses (then 202 again).
    pub fn answer_next(&self, statuses: &[u16]) {
        self.state.lock().expect("state").answers = statuses.to_vec();
    }

    /// Everything that arrived at its inboxes.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.state.lock().expect("state").arrivals.clone()
    }

    /// Waits until `n` arrivals satisfy `check`.
    pub fn wait_for(&self, what: &str, n: usize, check: impl Fn(&Arrival) -> bool) -> Vec<Arrival> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found: Vec<Arrival> = self.arrivals().into_iter().filter(|a| check(a)).collect();
            if found.len() >= n {
                return found;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; arrivals: {:?}",
                    self.arrivals()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Signs a POST of `body` to `url` as `name` (draft-cavage, the way
    /// Mastodon does), returning the headers.
    pub fn sign_post(
        &self,
        name: &str,
        url: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Vec<(String, String)> {
        let state = self.state.lock().expect("state");
        let account = &state.accounts[name];
        cavage::sign(
            &account.key,
            &self.key_id(name),
            "POST",
            url,
            Some(body),
            now,
        )
        .expect("sign")
    }

    /// Signs with an account's key but names another key id (for forgeries).
    pub fn sign_post_as(
        &self,
        key_of: &str,
        key_id: &str,
        url: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Vec<(String, String)> {
        let state = self.state.lock().expect("state");
        cavage::sign(
            &state.accounts[key_of].key,
            key_id,
            "POST",
            url,
            Some(body),
            now,
        )
        .expect("sign")
    }
}

type PeerCtx = (Arc<Mutex<PeerState>>, String);

async fn actor_doc(
    State((state, base)): State<PeerCtx>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    let state = state.lock().expect("state");
    let Some(account) = state.accounts.get(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if account.gone {
        return StatusCode::GONE.into_response();
    }
    let id = format!("{base}/users/{name}");
    let mut doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": name,
        "inbox": format!("{id}/inbox"),
        "endpoints": {"sharedInbox": format!("{base}/inbox")},
        "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": account.public_pem},
    });
    if !state.shared_inbox
        && let Some(o) = doc.as_object_mut()
    {
        o.remove("endpoints");
    }
    if let (Some(extra), Some(o)) = (
        state.profiles.get(&name).and_then(Value::as_object),
        doc.as_object_mut(),
    ) {
        for (k, v) in extra {
            o.insert(k.clone(), v.clone());
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/activity+json",
        )],
        doc.to_string(),
    )
        .into_response()
}

/// A document put there with [`Peer::serve_doc`] or a file put there with
/// [`Peer::serve_media`], else 404.
async fn extra_doc(State((state, _)): State<PeerCtx>, uri: axum::http::Uri) -> Response {
    let media = state.lock().expect("state").media.get(uri.path()).cloned();
    if let Some((kind, bytes, delay)) = media {
        tokio::time::sleep(delay).await;
        return ([(axum::http::header::CONTENT_TYPE, kind)], bytes).into_response();
    }
    let state = state.lock().expect("state");
    match state.docs.get(uri.path()) {
        Some((status, doc)) => (
            StatusCode::from_u16(*status).unwrap_or(StatusCode::OK),
            [(
                axum::http::header::CONTENT_TYPE,
                "application/activity+json",
            )],
            doc.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A post by an account, for replies to it.
async fn status_doc(
    State((_, base)): State<PeerCtx>,
    UrlPath((name, n)): UrlPath<(String, u32)>,
) -> Response {
    let actor = format!("{base}/users/{name}");
    let doc = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/statuses/{n}"), "type": "Note",
        "attributedTo": actor, "content": "<p>A post to answer.</p>",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    });
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/activity+json",
        )],
        doc.to_string(),
    )
        .into_response()
}

/// WebFinger for `acct:name@127.0.0.1:PORT`.
async fn webfinger(
    State((state, base)): State<PeerCtx>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let host = base.trim_start_matches("http://");
    let resource = q.get("resource").cloned().unwrap_or_default();
    let Some(name) = resource
        .strip_prefix("acct:")
        .and_then(|r| r.strip_suffix(&format!("@{host}")))
        .map(str::to_string)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !state.lock().expect("state").accounts.contains_key(&name) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let doc = json!({
        "subject": resource,
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": format!("{base}/users/{name}")},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": format!("{base}/@{name}")},
        ],
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/jrd+json")],
        doc.to_string(),
    )
        .into_response()
}

async fn inbox(
    State((state, _)): State<PeerCtx>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    arrive(&state, format!("/users/{name}/inbox"), headers, body).await
}

async fn inbox_shared(
    State((state, _)): State<PeerCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    arrive(&state, "/inbox".into(), headers, body).await
}

async fn arrive(
    state: &Mutex<PeerState>,
    path: String,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (stall, answer) = {
        let mut s = state.lock().expect("state");
        s.arrivals.push(Arrival {
            path,
            headers: headers
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                .collect(),
            body: body.to_vec(),
        });
        let answer = if s.answers.is_empty() {
            202
        } else {
            s.answers.remove(0)
        };
        if s.stall > 0 {
            s.stall -= 1;
            (true, answer)
        } else {
            (false, answer)
        }
    };
    if stall {
        tokio::time::sleep(Duration::from_secs(60)).await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    StatusCode::from_u16(answer)
        .unwrap_or(StatusCode::ACCEPTED)
        .into_response()
}

/// POSTs `body` with `headers` to `url`: (status, body).
pub fn post_raw(url: &str, headers: &[(String, String)], body: &[u8]) -> (u16, String) {
    let mut req = agent()
        .post(url)
        .header("Content-Type", "application/activity+json");
    for (n, v) in headers {
        if n.eq_ignore_ascii_case("host") {
            continue; // ureq sets Host from the URL
        }
        req = req.header(n.as_str(), v.as_str());
    }
    let mut r = req.send(body).expect("POST");
    (
        r.status().as_u16(),
        r.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// A Follow of the blog by `name`.
pub fn follow(peer: &Peer, name: &str, blog: &Companion, n: u32) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/{n}", peer.actor(name)),
        "type": "Follow",
        "actor": peer.actor(name),
        "object": blog.actor(),
    })
}

/// Sends `activity` signed by `name`: (status, body).
pub fn send(peer: &Peer, name: &str, blog: &Companion, activity: &Value) -> (u16, String) {
    let body = activity.to_string().into_bytes();
    let headers = peer.sign_post(name, &blog.inbox(), &body, Timestamp::now());
    post_raw(&blog.inbox(), &headers, &body)
}

/// Verifies, with stoa's verifier and the blog's published key, that an
/// arrival was signed by the blog.
pub fn signed_by_blog(blog: &Companion, a: &Arrival) -> bool {
    let sig = a
        .headers
        .iter()
        .find(|(n, _)| n == "signature")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let Ok(params) = cavage::parse_header(&sig) else {
        return false;
    };
    let req = stoa::signatures::RequestParts {
        method: "POST",
        path_and_query: &a.path,
        headers: &a.headers,
    };
    params.key_id == format!("{}#main-key", blog.actor())
        && cavage::verify(&params, &req, &a.body, &blog.public_key(), Timestamp::now()).is_ok()
}
