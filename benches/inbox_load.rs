//! Load generator for the companion (`stoa inbox`), all on loopback.
//!
//! Makes a site with the release `stoa` binary (`stoa init`, `stoa build`),
//! starts a loopback "peer" that serves actor documents for many accounts
//! (RSA-2048 keys made up front) and takes the companion's Accepts, starts
//! `stoa inbox` on it, warms the companion's key cache with one signed Like
//! per account, then, per run, signs every request of the run before the
//! clock starts (distinct bodies, so distinct signatures: the companion
//! refuses replays) and fires them over keep-alive connections:
//!
//! * `closed`: a fixed number of connections, each sending its next request
//!   as soon as the previous answer arrives (the most the companion takes);
//! * `paced`: the same connections, but request `i` is due at
//!   `start + i / rate` and its latency counts from that moment, so a
//!   companion that falls behind is charged for the wait (no coordinated
//!   omission).
//!
//! Each round does both without (`plain`) and then with (`loris`) slow
//! connections held open: each sends a partial request head, one more byte
//! every few seconds, and is reopened when the companion drops it. Rounds
//! alternate the phases so a neighbour's load on a shared machine falls on
//! both. Reports throughput, latency percentiles, the companion's CPU,
//! memory and threads, and checks with `GET /admin/status` that every
//! accepted activity was applied and every Follow answered. Bounded: fixed
//! counts and a hard time limit after which the companion is killed and the
//! program exits.
//!
//! ```sh
//! cargo build --release && cargo bench --bench inbox_load
//! cargo bench --bench inbox_load -- --runs 1 --requests 5000 --loris 200   # quicker
//! ```
//!
//! Options: `--actors N` (200), `--requests N` per run (20000),
//! `--concurrency N` (64), `--rate R` for paced runs (2000), `--runs N` (3),
//! `--loris N` (1000), `--loris-interval-ms N` (2000), `--follow-percent P`
//! (5), `--modes closed,paced`, `--phases plain,loris` (or `tarpit`: 64
//! requests in flight whose key documents never come, `--tarpit N`),
//! `--time-limit S`
//! (1800), `--arena-max N` (2, as the systemd unit sets `MALLOC_ARENA_MAX`;
//! 0 leaves glibc's default), `--stoa PATH` (else `$STOA_BIN`, else the
//! binary Cargo built, else `target/release/stoa`). The open-files limit
//! must allow `loris + concurrency + 256` descriptors (`ulimit -n`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use rayon::prelude::*;
use serde_json::{Value, json};
use stoa::signatures::cavage;
use stoa::signatures::keys::{self, SigningKey};
use tokio::net::TcpStream;

const TOKEN: &str = "inbox-load-admin-token-0123456789";

type Res<T> = Result<T, String>;

#[derive(Debug, Clone)]
struct Options {
    actors: usize,
    requests: usize,
    concurrency: usize,
    rate: f64,
    runs: usize,
    loris: usize,
    loris_interval: Duration,
    tarpit: usize,
    follow_percent: f64,
    modes: Vec<Mode>,
    phases: Vec<Phase>,
    time_limit: Duration,
    stoa: Option<PathBuf>,
    arena_max: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    Closed,
    Paced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Plain,
    Loris,
    Tarpit,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Closed => "closed",
            Mode::Paced => "paced",
        }
    }
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Plain => "plain",
            Phase::Loris => "loris",
            Phase::Tarpit => "tarpit",
        }
    }
}

/// A comma-separated option value, each item named by `pick`.
fn list<T>(flag: &str, value: String, pick: impl Fn(&str) -> Option<T>) -> Res<Vec<T>> {
    value
        .split(',')
        .map(|item| pick(item).ok_or_else(|| format!("{flag}: unknown value {item}")))
        .collect()
}

fn parse_options() -> Res<Options> {
    let mut o = Options {
        actors: 200,
        requests: 20_000,
        concurrency: 64,
        rate: 2000.0,
        runs: 3,
        loris: 1000,
        loris_interval: Duration::from_millis(2000),
        tarpit: 64,
        follow_percent: 5.0,
        modes: vec![Mode::Closed, Mode::Paced],
        phases: vec![Phase::Plain, Phase::Loris],
        time_limit: Duration::from_secs(1800),
        stoa: std::env::var_os("STOA_BIN").map(PathBuf::from),
        arena_max: 2,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--bench" {
            continue; // added by `cargo bench`
        }
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        let num = |v: String| -> Res<f64> {
            v.parse::<f64>()
                .map_err(|_| format!("{a}: not a number: {v}"))
        };
        match a.as_str() {
            "--actors" => o.actors = num(value()?)? as usize,
            "--requests" => o.requests = num(value()?)? as usize,
            "--concurrency" => o.concurrency = num(value()?)? as usize,
            "--rate" => o.rate = num(value()?)?,
            "--runs" => o.runs = num(value()?)? as usize,
            "--loris" => o.loris = num(value()?)? as usize,
            "--tarpit" => o.tarpit = num(value()?)? as usize,
            "--loris-interval-ms" => {
                o.loris_interval = Duration::from_millis(num(value()?)? as u64)
            }
            "--follow-percent" => o.follow_percent = num(value()?)?,
            "--time-limit" => o.time_limit = Duration::from_secs_f64(num(value()?)?),
            "--stoa" => o.stoa = Some(PathBuf::from(value()?)),
            "--arena-max" => o.arena_max = num(value()?)? as usize,
            "--modes" => {
                o.modes = list("--modes", value()?, |m| match m {
                    "closed" => Some(Mode::Closed),
                    "paced" => Some(Mode::Paced),
                    _ => None,
                })?
            }
            "--phases" => {
                o.phases = list("--phases", value()?, |m| match m {
                    "plain" => Some(Phase::Plain),
                    "loris" => Some(Phase::Loris),
                    "tarpit" => Some(Phase::Tarpit),
                    _ => None,
                })?
            }
            _ => {
                return Err(format!(
                    "unknown argument {a} (see the comment atop the file)"
                ));
            }
        }
    }
    if o.actors == 0 || o.requests == 0 || o.concurrency == 0 || o.runs == 0 || o.rate <= 0.0 {
        return Err("counts and the rate must be positive".into());
    }
    Ok(o)
}

