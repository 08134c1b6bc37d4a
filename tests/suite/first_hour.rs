//! The first hour, as a new user lives it: what `init`, `build` and
//! `keygen` say, and the mistakes a writer makes on the way. Each test
//! pins a rough edge a new user met.

use std::path::Path;

use crate::common::{stoa, text};

fn init(dir: &Path, name: &str, extra: &[&str]) -> (String, String) {
    let o = stoa()
        .current_dir(dir)
        .args([
            "init",
            name,
            "--title",
            "Night Notes",
            "--base-url",
            "https://night.example",
            "--username",
            "night",
        ])
        .args(extra)
        .output()
        .expect("stoa init runs");
    assert!(o.status.success(), "{:?}", text(&o));
    text(&o)
}

fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let o = stoa()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("stoa runs");
    let (out, err) = text(&o);
    (o.status.success(), out, err)
}

#[test]
fn init_says_the_next_command_a_shell_can_run_and_signs_with_the_title() {
    let dir = tempfile::tempdir().expect("temp");
    let (out, _) = init(dir.path(), "my blög 日本 ✨", &[]);
    assert!(
        out.contains("Next: cd 'my blög 日本 ✨' && stoa serve"),
        "{out}"
    );
    let site = dir.path().join("my blög 日本 ✨");
    let config = std::fs::read_to_string(site.join("stoa.toml")).expect("stoa.toml");
    assert!(config.contains("author = \"Night Notes\""), "{config}");
    let about = std::fs::read_to_string(site.join("content/about.md")).expect("about");
    assert!(!about.contains("Me writes"), "{about}");
    assert!(about.contains("This is Night Notes."), "{about}");

    let here = dir.path().join("here");
    std::fs::create_dir(&here).expect("mkdir");
    let (out, _) = init(&here, ".", &["--author", "Ada"]);
    assert!(out.contains("Next: stoa serve"), "{out}");
    assert!(!out.contains("cd ."), "{out}");
    let about = std::fs::read_to_string(here.join("content/about.md")).expect("about");
    assert!(about.contains("Ada writes here."), "{about}");
}

#[test]
fn init_flags_are_named_as_typed() {
    let dir = tempfile::tempdir().expect("temp");
    let o = stoa()
        .current_dir(dir.path())
        .args(["init", "blog", "--base-url", "notaurl"])
        .output()
        .expect("runs");
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("`--base-url \"notaurl\"` is not an absolute http(s) URL"),
        "{err}"
    );
    assert!(!err.contains("stoa.toml:"), "{err}");
    assert!(!dir.path().join("blog").exists(), "nothing was created");
}

#[test]
fn build_counts_in_words() {
    let dir = tempfile::tempdir().expect("temp");
    init(dir.path(), "blog", &[]);
    let site = dir.path().join("blog");
    std::fs::write(
        site.join("content/posts/later.md"),
        "+++\ntitle = \"Later\"\ndate = 2026-01-01\ndraft = true\n+++\n\nNot yet.\n",
    )
    .expect("draft");
    let (ok, out, err) = run(&site, &["build"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Built 1 post and 1 page, 1 draft left out into"),
        "{out}"
    );
    // With --drafts (as `stoa serve --drafts` renders), a draft says so.
    let (ok, _, err) = run(&site, &["build", "--drafts", "--output", "../with-drafts"]);
    assert!(ok, "{err}");
    let out = dir.path().join("with-drafts");
    let page = std::fs::read_to_string(out.join("posts/later/index.html")).expect("draft page");
    assert!(
        page.contains("<strong class=\"draft\">Draft</strong>"),
        "{page}"
    );
    let home = std::fs::read_to_string(out.join("index.html")).expect("home");
    assert_eq!(home.matches("class=\"draft\"").count(), 1, "{home}");
    let other = std::fs::read_to_string(out.join("posts/hello-world/index.html")).expect("post");
    assert!(!other.contains("class=\"draft\""));
}

#[test]
fn bad_dates_outputs_and_static_links_are_explained() {
    let dir = tempfile::tempdir().expect("temp");
    init(dir.path(), "blog", &[]);
    let site = dir.path().join("blog");
    std::fs::write(
        site.join("content/posts/far.md"),
        "+++\ntitle = \"Far\"\ndate = 9999-12-31\n+++\n\nFar away.\n",
    )
    .expect("post");
    let (ok, _, err) = run(&site, &["build"]);
    assert!(!ok);
    assert!(
        err.contains("content/posts/far.md:3: `date` is out of range: 9999-12-31"),
        "{err}"
    );
    std::fs::remove_file(site.join("content/posts/far.md")).expect("rm");

    for output in ["static", ".", "content/x"] {
        let (ok, _, err) = run(&site, &["build", "--output", output]);
        assert!(!ok, "--output {output} must be refused");
        assert!(err.contains("which the build reads"), "{output}: {err}");
        assert!(err.contains("--output public"), "{err}");
    }
    assert!(!site.join("static/index.html").exists());

    // A symlink in static/ is followed (like content/), unless it leads to a secret.
    let shared = dir.path().join("shared.txt");
    std::fs::write(&shared, "shared\n").expect("shared");
    std::os::unix::fs::symlink(&shared, site.join("static/shared.txt")).expect("link");
    let (ok, _, err) = run(&site, &["build"]);
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read_to_string(site.join("public/shared.txt")).expect("copied"),
        "shared\n"
    );
    std::os::unix::fs::symlink("../secrets/actor-key.pem", site.join("static/key.pem"))
        .expect("link");
    let (ok, _, err) = run(&site, &["build"]);
    assert!(!ok);
    assert!(err.contains("static/key.pem leads to"), "{err}");
    assert!(err.contains("must never be published"), "{err}");
    assert!(!site.join("public/key.pem").exists());
}

