//! Shared helpers: temporary sites, running the binary, reading output trees,
//! a running `stoa serve`, other programs run with a time limit.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{self, Child, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, Once, OnceLock, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `stoa` command.
pub fn stoa() -> Command {
    Command::cargo_bin("stoa").expect("the stoa binary is built")
}

/// Runs `stoa build` on `root` into `out`.
pub fn build(root: &Path, out: &Path, extra: &[&str]) -> Output {
    stoa()
        .arg("build")
        .arg("--root")
        .arg(root)
        .arg("--output")
        .arg(out)
        .args(extra)
        .output()
        .expect("stoa runs")
}

/// Text of stdout and stderr.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A throwaway site built from (path, contents) pairs.
pub struct TempSite {
    /// Keeps the folder alive.
    pub dir: tempfile::TempDir,
}

impl TempSite {
    /// A minimal valid site with one post and one page.
    pub fn minimal() -> TempSite {
        TempSite::with(&[
            (
                "stoa.toml",
                "base_url = \"https://blog.example.com\"\ntitle = \"Test\"\n[fediverse]\nusername = \"test\"\n",
            ),
            (
                "content/posts/first.md",
                "+++\ntitle = \"First\"\ndate = 2026-01-02T10:00:00Z\ntags = [\"one\"]\n+++\n\nHello *world*.\n",
            ),
            (
                "content/about.md",
                "+++\ntitle = \"About\"\n+++\n\nAbout me.\n",
            ),
        ])
    }

    /// A site with exactly these files, plus the example's public key.
    pub fn with(files: &[(&str, &str)]) -> TempSite {
        let dir = tempfile::tempdir().expect("temp dir");
        let site = TempSite { dir };
        let key = std::fs::read_to_string(repo().join("content-example/actor-key.pub.pem"))
            .expect("example public key");
        site.write("actor-key.pub.pem", &key);
        for (path, text) in files {
            site.write(path, text);
        }
        site
    }

    /// Site root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Default output folder of this site.
    pub fn out(&self) -> PathBuf {
        self.dir.path().join("public")
    }

    /// `stoa build` into [`TempSite::out`], which must succeed; the output.
    pub fn build_ok(&self) -> PathBuf {
        let out = self.out();
        let o = build(self.root(), &out, &[]);
        assert!(o.status.success(), "{:?}", text(&o));
        out
    }

    /// Writes (or replaces) a file.
    pub fn write(&self, path: &str, text: &str) {
        let p = self.dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

/// Every file under `dir` with its bytes, keyed by relative path.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut map = BTreeMap::new();
    if !dir.exists() {
        return map;
    }
    for e in walkdir::WalkDir::new(dir) {
        let e = e.expect("walk");
        if e.file_type().is_file() {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("prefix")
                .to_string_lossy()
                .replace('\\', "/");
            map.insert(rel, std::fs::read(e.path()).expect("read"));
        }
    }
    map
}

/// Copies `content-example/` (without any build output) to a temp folder.
pub fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = repo().join("content-example");
    for e in walkdir::WalkDir::new(&src) {
        let e = e.expect("walk");
        let rel = e.path().strip_prefix(&src).expect("prefix");
        if rel.starts_with("public") {
            continue;
        }
        let to = dir.path().join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&to).expect("mkdir");
        } else {
            std::fs::copy(e.path(), &to).expect("copy");
        }
    }
    dir
}

/// A running `stoa serve`, stopped on drop (so also when a check panics):
/// SIGTERM, so it removes its build folder, then SIGKILL if it lingers.
pub struct Served {
    child: Child,
    /// The served address, `http://127.0.0.1:PORT`, without a final `/`.
    pub base: String,
    /// Every line serve prints, stdout and stderr, as they come.
    pub lines: mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait()
            && self.terminate().is_none()
        {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Served {
    /// Sends SIGTERM and waits up to 15 s for the exit: its status, or
    /// `None` if it had to be killed.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        let _ = process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Everything serve printed so far (and not yet read), for failure
    /// messages.
    pub fn log(&self) -> String {
        self.lines.try_iter().collect::<Vec<_>>().join("\n")
    }

    /// Waits up to `limit` for a printed line containing `needle`: that
    /// line, or every line read while waiting.
    pub fn wait_line(&self, needle: &str, limit: Duration) -> Result<String, Vec<String>> {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                if line.contains(needle) {
                    return Ok(line);
                }
                seen.push(line);
            }
        }
        Err(seen)
    }
}

