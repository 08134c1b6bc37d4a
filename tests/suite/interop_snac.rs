//! Interop with snac2, an independent ActivityPub server (Debian package
//! `snac2`, installed by `tests/interop/setup-snac.sh`). Without it these
//! tests say so and return early, or fail when `STOA_REQUIRE_PEERS` is set
//! (see [`crate::common::peers_ready`]).
//!
//! Reading: `stoa serve` publishes content-example on 127.0.0.1; a throwaway
//! snac data folder (only its command-line client is used) looks the blog up
//! the way a fediverse server does: WebFinger for `@ada@127.0.0.1:PORT`, the
//! actor, the outbox, every post in it, and finally inserts a post into a
//! snac user's timeline.
//!
//! Following: `snac httpd` runs on loopback beside `stoa inbox`; the snac
//! user follows the blog, and snac records the companion's Accept as the
//! confirmation of its follow; unfollowing removes the follower.
//!
//! snac builds the WebFinger URL from its own `protocol` setting
//! (`https` by default), so the data folder is set to `"protocol": "http"`;
//! otherwise the lookup speaks TLS to the plain-http server and fails with
//! curl's error -35. snac prints `status: N` first, where N is the HTTP status
//! or, when negative, a curl error code (-7: could not connect, -35: TLS).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::common::{Needs, Ran, example_copy, peer_program, peers_ready, run_limited, serve};

/// The snac user that does the looking up.
pub(crate) const LOCAL_USER: &str = "reader";

/// Longest a single snac command may take.
const SNAC_TIMEOUT: Duration = Duration::from_secs(60);

/// The snac executable (`$SNAC` if set, else `snac` on PATH; the calling
/// test has checked `peers_ready(&[Needs::Snac])`). Panics when it is not
/// snac2: a wrong program is a failure, not a reason to skip.
fn snac_binary() -> PathBuf {
    let bin = peer_program(Needs::Snac);
    let usage = run(&bin, &[], "").unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    assert!(
        usage.stdout.contains("ActivityPub") || usage.stderr.contains("ActivityPub"),
        "{} does not look like snac2 ({usage:?}); point $SNAC at snac2's `snac`",
        bin.display()
    );
    bin
}

/// Runs `bin args…` with `stdin`, waiting at most `SNAC_TIMEOUT`.
fn run(bin: &Path, args: &[&str], stdin: &str) -> Result<Ran, String> {
    let mut cmd = Command::new(bin);
    // A little of snac's own logging (to stderr) for failure messages.
    cmd.args(args).env("DEBUG", "1");
    run_limited(cmd, Some(stdin), SNAC_TIMEOUT)
}

/// A throwaway snac data folder with one local user, speaking plain http.
pub(crate) struct Snac {
    bin: PathBuf,
    /// Keeps the folder alive.
    _tmp: tempfile::TempDir,
    data: PathBuf,
}

impl Snac {
    pub(crate) fn new() -> Snac {
        let bin = snac_binary();
        let tmp = tempfile::tempdir().expect("temp dir");
        // `snac init` wants a folder that does not exist yet.
        let data = tmp.path().join("snac-data");
        let data_arg = data.to_str().expect("utf-8 temp path").to_string();
        // Answers to: network address, port, host name, URL prefix, admin email.
        let init = run(&bin, &["init", &data_arg], "127.0.0.1\n0\nlocalhost\n\n\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let config_path = data.join("server.json");
        let text = std::fs::read_to_string(&config_path)
            .unwrap_or_else(|e| panic!("snac init wrote no server.json ({e}): {init:?}"));
        let mut config: Value = serde_json::from_str(&text).expect("server.json is JSON");
        // Plain http: snac picks the WebFinger scheme from this setting.
        config["protocol"] = "http".into();
        // Never served, but if it were: loopback only.
        config["address"] = "127.0.0.1".into();
        config["host"] = "localhost".into();
        config["prefix"] = "".into();
        std::fs::write(
            &config_path,
            serde_json::to_string_pretty(&config).expect("json"),
        )
        .expect("write server.json");
        let snac = Snac {
            bin,
            _tmp: tmp,
            data,
        };
        let added = snac.run(&["adduser", "{data}", LOCAL_USER]);
        assert!(
            snac.data
                .join("user")
                .join(LOCAL_USER)
                .join("key.json")
                .is_file(),
            "snac adduser failed: {added:?}"
        );
        snac
    }

    /// Runs a snac command; `{data}` in `args` stands for the data folder.
    pub(crate) fn run(&self, args: &[&str]) -> Ran {
        let data = self.data.to_str().expect("utf-8 temp path");
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "{data}" { data } else { a })
            .collect();
        run(&self.bin, &args, "").unwrap_or_else(|e| panic!("{e}"))
    }

