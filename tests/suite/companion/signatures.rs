//! Forged, stale, oversized and malformed requests: each is refused with
//! the right status and a reason, and nothing is stored. One valid request
//! at the end proves the same setup accepts what it should.

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::{Companion, Peer, Setup, follow, post_raw, send, signed_by_blog};

fn assert_nothing_stored(blog: &Companion, what: &str) {
    assert_eq!(
        blog.counts(),
        (0, 0, 0, 0),
        "{what}: followers, interactions, deliveries and backlog must stay empty\nlog:\n{}",
        blog.log()
    );
}

fn refused(blog: &Companion, what: &str, got: (u16, String), status: u16, reason: &str) {
    assert_eq!(
        got.0, status,
        "{what}: expected {status}, got {} {}",
        got.0, got.1
    );
    assert!(
        got.1.contains(reason),
        "{what}: the reason should mention {reason:?}; got {}",
        got.1
    );
    assert_nothing_stored(blog, what);
}

#[test]
fn forged_stale_and_malformed_requests_change_nothing() {
    let blog = crate::companion::start();
    let peer = Peer::start(&["alice", "mallory"]);
    let inbox = blog.inbox();
    let activity = follow(&peer, "alice", &blog, 1);
    let body = activity.to_string().into_bytes();
    let now = Timestamp::now();

    // No signature at all.
    refused(
        &blog,
        "unsigned",
        post_raw(&inbox, &[], &body),
        401,
        "not signed",
    );

    // Body changed after signing: the digest no longer matches.
    let headers = peer.sign_post("alice", &inbox, &body, now);
    let tampered = String::from_utf8_lossy(&body).replace("follows/1", "follows/2");
    refused(
        &blog,
        "tampered body",
        post_raw(&inbox, &headers, tampered.as_bytes()),
        401,
        "Digest",
    );

    // Body changed and Digest recomputed: the signature no longer matches.
    let mut redigested = headers.clone();
    for (n, v) in &mut redigested {
        if n == "Digest" {
            *v = stoa::signatures::cavage::digest_header(tampered.as_bytes());
        }
    }
    refused(
        &blog,
        "digest recomputed over a tampered body",
        post_raw(&inbox, &redigested, tampered.as_bytes()),
        401,
        "does not verify",
    );

    // Signed with mallory's key but claiming alice's key id.
    let wrong_key = peer.sign_post_as("mallory", &peer.key_id("alice"), &inbox, &body, now);
    refused(
        &blog,
        "wrong key",
        post_raw(&inbox, &wrong_key, &body),
        401,
        "does not verify",
    );

    // Signed correctly by mallory, but the activity says alice.
    let other_actor = peer.sign_post("mallory", &inbox, &body, now);
    refused(
        &blog,
        "another actor's key",
        post_raw(&inbox, &other_actor, &body),
        401,
        "belongs to",
    );

    // A signature that covers only the date.
    let mut weak = headers.clone();
    for (n, v) in &mut weak {
        if n == "Signature" {
            *v = v.replace(
                "headers=\"(request-target) host date digest\"",
                "headers=\"date\"",
            );
        }
    }
    refused(
        &blog,
        "missing required headers",
        post_raw(&inbox, &weak, &body),
        401,
        "must cover",
    );

    // Stale and future dates (signed at that time, so only the date is wrong).
    let old = peer.sign_post("alice", &inbox, &body, now - SignedDuration::from_hours(2));
    refused(
        &blog,
        "Date two hours old",
        post_raw(&inbox, &old, &body),
        401,
        "expired",
    );
    let future = peer.sign_post("alice", &inbox, &body, now + SignedDuration::from_hours(2));
    refused(
        &blog,
        "Date in the future",
        post_raw(&inbox, &future, &body),
        401,
        "future",
    );

    // Oversized: refused before anything is read or verified.
    let big = vec![b' '; 300 * 1024];
    let big_headers = peer.sign_post("alice", &inbox, &big, now);
    let (status, _) = post_raw(&inbox, &big_headers, &big);
    assert_eq!(status, 413, "oversized body");
    assert_nothing_stored(&blog, "oversized body");

    // Validly signed, but not JSON.
    let junk = b"{\"type\": \"Follow\", oops".to_vec();
    let junk_headers = peer.sign_post("alice", &inbox, &junk, now);
    refused(
        &blog,
        "malformed JSON",
        post_raw(&inbox, &junk_headers, &junk),
        400,
        "not valid JSON",
    );

    // Validly signed Follow of somebody else.
    let mut elsewhere = follow(&peer, "alice", &blog, 3);
    elsewhere["object"] = json!(format!("{}/ap/someone-else.json", blog.base));
    refused(
        &blog,
        "Follow addressed to another actor",
        send(&peer, "alice", &blog, &elsewhere),
        400,
        "addressed to",
    );

    // And the real thing is accepted, once, even when replayed.
    let (status, text) = post_raw(&inbox, &headers, &body);
    assert_eq!(status, 202, "a valid Follow: {text}\n{}", blog.log());
    let (status, _) = post_raw(&inbox, &headers, &body);
    assert_eq!(status, 202, "a replay is acknowledged");
    let accepts = peer.wait_for("the Accept", 1, |a| a.json()["type"] == "Accept");
    assert!(
        signed_by_blog(&blog, &accepts[0]),
        "the Accept is signed with the blog's key"
    );
    assert_eq!(
        accepts[0].path, "/users/alice/inbox",
        "sent to the personal inbox"
    );
    assert_eq!(
        accepts[0].json()["object"]["id"],
        activity["id"],
        "it embeds the Follow"
    );
    // Settled: every acknowledged activity applied (an Accept is queued in
    // the same transaction) and no delivery left to send. Then one delivery
    // in all means the replay queued nothing, and what arrived is final.
    let s = blog.wait_status("the queue to drain and the Accept to be delivered", |s| {
        s["incoming_backlog"] == 0 && s["deliveries"]["pending"] == 0
    });
    assert_eq!(
        s["deliveries"],
        json!({"pending": 0, "delivered": 1, "failed": 0}),
        "the replay queued nothing more: {s}"
    );
    let accepted: Vec<_> = peer
        .arrivals()
        .into_iter()
        .filter(|a| a.json()["type"] == "Accept")
        .collect();
    assert_eq!(accepted.len(), 1, "the replay sent nothing more");
    assert_eq!(blog.counts().0, 1, "one follower");
}

