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
    let out = site.build_ok();

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
    let out = site.build_ok();
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
    let out = site.build_ok();
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
    let out = site.build_ok();
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

/// Fails naming the first of `parts` that `text` lacks, and the text.
fn assert_contains_all(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part}: {text}");
    }
}

/// A small PNG (real bytes: the build reads image sizes).
fn png(w: u32, h: u32) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]))
        .write_to(&mut bytes, image::ImageFormat::Png)
        .expect("a png");
    bytes.into_inner()
}

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
const OLD: &str = "https://old.example/users/ada";

/// One `Create` of Mastodon's outbox.json, as its serializers write it.
fn create(n: u32, to: &[&str], cc: &[&str], extra: serde_json::Value) -> serde_json::Value {
    let mut note = serde_json::json!({
        "id": format!("{OLD}/statuses/{n}"),
        "type": "Note",
        "summary": null,
        "inReplyTo": null,
        "published": format!("2023-04-0{}T06:07:08Z", n % 10),
        "url": format!("https://old.example/@ada/{n}"),
        "attributedTo": OLD,
        "to": to,
        "cc": cc,
        "sensitive": false,
        "atomUri": format!("{OLD}/statuses/{n}"),
        "conversation": "tag:old.example,2023-04-05:objectId=1:objectType=Conversation",
        "content": format!("<p>Post {n}</p>"),
        "contentMap": {"en": format!("<p>Post {n}</p>")},
        "attachment": [],
        "tag": [],
        "replies": {"id": format!("{OLD}/statuses/{n}/replies"), "type": "Collection"}
    });
    if let (Some(note), Some(extra)) = (note.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            note.insert(k.clone(), v.clone());
        }
    }
    serde_json::json!({
        "id": format!("{OLD}/statuses/{n}/activity"),
        "type": "Create",
        "actor": OLD,
        "published": note["published"],
        "to": to,
        "cc": cc,
        "object": note
    })
}

/// The files of a Mastodon archive ("Request your archive"): outbox.json
/// with a public post (content warning, hashtag, German, an image with alt
/// text), an unlisted self-reply with a video, a followers-only and a
/// direct post, a boost; actor.json with name, bio, fields, avatar, header.
fn mastodon_archive() -> Vec<(String, Vec<u8>)> {
    let followers = format!("{OLD}/followers");
    let items = vec![
        create(
            1001,
            &[PUBLIC],
            &[&followers],
            serde_json::json!({
                "summary": "Spoilers",
                "sensitive": true,
                "content": "<p>Hello <a href=\"https://old.example/tags/rust\" class=\"mention hashtag\" rel=\"tag\">#<span>rust</span></a> world &amp; <a href=\"https://example.com/x_y\" rel=\"nofollow noopener\" target=\"_blank\"><span class=\"invisible\">https://</span><span class=\"\">example.com/x_y</span><span class=\"invisible\"></span></a></p>",
                "contentMap": {"de": "<p>Hallo</p>"},
                "tag": [{"type": "Hashtag", "href": "https://old.example/tags/rust", "name": "#rust"}],
                "attachment": [{"type": "Document", "mediaType": "image/png", "url": "/media_attachments/files/000/000/001/original/pic.png", "name": "A red square", "blurhash": "U00000fQfQfQfQfQfQfQfQfQfQfQ", "width": 4, "height": 3}]
            }),
        ),
        create(
            1002,
            &[&followers],
            &[PUBLIC],
            serde_json::json!({
                "inReplyTo": format!("{OLD}/statuses/1001"),
                "content": "<p>Second in the thread</p>",
                "attachment": [{"type": "Document", "mediaType": "video/mp4", "url": "media_attachments/files/000/000/002/original/clip.mp4", "name": "A clip"}]
            }),
        ),
        create(1003, &[&followers], &[], serde_json::json!({})),
        create(
            1004,
            &["https://other.example/users/bob"],
            &[],
            serde_json::json!({"tag": [{"type": "Mention", "href": "https://other.example/users/bob", "name": "@bob@other.example"}]}),
        ),
        serde_json::json!({
            "id": format!("{OLD}/statuses/1005/activity"),
            "type": "Announce",
            "actor": OLD,
            "published": "2023-04-06T00:00:00Z",
            "to": [PUBLIC],
            "cc": [followers],
            "object": "https://other.example/users/bob/statuses/9"
        }),
    ];
    let outbox = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "outbox.json",
        "type": "OrderedCollection",
        "totalItems": items.len(),
        "orderedItems": items
    });
    let actor = serde_json::json!({
        "@context": ["https://www.w3.org/ns/activitystreams"],
        "id": OLD,
        "type": "Person",
        "preferredUsername": "ada",
        "name": "Ada Old",
        "summary": "<p>Cyclist &amp; cook</p><p>Bristol</p>",
        "attachment": [
            {"type": "PropertyValue", "name": "Site", "value": "<a href=\"https://ada.example\" target=\"_blank\" rel=\"nofollow noopener me\"><span class=\"invisible\">https://</span><span class=\"\">ada.example</span><span class=\"invisible\"></span></a>"},
            {"type": "PropertyValue", "name": "Pronouns", "value": "she/her"}
        ],
        "icon": {"type": "Image", "mediaType": "image/png", "url": "avatar.png"},
        "image": {"type": "Image", "mediaType": "image/png", "url": "header.png"},
        "outbox": "outbox.json"
    });
    vec![
        ("outbox.json".into(), outbox.to_string().into_bytes()),
        ("actor.json".into(), actor.to_string().into_bytes()),
        (
            "media_attachments/files/000/000/001/original/pic.png".into(),
            png(4, 3),
        ),
        (
            "media_attachments/files/000/000/002/original/clip.mp4".into(),
            b"not really a video".to_vec(),
        ),
        ("avatar.png".into(), png(2, 2)),
        ("header.png".into(), png(6, 2)),
        ("likes.json".into(), b"{}".to_vec()),
    ]
}