#[test]
fn a_fresh_clone_is_told_to_bring_its_private_key_not_to_make_one() {
    let dir = tempfile::tempdir().expect("temp");
    init(dir.path(), "blog", &[]);
    let site = dir.path().join("blog");
    let public = std::fs::read(site.join("actor-key.pub.pem")).expect("public key");
    // A clone has everything git has: no secrets/.
    std::fs::remove_dir_all(site.join("secrets")).expect("rm secrets");
    let (ok, _, err) = run(&site, &["keygen"]);
    assert!(!ok);
    assert!(
        err.contains("is not on this machine, but the site already has an identity"),
        "{err}"
    );
    assert!(err.contains("scp"), "{err}");
    assert!(err.contains("--new-identity"), "{err}");
    assert_eq!(
        std::fs::read(site.join("actor-key.pub.pem")).expect("kept"),
        public
    );
    let (ok, _, err) = run(&site, &["inbox", "--listen", "127.0.0.1:0"]);
    assert!(!ok);
    assert!(err.contains("is not on this machine"), "{err}");
    assert!(!err.contains("make one with `stoa keygen`"), "{err}");

    // A lost key, replaced on purpose: a new pair and a new admin token.
    let (ok, out, err) = run(&site, &["keygen", "--new-identity"]);
    assert!(ok, "{err}");
    assert!(out.contains("admin token"), "{out}");
    assert_ne!(
        std::fs::read(site.join("actor-key.pub.pem")).expect("new"),
        public
    );
    assert!(site.join("secrets/admin-token").is_file());
}