fn main() {
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("inbox_load: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&options) {
        eprintln!("inbox_load: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------- processes

/// The companion process; killed when dropped (also on panic) or by the
/// watchdog when the time limit passes.
struct Companion {
    child: Arc<Mutex<Option<Child>>>,
    pid: u32,
    addr: SocketAddr,
    log: PathBuf,
}

impl Companion {
    fn stop(&self) -> Option<std::process::ExitStatus> {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let mut child = guard.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Companion {
    fn drop(&mut self) {
        let mut guard = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = guard.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Kills the companion, removes the site and exits when the time limit
/// passes or the program gets SIGTERM or SIGINT.
fn watchdog(limit: Duration, child: Arc<Mutex<Option<Child>>>, dir: PathBuf) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        let (why, code) = rt.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tokio::time::sleep(limit).await;
                return ("time limit reached", 3);
            };
            tokio::select! {
                () = tokio::time::sleep(limit) => ("time limit reached", 3),
                _ = term.recv() => ("SIGTERM", 143),
                _ = int.recv() => ("SIGINT", 130),
            }
        });
        eprintln!("inbox_load: {why}; stopping the companion");
        if let Some(mut c) = child.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::process::exit(code);
    });
}

fn stoa_binary(o: &Options) -> Res<PathBuf> {
    let path = o.stoa.clone().unwrap_or_else(|| {
        option_env!("CARGO_BIN_EXE_stoa").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/stoa"),
            PathBuf::from,
        )
    });
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "no stoa binary at {}; run `cargo build --release` or pass --stoa",
            path.display()
        ))
    }
}

