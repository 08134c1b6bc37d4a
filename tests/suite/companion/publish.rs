//! `stoa publish` end to end: independent peers (Fedify, snac) follow the
//! blog; a new post, an edit and a deletion reach them as verified Create,
//! Update and Delete; publishing again sends nothing; failing servers get
//! the post after retries; a gone inbox loses its follower; a kill -9 in the
//! middle of a fan-out loses no delivery.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::fedify::Fedify;
use super::{Companion, Peer, Setup, follow, send, signed_by_blog};
use crate::common::{Needs, agent, peers_ready};
use crate::interop_snac::{LOCAL_USER, Snac};

/// Waits until `check` holds, at most `limit`.
pub(super) fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn snac_has(snac: &Snac, id: &str, text: &str) -> bool {
    snac.timeline()
        .iter()
        .any(|v| v["id"] == id && v["content"].as_str().is_some_and(|c| c.contains(text)))
}

#[test]
fn new_edited_and_deleted_posts_reach_fedify_and_snac() {
    if !peers_ready(&[Needs::Fedify, Needs::Snac]) {
        return;
    }
    let blog = crate::companion::start();
    // The first publish of an existing archive sends nothing.
    let out = blog.publish_ok(&[]);
    assert!(out.contains("First publish"), "{out}");

    let fedify = Fedify::start("rfc9421");
    fedify.control("follow", json!({"target": blog.actor()}));
    fedify.wait_received("Accept");
    let snac = Snac::new();
    let port = super::free_port();
    let _snac_server = snac.serve(port);
    snac.run(&["follow", "{data}", LOCAL_USER, &blog.actor()]);
    wait_until(
        "snac's follow to be accepted",
        Duration::from_secs(30),
        || snac.following().iter().any(|v| v["type"] == "Accept"),
    );
    assert_eq!(blog.admin("status")["followers"]["accepted"], 2);

    // A new post, dated today without a time.
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    blog.write_post(
        "fresh-news",
        &format!("title = \"Fresh news\"\ndate = {today}\ntags = [\"news\"]"),
        "Fresh news from the blog.",
    );
    let out = blog.publish_ok(&[]);
    assert!(out.contains("new  fresh-news"), "{out}");
    assert!(
        out.contains("Reached 2 of 2 followers on 2 of 2 servers"),
        "{out}"
    );
    let id = format!("{}/ap/posts/fresh-news.json", blog.base);
    let create = fedify.wait_received("Create");
    assert_eq!(create["objectId"], id.as_str(), "{create}");
    assert!(
        create["objectContent"]
            .as_str()
            .unwrap_or("")
            .contains("Fresh news from the blog.")
    );
    let published: jiff::Timestamp = create["objectPublished"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .expect("published");
    let age = jiff::Timestamp::now().duration_since(published);
    assert!(
        age.as_secs() < 300,
        "published is the time of the first publish, not midnight: {published}"
    );
    let log = std::fs::read_to_string(blog.root().join("published.toml")).expect("published.toml");
    assert!(log.contains("fresh-news = "), "{log}");
    wait_until("snac to show the post", Duration::from_secs(30), || {
        snac_has(&snac, &id, "Fresh news from the blog.")
    });
    let mut followers = agent()
        .get(&format!("{}/ap/followers.json", blog.base))
        .call()
        .expect("followers collection");
    let followers: Value =
        serde_json::from_str(&followers.body_mut().read_to_string().expect("body")).expect("json");
    assert_eq!(
        followers["totalItems"], 2,
        "the count as of this publish: {followers}"
    );

    // An edit.
    blog.write_post(
        "fresh-news",
        &format!("title = \"Fresh news\"\ndate = {today}\ntags = [\"news\"]"),
        "Fresh news from the blog, corrected.",
    );
    let out = blog.publish_ok(&[]);
    assert!(out.contains("edited  fresh-news"), "{out}");
    let update = fedify.wait_received("Update");
    assert_eq!(update["objectId"], id.as_str());
    assert!(
        update["objectContent"]
            .as_str()
            .unwrap_or("")
            .contains("corrected"),
        "{update}"
    );
    assert!(
        update["objectUpdated"].is_string(),
        "an Update carries `updated`: {update}"
    );
    wait_until("snac to show the edit", Duration::from_secs(30), || {
        snac_has(&snac, &id, "corrected")
    });

    // A deletion.
    blog.remove_post("fresh-news");
    let out = blog.publish_ok(&[]);
    assert!(out.contains("deleted  fresh-news"), "{out}");
    let delete = fedify.wait_received("Delete");
    assert_eq!(delete["objectId"], id.as_str(), "{delete}");
    wait_until("snac to remove the post", Duration::from_secs(30), || {
        !snac.timeline().iter().any(|v| v["id"] == id.as_str())
    });
    let gone = agent().get(&id).call().expect("GET the old id");
    assert_eq!(gone.status(), 410, "the old id answers 410 Gone");

    // Publishing again sends nothing: it queues no delivery, and with none
    // pending before it, nothing more can reach a follower.
    let settled = blog.wait_status("every delivery to be settled", |s| {
        s["deliveries"]["pending"] == 0
    });
    let before = fedify.received().len();
    let out = blog.publish_ok(&[]);
    assert!(out.contains("Nothing new to send"), "{out}");
    let s = blog.admin("status");
    assert_eq!(s["deliveries"], settled["deliveries"], "nothing was queued");
    assert_eq!(fedify.received().len(), before, "nothing was sent twice");
}

fn new_post(blog: &Companion, slug: &str) -> String {
    blog.write_post(
        slug,
        "date = 2026-01-01T10:00:00Z",
        &format!("A note called {slug}."),
    );
    format!("{}/ap/posts/{slug}.json", blog.base)
}

fn creates_of(peer: &Peer, id: &str) -> Vec<String> {
    peer.arrivals()
        .into_iter()
        .filter(|a| a.json()["type"] == "Create" && a.json()["object"]["id"] == id)
        .map(|a| a.path)
        .collect()
}

#[test]
fn failing_servers_get_the_post_after_retries_and_gone_inboxes_lose_their_follower() {
    let blog = Companion::start(&Setup {
        allow_private: true,
        retry_scale: Some(0.002),
        ..Setup::default()
    });
    blog.publish_ok(&[]);
    let flaky = Peer::start(&["alice"]);
    // Without a shared inbox, posts go to the personal inbox, whose 410 means the account is gone.
    let gone = Peer::start_with(&["bob"], false);
    assert_eq!(
        send(&flaky, "alice", &blog, &follow(&flaky, "alice", &blog, 1)).0,
        202
    );
    assert_eq!(
        send(&gone, "bob", &blog, &follow(&gone, "bob", &blog, 1)).0,
        202
    );
    flaky.wait_for("alice's Accept", 1, |a| a.json()["type"] == "Accept");
    gone.wait_for("bob's Accept", 1, |a| a.json()["type"] == "Accept");

    flaky.answer_next(&[500, 503]);
    gone.answer_next(&[410]);
    let id = new_post(&blog, "retry-me");
    let out = blog.publish_ok(&[]);
    assert!(out.contains("new  retry-me"), "{out}");
    let deliveries = flaky.wait_for("the third try", 3, |a| a.json()["type"] == "Create");
    assert!(
        deliveries.iter().all(|a| signed_by_blog(&blog, a)),
        "every try is signed afresh"
    );
    assert_eq!(
        creates_of(&flaky, &id).len(),
        3,
        "two failures, then success"
    );
    blog.wait_status("the follower behind the 410 to be removed", |s| {
        s["followers"]["accepted"] == 1 && s["deliveries"]["pending"] == 0
    });
    let followers = blog.admin("followers");
    assert_eq!(followers[0]["actor"], flaky.actor("alice"), "{followers}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stoa"))
        .args(["deliveries", "--root"])
        .arg(blog.root())
        .args(["--companion", &blog.base])
        .env("STOA_ADMIN_TOKEN", super::TOKEN)
        .output()
        .expect("stoa deliveries runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let gone_host = gone.base.trim_start_matches("http://");
    assert!(text.contains(gone_host) && text.contains("410"), "{text}");

    let deliveries = |action: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_stoa"))
            .args(["deliveries", action, "--root"])
            .arg(blog.root())
            .args(["--companion", &blog.base])
            .env("STOA_ADMIN_TOKEN", super::TOKEN)
            .output()
            .expect("stoa deliveries runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(deliveries("retry").contains("0 deliveries will be tried again"));
    let purged = deliveries("purge");
    assert!(purged.starts_with("Forgot "), "{purged}");
    assert_eq!(
        blog.admin("deliveries")["total"],
        0,
        "finished deliveries are forgotten"
    );
}

#[test]
fn kill_9_in_the_middle_of_a_fan_out_loses_no_delivery() {
    let mut blog = crate::companion::start();
    blog.publish_ok(&[]);
    let names: Vec<String> = (0..12).map(|i| format!("reader{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    // No shared inbox: twelve deliveries to one host, four at a time.
    let peer = Peer::start_with(&refs, false);
    for (n, name) in refs.iter().enumerate() {
        assert_eq!(
            send(&peer, name, &blog, &follow(&peer, name, &blog, n as u32)).0,
            202
        );
    }
    peer.wait_for("twelve Accepts", 12, |a| a.json()["type"] == "Accept");

    // The first four deliveries hang: the fan-out is in the middle when it dies.
    peer.stall_next(4);
    let id = new_post(&blog, "fan-out");
    let out = blog.publish_ok(&["--no-wait"]);
    assert!(out.contains("12 deliveries queued"), "{out}");
    peer.wait_for("four deliveries in flight", 4, |a| {
        a.json()["type"] == "Create"
    });
    blog.kill9();
    blog.launch();
    wait_until(
        "every follower's inbox to get the post",
        Duration::from_secs(30),
        || {
            let paths = creates_of(&peer, &id);
            refs.iter()
                .all(|n| paths.contains(&format!("/users/{n}/inbox")))
        },
    );
    // Counted once nothing is pending, so a late duplicate would be seen.
    let status: Value = blog.wait_status("all delivered", |s| s["deliveries"]["pending"] == 0);
    assert_eq!(status["deliveries"]["failed"], 0, "{status}");
    let all = creates_of(&peer, &id);
    assert!(
        all.len() <= 12 + 4,
        "duplicates only for the four that were in flight: {} arrivals",
        all.len()
    );
}

#[test]
fn mentioned_and_replied_to_accounts_get_the_post_and_the_profile_update_reaches_followers() {
    let blog = crate::companion::start();
    blog.publish_ok(&[]);
    let follower = Peer::start_with(&["fan"], false);
    assert_eq!(
        send(&follower, "fan", &blog, &follow(&follower, "fan", &blog, 1)).0,
        202
    );
    follower.wait_for("the Accept", 1, |a| a.json()["type"] == "Accept");
    // Neither of these follows the blog.
    let others = Peer::start_with(&["carol", "dave"], false);
    let carol_handle = format!("carol@{}", others.base.trim_start_matches("http://"));
    let answered = format!("{}/statuses/7", others.actor("dave"));

    blog.write_post(
        "hello-carol",
        "date = 2026-01-01T10:00:00Z",
        &format!(
            "Thanks @{carol_handle} for the tip. And @nobody@{} too.",
            others.base.trim_start_matches("http://")
        ),
    );
    blog.write_post(
        "answer-dave",
        &format!("date = 2026-01-01T11:00:00Z\nin_reply_to = \"{answered}\""),
        "I agree with this.",
    );
    let out = blog.publish_ok(&[]);
    assert!(out.contains(&format!("Found @{carol_handle}")), "{out}");
    let id = format!("{}/ap/posts/hello-carol.json", blog.base);
    let to_carol = others.wait_for("the mention's delivery", 1, |a| {
        a.path == "/users/carol/inbox" && a.json()["object"]["id"] == id.as_str()
    });
    let note = &to_carol[0].json()["object"];
    let mention = note["tag"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["type"] == "Mention"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(mention["href"], others.actor("carol"), "{note}");
    assert_eq!(mention["name"], format!("@{carol_handle}"));
    assert!(
        note["cc"]
            .as_array()
            .is_some_and(|cc| cc.contains(&json!(others.actor("carol")))),
        "{note}"
    );
    let content = note["content"].as_str().unwrap_or("");
    assert!(
        content.contains(&format!(
            "href=\"{}/@carol\" class=\"u-url mention\"",
            others.base
        )),
        "{content}"
    );
    assert!(
        content.contains("@nobody@"),
        "an unknown account stays text: {content}"
    );
    others.wait_for("the reply's delivery to the author", 1, |a| {
        a.path == "/users/dave/inbox" && a.json()["object"]["inReplyTo"] == answered.as_str()
    });
    follower.wait_for("both posts at the follower", 2, |a| {
        a.json()["type"] == "Create"
    });

    // A profile change goes out as Update(Person).
    let config = blog.root().join("stoa.toml");
    let text = std::fs::read_to_string(&config).expect("stoa.toml");
    std::fs::write(
        &config,
        text.replace("[fediverse]", "[fediverse]\nbio = \"Now with a new bio.\""),
    )
    .expect("write");
    // The account that was not found is remembered, and not asked again
    // at once: the writer is told when it will be.
    let log = std::fs::read_to_string(blog.root().join("published.toml")).expect("log");
    assert!(
        log.contains("[unresolved]") && log.contains("\"nobody@"),
        "{log}"
    );
    let (ok, out, err) = blog.publish(&[]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("profile  updated"), "{out}");
    assert!(err.contains("is still not found (1 try,"), "{err}");
    assert!(err.contains("--retry-mentions"), "{err}");
    let update = follower.wait_for("the profile update", 1, |a| a.json()["type"] == "Update");
    assert_eq!(update[0].json()["object"]["type"], "Person");
    assert!(
        update[0].json()["object"]["summary"]
            .as_str()
            .unwrap_or("")
            .contains("new bio")
    );
}
