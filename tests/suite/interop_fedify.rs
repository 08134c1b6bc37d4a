//! Independent-peer interop: Fedify 2.3.6 (the npm package, with its own
//! WebFinger client, document loader and vocabulary classes) reads a site
//! served by `stoa serve`, and a real JSON-LD processor (jsonld.js, the one
//! Fedify uses) expands every ActivityPub document of a built site.
//!
//! The Node side lives in `tests/interop/` (`fedify-check.mjs`,
//! `jsonld-check.mjs`). Its packages are installed by
//! `tests/interop/setup-fedify.sh`; without them (or without `node`) these
//! tests say so and return early, or fail when `STOA_REQUIRE_PEERS` is set
//! (see [`crate::common::peers_ready`]).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::common::{
    Needs, Ran, build, example_copy, interop_dir, peer_program, peers_ready, repo, run_limited,
    serve, text,
};

/// Runs `node tests/interop/<script> <args>` with a time limit.
fn run_node(script: &str, args: &[&str], limit: Duration) -> Ran {
    let mut cmd = Command::new(peer_program(Needs::Fedify));
    cmd.arg(interop_dir().join(script))
        .args(args)
        .current_dir(interop_dir());
    run_limited(cmd, None, limit).unwrap_or_else(|e| panic!("{e}"))
}

/// Front matter of every post of content-example: (slug, front matter).
fn example_posts() -> Vec<(String, toml::Table)> {
    let posts = repo().join("content-example").join("content").join("posts");
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(&posts) {
        let e = e.expect("walk");
        let p = e.path();
        if !e.file_type().is_file() || p.extension().is_none_or(|x| x != "md") {
            continue;
        }
        let default_slug = if p.file_name().is_some_and(|n| n == "index.md") {
            p.parent().expect("folder").file_name()
        } else {
            p.file_stem()
        }
        .expect("name")
        .to_string_lossy()
        .into_owned();
        let src = std::fs::read_to_string(p).expect("read post");
        let fm = src
            .strip_prefix("+++")
            .and_then(|rest| rest.split_once("\n+++"))
            .map(|(fm, _)| fm)
            .expect("TOML front matter");
        let table: toml::Table = fm.parse().expect("front matter parses");
        let slug = table
            .get("slug")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or(default_slug);
        out.push((slug, table));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn published_example_posts() -> Vec<(String, toml::Table)> {
    example_posts()
        .into_iter()
        .filter(|(_, fm)| fm.get("draft").and_then(|v| v.as_bool()) != Some(true))
        .collect()
}

fn example_username() -> String {
    let cfg: toml::Table = std::fs::read_to_string(repo().join("content-example/stoa.toml"))
        .expect("stoa.toml")
        .parse()
        .expect("stoa.toml parses");
    cfg["fediverse"]["username"]
        .as_str()
        .expect("[fediverse] username")
        .to_string()
}

fn post<'a>(report: &'a Value, slug: &str) -> &'a Value {
    report["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .find(|p| p["slug"] == slug)
        .unwrap_or_else(|| panic!("Fedify did not find post {slug:?} in the outbox"))
}

/// Serves `root`, runs fedify-check on it, asserts it passed; the base URL
/// and the report.
fn fedify_check(root: &Path, user: &str) -> (String, Value) {
    let server = serve(root);
    let run = run_node(
        "fedify-check.mjs",
        &[&server.base, user],
        Duration::from_secs(240),
    );
    assert!(
        run.status.success(),
        "fedify-check failed ({}):\n{}\nreport:\n{}",
        run.status,
        run.stderr,
        run.stdout
    );
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("report is not JSON ({e}):\n{}", run.stdout));
    (server.base.clone(), report)
}

