//! Fan-out benchmark for `stoa publish`: one new post to 10,000 followers
//! on 2,000 servers, all on loopback.
//!
//! The servers are 2,000 addresses of the loopback range (127.0.1.1 to
//! 127.0.8.250) on one port, served by a sink in this process that answers
//! 202 and verifies the signature of every 20th delivery with the blog's
//! published key. Each server has 5 followers sharing its shared inbox, so a
//! post is 2,000 deliveries. The companion is the release `stoa inbox`,
//! the publish is the release `stoa publish --no-wait`; the drain time runs
//! from the moment `publish` returns (everything queued) to the last
//! delivery recorded by the companion. The bound it is compared with is the
//! RSA signing the deliveries need (one signature each), measured here with
//! `ring` on this machine and spread over its cores.
//!
//! ```sh
//! cargo bench --bench fanout                 # 3 runs
//! cargo bench --bench fanout -- --runs 1     # quicker
//! ```
//!
//! Bounded: fixed counts, a 300 s limit per run; the companion is killed at
//! the end. Needs about 2,100 file descriptors (`ulimit -n`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use stoa::companion::store::Store;
use stoa::companion::store::followers::{self, FollowState, Follower};
use stoa::signatures::cavage;
use stoa::signatures::keys::{PublicKey, SigningKey};

const TOKEN: &str = "fanout-bench-admin-token-0123456789";
const HOSTS: usize = 2000;
const PER_HOST: usize = 5;
const SAMPLE_EVERY: usize = 20;
const RUN_LIMIT: Duration = Duration::from_secs(300);

type Res<T> = Result<T, String>;

fn main() {
    let runs = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3usize);
    if let Err(e) = run(runs) {
        eprintln!("fanout: {e}");
        std::process::exit(1);
    }
}

/// What the sink saw.
#[derive(Default)]
struct Sink {
    received: AtomicUsize,
    checked: AtomicUsize,
    bad: AtomicUsize,
    key: std::sync::OnceLock<PublicKey>,
}

async fn inbox(State(sink): State<Arc<Sink>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let n = sink.received.fetch_add(1, Ordering::SeqCst);
    if n % SAMPLE_EVERY == 0 {
        let pairs: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let ok = pairs
            .iter()
            .find(|(k, _)| k == "signature")
            .and_then(|(_, v)| cavage::parse_header(v).ok())
            .zip(sink.key.get())
            .is_some_and(|(params, key)| {
                let req = stoa::signatures::RequestParts {
                    method: "POST",
                    path_and_query: "/inbox",
                    headers: &pairs,
                };
                cavage::verify(&params, &req, &body, key, jiff::Timestamp::now()).is_ok()
            });
        sink.checked.fetch_add(1, Ordering::SeqCst);
        if !ok {
            sink.bad.fetch_add(1, Ordering::SeqCst);
        }
    }
    StatusCode::ACCEPTED
}

fn host(i: usize) -> String {
    format!("127.0.{}.{}", i / 250 + 1, i % 250 + 1)
}

fn free_port() -> Res<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn stoa(args: &[&str], root: &Path) -> Res<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_stoa"))
        .args(args)
        .arg("--root")
        .arg(root)
        .env("STOA_ADMIN_TOKEN", TOKEN)
        .output()
        .map_err(|e| format!("stoa {args:?}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "stoa {args:?} failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(text)
}

fn proc_field_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the comm field.
    (f.get(11).unwrap_or(&0) + f.get(12).unwrap_or(&0)) as f64 / 100.0
}