fn write_zip(path: &std::path::Path, entries: &[(String, Vec<u8>)]) {
    use std::io::Write;
    let file = std::fs::File::create(path).expect("zip file");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), options).expect("entry");
        zip.write_all(bytes).expect("write entry");
    }
    zip.finish().expect("zip written");
}

fn import(
    kind: &str,
    source: &std::path::Path,
    site: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    crate::common::stoa()
        .args(["import", kind])
        .arg(source)
        .arg("--root")
        .arg(site)
        .args(extra)
        .output()
        .expect("runs")
}

#[test]
fn stoa_import_mastodon_archive_zip_with_profile() {
    let dir = tempfile::tempdir().expect("tmp");
    let zip = dir.path().join("archive-20261202-abc.zip");
    write_zip(&zip, &mastodon_archive());
    let site = TempSite::with(&[("stoa.toml", CONFIG)]);
    let config_before = read(site.root(), "stoa.toml");

    let o = import("mastodon", &zip, site.root(), &["--dry-run", "--profile"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("Would import 2 posts"), "{out}");
    assert!(
        !site.root().join("content").exists(),
        "--dry-run writes nothing"
    );
    assert!(!site.root().join("published.toml").exists());
    assert_eq!(read(site.root(), "stoa.toml"), config_before);

    let o = import("mastodon", &zip, site.root(), &["--profile"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains("Imported 2 posts and pages, 4 other files; 3 skipped"),
        "{out}"
    );
    for why in ["a boost", "followers-only", "direct"] {
        assert!(err.contains(why), "{why}: {err}");
    }
    let first = read(site.root(), "content/posts/1001/index.md");
    assert_contains_all(
        &first,
        &[
            "date = 2023-04-01T06:07:08Z",
            "tags = [\"rust\"]",
            "content_warning = \"Spoilers\"",
            "sensitive = true",
            "images = [{ src = \"media-1.png\", alt = \"A red square\" }]",
            "language = \"de\"",
            "Hello #rust world & <https://example.com/x_y>",
        ],
    );
    assert_eq!(
        std::fs::read(site.root().join("content/posts/1001/media-1.png")).expect("media"),
        png(4, 3)
    );
    let second = read(site.root(), "content/posts/1002/index.md");
    assert!(
        second.contains("in_reply_to = \"https://blog.example.com/ap/posts/1001.json\""),
        "a self-reply points at the imported post: {second}"
    );
    assert!(
        second.contains("[video: A clip](https://blog.example.com/posts/1002/media-1.mp4)"),
        "{second}"
    );
    assert!(site.root().join("content/posts/1002/media-1.mp4").is_file());
    for skipped in ["1003", "1004", "1005"] {
        assert!(
            !site
                .root()
                .join(format!("content/posts/{skipped}.md"))
                .exists()
        );
    }
    let log = read(site.root(), "published.toml");
    assert!(
        log.contains("[imported]\n1001 = ") && log.contains("\n1002 = "),
        "{log}"
    );

    // The profile, where stoa.toml left it open.
    let config = read(site.root(), "stoa.toml");
    assert_contains_all(
        &config,
        &[
            "display_name = \"Ada Old\"",
            "bio = \"\"\"\nCyclist & cook\n\nBristol\"\"\"",
            "avatar = \"/avatar.png\"",
            "header = \"/header.png\"",
            "also_known_as = [\"https://old.example/users/ada\"]",
            "[[links]]\nname = \"Site\"\nurl = \"https://ada.example\"",
        ],
    );
    assert!(err.contains("Pronouns") && err.contains("no link"), "{err}");
    assert!(
        out.contains("set in stoa.toml: [fediverse] display_name = \"Ada Old\""),
        "{out}"
    );
    assert_eq!(
        std::fs::read(site.root().join("static/avatar.png")).expect("avatar"),
        png(2, 2)
    );

    let built = site.out();
    let o = build(site.root(), &built, &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    let obj = object(&built, "1001");
    assert_eq!(obj["published"], "2023-04-01T06:07:08Z");
    assert_eq!(obj["summary"], "Spoilers");
    assert_eq!(obj["sensitive"], true);
    assert_eq!(obj["attachment"][0]["name"], "A red square");
    assert!(
        obj["content"]
            .as_str()
            .unwrap_or("")
            .contains("world &amp;"),
        "{obj}"
    );
    assert_eq!(obj["tag"][0]["name"], "#rust", "{obj}");
    assert_eq!(
        object(&built, "1002")["inReplyTo"],
        "https://blog.example.com/ap/posts/1001.json"
    );
    let actor: serde_json::Value =
        serde_json::from_str(&read(&built, "ap/actor.json")).expect("actor");
    assert_eq!(actor["name"], "Ada Old");
    let (checked, broken) = crate::build::broken_links(&built);
    assert!(checked > 0 && broken.is_empty(), "broken links: {broken:?}");

    // Again: nothing overwritten, and said so.
    let o = import("mastodon", &zip, site.root(), &[]);
    let (out, err) = text(&o);
    assert!(
        o.status.success() && out.contains("Imported 0 posts"),
        "{out}{err}"
    );
    assert!(err.contains("already there"), "{err}");
}

#[test]
fn a_forged_mastodon_archive_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let site = TempSite::with(&[("stoa.toml", CONFIG)]);
    // Zip slip: an entry that would land outside the archive.
    let mut entries = mastodon_archive();
    entries.push(("../../escape.txt".into(), b"x".to_vec()));
    let zip = dir.path().join("forged.zip");
    write_zip(&zip, &entries);
    let o = import("mastodon", &zip, site.root(), &[]);
    let (out, err) = text(&o);
    assert!(!o.status.success(), "{out}{err}");
    assert!(
        err.contains("../../escape.txt") && err.contains("help:"),
        "{err}"
    );
    assert!(!site.root().join("content").exists());
    assert!(!site.root().join("published.toml").exists());

    // An attachment whose path climbs out of an unpacked archive.
    let folder = dir.path().join("unpacked");
    std::fs::create_dir_all(&folder).expect("dir");
    std::fs::write(dir.path().join("secret.txt"), "secret").expect("secret");
    let outbox = serde_json::json!({"type": "OrderedCollection", "orderedItems": [create(
        7,
        &[PUBLIC],
        &[],
        serde_json::json!({"attachment": [{"type": "Document", "mediaType": "image/png", "url": "../secret.txt", "name": "x"}]}),
    )]});
    std::fs::write(folder.join("outbox.json"), outbox.to_string()).expect("outbox");
    let o = import("mastodon", &folder, site.root(), &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("points outside the archive"), "{out}");
    let post = read(site.root(), "content/posts/7.md");
    assert!(!post.contains("secret"), "{post}");
    assert!(!site.root().join("content/posts/7").exists());

    // Files that would choose their own name or kind on the blog (a page
    // of script, a post's own index.md), a symbolic link out of the
    // unpacked archive, and HTML in a poll option and an alt text.
    let files = folder.join("media_attachments/files");
    std::fs::create_dir_all(&files).expect("dir");
    std::fs::write(files.join("evil.html"), "<script>alert(1)</script>").expect("html");
    std::fs::write(
        files.join("index.md"),
        "+++\n+++\n<script>alert(2)</script>",
    )
    .expect("md");
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), files.join("leak.png"))
        .expect("symlink");
    let outbox = serde_json::json!({"type": "OrderedCollection", "orderedItems": [create(
        8,
        &[PUBLIC],
        &[],
        serde_json::json!({
            "attachment": [
                {"type": "Document", "mediaType": "text/html", "url": "/media_attachments/files/evil.html", "name": "x"},
                {"type": "Document", "mediaType": "image/png", "url": "/media_attachments/files/index.md", "name": "y"},
                {"type": "Document", "mediaType": "image/png", "url": "/media_attachments/files/leak.png", "name": "z"},
                {"type": "Document", "mediaType": "video/mp4", "url": "/media_attachments/files/evil.html", "name": "<img src=x onerror=alert(3)>"},
            ],
            "oneOf": [{"type": "Note", "name": "<img src=x onerror=alert(4)>"}],
        }),
    )]});
    std::fs::write(folder.join("outbox.json"), outbox.to_string()).expect("outbox");
    let o = import("mastodon", &folder, site.root(), &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains("text/html"),
        "the page is left out, said so: {out}"
    );
    let bundle = site.root().join("content/posts/8");
    let post = read(site.root(), "content/posts/8/index.md");
    assert!(
        post.contains("date = 2023-04-08"),
        "the note is ours: {post}"
    );
    let names: Vec<String> = std::fs::read_dir(&bundle)
        .expect("bundle")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "index.md" || n.starts_with("media-")),
        "{names:?}"
    );
    for name in &names {
        let bytes = std::fs::read(bundle.join(name)).expect("file");
        assert!(
            !String::from_utf8_lossy(&bytes).contains("secret"),
            "{name} holds the file behind the link"
        );
    }
    let built = site.out();
    let o = build(site.root(), &built, &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    // Pages and documents hold no script of the archive's (a picture may
    // hold any bytes: it is served as the picture it is named).
    for (file, bytes) in crate::common::snapshot(&built) {
        if !(file.ends_with(".html") || file.ends_with(".json") || file.ends_with(".xml")) {
            continue;
        }
        let body = String::from_utf8_lossy(&bytes);
        assert!(
            !body.contains("<script>alert") && !body.contains("<img src=x onerror"),
            "{file} carries the archive's script"
        );
    }

    // Not an archive at all.
    let o = import("mastodon", &dir.path().join("secret.txt"), site.root(), &[]);
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("not a readable zip"),
        "{err}"
    );
}

