//! `stoa serve` over real loopback HTTP: Content-Types, no redirects, 404s,
//! live reload after an edit, build errors shown without stopping.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::TempSite;

/// A running `stoa serve`, killed on drop.
struct Server {
    child: Child,
    base: String,
    lines: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(site: &TempSite) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_stoa"))
        .args(["serve", "--port", "0", "--root"])
        .arg(site.root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let (tx, lines) = mpsc::channel();
    // From here on, dropping `server` kills the process, even if a check fails.
    let mut server = Server {
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
    let deadline = Instant::now() + Duration::from_secs(30);
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
                assert!(base.starts_with("http://127.0.0.1:"), "{base}");
                server.base = base;
                return server;
            }
            seen.push(line);
        }
    }
    panic!("serve did not start: {seen:?}");
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn get(server: &Server, path: &str) -> (u16, String, String) {
    let mut r = agent()
        .get(&format!("{}{path}", server.base))
        .call()
        .expect("request");
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_string())
        .unwrap_or_default();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    (status, ct, body)
}

fn wait_for(server: &Server, path: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, _, body) = get(server, path);
        if body.contains(needle) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never contained {needle:?}; last body:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serves_with_right_types_and_no_redirects() {
    let site = TempSite::minimal();
    let server = start(&site);
    let (status, ct, body) = get(&server, "/");
    assert_eq!(status, 200);
    assert_eq!(ct, "text/html; charset=utf-8");
    assert!(
        body.contains("/__stoa/reload"),
        "live reload script missing"
    );
    assert!(
        body.contains(&format!("{}/posts/first/", server.base)),
        "base URL should be the served address"
    );
    for path in ["/posts/first/", "/posts/first", "/about"] {
        let (status, ct, _) = get(&server, path);
        assert_eq!(status, 200, "{path} must answer 200 without redirect");
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
    }
    assert_eq!(
        get(&server, "/rss.xml").1,
        "application/rss+xml; charset=utf-8"
    );
    assert_eq!(
        get(&server, "/atom.xml").1,
        "application/atom+xml; charset=utf-8"
    );
    assert_eq!(
        get(&server, "/feed.json").1,
        "application/feed+json; charset=utf-8"
    );
    assert_eq!(get(&server, "/style.css").1, "text/css; charset=utf-8");
    let (status, _, body) = get(&server, "/no/such/page/");
    assert_eq!(status, 404);
    assert!(body.contains("Page not found"));
    assert_eq!(get(&server, "/../stoa.toml").0, 404);
    assert_eq!(get(&server, "/.stoa-manifest").0, 404);
}

#[test]
fn edits_reload_the_browser_and_errors_show_without_stopping() {
    let site = TempSite::minimal();
    let server = start(&site);
    // Listen to the reload stream like the injected script does.
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut sse = TcpStream::connect(&addr).expect("connect");
    sse.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        sse,
        "GET /__stoa/reload HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .expect("send");
    let mut head = [0u8; 512];
    let n = sse.read(&mut head).expect("headers");
    assert!(String::from_utf8_lossy(&head[..n]).contains("text/event-stream"));

    site.write(
        "content/posts/first.md",
        "+++\ntitle = \"First, edited\"\ndate = 2026-01-02T10:00:00Z\ntags = [\"one\"]\n+++\n\nHello again.\n",
    );
    let mut got = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !got.contains("event: reload") && Instant::now() < deadline {
        let mut buf = [0u8; 256];
        match sse.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(_) => break,
        }
    }
    assert!(got.contains("event: reload"), "no reload event: {got:?}");
    wait_for(&server, "/posts/first/", "Hello again.");
    // A text-only edit re-renders just the pages that show the post.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut partial = false;
    while !partial && Instant::now() < deadline {
        if let Ok(l) = server.lines.recv_timeout(Duration::from_millis(100)) {
            partial = l.contains("Rebuilt 1 changed post(s)");
        }
    }
    assert!(partial, "a text-only edit should take the incremental path");
    // A new tag changes lists elsewhere: full rebuild, new tag page appears.
    site.write(
        "content/posts/first.md",
        "+++\ntitle = \"First, edited\"\ndate = 2026-01-02T10:00:00Z\ntags = [\"one\", \"fresh\"]\n+++\n\nHello again.\n",
    );
    wait_for(&server, "/tags/fresh/", "Posts tagged");

    // A broken post: the error is shown over the last good version.
    site.write(
        "content/posts/first.md",
        "+++\ntitle = \"x\"\ndate = \"soon\"\n+++\n",
    );
    let body = wait_for(&server, "/posts/first/", "the last build failed");
    assert!(body.contains("content/posts/first.md:3"), "{body}");
    assert!(
        body.contains("Hello again."),
        "previous version should still be served"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut terminal = Vec::new();
    while Instant::now() < deadline {
        if let Ok(l) = server.lines.recv_timeout(Duration::from_millis(100)) {
            terminal.push(l);
        }
        if terminal.iter().any(|l| l.contains("first.md:3")) {
            break;
        }
    }
    assert!(
        terminal.iter().any(|l| l.contains("first.md:3")),
        "error not printed in the terminal: {terminal:?}"
    );
    // Fixing it clears the error.
    site.write(
        "content/posts/first.md",
        "+++\ntitle = \"Fixed\"\ndate = 2026-01-02T10:00:00Z\n+++\n\nBack.\n",
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, _, body) = get(&server, "/posts/first/");
        if body.contains("Back.") && !body.contains("the last build failed") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the error was not cleared:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
