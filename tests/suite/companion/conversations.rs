//! Conversations come home (issue 9): public replies, favourites and boosts
//! the companion received are pulled into `conversations.toml` and shown
//! under the post by the build; nothing that was not addressed to the
//! public ever reaches the output folder; avatars are served from the blog.

use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Companion, PUBLIC, Peer, TOKEN, post_id, send, start, stoa_cmd};
use crate::common::snapshot;

fn note(actor: &str, id: &str, in_reply_to: &str, content: &str, to: Value, cc: Value) -> Value {
    json!({"id": id, "type": "Note", "attributedTo": actor, "inReplyTo": in_reply_to,
        "content": content, "to": to, "cc": cc, "published": "2026-11-30T10:00:00Z",
        "url": format!("{id}/page")})
}

fn create(actor: &str, object: Value) -> Value {
    json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activity", object["id"].as_str().unwrap_or("")),
        "type": "Create", "actor": actor, "object": object})
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([30, 140, 90]));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

/// The `section.conversation` of a post page (`html`, parsed as `doc`).
fn conversation_of<'a>(doc: &'a scraper::Html, html: &str) -> scraper::ElementRef<'a> {
    let sel = scraper::Selector::parse("section.conversation").expect("selector");
    doc.select(&sel)
        .next()
        .unwrap_or_else(|| panic!("no conversation section:\n{html}"))
}

fn page(blog: &Companion) -> String {
    page_of(blog, "hello-world")
}

fn page_of(blog: &Companion, slug: &str) -> String {
    std::fs::read_to_string(blog.root().join(format!("public/posts/{slug}/index.html")))
        .expect("page")
}

/// Every file of the output and the site's data whose bytes hold `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    snapshot(dir)
        .into_iter()
        .filter(|(_, b)| String::from_utf8_lossy(b).contains(needle))
        .map(|(p, _)| p)
        .collect()
}

fn wait_counts(blog: &Companion, replies: i64, likes: i64, boosts: i64) {
    blog.wait_status("the interactions", |s| {
        s["incoming_backlog"] == 0
            && s["interactions"]["reply"].as_i64().unwrap_or(0) == replies
            && s["interactions"]["like"].as_i64().unwrap_or(0) == likes
            && s["interactions"]["announce"].as_i64().unwrap_or(0) == boosts
    });
}