/// Starts `stoa serve --port 0 --root <root>` and waits (up to 60 s) for its
/// `Serving http://127.0.0.1:PORT/` line.
pub fn serve(root: &Path) -> Served {
    serve_with(root, None)
}

/// [`serve`] with `TMPDIR` set to `tmp`, where it makes its build folder.
pub fn serve_in_tmp(root: &Path, tmp: &Path) -> Served {
    serve_with(root, Some(tmp))
}

fn serve_with(root: &Path, tmp: Option<&Path>) -> Served {
    let mut cmd = process::Command::new(env!("CARGO_BIN_EXE_stoa"));
    if let Some(tmp) = tmp {
        cmd.env("TMPDIR", tmp);
    }
    let child = cmd
        .args(["serve", "--port", "0", "--root"])
        .arg(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let (tx, lines) = mpsc::channel();
    // From here on, dropping `server` kills the process, even if a check fails.
    let mut server = Served {
        child,
        base: String::new(),
        lines,
    };
    let stdout = server.child.stdout.take().expect("stdout");
    let stderr = server.child.stderr.take().expect("stderr");
    for stream in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(line) = server.lines.recv_timeout(Duration::from_millis(200)) {
            if let Some(rest) = line.strip_prefix("Serving ") {
                let base = rest
                    .split_whitespace()
                    .next()
                    .expect("url")
                    .trim_end_matches('/')
                    .to_string();
                // Loopback only: nothing a test serves is reachable from outside.
                assert!(base.starts_with("http://127.0.0.1:"), "{base}");
                server.base = base;
                return server;
            }
            seen.push(line);
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("serve exited with {status}: {seen:?}");
        }
    }
    panic!("serve did not start: {seen:?}");
}

/// What a program run by [`run_limited`] did.
#[derive(Debug)]
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A child process, killed on drop so a timeout or panic leaves nothing
/// behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Collects a stream in the background; readable at any time, so a hung
/// command (or a stray child still holding the pipe) cannot block the test.
struct Collector {
    buf: Arc<Mutex<Vec<u8>>>,
    thread: JoinHandle<()>,
}

impl Collector {
    fn new(mut stream: impl Read + Send + 'static) -> Collector {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        let thread = std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("buffer").extend_from_slice(&chunk[..n]);
            }
        });
        Collector { buf, thread }
    }

    /// What arrived so far, after waiting up to `grace` for the stream to end.
    fn text(&self, grace: Duration) -> String {
        let deadline = Instant::now() + grace;
        while !self.thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        String::from_utf8_lossy(&self.buf.lock().expect("buffer")).into_owned()
    }
}

/// Runs `cmd` with `stdin` as its input (`None`: no input at all), killing
/// it after `limit`. An error says what failed: it could not start, or it
/// timed out (with what it printed).
pub fn run_limited(
    mut cmd: process::Command,
    stdin: Option<&str>,
    limit: Duration,
) -> Result<Ran, String> {
    let what = format!(
        "{} {:?}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args().collect::<Vec<_>>()
    );
    let child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    // From here on, dropping `proc` kills the child, even if a check fails.
    let mut proc = Running(child);
    let out = Collector::new(proc.0.stdout.take().expect("stdout"));
    let err = Collector::new(proc.0.stderr.take().expect("stderr"));
    if let (Some(mut input), Some(text)) = (proc.0.stdin.take(), stdin) {
        // The program may exit without reading; a broken pipe is fine then.
        let _ = input.write_all(text.as_bytes());
    }
    let deadline = Instant::now() + limit;
    let status = loop {
        match proc.0.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                drop(proc);
                let grace = Duration::from_millis(500);
                return Err(format!(
                    "{what} did not finish in {limit:?} and was killed; \
                     stdout: {:?}; stderr: {:?}",
                    out.text(grace),
                    err.text(grace)
                ));
            }
            Err(e) => return Err(format!("waiting for {what}: {e}")),
        }
    };
    let grace = Duration::from_secs(5);
    Ok(Ran {
        status,
        stdout: out.text(grace),
        stderr: err.text(grace),
    })
}

