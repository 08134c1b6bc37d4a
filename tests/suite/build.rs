//! `stoa build` on content-example and small sites: links, feeds, HTML
//! validity, drafts, determinism, incremental writes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use quick_xml::events::Event;

use crate::common::{TempSite, build, example_copy, snapshot, text};

const BASE: &str = "https://blog.example.com";

fn build_example() -> (tempfile::TempDir, tempfile::TempDir) {
    let site = example_copy();
    let out = tempfile::tempdir().expect("temp");
    let o = build(site.path(), out.path(), &[]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "build failed:\n{stdout}\n{stderr}");
    assert!(
        !stderr.contains("warning"),
        "content-example should build without warnings:\n{stderr}"
    );
    (site, out)
}

/// Maps a link found in a page to the file that must exist for it.
fn target_file(out: &Path, page: &str, link: &str) -> Option<std::path::PathBuf> {
    let path = if let Some(rest) = link.strip_prefix(BASE) {
        rest.to_string()
    } else if link.starts_with('/') && !link.starts_with("//") {
        link.to_string()
    } else if link.contains(':') || link.starts_with('#') || link.starts_with("//") {
        return None;
    } else {
        // Relative to the page's folder.
        let dir = page.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        format!("/{dir}/{link}")
    };
    // Servers decode `%XX` (a tag's page in another script).
    let path = stoa::text::percent_decode(path.split(['#', '?']).next().unwrap_or(""));
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    let rel = path.trim_start_matches('/');
    let p = out.join(rel);
    Some(if path.ends_with('/') {
        p.join("index.html")
    } else {
        p
    })
}

/// Every internal link of every HTML page of `out`: how many were checked
/// and the broken ones (`page → link`). Panics on HTML that does not parse.
pub(crate) fn broken_links(out: &Path) -> (usize, BTreeSet<String>) {
    let files = snapshot(out);
    let mut checked = 0;
    let mut broken = BTreeSet::new();
    for (rel, bytes) in &files {
        if !rel.ends_with(".html") {
            continue;
        }
        let html = String::from_utf8(bytes.clone()).expect("utf-8");
        let doc = scraper::Html::parse_document(&html);
        assert!(
            doc.errors.is_empty(),
            "{rel} has HTML parse errors: {:?}",
            doc.errors
        );
        // Redirect pages for old addresses write it in capitals.
        assert!(
            html.get(..15)
                .is_some_and(|d| d.eq_ignore_ascii_case("<!doctype html>")),
            "{rel} lacks a doctype"
        );
        let sel = scraper::Selector::parse("a[href], link[href], img[src], script[src]")
            .expect("selector");
        for el in doc.select(&sel) {
            let link = el
                .value()
                .attr("href")
                .or_else(|| el.value().attr("src"))
                .unwrap_or("");
            if let Some(file) = target_file(out, rel, link) {
                checked += 1;
                if !file.is_file() {
                    broken.insert(format!("{rel} → {link}"));
                }
            }
        }
    }
    (checked, broken)
}

#[test]
fn every_internal_link_resolves_and_html_parses() {
    let (_site, out) = build_example();
    let (checked, broken) = broken_links(out.path());
    assert!(
        broken.is_empty(),
        "broken internal links:\n{}",
        broken.into_iter().collect::<Vec<_>>().join("\n")
    );
    assert!(
        checked > 200,
        "only {checked} links checked: is the example site complete?"
    );
}

/// A photo note (no title: shown whole on the home and tag pages) in a
/// page bundle: its picture and its relative link work on every page that
/// shows it, not only on its own.
#[test]
fn a_photo_notes_picture_shows_on_the_home_and_tag_pages_too() {
    let site = TempSite::with(&[
        (
            "stoa.toml",
            "base_url = \"https://blog.example.com\"\ntitle = \"T\"\n[fediverse]\nusername = \"t\"\n",
        ),
        (
            "content/posts/cat/index.md",
            "+++\ndate = 2026-01-02\ntags = [\"cats\"]\n+++\n\n![A cat on a mat](cat.png) [The next one](../dog/)\n",
        ),
        (
            "content/posts/dog.md",
            "+++\ntitle = \"Dog\"\ndate = 2026-01-01\n+++\n\nWoof.\n",
        ),
    ]);
    std::fs::write(
        site.root().join("content/posts/cat/cat.png"),
        b"\x89PNG\r\n\x1a\n",
    )
    .expect("write the picture");
    let out = site.build_ok();
    let (checked, broken) = broken_links(&out);
    assert!(broken.is_empty(), "broken links: {broken:?}");
    assert!(checked > 10, "{checked}");
    for page in ["index.html", "tags/cats/index.html", "posts/cat/index.html"] {
        let html = std::fs::read_to_string(out.join(page)).expect("page");
        assert!(
            html.contains("src=\"https://blog.example.com/posts/cat/cat.png\"")
                && html.contains("href=\"https://blog.example.com/posts/dog/\""),
            "{page}: {html}"
        );
    }
}