    /// `snac webfinger`: status, `actor:` and `uid:` lines, and the output.
    fn webfinger(&self, account: &str) -> (i64, Option<String>, Option<String>, Ran) {
        let ran = self.run(&["webfinger", "{data}", account]);
        let field = |name: &str| {
            ran.stdout.lines().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|r| r.strip_prefix(':'))
                    .map(|v| v.trim().to_string())
            })
        };
        let status = field("status")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line from snac webfinger: {ran:?}"));
        let actor = field("actor");
        let uid = field("uid");
        (status, actor, uid, ran)
    }

    /// `snac request` / `snac actor` / `snac insert` style output:
    /// `status: N` then the fetched JSON.
    fn fetch(&self, args: &[&str]) -> (i64, Option<Value>, Ran) {
        let ran = self.run(args);
        let out = ran.stdout.trim_start();
        let (first, rest) = out.split_once('\n').unwrap_or((out, ""));
        let status = first
            .strip_prefix("status:")
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("no status line from snac {args:?}: {ran:?}"));
        let json = serde_json::from_str(rest.trim()).ok();
        (status, json, ran)
    }

    /// Every object in the local user's timeline (snac(5): `private/` holds
    /// hard links to the timeline entries).
    pub(crate) fn timeline(&self) -> Vec<Value> {
        self.user_folder("private")
    }

    /// The JSON files of one folder of the local user's data.
    fn user_folder(&self, name: &str) -> Vec<Value> {
        self.folder_of(LOCAL_USER, name)
    }

    /// The JSON files of one folder of `user`'s data.
    fn folder_of(&self, user: &str, name: &str) -> Vec<Value> {
        let dir = self.data.join("user").join(user).join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect()
    }
}

/// Explains a negative snac status (a curl error code).
fn explain(status: i64) -> &'static str {
    match status {
        -35 => " (curl: TLS handshake failed: snac used https against the plain-http server)",
        -7 => " (curl: could not connect)",
        -6 => " (curl: could not resolve host)",
        -28 => " (curl: timeout)",
        404 => " (not found on the served site)",
        _ => "",
    }
}

