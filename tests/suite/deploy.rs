//! The nginx configuration in docs/deploy/ really serves a built site the
//! way fediverse servers need: it is run here with a real nginx on loopback
//! (`$NGINX`, else `nginx` on PATH; without one the test says so and
//! returns early, or fails when `STOA_REQUIRE_PEERS` is set).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Needs, agent, build, example_copy, peers_ready, repo, text};

/// Kills nginx when the test ends, even on a failed check.
struct Nginx(std::process::Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

#[test]
fn docs_nginx_config_serves_types_without_redirects() {
    if !peers_ready(&[Needs::Nginx]) {
        return;
    }
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let site = example_copy();
    let work = tempfile::tempdir().expect("temp");
    let out = work.path().join("public");
    let o = build(site.path(), &out, &["--base-url", &base]);
    assert!(o.status.success(), "{:?}", text(&o));

    // The documented server block, pointed at loopback without TLS.
    let doc = std::fs::read_to_string(repo().join("docs/deploy/nginx.conf"))
        .expect("docs/deploy/nginx.conf");
    let server = doc
        .lines()
        .filter(|l| !l.trim_start().starts_with("# ssl_certificate"))
        .map(|l| {
            if l.trim_start().starts_with("listen ") {
                format!("    listen 127.0.0.1:{port};")
            } else if l.trim_start().starts_with("root ") {
                format!("    root {};", out.display())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        server.contains(&format!("listen 127.0.0.1:{port};")),
        "the doc lost its listen line"
    );
    let prefix = work.path().join("nginx");
    let child = crate::common::spawn_nginx(&prefix, &server, Stdio::piped());
    let _nginx = Nginx(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        let log = std::fs::read_to_string(prefix.join("logs/error.log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "nginx did not start:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let get = |path: &str| {
        let mut r = agent()
            .get(&format!("{base}{path}"))
            .header("Accept", "application/activity+json")
            .call()
            .expect("request");
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let cors = r.headers().get("access-control-allow-origin").is_some();
        let status = r.status().as_u16();
        (
            status,
            ct,
            cors,
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    for path in [
        "/ap/actor.json",
        "/ap/outbox.json",
        "/ap/outbox/page-1.json",
        "/ap/posts/jollof-rice.json",
        "/ap/featured.json",
    ] {
        let (status, ct, cors, body) = get(path);
        assert_eq!(status, 200, "{path}");
        assert_eq!(ct, "application/activity+json", "{path}");
        assert!(cors, "{path}: no CORS header");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            v["id"],
            format!("{base}{path}"),
            "{path}: id must equal the URL"
        );
    }
    let (status, ct, cors, _) = get("/.well-known/webfinger?resource=acct:ada@127.0.0.1");
    assert_eq!(
        (status, ct.as_str(), cors),
        (200, "application/jrd+json", true)
    );
    assert_eq!(get("/.well-known/host-meta").1, "application/xrd+xml");
    assert_eq!(get("/.well-known/nodeinfo").1, "application/json");
    assert_eq!(get("/nodeinfo/2.1.json").1, "application/json");
    for path in ["/posts/jollof-rice", "/posts/jollof-rice/", "/about"] {
        let (status, ct, _, _) = get(path);
        assert_eq!(status, 200, "{path} must answer 200 without a redirect");
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
    }
    let (status, _, _, body) = get("/no/such/page");
    assert_eq!(status, 404);
    assert!(body.contains("Page not found"));
}