fn free_port() -> Res<u16> {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn run_ok(cmd: &mut Command, what: &str) -> Res<()> {
    let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `stoa init` + `[companion] allow_private_addresses` + `stoa build`.
/// Returns the site root and the id of a post's ActivityPub object.
fn make_site(stoa: &Path, dir: &Path, base: &str) -> Res<(PathBuf, String)> {
    let root = dir.join("blog");
    run_ok(
        Command::new(stoa)
            .args([
                "init",
                "--title",
                "Load",
                "--username",
                "blog",
                "--base-url",
            ])
            .arg(base)
            .arg(&root),
        "stoa init",
    )?;
    let config = root.join("stoa.toml");
    let text = std::fs::read_to_string(&config).map_err(|e| e.to_string())?;
    let text = if text.contains("\n[companion]\n") {
        text.replacen(
            "\n[companion]\n",
            "\n[companion]\nallow_private_addresses = true\n",
            1,
        )
    } else {
        format!("{text}\n[companion]\nallow_private_addresses = true\n")
    };
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    run_ok(
        Command::new(stoa).arg("build").arg("--root").arg(&root),
        "stoa build",
    )?;
    let posts = root.join("public/ap/posts");
    let first = std::fs::read_dir(&posts)
        .map_err(|e| format!("{}: {e}", posts.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .min()
        .ok_or("the built site has no post object")?;
    Ok((root, format!("{base}/ap/posts/{first}")))
}

fn start_companion(
    stoa: &Path,
    root: &Path,
    port: u16,
    arena_max: usize,
    child_slot: Arc<Mutex<Option<Child>>>,
) -> Res<Companion> {
    let log = root.parent().unwrap_or(root).join("companion.log");
    let file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(stoa);
    // As docs/deploy/stoa-inbox.service runs it (0: glibc's default).
    if arena_max > 0 {
        cmd.env("MALLOC_ARENA_MAX", arena_max.to_string());
    } else {
        cmd.env_remove("MALLOC_ARENA_MAX");
    }
    let child = cmd
        .arg("inbox")
        .arg("--root")
        .arg(root)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--site")
        .arg(root.join("public"))
        .env("STOA_ADMIN_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start stoa inbox: {e}"))?;
    let pid = child.id();
    *child_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
    let c = Companion {
        child: child_slot,
        pid,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if matches!(http_get(c.addr, "/healthz", None), Ok((200, _))) {
            return Ok(c);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "the companion did not start:\n{}",
        std::fs::read_to_string(&c.log).unwrap_or_default()
    ))
}

/// A blocking one-shot GET (admin API, health): (status, body).
fn http_get(addr: SocketAddr, path: &str, token: Option<&str>) -> Res<(u16, String)> {
    let mut s = StdStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad response: {text}"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_string()))
}

fn admin_status(addr: SocketAddr) -> Res<Value> {
    match http_get(addr, "/admin/status", Some(TOKEN))? {
        (200, body) => serde_json::from_str(&body).map_err(|e| format!("status JSON: {e}")),
        (s, body) => Err(format!("/admin/status answered {s}: {body}")),
    }
}

fn n(v: &Value, path: &[&str]) -> i64 {
    path.iter().fold(v, |v, k| &v[*k]).as_i64().unwrap_or(0)
}

/// How long the backlog took to empty after a run.
struct Drained {
    /// Until no received activity waited (the processing backlog).
    incoming: Duration,
    /// Until no delivery was pending either (Accepts to the Follows).
    all: Duration,
    status: Value,
}

/// Waits until no received activity is queued and, with `deliveries`, no
/// delivery either.
fn wait_drained(addr: SocketAddr, limit: Duration, deliveries: bool) -> Res<Drained> {
    let t0 = Instant::now();
    let mut incoming = None;
    loop {
        let s = admin_status(addr)?;
        if n(&s, &["incoming_backlog"]) == 0 {
            let done = *incoming.get_or_insert(t0.elapsed());
            if !deliveries || n(&s, &["deliveries", "pending"]) == 0 {
                return Ok(Drained {
                    incoming: done,
                    all: t0.elapsed(),
                    status: s,
                });
            }
        }
        if t0.elapsed() > limit {
            return Err(format!("backlog not drained after {limit:?}: {s}"));
        }
        // Not too often: `/admin/status` counts every interaction.
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------- /proc

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks (100 per second on Linux).
fn cpu_ticks(pid: &str) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12) // utime, stime (fields 14 and 15 of stat)
}

/// (busy, total) jiffies of the whole machine.
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn nofile_soft_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Samples the companion's RSS and open descriptors and the open slow-loris
/// connections while a run goes on.
#[derive(Default)]
struct Gauges {
    rss_max_kib: AtomicU64,
    fds_max: AtomicU64,
    threads_max: AtomicU64,
    loris_open: AtomicUsize,
    loris_open_min: AtomicUsize,
    stop: AtomicBool,
}

impl Gauges {
    fn reset(&self) {
        self.rss_max_kib.store(0, Ordering::Relaxed);
        self.fds_max.store(0, Ordering::Relaxed);
        self.threads_max.store(0, Ordering::Relaxed);
        self.loris_open_min.store(usize::MAX, Ordering::Relaxed);
    }
}

fn start_sampler(pid: u32, g: Arc<Gauges>) {
    std::thread::spawn(move || {
        let mut tick = 0u64;
        while !g.stop.load(Ordering::Relaxed) {
            g.rss_max_kib
                .fetch_max(proc_status_kib(pid, "VmRSS:"), Ordering::Relaxed);
            g.threads_max
                .fetch_max(proc_status_kib(pid, "Threads:"), Ordering::Relaxed);
            g.loris_open_min
                .fetch_min(g.loris_open.load(Ordering::Relaxed), Ordering::Relaxed);
            if tick.is_multiple_of(10)
                && let Ok(d) = std::fs::read_dir(format!("/proc/{pid}/fd"))
            {
                g.fds_max.fetch_max(d.count() as u64, Ordering::Relaxed);
            }
            tick += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}

// ---------------------------------------------------------------- the peer

struct Account {
    id: String,
    key_id: String,
    key: SigningKey,
}

#[derive(Default)]
struct PeerCounters {
    actor_fetches: AtomicUsize,
    slow_fetches: AtomicUsize,
    inbox_posts: AtomicUsize,
}

type PeerState = (Arc<HashMap<String, String>>, Arc<PeerCounters>);

/// Serves the accounts' actor documents and takes the blog's deliveries.
fn start_peer(
    listener: StdListener,
    docs: HashMap<String, String>,
    counters: Arc<PeerCounters>,
) -> Res<tokio::runtime::Runtime> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("peer")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let listener = {
        let _guard = rt.enter();
        tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?
    };
    let app = Router::new()
        .route("/users/{name}", get(peer_actor))
        .route("/slow/{name}", get(peer_slow))
        .route("/users/{name}/inbox", post(peer_inbox))
        .route("/inbox", post(peer_shared_inbox))
        .with_state((Arc::new(docs), counters));
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(rt)
}

async fn peer_actor(
    State((docs, counters)): State<PeerState>,
    UrlPath(name): UrlPath<String>,
) -> Response {
    counters.actor_fetches.fetch_add(1, Ordering::Relaxed);
    match docs.get(&name) {
        Some(doc) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "application/activity+json",
            )],
            doc.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A key document that never comes (the companion gives up after its
/// fetch timeout).
async fn peer_slow(State((_, counters)): State<PeerState>) -> StatusCode {
    counters.slow_fetches.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(60)).await;
    StatusCode::NOT_FOUND
}

// Both read the body: hyper closes a keep-alive connection whose request
// body was left unread, and the companion's client may then reuse it.
async fn peer_inbox(State((_, counters)): State<PeerState>, _body: Bytes) -> StatusCode {
    counters.inbox_posts.fetch_add(1, Ordering::Relaxed);
    StatusCode::ACCEPTED
}

async fn peer_shared_inbox(State((_, counters)): State<PeerState>, _body: Bytes) -> StatusCode {
    counters.inbox_posts.fetch_add(1, Ordering::Relaxed);
    StatusCode::ACCEPTED
}

fn make_accounts(base: &str, count: usize) -> Res<(Vec<Account>, HashMap<String, String>)> {
    let made: Vec<Res<(Account, String, String)>> = (0..count)
        .into_par_iter()
        .map(|i| {
            let pair = keys::generate().map_err(|e| e.to_string())?;
            let key = SigningKey::from_pem(pair.private_pem.expose()).map_err(|e| e.to_string())?;
            let name = format!("u{i}");
            let id = format!("{base}/users/{name}");
            let doc = json!({
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "id": id,
                "type": "Person",
                "preferredUsername": name,
                "inbox": format!("{id}/inbox"),
                "endpoints": {"sharedInbox": format!("{base}/inbox")},
                "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": pair.public_pem},
            })
            .to_string();
            Ok((
                Account {
                    key_id: format!("{id}#main-key"),
                    id,
                    key,
                },
                name,
                doc,
            ))
        })
        .collect();
    let mut accounts = Vec::with_capacity(count);
    let mut docs = HashMap::with_capacity(count);
    for m in made {
        let (a, name, doc) = m?;
        accounts.push(a);
        docs.insert(name, doc);
    }
    Ok((accounts, docs))
}

// ---------------------------------------------------------------- requests

/// A run's requests, signed, as the bytes to write.
struct Batch {
    requests: Vec<Vec<u8>>,
    likes: usize,
    follows: usize,
    followers: HashSet<usize>,
}

/// A small deterministic generator (which account, Like or Follow).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

struct Target<'a> {
    inbox_url: &'a str,
    post: &'a str,
    blog_actor: &'a str,
}

fn sign_batch(
    accounts: &[Account],
    t: &Target,
    tag: &str,
    count: usize,
    follow_percent: f64,
    seed: u64,
    round_robin: bool,
) -> Res<Batch> {
    let mut rng = SplitMix(seed);
    let plan: Vec<(usize, bool)> = (0..count)
        .map(|i| {
            if round_robin {
                (i % accounts.len(), false)
            } else {
                let who = (rng.next() % accounts.len() as u64) as usize;
                let follow = ((rng.next() % 10_000) as f64) < follow_percent * 100.0;
                (who, follow)
            }
        })
        .collect();
    let now = Timestamp::now();
    let requests: Vec<Res<Vec<u8>>> = plan
        .par_iter()
        .enumerate()
        .map(|(i, &(who, follow))| {
            let a = &accounts[who];
            let body = if follow {
                json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": format!("{}/follows/{tag}-{i}", a.id),
                    "type": "Follow",
                    "actor": a.id,
                    "object": t.blog_actor,
                })
            } else {
                json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": format!("{}/likes/{tag}-{i}", a.id),
                    "type": "Like",
                    "actor": a.id,
                    "object": t.post,
                })
            }
            .to_string()
            .into_bytes();
            signed_post(&a.key, &a.key_id, t.inbox_url, &body, now)
        })
        .collect();
    let requests = requests.into_iter().collect::<Res<Vec<_>>>()?;
    let follows = plan.iter().filter(|p| p.1).count();
    Ok(Batch {
        requests,
        likes: count - follows,
        follows,
        followers: plan.iter().filter(|p| p.1).map(|p| p.0).collect(),
    })
}