/// Signatures per second on one core with `ring` (the bound's unit).
fn signs_per_second(key: &SigningKey) -> f64 {
    let started = Instant::now();
    let n = 300;
    for i in 0..n {
        let _ = key
            .sign(format!("(request-target): post /inbox\nhost: 127.0.0.1\ndate: {i}").as_bytes());
    }
    n as f64 / started.elapsed().as_secs_f64()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn admin(base: &str, path: &str) -> Res<Value> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .get(&format!("{base}/admin/{path}"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .call()
        .map_err(|e| format!("admin/{path}: {e}"))?;
    serde_json::from_str(&r.body_mut().read_to_string().unwrap_or_default())
        .map_err(|e| format!("admin/{path}: {e}"))
}

fn run(runs: usize) -> Res<()> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let root = dir.path().join("blog");
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let out = Command::new(env!("CARGO_BIN_EXE_stoa"))
        .args(["init", "--username", "blog", "--base-url", &base])
        .arg(&root)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let config = root.join("stoa.toml");
    let text = std::fs::read_to_string(&config).map_err(|e| e.to_string())?;
    std::fs::write(
        &config,
        text.replace(
            "[companion]\n",
            "[companion]\nallow_private_addresses = true\n",
        ),
    )
    .map_err(|e| e.to_string())?;
    stoa(&["build"], &root)?;

    // The sink: 2,000 servers.
    let sink = Arc::new(Sink::default());
    let pem = std::fs::read_to_string(root.join("actor-key.pub.pem")).map_err(|e| e.to_string())?;
    let _ = sink
        .key
        .set(PublicKey::from_pem(&pem).map_err(|e| e.to_string())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let sink_port = free_port()?;
    for i in 0..HOSTS {
        let addr: std::net::SocketAddr = format!("{}:{sink_port}", host(i))
            .parse()
            .map_err(|e| format!("{e}"))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .map_err(|e| format!("binding {addr}: {e} (raise `ulimit -n` above 2100)"))?;
        let app = Router::new()
            .route("/inbox", post(inbox))
            .with_state(sink.clone());
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }

    // 10,000 followers, 5 per server, sharing its shared inbox.
    {
        let mut store = Store::open(&root.join("companion/stoa.db")).map_err(|e| e.to_string())?;
        let tx = store.transaction().map_err(|e| e.to_string())?;
        for i in 0..HOSTS {
            let server = format!("http://{}:{sink_port}", host(i));
            for u in 0..PER_HOST {
                let actor = format!("{server}/users/u{u}");
                followers::upsert(
                    &tx,
                    &Follower {
                        inbox: format!("{actor}/inbox"),
                        shared_inbox: Some(format!("{server}/inbox")),
                        handle: None,
                        follow_id: format!("{actor}/follows/1"),
                        follow_json: "{}".into(),
                        state: FollowState::Accepted,
                        created_at: 0,
                        moved_from: None,
                        actor,
                    },
                )
                .map_err(|e| e.to_string())?;
            }
        }
        tx.commit().map_err(|e| e.to_string())?;
    }

    let child = Command::new(env!("CARGO_BIN_EXE_stoa"))
        .args(["inbox", "--root"])
        .arg(&root)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--site"])
        .arg(root.join("public"))
        .env("STOA_ADMIN_TOKEN", TOKEN)
        .env("STOA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id();
    let _companion = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while admin(&base, "status").is_err() {
        if Instant::now() > deadline {
            return Err("the companion did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stoa(&["publish", "--no-deploy"], &root)?; // the baseline: sends nothing

    let key_pem =
        std::fs::read_to_string(root.join("secrets/actor-key.pem")).map_err(|e| e.to_string())?;
    let rate = signs_per_second(&SigningKey::from_pem(&key_pem).map_err(|e| e.to_string())?);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bound = HOSTS as f64 / (rate * cores as f64);
    println!(
        "fan-out: {} followers on {HOSTS} servers; ring signs {rate:.0}/s per core here, so {HOSTS} signatures on {cores} cores take {bound:.2} s",
        HOSTS * PER_HOST
    );
    println!(
        "run  publish_s  drain_s  deliveries/s  drain/bound  cpu_s  peak_rss_MiB  verified_sample"
    );
    let mut drains = Vec::new();
    for r in 1..=runs {
        let before = sink.received.load(Ordering::SeqCst);
        let cpu_before = cpu_seconds(pid);
        std::fs::write(
            root.join(format!("content/posts/fanout-{r}.md")),
            format!("+++\ntitle = \"Fan-out {r}\"\ndate = 2026-01-01T10:00:00Z\n+++\n\nPost number {r} for everyone.\n"),
        )
        .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let out = stoa(&["publish", "--no-deploy", "--no-wait"], &root)?;
        let queued_at = Instant::now();
        if !out.contains(&format!("{HOSTS} deliveries queued")) {
            return Err(format!("unexpected publish output: {out}"));
        }
        let drained = loop {
            let status = admin(&base, "status")?;
            if status["deliveries"]["pending"] == 0 {
                break queued_at.elapsed();
            }
            if started.elapsed() > RUN_LIMIT {
                return Err(format!("run {r} did not drain in {RUN_LIMIT:?}: {status}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let got = sink.received.load(Ordering::SeqCst) - before;
        if got < HOSTS {
            return Err(format!(
                "run {r}: the sink got {got} deliveries, expected {HOSTS}"
            ));
        }
        let status = admin(&base, "status")?;
        let failed = status["deliveries"]["failed"].as_i64().unwrap_or(-1);
        if failed != 0 {
            return Err(format!("run {r}: {failed} deliveries failed: {status}"));
        }
        let secs = drained.as_secs_f64();
        drains.push(secs);
        println!(
            "{r:>3}  {:>9.2}  {secs:>7.2}  {:>12.0}  {:>11.2}  {:>5.2}  {:>12.1}  {}/{} ok",
            (queued_at - started).as_secs_f64(),
            HOSTS as f64 / secs,
            secs / bound,
            cpu_seconds(pid) - cpu_before,
            proc_field_kib(pid, "VmHWM:") as f64 / 1024.0,
            sink.checked.load(Ordering::SeqCst) - sink.bad.load(Ordering::SeqCst),
            sink.checked.load(Ordering::SeqCst),
        );
    }
    drains.sort_by(f64::total_cmp);
    let median = drains[drains.len() / 2];
    println!(
        "median drain {median:.2} s ({:.0} deliveries/s), {:.2}x the signing bound; target <= 5 s, RSS < 100 MiB",
        HOSTS as f64 / median,
        median / bound
    );
    if sink.bad.load(Ordering::SeqCst) > 0 {
        return Err("some sampled signatures did not verify".into());
    }
    Ok(())
}
