//! The companion's life as an operator sees it: crashes lose nothing,
//! SIGTERM stops it cleanly, followers are approved, refused and removed
//! from the command line, blocked accounts get nowhere, deleted accounts
//! disappear, and the admin API and site serving behave.

use std::time::Duration;

use serde_json::json;

use super::{Companion, Peer, Setup, TOKEN, follow, send, signed_by_blog, stoa_cmd};
use crate::common::{agent, run_into_closed_pipe, run_limited};

#[test]
fn kill_9_between_acknowledging_a_follow_and_sending_the_accept_loses_nothing() {
    let mut blog = crate::companion::start();
    let peer = Peer::start(&["alice"]);
    // The follower's server holds the first delivery: the Accept is in flight.
    peer.stall_next(1);
    let (status, text) = send(&peer, "alice", &blog, &follow(&peer, "alice", &blog, 1));
    assert_eq!(status, 202, "{text}");
    peer.wait_for("the Accept to be in flight", 1, |a| {
        a.json()["type"] == "Accept"
    });
    blog.kill9();

    // Nothing was answered, so nothing was acknowledged as delivered.
    blog.launch();
    let accepts = peer.wait_for("the Accept after the restart", 2, |a| {
        a.json()["type"] == "Accept"
    });
    assert!(
        signed_by_blog(&blog, &accepts[1]),
        "the resent Accept is signed"
    );
    assert_eq!(accepts[1].json()["object"]["actor"], peer.actor("alice"));
    blog.wait_status("the delivery to be recorded", |s| {
        s["deliveries"]["delivered"] == 1
    });
    let (ok, listed, err) = blog.followers_cli(&["list"]);
    assert!(ok, "{err}");
    assert!(
        listed.contains(&peer.actor("alice")),
        "the follower survived: {listed}"
    );
}

#[test]
fn kill_9_right_after_the_202_still_applies_the_follow() {
    let mut blog = crate::companion::start();
    let peer = Peer::start(&["alice", "bob", "carol"]);
    for (n, name) in ["alice", "bob", "carol"].iter().enumerate() {
        let (status, text) = send(&peer, name, &blog, &follow(&peer, name, &blog, n as u32));
        assert_eq!(status, 202, "{text}");
    }
    // No waiting at all: whatever was acknowledged is on disk.
    blog.kill9();
    blog.launch();
    blog.wait_status("three followers", |s| s["followers"]["accepted"] == 3);
    peer.wait_for("three Accepts", 3, |a| a.json()["type"] == "Accept");
}

#[test]
fn sigterm_stops_gracefully() {
    let mut blog = Companion::start(&Setup::default());
    assert_eq!(
        blog.terminate(),
        Some(0),
        "exit status after SIGTERM\n{}",
        blog.log()
    );
    assert!(blog.log().contains("shutting down"), "{}", blog.log());
}

/// A blog that approves followers by hand, with alice and bob asking.
fn two_follows_waiting_for_approval() -> (Companion, Peer) {
    let blog = Companion::start(&Setup {
        allow_private: true,
        manual_approval: true,
        ..Setup::default()
    });
    let peer = Peer::start(&["alice", "bob"]);
    for (n, name) in ["alice", "bob"].iter().enumerate() {
        assert_eq!(
            send(&peer, name, &blog, &follow(&peer, name, &blog, n as u32)).0,
            202
        );
    }
    (blog, peer)
}