/// `C++`, `C`, `c#`, `日本` and `تقنية` are five tags: five pages (the
/// non-Latin ones in their script, linked percent-encoded), five hashtags
/// Mastodon keeps apart, and every link resolves.
#[test]
fn tags_mean_what_they_say_in_every_script() {
    let tags = ["C++", "C", "c#", "日本", "تقنية"];
    let list = tags.map(|t| format!("\"{t}\"")).join(", ");
    let site = TempSite::with(&[
        (
            "stoa.toml",
            "base_url = \"https://blog.example.com\"\ntitle = \"T\"\n[fediverse]\nusername = \"t\"\n",
        ),
        (
            "content/posts/langs.md",
            &format!("+++\ntitle = \"Langs\"\ndate = 2026-01-02\ntags = [{list}]\n+++\n\nHi.\n"),
        ),
        (
            "content/posts/only-c.md",
            "+++\ntitle = \"Only C\"\ndate = 2026-01-03\ntags = [\"c\"]\n+++\n\nC.\n",
        ),
    ]);
    let out = site.build_ok();
    let folders = ["c-plus-plus", "c", "c-sharp", "日本", "تقنية"];
    for (tag, folder) in tags.iter().zip(folders) {
        let page = std::fs::read_to_string(out.join("tags").join(folder).join("index.html"))
            .unwrap_or_else(|e| panic!("{tag}: no page in tags/{folder}/: {e}"));
        assert!(page.contains(&format!("#{tag}")), "{tag}: {page}");
        assert!(
            out.join("tags").join(folder).join("rss.xml").is_file(),
            "{tag}"
        );
    }
    let c = std::fs::read_to_string(out.join("tags/c/index.html")).expect("c");
    assert!(c.contains("Only C") && c.contains("Langs"), "{c}");
    let cpp = std::fs::read_to_string(out.join("tags/c-plus-plus/index.html")).expect("c++");
    assert!(!cpp.contains("Only C"), "{cpp}");
    let post = std::fs::read_to_string(out.join("posts/langs/index.html")).expect("post");
    assert!(
        post.contains("href=\"https://blog.example.com/tags/%E6%97%A5%E6%9C%AC/\""),
        "{post}"
    );
    let (checked, broken) = broken_links(&out);
    assert!(broken.is_empty(), "broken links: {broken:?}");
    assert!(checked > 10, "{checked}");
    // Where older stoa put a tag's page, a redirect to its page now; none
    // where the old folder is another tag's page (C++ was at /tags/c/).
    let redirects = std::fs::read_to_string(out.join("_redirects")).expect("_redirects");
    let old: Vec<&str> = redirects
        .lines()
        .filter(|l| l.starts_with("/tags/"))
        .collect();
    assert_eq!(
        old,
        [
            "/tags/ri-ben/  /tags/%E6%97%A5%E6%9C%AC/  301",
            "/tags/tqny/  /tags/%D8%AA%D9%82%D9%86%D9%8A%D8%A9/  301"
        ],
        "{redirects}"
    );
    let moved = std::fs::read_to_string(out.join("tags/ri-ben/index.html")).expect("redirect page");
    assert!(
        moved.contains("url=https://blog.example.com/tags/%E6%97%A5%E6%9C%AC/"),
        "{moved}"
    );

    let object: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("ap/posts/langs.json")).expect("object"))
            .expect("json");
    let hashtags: Vec<(String, String)> = object["tag"]
        .as_array()
        .expect("tag")
        .iter()
        .filter(|t| t["type"] == "Hashtag")
        .map(|t| {
            let s = |k: &str| t[k].as_str().expect(k).to_string();
            (s("name"), s("href"))
        })
        .collect();
    assert_eq!(
        hashtags,
        [
            ("#CPlusPlus", "c-plus-plus"),
            ("#C", "c"),
            ("#cSharp", "c-sharp"),
            ("#日本", "%E6%97%A5%E6%9C%AC"),
            ("#تقنية", "%D8%AA%D9%82%D9%86%D9%8A%D8%A9"),
        ]
        .map(|(n, f)| (n.to_string(), format!("{BASE}/tags/{f}/"))),
    );
}