#[test]
fn public_replies_likes_and_boosts_reach_the_page_and_nothing_private_does() {
    let blog = start();
    let peer = Peer::start(&["alice", "bob", "carol", "dave"]);
    let [alice, bob, carol, dave] = ["alice", "bob", "carol", "dave"].map(|n| peer.actor(n));
    // Alice has a real avatar; Bob's is an SVG (refused: not a raster image).
    let alice_icon = peer.serve_media(
        "/media/alice.png",
        "image/png",
        png(300, 200),
        Duration::ZERO,
    );
    peer.set_profile(
        "alice",
        json!({"name": "Alice <b>Liddell</b>", "icon": {"type": "Image", "url": alice_icon}}),
    );
    let bob_icon = peer.serve_media(
        "/media/bob.svg",
        "image/svg+xml",
        b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec(),
        Duration::ZERO,
    );
    peer.set_profile("bob", json!({"name": "Bob", "icon": bob_icon}));
    let post = post_id(&blog);
    let a1 = format!("{alice}/statuses/1");
    let hostile = "<p>Hello from Alice<script>alert(1)</script><style>body{display:none}</style> \
        <a href=\"javascript:alert(2)\" onclick=\"alert(3)\">click</a> \
        <a href=\"https://example.org/x\" onmouseover=\"alert(4)\">fine link</a></p>";
    let sent = [
        (
            "alice",
            create(
                &alice,
                note(&alice, &a1, &post, hostile, json!([PUBLIC]), json!([])),
            ),
        ),
        // A reply to Alice's reply, addressed with the short spelling.
        (
            "bob",
            create(
                &bob,
                note(
                    &bob,
                    &format!("{bob}/statuses/1"),
                    &a1,
                    "<p>Bob answers Alice</p>",
                    json!(["as:Public"]),
                    json!([]),
                ),
            ),
        ),
        // Followers-only.
        (
            "carol",
            create(
                &carol,
                note(
                    &carol,
                    &format!("{carol}/statuses/1"),
                    &post,
                    "<p>SECRET-FOLLOWERS-ONLY</p>",
                    json!([format!("{carol}/followers")]),
                    json!([]),
                ),
            ),
        ),
        // A direct mention.
        (
            "dave",
            create(&dave, {
                let mut n = note(
                    &dave,
                    &format!("{dave}/statuses/1"),
                    &post,
                    "<p>SECRET-DIRECT-MENTION</p>",
                    json!([blog.actor()]),
                    json!([]),
                );
                n["tag"] = json!([{"type": "Mention", "href": blog.actor()}]);
                n
            }),
        ),
    ];
    for (name, activity) in &sent {
        assert_eq!(send(&peer, name, &blog, activity).0, 202, "{name}");
    }
    for (n, name) in ["alice", "bob"].iter().enumerate() {
        let like = json!({"@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/likes/{n}", peer.actor(name)), "type": "Like",
            "actor": peer.actor(name), "object": post});
        assert_eq!(send(&peer, name, &blog, &like).0, 202);
    }
    let boost = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{carol}/boosts/1"), "type": "Announce", "actor": carol,
        "object": post, "to": [PUBLIC]});
    assert_eq!(send(&peer, "carol", &blog, &boost).0, 202);
    wait_counts(&blog, 4, 2, 1);

    let said = blog.pull_and_build();
    assert!(said.contains("2 replies"), "{said}");
    let html = page(&blog);
    let doc = scraper::Html::parse_document(&html);
    let sel = |s: &str| scraper::Selector::parse(s).expect("selector");
    let section = conversation_of(&doc, &html);
    let text: String = section.text().collect();
    assert!(text.contains("Hello from Alice"), "{text}");
    assert!(text.contains("fine link"), "{text}");
    assert!(
        text.contains("Alice Liddell"),
        "the name, without markup: {text}"
    );
    let host = peer.base.trim_start_matches("http://");
    assert!(text.contains(&format!("@alice@{host}")), "{text}");
    assert!(text.contains("2 favourites, 1 boost"), "{text}");
    let section_html = section.html();
    for bad in [
        "<script",
        "<style",
        "javascript:",
        "onclick",
        "onmouseover",
        "alert(",
    ] {
        assert!(!section_html.contains(bad), "{bad} in\n{section_html}");
    }
    assert!(
        section_html.contains("rel=\"nofollow ugc noopener\""),
        "{section_html}"
    );
    // Dates, and Bob's reply nested under Alice's.
    assert!(
        section
            .select(&sel("article time[datetime]"))
            .next()
            .is_some()
    );
    let nested: String = section
        .select(&sel("ol.thread > li > ol.thread > li article"))
        .flat_map(|a| a.text())
        .collect();
    assert!(
        nested.contains("Bob answers Alice"),
        "nesting:\n{section_html}"
    );
    assert!(
        !nested.contains("Hello from Alice"),
        "nesting:\n{section_html}"
    );
    // Faces: two favourites and one boost, each with alt text.
    assert_eq!(section.select(&sel(".faces img[alt]")).count(), 3);

    // Nothing private anywhere: not in the output, not in the site's data
    // (only the companion's own database, outside both, holds it).
    for secret in ["SECRET-FOLLOWERS-ONLY", "SECRET-DIRECT-MENTION"] {
        assert_eq!(
            files_holding(&blog.root().join("public"), secret),
            Vec::<String>::new()
        );
        let holding: Vec<String> = files_holding(&blog.root(), secret)
            .into_iter()
            .filter(|p| !p.starts_with("companion/"))
            .collect();
        assert_eq!(holding, Vec::<String>::new());
    }
    // No avatar is hot-linked: every image on every page is on the blog.
    let out = blog.root().join("public");
    for (path, bytes) in snapshot(&out) {
        if !path.ends_with(".html") {
            continue;
        }
        let h = scraper::Html::parse_document(&String::from_utf8_lossy(&bytes));
        for img in h.select(&sel("img")) {
            let src = img.value().attr("src").unwrap_or("");
            assert!(
                src.starts_with(&blog.base) || src.starts_with('/'),
                "{path}: {src}"
            );
        }
    }
    // Alice's avatar is a small PNG on the blog; Bob's is the placeholder.
    let alice_img = section
        .select(&sel(".reply img.avatar"))
        .next()
        .and_then(|i| i.value().attr("src"))
        .unwrap_or("")
        .to_string();
    let rel = alice_img
        .trim_start_matches(&blog.base)
        .trim_start_matches('/');
    assert!(
        rel.starts_with("avatars/") && rel.ends_with(".png"),
        "{alice_img}"
    );
    let served = image::load_from_memory(&std::fs::read(out.join(rel)).expect("avatar file"))
        .expect("a png");
    assert_eq!((served.width(), served.height()), (96, 96));
    assert!(
        section_html.contains("avatars/placeholder.svg"),
        "Bob's avatar: {section_html}"
    );
    assert!(out.join("avatars/placeholder.svg").is_file());

    // The object's replies collection lists the public replies only.
    let object: Value = serde_json::from_slice(
        &std::fs::read(out.join("ap/posts/hello-world.json")).expect("object"),
    )
    .expect("json");
    let ids: Vec<&str> = object["replies"]["first"]["orderedItems"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(ids, [a1.as_str(), format!("{bob}/statuses/1").as_str()]);
    assert_eq!(object["replies"]["totalItems"], 2);

    // Alice edits, Bob deletes, Alice takes her favourite back.
    let mut edit = create(
        &alice,
        note(
            &alice,
            &a1,
            &post,
            "<p>EDITED by Alice</p>",
            json!([PUBLIC]),
            json!([]),
        ),
    );
    edit["type"] = json!("Update");
    edit["id"] = json!(format!("{a1}/update/1"));
    assert_eq!(send(&peer, "alice", &blog, &edit).0, 202);
    let delete = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{bob}/statuses/1#delete"), "type": "Delete", "actor": bob,
        "object": {"id": format!("{bob}/statuses/1"), "type": "Tombstone"}});
    assert_eq!(send(&peer, "bob", &blog, &delete).0, 202);
    let undo = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{alice}/likes/0/undo"), "type": "Undo", "actor": alice,
        "object": {"id": format!("{alice}/likes/0"), "type": "Like", "actor": alice, "object": post}});
    assert_eq!(send(&peer, "alice", &blog, &undo).0, 202);
    wait_counts(&blog, 3, 1, 1);
    blog.pull_and_build();
    let html = page(&blog);
    assert!(html.contains("EDITED by Alice"), "{html}");
    assert!(!html.contains("Hello from Alice"), "{html}");
    assert!(!html.contains("Bob answers Alice"), "{html}");
    assert!(html.contains("1 favourite, 1 boost"), "{html}");
}