/// Runs `cmd` with stdout (and stderr too if `close_stderr`) a pipe whose
/// reader is gone before it starts, like `stoa … | head -0`: its exit
/// status and what it wrote to stderr (nothing if that was closed too).
pub fn run_into_closed_pipe(mut cmd: process::Command, close_stderr: bool) -> (ExitStatus, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    cmd.stdin(Stdio::null())
        .stdout(writer.try_clone().expect("pipe"));
    if close_stderr {
        cmd.stderr(writer);
    } else {
        drop(writer);
        cmd.stderr(Stdio::piped());
    }
    let out = cmd.output().expect("runs");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An HTTP client that never follows redirects (a redirect is a failure
/// for fediverse documents) and reports every status.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        // Longer than the companion's own fetch timeout (10 s), so a test
        // sees the answer of a companion whose key fetch hangs.
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// GET `path` from a running `stoa serve`, with an optional Accept header:
/// (status, Content-Type, body).
pub fn get_accept(server: &Served, path: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut req = agent().get(&format!("{}{path}", server.base));
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    let mut r = req.call().expect("request");
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    (status, ct, body)
}

/// GET `path` from a running `stoa serve`.
pub fn get(server: &Served, path: &str) -> (u16, String, String) {
    get_accept(server, path, None)
}

/// Where the Node interop scripts and their package.json live.
pub fn interop_dir() -> PathBuf {
    repo().join("tests").join("interop")
}

/// The independent programs some tests talk to. A fresh clone with only
/// Rust has none of them: the tests that need one say so (once per run and
/// peer) and return early, unless [`REQUIRE_PEERS`] is set, which turns a
/// missing peer into a failure (`.ci/run` sets it, so CI never skips).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Node.js on PATH and the npm packages of `tests/interop/`
    /// (Fedify 2.3.6 and jsonld), installed by `setup-fedify.sh`.
    Fedify,
    /// snac2's `snac` (`$SNAC`, else PATH), installed by `setup-snac.sh`.
    Snac,
    /// `nginx` (`$NGINX`, else PATH), to run `docs/deploy/nginx.conf`.
    Nginx,
}

/// Set (to anything but `0` or nothing) to make a missing peer a failure.
pub const REQUIRE_PEERS: &str = "STOA_REQUIRE_PEERS";

impl Needs {
    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        match self {
            Needs::Fedify => "Fedify",
            Needs::Snac => "snac",
            Needs::Nginx => "nginx",
        }
    }

    /// The exact command that installs it, and what that command needs.
    fn install(self) -> (&'static str, &'static str) {
        match self {
            Needs::Fedify => (
                "bash tests/interop/setup-fedify.sh",
                "needs node and npm: apt-get install -y nodejs npm",
            ),
            Needs::Snac => (
                "sudo bash tests/interop/setup-snac.sh",
                "Debian 12; adds bookworm-backports",
            ),
            Needs::Nginx => ("sudo apt-get install -y nginx-light", "Debian"),
        }
    }

    /// The program to run, or why it is missing. Looks only where the
    /// environment says (the override variable, else PATH), so a test run
    /// with a reduced PATH really runs without the peer.
    fn find(self) -> Result<PathBuf, String> {
        match self {
            Needs::Fedify => {
                let node = on_path("node").ok_or("`node` is not on PATH")?;
                let nm = interop_dir().join("node_modules");
                let installed = |package: &str| nm.join(package).join("package.json").is_file();
                if installed("@fedify/fedify") && installed("jsonld") {
                    Ok(node)
                } else {
                    Err(format!(
                        "{} lacks @fedify/fedify or jsonld",
                        nm.strip_prefix(repo()).unwrap_or(&nm).display()
                    ))
                }
            }
            Needs::Snac => overridden("SNAC")
                .or_else(|| on_path("snac"))
                .ok_or_else(|| "`snac` is not on PATH and $SNAC is not set".to_string()),
            Needs::Nginx => overridden("NGINX")
                .or_else(|| on_path("nginx"))
                .ok_or_else(|| {
                    "`nginx` is not on PATH and $NGINX is not set \
                 (Debian installs it as /usr/sbin/nginx, outside most users' PATH)"
                        .to_string()
                }),
        }
    }
}