#[test]
fn key_ids_on_private_addresses_are_not_fetched_with_the_guard_on() {
    let blog = Companion::start(&Setup::default());
    let peer = Peer::start(&["alice"]);
    let inbox = blog.inbox();
    for key_host in ["127.0.0.1:9", "169.254.169.254"] {
        let actor = format!("http://{key_host}/users/alice");
        let activity = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}/follows/1"), "type": "Follow",
            "actor": actor, "object": blog.actor(),
        });
        let body = activity.to_string().into_bytes();
        let headers = peer.sign_post_as(
            "alice",
            &format!("{actor}#main-key"),
            &inbox,
            &body,
            Timestamp::now(),
        );
        refused(
            &blog,
            &format!("keyId on {key_host}"),
            post_raw(&inbox, &headers, &body),
            401,
            "private, loopback or link-local",
        );
    }
    // The loopback peer itself is refused too: the guard does not know it is a test.
    let (status, text) = send(&peer, "alice", &blog, &follow(&peer, "alice", &blog, 1));
    assert_eq!(status, 401, "{text}");
    assert_nothing_stored(&blog, "loopback peer with the guard on");
}

/// A Like by `actor` of the blog's first post (its object: only the blog's
/// own post objects collect interactions).
fn like_of_hello(blog: &Companion, actor: &str, n: usize) -> serde_json::Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/likes/{n}"),
        "type": "Like",
        "actor": actor,
        "object": format!("{}/ap/posts/hello-world.json", blog.base),
    })
}

/// A server that accepts connections and never answers: key documents
/// hosted there hang until the companion's fetch times out.
struct Tarpit {
    base: String,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Tarpit {
    /// On `ip` (a loopback address: each one is another host to the
    /// companion, whatever the port).
    fn start(ip: &str) -> Tarpit {
        let listener = TcpListener::bind((ip, 0)).expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let held = Arc::new(Mutex::new(Vec::new()));
        let keep = held.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                keep.lock().expect("held").push(stream);
            }
        });
        Tarpit { base, held }
    }

    fn connections(&self) -> usize {
        self.held.lock().expect("held").len()
    }
}