#[test]
fn two_tags_sharing_a_page_are_an_error_naming_both_posts() {
    let site = TempSite::with(&[
        (
            "stoa.toml",
            "base_url = \"https://blog.example.com\"\ntitle = \"T\"\n",
        ),
        (
            "content/posts/a.md",
            "+++\ntitle = \"A\"\ndate = 2026-01-02\ntags = [\"C++\"]\n+++\n\nA.\n",
        ),
        (
            "content/posts/b.md",
            "+++\ntitle = \"B\"\ndate = 2026-01-03\ntags = [\"rust\", \"c-plus-plus\"]\n+++\n\nB.\n",
        ),
    ]);
    let out = site.out();
    let o = build(site.root(), &out, &[]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success(), "{stderr}");
    for needle in [
        "content/posts/a.md:4",
        "content/posts/b.md",
        "`C++`",
        "`c-plus-plus`",
        "/tags/c-plus-plus/",
        "rename one of them",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    assert!(!out.exists(), "a failed build writes nothing");
}

#[test]
fn pages_carry_meta_canonical_and_landmarks() {
    let (_site, out) = build_example();
    let home = std::fs::read_to_string(out.path().join("index.html")).expect("home");
    for needle in [
        "<link rel=\"canonical\" href=\"https://blog.example.com/\">",
        "<meta name=\"fediverse:creator\" content=\"@",
        "<meta property=\"og:title\"",
        "<main id=\"main\"",
        "<nav aria-label=\"Main\">",
        "<header",
        "<footer",
        "type=\"application/rss+xml\"",
    ] {
        assert!(home.contains(needle), "home page lacks {needle}");
    }
    let posts: Vec<_> = std::fs::read_dir(out.path().join("posts"))
        .expect("posts")
        .collect();
    assert!(
        posts.len() >= 12,
        "content-example must have at least 12 published posts"
    );
    // Every image in every page has an alt attribute and a size; images in
    // posts and pages have real alt text (the avatar beside the site's name
    // is decorative, alt="", as WCAG asks).
    for (rel, bytes) in snapshot(out.path()) {
        if !rel.ends_with(".html") {
            continue;
        }
        let doc = scraper::Html::parse_document(&String::from_utf8_lossy(&bytes));
        let sel = scraper::Selector::parse("main img").expect("selector");
        for img in doc.select(&sel) {
            let v = img.value();
            let alt = v.attr("alt");
            assert!(alt.is_some(), "{rel}: image without an alt attribute");
            let decorative = v.attr("class") == Some("avatar");
            assert!(
                decorative || alt.is_some_and(|a| !a.trim().is_empty()),
                "{rel}: image without alt text"
            );
            assert!(
                v.attr("width").is_some() && v.attr("height").is_some(),
                "{rel}: image without size"
            );
        }
    }
}

fn xml_names(bytes: &[u8]) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut names = Vec::new();
    let mut buf = Vec::new();
    let mut depth = 0i32;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                depth += 1;
                names.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
            }
            Ok(Event::Empty(e)) => {
                names.push(String::from_utf8_lossy(e.name().as_ref()).into_owned())
            }
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed XML at {}: {e}", reader.buffer_position()),
        }
        buf.clear();
    }
    assert_eq!(depth, 0, "unbalanced XML");
    names
}