/// The writer's laptop has the site and the admin token but no database:
/// `stoa followers` asks the companion through its admin API.
#[test]
fn followers_from_the_writers_machine_through_the_admin_api() {
    let (blog, peer) = two_follows_waiting_for_approval();
    blog.wait_status("two pending follows", |s| s["followers"]["pending"] == 2);
    let laptop = tempfile::tempdir().expect("temp");
    std::fs::copy(
        blog.root().join("stoa.toml"),
        laptop.path().join("stoa.toml"),
    )
    .expect("copy");
    let cli = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_stoa"))
            .arg("followers")
            .args(args)
            .arg("--root")
            .arg(laptop.path())
            .arg("--companion")
            .arg(&blog.base)
            .env("STOA_ADMIN_TOKEN", super::TOKEN)
            .output()
            .expect("runs");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (o.status.success(), text(&o.stdout), text(&o.stderr))
    };
    let alice_handle = format!("@alice@{}", peer.base.trim_start_matches("http://"));
    let (ok, out, err) = cli(&["list", "--pending"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&alice_handle) && out.contains("waiting for approval"),
        "{out}"
    );
    let (ok, out, err) = cli(&["approve", &alice_handle]);
    assert!(ok, "{err}");
    assert!(out.contains("Approved"), "{out}");
    peer.wait_for("the Accept", 1, |a| a.json()["type"] == "Accept");
    let (ok, out, _) = cli(&["approve", &alice_handle]);
    assert!(ok && out.contains("already follows"), "{out}");
    let (ok, _, err) = cli(&["remove", &peer.actor("bob")]);
    assert!(ok, "{err}");
    peer.wait_for("the Reject", 1, |a| a.json()["type"] == "Reject");
    let (_, count, _) = cli(&["count"]);
    assert_eq!(count.trim(), "1 follower, 0 waiting for approval");
    let (ok, _, err) = cli(&["remove", "nobody@nowhere.example"]);
    assert!(!ok);
    assert!(err.contains("no follower"), "{err}");
    // Without a token, the writer is told what is missing.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_stoa"))
        .args(["followers", "list", "--root"])
        .arg(laptop.path())
        .env_remove("STOA_ADMIN_TOKEN")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("no companion database here"), "{err}");
}

#[test]
fn manual_approval_from_the_command_line() {
    let (blog, peer) = two_follows_waiting_for_approval();
    let s = blog.wait_status("two pending follows", |s| s["followers"]["pending"] == 2);
    // An Accept would have been queued with the follow, in one transaction.
    assert_eq!(
        s["deliveries"],
        json!({"pending": 0, "delivered": 0, "failed": 0}),
        "nothing is accepted before approval: {s}"
    );
    assert!(
        !peer.arrivals().iter().any(|a| a.json()["type"] == "Accept"),
        "nothing is accepted before approval"
    );
    let (ok, pending, err) = blog.followers_cli(&["list", "--pending"]);
    assert!(ok, "{err}");
    let alice_handle = format!("@alice@{}", peer.base.trim_start_matches("http://"));
    assert!(pending.contains(&alice_handle), "{pending}");

    let (ok, out, err) = blog.followers_cli(&["approve", &alice_handle]);
    assert!(ok, "{err}");
    assert!(out.contains("Approved"), "{out}");
    let accepts = peer.wait_for("the Accept", 1, |a| a.json()["type"] == "Accept");
    assert_eq!(accepts[0].path, "/users/alice/inbox");

    let (ok, _, err) = blog.followers_cli(&["reject", &peer.actor("bob")]);
    assert!(ok, "{err}");
    let rejects = peer.wait_for("the Reject", 1, |a| a.json()["type"] == "Reject");
    assert_eq!(rejects[0].path, "/users/bob/inbox");
    assert!(signed_by_blog(&blog, &rejects[0]));

    let (_, count, _) = blog.followers_cli(&["count"]);
    assert_eq!(count.trim(), "1 follower, 0 waiting for approval");
    let (_, export, _) = blog.followers_cli(&["export"]);
    assert!(
        export.contains(&format!(
            "{},true,false,",
            alice_handle.trim_start_matches('@')
        )),
        "{export}"
    );

    let (ok, _, err) = blog.followers_cli(&["remove", "nobody@nowhere.example"]);
    assert!(!ok);
    assert!(
        err.contains("no follower") && err.contains("followers list"),
        "{err}"
    );
}

