//! The ActivityPub documents `stoa build` writes, checked against the rules
//! peers enforce (docs/architecture.md, "Addresses: one URL per document";
//! docs/interop.md, "Serving documents"): id == URL, every id on the blog host,
//! WebFinger self link == actor id, no redirects, exact Content-Types,
//! stable ids, only Mastodon's HTML, no private key anywhere.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::common::{self, TempSite, build, example_copy, snapshot, stoa, text};

const BASE: &str = "https://blog.example.com";

fn built_example() -> (tempfile::TempDir, tempfile::TempDir) {
    let site = example_copy();
    let out = tempfile::tempdir().expect("temp");
    let o = build(site.path(), out.path(), &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    (site, out)
}

/// Every ActivityPub JSON document: relative path → parsed JSON.
fn ap_documents(out: &Path) -> BTreeMap<String, Value> {
    snapshot(out)
        .into_iter()
        .filter(|(k, _)| k.starts_with("ap/") && k.ends_with(".json"))
        .map(|(k, v)| {
            let json =
                serde_json::from_slice(&v).unwrap_or_else(|e| panic!("{k} is not JSON: {e}"));
            (k, json)
        })
        .collect()
}

/// Collects every `id` (and `actor`, `attributedTo`, `partOf`) in a document.
fn ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if matches!(
                    k.as_str(),
                    "id" | "actor"
                        | "attributedTo"
                        | "partOf"
                        | "first"
                        | "next"
                        | "prev"
                        | "last"
                        | "owner"
                ) && let Some(s) = x.as_str()
                {
                    out.push(s.to_string());
                }
                ids(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| ids(x, out)),
        _ => {}
    }
}

#[test]
fn every_document_id_is_its_url_and_on_the_blog_host() {
    let (_site, out) = built_example();
    let docs = ap_documents(out.path());
    // 19 post objects + actor, outbox and its page, followers, following, featured, featured tags.
    assert_eq!(docs.len(), 19 + 7, "{:?}", docs.keys().collect::<Vec<_>>());
    for (rel, doc) in &docs {
        assert_eq!(
            doc["id"].as_str(),
            Some(format!("{BASE}/{rel}").as_str()),
            "{rel}: id must equal its URL"
        );
        let ctx = doc["@context"]
            .as_array()
            .unwrap_or_else(|| panic!("{rel}: no @context array"));
        assert_eq!(ctx[0], "https://www.w3.org/ns/activitystreams", "{rel}");
        assert_eq!(ctx[1], "https://w3id.org/security/v1", "{rel}");
        let mut all = Vec::new();
        ids(doc, &mut all);
        for id in all {
            assert!(
                id.starts_with(&format!("{BASE}/")),
                "{rel}: {id} is not on the blog host"
            );
        }
    }
}