#[test]
fn hostile_avatars_are_refused_and_the_placeholder_shown() {
    let blog = start();
    let peer = Peer::start(&["huge", "html", "slow"]);
    let post = post_id(&blog);
    let big = peer.serve_media(
        "/media/huge.png",
        "image/png",
        vec![0u8; 3 * 1024 * 1024],
        Duration::ZERO,
    );
    peer.set_profile("huge", json!({"icon": {"url": big}}));
    let page_icon = peer.serve_media(
        "/media/page.png",
        "text/html",
        b"<html><script>alert(1)</script></html>".to_vec(),
        Duration::ZERO,
    );
    peer.set_profile("html", json!({"icon": {"url": page_icon}}));
    let slow = peer.serve_media(
        "/media/slow.png",
        "image/png",
        png(10, 10),
        Duration::from_secs(8),
    );
    peer.set_profile("slow", json!({"icon": {"url": slow}}));
    for name in ["huge", "html", "slow"] {
        let like = json!({"@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/likes/1", peer.actor(name)), "type": "Like",
            "actor": peer.actor(name), "object": post});
        assert_eq!(send(&peer, name, &blog, &like).0, 202);
    }
    wait_counts(&blog, 0, 3, 0);
    blog.pull_and_build();
    let html = page(&blog);
    assert!(html.contains("3 favourites, 0 boosts"), "{html}");
    assert_eq!(html.matches("avatars/placeholder.svg").count(), 3, "{html}");
    assert!(!html.contains("/media/"), "{html}");
    assert!(
        !blog.root().join("conversations/avatars").exists()
            || std::fs::read_dir(blog.root().join("conversations/avatars"))
                .expect("dir")
                .next()
                .is_none()
    );
}