#[test]
fn a_pkcs1_private_key_is_accepted_and_warned_about_once() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp");
    init(dir.path(), "blog", &[]);
    let site = dir.path().join("blog");
    let key = site.join("secrets/actor-key.pem");
    let pkcs1 = {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let pem = std::fs::read_to_string(&key).expect("key");
        rsa::RsaPrivateKey::from_pkcs8_pem(&pem)
            .expect("a PKCS#8 key")
            .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .expect("PKCS#1")
    };
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    std::fs::write(&key, pkcs1.as_bytes()).expect("write");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stoa"))
        .current_dir(&site)
        .args(["inbox", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut out = String::new();
    let mut stdout = child.stdout.take().expect("stdout");
    // The companion says it listens once the key was read and matched.
    let mut buf = [0u8; 256];
    while !out.contains("listening") && std::time::Instant::now() < deadline {
        use std::io::Read;
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    let _ = child.kill();
    let o = child.wait_with_output().expect("ends");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        out.contains("listening"),
        "the PKCS#1 key was refused: {out}\n{err}"
    );
    assert_eq!(
        err.matches("can be read by other users").count(),
        1,
        "{err}"
    );
}

/// The `sh` block that follows `heading` in the README, one command a line
/// (comments dropped).
fn readme_block(readme: &str, heading: &str) -> Vec<String> {
    let at = readme
        .find(heading)
        .unwrap_or_else(|| panic!("the README has no {heading:?}"));
    let rest = &readme[at..];
    let start = rest.find("```sh\n").expect("an sh block") + 6;
    let end = start + rest[start..].find("```").expect("its end");
    rest[start..end]
        .lines()
        .map(|l| l.split(" # ").next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Splits a README command line into words (double quotes group words).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// The first hour, following the README literally: its commands, in its
/// order, on loopback; a Fedify follower; the publish report in the format
/// the README shows; the writer's `stoa followers` and `stoa deliveries`
/// through the admin API. A README command or output that changes without
/// the other fails here.
#[test]
fn the_first_hour_as_the_readme_tells_it() {
    use crate::common::{Needs, agent, peers_ready};
    use crate::companion::fedify::Fedify;
    use crate::companion::free_port;
    if !peers_ready(&[Needs::Fedify]) {
        return;
    }
    let readme = std::fs::read_to_string(crate::common::repo().join("README.md")).expect("README");
    let own = readme_block(&readme, "## Your own blog");
    assert_eq!(own[0], "cargo install --path .", "{own:?}");
    assert!(own[1].starts_with("stoa init myblog "), "{own:?}");
    assert_eq!(own[2], "cd myblog");
    assert_eq!(own[3], "stoa serve");
    assert_eq!(own[4], "stoa build");

    let dir = tempfile::tempdir().expect("temp");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // `stoa init`, as written, with the blog's address on this machine.
    let mut init = words(&own[1]);
    let at = init
        .iter()
        .position(|w| w == "--base-url")
        .expect("--base-url")
        + 1;
    init[at] = base.clone();
    let (ok, out, err) = run(
        dir.path(),
        &init[1..].iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(ok, "{err}");
    assert!(out.contains("Next: cd myblog && stoa serve"), "{out}");
    let site = dir.path().join("myblog");

    // `stoa serve` answers with the blog (on a free port: 1111 may be taken).
    let served = crate::common::serve(&site);
    let (status, _, home) = crate::common::get(&served, "/");
    assert_eq!(status, 200);
    assert!(home.contains("Night Notes"), "{home}");
    drop(served);

    // The companion section: build, then `stoa inbox --site public`.
    let companion = readme_block(&readme, "## The companion");
    assert_eq!(companion, vec!["stoa build", "stoa inbox --site public"]);
    let config = site.join("stoa.toml");
    let text = std::fs::read_to_string(&config).expect("stoa.toml");
    // Loopback peers need the SSRF guard off (the README's test-only switch).
    std::fs::write(
        &config,
        text.replace(
            "[companion]\n",
            "[companion]\nallow_private_addresses = true\n",
        ),
    )
    .expect("stoa.toml");
    let (ok, _, err) = run(&site, &["build"]);
    assert!(ok, "{err}");
    let mut inbox = std::process::Command::new(env!("CARGO_BIN_EXE_stoa"))
        .current_dir(&site)
        .args(["inbox", "--site", "public", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("stoa inbox starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while agent()
        .get(&format!("{base}/healthz"))
        .call()
        .map_or(true, |r| r.status() != 200)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the companion did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // The first publish records the archive; a follower arrives.
    let publish = readme_block(&readme, "## Publishing");
    assert_eq!(publish, vec!["stoa publish"]);
    let (ok, out, err) = run(&site, &["publish"]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("First publish"), "{out}");
    let fedify = Fedify::start("rfc9421");
    fedify.control(
        "follow",
        serde_json::json!({"target": format!("{base}/ap/actor.json")}),
    );
    fedify.wait_received("Accept");

    // Write a post, publish: the follower gets it, and the report reads as
    // the README shows it.
    std::fs::write(
        site.join("content/posts/first-light.md"),
        "+++\ntitle = \"First light\"\ndate = 2026-12-02\n+++\n\nThe first real post.\n",
    )
    .expect("post");
    let (ok, out, err) = run(&site, &["publish"]);
    assert!(ok, "{out}\n{err}");
    let create = fedify.wait_received("Create");
    assert_eq!(
        create["objectId"],
        format!("{base}/ap/posts/first-light.json")
    );
    let example = readme
        .lines()
        .find(|l| l.starts_with("Reached "))
        .expect("the README shows a publish report");
    let shape = |line: &str| {
        line.split(' ')
            .map(|w| {
                if w.chars().next().is_some_and(|c| c.is_ascii_digit())
                    || w.starts_with('(')
                        && w[1..].chars().next().is_some_and(|c| c.is_ascii_digit())
                {
                    "N".to_string()
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
            // One follower or many: the same sentence.
            .replace("followers", "follower")
            .replace("servers", "server")
    };
    let report = out
        .lines()
        .find(|l| l.starts_with("Reached "))
        .unwrap_or_else(|| panic!("no report line in:\n{out}"));
    assert_eq!(
        shape(report),
        shape(example),
        "README: {example}\nstoa: {report}"
    );
    assert!(
        report.starts_with("Reached 1 of 1 follower on 1 of 1 server"),
        "{report}"
    );

    // The writer's machine: the site and the admin token, no database.
    let laptop = dir.path().join("laptop");
    std::fs::create_dir_all(laptop.join("secrets")).expect("laptop");
    std::fs::copy(&config, laptop.join("stoa.toml")).expect("copy");
    std::fs::copy(
        site.join("secrets/admin-token"),
        laptop.join("secrets/admin-token"),
    )
    .expect("token");
    let (ok, out, err) = run(&laptop, &["followers", "list"]);
    assert!(ok, "{err}");
    assert!(out.contains(&fedify.actor()), "{out}");
    let (ok, out, err) = run(&laptop, &["deliveries"]);
    assert!(ok, "{err}");
    assert!(out.contains("127.0.0.1"), "{out}");
    let _ = inbox.kill();
    let _ = inbox.wait();
}