#[test]
fn webfinger_self_link_is_the_actor_id_byte_for_byte() {
    let (_site, out) = built_example();
    let jrd: Value = serde_json::from_slice(
        &std::fs::read(out.path().join(".well-known/webfinger")).expect("webfinger"),
    )
    .expect("json");
    let actor: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("ap/actor.json")).expect("actor"))
            .expect("json");
    assert_eq!(jrd["subject"], "acct:ada@blog.example.com");
    let links = jrd["links"].as_array().expect("links");
    let self_link = links
        .iter()
        .find(|l| l["rel"] == "self")
        .expect("self link");
    assert_eq!(self_link["type"], "application/activity+json");
    assert_eq!(self_link["href"], actor["id"]);
    let user = actor["preferredUsername"].as_str().expect("username");
    assert!(
        !user.is_empty()
            && user
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    );
    // What Mastodon, GoToSocial and Misskey read from the actor.
    for key in [
        "inbox",
        "outbox",
        "followers",
        "following",
        "featured",
        "featuredTags",
        "url",
        "name",
        "summary",
        "icon",
        "published",
        "attachment",
        "endpoints",
        "manuallyApprovesFollowers",
        "discoverable",
        "indexable",
    ] {
        assert!(!actor[key].is_null(), "actor lacks {key}");
    }
    assert_eq!(actor["type"], "Person");
    assert_eq!(
        actor["inbox"],
        format!("{BASE}/inbox"),
        "the inbox must be on the blog host (Misskey)"
    );
    assert_eq!(
        actor["publicKey"]["id"],
        format!("{BASE}/ap/actor.json#main-key")
    );
    assert_eq!(actor["publicKey"]["owner"], actor["id"]);
    let pem = actor["publicKey"]["publicKeyPem"].as_str().expect("pem");
    let expected =
        std::fs::read_to_string(crate::common::repo().join("content-example/actor-key.pub.pem"))
            .expect("key");
    assert_eq!(
        pem.trim(),
        expected.trim(),
        "the published key is the site's public key"
    );
    let host_meta =
        std::fs::read_to_string(out.path().join(".well-known/host-meta")).expect("host-meta");
    assert!(host_meta.contains(&format!(
        "template=\"{BASE}/.well-known/webfinger?resource={{uri}}\""
    )));
    let ni: Value = serde_json::from_slice(
        &std::fs::read(out.path().join(".well-known/nodeinfo")).expect("nodeinfo"),
    )
    .expect("json");
    assert_eq!(ni["links"][0]["href"], format!("{BASE}/nodeinfo/2.1.json"));
    let doc: Value = serde_json::from_slice(
        &std::fs::read(out.path().join("nodeinfo/2.1.json")).expect("nodeinfo 2.1"),
    )
    .expect("json");
    assert_eq!(doc["version"], "2.1");
    assert_eq!(doc["protocols"][0], "activitypub");
}