fn replies_cli(blog: &Companion, args: &[&str]) -> String {
    blog.admin_cli("replies", args)
}

#[test]
fn hidden_replies_and_blocked_authors_leave_the_page() {
    let blog = start();
    let peer = Peer::start(&["alice", "spam", "mallory"]);
    let post = post_id(&blog);
    let reply = |name: &str, text: &str| {
        let actor = peer.actor(name);
        create(
            &actor,
            note(
                &actor,
                &format!("{actor}/statuses/1"),
                &post,
                text,
                json!([PUBLIC]),
                json!([]),
            ),
        )
    };
    for (name, text) in [
        ("alice", "<p>A kind reply</p>"),
        ("spam", "<p>BUY-CHEAP-PILLS</p>"),
        ("mallory", "<p>MALLORY-TROLLING</p>"),
    ] {
        assert_eq!(send(&peer, name, &blog, &reply(name, text)).0, 202);
    }
    // A followers-only reply: the writer sees it, the blog never shows it.
    let carol_only = {
        let actor = peer.actor("alice");
        create(
            &actor,
            note(
                &actor,
                &format!("{actor}/statuses/2"),
                &post,
                "<p>FOR-FOLLOWERS</p>",
                json!([format!("{actor}/followers")]),
                json!([]),
            ),
        )
    };
    assert_eq!(send(&peer, "alice", &blog, &carol_only).0, 202);
    wait_counts(&blog, 4, 0, 0);
    let listed = replies_cli(&blog, &["list"]);
    assert!(
        listed.contains("BUY-CHEAP-PILLS") && !listed.contains("FOR-FOLLOWERS"),
        "{listed}"
    );
    let all = replies_cli(&blog, &["list", "--all"]);
    assert!(
        all.contains("FOR-FOLLOWERS") && all.contains("not public"),
        "{all}"
    );

    let spam = format!("{}/statuses/1", peer.actor("spam"));
    let said = replies_cli(&blog, &["hide", &spam]);
    assert!(said.contains("Hidden"), "{said}");
    let said = replies_cli(
        &blog,
        &["block", &format!("{}/statuses/1", peer.actor("mallory"))],
    );
    assert!(said.contains("Blocked"), "{said}");
    blog.pull_and_build();
    let html = page(&blog);
    assert!(html.contains("A kind reply"), "{html}");
    assert!(!html.contains("BUY-CHEAP-PILLS"), "{html}");
    assert!(!html.contains("MALLORY-TROLLING"), "{html}");
    assert!(!html.contains("FOR-FOLLOWERS"), "{html}");
    // A blocked author's new replies are not even recorded.
    let again = {
        let actor = peer.actor("mallory");
        create(
            &actor,
            note(
                &actor,
                &format!("{actor}/statuses/9"),
                &post,
                "<p>again</p>",
                json!([PUBLIC]),
                json!([]),
            ),
        )
    };
    assert_eq!(send(&peer, "mallory", &blog, &again).0, 202);
    blog.wait_status("the queue to drain", |s| s["incoming_backlog"] == 0);
    assert!(!replies_cli(&blog, &["list", "--all"]).contains("again"));

    replies_cli(&blog, &["unhide", &spam]);
    blog.pull_and_build();
    assert!(page(&blog).contains("BUY-CHEAP-PILLS"));

    // Under `replies = "approved"`, only approved authors are shown.
    let config = blog.root().join("stoa.toml");
    let text = std::fs::read_to_string(&config).expect("stoa.toml");
    std::fs::write(
        &config,
        format!("{text}\n[conversations]\nreplies = \"approved\"\n"),
    )
    .expect("write");
    let mut blog = blog;
    blog.terminate();
    blog.launch();
    replies_cli(&blog, &["approve", &peer.actor("alice")]);
    blog.pull_and_build();
    let html = page(&blog);
    assert!(html.contains("A kind reply"), "{html}");
    assert!(!html.contains("BUY-CHEAP-PILLS"), "{html}");
}