/// Anyone can make the companion fetch a key from a server that never
/// answers. Those fetches wait in slots (four per host, sixteen in all) and
/// the overflow is told to retry (503), while senders whose keys are known
/// are answered at once instead of queueing behind them.
#[test]
fn unanswered_key_fetches_do_not_hold_up_known_senders() {
    let blog = crate::companion::start();
    let peer = Peer::start(&["alice"]);
    let like = |actor: &str, n: usize| like_of_hello(&blog, actor, n);
    let alice = peer.actor("alice");
    assert_eq!(send(&peer, "alice", &blog, &like(&alice, 0)).0, 202);

    // Five hosts that never answer; the first gets one request more than
    // its four slots. 21 requests, 16 slots in all.
    let tarpits: Vec<Tarpit> = (2..7)
        .map(|n| Tarpit::start(&format!("127.0.0.{n}")))
        .collect();
    let finished = Arc::new(AtomicUsize::new(0));
    let mut slow = Vec::new();
    for (h, tarpit) in tarpits.iter().enumerate() {
        for i in 0..if h == 0 { 5 } else { 4 } {
            let actor = format!("{}/users/t{i}", tarpit.base);
            let body = like(&actor, i).to_string().into_bytes();
            let headers = peer.sign_post_as(
                "alice",
                &format!("{actor}#main-key"),
                &blog.inbox(),
                &body,
                Timestamp::now(),
            );
            let (url, finished) = (blog.inbox(), finished.clone());
            slow.push(std::thread::spawn(move || {
                let answer = post_raw(&url, &headers, &body);
                finished.fetch_add(1, Ordering::SeqCst);
                answer
            }));
        }
    }
    let all_slots_taken = || tarpits.iter().map(Tarpit::connections).sum::<usize>() >= 16;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !all_slots_taken() {
        assert!(
            std::time::Instant::now() < deadline,
            "the companion never fetched the 16 keys"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    for n in 1..=20 {
        assert_eq!(send(&peer, "alice", &blog, &like(&alice, n)).0, 202);
    }
    // The fetches holding slots end with the fetch timeout (10 s); the
    // requests waiting for a slot give up after 5 s. alice's 20 were all
    // answered before any fetch ended.
    assert!(
        finished.load(Ordering::SeqCst) < 16,
        "a known sender waited behind the hanging key fetches"
    );

    let answers: Vec<(u16, String)> = slow
        .into_iter()
        .map(|t| t.join().expect("request thread"))
        .collect();
    assert!(answers.iter().all(|(s, _)| *s == 503), "{answers:?}");
    let busy: Vec<&String> = answers
        .iter()
        .map(|(_, b)| b)
        .filter(|b| b.contains("too many key lookups are in progress"))
        .collect();
    assert_eq!(busy.len(), 5, "{answers:?}");
    assert!(
        busy.iter().any(|b| b.contains("for 127.0.0.2;")),
        "{busy:?}"
    );
    let fetches: Vec<usize> = tarpits.iter().map(Tarpit::connections).collect();
    assert!(
        fetches.iter().all(|&n| n <= 4) && fetches.iter().sum::<usize>() == 16,
        "four fetches per host, sixteen in all: {fetches:?}"
    );
    blog.wait_status("alice's 21 likes", |s| s["interactions"]["like"] == 21);
}

/// A sender that hangs up while its key is being fetched does not free the
/// fetch slot early: the fetch still runs, so hang-ups cannot pile up more
/// fetches than a host's four. Four senders hang up during their fetches;
/// four more then wait for a slot, get none and are told 503 once they have
/// waited their 5 s, and only then is the number of fetches counted.
#[test]
fn hanging_up_during_a_key_fetch_does_not_free_its_slot() {
    use std::io::{Read, Write};
    let blog = crate::companion::start();
    let peer = Peer::start(&["alice"]);
    let tarpit = Tarpit::start("127.0.0.2");
    let addr = blog.base.trim_start_matches("http://").to_string();
    let mut waiting = Vec::new();
    for i in 0..8 {
        let actor = format!("{}/users/t{i}", tarpit.base);
        let body = like_of_hello(&blog, &actor, i).to_string();
        let headers = peer.sign_post_as(
            "alice",
            &format!("{actor}#main-key"),
            &blog.inbox(),
            body.as_bytes(),
            Timestamp::now(),
        );
        let mut request = "POST /inbox HTTP/1.1\r\n".to_string();
        for (name, value) in &headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!(
            "Content-Type: application/activity+json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
        let mut conn = TcpStream::connect(&addr).expect("connect");
        conn.write_all(request.as_bytes()).expect("write");
        if i < 4 {
            // Its key fetch has started (the tarpit holds the connection):
            // hang up while the companion waits for the key.
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while tarpit.connections() <= i {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the key fetch of sender {i} never started:\n{}",
                    blog.log()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            drop(conn);
        } else {
            waiting.push(conn);
        }
    }
    // A slot freed by a hang-up would go to one of these and show as a
    // fifth fetch; without one, each is refused after waiting 5 s (well
    // before the held fetches time out after 10 s).
    for mut conn in waiting {
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut answer = String::new();
        conn.read_to_string(&mut answer).expect("read the answer");
        assert!(
            answer.starts_with("HTTP/1.1 503")
                && answer.contains("too many key lookups are in progress for 127.0.0.2;"),
            "a sender got a fetch slot after others hung up: {answer}"
        );
    }
    assert_eq!(
        tarpit.connections(),
        4,
        "fetches for one host stay at four when their senders hang up"
    );
}