/// A signed `POST` of `body` to `url`, as the bytes to write.
fn signed_post(
    key: &SigningKey,
    key_id: &str,
    url: &str,
    body: &[u8],
    now: Timestamp,
) -> Res<Vec<u8>> {
    let headers =
        cavage::sign(key, key_id, "POST", url, Some(body), now).map_err(|e| e.to_string())?;
    let path = url
        .splitn(4, '/')
        .nth(3)
        .map_or("/".to_string(), |p| format!("/{p}"));
    let mut head = format!("POST {path} HTTP/1.1\r\n");
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Type: application/activity+json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    Ok(bytes)
}

// ---------------------------------------------------------------- client

async fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    Ok(s)
}

async fn write_all(s: &TcpStream, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        s.writable().await?;
        match s.try_write(data) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(k) => data = &data[k..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn read_some(s: &TcpStream, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = [0u8; 4096];
    loop {
        s.readable().await?;
        match s.try_read(&mut chunk) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(k) => {
                buf.extend_from_slice(&chunk[..k]);
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
}

struct Answer {
    status: u16,
    close: bool,
    body: String,
}

/// Reads one response (no pipelining, so nothing follows it).
async fn read_response(s: &TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Answer> {
    buf.clear();
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        read_some(s, buf).await?;
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let status = head
        .get(9..12)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let mut length = 0usize;
    let mut close = false;
    for line in head.lines().skip(1) {
        if let Some(v) = line.strip_prefix("content-length:") {
            length = v.trim().parse().map_err(|_| bad("content-length"))?;
        } else if line.starts_with("transfer-encoding:") {
            return Err(bad("chunked answers are not handled"));
        } else if line.starts_with("connection:") && line.contains("close") {
            close = true;
        }
    }
    while buf.len() < end + length {
        read_some(s, buf).await?;
    }
    Ok(Answer {
        status,
        close,
        body: String::from_utf8_lossy(&buf[end..end + length]).into_owned(),
    })
}

#[derive(Default)]
struct Outcome {
    /// Latency of every answered request, µs.
    latencies: Vec<u32>,
    statuses: BTreeMap<u16, usize>,
    io_errors: usize,
    samples: Vec<String>,
    wall: Duration,
}

/// Sends every request over `concurrency` keep-alive connections; `rate`
/// paces them (latency from the due time) or, if `None`, each connection
/// sends as fast as it is answered.
async fn fire(
    addr: SocketAddr,
    requests: Arc<Vec<Vec<u8>>>,
    concurrency: usize,
    rate: Option<f64>,
) -> Res<Outcome> {
    let mut conns = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.min(requests.len()) {
        conns.push(connect(addr).await.map_err(|e| format!("connect: {e}"))?);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for conn in conns {
        let (requests, next) = (requests.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Some(conn);
            let mut out = Outcome::default();
            let mut buf = Vec::with_capacity(1024);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests.len() {
                    break;
                }
                let t0 = match rate {
                    Some(r) => {
                        let due = start + Duration::from_secs_f64(i as f64 / r);
                        tokio::time::sleep_until(due).await;
                        due
                    }
                    None => tokio::time::Instant::now(),
                };
                if conn.is_none() {
                    match connect(addr).await {
                        Ok(c) => conn = Some(c),
                        Err(e) => {
                            out.io_errors += 1;
                            if out.samples.len() < 3 {
                                out.samples.push(format!("reconnect: {e}"));
                            }
                            continue;
                        }
                    }
                }
                let Some(s) = conn.as_ref() else { continue };
                let exchange = async {
                    write_all(s, &requests[i]).await?;
                    read_response(s, &mut buf).await
                };
                match tokio::time::timeout(Duration::from_secs(30), exchange).await {
                    Ok(Ok(a)) => {
                        let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
                        out.latencies.push(us);
                        *out.statuses.entry(a.status).or_default() += 1;
                        if a.status != 202 && out.samples.len() < 3 {
                            out.samples.push(format!("{}: {}", a.status, a.body));
                        }
                        if a.close {
                            conn = None;
                        }
                    }
                    Ok(Err(e)) => {
                        out.io_errors += 1;
                        if out.samples.len() < 3 {
                            out.samples.push(format!("i/o: {e}"));
                        }
                        conn = None;
                    }
                    Err(_) => {
                        out.io_errors += 1;
                        if out.samples.len() < 3 {
                            out.samples.push("no answer within 30 s".into());
                        }
                        conn = None;
                    }
                }
            }
            out
        }));
    }
    let mut all = Outcome::default();
    for t in tasks {
        let o = t.await.map_err(|e| format!("client task: {e}"))?;
        all.latencies.extend(o.latencies);
        for (s, c) in o.statuses {
            *all.statuses.entry(s).or_default() += c;
        }
        all.io_errors += o.io_errors;
        all.samples.extend(o.samples);
    }
    all.wall = start.elapsed();
    Ok(all)
}

// ---------------------------------------------------------------- slow loris

#[derive(Default)]
struct LorisStats {
    opened: AtomicUsize,
    closed_by_companion: AtomicUsize,
    answered_before_close: AtomicUsize,
    connect_errors: AtomicUsize,
    lifetime_ms_sum: AtomicU64,
    lifetime_ms_min: AtomicU64,
    lifetime_ms_max: AtomicU64,
    first_answer: Mutex<Option<String>>,
}

/// Holds `count` connections that send a request head one byte at a time
/// and never finish it; a connection the companion drops is opened again.
fn start_loris(
    addr: SocketAddr,
    count: usize,
    interval: Duration,
    gauges: Arc<Gauges>,
    stats: Arc<LorisStats>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    spawn_clients(count, move |i| {
        let (gauges, stats, stop) = (gauges.clone(), stats.clone(), stop.clone());
        async move {
            // Spread the first connects over about a second.
            tokio::time::sleep(Duration::from_micros(i as u64 * 1000)).await;
            while !stop.load(Ordering::Relaxed) {
                loris_conn(addr, interval, &gauges, &stats, &stop).await;
            }
        }
    })
}

/// Runs `count` client tasks, `task(i)` each, on a runtime of their own in
/// a thread of their own (so they never compete with the measured
/// connections' runtime), until they all end.
fn spawn_clients<F, Fut>(count: usize, task: F) -> std::thread::JoinHandle<()>
where
    F: Fn(usize) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            let tasks: Vec<_> = (0..count).map(|i| tokio::spawn(task(i))).collect();
            for t in tasks {
                let _ = t.await;
            }
        });
    })
}