#[test]
fn stoa_new_reply_to_reaches_the_author_as_a_threaded_reply() {
    let blog = start();
    let peer = Peer::start(&["alice"]);
    let alice = peer.actor("alice");
    blog.publish_ok(&[]); // the baseline: nothing is sent
    let note_id = format!("{alice}/statuses/7");
    let web = format!("{}/@alice/7", peer.base);
    let mut n = note(
        &alice,
        &note_id,
        &post_id(&blog),
        "<p>Nice post!</p>",
        json!([PUBLIC]),
        json!([]),
    );
    n["url"] = json!(web);
    assert_eq!(send(&peer, "alice", &blog, &create(&alice, n)).0, 202);
    wait_counts(&blog, 1, 0, 0);

    let out = stoa_cmd()
        .args(["new", "Thanks, Alice", "--reply-to", &web, "--root"])
        .arg(blog.root())
        .arg("--companion")
        .arg(&blog.base)
        .env("STOA_ADMIN_TOKEN", TOKEN)
        .output()
        .expect("stoa new runs");
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.ends_with("content/posts/thanks-alice.md"),
        "{printed}"
    );
    let text = std::fs::read_to_string(&printed).expect("the new post");
    assert!(text.contains("title = \"Thanks, Alice\""), "{text}");
    assert!(text.contains("date = 20"), "{text}");
    assert!(
        text.contains(&format!("in_reply_to = \"{note_id}\"")),
        "{text}"
    );
    let host = peer.base.trim_start_matches("http://");
    assert!(text.contains(&format!("@alice@{host}")), "{text}");
    std::fs::write(&printed, format!("{text}Glad you liked it.\n")).expect("write");

    blog.publish_ok(&["--no-wait"]);
    let arrived = peer.wait_for("the reply to Alice", 1, |a| {
        let j = a.json();
        j["type"] == "Create" && j["object"]["inReplyTo"] == note_id.as_str()
    });
    let object = &arrived[0].json()["object"];
    let tags = object["tag"].as_array().cloned().unwrap_or_default();
    assert!(
        tags.iter()
            .any(|t| t["type"] == "Mention" && t["href"] == alice.as_str()),
        "{object}"
    );
    // The answer sits in the thread on the blog, under Alice's reply.
    blog.pull_and_build();
    let html = page(&blog);
    let doc = scraper::Html::parse_document(&html);
    let sel =
        scraper::Selector::parse("ol.thread > li > ol.thread > li article").expect("selector");
    let nested: String = doc.select(&sel).flat_map(|a| a.text()).collect();
    assert!(nested.contains("Glad you liked it."), "{html}");
    assert!(nested.contains("@blog@"), "by the writer: {html}");
}