#[test]
fn posts_become_notes_mastodon_can_show() {
    let (_site, out) = built_example();
    let docs = ap_documents(out.path());
    let allowed = [
        "p",
        "br",
        "span",
        "a",
        "del",
        "s",
        "pre",
        "blockquote",
        "code",
        "b",
        "strong",
        "u",
        "i",
        "em",
        "ul",
        "ol",
        "li",
    ];
    let mut notes = 0;
    for (rel, doc) in docs.iter().filter(|(k, _)| k.starts_with("ap/posts/")) {
        notes += 1;
        assert!(
            matches!(doc["type"].as_str(), Some("Note" | "Article")),
            "{rel}"
        );
        assert_eq!(doc["attributedTo"], format!("{BASE}/ap/actor.json"));
        assert_eq!(doc["to"][0], "https://www.w3.org/ns/activitystreams#Public");
        assert_eq!(doc["cc"][0], format!("{BASE}/ap/followers.json"));
        let slug = rel
            .trim_start_matches("ap/posts/")
            .trim_end_matches(".json");
        assert_eq!(doc["url"], format!("{BASE}/posts/{slug}/"));
        let content = doc["content"].as_str().expect("content");
        assert!(!content.is_empty());
        let lang = doc["contentMap"]
            .as_object()
            .expect("contentMap")
            .keys()
            .next()
            .expect("a language")
            .clone();
        assert_eq!(doc["contentMap"][&lang], doc["content"]);
        let fragment = scraper::Html::parse_fragment(content);
        for el in fragment
            .root_element()
            .descendants()
            .filter_map(scraper::ElementRef::wrap)
            .skip(1)
        {
            let name = el.value().name();
            assert!(
                allowed.contains(&name),
                "{rel}: <{name}> is outside Mastodon's allowlist"
            );
        }
        for tag in doc["tag"].as_array().expect("tags") {
            assert_eq!(tag["type"], "Hashtag");
            assert!(
                tag["href"]
                    .as_str()
                    .expect("href")
                    .starts_with(&format!("{BASE}/tags/"))
            );
            let name = tag["name"].as_str().expect("name");
            assert!(
                name.starts_with('#') && name[1..].chars().all(|c| c.is_alphanumeric() || c == '_'),
                "{name}"
            );
        }
        let attachments = doc["attachment"].as_array().expect("attachments");
        assert!(attachments.len() <= 4);
        for a in attachments {
            assert!(
                a["name"].as_str().is_some_and(|n| !n.is_empty()),
                "{rel}: attachment without alt text"
            );
            assert!(a["mediaType"].as_str().expect("type").starts_with("image/"));
        }
    }
    assert_eq!(notes, 19);
    let photo = &docs["ap/posts/ridgeway-at-dawn.json"];
    let a = &photo["attachment"][0];
    assert_eq!(
        a["url"],
        format!("{BASE}/posts/ridgeway-at-dawn/ridgeway-dawn.png")
    );
    assert_eq!(
        (a["width"].as_u64(), a["height"].as_u64()),
        (Some(1200), Some(800))
    );
    assert!(
        a["blurhash"].as_str().is_some_and(|b| b.len() >= 6),
        "photo attachments carry a blurhash"
    );
    assert!(
        photo["content"]
            .as_str()
            .expect("content")
            .starts_with(&format!(
                "<p><a href=\"{BASE}/posts/ridgeway-at-dawn/\">The Ridgeway at dawn</a></p>"
            )),
        "titled notes start with the linked title"
    );
    let cw = &docs["ap/posts/gravel-meet-elbow.json"];
    assert_eq!(cw["sensitive"], true);
    assert!(cw["summary"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        docs["ap/posts/reply-reverse-proxy.json"]["inReplyTo"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://mastodon.social/"))
    );
    assert_eq!(docs["ap/posts/2025-in-review.json"]["type"], "Article");
    assert_eq!(
        docs["ap/posts/bretagne.json"]["contentMap"]
            .as_object()
            .expect("map")
            .keys()
            .next()
            .map(String::as_str),
        Some("fr")
    );
    // Outbox: every post once, newest first, as Create activities.
    let outbox = &docs["ap/outbox.json"];
    assert_eq!(outbox["totalItems"], 19);
    let page = &docs["ap/outbox/page-1.json"];
    let items = page["orderedItems"].as_array().expect("items");
    assert_eq!(items.len(), 19);
    assert!(
        items
            .iter()
            .all(|i| i["type"] == "Create" && i["actor"] == format!("{BASE}/ap/actor.json"))
    );
    let dates: Vec<&str> = items
        .iter()
        .map(|i| i["object"]["published"].as_str().expect("date"))
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted, "outbox must be newest first");
    // Featured: the pinned post.
    let featured = &docs["ap/featured.json"];
    assert_eq!(
        featured["orderedItems"][0]["id"],
        format!("{BASE}/ap/posts/start-here.json")
    );
}

#[test]
fn every_html_page_links_its_object() {
    let (_site, out) = built_example();
    for (rel, bytes) in snapshot(out.path()) {
        if !rel.ends_with("index.html") {
            continue;
        }
        let html = String::from_utf8_lossy(&bytes);
        let expected = match rel
            .strip_prefix("posts/")
            .and_then(|r| r.strip_suffix("/index.html"))
        {
            Some(slug) => format!("{BASE}/ap/posts/{slug}.json"),
            None => format!("{BASE}/ap/actor.json"),
        };
        let link = format!(
            "<link rel=\"alternate\" type=\"application/activity+json\" href=\"{expected}\">"
        );
        assert!(html.contains(&link), "{rel} lacks {link}");
    }
}

#[test]
fn object_ids_are_stable_across_edits_and_rebuilds() {
    let site = example_copy();
    let out = tempfile::tempdir().expect("temp");
    assert!(build(site.path(), out.path(), &[]).status.success());
    let before = ap_documents(out.path());
    let post = site.path().join("content/posts/jollof-rice.md");
    let text = std::fs::read_to_string(&post).expect("post");
    std::fs::write(
        &post,
        text.replace("title = \"", "title = \"Edited: ") + "\nOne more line.\n",
    )
    .expect("edit");
    assert!(build(site.path(), out.path(), &[]).status.success());
    let after = ap_documents(out.path());
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "no document may appear or vanish on an edit"
    );
    for (k, v) in &before {
        assert_eq!(v["id"], after[k]["id"]);
    }
    assert_ne!(
        before["ap/posts/jollof-rice.json"]["content"],
        after["ap/posts/jollof-rice.json"]["content"]
    );
    assert_eq!(
        before["ap/posts/pi-day.json"], after["ap/posts/pi-day.json"],
        "unrelated objects must not change"
    );
}