#[test]
fn blocked_actors_are_rejected_and_their_interactions_dropped() {
    let peer = Peer::start(&["alice", "troll"]);
    let blog = Companion::start(&Setup {
        allow_private: true,
        blocked_actors: vec![peer.actor("troll")],
        ..Setup::default()
    });
    assert_eq!(
        send(&peer, "troll", &blog, &follow(&peer, "troll", &blog, 1)).0,
        202
    );
    let rejects = peer.wait_for("the Reject", 1, |a| a.json()["type"] == "Reject");
    assert_eq!(rejects[0].json()["object"]["actor"], peer.actor("troll"));
    let like = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/likes/1", peer.actor("troll")), "type": "Like",
        "actor": peer.actor("troll"), "object": format!("{}/ap/posts/hello-world.json", blog.base)});
    assert_eq!(send(&peer, "troll", &blog, &like).0, 202);
    let s = blog.wait_status("the queue to drain", |s| s["incoming_backlog"] == 0);
    assert_eq!(s["followers"]["accepted"], 0, "{s}");
    assert_eq!(s["interactions"], json!({}), "{s}");
}

#[test]
fn a_deleted_account_disappears_even_when_its_actor_answers_410() {
    let blog = crate::companion::start();
    let peer = Peer::start(&["alice"]);
    assert_eq!(
        send(&peer, "alice", &blog, &follow(&peer, "alice", &blog, 1)).0,
        202
    );
    let post = format!("{}/ap/posts/hello-world.json", blog.base);
    let like = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/likes/1", peer.actor("alice")), "type": "Like",
        "actor": peer.actor("alice"), "object": post});
    assert_eq!(send(&peer, "alice", &blog, &like).0, 202);
    blog.wait_status("follower and like", |s| {
        s["followers"]["accepted"] == 1 && s["interactions"]["like"] == 1
    });
    peer.delete_account("alice");
    let delete = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}#delete", peer.actor("alice")), "type": "Delete",
        "actor": peer.actor("alice"), "object": peer.actor("alice")});
    assert_eq!(send(&peer, "alice", &blog, &delete).0, 202);
    blog.wait_status("the account to be gone", |s| {
        s["followers"]["accepted"] == 0 && s["interactions"] == json!({})
    });
}

#[test]
fn admin_api_needs_the_token_and_the_site_is_served_with_its_types() {
    let blog = Companion::start(&Setup::default());
    for auth in [
        None,
        Some("Bearer wrong-token-wrong-token"),
        Some("Basic abc"),
    ] {
        let mut req = agent().get(&format!("{}/admin/followers", blog.base));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        assert_eq!(req.call().expect("request").status(), 401, "{auth:?}");
    }
    assert_eq!(blog.admin("followers"), json!([]));
    let r = agent()
        .get(&format!("{}/ap/actor.json", blog.base))
        .call()
        .expect("actor");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/activity+json");
    let r = agent()
        .get(&format!(
            "{}/.well-known/webfinger?resource=acct:blog@127.0.0.1:{}",
            blog.base, blog.port
        ))
        .call()
        .expect("webfinger");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/jrd+json");
    let r = agent()
        .get(&format!("{}/", blog.base))
        .call()
        .expect("home");
    let mut r = r;
    let html = r.body_mut().read_to_string().expect("html");
    assert!(
        !html.contains("__stoa/reload"),
        "no live-reload script in a deployed site"
    );
    let r = agent()
        .get(&format!("{}/healthz", blog.base))
        .call()
        .expect("healthz");
    assert_eq!(r.status(), 200);
}