async fn loris_conn(
    addr: SocketAddr,
    interval: Duration,
    gauges: &Gauges,
    stats: &LorisStats,
    stop: &AtomicBool,
) {
    let Ok(s) = TcpStream::connect(addr).await else {
        stats.connect_errors.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(200)).await;
        return;
    };
    let opened_at = Instant::now();
    stats.opened.fetch_add(1, Ordering::Relaxed);
    gauges.loris_open.fetch_add(1, Ordering::Relaxed);
    let trickle =
        b"X-Loris: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut sent = 0usize;
    let mut dropped = write_all(&s, b"POST /inbox HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .is_err();
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    let mut seen = Vec::new();
    while !dropped && !stop.load(Ordering::Relaxed) {
        tokio::select! {
            _ = tick.tick() => {
                let byte = [trickle[sent % trickle.len()]];
                sent += 1;
                if write_all(&s, &byte).await.is_err() {
                    dropped = true;
                }
            }
            r = read_some(&s, &mut seen) => {
                if r.is_err() {
                    dropped = true;
                }
            }
        }
    }
    gauges.loris_open.fetch_sub(1, Ordering::Relaxed);
    if dropped {
        let ms = opened_at.elapsed().as_millis() as u64;
        stats.closed_by_companion.fetch_add(1, Ordering::Relaxed);
        stats.lifetime_ms_sum.fetch_add(ms, Ordering::Relaxed);
        stats.lifetime_ms_min.fetch_min(ms, Ordering::Relaxed);
        stats.lifetime_ms_max.fetch_max(ms, Ordering::Relaxed);
        if !seen.is_empty() {
            stats.answered_before_close.fetch_add(1, Ordering::Relaxed);
            let mut first = stats.first_answer.lock().unwrap_or_else(|e| e.into_inner());
            if first.is_none() {
                let text = String::from_utf8_lossy(&seen);
                *first = Some(text.lines().next().unwrap_or("").to_string());
            }
        }
    }
}

// ---------------------------------------------------------------- tarpit

#[derive(Default)]
struct TarpitStats {
    in_flight: AtomicUsize,
    sent: AtomicUsize,
    answer_ms_sum: AtomicU64,
    statuses: Mutex<BTreeMap<u16, usize>>,
}

/// Keeps `count` requests in flight whose `keyId` points at a key document
/// the peer never sends: each makes the companion wait for its fetch.
fn start_tarpit(
    addr: SocketAddr,
    count: usize,
    peer_base: String,
    inbox_url: String,
    stats: Arc<TarpitStats>,
    stop: Arc<AtomicBool>,
) -> Res<std::thread::JoinHandle<()>> {
    let pair = keys::generate().map_err(|e| e.to_string())?;
    let key = Arc::new(SigningKey::from_pem(pair.private_pem.expose()).map_err(|e| e.to_string())?);
    Ok(spawn_clients(count, move |i| {
        let (key, stats, stop) = (key.clone(), stats.clone(), stop.clone());
        let (peer_base, inbox_url) = (peer_base.clone(), inbox_url.clone());
        async move {
            let actor = format!("{peer_base}/slow/t{i}");
            let key_id = format!("{actor}#main-key");
            let mut n = 0u64;
            let mut buf = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": format!("{actor}/likes/{n}"),
                    "type": "Like",
                    "actor": actor,
                    "object": format!("{peer_base}/nothing"),
                })
                .to_string()
                .into_bytes();
                let Ok(req) = signed_post(&key, &key_id, &inbox_url, &body, Timestamp::now())
                else {
                    return;
                };
                let t0 = Instant::now();
                stats.in_flight.fetch_add(1, Ordering::Relaxed);
                stats.sent.fetch_add(1, Ordering::Relaxed);
                let exchange = async {
                    let s = connect(addr).await?;
                    write_all(&s, &req).await?;
                    read_response(&s, &mut buf).await
                };
                let status = match tokio::time::timeout(Duration::from_secs(90), exchange).await {
                    Ok(Ok(a)) => a.status,
                    _ => 0,
                };
                stats.in_flight.fetch_sub(1, Ordering::Relaxed);
                stats
                    .answer_ms_sum
                    .fetch_add(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
                *stats
                    .statuses
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(status)
                    .or_default() += 1;
            }
        }
    }))
}

// ---------------------------------------------------------------- the runs

struct RunFigures {
    phase: Phase,
    mode: Mode,
    sent: usize,
    accepted: usize,
    non_202: usize,
    io_errors: usize,
    throughput: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    companion_cpu_s: f64,
    bench_cpu_s: f64,
    machine_busy_pct: f64,
    rss_max_mib: f64,
    drain_s: f64,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let k = v.len();
    if k == 0 {
        f64::NAN
    } else if k % 2 == 1 {
        v[k / 2]
    } else {
        (v[k / 2 - 1] + v[k / 2]) / 2.0
    }
}