#[test]
fn host_configs_give_fediverse_types_and_proxy_the_inbox() {
    let (_site, out) = built_example();
    let headers = std::fs::read_to_string(out.path().join("_headers")).expect("_headers");
    assert!(
        headers.contains(
            "/ap/*\n  Content-Type: application/activity+json\n  Access-Control-Allow-Origin: *"
        ),
        "{headers}"
    );
    assert!(
        headers.contains("/.well-known/webfinger\n  Content-Type: application/jrd+json"),
        "{headers}"
    );
    let redirects = std::fs::read_to_string(out.path().join("_redirects")).expect("_redirects");
    assert!(
        redirects.contains("/inbox  https://companion.example.com/inbox  200!"),
        "{redirects}"
    );
    assert!(
        redirects.contains("/quote-authorizations/*  https://companion.example.com/quote-authorizations/:splat  200!"),
        "{redirects}"
    );
}

#[test]
fn a_missing_or_private_key_is_a_clear_error() {
    let site = TempSite::minimal();
    std::fs::remove_file(site.root().join("actor-key.pub.pem")).expect("rm");
    let o = build(site.root(), &site.out(), &[]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(
        stderr.contains("actor-key.pub.pem") && stderr.contains("stoa keygen"),
        "{stderr}"
    );
    // `stoa keygen` makes one (and refuses to replace it).
    let o = stoa()
        .args(["keygen", "--root"])
        .arg(site.root())
        .output()
        .expect("keygen");
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(site.root().join("secrets/actor-key.pem").is_file());
    let o = stoa()
        .args(["keygen", "--root"])
        .arg(site.root())
        .output()
        .expect("keygen");
    assert!(!o.status.success());
    assert!(build(site.root(), &site.out(), &[]).status.success());
    // Pointing the public key at the private key is refused without printing it.
    site.write(
        "stoa.toml",
        "base_url = \"https://blog.example.com\"\ntitle = \"Test\"\n[fediverse]\npublic_key = \"secrets/actor-key.pem\"\n",
    );
    let o = build(site.root(), &site.out(), &[]);
    let (stdout, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(stderr.contains("PRIVATE key"), "{stderr}");
    let secret =
        std::fs::read_to_string(site.root().join("secrets/actor-key.pem")).expect("secret");
    let body_line = secret.lines().nth(1).expect("pem body");
    assert!(
        !stderr.contains(body_line) && !stdout.contains(body_line),
        "the private key leaked into a message"
    );
    for (rel, bytes) in snapshot(&site.out()) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("PRIVATE KEY"),
            "{rel}"
        );
    }
}

#[test]
fn preview_shows_what_mastodon_will_show() {
    let root = crate::common::repo().join("content-example");
    let o = stoa()
        .args(["preview", "--root"])
        .arg(&root)
        .arg("gravel-meet-elbow")
        .output()
        .expect("preview");
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("Content warning: Bike crash"), "{stdout}");
    assert!(stdout.contains("Gravel, meet elbow"), "{stdout}");
    assert!(
        stdout.contains("What went wrong"),
        "headings survive as text: {stdout}"
    );
    assert!(
        !stdout.contains("<p>") && !stdout.contains("<h2"),
        "{stdout}"
    );
    let o = stoa()
        .args(["preview", "--root"])
        .arg(&root)
        .arg("content/posts/ridgeway-at-dawn/index.md")
        .output()
        .expect("preview");
    let (stdout, _) = text(&o);
    assert!(
        stdout.contains("image/png 1200×800") && stdout.contains("alt: \"The sun rising"),
        "{stdout}"
    );
    assert!(stdout.contains("#cycling #photos"), "{stdout}");
    let o = stoa()
        .args(["preview", "--root"])
        .arg(&root)
        .arg("2025-in-review")
        .output()
        .expect("preview");
    assert!(text(&o).0.contains("title card"), "{}", text(&o).0);
    let o = stoa()
        .args(["preview", "--root"])
        .arg(&root)
        .arg("no-such-post")
        .output()
        .expect("preview");
    assert!(!o.status.success());
    assert!(text(&o).1.contains("no post \"no-such-post\""));
}