#[test]
fn feeds_are_well_formed_and_complete() {
    let (_site, out) = build_example();
    let rss = std::fs::read(out.path().join("rss.xml")).expect("rss");
    let names = xml_names(&rss);
    for required in [
        "rss",
        "channel",
        "title",
        "link",
        "description",
        "item",
        "guid",
        "pubDate",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "RSS lacks <{required}>"
        );
    }
    let items = names.iter().filter(|n| *n == "item").count();
    assert!(items >= 12, "RSS has {items} items");

    let atom = std::fs::read(out.path().join("atom.xml")).expect("atom");
    let names = xml_names(&atom);
    for required in [
        "feed", "id", "title", "updated", "entry", "link", "content", "author",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "Atom lacks <{required}>"
        );
    }
    // Atom requires a title in every entry, even for untitled notes.
    let entries = names.iter().filter(|n| *n == "entry").count();
    let titles = names.iter().filter(|n| *n == "title").count();
    assert_eq!(titles, entries + 1, "every Atom entry needs a <title>");

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("feed.json")).expect("json feed"))
            .expect("JSON Feed parses");
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert!(
        json["title"].is_string()
            && json["home_page_url"].is_string()
            && json["feed_url"].is_string()
    );
    let items = json["items"].as_array().expect("items");
    assert!(items.len() >= 12);
    for item in items {
        assert!(item["id"].is_string(), "item without id");
        assert!(item["content_html"].is_string(), "item without content");
        assert!(item["date_published"].is_string());
    }

    let sitemap = std::fs::read(out.path().join("sitemap.xml")).expect("sitemap");
    assert!(xml_names(&sitemap).iter().filter(|n| *n == "loc").count() >= 14);
    let robots = std::fs::read_to_string(out.path().join("robots.txt")).expect("robots");
    assert!(robots.contains("Sitemap: https://blog.example.com/sitemap.xml"));
    // Tag feeds exist and parse.
    let tag_feeds: Vec<_> = snapshot(out.path())
        .into_keys()
        .filter(|k| k.starts_with("tags/") && k.ends_with("rss.xml"))
        .collect();
    assert!(!tag_feeds.is_empty());
    for f in tag_feeds {
        xml_names(&std::fs::read(out.path().join(&f)).expect("tag feed"));
    }
}

#[test]
fn drafts_are_left_out_unless_asked_for() {
    let site = example_copy();
    let drafts: Vec<String> = walkdir::WalkDir::new(site.path().join("content/posts"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("\ndraft = true")))
        .map(|e| {
            e.path()
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(!drafts.is_empty(), "content-example must contain a draft");
    let out = tempfile::tempdir().expect("temp");
    assert!(build(site.path(), out.path(), &[]).status.success());
    let all: String = snapshot(out.path())
        .values()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    for d in &drafts {
        assert!(
            !out.path().join("posts").join(d).exists(),
            "draft {d} was published"
        );
        assert!(
            !all.contains(&format!("/posts/{d}/")),
            "draft {d} is linked from the site"
        );
    }
    let out2 = tempfile::tempdir().expect("temp");
    assert!(
        build(site.path(), out2.path(), &["--drafts"])
            .status
            .success()
    );
    for d in &drafts {
        assert!(
            out2.path()
                .join("posts")
                .join(d)
                .join("index.html")
                .is_file(),
            "--drafts did not build {d}"
        );
    }
}

#[test]
fn output_is_deterministic() {
    let site = example_copy();
    let a = tempfile::tempdir().expect("temp");
    let b = tempfile::tempdir().expect("temp");
    assert!(build(site.path(), a.path(), &[]).status.success());
    assert!(build(site.path(), b.path(), &["--force"]).status.success());
    let mut sa = snapshot(a.path());
    let mut sb = snapshot(b.path());
    // The manifest records the output path in its fingerprint; all else must match.
    sa.remove(".stoa-manifest");
    sb.remove(".stoa-manifest");
    assert_eq!(sa.keys().collect::<Vec<_>>(), sb.keys().collect::<Vec<_>>());
    for (k, v) in &sa {
        assert!(v == &sb[k], "{k} differs between two builds");
    }
}

#[test]
fn no_private_key_in_output() {
    let (_site, out) = build_example();
    for (rel, bytes) in snapshot(out.path()) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("PRIVATE KEY"),
            "{rel} contains a private key"
        );
    }
}