/// RSS and JSON Feed served from a loopback server with their images: a
/// good one, one over the size cap, one that is no image; a site whose
/// SSRF guard is on refuses the loopback image and keeps it as a link.
#[test]
fn stoa_import_feed_rss_and_json_feed_with_images() {
    let peer = crate::companion::Peer::start(&[]);
    let base = peer.base.clone();
    let no_delay = std::time::Duration::ZERO;
    peer.serve_media("/img/sun.png", "image/png", png(5, 4), no_delay);
    let huge = vec![0u8; 20 * 1024 * 1024 + 1];
    peer.serve_media("/img/huge.png", "image/png", huge, no_delay);
    peer.serve_media(
        "/img/page.png",
        "text/html",
        b"<html></html>".to_vec(),
        no_delay,
    );
    // A page that says it is a picture, under a name a server would run.
    peer.serve_media(
        "/img/evil.html",
        "image/png",
        b"<script>alert(1)</script>".to_vec(),
        no_delay,
    );
    let rss = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Old blog</title><link>{base}/</link>\
<item><title>Tea &amp; cake</title><link>{base}/2024/05/tea-cake/</link><guid isPermaLink=\"true\">{base}/2024/05/tea-cake/</guid><pubDate>Wed, 01 May 2024 09:30:00 +0200</pubDate><category>food</category><category>baking</category><description>Short.</description>\
<content:encoded><![CDATA[<p>A <strong>good</strong> day.</p><p><img src=\"/img/sun.png\" alt=\"The sun\"> <img src=\"{base}/img/huge.png\" alt=\"Huge\"> <img src=\"/img/page.png\" alt=\"Page\"> <img src=\"/img/evil.html\" alt=\"Evil\"></p>]]></content:encoded></item>\
<item><link>{base}/2024/05/02/note.html</link><pubDate>Thu, 02 May 2024 10:00:00 +0000</pubDate><description>&lt;p&gt;Just a note. &lt;img src=\"/img/sun.png\" alt=\"Sun again\"&gt;&lt;/p&gt;</description></item>\
<item><title>Undated</title><link>{base}/undated/</link></item>\
</channel></rss>"
    );
    let feed_url = peer.serve_media(
        "/feed.xml",
        "application/rss+xml",
        rss.clone().into_bytes(),
        no_delay,
    );
    let json_feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Micro",
        "items": [{
            "id": "https://micro.example/2024/06/01/100000.html",
            "url": "https://micro.example/2024/06/01/100000.html",
            "content_html": "<p>Sunny <a href=\"https://micro.example/tags/weather\">walk</a>.</p>",
            "date_published": "2024-06-01T10:00:00+00:00",
            "tags": ["weather"]
        }]
    });
    let json_url = peer.serve_media(
        "/feed.json",
        "application/feed+json",
        json_feed.to_string().into_bytes(),
        no_delay,
    );
    let config = format!("{CONFIG}[companion]\nallow_private_addresses = true\n");
    let site = TempSite::with(&[("stoa.toml", &config)]);
    let run = |source: &str, root: &std::path::Path, extra: &[&str]| {
        crate::common::stoa()
            .args(["import", "feed", source, "--root"])
            .arg(root)
            .args(extra)
            .output()
            .expect("runs")
    };
    let o = run(&feed_url, site.root(), &["--dry-run"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        !site.root().join("content").exists(),
        "--dry-run writes nothing"
    );

    let o = run(&feed_url, site.root(), &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains("Imported 2 posts and pages, 2 other files; 1 skipped"),
        "{out}"
    );
    assert!(
        err.contains("Undated") || err.contains("/undated/"),
        "{err}"
    );
    assert!(err.contains("no date"), "{err}");
    assert!(
        out.contains("huge.png was not downloaded") && out.contains("larger than"),
        "{out}"
    );
    assert!(
        out.contains("page.png was not downloaded") && out.contains("text/html"),
        "{out}"
    );
    assert!(
        out.contains("evil.html is not a PNG, JPEG, GIF or WebP picture"),
        "{out}"
    );
    let saved: Vec<String> = std::fs::read_dir(site.root().join("static/images/tea-cake"))
        .expect("images")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        saved,
        vec!["1-sun.png".to_string()],
        "only the real picture"
    );
    let tea = read(site.root(), "content/posts/tea-cake.md");
    assert_contains_all(
        &tea,
        &[
            "title = \"Tea & cake\"",
            "date = 2024-05-01T07:30:00Z",
            "tags = [\"food\", \"baking\"]",
            "aliases = [\"/2024/05/tea-cake/\"]",
            "A **good** day.",
            "![The sun](/images/tea-cake/1-sun.png)",
        ],
    );
    assert!(
        tea.contains(&format!("[Huge]({base}/img/huge.png)")),
        "{tea}"
    );
    assert_eq!(
        std::fs::read(site.root().join("static/images/tea-cake/1-sun.png")).expect("image"),
        png(5, 4)
    );
    assert!(
        !site
            .root()
            .join("content/posts/tea-cake/2-huge.png")
            .exists()
    );
    let note = read(site.root(), "content/posts/note.md");
    assert!(!note.contains("title"), "a note stays untitled: {note}");
    assert!(
        note.contains("![Sun again](/images/note/1-sun.png)"),
        "{note}"
    );
    assert!(
        note.contains("date = 2024-05-02T10:00:00Z") && note.contains("Just a note."),
        "{note}"
    );

    let o = run(&json_url, site.root(), &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    let micro = read(site.root(), "content/posts/100000.md");
    assert_contains_all(
        &micro,
        &[
            "date = 2024-06-01T10:00:00Z",
            "tags = [\"weather\"]",
            "Sunny [walk](https://micro.example/tags/weather).",
        ],
    );
    let log = read(site.root(), "published.toml");
    for slug in ["tea-cake", "note", "100000"] {
        assert!(log.contains(&format!("\n{slug} = ")), "{slug}: {log}");
    }

    let built = site.out();
    let o = build(site.root(), &built, &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    let obj = object(&built, "tea-cake");
    assert_eq!(obj["published"], "2024-05-01T07:30:00Z");
    assert!(built.join("images/tea-cake/1-sun.png").is_file());
    assert!(
        built.join("2024/05/tea-cake/index.html").is_file(),
        "the old address redirects"
    );
    let (checked, broken) = crate::build::broken_links(&built);
    assert!(checked > 0 && broken.is_empty(), "broken links: {broken:?}");

    // The SSRF guard on (the default): the loopback image is refused, and
    // stays a link; the feed is read from a file.
    let guarded = TempSite::with(&[("stoa.toml", CONFIG)]);
    let file = guarded.root().join("feed.xml");
    std::fs::write(&file, &rss).expect("feed file");
    let o = crate::common::stoa()
        .args(["import", "feed"])
        .arg(&file)
        .arg("--root")
        .arg(guarded.root())
        .output()
        .expect("runs");
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(out.contains("refused to contact"), "{out}");
    let tea = read(guarded.root(), "content/posts/tea-cake.md");
    assert!(
        tea.contains(&format!("[The sun]({base}/img/sun.png)")),
        "{tea}"
    );
}

fn write_folder(dir: &std::path::Path, entries: &[(String, Vec<u8>)]) {
    for (name, bytes) in entries {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("dir");
        std::fs::write(path, bytes).expect("entry");
    }
}

/// Imports never reach followers: into a new blog (its first publish
/// records everything), and into a blog that has published before, where
/// the next publish records the imported posts without a Create while a
/// post written since is announced as usual. Checked by Fedify as follower.
#[test]
fn publish_after_an_import_announces_only_new_posts_to_fedify() {
    let Some((blog, fedify)) = crate::companion::fedify::followed_blog() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");

    // 1. Into the new blog: the first publish sends nothing.
    let first = dir.path().join("first");
    write_folder(&first, &mastodon_archive());
    let o = import("mastodon", &first, &blog.root(), &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    let out = blog.publish_ok(&[]);
    assert!(out.contains("First publish"), "{out}");

    // 2. Into the blog that has published: imported posts and one new post.
    let second = dir.path().join("second");
    let outbox = serde_json::json!({"type": "OrderedCollection", "orderedItems": [
        create(2001, &[PUBLIC], &[], serde_json::json!({"content": "<p>Old toot one</p>"})),
        create(2002, &[PUBLIC], &[], serde_json::json!({"content": "<p>Old toot two</p>"})),
    ]});
    write_folder(
        &second,
        &[("outbox.json".into(), outbox.to_string().into_bytes())],
    );
    let o = import("mastodon", &second, &blog.root(), &[]);
    let (out, err) = text(&o);
    assert!(
        o.status.success() && out.contains("Imported 2 posts"),
        "{out}{err}"
    );
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    blog.write_post("written-today", &format!("date = {today}"), "Brand new.");
    let out = blog.publish_ok(&[]);
    assert!(
        out.contains("imported  2001") && out.contains("imported  2002"),
        "{out}"
    );
    let new_id = format!("{}/ap/posts/written-today.json", blog.base);
    let create = fedify.wait_received("Create");
    assert_eq!(create["objectId"], new_id, "{create}");
    // publish_ok waited until every delivery of this publish was tried.
    let creates: Vec<serde_json::Value> = fedify
        .received()
        .into_iter()
        .filter(|a| a["type"] == "Create")
        .map(|a| a["objectId"].clone())
        .collect();
    assert_eq!(
        creates,
        [serde_json::json!(new_id)],
        "only the new post is announced"
    );
    // The companion knows the imported posts (a later edit is an Update).
    let manifest = blog.admin("manifest");
    for slug in ["2001", "2002", "1001", "1002"] {
        let id = format!("{}/ap/posts/{slug}.json", blog.base);
        assert!(manifest["objects"].get(&id).is_some(), "{id}: {manifest}");
    }
    // The imported posts keep their dates.
    let object: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(blog.root().join("public/ap/posts/2001.json")).expect("object"),
    )
    .expect("json");
    assert_eq!(object["published"], "2023-04-01T06:07:08Z");
    let log = std::fs::read_to_string(blog.root().join("published.toml")).unwrap_or_default();
    assert!(
        !log.contains("[imported]"),
        "recorded, then forgotten: {log}"
    );
    // A third publish has nothing to send.
    let out = blog.publish_ok(&[]);
    assert!(out.contains("Nothing new to send"), "{out}");
}

/// `--profile` fills only what stoa.toml leaves open and names what it kept.
#[test]
fn the_profile_takeover_keeps_the_writers_settings() {
    let dir = tempfile::tempdir().expect("tmp");
    write_folder(dir.path(), &mastodon_archive());
    let config = "base_url = \"https://blog.example.com\"\ntitle = \"Test\"\n\n[[links]]\nname = \"Code\"\nurl = \"https://code.example\"\n\n[fediverse]\nusername = \"test\"\ndisplay_name = \"Mine\"\navatar = \"/me.png\"\n";
    let site = TempSite::with(&[("stoa.toml", config)]);
    let o = import("mastodon", dir.path(), site.root(), &["--profile"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        err.contains("kept your display_name (\"Mine\")") && err.contains("\"Ada Old\""),
        "{err}"
    );
    assert!(err.contains("kept your avatar (\"/me.png\")"), "{err}");
    assert!(err.contains("kept your [[links]]"), "{err}");
    let written = read(site.root(), "stoa.toml");
    assert_contains_all(
        &written,
        &[
            "display_name = \"Mine\"",
            "avatar = \"/me.png\"",
            "header = \"/header.png\"",
            "name = \"Code\"",
        ],
    );
    assert!(
        !written.contains("Ada Old") && !written.contains("ada.example"),
        "{written}"
    );
    assert!(!site.root().join("static/avatar.png").exists());

    // An older Mastodon's .tar.gz is named, with the fix.
    let tar = dir.path().join("archive-2020.tar.gz");
    std::fs::write(&tar, b"\x1f\x8b").expect("tar");
    let o = import("mastodon", &tar, site.root(), &[]);
    let (_, err) = text(&o);
    assert!(!o.status.success() && err.contains("tar xzf"), "{err}");
}