/// Fedify, an independent implementation, replies (once to the post, once
/// to its own reply), favourites and boosts; after `stoa pull` and a build
/// the page shows the thread nested and the counts, and Fedify walks the
/// post's `replies` collection to the reply ids.
#[test]
fn fedify_replies_nest_and_fedify_walks_the_replies_collection() {
    use crate::common::{Needs, peers_ready};
    if !peers_ready(&[Needs::Fedify]) {
        return;
    }
    let blog = start();
    let fedify = super::fedify::Fedify::start("rfc9421");
    let post = post_id(&blog);
    let with_post = json!({"target": blog.actor(), "object": post});
    fedify.control("like", with_post.clone());
    fedify.control("announce", with_post);
    let first = fedify.control(
        "reply",
        json!({"target": blog.actor(), "object": post,
               "content": "<p>FEDIFY-FIRST <script>alert(1)</script><a href=\"javascript:x()\" onclick=\"y()\">x</a></p>"}),
    );
    wait_counts(&blog, 1, 1, 1);
    let second = fedify.control(
        "reply",
        json!({"target": blog.actor(), "object": first["id"],
               "content": "<p>FEDIFY-NESTED</p>"}),
    );
    wait_counts(&blog, 2, 1, 1);
    blog.pull_and_build();
    let html = page(&blog);
    let doc = scraper::Html::parse_document(&html);
    let sel = |s: &str| scraper::Selector::parse(s).expect("selector");
    let section = conversation_of(&doc, &html);
    let section_html = section.html();
    assert!(section_html.contains("FEDIFY-FIRST"), "{section_html}");
    for bad in ["<script", "javascript:", "onclick", "alert("] {
        assert!(!section_html.contains(bad), "{bad}:\n{section_html}");
    }
    let nested: String = section
        .select(&sel("ol.thread > li > ol.thread > li article"))
        .flat_map(|a| a.text())
        .collect();
    assert!(nested.contains("FEDIFY-NESTED"), "{section_html}");
    let text: String = section.text().collect();
    assert!(text.contains("1 favourite, 1 boost"), "{text}");

    let walked = fedify.control("replies", json!({"object": post}));
    assert_eq!(
        walked["ids"],
        json!([first["id"], second["id"]]),
        "Fedify walked the replies collection"
    );
}

/// Every file of the output (stoa's own `.stoa-*` files aside) with its
/// inode and modification time: what a build rewrote shows as a change.
fn file_stamps(dir: &Path) -> std::collections::BTreeMap<String, (u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    snapshot(dir)
        .into_keys()
        .filter(|p| !p.split('/').any(|part| part.starts_with(".stoa")))
        .map(|p| {
            let m = std::fs::metadata(dir.join(&p)).expect("metadata");
            let stamp = (m.ino(), m.modified().expect("mtime"));
            (p, stamp)
        })
        .collect()
}

/// The files whose stamp differs between two [`file_stamps`], or that are new.
fn rewritten(
    before: &std::collections::BTreeMap<String, (u64, std::time::SystemTime)>,
    after: &std::collections::BTreeMap<String, (u64, std::time::SystemTime)>,
) -> Vec<String> {
    after
        .iter()
        .filter(|(p, s)| before.get(*p) != Some(*s))
        .map(|(p, _)| p.clone())
        .collect()
}

/// How long the re-render test waits for the companion at most.
const RERENDER_WAIT: Duration = Duration::from_secs(60);

/// Waits (bounded) until `check` holds for the post's page.
fn wait_page(blog: &Companion, what: &str, check: impl Fn(&str) -> bool) -> String {
    let mut html = String::new();
    super::publish::wait_until(what, RERENDER_WAIT, || {
        html = page(blog);
        check(&html)
    });
    html
}

/// A public reply by `actor` (its status number `n`) to `to`.
fn public_reply(actor: &str, n: u32, to: &str, html: &str) -> Value {
    let id = format!("{actor}/statuses/{n}");
    create(
        actor,
        note(actor, &id, to, html, json!([PUBLIC]), json!([])),
    )
}