#[test]
fn fedify_reads_the_served_example_site() {
    if !peers_ready(&[Needs::Fedify]) {
        return;
    }
    let site = example_copy();
    let user = example_username();
    let (base, report) = fedify_check(site.path(), &user);
    let base = &base;
    let actor = format!("{base}/ap/actor.json");

    // Handle -> WebFinger -> actor.
    assert_eq!(report["webfinger"]["self"], actor.as_str());
    assert_eq!(report["actor"]["id"], actor.as_str());
    assert_eq!(report["actor"]["preferredUsername"], user.as_str());
    assert_eq!(
        report["actor"]["publicKey"]["id"],
        format!("{actor}#main-key").as_str()
    );
    assert_eq!(
        report["actor"]["publicKey"]["algorithm"],
        "RSASSA-PKCS1-v1_5"
    );
    assert_eq!(report["homePageResolvesToActor"], true);

    // Every published post, once, in the outbox and at its id.
    let published = published_example_posts();
    let n = published.len();
    assert_eq!(report["outbox"]["totalItems"], n, "outbox totalItems");
    assert_eq!(report["outbox"]["items"], n, "items on the outbox pages");
    let mut got: Vec<String> = report["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|p| p["slug"].as_str().unwrap_or("").to_string())
        .collect();
    got.sort();
    let want: Vec<String> = published.iter().map(|(s, _)| s.clone()).collect();
    assert_eq!(got, want, "posts Fedify found in the outbox");
    assert_eq!(
        report["htmlResolved"], n,
        "HTML pages resolved via rel=alternate"
    );

    // A photo post: its image, with the alt text as name and the file's size.
    let ridge = post(&report, "ridgeway-at-dawn");
    let att = &ridge["attachments"][0];
    assert!(
        att["name"]
            .as_str()
            .is_some_and(|s| s.starts_with("The sun rising behind")),
        "alt text: {att}"
    );
    assert_eq!(att["mediaType"], "image/png");
    assert_eq!(att["width"], 1200);
    assert_eq!(att["height"], 800);
    let shelf = post(&report, "homelab-spring-clean");
    assert!(
        shelf["attachments"][0]["name"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{shelf}"
    );

    // The reply.
    assert_eq!(
        post(&report, "reply-reverse-proxy")["inReplyTo"],
        "https://mastodon.social/@someone/113456789012345678"
    );
    // Language, content warning, article, hashtags.
    assert_eq!(post(&report, "bretagne")["language"], "fr");
    assert_eq!(post(&report, "sleet-commute")["language"], "en");
    let cw = post(&report, "gravel-meet-elbow");
    assert_eq!(cw["summary"], "Bike crash, minor injury described");
    assert_eq!(cw["sensitive"], true);
    assert_eq!(post(&report, "2025-in-review")["type"], "Article");
    assert_eq!(post(&report, "sleet-commute")["type"], "Note");
    let tags: Vec<&str> = post(&report, "start-here")["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        tags.contains(&"#meta") && tags.contains(&"#fediverse"),
        "{tags:?}"
    );
    // The pinned post is featured.
    let featured = report["featured"]["items"].as_array().expect("featured");
    assert!(
        featured.contains(&Value::from(format!("{base}/ap/posts/start-here.json"))),
        "featured: {featured:?}"
    );
}

#[test]
fn fedify_walks_every_outbox_page() {
    if !peers_ready(&[Needs::Fedify]) {
        return;
    }
    // Enough extra notes to spill onto a second outbox page.
    let site = example_copy();
    let extra = 25;
    for i in 1..=extra {
        let p = site.path().join(format!("content/posts/extra-{i:02}.md"));
        std::fs::write(
            p,
            format!(
                "+++\ndate = 2024-03-{i:02}T12:00:00Z\ntags = [\"paging\"]\n+++\n\nExtra note number {i}.\n"
            ),
        )
        .expect("write post");
    }
    let (_, report) = fedify_check(site.path(), &example_username());
    let n = published_example_posts().len() + extra;
    assert_eq!(report["outbox"]["totalItems"], n);
    assert_eq!(
        report["outbox"]["items"], n,
        "items Fedify found on all pages"
    );
    assert!(
        report["outbox"]["pages"].as_u64().is_some_and(|p| p >= 2),
        "{}",
        report["outbox"]
    );
    // Oldest last: the earliest extra note closes the final page.
    let last = report["posts"].as_array().expect("posts").last().cloned();
    assert_eq!(last.expect("a post")["slug"], "extra-01");
}

#[test]
fn json_ld_expansion_drops_no_term() {
    if !peers_ready(&[Needs::Fedify]) {
        return;
    }
    let site = example_copy();
    // A quote post with its own quote policy, so that `quote`, `quoteUri`,
    // `_misskey_quote` and a followers-only `interactionPolicy` are checked too.
    std::fs::write(
        site.path().join("content/posts/a-quote.md"),
        "+++\ndate = 2024-05-01\nquote = \"https://m.example/users/a/statuses/1\"\nquote_policy = \"followers\"\n+++\n\nWell said.\n",
    )
    .expect("write the quote post");
    // Replies enough for a page of the `replies` collection of its own.
    crate::common::write_replies(
        site.path(),
        "start-here",
        stoa::federation::REPLIES_PAGE_SIZE + 1,
    );
    let out = tempfile::tempdir().expect("temp dir");
    let dest = out.path().join("public");
    let o = build(site.path(), &dest, &[]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "build failed:\n{stdout}\n{stderr}");
    let read = |p: &str| -> Value {
        serde_json::from_slice(&std::fs::read(dest.join(p)).expect("document")).expect("json")
    };
    let quote = read("ap/posts/a-quote.json");
    assert_eq!(
        quote["quote"], "https://m.example/users/a/statuses/1",
        "{quote}"
    );
    assert_eq!(quote["quoteUri"], quote["quote"]);
    assert_eq!(quote["_misskey_quote"], quote["quote"]);
    let actor = read("ap/actor.json");
    assert_eq!(
        quote["interactionPolicy"]["canQuote"]["automaticApproval"][0], actor["followers"],
        "{quote}"
    );
    assert_eq!(
        actor["interactionPolicy"]["canFeature"]["automaticApproval"][0],
        "https://www.w3.org/ns/activitystreams#Public"
    );
    let posts = published_example_posts();
    let mut expected = vec![
        "ap/actor.json".to_string(),
        "ap/outbox.json".to_string(),
        "ap/posts/a-quote.json".to_string(),
        "ap/replies/start-here/page-2.json".to_string(),
    ];
    expected.extend(
        posts
            .iter()
            .map(|(slug, _)| format!("ap/posts/{slug}.json")),
    );
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    assert_no_term_dropped(&dest, &expected);
}

/// Runs `jsonld-check.mjs` (jsonld.js with Fedify's preloaded contexts)
/// on every document under `dir/ap/`: fails if a term was dropped in
/// expansion, or if one of `expected` (paths under `dir`) was not checked.
pub(crate) fn assert_no_term_dropped(dir: &std::path::Path, expected: &[&str]) {
    let run = run_node(
        "jsonld-check.mjs",
        &[dir.to_str().expect("utf-8 path")],
        Duration::from_secs(120),
    );
    assert!(
        run.status.success(),
        "jsonld-check failed ({}):\n{}",
        run.status,
        run.stderr
    );
    let report: Value = serde_json::from_str(&run.stdout).expect("report is JSON");
    let docs: Vec<&str> = report["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .filter_map(|d| d["file"].as_str())
        .collect();
    for f in expected {
        assert!(docs.contains(f), "{f} not checked: {docs:?}");
    }
}