/// `$var`, when it names a file.
fn overridden(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

/// The first `name` in a folder of PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn peers_required() -> bool {
    std::env::var_os(REQUIRE_PEERS).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Each peer is looked for once per test binary run.
fn found(needs: Needs) -> &'static Result<PathBuf, String> {
    static FOUND: [OnceLock<Result<PathBuf, String>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    FOUND[needs.index()].get_or_init(|| needs.find())
}

/// Whether every peer in `needs` is installed. A missing one is reported
/// on stderr once per run (one line: what is missing and the command that
/// installs it) and the calling test should return at once; with
/// [`REQUIRE_PEERS`] set, a missing peer panics instead.
pub fn peers_ready(needs: &[Needs]) -> bool {
    static TOLD: [Once; 3] = [Once::new(), Once::new(), Once::new()];
    let mut ready = true;
    for &peer in needs {
        let Err(why) = found(peer) else { continue };
        ready = false;
        let name = peer.name();
        let (install, needs) = peer.install();
        if peers_required() {
            panic!(
                "{name} is needed: {why}; install it with `{install}` ({needs}). \
                 {REQUIRE_PEERS} is set, so a missing peer fails"
            );
        }
        TOLD[peer.index()].call_once(|| {
            // One write straight to the process's stderr: libtest captures
            // only the print macros, and this line is meant to be seen.
            let line = format!(
                "note: skipping the tests that need {name}: {why}; install it with \
                 `{install}` ({needs}; {REQUIRE_PEERS}=1 makes this a failure)\n"
            );
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        });
        // Captured: shown with `cargo test -- --show-output`.
        eprintln!(
            "{}: skipped, {name} is missing",
            std::thread::current().name().unwrap_or("this test")
        );
    }
    ready
}

/// The program of a peer the test has checked with [`peers_ready`] (for
/// Fedify: `node`).
pub fn peer_program(needs: Needs) -> PathBuf {
    match found(needs) {
        Ok(p) => p.clone(),
        Err(why) => {
            let (install, hint) = needs.install();
            panic!(
                "{} is needed: {why}; install it with `{install}` ({hint})",
                needs.name()
            )
        }
    }
}

/// `conversations.toml` with `n` public replies to `slug`, as `stoa pull`
/// writes it; returns the reply ids, oldest first.
pub fn write_replies(root: &Path, slug: &str, n: usize) -> Vec<String> {
    let ids: Vec<String> = (0..n)
        .map(|i| format!("https://m.example/users/r/statuses/{i}"))
        .collect();
    let mut toml = String::from(
        "[people.\"https://m.example/users/r\"]\nname = \"R\"\nhandle = \"@r@m.example\"\n\n",
    );
    for id in &ids {
        toml.push_str(&format!(
            "[[posts.{slug}.replies]]\nid = \"{id}\"\nauthor = \"https://m.example/users/r\"\ncontent = \"<p>hi</p>\"\n\n"
        ));
    }
    std::fs::write(root.join("conversations.toml"), toml).expect("conversations.toml");
    ids
}

/// Starts nginx in the foreground under `prefix` (its logs, pid and temp
/// folders there) serving the `server { … }` block `server`.
pub fn spawn_nginx(
    prefix: &Path,
    server: &str,
    stderr: std::process::Stdio,
) -> std::process::Child {
    std::fs::create_dir_all(prefix.join("logs")).expect("mkdir");
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {p}/nginx.pid;\nerror_log {p}/logs/error.log;\nevents {{}}\nhttp {{\n  include /etc/nginx/mime.types;\n  access_log off;\n  client_body_temp_path {p}/body; proxy_temp_path {p}/proxy; fastcgi_temp_path {p}/fcgi; uwsgi_temp_path {p}/uwsgi; scgi_temp_path {p}/scgi;\n{server}\n}}\n",
        p = prefix.display()
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf).expect("write conf");
    std::process::Command::new(peer_program(Needs::Nginx))
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(&conf_path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("nginx starts")
}
