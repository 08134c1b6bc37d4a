//! Front matter as people write it: YAML, the fields of Hugo, Jekyll and
//! Micro.blog, old addresses that keep working, the writer's own
//! `_redirects` merged with the generated one.

use crate::common::{TempSite, build, text};

const CONFIG: &str =
    "base_url = \"https://blog.example.com\"\ntitle = \"Test\"\n[fediverse]\nusername = \"test\"\n";

fn read(out: &std::path::Path, rel: &str) -> String {
    std::fs::read_to_string(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn object(out: &std::path::Path, slug: &str) -> serde_json::Value {
    serde_json::from_str(&read(out, &format!("ap/posts/{slug}.json"))).expect("object is JSON")
}

#[test]
fn hugo_yaml_post_keeps_its_meaning() {
    let site = TempSite::with(&[
        ("stoa.toml", CONFIG),
        (
            "content/posts/ridgeway.md",
            "---\ntitle: \"The Ridgeway: at dawn\"\ndate: 2024-05-01T06:40:00+01:00\nlastmod: 2024-06-02\nsummary: Sunrise over the chalk hills.\ncategories:\n  - Cycling\ntags: [photos]\naliases:\n  - /2019/05/ridgeway/\n  - /old/ridgeway.html\ndraft: false\n---\n\nLeft the house at half past three.\n",
        ),
    ]);
    let out = site.out();
    let o = build(site.root(), &out, &[]);
    assert!(o.status.success(), "{:?}", text(&o));

    let page = read(&out, "posts/ridgeway/index.html");
    assert!(
        page.contains("content=\"Sunrise over the chalk hills.\""),
        "Hugo's summary is the description"
    );
    let obj = object(&out, "ridgeway");
    assert!(
        obj.get("summary").is_none(),
        "Hugo's summary is no content warning: {obj}"
    );
    assert_eq!(obj["sensitive"], false);
    assert_eq!(obj["updated"], "2024-06-02T00:00:00Z");
    assert_eq!(obj["published"], "2024-05-01T05:40:00Z");
    let hashtags: Vec<&str> = obj["tag"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        hashtags.contains(&"#photos") && hashtags.contains(&"#Cycling"),
        "categories are tags: {hashtags:?}"
    );
    assert!(out.join("tags/cycling/index.html").is_file());

    let redirects = read(&out, "_redirects");
    assert!(
        redirects.contains("/2019/05/ridgeway/  /posts/ridgeway/  301\n")
            && redirects.contains("/old/ridgeway.html  /posts/ridgeway/  301\n"),
        "{redirects}"
    );
    for old in ["2019/05/ridgeway/index.html", "old/ridgeway.html"] {
        let html = read(&out, old);
        assert!(
            html.contains(
                "<meta http-equiv=\"refresh\" content=\"0; url=https://blog.example.com/posts/ridgeway/\">"
            ) && html
                .contains("<link rel=\"canonical\" href=\"https://blog.example.com/posts/ridgeway/\">"),
            "{old}: {html}"
        );
    }
    let sitemap = read(&out, "sitemap.xml");
    assert!(!sitemap.contains("2019/05"), "old addresses are not pages");
}

#[test]
fn jekyll_date_prefixed_name_gives_slug_and_date() {
    let site = TempSite::with(&[
        ("stoa.toml", CONFIG),
        (
            "content/posts/2024-05-01-my-post.md",
            "---\nlayout: post\ntitle: My post\ntags: jekyll notes\nredirect_from: /2024/05/01/my-post.html\n---\n\nHello.\n",
        ),
        (
            "content/posts/2023-02-03-dated.md",
            "---\ntitle: Dated\ndate: 2023-02-04 10:00:00 +0200\npermalink: /blog/dated/\n---\n\nHi.\n",
        ),
    ]);
    let out = site.out();
    let o = build(site.root(), &out, &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    let obj = object(&out, "my-post");
    assert_eq!(obj["published"], "2024-05-01T00:00:00Z");
    assert!(out.join("posts/my-post/index.html").is_file());
    assert!(!out.join("posts/2024-05-01-my-post").exists());
    assert!(out.join("tags/jekyll/index.html").is_file());
    assert!(out.join("tags/notes/index.html").is_file());
    // The front matter's date wins over the file name's.
    assert_eq!(object(&out, "dated")["published"], "2023-02-04T08:00:00Z");
    let redirects = read(&out, "_redirects");
    assert!(
        redirects.contains("/2024/05/01/my-post.html  /posts/my-post/  301")
            && redirects.contains("/blog/dated/  /posts/dated/  301"),
        "{redirects}"
    );
}

#[test]
fn toml_posts_named_like_jekyll_keep_their_address() {
    let site = TempSite::with(&[
        ("stoa.toml", CONFIG),
        (
            "content/posts/2024-05-01-kept.md",
            "+++\ndate = 2024-05-01\n+++\n\nHello.\n",
        ),
    ]);
    let out = site.out();
    let o = build(site.root(), &out, &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(out.join("posts/2024-05-01-kept/index.html").is_file());
}

#[test]
fn the_writers_redirects_are_merged_first() {
    let site = TempSite::with(&[
        ("stoa.toml", CONFIG),
        (
            "content/posts/first.md",
            "+++\ndate = 2024-05-01\naliases = [\"/first.html\"]\n+++\n\nHello.\n",
        ),
        ("static/_redirects", "/feed  /rss.xml  301\n/x  /y  302"),
    ]);
    let out = site.out();
    let o = build(site.root(), &out, &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    let r = read(&out, "_redirects");
    let theirs = r
        .find("/feed  /rss.xml  301\n/x  /y  302\n")
        .expect("theirs kept");
    let ours = r.find("/inbox").expect("ours kept");
    let alias = r.find("/first.html  /posts/first/  301").expect("aliases");
    assert!(theirs < ours && ours < alias, "{r}");
}

#[test]
fn bad_yaml_names_the_file_and_line() {
    let site = TempSite::with(&[
        ("stoa.toml", CONFIG),
        (
            "content/posts/bad.md",
            "---\ntitle: ok\ndate: 2024-05-01\nauthor: me\n---\n\nHello.\n",
        ),
        (
            "content/posts/worse.md",
            "---\ntitle: \"unclosed\ndate: 2024-05-01\n---\n\nHello.\n",
        ),
        (
            "content/posts/hugo.md",
            "+++\ntitle = \"Hugo in TOML\"\ndate = 2024-05-01\nlastmod = 2024-05-02\nsummary = \"An excerpt\"\n+++\n\nHello.\n",
        ),
    ]);
    site.write(
        "content/posts/undated.md",
        "---\ntitle: No date\n---\n\nHi.\n",
    );
    let o = build(site.root(), &site.out(), &[]);
    assert!(!o.status.success());
    let (_, err) = text(&o);
    assert!(
        err.contains("content/posts/undated.md:1:") && err.contains("`date: 2024-05-01"),
        "{err}"
    );
    assert!(
        err.contains("content/posts/bad.md:4:") && err.contains("author"),
        "{err}"
    );
    assert!(err.contains("content/posts/worse.md:"), "{err}");
    assert!(err.contains("YAML"), "{err}");
    assert!(
        err.contains("content/posts/hugo.md:5:") && err.contains("content_warning"),
        "{err}"
    );
    assert!(err.contains("help:"), "{err}");
}

#[test]
fn an_old_address_cannot_be_a_page() {
    let site = TempSite::with(&[
        ("stoa.toml", CONFIG),
        (
            "content/posts/a.md",
            "---\ndate: 2024-05-01\naliases: [/about/]\n---\n\nA.\n",
        ),
        ("content/about.md", "+++\ntitle = \"About\"\n+++\n\nMe.\n"),
    ]);
    let o = build(site.root(), &site.out(), &[]);
    assert!(!o.status.success());
    let (_, err) = text(&o);
    assert!(
        err.contains("content/posts/a.md") && err.contains("/about/") && err.contains("about.md"),
        "{err}"
    );
}

#[test]
fn stoa_import_hugo_writes_stoa_posts_that_build() {
    let old = TempSite::with(&[
        (
            "content/posts/ridgeway.md",
            "---\ntitle: Ridgeway\ndate: 2024-05-01T06:40:00+01:00\nsummary: Chalk hills.\ncategories: [Cycling]\naliases: [/2024/ridgeway/]\n---\n\nDawn {{< figure src=\"/img/sun.jpg\" alt=\"The sun\" >}}\n\n{{< tweet user=\"x\" id=\"1\" >}}\n",
        ),
        (
            "content/posts/trip/index.md",
            "+++\ntitle = \"Trip\"\ndate = 2024-04-01\nlastmod = 2024-04-02\nsummary = \"A trip.\"\n+++\n\n![Map](map.png)\n",
        ),
        ("content/posts/trip/map.png", "not really a png"),
        ("content/posts/_index.md", "---\ntitle: Posts\n---\n"),
        ("content/about.md", "---\ntitle: About\n---\n\nMe.\n"),
        ("static/img/sun.jpg", "jpeg"),
    ]);
    let site = TempSite::with(&[("stoa.toml", CONFIG)]);
    let o = crate::common::stoa()
        .args(["import", "hugo"])
        .arg(old.root())
        .arg("--root")
        .arg(site.root())
        .output()
        .expect("runs");
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains("{{< tweet user=\"x\" id=\"1\" >}}"),
        "unconverted shortcodes are listed: {out}"
    );
    assert!(err.contains("_index.md"), "{err}");
    let post =
        std::fs::read_to_string(site.root().join("content/posts/ridgeway.md")).expect("post");
    assert!(post.starts_with("+++\n"), "{post}");
    assert!(
        post.contains("description = \"Chalk hills.\"") && !post.contains("summary"),
        "{post}"
    );
    assert!(post.contains("![The sun](/img/sun.jpg)"), "{post}");
    let trip =
        std::fs::read_to_string(site.root().join("content/posts/trip/index.md")).expect("bundle");
    assert!(
        trip.contains("description = \"A trip.\"") && trip.contains("updated = 2024-04-02"),
        "{trip}"
    );
    assert!(site.root().join("content/posts/trip/map.png").is_file());
    assert!(site.root().join("static/img/sun.jpg").is_file());
    assert!(site.root().join("content/about.md").is_file());

    let built = site.out();
    let o = build(site.root(), &built, &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(object(&built, "ridgeway").get("summary").is_none());
    assert!(built.join("2024/ridgeway/index.html").is_file());
    assert!(built.join("posts/trip/map.png").is_file());

    // A second import changes nothing and says why.
    let o = crate::common::stoa()
        .args(["import", "hugo"])
        .arg(old.root())
        .arg("--root")
        .arg(site.root())
        .output()
        .expect("runs");
    let (out, err) = text(&o);
    assert!(
        o.status.success() && err.contains("already there"),
        "{out}{err}"
    );
}

#[test]
fn stoa_import_jekyll_dry_run_then_import() {
    let old = TempSite::with(&[
        (
            "_posts/2024-05-01-my-post.md",
            "---\nlayout: post\ntitle: My post\ntags: a b\n---\n\nSee [the other]({{ site.baseurl }}{% post_url 2024-04-01-other %}).\n{% include box.html %}\n",
        ),
        (
            "_posts/2024-04-01-other.md",
            "---\ntitle: Other\n---\n\nHi.\n",
        ),
        (
            "_drafts/later.md",
            "---\ntitle: Later\ndate: 2024-06-01\n---\n\nSoon.\n",
        ),
        (
            "about.md",
            "---\nlayout: page\ntitle: About\npermalink: /about-me/\n---\n\nMe.\n",
        ),
        (
            "now.md",
            "---\ntitle: Now\npermalink: /now/\n---\n\nThis week.\n",
        ),
        ("assets/pic.png", "png"),
        ("_config.yml", "title: x\n"),
    ]);
    let site = TempSite::with(&[("stoa.toml", CONFIG)]);
    let run = |extra: &[&str]| {
        crate::common::stoa()
            .args(["import", "jekyll"])
            .arg(old.root())
            .arg("--root")
            .arg(site.root())
            .args(extra)
            .output()
            .expect("runs")
    };
    let o = run(&["--dry-run"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        !site.root().join("content/posts").exists(),
        "--dry-run writes nothing"
    );
    let o = run(&[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("{% include box.html %}"), "{out}");
    let post = std::fs::read_to_string(site.root().join("content/posts/my-post.md")).expect("post");
    assert!(
        post.contains("date = 2024-05-01\n") && post.contains("slug = \"my-post\""),
        "{post}"
    );
    assert!(post.contains("[the other](/posts/other/)"), "{post}");
    let draft = std::fs::read_to_string(site.root().join("content/posts/later.md")).expect("draft");
    assert!(draft.contains("draft = true"), "{draft}");
    assert!(site.root().join("static/assets/pic.png").is_file());
    let built = site.out();
    let o = build(site.root(), &built, &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(built.join("posts/my-post/index.html").is_file());
    assert!(
        built.join("about-me/index.html").is_file(),
        "the old page address redirects"
    );
    // A permalink that is the page's address already is no redirect (nor a clash).
    let now = std::fs::read_to_string(built.join("now/index.html")).expect("now page");
    assert!(!now.contains("http-equiv=\"refresh\""), "{now}");
    assert!(!read(&built, "_redirects").contains("/now/"));
}