/// Issue 9: the companion serving the built site (`--site public`) in the
/// site folder re-renders it after a public reply, with no command run by
/// the writer; it rewrites only that post's page and its object (and
/// `featured.json`, which embeds the latest posts: the test site has one);
/// a burst of interactions is one build; a build that fails changes
/// nothing that is served and reaches the writer as a notification.
#[test]
fn the_companion_re_renders_the_page_itself_after_a_public_reply() {
    let blog = start();
    let peer = Peer::start(&["alice", "bob"]);
    let post = post_id(&blog);
    let public = blog.root().join("public");
    let before = file_stamps(&public);
    let alice = peer.actor("alice");
    let reply = public_reply(&alice, 1, &post, "<p>RE-RENDERED-BY-ITSELF</p>");
    assert_eq!(send(&peer, "alice", &blog, &reply).0, 202);
    wait_page(&blog, "the reply", |h| h.contains("RE-RENDERED-BY-ITSELF"));
    // Served too, by the companion itself.
    let served = crate::common::agent()
        .get(&format!("{}/posts/hello-world/", blog.base))
        .call()
        .expect("GET the page")
        .body_mut()
        .read_to_string()
        .expect("body");
    assert!(served.contains("RE-RENDERED-BY-ITSELF"), "{served}");
    assert!(
        std::fs::read_to_string(blog.root().join("conversations.toml"))
            .expect("conversations.toml written by the companion")
            .contains("RE-RENDERED-BY-ITSELF")
    );
    // The first conversation on the blog also brought the placeholder
    // avatar; one more reply rewrites only its post's files.
    assert!(
        rewritten(&before, &file_stamps(&public)).contains(&"avatars/placeholder.svg".to_string())
    );
    let before = file_stamps(&public);
    let another = public_reply(&alice, 3, &post, "<p>ONE-MORE-REPLY</p>");
    assert_eq!(send(&peer, "alice", &blog, &another).0, 202);
    wait_page(&blog, "the second reply", |h| h.contains("ONE-MORE-REPLY"));
    assert_eq!(
        rewritten(&before, &file_stamps(&public)),
        [
            "ap/featured.json",
            "ap/posts/hello-world.json",
            "posts/hello-world/index.html"
        ],
        "one reply rewrote these files"
    );

    // A burst (a favourite, a boost and a reply at once): one build.
    let builds = |log: &str| log.matches("site re-rendered").count();
    // The page shows a build's files a moment before the companion logs it.
    let mut before_burst = 0;
    super::publish::wait_until("the log of the two replies' builds", RERENDER_WAIT, || {
        before_burst = builds(&blog.log());
        before_burst >= 2
    });
    let bob = peer.actor("bob");
    let like = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{bob}/likes/1"), "type": "Like", "actor": bob, "object": post});
    let boost = json!({"@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{bob}/boosts/1"), "type": "Announce", "actor": bob,
        "object": post, "to": [PUBLIC]});
    let answer = public_reply(
        &bob,
        1,
        &format!("{alice}/statuses/1"),
        "<p>BOB-IN-THE-BURST</p>",
    );
    // Sent at once, as a busy thread's activities come.
    std::thread::scope(|scope| {
        let sent: Vec<_> = [&like, &boost, &answer]
            .map(|activity| scope.spawn(|| send(&peer, "bob", &blog, activity).0))
            .into_iter()
            .collect();
        for s in sent {
            assert_eq!(s.join().expect("sent"), 202);
        }
    });
    wait_page(&blog, "the burst", |h| h.contains("BOB-IN-THE-BURST"));
    // Give a second build (which must not come) time to show in the log.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        builds(&blog.log()) - before_burst,
        1,
        "one build for the burst:\n{}",
        blog.log()
    );

    // A post the build refuses: the next reply is not shown, nothing served
    // changes, and the writer is told why.
    blog.write_post(
        "broken",
        "title = \"Broken\"\ndate = \"not a date\"",
        "Text.",
    );
    let served_before = snapshot(&public);
    let second_reply = public_reply(&alice, 2, &post, "<p>NOT-SHOWN-YET</p>");
    assert_eq!(send(&peer, "alice", &blog, &second_reply).0, 202);
    let mut told = String::new();
    super::publish::wait_until(
        "the notification of the failed re-render",
        RERENDER_WAIT,
        || {
            told = blog.admin_cli("notifications", &[]);
            told.contains("could not be re-rendered")
        },
    );
    assert!(told.contains("broken.md"), "names the file: {told}");
    let mut served_after = snapshot(&public);
    // The lock file's text is the last writer's name; it is not served.
    served_after.retain(|p, _| !p.starts_with(".stoa-lock"));
    let mut served_before = served_before;
    served_before.retain(|p, _| !p.starts_with(".stoa-lock"));
    assert!(
        served_after == served_before,
        "a failed re-render changed the output"
    );
    assert!(blog.log().contains("could not re-render the site"));
}

