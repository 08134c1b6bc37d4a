//! Every error path of `stoa build`: the message names the file, the line
//! and the fix, and the previous output is left exactly as it was; and
//! output into a pipe whose reader went away.

use crate::common::{TempSite, build, run_into_closed_pipe, snapshot, text};

/// Builds a good site, breaks it with `breakage`, and checks the failed
/// build's message and that the output did not change.
fn fails_cleanly(breakage: &[(&str, &str)], expected: &[&str]) {
    let site = TempSite::minimal();
    let out = site.build_ok();
    let before = snapshot(&out);
    for (path, contents) in breakage {
        site.write(path, contents);
    }
    let o = build(site.root(), &out, &[]);
    let (stdout, stderr) = text(&o);
    assert!(
        !o.status.success(),
        "build should fail:\n{stdout}\n{stderr}"
    );
    for e in expected {
        assert!(stderr.contains(e), "message lacks {e:?}:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(snapshot(&out), before, "a failed build changed the output");
}

#[test]
fn bad_front_matter_toml() {
    fails_cleanly(
        &[(
            "content/posts/broken.md",
            "+++\ntitle = \"Broken\ndate = 2026-01-01\n+++\nx\n",
        )],
        &["content/posts/broken.md:2:", "help:"],
    );
}

#[test]
fn bad_date() {
    fails_cleanly(
        &[(
            "content/posts/when.md",
            "+++\ntitle = \"When\"\ndate = \"last tuesday\"\n+++\nx\n",
        )],
        &[
            "content/posts/when.md:3:",
            "`date` is not a date",
            "2024-05-01",
        ],
    );
}

#[test]
fn unknown_field() {
    fails_cleanly(
        &[(
            "content/posts/extra.md",
            "+++\ntitle = \"Extra\"\ndate = 2026-01-01\nauthor = \"me\"\n+++\nx\n",
        )],
        &[
            "content/posts/extra.md:4:",
            "unknown field `author`",
            "help:",
        ],
    );
}

#[test]
fn post_without_date() {
    fails_cleanly(
        &[(
            "content/posts/undated.md",
            "+++\ntitle = \"Undated\"\n+++\nx\n",
        )],
        &["content/posts/undated.md", "no date", "date = "],
    );
}

#[test]
fn missing_front_matter() {
    fails_cleanly(
        &[("content/posts/plain.md", "just text\n")],
        &["content/posts/plain.md:1:", "missing front matter", "+++"],
    );
}

#[test]
fn duplicate_slug() {
    fails_cleanly(
        &[(
            "content/posts/copy.md",
            "+++\ntitle = \"Copy\"\ndate = 2026-01-05\nslug = \"first\"\n+++\nx\n",
        )],
        &[
            "duplicate slug `first`",
            "content/posts/copy.md",
            "content/posts/first.md",
            "slug = ",
        ],
    );
}

#[test]
fn several_errors_are_reported_together() {
    fails_cleanly(
        &[
            ("content/posts/a.md", "+++\ndate = \"nope\"\n+++\n"),
            (
                "content/posts/b.md",
                "+++\ncolour = 1\ndate = 2026-01-01\n+++\n",
            ),
        ],
        &["content/posts/a.md:2:", "content/posts/b.md:2:"],
    );
}

#[test]
fn template_syntax_error_names_file_and_line() {
    fails_cleanly(
        &[(
            "templates/page.html",
            "{% extends \"base.html\" %}\n{% block content %}\n{{ page.title \n{% endblock content %}\n",
        )],
        &["templates/page.html", "page.html:4"],
    );
}

#[test]
fn template_render_error_names_file_and_line() {
    fails_cleanly(
        &[(
            "templates/page.html",
            "{% extends \"base.html\" %}\n{% block content %}\n<p>{{ page.no_such_field }}</p>\n{% endblock content %}\n",
        )],
        &["templates/page.html", "page.html:3"],
    );
}

#[test]
fn bad_config() {
    fails_cleanly(
        &[(
            "stoa.toml",
            "base_url = \"https://blog.example.com\"\ntitle = \"Test\"\nthem = \"dark\"\n",
        )],
        &["stoa.toml:3:", "them"],
    );
}

#[test]
fn missing_config() {
    let dir = tempfile::tempdir().expect("temp");
    let o = build(dir.path(), &dir.path().join("public"), &[]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(
        stderr.contains("no stoa.toml in") && stderr.contains("stoa init"),
        "{stderr}"
    );
    assert!(!dir.path().join("public").exists());
}

#[test]
fn refuses_to_overwrite_a_folder_it_did_not_make() {
    let site = TempSite::minimal();
    let foreign = site.root().join("somewhere");
    std::fs::create_dir_all(&foreign).expect("mkdir");
    std::fs::write(foreign.join("important.doc"), "x").expect("write");
    let o = build(site.root(), &foreign, &[]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(
        stderr.contains("not made by stoa") && stderr.contains("--output"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&foreign).expect("dir").count(), 1);
}

#[test]
fn page_colliding_with_a_generated_page() {
    fails_cleanly(
        &[(
            "content/archive.md",
            "+++\ntitle = \"My archive\"\n+++\nx\n",
        )],
        &["archive/index.html", "both want"],
    );
}

/// `stoa … | head -0`: a reader that went away is no failure (no panic,
/// no error, exit 0), and a closed stderr does not change the exit status.
#[test]
fn output_into_a_closed_pipe_is_quiet() {
    let site = TempSite::minimal();
    let stoa = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stoa"));
        cmd.args(args).arg("--root").arg(site.root());
        cmd
    };
    // The second build has nothing to do: its other report line.
    for args in [
        &["build"][..],
        &["build"],
        &["preview", "first"],
        &["preview", "first", "--json"],
    ] {
        let (status, stderr) = run_into_closed_pipe(stoa(args), false);
        assert!(status.success(), "{args:?}: {status}\n{stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("error") && !stderr.contains("pipe"),
            "{args:?}: {stderr}"
        );
    }
    // Both streams closed, like `stoa build 2>&1 | head -0`: warnings are
    // dropped, the exit status still tells success from failure.
    site.write(
        "content/posts/pic.md",
        "+++\ntitle = \"Pic\"\ndate = 2026-01-03\n+++\n\n![](missing.png)\n",
    );
    let (status, _) = run_into_closed_pipe(stoa(&["build", "--force"]), true);
    assert!(status.success(), "a build with warnings: {status}");
    site.write(
        "content/posts/bad.md",
        "+++\ntitle = \"x\"\ndate = \"soon\"\n+++\n",
    );
    let (status, _) = run_into_closed_pipe(stoa(&["build"]), true);
    assert_eq!(status.code(), Some(1), "a failed build: {status}");
}
