//! Trust nothing unproven: forged identities, foreign ids, requests meant
//! for other servers and stored values that are not what they claim. Every
//! forgery is made with real RSA signatures by real keys; each test ends
//! with the state the companion reports, so "refused" means "changed
//! nothing".

use std::io::{Read, Write};
use std::net::TcpStream;

use jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::{Companion, PUBLIC, Peer, follow, post_id, post_raw, send, start};

/// Sends `activity` signed with `key_of`'s key under `key_id`.
fn send_as(
    peer: &Peer,
    key_of: &str,
    key_id: &str,
    blog: &Companion,
    activity: &Value,
) -> (u16, String) {
    let body = activity.to_string().into_bytes();
    let headers = peer.sign_post_as(key_of, key_id, &blog.inbox(), &body, Timestamp::now());
    post_raw(&blog.inbox(), &headers, &body)
}

/// Same as [`send_as`] with the signature bytes replaced by garbage.
fn send_garbage(
    peer: &Peer,
    key_of: &str,
    key_id: &str,
    blog: &Companion,
    activity: &Value,
) -> (u16, String) {
    let body = activity.to_string().into_bytes();
    let mut headers = peer.sign_post_as(key_of, key_id, &blog.inbox(), &body, Timestamp::now());
    for (name, value) in &mut headers {
        if name == "Signature" {
            let start = value.find("signature=\"").expect("a signature") + 11;
            let end = start + value[start..].find('"').expect("its end");
            value.replace_range(start..end, &"QUJD".repeat(86));
        }
    }
    post_raw(&blog.inbox(), &headers, &body)
}

fn like(actor: &str, id: &str, object: &str) -> Value {
    json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": id, "type": "Like", "actor": actor, "object": object})
}

fn reply(actor: &str, note_id: &str, in_reply_to: &str, content: &str) -> Value {
    json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{note_id}/activity"), "type": "Create", "actor": actor,
        "object": {"id": note_id, "type": "Note", "attributedTo": actor,
            "inReplyTo": in_reply_to, "content": content, "to": [PUBLIC]}})
}

fn delete_account(actor: &str) -> Value {
    json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}#delete"), "type": "Delete", "actor": actor, "object": actor})
}

/// Followers (accepted), likes and replies, once nothing is left queued.
fn settled(blog: &Companion) -> (Value, Value, Value) {
    let s = blog.wait_status("the queue to drain", |s| s["incoming_backlog"] == 0);
    (
        s["followers"]["accepted"].clone(),
        s["interactions"]["like"].clone(),
        s["interactions"]["reply"].clone(),
    )
}

fn refused(got: (u16, String), status: u16, reason: &str, what: &str) {
    assert_eq!(
        got.0, status,
        "{what}: expected {status}, got {} {}",
        got.0, got.1
    );
    assert!(
        got.1.contains(reason),
        "{what}: the reason should say {reason:?}; got {}",
        got.1
    );
}

