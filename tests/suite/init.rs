//! `stoa init`: a site that builds at once, a key pair with a private half
//! that only its owner can read and git never sees.

use crate::common::{build, snapshot, stoa, text};

#[test]
fn init_makes_a_buildable_site_with_a_safe_key() {
    let dir = tempfile::tempdir().expect("temp");
    let site = dir.path().join("myblog");
    let o = stoa()
        .args(["init", "--title", "Night Notes", "--username", "night"])
        .arg(&site)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{:?}", text(&o));
    for f in [
        "stoa.toml",
        "content/posts/hello-world.md",
        "content/about.md",
        ".gitignore",
        "actor-key.pub.pem",
    ] {
        assert!(site.join(f).is_file(), "{f} missing");
    }
    assert!(site.join("static").is_dir());
    let key = site.join("secrets/actor-key.pem");
    let pem = std::fs::read_to_string(&key).expect("private key");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(site.join("secrets"))
                .expect("meta")
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
    }
    let gitignore = std::fs::read_to_string(site.join(".gitignore")).expect("gitignore");
    assert!(gitignore.contains("/public/") && gitignore.contains("/secrets/"));
    let (stdout, stderr) = text(&o);
    assert!(
        !stdout.contains("BEGIN") && !stderr.contains("BEGIN"),
        "init printed key material"
    );

    let out = site.join("public");
    let o = build(&site, &out, &[]);
    assert!(o.status.success(), "{:?}", text(&o));
    let home = std::fs::read_to_string(out.join("index.html")).expect("home");
    assert!(home.contains("Night Notes") && home.contains("Hello, world"));
    assert!(home.contains("@night@blog.example.com"));
    for (rel, bytes) in snapshot(&out) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("PRIVATE KEY"),
            "{rel} leaks the private key"
        );
    }
}

#[test]
fn init_refuses_an_existing_site_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp");
    assert!(
        stoa()
            .arg("init")
            .arg(dir.path())
            .output()
            .expect("runs")
            .status
            .success()
    );
    let before = snapshot(dir.path());
    let o = stoa().arg("init").arg(dir.path()).output().expect("runs");
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(stderr.contains("already holds a site"), "{stderr}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn init_rejects_bad_flags_before_writing() {
    let dir = tempfile::tempdir().expect("temp");
    let site = dir.path().join("x");
    let o = stoa()
        .args(["init", "--username", "Not Valid"])
        .arg(&site)
        .output()
        .expect("runs");
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(stderr.contains("username"), "{stderr}");
    assert!(!site.join("stoa.toml").exists() && !site.join("secrets").exists());
}