#[test]
fn rebuild_writes_only_changes_and_removes_stale_files() {
    let site = TempSite::minimal();
    let out = site.build_ok();
    let o = build(site.root(), &out, &[]);
    assert!(text(&o).0.contains("Nothing changed"), "{:?}", text(&o));
    // A user's own file in the output folder is never touched.
    std::fs::write(out.join("keep-me.txt"), "mine").expect("write");
    site.write(
        "content/posts/second.md",
        "+++\ntitle = \"Second\"\ndate = 2026-01-03T10:00:00Z\n+++\n\nMore.\n",
    );
    let o = build(site.root(), &out, &[]);
    let (stdout, _) = text(&o);
    assert!(stdout.contains("written"), "{stdout}");
    assert!(out.join("posts/second/index.html").is_file());
    // Unchanged pages keep their modification time: the first post did not change...
    // ...but its neighbour link did, so check the about page instead.
    let about = out.join("about/index.html");
    let before = std::fs::metadata(&about)
        .expect("about")
        .modified()
        .expect("mtime");
    std::fs::remove_file(site.root().join("content/posts/second.md")).expect("rm");
    let o = build(site.root(), &out, &[]);
    assert!(o.status.success());
    assert!(
        !out.join("posts/second").exists(),
        "stale post was not removed"
    );
    assert_eq!(
        std::fs::metadata(&about)
            .expect("about")
            .modified()
            .expect("mtime"),
        before,
        "unchanged file was rewritten"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("keep-me.txt")).expect("kept"),
        "mine"
    );
}