#[test]
fn served_documents_have_exact_types_and_never_redirect() {
    let site = example_copy();
    let server = crate::common::serve(site.path());
    let out = tempfile::tempdir().expect("temp");
    let o = build(site.path(), out.path(), &["--base-url", &server.base]);
    assert!(o.status.success(), "{:?}", text(&o));
    let accept = Some("application/activity+json, application/ld+json");
    let mut checked = 0;
    for (rel, doc) in ap_documents(out.path()) {
        let (status, ct, body) = crate::common::get_accept(&server, &format!("/{rel}"), accept);
        assert_eq!(status, 200, "/{rel}");
        assert_eq!(ct, "application/activity+json", "/{rel}");
        let served: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            served["id"], doc["id"],
            "/{rel}: id must equal the URL fetched"
        );
        assert_eq!(
            served["id"].as_str(),
            Some(format!("{}/{rel}", server.base).as_str())
        );
        checked += 1;
    }
    assert_eq!(checked, 19 + 7);
    for (path, ct) in [
        (
            "/.well-known/webfinger?resource=acct:ada@127.0.0.1",
            "application/jrd+json",
        ),
        (
            "/.well-known/host-meta",
            "application/xrd+xml; charset=utf-8",
        ),
        ("/.well-known/nodeinfo", "application/json"),
        ("/nodeinfo/2.1.json", "application/json"),
        ("/posts/jollof-rice", "text/html; charset=utf-8"),
        ("/posts/jollof-rice/", "text/html; charset=utf-8"),
    ] {
        let (status, got, _) = crate::common::get_accept(&server, path, accept);
        assert_eq!(status, 200, "{path}");
        assert_eq!(got, ct, "{path}");
    }
    let (_, _, jrd) = crate::common::get(
        &server,
        "/.well-known/webfinger?resource=acct:ada@127.0.0.1",
    );
    let jrd: Value = serde_json::from_str(&jrd).expect("jrd");
    assert_eq!(
        jrd["links"][0]["href"],
        format!("{}/ap/actor.json", server.base)
    );
}

/// Markdown paragraphs of about `bytes` bytes: words, quotes, ampersands
/// and links, so the HTML and its JSON escaping both grow.
fn long_text(bytes: usize, salt: usize) -> String {
    let words = [
        "the",
        "quick",
        "brown",
        "fox",
        "\"quoted\"",
        "jumps",
        "over",
        "&",
        "a",
        "lazy",
        "dog",
    ];
    let mut text = String::new();
    let mut n = salt;
    while text.len() < bytes {
        for _ in 0..60 {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(words[(n >> 33) % words.len()]);
            text.push(' ');
        }
        text.push_str("[a link](https://example.com/x?a=1&b=2) *stressed* `code`\n\n");
    }
    text
}