/// Finding 1: a Delete of a follower with a garbage signature and a keyId
/// that answers 410 used to remove the follower. Only the actor's own
/// server can say the account is gone.
#[test]
fn a_forged_account_deletion_removes_nobody() {
    let blog = start();
    let home = Peer::start(&["alice", "carol", "ghost"]);
    let evil = Peer::start(&["mallory"]);
    assert_eq!(
        send(&home, "alice", &blog, &follow(&home, "alice", &blog, 1)).0,
        202
    );
    let alice = home.actor("alice");
    let liked = like(&alice, &format!("{alice}/likes/1"), &post_id(&blog));
    assert_eq!(send(&home, "alice", &blog, &liked).0, 202);
    blog.wait_status("alice's follow and like", |s| {
        s["followers"]["accepted"] == 1 && s["interactions"]["like"] == 1
    });

    let forged = delete_account(&alice);
    // A keyId on the attacker's server that answers 410.
    let gone_key = evil.serve_doc("/gone", 410, json!({}));
    refused(
        send_garbage(&evil, "mallory", &gone_key, &blog, &forged),
        401,
        "not",
        "a gone key on another server",
    );
    // A gone key on alice's server that is not alice's.
    home.delete_account("ghost");
    refused(
        send_garbage(&evil, "mallory", &home.key_id("ghost"), &blog, &forged),
        401,
        "not",
        "someone else's gone key on the same server",
    );
    // Alice's own key, known and alive, with a garbage signature.
    refused(
        send_garbage(&evil, "mallory", &home.key_id("alice"), &blog, &forged),
        401,
        "does not verify",
        "alice's key with a garbage signature",
    );
    assert_eq!(
        settled(&blog),
        (json!(1), json!(1), Value::Null),
        "alice and her like are still there\n{}",
        blog.log()
    );

    // A real deletion whose key cannot be fetched any more: carol's server
    // answers 410 for her actor, so the news is believed, signature or not.
    home.delete_account("carol");
    let carol = home.actor("carol");
    assert_eq!(
        send_garbage(
            &evil,
            "mallory",
            &home.key_id("carol"),
            &blog,
            &delete_account(&carol)
        )
        .0,
        202,
        "{}",
        blog.log()
    );
    // While alice's actor is alive, the same request for her is refused.
    refused(
        send_garbage(&evil, "mallory", &gone_key, &blog, &forged),
        401,
        "not",
        "again after a real deletion",
    );
    assert_eq!(settled(&blog), (json!(1), json!(1), Value::Null));
}

/// Finding 2: a key document on the attacker's server naming alice as its
/// owner made the attacker alice.
#[test]
fn a_key_that_names_someone_else_as_its_owner_is_refused() {
    let blog = start();
    let home = Peer::start(&["alice"]);
    let evil = Peer::start(&["mallory"]);
    let alice = home.actor("alice");
    assert_eq!(
        send(&home, "alice", &blog, &follow(&home, "alice", &blog, 1)).0,
        202
    );
    blog.wait_status("alice follows", |s| s["followers"]["accepted"] == 1);

    let mallory_pem = evil.public_pem("mallory");
    let bare = evil.serve_doc(
        "/keys/alice",
        200,
        json!({"id": format!("{}/keys/alice", evil.base), "owner": alice,
            "publicKeyPem": mallory_pem}),
    );
    let fake_actor = format!("{}/actors/alice", evil.base);
    evil.serve_doc(
        "/actors/alice",
        200,
        json!({"id": fake_actor, "type": "Person", "inbox": format!("{fake_actor}/inbox"),
            "publicKey": {"id": format!("{fake_actor}#key"), "owner": alice,
                "publicKeyPem": mallory_pem}}),
    );
    // A key on alice's own server that her actor does not list.
    let stray = home.serve_doc(
        "/keys/stray",
        200,
        json!({"id": format!("{}/keys/stray", home.base), "owner": alice,
            "publicKeyPem": mallory_pem}),
    );
    let undo = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{alice}/undo/1"), "type": "Undo", "actor": alice,
        "object": {"type": "Follow", "id": format!("{alice}/follows/1"), "actor": alice,
            "object": blog.actor()}});
    let forged_reply = reply(
        &alice,
        &format!("{alice}/statuses/66"),
        &post_id(&blog),
        "<p>I take it all back</p>",
    );
    for (key_id, reason) in [
        (bare.as_str(), "another server"),
        (&format!("{fake_actor}#key"), "another server"),
        (stray.as_str(), "not listed"),
    ] {
        for activity in [&undo, &forged_reply, &delete_account(&alice)] {
            refused(
                send_as(&evil, "mallory", key_id, &blog, activity),
                401,
                reason,
                &format!("{} with the key {key_id}", activity["type"]),
            );
        }
    }
    assert_eq!(
        settled(&blog),
        (json!(1), Value::Null, Value::Null),
        "alice still follows and nothing was said in her name\n{}",
        blog.log()
    );
}

