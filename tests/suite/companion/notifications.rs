//! `stoa notifications` and the notify command (issue 9): the writer hears
//! of follows, replies (also the ones the blog never shows), mentions,
//! favourites and boosts, each once; a hanging notify command never slows
//! the inbox.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Companion, PUBLIC, Peer, follow, send, start};

fn with_notify(blog: &mut Companion, command: &str) {
    let config = blog.root().join("stoa.toml");
    let text = std::fs::read_to_string(&config).expect("stoa.toml");
    let text = text.replacen(
        "[companion]\n",
        &format!("[companion]\nnotify = {command:?}\n"),
        1,
    );
    std::fs::write(&config, text).expect("write");
    blog.terminate();
    blog.launch();
}

fn notifications_cli(blog: &Companion, args: &[&str]) -> String {
    blog.admin_cli("notifications", args)
}

fn reply(actor: &str, n: u32, object: &str, text: &str, to: Value) -> Value {
    let id = format!("{actor}/statuses/{n}");
    json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{id}/activity"), "type": "Create", "actor": actor,
        "object": {"id": id, "type": "Note", "attributedTo": actor, "inReplyTo": object,
            "content": format!("<p>{text}</p>"), "to": to}})
}

#[test]
fn the_writer_hears_of_everything_once_and_the_notify_command_gets_each_reply() {
    let mut blog = start();
    let received = blog.dir.path().join("notified.jsonl");
    with_notify(
        &mut blog,
        &format!(
            "cat >> '{}'; echo >> '{}'",
            received.display(),
            received.display()
        ),
    );
    let peer = Peer::start(&["alice", "bob"]);
    let (alice, bob) = (peer.actor("alice"), peer.actor("bob"));
    let post = format!("{}/ap/posts/hello-world.json", blog.base);
    assert_eq!(
        send(&peer, "alice", &blog, &follow(&peer, "alice", &blog, 1)).0,
        202
    );
    for activity in [
        reply(&alice, 1, &post, "PUBLIC-REPLY", json!([PUBLIC])),
        reply(
            &bob,
            1,
            &post,
            "FOLLOWERS-ONLY-REPLY",
            json!([format!("{bob}/followers")]),
        ),
        {
            let mut m = reply(
                &bob,
                2,
                &blog.actor(),
                "DIRECT-MENTION",
                json!([blog.actor()]),
            );
            m["object"]["inReplyTo"] = Value::Null;
            m["object"]["tag"] = json!([{"type": "Mention", "href": blog.actor()}]);
            m
        },
    ] {
        let name = if activity["actor"] == alice.as_str() {
            "alice"
        } else {
            "bob"
        };
        assert_eq!(send(&peer, name, &blog, &activity).0, 202);
    }
    let like = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{bob}/likes/1"), "type": "Like", "actor": bob, "object": post});
    assert_eq!(send(&peer, "bob", &blog, &like).0, 202);
    // The same reply again (a retry by its server) is not news.
    let again = reply(&alice, 1, &post, "PUBLIC-REPLY", json!([PUBLIC]));
    assert_eq!(send(&peer, "alice", &blog, &again).0, 202);
    blog.wait_status("everything applied", |s| {
        s["incoming_backlog"] == 0 && s["interactions"]["like"] == 1
    });

    let shown = notifications_cli(&blog, &[]);
    for needle in [
        "followed the blog",
        "PUBLIC-REPLY",
        "FOLLOWERS-ONLY-REPLY",
        "not public",
        "DIRECT-MENTION",
        "mentioned the blog",
        "favourited",
    ] {
        assert!(shown.contains(needle), "{needle} missing:\n{shown}");
    }
    assert_eq!(shown.matches("PUBLIC-REPLY").count(), 1, "{shown}");
    // Newest first.
    assert!(
        shown.find("favourited") < shown.find("followed the blog"),
        "{shown}"
    );
    assert!(notifications_cli(&blog, &[]).contains("Nothing new"));
    let all: Value =
        serde_json::from_str(&notifications_cli(&blog, &["--all", "--json"])).expect("json");
    assert_eq!(all.as_array().map(Vec::len), Some(5), "{all}");

    // The notify command got each notification once. The companion marks
    // a notification handed over only after its command ran, so once none
    // is left unmarked the file is final: no fixed wait for "nothing more".
    let deadline = Instant::now() + Duration::from_secs(20);
    let conn = rusqlite::Connection::open(blog.database()).expect("the database");
    loop {
        let waiting: i64 = conn
            .query_row(
                "SELECT count(*) FROM notifications WHERE notified = 0",
                [],
                |r| r.get(0),
            )
            .expect("count");
        if waiting == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} notifications never handed over"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&received).unwrap_or_default();
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(text.matches("PUBLIC-REPLY").count(), 1, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l["kind"] == "reply" && l["public"] == true)
    );
}

#[test]
fn a_hanging_notify_command_does_not_slow_the_inbox() {
    let mut blog = start();
    with_notify(&mut blog, "sleep 60");
    let peer = Peer::start(&["alice"]);
    let alice = peer.actor("alice");
    let post = format!("{}/ap/posts/hello-world.json", blog.base);
    let started = Instant::now();
    let like = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{alice}/likes/1"), "type": "Like", "actor": alice, "object": post});
    assert_eq!(send(&peer, "alice", &blog, &like).0, 202);
    for n in 1..5 {
        let activity = reply(&alice, n, &post, "hello", json!([PUBLIC]));
        assert_eq!(send(&peer, "alice", &blog, &activity).0, 202);
    }
    blog.wait_status("everything applied", |s| {
        s["incoming_backlog"] == 0 && s["interactions"]["reply"] == 4
    });
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the inbox waited for the notify command: {:?}",
        started.elapsed()
    );
}
