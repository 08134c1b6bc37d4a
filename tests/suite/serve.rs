//! `stoa serve` over real loopback HTTP: Content-Types, no redirects, 404s,
//! live reload after an edit, build errors shown without stopping.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::{Served, TempSite, get, serve, serve_in_tmp};

/// Polls `path` for up to 20 s until its body is `done`; the body.
fn wait_until(server: &Served, path: &str, done: impl Fn(&str) -> bool, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, _, body) = get(server, path);
        if done(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{path}: {what}; last body:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_for(server: &Served, path: &str, needle: &str) -> String {
    wait_until(
        server,
        path,
        |body| body.contains(needle),
        &format!("never contained {needle:?}"),
    )
}

#[test]
fn serves_with_right_types_and_no_redirects() {
    let site = TempSite::minimal();
    let server = serve(site.root());
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
    let server = serve(site.root());
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
    let partial = server.wait_line("Rebuilt 1 changed post(s)", Duration::from_secs(10));
    assert!(
        partial.is_ok(),
        "a text-only edit should take the incremental path: {partial:?}"
    );
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
    let terminal = server.wait_line("first.md:3", Duration::from_secs(5));
    assert!(
        terminal.is_ok(),
        "error not printed in the terminal: {terminal:?}"
    );
    // Fixing it clears the error.
    site.write(
        "content/posts/first.md",
        "+++\ntitle = \"Fixed\"\ndate = 2026-01-02T10:00:00Z\n+++\n\nBack.\n",
    );
    wait_until(
        &server,
        "/posts/first/",
        |body| body.contains("Back.") && !body.contains("the last build failed"),
        "the error was not cleared",
    );
}

/// The one build folder `stoa serve` made under `tmp`.
fn build_folder(tmp: &std::path::Path) -> std::path::PathBuf {
    let found: Vec<_> = std::fs::read_dir(tmp)
        .expect("read TMPDIR")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("stoa-serve-"))
        })
        .collect();
    assert_eq!(found.len(), 1, "one build folder expected: {found:?}");
    found[0].clone()
}

#[test]
fn symlinks_out_of_the_served_folder_are_not_followed() {
    use std::os::unix::fs::symlink;
    let site = TempSite::minimal();
    site.write(
        "secrets/actor-key.pem",
        "-----BEGIN PRIVATE KEY----- not for readers",
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let server = serve_in_tmp(site.root(), tmp.path());
    let out = build_folder(tmp.path());
    symlink(
        site.root().join("secrets/actor-key.pem"),
        out.join("leak.pem"),
    )
    .expect("symlink");
    symlink(site.root(), out.join("site")).expect("symlink");
    symlink("index.html", out.join("home.html")).expect("symlink");
    for path in [
        "/leak.pem",
        "/site/secrets/actor-key.pem",
        "/site/stoa.toml",
    ] {
        let (status, _, body) = get(&server, path);
        assert_eq!(status, 404, "{path}");
        assert!(
            !body.contains("PRIVATE KEY") && !body.contains("base_url"),
            "{path} leaked: {body}"
        );
    }
    let (status, ct, body) = get(&server, "/home.html");
    assert_eq!(status, 200, "a link inside the folder is served");
    assert!(
        ct.starts_with("text/html") && body.contains("/posts/first/"),
        "{body}"
    );
}

#[test]
fn sigterm_removes_the_build_folder_even_with_a_browser_connected() {
    let site = TempSite::minimal();
    let tmp = tempfile::tempdir().expect("tmp");
    let mut server = serve_in_tmp(site.root(), tmp.path());
    let out = build_folder(tmp.path());
    assert!(out.join("index.html").is_file());
    // A page open in a browser keeps its reload stream open.
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut sse = TcpStream::connect(&addr).expect("connect");
    write!(
        sse,
        "GET /__stoa/reload HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .expect("send");
    sse.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut head = [0u8; 512];
    let n = sse.read(&mut head).expect("headers");
    assert!(String::from_utf8_lossy(&head[..n]).contains("text/event-stream"));
    let status = server.terminate();
    assert!(
        status.is_some_and(|s| s.success()),
        "serve should stop cleanly on SIGTERM: {status:?}"
    );
    assert!(!out.exists(), "{} was left behind", out.display());
}