/// Finding 3: ids on another server than the actor were stored, and an id
/// recorded for one actor blocked the real owner's reply.
#[test]
fn ids_must_be_on_the_actors_server_and_never_block_their_owner() {
    let blog = start();
    let home = Peer::start(&["alice", "bob"]);
    let other = Peer::start(&["carol"]);
    let alice = home.actor("alice");
    let foreign_like = like(&alice, &format!("{}/likes/1", other.base), &post_id(&blog));
    refused(
        send(&home, "alice", &blog, &foreign_like),
        400,
        "not on the actor's server",
        "a Like id elsewhere",
    );
    let foreign_reply = reply(
        &alice,
        &format!("{}/statuses/1", other.base),
        &post_id(&blog),
        "hi",
    );
    refused(
        send(&home, "alice", &blog, &foreign_reply),
        400,
        "not on the actor's server",
        "a reply id elsewhere",
    );
    let mut ghost_written = reply(
        &alice,
        &format!("{alice}/statuses/2"),
        &post_id(&blog),
        "hi",
    );
    ghost_written["object"]["attributedTo"] = json!(home.actor("bob"));
    refused(
        send(&home, "alice", &blog, &ghost_written),
        400,
        "attributed to",
        "someone else's post",
    );

    // Bob, on alice's server, claims the id of alice's next reply first.
    let taken = format!("{alice}/statuses/3");
    let squat = reply(
        &home.actor("bob"),
        &taken,
        &post_id(&blog),
        "<p>squatting</p>",
    );
    assert_eq!(send(&home, "bob", &blog, &squat).0, 202);
    let genuine = reply(&alice, &taken, &post_id(&blog), "<p>the real reply</p>");
    assert_eq!(send(&home, "alice", &blog, &genuine).0, 202);
    blog.wait_status("both replies", |s| s["interactions"]["reply"] == 2);
    let recorded = blog.admin("interactions");
    let by_alice: Vec<&Value> = recorded
        .as_array()
        .expect("a list")
        .iter()
        .filter(|i| i["actor"] == alice.as_str())
        .collect();
    assert_eq!(by_alice.len(), 1, "{recorded}");
    assert_eq!(by_alice[0]["content"], "<p>the real reply</p>");
    assert_eq!(by_alice[0]["id"], taken.as_str());
}

/// Finding 4: a request signed for another server (its `Host`) was accepted.
#[test]
fn a_request_signed_for_another_server_is_refused() {
    let blog = start();
    let peer = Peer::start(&["alice"]);
    let body = follow(&peer, "alice", &blog, 1).to_string().into_bytes();
    let elsewhere = "http://other.example/inbox";
    let headers = peer.sign_post("alice", elsewhere, &body, Timestamp::now());
    let (status, text) = post_with_host(&blog, "other.example", &headers, &body);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("addressed to the host"), "{text}");
    // The same follow signed for the blog's host is accepted.
    let host = blog.base.trim_start_matches("http://").to_string();
    let headers = peer.sign_post("alice", &blog.inbox(), &body, Timestamp::now());
    let (status, text) = post_with_host(&blog, &host, &headers, &body);
    assert_eq!(status, 202, "{text}");
    assert_eq!(settled(&blog).0, json!(1));
}