/// Fedify walks a `replies` collection longer than a page: the embedded
/// first page, then each `next` page the companion serves from the built
/// site, to every reply id once, in order.
#[test]
fn fedify_walks_every_page_of_a_long_replies_collection() {
    use crate::common::{Needs, peers_ready, write_replies};
    if !peers_ready(&[Needs::Fedify]) {
        return;
    }
    let blog = start();
    let fedify = super::fedify::Fedify::start("rfc9421");
    let want = write_replies(
        &blog.root(),
        "hello-world",
        2 * stoa::federation::REPLIES_PAGE_SIZE + 34,
    );
    blog.build_site();
    assert!(
        blog.root()
            .join("public/ap/replies/hello-world/page-3.json")
            .is_file()
    );
    let walked = fedify.control("replies", json!({"object": post_id(&blog)}));
    assert_eq!(walked["ids"], json!(want), "Fedify walked every page");
}

/// snac, a second independent implementation, follows the blog, receives
/// a new post from `stoa publish`, replies to it, likes and boosts it (from
/// its web page: its command line only boosts); the companion verifies
/// and records each, and after `stoa pull` and a build the post's page
/// shows snac's reply with its author, and the counts.
#[test]
fn snac_replies_likes_and_boosts_reach_the_page() {
    use crate::common::{Needs, peers_ready};
    use crate::interop_snac::{LOCAL_USER, Snac};
    if !peers_ready(&[Needs::Snac]) {
        return;
    }
    let blog = start();
    blog.publish_ok(&[]);
    let snac = Snac::new();
    let port = super::free_port();
    let server = snac.serve(port);
    let snac_actor = format!("http://127.0.0.1:{port}/{LOCAL_USER}");
    snac.run(&["follow", "{data}", LOCAL_USER, &blog.actor()]);
    blog.wait_status("snac's follow", |s| s["followers"]["accepted"] == 1);

    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    blog.write_post(
        "for-snac",
        &format!("title = \"For snac\"\ndate = {today}"),
        "A post snac answers.",
    );
    blog.publish_ok(&[]);
    let post = format!("{}/ap/posts/for-snac.json", blog.base);
    super::publish::wait_until("snac to get the post", Duration::from_secs(30), || {
        snac.timeline().iter().any(|v| v["id"] == post.as_str())
    });

    let status = snac.web_form(
        &server,
        "note",
        &[
            ("content", "SNAC-REPLY from the other server"),
            ("in_reply_to", &post),
        ],
    );
    assert!(status < 400, "snac refused the reply: {status}");
    for action in ["Like", "Boost"] {
        let status = snac.web_form(&server, "action", &[("id", &post), ("action", action)]);
        assert!(status < 400, "snac refused {action}: {status}");
    }
    wait_counts(&blog, 1, 1, 1);

    blog.pull_and_build();
    let html = page_of(&blog, "for-snac");
    let doc = scraper::Html::parse_document(&html);
    let section = conversation_of(&doc, &html);
    let text: String = section.text().collect();
    assert!(text.contains("SNAC-REPLY from the other server"), "{text}");
    assert!(
        text.contains(&format!("@{LOCAL_USER}@127.0.0.1:{port}")),
        "the author's handle: {text}"
    );
    assert!(text.contains("1 favourite, 1 boost"), "{text}");
    assert!(
        section.html().contains(&snac_actor),
        "the author's link: {}",
        section.html()
    );
}
