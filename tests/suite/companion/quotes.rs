//! Quotes of the blog's posts (FEP-044f): a `QuoteRequest` is answered by
//! the quoted post's policy with an `Accept` carrying a stamp that the
//! companion serves on the blog's host, or a `Reject`; forged requests
//! change nothing; `stoa quotes` lists and revokes.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Arrival, Companion, Peer, agent, follow, post_raw, send, signed_by_blog};

fn post(blog: &Companion, slug: &str) -> String {
    format!("{}/ap/posts/{slug}.json", blog.base)
}

/// A QuoteRequest by `name` for `object`, its quoting post (number `n`)
/// embedded, attributed to `author` and quoting `quoted`.
fn quote_request(
    peer: &Peer,
    name: &str,
    n: u32,
    object: &str,
    author: &str,
    quoted: &str,
) -> Value {
    let actor = peer.actor(name);
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", {"QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest"}],
        "id": format!("{actor}/quote_requests/{n}"),
        "type": "QuoteRequest",
        "actor": actor,
        "object": object,
        "instrument": {
            "id": format!("{actor}/statuses/{n}"),
            "type": "Note",
            "attributedTo": author,
            "content": "<p>Look at this</p>",
            "quote": quoted,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    })
}

/// The answers (Accept or Reject of a QuoteRequest) `name` received.
fn answers(peer: &Peer, name: &str) -> Vec<Value> {
    peer.arrivals()
        .iter()
        .filter(|a| a.path == format!("/users/{name}/inbox"))
        .map(Arrival::json)
        .filter(|v| v["object"]["type"] == "QuoteRequest")
        .collect()
}

fn answer_to(peer: &Peer, name: &str, request: &Value) -> Value {
    let id = request["id"].clone();
    peer.wait_for("the answer to a quote request", 1, |a| {
        a.json()["object"]["id"] == id
    })
    .into_iter()
    .next()
    .map(|a| a.json())
    .unwrap_or(Value::Null);
    let found: Vec<Value> = answers(peer, name)
        .into_iter()
        .filter(|v| v["object"]["id"] == id)
        .collect();
    assert_eq!(found.len(), 1, "one answer to {id}: {found:?}");
    found[0].clone()
}

fn get(url: &str) -> (u16, String, Value) {
    let r = agent().get(url).call().expect("GET");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut r = r;
    let body = r.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        ct,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    )
}