/// What the companion must show once everything is applied.
#[derive(Default)]
struct Expected {
    likes: usize,
    follows: usize,
    followers: HashSet<usize>,
}

/// Compares `/admin/status` with what was sent; `deliveries`: also the
/// Accepts (only once they have all been sent).
fn check_counts(
    status: &Value,
    e: &Expected,
    peer: &PeerCounters,
    deliveries: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    let likes = n(status, &["interactions", "like"]);
    if likes != e.likes as i64 {
        problems.push(format!(
            "likes: {likes} stored, {} sent and accepted",
            e.likes
        ));
    }
    let accepted = n(status, &["followers", "accepted"]);
    if accepted != e.followers.len() as i64 {
        problems.push(format!(
            "followers: {accepted} accepted, {} distinct accounts followed",
            e.followers.len()
        ));
    }
    if !deliveries {
        return problems;
    }
    let delivered = n(status, &["deliveries", "delivered"]);
    let failed = n(status, &["deliveries", "failed"]);
    if delivered != e.follows as i64 || failed != 0 {
        problems.push(format!(
            "deliveries: {delivered} delivered and {failed} failed for {} Follows",
            e.follows
        ));
    }
    let posts = peer.inbox_posts.load(Ordering::Relaxed);
    if posts != e.follows {
        problems.push(format!(
            "the peer received {posts} Accepts for {} Follows",
            e.follows
        ));
    }
    problems
}

fn run(o: &Options) -> Res<()> {
    let stoa = stoa_binary(o)?;
    let need_fds = (o.loris + o.concurrency + 256) as u64;
    if let Some(limit) = nofile_soft_limit()
        && o.phases.contains(&Phase::Loris)
        && limit < need_fds
    {
        return Err(format!(
            "the open-files limit is {limit}; {need_fds} are needed (run `ulimit -n 8192` first)"
        ));
    }
    let started = Instant::now();
    let load_before = load_average();
    let dir = tempfile::Builder::new()
        .prefix("stoa-inbox-load-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let child_slot: Arc<Mutex<Option<Child>>> = Arc::new(Mutex::new(None));
    watchdog(o.time_limit, child_slot.clone(), dir.path().to_path_buf());

    println!(
        "inbox_load: {} accounts, {} requests per run, {} connections, paced at {}/s, {} runs, \
         {} slow-loris connections, {}% Follows, MALLOC_ARENA_MAX={}",
        o.actors,
        o.requests,
        o.concurrency,
        o.rate,
        o.runs,
        o.loris,
        o.follow_percent,
        if o.arena_max > 0 {
            o.arena_max.to_string()
        } else {
            "unset".into()
        }
    );
    println!(
        "machine: {} CPUs, load average {load_before}; stoa binary {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        stoa.display()
    );

    // The peer and its accounts.
    let peer_listener = StdListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let peer_base = format!(
        "http://{}",
        peer_listener.local_addr().map_err(|e| e.to_string())?
    );
    let t = Instant::now();
    let (accounts, docs) = make_accounts(&peer_base, o.actors)?;
    println!(
        "made {} RSA-2048 keys in {:.1} s",
        accounts.len(),
        t.elapsed().as_secs_f64()
    );
    let peer_counters = Arc::new(PeerCounters::default());
    let _peer = start_peer(peer_listener, docs, peer_counters.clone())?;

    // The site and its companion.
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let (root, post) = make_site(&stoa, dir.path(), &base)?;
    let companion = start_companion(&stoa, &root, port, o.arena_max, child_slot)?;
    let inbox_url = format!("{base}/inbox");
    let blog_actor = format!("{base}/ap/actor.json");
    let target = Target {
        inbox_url: &inbox_url,
        post: &post,
        blog_actor: &blog_actor,
    };
    let gauges = Arc::new(Gauges::default());
    start_sampler(companion.pid, gauges.clone());
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;

    // Warm-up: one Like per account (the companion fetches and caches each
    // key), not timed.
    let warm = sign_batch(&accounts, &target, "warm", o.actors, 0.0, 1, true)?;
    let outcome = client.block_on(fire(
        companion.addr,
        Arc::new(warm.requests),
        8.min(o.concurrency),
        None,
    ))?;
    if outcome.statuses.get(&202) != Some(&o.actors) {
        return Err(format!(
            "warm-up: {:?}, {} i/o errors, e.g. {:?}\nlog: {}",
            outcome.statuses,
            outcome.io_errors,
            outcome.samples,
            companion.log.display()
        ));
    }
    let expected = Expected {
        likes: o.actors,
        ..Expected::default()
    };
    wait_drained(companion.addr, Duration::from_secs(120), true)?;
    println!(
        "warm-up: {} keys fetched by the companion; {} ms of companion CPU so far",
        peer_counters.actor_fetches.load(Ordering::Relaxed),
        cpu_ticks(&companion.pid.to_string()) * 10
    );

    let ctx = Ctx {
        o,
        accounts: &accounts,
        target: &target,
        companion: &companion,
        gauges: &gauges,
        client: &client,
        peer: &peer_counters,
    };
    let mut tally = Tally {
        figures: Vec::new(),
        expected,
        problems: Vec::new(),
        seed: 2,
    };
    let loris_stats = Arc::new(LorisStats::default());
    let tarpit_stats = Arc::new(TarpitStats::default());
    loris_stats
        .lifetime_ms_min
        .store(u64::MAX, Ordering::Relaxed);
    // Phases alternate within each round, so a neighbour's load on this
    // shared machine falls on both rather than on one.
    for run in 0..o.runs {
        for &phase in &o.phases {
            let loris = if phase == Phase::Loris && o.loris > 0 {
                Some(open_loris(&ctx, &loris_stats)?)
            } else {
                None
            };
            let tarpit = if phase == Phase::Tarpit && o.tarpit > 0 {
                Some(open_tarpit(&ctx, &peer_base, &tarpit_stats)?)
            } else {
                None
            };
            for &mode in &o.modes {
                one_run(&ctx, &mut tally, phase, mode, run)?;
            }
            for (handle, stop) in loris.into_iter().chain(tarpit) {
                stop.store(true, Ordering::Relaxed);
                let _ = handle.join();
            }
        }
    }
    gauges.stop.store(true, Ordering::Relaxed);
    let hwm = proc_status_kib(companion.pid, "VmHWM:");
    let last = wait_drained(companion.addr, Duration::from_secs(300), true)?;
    for p in check_counts(&last.status, &tally.expected, &peer_counters, true) {
        println!("CHECK FAILED at the end: {p}");
        tally.problems.push(p);
    }
    let final_status = last.status;
    let exit = companion.stop();
    let load_after = load_average();

    println!();
    if o.phases.contains(&Phase::Loris) && o.loris > 0 {
        let s = &loris_stats;
        let closed = s.closed_by_companion.load(Ordering::Relaxed);
        println!(
            "slow loris: {} connections opened, {} closed by the companion after {:.1} s on \
             average ({:.1}–{:.1} s), {} of them with an answer first ({}), {} connect errors",
            s.opened.load(Ordering::Relaxed),
            closed,
            s.lifetime_ms_sum.load(Ordering::Relaxed) as f64 / closed.max(1) as f64 / 1000.0,
            s.lifetime_ms_min
                .load(Ordering::Relaxed)
                .min(s.lifetime_ms_max.load(Ordering::Relaxed)) as f64
                / 1000.0,
            s.lifetime_ms_max.load(Ordering::Relaxed) as f64 / 1000.0,
            s.answered_before_close.load(Ordering::Relaxed),
            s.first_answer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .unwrap_or_else(|| "none".into()),
            s.connect_errors.load(Ordering::Relaxed),
        );
    }
    if o.phases.contains(&Phase::Tarpit) && o.tarpit > 0 {
        let s = &tarpit_stats;
        let sent = s.sent.load(Ordering::Relaxed);
        println!(
            "tarpit: {sent} requests with unreachable keys, answered after {:.1} s on average, \
             statuses {:?} (0: no answer); the peer saw {} key fetches",
            s.answer_ms_sum.load(Ordering::Relaxed) as f64 / sent.max(1) as f64 / 1000.0,
            s.statuses.lock().unwrap_or_else(|e| e.into_inner()),
            peer_counters.slow_fetches.load(Ordering::Relaxed),
        );
    }
    println!(
        "companion VmHWM (peak RSS) at the end: {:.1} MiB",
        hwm as f64 / 1024.0
    );
    println!("final /admin/status: {final_status}");
    println!(
        "companion exit on SIGTERM: {}",
        exit.map_or("killed".into(), |s| s.to_string())
    );
    report_log(&companion.log);
    println!(
        "load average before {load_before}, after {load_after}; {:.0} s in all",
        started.elapsed().as_secs_f64()
    );
    println!();
    print_table(&tally.figures);
    if tally.problems.is_empty() {
        println!("\nchecks: every run answered 202 to every request and all of it was applied");
        Ok(())
    } else {
        Err(format!(
            "{} check(s) failed (see above)",
            tally.problems.len()
        ))
    }
}

/// What every run needs.
struct Ctx<'a> {
    o: &'a Options,
    accounts: &'a [Account],
    target: &'a Target<'a>,
    companion: &'a Companion,
    gauges: &'a Arc<Gauges>,
    client: &'a tokio::runtime::Runtime,
    peer: &'a PeerCounters,
}