#[test]
fn replies_are_recorded_edited_and_deleted_and_unknown_types_ignored() {
    let blog = crate::companion::start();
    let peer = Peer::start(&["alice", "mallory"]);
    let post = format!("{}/ap/posts/hello-world.json", blog.base);
    let note_id = format!("{}/statuses/1", peer.actor("alice"));
    let note = |content: &str| {
        json!({"id": note_id, "type": "Note", "attributedTo": peer.actor("alice"),
               "inReplyTo": post, "content": content,
               "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [blog.actor()]})
    };
    let activity = |kind: &str, object: serde_json::Value, n: u32| {
        json!({"@context": "https://www.w3.org/ns/activitystreams",
               "id": format!("{}/activities/{n}", peer.actor("alice")), "type": kind,
               "actor": peer.actor("alice"), "object": object})
    };
    let reply_content = |blog: &Companion| -> String {
        blog.admin("interactions")
            .as_array()
            .and_then(|a| a.first())
            .and_then(|r| r["content"].as_str().map(str::to_string))
            .unwrap_or_default()
    };

    assert_eq!(
        send(
            &peer,
            "alice",
            &blog,
            &activity(
                "Create",
                note("<p>First <img src=x onerror=alert(1)></p>"),
                1
            )
        )
        .0,
        202
    );
    blog.wait_status("the reply", |s| s["interactions"]["reply"] == 1);
    assert_eq!(reply_content(&blog), "<p>First </p>", "sanitized");

    assert_eq!(
        send(
            &peer,
            "alice",
            &blog,
            &activity("Update", note("<p>Edited</p>"), 2)
        )
        .0,
        202
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while reply_content(&blog) != "<p>Edited</p>" {
        assert!(
            std::time::Instant::now() < deadline,
            "the edit was not applied: {}",
            blog.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // Someone else cannot delete it; its author can.
    let forged = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/9", peer.actor("mallory")), "type": "Delete",
        "actor": peer.actor("mallory"), "object": {"id": note_id, "type": "Tombstone"}});
    assert_eq!(send(&peer, "mallory", &blog, &forged).0, 202);
    assert_eq!(
        send(
            &peer,
            "alice",
            &blog,
            &json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/10", peer.actor("alice")), "type": "Flag",
        "actor": peer.actor("alice"), "object": blog.actor()})
        )
        .0,
        202,
        "unknown types are acknowledged"
    );
    let s = blog.wait_status("the queue to drain", |s| s["incoming_backlog"] == 0);
    assert_eq!(
        s["interactions"]["reply"], 1,
        "mallory's Delete changed nothing: {s}"
    );

    let delete = activity("Delete", json!({"id": note_id, "type": "Tombstone"}), 3);
    assert_eq!(send(&peer, "alice", &blog, &delete).0, 202);
    blog.wait_status("the reply deleted", |s| s["interactions"] == json!({}));
}

#[test]
fn a_private_key_readable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let mut blog = Companion::start(&Setup::default());
    blog.kill9();
    let key = blog.root().join("secrets/actor-key.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    blog.launch();
    let log = blog.log();
    assert!(
        log.contains("can be read by other users") && log.contains("chmod 600"),
        "{log}"
    );
    assert!(
        !log.contains("PRIVATE KEY"),
        "the key itself never appears in the log"
    );
}

/// Connections that trickle their request head (slow-loris) are closed
/// after the header timeout (10 s) and hold up nobody meanwhile; a head
/// that arrives in pieces, but in time, is answered. The slow ones are
/// closed with a reset: their bytes were never read, which shows they never
/// reached the HTTP server (whose buffers they would have held; it reads
/// what arrives and closes with a FIN).
#[test]
fn slow_request_heads_are_dropped_and_hold_up_nobody() {
    use std::io::{Read, Write};
    let blog = Companion::start(&Setup::default());
    let addr = blog.base.trim_start_matches("http://").to_string();
    let mut slow: Vec<std::net::TcpStream> = (0..50)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&addr).expect("connect");
            s.write_all(b"POST /inbox HTTP/1.1\r\nHost: blog\r\n")
                .expect("write");
            s
        })
        .collect();

    let health = agent()
        .get(&format!("{}/healthz", blog.base))
        .call()
        .expect("healthz");
    assert_eq!(health.status(), 200, "answered while 50 heads trickle");

    let mut pieces = std::net::TcpStream::connect(&addr).expect("connect");
    pieces
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .expect("write");
    std::thread::sleep(std::time::Duration::from_millis(300));
    pieces
        .write_all(b"Host: blog\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    pieces.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    for s in &mut slow {
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("timeout");
        let mut buf = [0u8; 256];
        match s.read(&mut buf) {
            Ok(0) => panic!("a slow head was read by the HTTP server before being closed"),
            Ok(n) => panic!(
                "a slow head got an answer: {}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(e) => assert!(
                e.kind() == std::io::ErrorKind::ConnectionReset,
                "the companion kept a slow connection open: {e}"
            ),
        }
    }
}

