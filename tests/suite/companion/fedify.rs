//! Fedify, an independent ActivityPub framework, as a follower: it follows
//! the blog, likes, boosts, replies, takes back its like and unfollows,
//! signing with its own code, and verifies the blog's Accept with its own
//! verifier before recording it. Once with RFC 9421 signatures (Fedify's
//! default first try), once with draft-cavage.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Companion, free_port};
use crate::common::{Needs, agent, interop_dir, peer_program, peers_ready};

/// The Fedify follower process, killed on drop.
pub(crate) struct Fedify {
    child: Child,
    base: String,
}

impl Drop for Fedify {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Fedify {
    /// Starts the follower; the calling test has checked
    /// `peers_ready(&[Needs::Fedify])`.
    pub(crate) fn start(first_knock: &str) -> Fedify {
        let port = free_port();
        let mut child = Command::new(peer_program(Needs::Fedify))
            .arg(interop_dir().join("fedify-follower.mjs"))
            .arg(port.to_string())
            .arg(first_knock)
            .current_dir(interop_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the Fedify follower starts");
        assert!(line.starts_with("ready "), "{line}");
        Fedify {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub(crate) fn control(&self, what: &str, body: Value) -> Value {
        let mut r = agent()
            .post(&format!("{}/control/{what}", self.base))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .expect("control request");
        let text = r.body_mut().read_to_string().unwrap_or_default();
        assert_eq!(r.status(), 200, "{what}: {text}");
        serde_json::from_str(&text).expect("json")
    }

    pub(crate) fn received(&self) -> Vec<Value> {
        let mut r = agent()
            .get(&format!("{}/control/received", self.base))
            .call()
            .expect("received");
        serde_json::from_str(&r.body_mut().read_to_string().unwrap_or_default()).expect("json")
    }

    pub(crate) fn wait_received(&self, kind: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(v) = self.received().into_iter().find(|v| v["type"] == kind) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "Fedify received no {kind}: {:?}",
                self.received()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn actor(&self) -> String {
        format!("{}/users/alice", self.base)
    }

    /// The Accept or Reject of the activity `request` (an id) Fedify sent.
    pub(crate) fn wait_answer(&self, request: &Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(v) = self.received().into_iter().find(|v| {
                (v["type"] == "Accept" || v["type"] == "Reject") && v["objectId"] == *request
            }) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "Fedify received no answer to {request}: {:?}",
                self.received()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A blog whose companion Fedify follows (the Accept received), or `None`
/// when Fedify is not installed (the calling test then checks nothing).
pub(crate) fn followed_blog() -> Option<(Companion, Fedify)> {
    if !peers_ready(&[Needs::Fedify]) {
        return None;
    }
    let blog = crate::companion::start();
    let fedify = Fedify::start("rfc9421");
    fedify.control("follow", json!({"target": blog.actor()}));
    fedify.wait_received("Accept");
    Some((blog, fedify))
}

fn follow_interact_unfollow(first_knock: &str) {
    if !peers_ready(&[Needs::Fedify]) {
        return;
    }
    let blog = crate::companion::start();
    let fedify = Fedify::start(first_knock);
    let target = json!({"target": blog.actor()});

    let follow = fedify.control("follow", target.clone());
    let accept = fedify.wait_received("Accept");
    assert_eq!(accept["actor"], blog.actor(), "{accept}");
    assert_eq!(
        accept["objectId"], follow["id"],
        "the Accept answers Fedify's Follow: {accept}"
    );
    assert_eq!(accept["objectType"], "Follow", "{accept}");
    assert_eq!(accept["objectActor"], fedify.actor(), "{accept}");
    assert_eq!(accept["objectObject"], blog.actor(), "{accept}");
    let followers = blog.admin("followers");
    assert_eq!(followers[0]["actor"], fedify.actor(), "{followers}");
    assert_eq!(followers[0]["inbox"], format!("{}/inbox", fedify.actor()));
    assert_eq!(
        followers[0]["shared_inbox"],
        format!("{}/inbox", fedify.base)
    );

    let post = format!("{}/ap/posts/hello-world.json", blog.base);
    let with_post = json!({"target": blog.actor(), "object": post});
    fedify.control("like", with_post.clone());
    fedify.control("announce", with_post.clone());
    let reply = fedify.control(
        "reply",
        json!({"target": blog.actor(), "object": post,
               "content": "<p>Lovely post! <script>alert(1)</script><a href=\"javascript:x()\">x</a></p>"}),
    );
    blog.wait_status("like, boost and reply", |s| {
        s["interactions"] == json!({"like": 1, "announce": 1, "reply": 1})
    });
    let items = blog.admin(&format!("interactions?object={post}"));
    let reply_row = items
        .as_array()
        .and_then(|a| a.iter().find(|i| i["kind"] == "reply"))
        .expect("the reply is listed");
    assert_eq!(reply_row["id"], reply["id"]);
    let content = reply_row["content"].as_str().unwrap_or("");
    assert!(content.contains("Lovely post!"), "{content}");
    assert!(
        !content.contains("script") && !content.contains("javascript:"),
        "sanitized: {content}"
    );

    fedify.control("unlike", with_post);
    blog.wait_status("the like undone", |s| {
        s["interactions"] == json!({"announce": 1, "reply": 1})
    });
    fedify.control("unfollow", target);
    blog.wait_status("the unfollow", |s| s["followers"]["accepted"] == 0);

    let log = blog.log();
    assert!(
        !log.contains("inbox request refused"),
        "every request of Fedify's was accepted at the first try ({first_knock}):\n{log}"
    );
}

#[test]
fn fedify_follows_interacts_and_unfollows_with_rfc9421_signatures() {
    follow_interact_unfollow("rfc9421");
}

#[test]
fn fedify_follows_interacts_and_unfollows_with_cavage_signatures() {
    follow_interact_unfollow("draft-cavage-http-signatures-12");
}

/// Fedify asks to quote blog posts with signed `QuoteRequest`s: a post
/// nobody may quote, and a followers-only one while Fedify is a stranger,
/// get a verified `Reject`; the followers-only one once Fedify follows, and
/// a post anyone may quote, get a verified `Accept`; Fedify looks up the
/// stamp at the blog's host and reads its three fields; the writer revokes
/// the quote, Fedify verifies the `Delete` and the stamp answers 410.
#[test]
fn fedify_quotes_a_post_gets_a_stamp_and_sees_it_revoked() {
    if !peers_ready(&[Needs::Fedify]) {
        return;
    }
    let blog = super::quotes::blog_with_quote_policies();
    let fedify = Fedify::start("rfc9421");
    let quote = |slug: &str| -> (Value, Value) {
        let post = format!("{}/ap/posts/{slug}.json", blog.base);
        let asked = fedify.control("quote", json!({"target": blog.actor(), "object": post}));
        let answer = fedify.wait_answer(&asked["id"]);
        assert_eq!(answer["actor"], blog.actor(), "{answer}");
        assert_eq!(answer["objectType"], "QuoteRequest", "{answer}");
        assert_eq!(answer["objectInstrument"], asked["note"], "{answer}");
        (asked, answer)
    };
    // Nobody may quote "mine"; "fans-only" only a follower, which Fedify
    // becomes between its two requests.
    assert_eq!(quote("mine").1["type"], "Reject");
    assert_eq!(quote("fans-only").1["type"], "Reject");
    fedify.control("follow", json!({"target": blog.actor()}));
    fedify.wait_received("Accept");
    let (_, fans) = quote("fans-only");
    assert_eq!(fans["type"], "Accept", "{fans}");
    blog.wait_status("the follower's quote recorded", |s| {
        s["interactions"]["quote"] == 1
    });

    let post = format!("{}/ap/posts/hello-world.json", blog.base);
    let (asked, accept) = quote("hello-world");
    assert_eq!(accept["type"], "Accept", "{accept}");
    assert_eq!(accept["actor"], blog.actor(), "{accept}");
    assert_eq!(accept["objectType"], "QuoteRequest", "{accept}");
    assert_eq!(accept["objectId"], asked["id"], "{accept}");
    assert_eq!(accept["objectInstrument"], asked["note"], "{accept}");
    let stamp_url = accept["result"].as_str().expect("a stamp").to_string();
    assert!(
        stamp_url.starts_with(&format!("{}/quote-authorizations/", blog.base)),
        "{stamp_url}"
    );
    let stamp = fedify.control("stamp", json!({"url": stamp_url}));
    assert_eq!(stamp["id"], stamp_url, "{stamp}");
    assert_eq!(stamp["attributedTo"], blog.actor(), "{stamp}");
    assert_eq!(stamp["interactingObject"], asked["note"], "{stamp}");
    assert_eq!(stamp["interactionTarget"], post, "{stamp}");
    blog.wait_status("the quote recorded", |s| s["interactions"]["quote"] == 2);
    // The stamp as served, and the Tombstone after the revocation, keep
    // every term through JSON-LD expansion (checked together below).
    let documents = tempfile::tempdir().expect("temp dir");
    let keep = |name: &str| {
        // Read the body whatever the status (the Tombstone comes with 410).
        let body = agent()
            .get(&stamp_url)
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .expect("GET the stamp")
            .body_mut()
            .read_to_string()
            .expect("body");
        let dir = documents.path().join("ap");
        std::fs::create_dir_all(&dir).expect("ap folder");
        std::fs::write(dir.join(name), body).expect("write");
    };
    keep("stamp.json");

    blog.admin_cli(
        "quotes",
        &["revoke", asked["note"].as_str().unwrap_or_default()],
    );
    let delete = fedify.wait_received("Delete");
    assert_eq!(delete["actor"], blog.actor(), "{delete}");
    assert_eq!(delete["objectId"], stamp_url, "{delete}");
    let status = match agent().get(&stamp_url).call() {
        Ok(r) => r.status().as_u16(),
        Err(ureq::Error::StatusCode(s)) => s,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(status, 410);
    keep("revoked-stamp.json");
    crate::interop_fedify::assert_no_term_dropped(
        documents.path(),
        &["ap/stamp.json", "ap/revoked-stamp.json"],
    );
}

/// A blog post quotes a Fedify post: `stoa publish` sends Fedify a
/// `QuoteRequest` (with the post's `quote`), Fedify accepts with a stamp,
/// the companion checks the stamp, and the next publish sends an `Update`
/// whose object carries `quoteAuthorization`, verified by Fedify.
#[test]
fn a_post_quoting_fedify_asks_gets_a_stamp_and_the_next_publish_carries_it() {
    let Some((blog, fedify)) = followed_blog() else {
        return;
    };
    blog.publish_ok(&[]); // the baseline: nothing is sent
    let note = fedify.control("post", json!({"content": "<p>Quote me</p>"}))["id"]
        .as_str()
        .expect("a post id")
        .to_string();
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    blog.write_post(
        "quoting",
        &format!("date = {today}\nquote = \"{note}\""),
        "Well said.",
    );
    blog.publish_ok(&[]);
    let object = format!("{}/ap/posts/quoting.json", blog.base);
    // The blog page shows the quoted post, fetched once at publish.
    let page = std::fs::read_to_string(blog.root().join("public/posts/quoting/index.html"))
        .expect("the post page");
    assert!(
        page.contains("Quote me") && page.contains("Alice (Fedify)") && page.contains(&note),
        "{page}"
    );
    let request = fedify.wait_received("QuoteRequest");
    assert_eq!(request["actor"], blog.actor(), "{request}");
    assert_eq!(request["objectId"], note, "{request}");
    assert_eq!(request["instrument"], object, "{request}");
    let create = fedify.wait_received("Create");
    assert_eq!(create["objectQuote"], note, "{create}");
    assert!(
        create["objectContent"]
            .as_str()
            .is_some_and(|c| c.contains("RE: <a href=")),
        "{create}"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let stamp = loop {
        let manifest = blog.admin("manifest");
        if let Some(s) = manifest["quote_authorizations"][&object].as_str() {
            break s.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no stamp recorded: {manifest}\n{}",
            blog.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(stamp.starts_with(&fedify.actor()), "{stamp}");

    blog.publish_ok(&[]);
    let log = std::fs::read_to_string(blog.root().join("published.toml")).expect("published.toml");
    assert!(log.contains(&stamp), "{log}");
    let update = fedify.wait_received("Update");
    assert_eq!(update["objectQuoteAuthorization"], stamp, "{update}");
    assert_eq!(update["objectQuote"], note, "{update}");
}