/// What the runs add up.
struct Tally {
    figures: Vec<RunFigures>,
    expected: Expected,
    problems: Vec<String>,
    seed: u64,
}

type LorisHandle = (std::thread::JoinHandle<()>, Arc<AtomicBool>);

/// Starts the tarpit requests and waits until all are in flight.
fn open_tarpit(ctx: &Ctx, peer_base: &str, stats: &Arc<TarpitStats>) -> Res<LorisHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let handle = start_tarpit(
        ctx.companion.addr,
        ctx.o.tarpit,
        peer_base.to_string(),
        ctx.target.inbox_url.to_string(),
        stats.clone(),
        stop.clone(),
    )?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats.in_flight.load(Ordering::Relaxed) < ctx.o.tarpit && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(1));
    println!(
        "{} requests with unreachable keys in flight",
        stats.in_flight.load(Ordering::Relaxed)
    );
    Ok((handle, stop))
}

/// Opens the slow connections and waits until all are open.
fn open_loris(ctx: &Ctx, stats: &Arc<LorisStats>) -> Res<LorisHandle> {
    let (o, pid, gauges) = (ctx.o, ctx.companion.pid, ctx.gauges);
    let rss_before = proc_status_kib(pid, "VmRSS:");
    let stop = Arc::new(AtomicBool::new(false));
    let handle = start_loris(
        ctx.companion.addr,
        o.loris,
        o.loris_interval,
        gauges.clone(),
        stats.clone(),
        stop.clone(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while gauges.loris_open.load(Ordering::Relaxed) < o.loris {
        if Instant::now() > deadline {
            return Err(format!(
                "only {} of {} slow connections opened",
                gauges.loris_open.load(Ordering::Relaxed),
                o.loris
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let rss_after = proc_status_kib(pid, "VmRSS:");
    println!(
        "{} slow-loris connections open; companion VmRSS {:.1} MiB before them, {:.1} MiB with \
         them, idle",
        o.loris,
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    Ok((handle, stop))
}

/// Signs one run's requests, fires them, waits for the backlog to drain and
/// checks the counts.
fn one_run(ctx: &Ctx, tally: &mut Tally, phase: Phase, mode: Mode, run: usize) -> Res<()> {
    let (o, companion, gauges) = (ctx.o, ctx.companion, ctx.gauges);
    tally.seed += 1;
    let tag = format!("{}-{}-{run}", phase.name(), mode.name());
    let t = Instant::now();
    let batch = sign_batch(
        ctx.accounts,
        ctx.target,
        &tag,
        o.requests,
        o.follow_percent,
        tally.seed,
        false,
    )?;
    let signing = t.elapsed();
    let requests = Arc::new(batch.requests);
    gauges.reset();
    let load = load_average();
    let pid = companion.pid.to_string();
    let (c0, b0, m0) = (cpu_ticks(&pid), cpu_ticks("self"), machine_ticks());
    let rate = (mode == Mode::Paced).then_some(o.rate);
    let mut out = ctx
        .client
        .block_on(fire(companion.addr, requests, o.concurrency, rate))?;
    let (c1, b1, m1) = (cpu_ticks(&pid), cpu_ticks("self"), machine_ticks());
    let (rss, fds, threads, open_min) = (
        gauges.rss_max_kib.load(Ordering::Relaxed),
        gauges.fds_max.load(Ordering::Relaxed),
        gauges.threads_max.load(Ordering::Relaxed),
        gauges.loris_open_min.load(Ordering::Relaxed),
    );
    // Requests with unreachable keys also hold the threads deliveries need:
    // in that phase only the received activities are waited for.
    let deliveries = phase != Phase::Tarpit;
    let drained = wait_drained(companion.addr, Duration::from_secs(300), deliveries)?;
    let (drain, status) = (drained.incoming, drained.status);
    let accepted = out.statuses.get(&202).copied().unwrap_or(0);
    // Only what was accepted counts; a refused request stores nothing.
    if accepted == o.requests {
        tally.expected.likes += batch.likes;
        tally.expected.follows += batch.follows;
        tally.expected.followers.extend(batch.followers);
    }
    let found = check_counts(&status, &tally.expected, ctx.peer, deliveries);
    out.latencies.sort_unstable();
    let wall = out.wall.as_secs_f64();
    let f = RunFigures {
        phase,
        mode,
        sent: o.requests,
        accepted,
        non_202: out.latencies.len() - accepted,
        io_errors: out.io_errors,
        throughput: accepted as f64 / wall,
        p50_ms: percentile(&out.latencies, 50.0),
        p99_ms: percentile(&out.latencies, 99.0),
        max_ms: percentile(&out.latencies, 100.0),
        companion_cpu_s: (c1 - c0) as f64 / 100.0,
        bench_cpu_s: (b1 - b0) as f64 / 100.0,
        machine_busy_pct: 100.0 * (m1.0 - m0.0) as f64 / ((m1.1 - m0.1).max(1)) as f64,
        rss_max_mib: rss as f64 / 1024.0,
        drain_s: drain.as_secs_f64(),
    };
    println!(
        "{:<5} {:<6} run {}: {:>6.0}/s accepted ({} of {} in {:.2} s), p50 {:.1} ms, p99 {:.1} \
         ms, max {:.1} ms, non-202 {}, i/o errors {}; companion CPU {:.2} s, bench CPU {:.2} s, \
         machine busy {:.0} %, companion VmRSS max {:.1} MiB, threads max {threads}, fds max \
         {fds}{}; backlog drained {:.2} s later, deliveries {:.2} s; signed in {:.1} \
         s; load {load}",
        phase.name(),
        mode.name(),
        run + 1,
        f.throughput,
        accepted,
        o.requests,
        wall,
        f.p50_ms,
        f.p99_ms,
        f.max_ms,
        f.non_202,
        f.io_errors,
        f.companion_cpu_s,
        f.bench_cpu_s,
        f.machine_busy_pct,
        f.rss_max_mib,
        if phase == Phase::Loris {
            format!(", slow connections open ≥ {open_min}")
        } else {
            String::new()
        },
        f.drain_s,
        drained.all.as_secs_f64(),
        signing.as_secs_f64(),
    );
    if !out.samples.is_empty() {
        println!("    e.g. {:?}", out.samples);
    }
    for p in &found {
        println!("    CHECK FAILED: {p}");
    }
    tally.problems.extend(found);
    tally.figures.push(f);
    Ok(())
}

/// Counts the companion's warnings and errors and shows a few.
fn report_log(path: &Path) {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    for level in [" WARN ", " ERROR "] {
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(level)).collect();
        println!("companion log: {} lines at{level}level", lines.len());
        for l in lines.iter().take(5) {
            println!("    {}", l.chars().take(300).collect::<String>());
        }
    }
}

fn print_table(figures: &[RunFigures]) {
    println!(
        "| phase | mode | accepted/s | p50 ms | p99 ms | max ms | non-202 + i/o errors | \
         companion CPU ms / 1k | bench CPU s | machine busy % | companion VmRSS max MiB | \
         backlog drain s |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut keys: Vec<(Phase, Mode)> = figures.iter().map(|f| (f.phase, f.mode)).collect();
    keys.dedup();
    keys.sort();
    keys.dedup();
    for (phase, mode) in keys {
        let runs: Vec<&RunFigures> = figures
            .iter()
            .filter(|f| f.phase == phase && f.mode == mode)
            .collect();
        let cell = |get: &dyn Fn(&RunFigures) -> f64, digits: usize| {
            let mut v: Vec<f64> = runs.iter().map(|f| get(f)).collect();
            let (lo, hi) = (
                v.iter().copied().fold(f64::INFINITY, f64::min),
                v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            );
            let m = median(&mut v);
            if runs.len() > 1 {
                format!("{m:.digits$} ({lo:.digits$}–{hi:.digits$})")
            } else {
                format!("{m:.digits$}")
            }
        };
        let errors: usize = runs.iter().map(|f| f.non_202 + f.io_errors).sum();
        let sent: usize = runs.iter().map(|f| f.sent).sum();
        println!(
            "| {} | {} | {} | {} | {} | {} | {errors} of {sent} | {} | {} | {} | {} | {} |",
            phase.name(),
            mode.name(),
            cell(&|f| f.throughput, 0),
            cell(&|f| f.p50_ms, 1),
            cell(&|f| f.p99_ms, 1),
            cell(&|f| f.max_ms, 1),
            cell(
                &|f| 1000.0 * f.companion_cpu_s * 1000.0 / f.accepted.max(1) as f64,
                0
            ),
            cell(&|f| f.bench_cpu_s, 1),
            cell(&|f| f.machine_busy_pct, 0),
            cell(&|f| f.rss_max_mib, 1),
            cell(&|f| f.drain_s, 1),
        );
    }
}