/// A 2xx status.
fn ok(status: i64) -> bool {
    (200..300).contains(&status)
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// `id` of a value that is either a URL string or an object with an `id`.
fn id_of(v: &Value) -> Option<&str> {
    v.as_str().or_else(|| str_at(v, "id"))
}

#[test]
fn snac_resolves_and_reads_the_blog() {
    if !peers_ready(&[Needs::Snac]) {
        return;
    }
    let snac = Snac::new();
    let site = example_copy();
    let server = serve(site.path());
    let base = server.base.clone();
    let host = base.trim_start_matches("http://").to_string();
    let actor_id = format!("{base}/ap/actor.json");
    let outbox_id = format!("{base}/ap/outbox.json");

    // 1. WebFinger, the way a Mastodon user's server looks up @ada@host.
    let account = format!("@ada@{host}");
    let (status, actor, uid, ran) = snac.webfinger(&account);
    assert_eq!(
        status,
        200,
        "snac webfinger {account}: status {status}{}\n{ran:?}\nserve log:\n{}",
        explain(status),
        server.log()
    );
    assert_eq!(
        actor.as_deref(),
        Some(actor_id.as_str()),
        "snac webfinger {account} resolved to the wrong actor: {ran:?}"
    );
    assert_eq!(
        uid.as_deref(),
        Some(format!("ada@{host}").as_str()),
        "snac webfinger {account}: unexpected handle: {ran:?}"
    );

    // 2. The reverse lookup (actor URL → handle), which servers do to find
    // the handle to show for an actor.
    let (status, actor, uid, ran) = snac.webfinger(&actor_id);
    assert_eq!(
        status,
        200,
        "snac webfinger {actor_id}{}: {ran:?}",
        explain(status)
    );
    assert_eq!(actor.as_deref(), Some(actor_id.as_str()), "{ran:?}");
    assert_eq!(
        uid.as_deref(),
        Some(format!("ada@{host}").as_str()),
        "{ran:?}"
    );

    // 3. The actor, fetched with an HTTP-signed GET as snac user.
    // 201: fetched and newly stored in snac's object cache; 200: refreshed.
    let (status, doc, ran) = snac.fetch(&["actor", "{data}", LOCAL_USER, &actor_id]);
    assert!(
        ok(status),
        "snac actor {actor_id}{}: {ran:?}",
        explain(status)
    );
    let actor = doc.unwrap_or_else(|| panic!("snac actor printed no JSON: {ran:?}"));
    assert_eq!(
        str_at(&actor, "id"),
        Some(actor_id.as_str()),
        "actor id: {actor:#}"
    );
    assert_eq!(
        str_at(&actor, "type"),
        Some("Person"),
        "actor type: {actor:#}"
    );
    assert_eq!(
        str_at(&actor, "preferredUsername"),
        Some("ada"),
        "actor preferredUsername: {actor:#}"
    );
    assert!(
        str_at(&actor, "inbox").is_some_and(|i| i.starts_with("http")),
        "actor needs an inbox URL: {actor:#}"
    );
    assert_eq!(
        str_at(&actor, "outbox"),
        Some(outbox_id.as_str()),
        "actor outbox: {actor:#}"
    );
    let key = actor.get("publicKey").unwrap_or(&Value::Null);
    assert_eq!(
        str_at(key, "owner"),
        Some(actor_id.as_str()),
        "publicKey.owner: {actor:#}"
    );
    assert!(
        str_at(key, "id").is_some_and(|k| k.starts_with(&actor_id)),
        "publicKey.id should be the actor id plus a fragment: {actor:#}"
    );
    assert!(
        str_at(key, "publicKeyPem").is_some_and(|p| p.starts_with("-----BEGIN PUBLIC KEY-----")),
        "publicKey.publicKeyPem: {actor:#}"
    );

    // 4. The outbox (a collection, possibly paged).
    let (status, doc, ran) = snac.fetch(&["request", "{data}", LOCAL_USER, &outbox_id]);
    assert_eq!(
        status,
        200,
        "snac request {outbox_id}{}: {ran:?}",
        explain(status)
    );
    let outbox = doc.unwrap_or_else(|| panic!("outbox is not JSON: {ran:?}"));
    assert_eq!(
        str_at(&outbox, "id"),
        Some(outbox_id.as_str()),
        "outbox id: {outbox:#}"
    );
    assert!(
        matches!(
            str_at(&outbox, "type"),
            Some("OrderedCollection" | "Collection")
        ),
        "outbox type: {outbox:#}"
    );
    let page = match outbox.get("first") {
        Some(Value::String(url)) => {
            let (status, doc, ran) = snac.fetch(&["request", "{data}", LOCAL_USER, url]);
            assert_eq!(
                status,
                200,
                "outbox first page {url}{}: {ran:?}",
                explain(status)
            );
            doc.unwrap_or_else(|| panic!("outbox page is not JSON: {ran:?}"))
        }
        Some(first @ Value::Object(_)) => first.clone(),
        _ => outbox.clone(),
    };
    let items = page
        .get("orderedItems")
        .or_else(|| page.get("items"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    assert!(!items.is_empty(), "the outbox lists no posts: {outbox:#}");

    // 5. Every post in the outbox, dereferenced by its id.
    let mut posts = Vec::new();
    for item in &items {
        let object = if str_at(item, "type") == Some("Create") {
            assert_eq!(
                item.get("actor").and_then(id_of),
                Some(actor_id.as_str()),
                "Create.actor: {item:#}"
            );
            item.get("object").unwrap_or(&Value::Null)
        } else {
            item
        };
        let id = id_of(object)
            .unwrap_or_else(|| panic!("outbox item without an object id: {item:#}"))
            .to_string();
        assert!(
            id.starts_with(&format!("{base}/ap/posts/")) && id.ends_with(".json"),
            "post ids should be {base}/ap/posts/<slug>.json, got {id}"
        );
        let (status, doc, ran) = snac.fetch(&["request", "{data}", LOCAL_USER, &id]);
        assert_eq!(status, 200, "snac request {id}{}: {ran:?}", explain(status));
        let post = doc.unwrap_or_else(|| panic!("{id} is not JSON: {ran:?}"));
        assert_eq!(str_at(&post, "id"), Some(id.as_str()), "post id: {post:#}");
        assert!(
            matches!(str_at(&post, "type"), Some("Note" | "Article")),
            "post type: {post:#}"
        );
        assert_eq!(
            post.get("attributedTo").and_then(id_of),
            Some(actor_id.as_str()),
            "post attributedTo: {post:#}"
        );
        assert!(
            str_at(&post, "content").is_some_and(|c| !c.trim().is_empty()),
            "post content: {post:#}"
        );
        posts.push(post);
    }

    // 6. snac takes the newest post that is not a reply into its user's
    // timeline (for a reply, snac would also fetch the post replied to, which
    // may be anywhere on the internet: this test talks to loopback only).
    let newest = posts
        .iter()
        .find(|p| p.get("inReplyTo").is_none_or(Value::is_null))
        .and_then(|p| str_at(p, "id"))
        .expect("the outbox has a post that is not a reply");
    let (status, _, ran) = snac.fetch(&["insert", "{data}", LOCAL_USER, newest]);
    assert!(
        ok(status),
        "snac insert {newest}{}: {ran:?}",
        explain(status)
    );
    let timeline = snac.timeline();
    assert!(
        timeline.iter().any(|o| str_at(o, "id") == Some(newest)),
        "snac did not put {newest} in {LOCAL_USER}'s timeline (has {:?}); {ran:?}",
        timeline.iter().map(|o| str_at(o, "id")).collect::<Vec<_>>()
    );
}

/// A post that quotes another (front matter `quote`): snac, which reads
/// neither `quote` nor `quoteUri`, still shows the quoted post's address
/// through the fallback "RE:" paragraph.
#[test]
fn snac_shows_a_quote_post_with_its_fallback_link() {
    if !peers_ready(&[Needs::Snac]) {
        return;
    }
    let snac = Snac::new();
    let site = example_copy();
    // A quoted post on a closed loopback port: nothing leaves the machine.
    let quoted = "http://127.0.0.1:9/notes/1";
    std::fs::write(
        site.path().join("content/posts/quoting-snac.md"),
        format!("+++\ndate = 2030-01-01\nquote = \"{quoted}\"\n+++\n\nWell said.\n"),
    )
    .expect("write the quote post");
    let server = serve(site.path());
    let id = format!("{}/ap/posts/quoting-snac.json", server.base);
    let (status, _, ran) = snac.fetch(&["insert", "{data}", LOCAL_USER, &id]);
    assert!(ok(status), "snac insert {id}{}: {ran:?}", explain(status));
    let timeline = snac.timeline();
    let post = timeline
        .iter()
        .find(|o| str_at(o, "id") == Some(id.as_str()))
        .unwrap_or_else(|| panic!("snac did not keep {id}: {ran:?}"));
    let content = str_at(post, "content").unwrap_or_default();
    assert!(
        content.contains("RE: ") && content.contains(quoted),
        "the fallback link is in what snac keeps: {content}"
    );
}

/// `snac httpd` on loopback, killed on drop.
pub(crate) struct SnacServer {
    child: std::process::Child,
    log: PathBuf,
    port: u16,
}

impl Drop for SnacServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Snac {
    /// Serves the data folder as `http://127.0.0.1:PORT` (actors, inboxes)
    /// and processes snac's queues, as a deployed snac would.
    pub(crate) fn serve(&self, port: u16) -> SnacServer {
        let config_path = self.data.join("server.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&config_path).expect("server.json"))
                .expect("json");
        config["port"] = port.into();
        config["host"] = format!("127.0.0.1:{port}").into();
        std::fs::write(&config_path, config.to_string()).expect("write server.json");
        let log = self.data.join("httpd.log");
        let out = std::fs::File::create(&log).expect("log");
        let child = Command::new(&self.bin)
            .args(["httpd", self.data.to_str().expect("utf-8")])
            .env("DEBUG", "1")
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("snac httpd starts");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "snac httpd did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SnacServer { child, log, port }
    }

    /// Does what the local user's web page does (snac's command line has
    /// no verb to reply or to like): posts `form` to `/<user>/admin/<what>`
    /// of the running `server` with HTTP Basic authentication, as the
    /// browser would (`note`: a new post, with `in_reply_to` a reply;
    /// `action` with `action=Like` or `Boost`: like or boost by URL).
    /// Returns the HTTP status.
    pub(crate) fn web_form(&self, server: &SnacServer, what: &str, form: &[(&str, &str)]) -> u16 {
        use base64::Engine;
        let ran = self.run(&["resetpwd", "{data}", LOCAL_USER]);
        let password = format!("{}{}", ran.stdout, ran.stderr)
            .lines()
            .find_map(|l| {
                l.split_once("New password for user ")
                    .and_then(|(_, r)| r.split_once(" is "))
                    .map(|(_, p)| p.trim().to_string())
            })
            .unwrap_or_else(|| panic!("snac resetpwd printed no password: {ran:?}"));
        let auth =
            base64::engine::general_purpose::STANDARD.encode(format!("{LOCAL_USER}:{password}"));
        let url = format!("http://127.0.0.1:{}/{LOCAL_USER}/admin/{what}", server.port);
        let answer = crate::common::agent()
            .post(&url)
            .header("Authorization", &format!("Basic {auth}"))
            .send_form(form.iter().copied())
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        answer.status().as_u16()
    }

    /// What snac stored for the account it follows: the Follow until the
    /// Accept arrives, then the Accept (snac(5), `following/`).
    pub(crate) fn following(&self) -> Vec<Value> {
        self.user_folder("following")
    }

    /// What snac stored for the accounts `user` follows (as [`Snac::following`]).
    pub(crate) fn following_of(&self, user: &str) -> Vec<Value> {
        self.folder_of(user, "following")
    }

    /// Adds another local user.
    pub(crate) fn add_user(&self, user: &str) {
        let added = self.run(&["adduser", "{data}", user]);
        assert!(
            self.data.join("user").join(user).join("key.json").is_file(),
            "snac adduser {user} failed: {added:?}"
        );
    }

    /// Drops snac's cached copy of `actor` (`object/`), so the next fetch
    /// is served fresh: snac serves its own accounts from this cache, and
    /// its command-line `alias` leaves the old copy there.
    pub(crate) fn forget_cached(&self, actor: &str) {
        let Ok(dirs) = std::fs::read_dir(self.data.join("object")) else {
            return;
        };
        for file in dirs
            .filter_map(Result::ok)
            .filter_map(|d| std::fs::read_dir(d.path()).ok())
            .flatten()
            .filter_map(Result::ok)
        {
            let doc = std::fs::read_to_string(file.path())
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok());
            if doc.is_some_and(|d| str_at(&d, "id") == Some(actor)) {
                let _ = std::fs::remove_file(file.path());
            }
        }
    }

    /// What `snac httpd` logged so far.
    pub(crate) fn log(server: &SnacServer) -> String {
        std::fs::read_to_string(&server.log).unwrap_or_default()
    }
}

#[test]
fn snac_follows_the_blog_and_sees_the_follow_accepted() {
    use crate::companion::free_port;
    if !peers_ready(&[Needs::Snac]) {
        return;
    }
    let snac = Snac::new();
    let blog = crate::companion::start();
    let port = free_port();
    let server = snac.serve(port);
    let snac_actor = format!("http://127.0.0.1:{port}/{LOCAL_USER}");

    let ran = snac.run(&["follow", "{data}", LOCAL_USER, &blog.actor()]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let accepted = loop {
        let accept = snac.following().into_iter().find(|v| {
            str_at(v, "type") == Some("Accept") && str_at(v, "actor") == Some(blog.actor().as_str())
        });
        if let Some(a) = accept {
            break a;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "snac never recorded an Accept for its follow: {ran:?}\nsnac log:\n{}\ncompanion log:\n{}",
            std::fs::read_to_string(&server.log).unwrap_or_default(),
            blog.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let follow = accepted.get("object").unwrap_or(&Value::Null);
    assert_eq!(str_at(follow, "type"), Some("Follow"), "{accepted:#}");
    assert_eq!(
        str_at(follow, "actor"),
        Some(snac_actor.as_str()),
        "{accepted:#}"
    );
    let followers = blog.admin("followers");
    assert_eq!(followers[0]["actor"], snac_actor.as_str(), "{followers}");
    assert_eq!(followers[0]["state"], "accepted");

    // Unfollowing in snac removes the follower from the blog.
    snac.run(&["unfollow", "{data}", LOCAL_USER, &blog.actor()]);
    blog.wait_status("snac's unfollow", |s| s["followers"]["accepted"] == 0);
}