/// `--site` on a folder holding the site's private files is refused, with
/// what it holds and the fix; nothing is served.
#[test]
fn a_site_folder_holding_secrets_is_refused() {
    let mut blog = Companion::start(&Setup::default());
    blog.kill9();
    let root = blog.root();
    // With an index.html the folder looks like a site: the secrets alone refuse it.
    std::fs::copy(root.join("public/index.html"), root.join("index.html")).expect("copy");
    for site in [
        root.clone(),
        root.join("public/.."),
        blog.dir.path().to_path_buf(),
    ] {
        let mut cmd = stoa_cmd();
        cmd.arg("inbox")
            .arg("--root")
            .arg(&root)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", blog.port))
            .arg("--site")
            .arg(&site)
            .env("STOA_ADMIN_TOKEN", TOKEN);
        let ran = run_limited(cmd, None, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("--site {} was served: {e}", site.display()));
        assert!(!ran.status.success(), "--site {}", site.display());
        for needle in [
            &format!("--site {}", site.display()),
            "stoa.toml",
            "secrets/actor-key.pem",
            "secrets/admin-token",
            "companion/stoa.db",
            "point --site at the built output folder, e.g. public/",
        ] {
            assert!(
                ran.stderr.contains(needle),
                "no {needle:?} in:\n{}",
                ran.stderr
            );
        }
        assert!(!ran.stderr.contains("PRIVATE KEY"), "{}", ran.stderr);
    }
}

/// A symlink in the served folder that leads outside it answers 404 and
/// shows none of what it points at; one that stays inside is served.
#[test]
fn symlinks_out_of_the_site_folder_are_not_followed() {
    use std::os::unix::fs::symlink;
    let blog = Companion::start(&Setup::default());
    let public = blog.root().join("public");
    let key = std::fs::read_to_string(blog.root().join("secrets/actor-key.pem")).expect("key");
    let token = std::fs::read_to_string(blog.root().join("secrets/admin-token")).expect("token");
    let key_line = key
        .lines()
        .nth(1)
        .expect("a line of key material")
        .to_string();
    symlink("../secrets/actor-key.pem", public.join("leak.pem")).expect("symlink");
    symlink("..", public.join("up")).expect("symlink");
    symlink("index.html", public.join("home.html")).expect("symlink");
    let fetch = |path: &str| {
        let mut r = agent()
            .get(&format!("{}{path}", blog.base))
            .call()
            .expect("request");
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    let check = |path: &str| {
        let (status, body) = fetch(path);
        assert_eq!(status, 404, "{path}");
        for secret in [key_line.as_str(), "PRIVATE KEY", token.trim(), "base_url"] {
            assert!(!body.contains(secret), "{path} leaked {secret:?}");
        }
    };
    for path in [
        "/leak.pem",
        "/up/secrets/actor-key.pem",
        "/up/secrets/admin-token",
        "/up/stoa.toml",
        "/up/companion/stoa.db",
    ] {
        check(path);
    }
    let (status, body) = fetch("/home.html");
    assert_eq!(status, 200, "a link inside the folder is served");
    assert!(body.contains("Companion test"), "{body}");
    // The 404 page, sent for every miss, is no way out either.
    std::fs::remove_file(public.join("404.html")).expect("rm");
    symlink("../secrets/actor-key.pem", public.join("404.html")).expect("symlink");
    check("/no/such/page");
}

/// `stoa followers list | head -1` and friends: a reader that went away is
/// no failure, no panic and no error.
#[test]
fn followers_and_deliveries_print_into_a_closed_pipe_quietly() {
    let blog = crate::companion::start();
    let peer = Peer::start(&["alice"]);
    assert_eq!(
        send(&peer, "alice", &blog, &follow(&peer, "alice", &blog, 1)).0,
        202
    );
    blog.wait_status("a follower", |s| s["followers"]["accepted"] == 1);
    for args in [
        &["followers", "list"][..],
        &["followers", "count"],
        &["followers", "export"],
        &["deliveries", "--companion", &blog.base],
    ] {
        let mut cmd = stoa_cmd();
        cmd.args(args)
            .arg("--root")
            .arg(blog.root())
            .env("STOA_ADMIN_TOKEN", TOKEN);
        let (status, stderr) = run_into_closed_pipe(cmd, false);
        assert!(status.success(), "{args:?}: {status}\n{stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("error") && !stderr.contains("pipe"),
            "{args:?}: {stderr}"
        );
    }
}
