//! Account migration, both ways, with snac2 (which implements `alias`,
//! `migrate`, and follows the target of a Move it receives) and Fedify
//! (which verifies the Move's signature before recording it).
//!
//! Out: a snac account follows the blog, another lists the blog among its
//! aliases, `stoa move` to it; the first now follows the new one. A target
//! without the alias is refused before anything changes or is sent.
//!
//! In: a snac account with a snac follower names the blog as its alias
//! and runs `snac migrate`; the follower's server follows the blog, the
//! companion accepts it and `stoa followers` says it came after the move.
//!
//! snac serves its own accounts' actors from its object cache, which the
//! command-line `alias` does not refresh; the tests drop that cache entry
//! after `snac alias` ([`Snac::forget_cached`]) so the alias is served.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Needs, peers_ready};
use crate::companion::fedify::Fedify;
use crate::companion::{Companion, Peer, Setup, follow, free_port, send, signed_by_blog};
use crate::interop_snac::{LOCAL_USER, Snac, SnacServer};

/// Polls `check` for up to 30 s; panics with `what` and `context()`.
fn wait_for<T>(what: &str, context: impl Fn() -> String, check: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether snac's `following/` of `user` holds `actor`, accepted or asked.
fn snac_follows(snac: &Snac, user: &str, actor: &str, accepted: bool) -> bool {
    snac.following_of(user).iter().any(|v| {
        let kind = v["type"].as_str();
        (kind == Some("Accept") && v["actor"] == actor)
            || (!accepted && kind == Some("Follow") && v["object"] == actor)
    })
}

fn logs(snac_server: &SnacServer, blog: &Companion) -> String {
    format!(
        "snac log:\n{}\ncompanion log:\n{}",
        Snac::log(snac_server),
        blog.log()
    )
}

#[test]
fn stoa_move_takes_snac_followers_to_the_new_account_and_fedify_verifies_the_move() {
    if !peers_ready(&[Needs::Snac, Needs::Fedify]) {
        return;
    }
    let snac = Snac::new();
    snac.add_user("newhome");
    let port = free_port();
    let server = snac.serve(port);
    let new_home = format!("http://127.0.0.1:{port}/newhome");
    let blog = crate::companion::start();
    let (ok, out, err) = blog.publish(&[]);
    assert!(ok, "first publish: {out}{err}");

    // Two followers: snac's reader and Fedify's alice.
    let ran = snac.run(&["follow", "{data}", LOCAL_USER, &blog.actor()]);
    wait_for(
        "snac's follow of the blog accepted",
        || format!("{ran:?}\n{}", logs(&server, &blog)),
        || snac_follows(&snac, LOCAL_USER, &blog.actor(), true).then_some(()),
    );
    let fedify = Fedify::start("rfc9421");
    fedify.control("follow", json!({"target": blog.actor()}));
    fedify.wait_received("Accept");
    blog.wait_status("two followers", |s| s["followers"]["accepted"] == 2);

    // Without the alias on the new account: refused, nothing changed or sent.
    let config_before = std::fs::read_to_string(blog.root().join("stoa.toml")).expect("stoa.toml");
    let deliveries_before = blog.admin("status")["deliveries"].clone();
    let (ok, out, err) = blog.deploying("move", &[&new_home]);
    assert!(
        !ok,
        "a move to an account without the alias is refused: {out}"
    );
    assert!(
        err.contains("does not list this blog among its aliases")
            && err.contains(&format!("snac alias DATA_DIR USER {}", blog.actor())),
        "the refusal gives the fix: {err}"
    );
    assert_eq!(
        std::fs::read_to_string(blog.root().join("stoa.toml")).expect("stoa.toml"),
        config_before,
        "stoa.toml is unchanged"
    );
    assert_eq!(blog.admin("status")["deliveries"], deliveries_before);

    // The new account lists the blog; a dry run changes nothing.
    let aliased = snac.run(&["alias", "{data}", "newhome", &blog.actor()]);
    snac.forget_cached(&new_home);
    let (status, doc) = {
        let mut r = crate::common::agent()
            .get(&new_home)
            .header("Accept", "application/activity+json")
            .call()
            .expect("snac serves the new account");
        let text = r.body_mut().read_to_string().unwrap_or_default();
        (
            r.status(),
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
        )
    };
    assert_eq!(status, 200);
    assert!(
        doc["alsoKnownAs"].to_string().contains(&blog.actor()),
        "snac alias put the blog in alsoKnownAs: {doc:#}\n{aliased:?}"
    );
    let (ok, out, err) = blog.deploying("move", &[&new_home, "--dry-run"]);
    assert!(ok, "dry run: {out}{err}");
    assert!(out.contains("Dry run: nothing changed"), "{out}");
    assert!(
        out.contains("Mastodon") && out.contains("GoToSocial"),
        "cooldowns: {out}"
    );
    assert_eq!(
        std::fs::read_to_string(blog.root().join("stoa.toml")).expect("stoa.toml"),
        config_before
    );

    // The move.
    let (ok, out, err) = blog.deploying("move", &[&new_home]);
    assert!(ok, "stoa move: {out}\n{err}\n{}", logs(&server, &blog));
    assert!(out.contains("Moved to"), "{out}");
    assert!(
        out.contains("2 deliveries queued") && out.contains("Reached 2 of 2 followers"),
        "progress as stoa publish reports it: {out}"
    );
    let config = std::fs::read_to_string(blog.root().join("stoa.toml")).expect("stoa.toml");
    assert!(
        config.contains(&format!("moved_to = \"{new_home}\"")),
        "{config}"
    );
    let actor: Value = serde_json::from_slice(
        &std::fs::read(blog.root().join("public/ap/actor.json")).expect("actor"),
    )
    .expect("json");
    assert_eq!(actor["movedTo"], new_home.as_str());

    // Fedify verified the Update of the profile and the Move.
    let update = fedify.wait_received("Update");
    assert_eq!(update["objectType"], "Person", "{update}");
    assert_eq!(
        update["objectMovedTo"],
        new_home.as_str(),
        "the profile's Update says where the blog moved (Fedify reads movedTo): {update}"
    );
    let moved = fedify.wait_received("Move");
    assert_eq!(moved["actor"], blog.actor(), "{moved}");
    assert_eq!(moved["objectId"], blog.actor(), "{moved}");
    assert_eq!(moved["target"], new_home.as_str(), "{moved}");

    // snac's reader now follows the new account.
    wait_for(
        "snac's reader to follow the new account",
        || {
            format!(
                "following: {:?}\n{}",
                snac.following_of(LOCAL_USER),
                logs(&server, &blog)
            )
        },
        || snac_follows(&snac, LOCAL_USER, &new_home, false).then_some(()),
    );

    assert_eq!(blog.admin("status")["moved_to"], new_home.as_str());
    // Again: nothing is sent twice.
    let (ok, out, err) = blog.deploying("move", &[&new_home]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("0 deliveries queued"), "{out}");
    // A moved blog takes no new followers: a Follow is answered with Reject.
    fedify.control("follow", json!({"target": blog.actor()}));
    let reject = fedify.wait_received("Reject");
    assert_eq!(reject["objectType"], "Follow", "{reject}");
}

#[test]
fn snac_migrate_brings_its_follower_to_the_blog_and_the_companion_says_so() {
    if !peers_ready(&[Needs::Snac]) {
        return;
    }
    let snac = Snac::new();
    snac.add_user("oldhome");
    let port = free_port();
    let old_home = format!("http://127.0.0.1:{port}/oldhome");
    let reader = format!("http://127.0.0.1:{port}/{LOCAL_USER}");
    // The blog names the snac account as an earlier account of its writer.
    let blog = Companion::start(&Setup {
        allow_private: true,
        also_known_as: vec![old_home.clone()],
        ..Setup::default()
    });
    let server = snac.serve(port);

    // reader follows oldhome (both on snac).
    let ran = snac.run(&["follow", "{data}", LOCAL_USER, &old_home]);
    wait_for(
        "reader to follow oldhome",
        || format!("{ran:?}\n{}", logs(&server, &blog)),
        || snac_follows(&snac, LOCAL_USER, &old_home, true).then_some(()),
    );

    // oldhome names the blog as its alias and migrates.
    let aliased = snac.run(&["alias", "{data}", "oldhome", &blog.actor()]);
    snac.forget_cached(&old_home);
    let migrated = snac.run(&["migrate", "{data}", "oldhome"]);
    assert!(
        migrated.status.success(),
        "snac migrate: {aliased:?}\n{migrated:?}\n{}",
        logs(&server, &blog)
    );

    // reader's server follows the blog; the companion accepts it.
    wait_for(
        "reader to follow the blog",
        || {
            format!(
                "{migrated:?}\nfollowing: {:?}\n{}",
                snac.following_of(LOCAL_USER),
                logs(&server, &blog)
            )
        },
        || snac_follows(&snac, LOCAL_USER, &blog.actor(), true).then_some(()),
    );
    let followers = blog.admin("followers");
    let entry = followers
        .as_array()
        .and_then(|a| a.iter().find(|f| f["actor"] == reader.as_str()))
        .unwrap_or_else(|| panic!("reader follows the blog: {followers}"));
    assert_eq!(entry["state"], "accepted", "{entry}");
    assert_eq!(
        entry["moved_from"],
        old_home.as_str(),
        "{entry}\n{}",
        logs(&server, &blog)
    );
    let (ok, out, err) = blog.followers_cli(&["list"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!(
            "{reader}  (followed after {old_home} pointed to the blog)"
        )),
        "{out}"
    );
    assert_eq!(
        blog.admin("status")["moved_in"][&old_home],
        1,
        "what stoa doctor reports"
    );
    let (ok, out, err) = blog.followers_cli(&["count"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!(
            "1 of them followed after {old_home} pointed to the blog"
        )),
        "{out}"
    );
}

/// Followers who come with a move are treated like any other: held for
/// approval when the blog approves followers by hand, refused when blocked.
/// The old account here says `movedTo` the blog, as Mastodon's does.
#[test]
fn followers_after_a_move_in_wait_for_approval_and_blocked_ones_are_refused() {
    let peer = Peer::start(&["old", "fan", "troll"]);
    let blog = Companion::start(&Setup {
        allow_private: true,
        manual_approval: true,
        blocked_actors: vec![peer.actor("troll")],
        also_known_as: vec![peer.actor("old")],
        ..Setup::default()
    });
    peer.set_profile("old", json!({"movedTo": blog.actor()}));
    for (n, name) in ["fan", "troll"].iter().enumerate() {
        let (status, text) = send(&peer, name, &blog, &follow(&peer, name, &blog, n as u32));
        assert_eq!(status, 202, "{text}");
    }
    blog.wait_status("the fan's follow held", |s| s["followers"]["pending"] == 1);
    let reject = peer.wait_for("the troll's Reject", 1, |a| a.json()["type"] == "Reject");
    assert_eq!(reject[0].json()["object"]["actor"], peer.actor("troll"));
    let followers = blog.admin("followers");
    assert_eq!(followers.as_array().map(Vec::len), Some(1), "{followers}");
    assert_eq!(followers[0]["actor"], peer.actor("fan"));
    assert_eq!(followers[0]["state"], "pending");
    assert_eq!(followers[0]["moved_from"], peer.actor("old"));

    let (ok, out, err) = blog.followers_cli(&["approve", &peer.actor("fan")]);
    assert!(ok, "{out}{err}");
    peer.wait_for("the fan's Accept", 1, |a| a.json()["type"] == "Accept");
    let (_, out, _) = blog.followers_cli(&["list"]);
    assert!(
        out.contains(&format!(
            "{}  (followed after {} pointed to the blog)",
            peer.actor("fan"),
            peer.actor("old")
        )),
        "{out}"
    );
}

/// `stoa move --delay 1` sends the profile's Update at once and holds the
/// Move for a minute; `--cancel` drops it, publishes the profile without
/// `movedTo`, and the blog takes followers again.
#[test]
fn a_move_held_back_is_cancelled_before_it_is_sent() {
    let peer = Peer::start(&["alice", "newhome", "bob"]);
    let blog = crate::companion::start();
    peer.set_profile("newhome", json!({"alsoKnownAs": [blog.actor()]}));
    let (status, text) = send(&peer, "alice", &blog, &follow(&peer, "alice", &blog, 1));
    assert_eq!(status, 202, "{text}");
    blog.wait_status("alice follows", |s| s["followers"]["accepted"] == 1);
    let (ok, out, err) = blog.publish(&[]);
    assert!(ok, "first publish: {out}{err}");

    let target = peer.actor("newhome");
    let (ok, out, err) = blog.deploying("move", &[&target, "--delay", "1", "--no-wait"]);
    assert!(ok, "stoa move: {out}\n{err}\n{}", blog.log());
    assert!(out.contains("1 delivery queued"), "{out}");
    let updates = peer.wait_for("the profile's Update", 1, |a| {
        a.json()["type"] == "Update" && a.json()["object"]["movedTo"] == target.as_str()
    });
    assert!(signed_by_blog(&blog, &updates[0]));
    blog.wait_status("the Move waiting", |s| s["deliveries"]["pending"] == 1);

    let (ok, out, err) = blog.deploying("move", &["--cancel"]);
    assert!(ok, "stoa move --cancel: {out}\n{err}\n{}", blog.log());
    assert!(
        out.contains(&format!(
            "Move to {target}: 1 delivery dropped before they arrived, 0 arrived already"
        )),
        "{out}"
    );
    let config = std::fs::read_to_string(blog.root().join("stoa.toml")).expect("stoa.toml");
    assert!(!config.contains("\nmoved_to ="), "{config}");
    peer.wait_for("the profile's Update without movedTo", 1, |a| {
        let v = a.json();
        v["type"] == "Update"
            && v["object"]["type"] == "Person"
            && v["object"].get("movedTo").is_none()
    });
    blog.wait_status("nothing left to send", |s| s["deliveries"]["pending"] == 0);
    assert!(
        !peer.arrivals().iter().any(|a| a.json()["type"] == "Move"),
        "the Move never left"
    );

    // Not moved any more: a new Follow is accepted.
    let (status, text) = send(&peer, "bob", &blog, &follow(&peer, "bob", &blog, 2));
    assert_eq!(status, 202, "{text}");
    blog.wait_status("bob follows", |s| s["followers"]["accepted"] == 2);
}