/// `stoa quotes ARGS` from the writer's machine, through the admin API.
fn quotes_cli(blog: &Companion, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stoa"))
        .arg("quotes")
        .arg("--root")
        .arg(blog.root())
        .arg("--companion")
        .arg(&blog.base)
        .env("STOA_ADMIN_TOKEN", super::TOKEN)
        .args(args)
        .output()
        .expect("stoa quotes runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A published blog with three posts: `hello-world` anyone may quote,
/// `fans-only` its followers, `mine` nobody.
pub(crate) fn blog_with_quote_policies() -> Companion {
    let blog = crate::companion::start();
    blog.write_post(
        "fans-only",
        "date = 2024-05-02\nquote_policy = \"followers\"",
        "For followers.",
    );
    blog.write_post(
        "mine",
        "date = 2024-05-03\nquote_policy = \"nobody\"",
        "Not quotable.",
    );
    blog.publish_ok(&[]);
    blog
}

#[test]
fn quote_requests_are_answered_by_each_posts_policy_and_stamps_can_be_revoked() {
    let blog = blog_with_quote_policies();
    let peer = Peer::start(&["alice", "bob"]);
    let alice = peer.actor("alice");
    let bob = peer.actor("bob");
    assert_eq!(
        send(&peer, "alice", &blog, &follow(&peer, "alice", &blog, 1)).0,
        202
    );
    peer.wait_for("the Accept of alice's follow", 1, |a| {
        a.json()["object"]["type"] == "Follow"
    });

    // Anyone may quote hello-world: Accept, its result a stamp on the blog's host.
    let hello = post(&blog, "hello-world");
    let r1 = quote_request(&peer, "alice", 1, &hello, &alice, &hello);
    let body = r1.to_string().into_bytes();
    let headers = peer.sign_post("alice", &blog.inbox(), &body, Timestamp::now());
    assert_eq!(post_raw(&blog.inbox(), &headers, &body).0, 202);
    let accept = answer_to(&peer, "alice", &r1);
    assert_eq!(accept["type"], "Accept", "{accept}");
    assert_eq!(accept["actor"], blog.actor());
    let stamp_url = accept["result"].as_str().expect("a result").to_string();
    assert!(
        stamp_url.starts_with(&format!("{}/quote-authorizations/", blog.base)),
        "{stamp_url}"
    );
    let arrival = peer
        .arrivals()
        .into_iter()
        .find(|a| a.json()["id"] == accept["id"])
        .expect("the Accept arrived");
    assert!(
        signed_by_blog(&blog, &arrival),
        "the Accept is signed by the blog"
    );
    let (status, ct, stamp) = get(&stamp_url);
    assert_eq!(status, 200, "{stamp}");
    assert_eq!(ct, "application/activity+json");
    assert_eq!(stamp["id"], stamp_url);
    assert_eq!(stamp["type"], "QuoteAuthorization");
    assert_eq!(stamp["attributedTo"], blog.actor());
    assert_eq!(stamp["interactingObject"], r1["instrument"]["id"]);
    assert_eq!(stamp["interactionTarget"], hello);

    // The same request replayed: still one answer.
    assert_eq!(post_raw(&blog.inbox(), &headers, &body).0, 202);

    // Followers only: alice follows and is accepted, bob is a stranger.
    let fans = post(&blog, "fans-only");
    let r2 = quote_request(&peer, "alice", 2, &fans, &alice, &fans);
    assert_eq!(send(&peer, "alice", &blog, &r2).0, 202);
    assert_eq!(answer_to(&peer, "alice", &r2)["type"], "Accept");
    let r3 = quote_request(&peer, "bob", 3, &fans, &bob, &fans);
    assert_eq!(send(&peer, "bob", &blog, &r3).0, 202);
    let reject = answer_to(&peer, "bob", &r3);
    assert_eq!(reject["type"], "Reject", "{reject}");
    assert!(reject.get("result").is_none());
    // Nobody may quote "mine".
    let mine = post(&blog, "mine");
    let r4 = quote_request(&peer, "alice", 4, &mine, &alice, &mine);
    assert_eq!(send(&peer, "alice", &blog, &r4).0, 202);
    assert_eq!(answer_to(&peer, "alice", &r4)["type"], "Reject");

    // Forgeries change nothing: a quoting post by someone else is refused
    // at the door; a post that is not the blog's, or a quoting post that
    // quotes another post, gets no answer and no stamp.
    let forged = quote_request(&peer, "bob", 5, &hello, &alice, &hello);
    let (status, reason) = send(&peer, "bob", &blog, &forged);
    assert_eq!(status, 400, "{reason}");
    assert!(reason.contains("attributed to"), "{reason}");
    let elsewhere = format!("{}/users/alice/statuses/9", peer.base);
    let not_ours = quote_request(&peer, "bob", 6, &elsewhere, &bob, &elsewhere);
    assert_eq!(send(&peer, "bob", &blog, &not_ours).0, 202);
    let profile = quote_request(&peer, "bob", 7, &blog.actor(), &bob, &blog.actor());
    assert_eq!(send(&peer, "bob", &blog, &profile).0, 202);
    let mismatch = quote_request(&peer, "bob", 8, &hello, &bob, &fans);
    assert_eq!(send(&peer, "bob", &blog, &mismatch).0, 202);
    // A last valid request: once it is answered, everything before was applied.
    let r9 = quote_request(&peer, "bob", 9, &hello, &bob, &hello);
    assert_eq!(send(&peer, "bob", &blog, &r9).0, 202);
    assert_eq!(answer_to(&peer, "bob", &r9)["type"], "Accept");
    assert_eq!(
        answers(&peer, "alice").len(),
        3,
        "{:?}",
        answers(&peer, "alice")
    );
    assert_eq!(
        answers(&peer, "bob").len(),
        2,
        "{:?}",
        answers(&peer, "bob")
    );
    let status = blog.admin("status");
    assert_eq!(status["interactions"]["quote"], 3, "{status}");

    // A quote addressed to bob's followers only: approved (the policy is
    // about who quotes, not where), told to the writer, never shown.
    let mut r11 = quote_request(&peer, "bob", 11, &hello, &bob, &hello);
    r11["instrument"]["to"] = json!([format!("{bob}/followers")]);
    r11["instrument"]["content"] = json!("<p>Quiet quote</p>");
    assert_eq!(send(&peer, "bob", &blog, &r11).0, 202);
    assert_eq!(answer_to(&peer, "bob", &r11)["type"], "Accept");
    let notes: Value = serde_json::from_str(&blog.admin_cli("notifications", &["--json"]))
        .expect("notifications as JSON");
    let quoted: Vec<(String, bool)> = notes
        .as_array()
        .expect("a list")
        .iter()
        .filter(|n| n["kind"] == "quote")
        .map(|n| {
            (
                n["actor"].as_str().unwrap_or_default().to_string(),
                n["public"] == true,
            )
        })
        .collect();
    assert_eq!(
        quoted,
        vec![
            (bob.clone(), false),
            (bob.clone(), true),
            (alice.clone(), true),
            (alice.clone(), true),
        ],
        "one notification per approved quote, newest first: {notes}"
    );
    let text = blog.admin_cli("notifications", &["--all"]);
    assert!(
        text.contains(&format!("{bob} quoted {hello} (not public"))
            && text.contains(&format!("{alice} quoted {fans}")),
        "{text}"
    );
    // The post page names the public quoters, never the followers-only one.
    blog.pull_and_build();
    let page = std::fs::read_to_string(blog.root().join("public/posts/hello-world/index.html"))
        .expect("the post page");
    let quoted_by = page
        .split("Quoted by")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .unwrap_or_default();
    let links = quoted_by.matches("<li>").count();
    assert_eq!(links, 2, "alice and bob's public quotes: {quoted_by}");
    for id in [&r1["instrument"]["id"], &r9["instrument"]["id"]] {
        assert!(
            quoted_by.contains(id.as_str().unwrap_or("?")),
            "{id} linked: {quoted_by}"
        );
    }
    assert!(
        !page.contains(r11["instrument"]["id"].as_str().unwrap_or("?")),
        "the followers-only quote is not on the page"
    );

    // `stoa quotes list` and `revoke`, from the writer's machine.
    let (ok, out, err) = quotes_cli(&blog, &["list"]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(
        out.contains(r1["instrument"]["id"].as_str().unwrap_or("?")),
        "{out}"
    );
    let instrument = r1["instrument"]["id"].as_str().unwrap_or_default();
    let (ok, out, err) = quotes_cli(&blog, &["revoke", instrument]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("Revoked"), "{out}");
    let deleted = peer.wait_for("the Delete of the stamp", 1, |a| {
        a.json()["type"] == "Delete" && a.json()["object"] == stamp_url
    });
    assert_eq!(deleted[0].path, "/users/alice/inbox");
    assert!(signed_by_blog(&blog, &deleted[0]));
    let (status, _, gone) = get(&stamp_url);
    assert_eq!(status, 410, "{gone}");
    assert_eq!(gone["type"], "Tombstone");
    let (ok, out, _) = quotes_cli(&blog, &["list"]);
    assert!(ok && out.contains("(revoked)"), "{out}");
    let (ok, _, err) = quotes_cli(&blog, &["revoke", "https://nowhere.example/s/1"]);
    assert!(!ok && err.contains("stoa quotes list"), "{err}");
    // Asking again for a revoked quote is refused.
    let again = quote_request(&peer, "alice", 1, &hello, &alice, &hello);
    let mut again = again;
    again["id"] = json!(format!("{alice}/quote_requests/10"));
    assert_eq!(send(&peer, "alice", &blog, &again).0, 202);
    assert_eq!(answer_to(&peer, "alice", &again)["type"], "Reject");
    assert_eq!(get(&stamp_url).0, 410);
    let (status, _, _) = get(&format!(
        "{}/quote-authorizations/{}",
        blog.base,
        "0".repeat(32)
    ));
    assert_eq!(status, 404);

    // alice deletes her post that quotes fans-only: its stamp is gone too.
    let r2_stamp = answer_to(&peer, "alice", &r2)["result"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(get(&r2_stamp).0, 200);
    let delete = json!({"type": "Delete", "id": format!("{alice}/statuses/2#delete"),
        "actor": alice, "object": r2["instrument"]["id"]});
    assert_eq!(send(&peer, "alice", &blog, &delete).0, 202);
    blog.wait_status("the quote deleted", |s| s["interactions"]["quote"] == 2);
    assert_eq!(get(&r2_stamp).0, 410);
}

/// The blog asks a peer to approve a quote; answers from someone who was
/// not asked, and stamps that do not match the request, change nothing;
/// the author's matching stamp is recorded.
#[test]
fn only_the_quoted_authors_matching_stamp_is_recorded() {
    let blog = crate::companion::start();
    let peer = Peer::start(&["alice", "bob"]);
    let alice = peer.actor("alice");
    blog.publish_ok(&[]); // the baseline
    let quoted = format!("{alice}/statuses/1");
    let today = Timestamp::now().strftime("%Y-%m-%d").to_string();
    blog.write_post(
        "quoting",
        &format!("date = {today}\nquote = \"{quoted}\""),
        "Well said.",
    );
    // Quoting the blog's own post asks nobody.
    let hello = post(&blog, "hello-world");
    blog.write_post(
        "self",
        &format!("date = {today}\nquote = \"{hello}\""),
        "As I said.",
    );
    blog.publish_ok(&[]);
    let object = post(&blog, "quoting");
    let conn = rusqlite::Connection::open(blog.database()).expect("the database");
    let asked: Vec<String> = conn
        .prepare("SELECT id FROM outgoing WHERE id LIKE '%#quote-request'")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
        })
        .expect("outgoing");
    assert_eq!(asked, vec![format!("{object}#quote-request")]);
    let request = peer
        .wait_for("the QuoteRequest", 1, |a| {
            a.json()["type"] == "QuoteRequest"
        })
        .remove(0);
    let asked = request.json();
    assert!(signed_by_blog(&blog, &request));
    assert_eq!(asked["object"], quoted, "{asked}");
    assert_eq!(asked["instrument"]["id"], object, "{asked}");
    assert_eq!(asked["instrument"]["quote"], quoted, "{asked}");
    let request_id = asked["id"].clone();

    let stamp = |owner: &str, n: u32, target: &str| -> String {
        let path = format!("/users/{owner}/stamps/{n}");
        let id = format!("{}{path}", peer.base);
        peer.serve_doc(
            &path,
            200,
            json!({"@context": "https://www.w3.org/ns/activitystreams", "id": id,
                   "type": "QuoteAuthorization", "attributedTo": peer.actor(owner),
                   "interactingObject": object, "interactionTarget": target}),
        )
    };
    let accept = |by: &str, n: u32, result: &str| {
        json!({"@context": "https://www.w3.org/ns/activitystreams",
               "id": format!("{}/accepts/{n}", peer.actor(by)), "type": "Accept",
               "actor": peer.actor(by), "object": request_id, "result": result})
    };
    let stamps = || blog.admin("manifest")["quote_authorizations"].clone();
    // bob was not asked; his stamp is his own.
    let bobs = stamp("bob", 1, &quoted);
    assert_eq!(send(&peer, "bob", &blog, &accept("bob", 1, &bobs)).0, 202);
    // alice's stamp for another post.
    let wrong = stamp("alice", 2, &format!("{alice}/statuses/2"));
    assert_eq!(
        send(&peer, "alice", &blog, &accept("alice", 2, &wrong)).0,
        202
    );
    // a stamp on another server than alice's: refused at the door.
    let (status, _) = send(
        &peer,
        "alice",
        &blog,
        &accept("alice", 3, "https://elsewhere.example/stamps/1"),
    );
    assert_eq!(status, 400);
    // The real one, last: once it is recorded, the others were applied.
    let good = stamp("alice", 4, &quoted);
    assert_eq!(
        send(&peer, "alice", &blog, &accept("alice", 4, &good)).0,
        202
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while stamps()[&object].is_null() {
        assert!(std::time::Instant::now() < deadline, "{}", blog.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(stamps(), json!({ &object: good }));
    assert!(blog.log().contains("answer from someone who was not asked"));
    assert!(blog.log().contains("stamp does not match"));
}