/// POSTs to the blog's inbox with a `Host` header of our choosing.
fn post_with_host(
    blog: &Companion,
    host: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", blog.port)).expect("connect");
    let mut request = format!("POST /inbox HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    request.push_str("Content-Type: application/activity+json\r\n");
    request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("host") {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    stream.write_all(body).expect("write body");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// Finding 7: a reply's `url` of `javascript:…` and a `published` of
/// `<script>` were stored and returned as sent.
#[test]
fn stored_reply_fields_are_what_they_claim() {
    let blog = start();
    let home = Peer::start(&["alice"]);
    let other = Peer::start(&["carol"]);
    let alice = home.actor("alice");
    let mut evil = reply(
        &alice,
        &format!("{alice}/statuses/1"),
        &post_id(&blog),
        "<p>one</p>",
    );
    evil["object"]["url"] = json!("javascript:alert(7)");
    evil["object"]["published"] = json!("<script>");
    let mut elsewhere = reply(
        &alice,
        &format!("{alice}/statuses/2"),
        &post_id(&blog),
        "<p>two</p>",
    );
    elsewhere["object"]["url"] = json!(format!("{}/@carol/1", other.base));
    elsewhere["object"]["published"] = json!("2026-05-01T09:30:00+02:00");
    let mut fine = reply(
        &alice,
        &format!("{alice}/statuses/3"),
        &post_id(&blog),
        "<p>three</p>",
    );
    fine["object"]["url"] = json!(format!("{}/@alice/3", home.base));
    for activity in [&evil, &elsewhere, &fine] {
        assert_eq!(send(&home, "alice", &blog, activity).0, 202);
    }
    blog.wait_status("three replies", |s| s["interactions"]["reply"] == 3);
    let recorded = blog.admin("interactions");
    let field = |n: u32, f: &str| {
        recorded
            .as_array()
            .expect("a list")
            .iter()
            .find(|i| i["id"] == format!("{alice}/statuses/{n}"))
            .map(|i| i[f].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(field(1, "url"), Value::Null, "{recorded}");
    assert_eq!(field(1, "published"), Value::Null, "{recorded}");
    assert_eq!(
        field(2, "url"),
        Value::Null,
        "a page on another server: {recorded}"
    );
    assert_eq!(field(2, "published"), "2026-05-01T07:30:00Z");
    assert_eq!(field(3, "url"), json!(format!("{}/@alice/3", home.base)));
    assert!(!recorded.to_string().contains("javascript:"));
    assert!(!recorded.to_string().contains("<script>"));
}

/// Finding 11: a signed Like of any URL on the blog's host was recorded.
#[test]
fn only_the_blogs_own_posts_collect_interactions() {
    let blog = start();
    let home = Peer::start(&["alice"]);
    let alice = home.actor("alice");
    for (n, object) in [
        format!("{}/anything/at/all", blog.base),
        format!("{}/ap/posts/no-such-post.json", blog.base),
        format!("{}/ap/actor.json", blog.base),
        format!("{}/posts/hello-world/", blog.base),
        format!("{}/ap/posts/../actor.json", blog.base),
    ]
    .iter()
    .enumerate()
    {
        let activity = like(&alice, &format!("{alice}/likes/{n}"), object);
        assert_eq!(send(&home, "alice", &blog, &activity).0, 202, "{object}");
    }
    let real = like(&alice, &format!("{alice}/likes/99"), &post_id(&blog));
    assert_eq!(send(&home, "alice", &blog, &real).0, 202);
    blog.wait_status("the like of the post", |s| s["interactions"]["like"] == 1);
    let recorded = blog.admin("interactions");
    assert_eq!(recorded.as_array().map(Vec::len), Some(1), "{recorded}");
    assert_eq!(recorded[0]["object"], post_id(&blog).as_str());
    assert_eq!(settled(&blog).1, json!(1));
}

/// The invariant, over random combinations of actors, keys, key documents
/// and ids sent through the real inbox (verify, then apply): the state
/// changes only when the signer owns the actor and every id is on the
/// actor's server; everything else is refused at the door.
#[test]
fn random_forgeries_never_change_state() {
    let blog = start();
    let home = Peer::start(&["alice", "bob"]);
    let evil = Peer::start(&["mallory"]);
    let alice = home.actor("alice");
    let bob = home.actor("bob");
    let mallory = evil.actor("mallory");
    let mallory_pem = evil.public_pem("mallory");
    // Key ids an attacker can present, with the account whose private key
    // really signs under each and the actor the key document proves (if any).
    let forged_owner = evil.serve_doc(
        "/keys/alice",
        200,
        json!({"id": format!("{}/keys/alice", evil.base), "owner": alice, "publicKeyPem": mallory_pem}),
    );
    let stray = home.serve_doc(
        "/keys/stray",
        200,
        json!({"id": format!("{}/keys/stray", home.base), "owner": bob, "publicKeyPem": mallory_pem}),
    );
    let gone = evil.serve_doc("/gone", 410, json!({}));
    struct Signer<'a> {
        peer: &'a Peer,
        account: &'a str,
        key_id: String,
        proves: Option<&'a str>,
    }
    let signers = [
        Signer {
            peer: &home,
            account: "alice",
            key_id: home.key_id("alice"),
            proves: Some(&alice),
        },
        Signer {
            peer: &home,
            account: "bob",
            key_id: home.key_id("bob"),
            proves: Some(&bob),
        },
        Signer {
            peer: &evil,
            account: "mallory",
            key_id: evil.key_id("mallory"),
            proves: Some(&mallory),
        },
        Signer {
            peer: &evil,
            account: "mallory",
            key_id: home.key_id("alice"),
            proves: None,
        },
        Signer {
            peer: &evil,
            account: "mallory",
            key_id: forged_owner,
            proves: None,
        },
        Signer {
            peer: &evil,
            account: "mallory",
            key_id: stray,
            proves: None,
        },
        Signer {
            peer: &evil,
            account: "mallory",
            key_id: gone,
            proves: None,
        },
    ];
    let actors = [alice.as_str(), bob.as_str(), mallory.as_str()];
    let hosts = [home.base.as_str(), evil.base.as_str()];
    let post = post_id(&blog);
    let mut rng = StdRng::seed_from_u64(0x5704);
    let mut expected_likes = 0;
    let mut expected_replies = 0;
    for n in 0..200 {
        let signer = &signers[rng.gen_range(0..signers.len())];
        // Half the time the actor is the one the key proves (if any), so
        // genuine and forged cases both come up often.
        let actor = match signer.proves {
            Some(owner) if rng.gen_bool(0.5) => owner,
            _ => actors[rng.gen_range(0..actors.len())],
        };
        let id_host = hosts[rng.gen_range(0..hosts.len())];
        let id = format!("{id_host}/activities/{n}");
        let is_reply = rng.gen_bool(0.5);
        let activity = if is_reply {
            reply(actor, &id, &post, &format!("<p>reply {n}</p>"))
        } else {
            like(actor, &id, &post)
        };
        let (status, text) = send_as(
            signer.peer,
            signer.account,
            &signer.key_id,
            &blog,
            &activity,
        );
        let owns = signer.proves == Some(actor);
        let ids_home = stoa::federation::trust::same_origin(&id, actor);
        if owns && ids_home {
            assert_eq!(status, 202, "case {n}: a genuine activity: {text}");
            if is_reply {
                expected_replies += 1;
            } else {
                expected_likes += 1;
            }
        } else {
            assert!(
                matches!(status, 400 | 401),
                "case {n}: {} signed by {}'s key under {} with ids on {id_host} must be refused; got {status} {text}",
                actor,
                signer.account,
                signer.key_id
            );
        }
    }
    assert!(
        expected_likes > 5 && expected_replies > 5,
        "the cases cover both kinds"
    );
    let (_, likes, replies) = settled(&blog);
    assert_eq!(likes, json!(expected_likes), "{}", blog.log());
    assert_eq!(replies, json!(expected_replies), "{}", blog.log());
    // Every recorded interaction is by its id's server's actor.
    for i in blog.admin("interactions").as_array().expect("a list") {
        let (id, actor) = (
            i["id"].as_str().unwrap_or(""),
            i["actor"].as_str().unwrap_or(""),
        );
        assert!(stoa::federation::trust::same_origin(id, actor), "{i}");
    }
}