#[test]
fn a_huge_post_travels_shortened_and_every_document_stays_under_the_budget() {
    // Read from the library, so the test follows the budgets.
    let document_budget = stoa::federation::DOCUMENT_BUDGET;
    let object_budget = stoa::federation::OBJECT_BUDGET;
    assert!(document_budget <= 1024 * 1024 / 2 && object_budget <= document_budget / 2);
    let huge = format!(
        "+++\ntitle = \"Huge\"\ndate = 2026-01-09T10:00:00Z\n+++\n\n{}",
        long_text(5_000_000, 1)
    );
    // Under the object budget each, but an outbox page cannot hold them all.
    let mediums: Vec<String> = (0..3)
        .map(|i| {
            format!(
                "+++\ntitle = \"Medium {i}\"\ndate = 2026-01-0{}T10:00:00Z\n+++\n\n{}",
                i + 4,
                long_text(80_000, i + 2)
            )
        })
        .collect();
    let site = TempSite::with(&[
        (
            "stoa.toml",
            "base_url = \"https://blog.example.com\"\ntitle = \"Test\"\n[fediverse]\nusername = \"test\"\n",
        ),
        (
            "content/posts/first.md",
            "+++\ntitle = \"First\"\ndate = 2026-01-02T10:00:00Z\n+++\n\nHello *world*.\n",
        ),
        ("content/posts/huge.md", &huge),
        ("content/posts/medium-0.md", &mediums[0]),
        ("content/posts/medium-1.md", &mediums[1]),
        ("content/posts/medium-2.md", &mediums[2]),
    ]);
    let o = build(site.root(), &site.out(), &[]);
    let (_, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    // The writer is told, about that post only.
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("content/posts/huge.md")
            && warnings[0].contains("too long for the fediverse")
            && warnings[0].contains("1 MiB"),
        "{stderr}"
    );
    // Every document within the budget.
    let out = site.out();
    for (rel, bytes) in snapshot(&out) {
        if rel.starts_with("ap/") {
            assert!(
                bytes.len() <= document_budget,
                "{rel} takes {} bytes",
                bytes.len()
            );
        }
        if rel.starts_with("ap/posts/") {
            assert!(
                bytes.len() <= object_budget,
                "{rel} takes {} bytes",
                bytes.len()
            );
        }
    }
    let docs = ap_documents(&out);
    // The huge post: the beginning of its text, cut cleanly, then a link
    // to its page.
    let object = &docs["ap/posts/huge.json"];
    let content = object["content"].as_str().expect("content");
    assert_eq!(object["contentMap"]["en"], object["content"]);
    assert!(
        content.starts_with(&format!("<p><a href=\"{BASE}/posts/huge/\">Huge</a></p>"))
            && content.ends_with(&format!(
                "<p><a href=\"{BASE}/posts/huge/\">Read the whole post</a></p>"
            )),
        "{}",
        &content[content.len().saturating_sub(300)..]
    );
    assert!(
        content.len() > 100 * 1024,
        "only {} bytes kept",
        content.len()
    );
    let fragment = scraper::Html::parse_fragment(content);
    assert!(fragment.errors.is_empty(), "{:?}", fragment.errors);
    // What was kept is the start of the post page's text, word for word.
    let page = std::fs::read_to_string(out.join("posts/huge/index.html")).expect("page");
    let last_paragraph = content
        .trim_end_matches(&format!(
            "<p><a href=\"{BASE}/posts/huge/\">Read the whole post</a></p>"
        ))
        .trim_end()
        .rsplit("<p>")
        .next()
        .expect("a paragraph");
    assert!(
        page.contains(&format!("<p>{last_paragraph}")),
        "{last_paragraph}"
    );
    // The outbox embeds that same object (without its `replies`
    // collection, which is on the object), and the others while they fit;
    // the rest by id. Every post is there.
    let mut object_file = object.clone();
    let fields = object_file.as_object_mut().expect("object");
    fields.remove("@context");
    assert!(fields.remove("replies").is_some(), "the object has replies");
    let items = docs["ap/outbox/page-1.json"]["orderedItems"]
        .as_array()
        .expect("items")
        .clone();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["object"], object_file);
    let mut by_id = 0;
    for item in &items {
        let id = item["id"]
            .as_str()
            .expect("id")
            .trim_end_matches("#create")
            .to_string();
        let rel = id.trim_start_matches(&format!("{BASE}/"));
        match &item["object"] {
            Value::String(s) => {
                assert_eq!(*s, id);
                by_id += 1;
            }
            embedded => {
                let mut file = docs[rel].clone();
                let fields = file.as_object_mut().expect("object");
                fields.remove("@context");
                fields.remove("replies");
                assert_eq!(*embedded, file, "{rel}");
            }
        }
    }
    assert!(
        by_id > 0,
        "the page would be over the budget with all embedded"
    );
    // A post of ordinary length is not touched.
    let first = docs["ap/posts/first.json"]["content"]
        .as_str()
        .expect("content");
    assert_eq!(
        first,
        format!("<p><a href=\"{BASE}/posts/first/\">First</a></p>\n<p>Hello <em>world</em>.</p>\n")
    );
    let medium = docs["ap/posts/medium-0.json"]["content"]
        .as_str()
        .expect("content");
    assert!(!medium.contains("Read the whole post"));
}