#[test]
fn site_templates_override_the_theme() {
    let site = TempSite::minimal();
    site.write(
        "templates/page.html",
        "{% extends \"base.html\" %}{% block content %}<p class=\"custom\">{{ page.title }}</p>{% endblock content %}",
    );
    let o = build(site.root(), &site.out(), &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    let about = std::fs::read_to_string(site.out().join("about/index.html")).expect("about");
    assert!(about.contains("<p class=\"custom\">About</p>"), "{about}");
}

#[test]
fn hugo_style_front_matter_builds_and_missing_images_warn() {
    // The benchmark corpus: title, date, description, tags; an image the site lacks.
    let site = TempSite::with(&[
        (
            "stoa.toml",
            "base_url = \"https://blog.example.org\"\ntitle = \"Synthetic\"\n",
        ),
        (
            "content/posts/a-quiet-morning.md",
            "+++\ntitle = \"A Quiet Morning\"\ndate = 2015-01-01T08:00:00Z\ndescription = \"Words.\"\ntags = [\"rust\", \"web\"]\n+++\n\nText with ![a view](/images/view-12.jpg).\n",
        ),
    ]);
    let o = build(site.root(), &site.out(), &[]);
    let (_, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning")
            && stderr.contains("a-quiet-morning.md")
            && stderr.contains("/images/view-12.jpg"),
        "{stderr}"
    );
}

/// Posts in the site the interruption tests stop: enough that a build's
/// commit takes a while.
const MANY: usize = 2000;

/// Writes a site of [`MANY`] posts whose title and every post carry `marker`.
fn write_marked_site(site: &TempSite, marker: &str) {
    site.write(
        "stoa.toml",
        &format!(
            "base_url = \"https://blog.example.com\"\ntitle = \"Blog {marker}\"\n[fediverse]\nusername = \"test\"\n"
        ),
    );
    for i in 0..MANY {
        site.write(
            &format!("content/posts/p{i:04}.md"),
            &format!(
                "+++\ntitle = \"Post {i} {marker}\"\ndate = {}-{:02}-{:02}T10:00:00Z\ntags = [\"t{}\"]\n+++\n\nThe text of post {i}, as of {marker}.\n",
                2000 + i / 336,
                1 + (i / 28) % 12,
                1 + i % 28,
                i % 7
            ),
        );
    }
}

/// Which of `markers` the output carries: every post page, every post
/// object and every feed must carry the same one, and nothing may be
/// missing. `Err` describes a mixed or incomplete folder.
fn carried_marker<'a>(out: &Path, markers: &[&'a str]) -> Result<&'a str, String> {
    let mut files = vec![
        "index.html".to_string(),
        "rss.xml".to_string(),
        "atom.xml".to_string(),
        "feed.json".to_string(),
        "archive/index.html".to_string(),
        "ap/outbox/page-1.json".to_string(),
    ];
    for i in 0..MANY {
        files.push(format!("posts/p{i:04}/index.html"));
        files.push(format!("ap/posts/p{i:04}.json"));
    }
    let mut seen: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(out.join(f)).map_err(|e| format!("{f}: {e}"))?;
        let found: Vec<&str> = markers
            .iter()
            .copied()
            .filter(|m| text.contains(*m))
            .collect();
        match found.as_slice() {
            [m] => seen.entry(m).or_default().push(f.clone()),
            _ => return Err(format!("{f} carries {found:?}")),
        }
    }
    match seen.len() {
        1 => Ok(seen.into_keys().next().unwrap_or_default()),
        _ => Err(format!(
            "a mixed folder: {}",
            seen.iter()
                .map(|(m, f)| format!("{} files of {m} (e.g. {})", f.len(), f[0]))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// When an interrupted build is stopped.
#[derive(Debug, Clone, Copy)]
enum StopAt {
    /// Once it stages its first file (it is rendering), after a pause.
    Render(u64),
    /// Once its commit journal appears, after a pause (ms).
    Commit(u64),
    /// Once the first file of the new build is in place.
    FirstNewFile,
}

/// Starts `stoa build`, waits for `at` (or the end of the build), sends
/// `signal`. Returns the exit status and stderr.
fn build_stopped(
    site: &TempSite,
    at: StopAt,
    new_marker: &str,
    signal: rustix::process::Signal,
) -> (std::process::ExitStatus, String) {
    use std::time::{Duration, Instant};
    let out = site.out();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stoa"))
        .arg("build")
        .arg("--root")
        .arg(site.root())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("stoa starts");
    let first_new = out.join("ap/posts/p0000.json");
    let deadline = Instant::now() + Duration::from_secs(300);
    let (reached, pause) = loop {
        let reached = match at {
            StopAt::Render(ms) => out.join(".stoa-staging").exists().then_some(ms),
            StopAt::Commit(ms) => out.join(".stoa-journal").exists().then_some(ms),
            StopAt::FirstNewFile => std::fs::read_to_string(&first_new)
                .is_ok_and(|t| t.contains(new_marker))
                .then_some(0),
        };
        if let Some(ms) = reached {
            break (true, ms);
        }
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            break (false, 0);
        }
        std::thread::sleep(Duration::from_micros(300));
    };
    std::thread::sleep(Duration::from_millis(pause));
    if reached {
        let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a pid");
        // It may have finished meanwhile: then there is nothing to stop.
        let _ = rustix::process::kill_process(pid, signal);
    }
    let output = child.wait_with_output().expect("stoa ends");
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_build_stopped_by_a_signal_leaves_the_old_or_the_new_site_never_a_mix() {
    use std::os::unix::process::ExitStatusExt;
    let site = TempSite::with(&[]);
    let out = site.out();
    let mut current = "M0Z".to_string();
    let mut outcomes = Vec::new();
    write_marked_site(&site, &current);
    // A first build writes in place; stopped, it takes all of it back.
    let (status, stderr) = build_stopped(
        &site,
        StopAt::FirstNewFile,
        &current,
        rustix::process::Signal::TERM,
    );
    if status.code() == Some(143) {
        let left = std::fs::read_dir(&out).map_or(0, |d| d.count());
        assert_eq!(left, 0, "a stopped first build left files: {stderr}");
        outcomes.push("SIGTERM during the first build: nothing left".to_string());
    }
    let o = build(site.root(), &out, &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    // SIGTERM: rendering, right as the commit starts, during it, once the
    // first new file is in place. Each leaves a whole site, old or new.
    let term_points = [
        StopAt::Render(50),
        StopAt::Commit(0),
        StopAt::FirstNewFile,
        StopAt::Commit(40),
    ];
    for (n, at) in term_points.into_iter().enumerate() {
        let next = format!("M{}Z", n + 1);
        write_marked_site(&site, &next);
        let (status, stderr) = build_stopped(&site, at, &next, rustix::process::Signal::TERM);
        assert!(
            matches!(status.code(), Some(0 | 143)) || status.signal() == Some(15),
            "{at:?}: {status:?} {stderr}"
        );
        let carried = carried_marker(&out, &[&current, &next])
            .unwrap_or_else(|e| panic!("SIGTERM at {at:?} ({status:?}, {stderr}): {e}"));
        assert!(
            !out.join(".stoa-staging").exists() && !out.join(".stoa-journal").exists(),
            "SIGTERM at {at:?} left its files behind"
        );
        // What it says matches what it did.
        if stderr.contains("the writing was finished first") {
            assert_eq!(carried, next, "{stderr}");
        }
        if stderr.contains("before anything was written") {
            assert_eq!(carried, current, "{stderr}");
        }
        if status.code() == Some(143) {
            let kept = if carried == next { "new" } else { "old" };
            outcomes.push(format!("SIGTERM at {at:?}: {kept}"));
        }
        current = carried.to_string();
    }
    // SIGKILL cannot be caught: a commit may stop half-way, and the next
    // build repairs it before anything else.
    let kill_points = [StopAt::Render(50), StopAt::FirstNewFile];
    for (n, at) in kill_points.into_iter().enumerate() {
        let next = format!("M{}Z", n + 10);
        write_marked_site(&site, &next);
        let (status, stderr) = build_stopped(&site, at, &next, rustix::process::Signal::KILL);
        let journal = out.join(".stoa-journal").exists();
        if !journal {
            // Before the journal, nothing in sight has changed.
            carried_marker(&out, &[&current, &next])
                .unwrap_or_else(|e| panic!("SIGKILL at {at:?} ({status:?}, {stderr}): {e}"));
        }
        if status.signal() == Some(9) {
            outcomes.push(format!("SIGKILL at {at:?}: journal left: {journal}"));
        }
        let o = build(site.root(), &out, &[]);
        let (_, stderr) = text(&o);
        assert!(o.status.success(), "{stderr}");
        if journal {
            assert!(
                stderr.contains("was stopped while it was writing"),
                "{stderr}"
            );
        }
        assert_eq!(
            carried_marker(&out, &[&current, &next]),
            Ok(next.as_str()),
            "the build after SIGKILL at {at:?} did not repair the folder"
        );
        assert!(!out.join(".stoa-staging").exists() && !out.join(".stoa-journal").exists());
        current = next;
    }
    // And then the folder is as a clean build leaves it.
    let o = build(site.root(), &out, &[]);
    assert!(text(&o).0.contains("Nothing changed"), "{:?}", text(&o));
    eprintln!("{}", outcomes.join("\n"));
}

/// Two writers of one output folder never interleave (issue 9: `stoa
/// build`, `stoa publish` and the companion's re-render share it): while
/// another process holds the folder's lock, a build says who holds it,
/// writes nothing, and goes on once the lock is released.
#[test]
fn a_build_waits_while_another_writer_holds_the_output_folder() {
    use std::io::{BufRead, Write};
    let site = TempSite::minimal();
    let out = site.build_ok();
    site.write(
        "content/posts/second.md",
        "+++\ntitle = \"Second\"\ndate = 2026-01-03T10:00:00Z\n+++\n\nMore.\n",
    );
    // The other writer: this test, holding the lock as a build would.
    let mut held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(out.join(".stoa-lock"))
        .expect("the lock file a build leaves");
    held.lock().expect("lock");
    held.write_all(b"process 4242 (stoa publish)")
        .expect("write");
    let before = snapshot(&out);
    let mut waiting = std::process::Command::new(env!("CARGO_BIN_EXE_stoa"))
        .arg("build")
        .arg("--root")
        .arg(site.root())
        .arg("--output")
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("stoa runs");
    let stderr = waiting.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let said = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the build says it waits");
    assert!(
        said.contains("Waiting") && said.contains("process 4242 (stoa publish)"),
        "{said}"
    );
    // Still waiting: nothing written.
    assert!(
        waiting.try_wait().expect("wait").is_none(),
        "the build did not wait"
    );
    assert!(
        snapshot(&out) == before,
        "a build wrote while another held the folder"
    );
    assert!(!out.join("posts/second/index.html").exists());
    held.unlock().expect("unlock");
    let status = waiting.wait().expect("wait");
    assert!(status.success());
    assert!(out.join("posts/second/index.html").is_file());
}