/// Walks a post's `replies` collection as Mastodon and Fedify do: the
/// embedded first page, then each `next` (read from the output folder,
/// where its URL says the file is). Returns the ids and the pages' files.
fn walk_replies(out: &Path, slug: &str) -> (Vec<String>, Vec<String>) {
    let read = |rel: &str| -> Value {
        serde_json::from_slice(&std::fs::read(out.join(rel)).expect(rel)).expect("json")
    };
    let object = read(&format!("ap/posts/{slug}.json"));
    let replies = &object["replies"];
    assert_eq!(replies["type"], "OrderedCollection", "{replies}");
    assert_eq!(
        replies["id"],
        format!("{BASE}/ap/posts/{slug}.json#replies")
    );
    let mut page = replies["first"].clone();
    let (mut ids, mut files) = (Vec::new(), Vec::new());
    loop {
        assert_eq!(page["type"], "OrderedCollectionPage", "{page}");
        assert_eq!(page["partOf"], replies["id"], "{page}");
        ids.extend(
            page["orderedItems"]
                .as_array()
                .expect("orderedItems")
                .iter()
                .map(|i| i.as_str().expect("an id").to_string()),
        );
        let Some(next) = page["next"].as_str().map(str::to_string) else {
            break;
        };
        let rel = next
            .strip_prefix(&format!("{BASE}/"))
            .unwrap_or_else(|| {
                panic!("{next} is not on the blog (Mastodon fetches same-host pages only)")
            })
            .to_string();
        assert!(
            rel.starts_with("ap/"),
            "{rel}: served as activity+json only under /ap/"
        );
        page = read(&rel);
        assert_eq!(page["id"], next, "{rel}: id must equal its URL");
        assert!(page["@context"].is_array(), "{rel}: no @context");
        files.push(rel);
        assert!(files.len() < 100, "the pages loop");
    }
    assert_eq!(replies["totalItems"], ids.len());
    (ids, files)
}

#[test]
fn replies_are_paged_and_the_pages_chain_to_every_reply_once() {
    let site = example_copy();
    let out = tempfile::tempdir().expect("temp");
    let want = common::write_replies(site.path(), "start-here", 2_500);
    let o = build(site.path(), out.path(), &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    let (ids, files) = walk_replies(out.path(), "start-here");
    assert_eq!(ids, want, "every reply once, oldest first");
    let size = stoa::federation::REPLIES_PAGE_SIZE;
    assert_eq!(files.len(), 2_500usize.div_ceil(size) - 1, "{files:?}");
    assert_eq!(files[0], "ap/replies/start-here/page-2.json");
    // A post without replies has one empty page and no files.
    let (none, no_files) = walk_replies(out.path(), "pi-day");
    assert!(none.is_empty() && no_files.is_empty());

    // Fewer replies: the pages no longer needed are gone.
    let want = common::write_replies(site.path(), "start-here", size + 1);
    let o = build(site.path(), out.path(), &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    let (ids, files) = walk_replies(out.path(), "start-here");
    assert_eq!(ids, want);
    assert_eq!(files, ["ap/replies/start-here/page-2.json"]);
    assert!(
        !out.path()
            .join("ap/replies/start-here/page-3.json")
            .exists()
    );
}
