//! Mapping a request path to a file of the built site, without redirects,
//! and the response for it (with the live-reload script in HTML pages).

use std::path::{Component, Path, PathBuf};

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::content_types;
use crate::static_files::guard;
use crate::text::{escape as html_escape, percent_decode};

/// What a path resolved to.
pub enum Found {
    /// A file, with the site path its type is decided by.
    File {
        /// Site path used for the Content-Type.
        site_path: String,
        /// Contents.
        bytes: Vec<u8>,
    },
    /// Nothing: the site's `404.html` (if any) with status 404.
    NotFound(Option<Vec<u8>>),
}

/// Resolves `request_path` inside `root`: files as they are, folders to
/// their `index.html` with or without the trailing slash (no redirect, as
/// fediverse servers require). A symlink is followed only while it stays
/// inside `root`: one that leads outside is answered like a missing file.
pub fn lookup(root: &Path, request_path: &str) -> Found {
    let Ok(root) = root.canonicalize() else {
        return Found::NotFound(None);
    };
    let not_found = || Found::NotFound(read_inside(&root, &root.join("404.html")));
    let decoded = percent_decode(request_path);
    let Some(rel) = safe_relative(&decoded) else {
        return not_found();
    };
    let candidate = root.join(&rel);
    let (file, site_path) = if candidate.is_dir() {
        let site_path = format!("{}/index.html", decoded.trim_end_matches('/'));
        (candidate.join("index.html"), site_path)
    } else {
        (candidate, decoded.clone())
    };
    // stoa's own files: the manifest, the journal, the staging folder.
    if is_internal(&file)
        || rel
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with(".stoa"))
    {
        return not_found();
    }
    match read_inside(&root, &file) {
        Some(bytes) => Found::File { site_path, bytes },
        None => not_found(),
    }
}

/// The bytes of `file` if it really is (symlinks resolved) a file inside
/// the canonical `root` and not one of stoa's own.
fn read_inside(root: &Path, file: &Path) -> Option<Vec<u8>> {
    let real = guard::resolve_inside(root, file)?;
    if is_internal(&real) {
        return None;
    }
    std::fs::read(real).ok()
}

/// stoa's own bookkeeping files (`.stoa-manifest`, staging files).
fn is_internal(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with(".stoa"))
}

fn safe_relative(path: &str) -> Option<PathBuf> {
    let rel = PathBuf::from(path.trim_start_matches('/'));
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(rel)
}

/// The script that reloads the page when the site is rebuilt.
const RELOAD_SCRIPT: &str = r#"<script>(function(){var s=new EventSource("/__stoa/reload");s.addEventListener("reload",function(){location.reload()});})();</script>"#;

/// Who serves the file: `stoa serve` (live reload, build errors over the
/// page) or the companion serving a deployed site (the bytes as built).
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    /// `stoa serve`, with the last build error if the last build failed.
    Preview(Option<&'a str>),
    /// `stoa inbox --site`.
    Deployed,
}

/// Builds the HTTP response; in preview, HTML gets the reload script and,
/// after a failed build, the error on top of the page.
pub fn respond(found: Found, mode: Mode<'_>) -> Response {
    let (status, site_path, bytes) = match found {
        Found::File { site_path, bytes } => (StatusCode::OK, site_path, bytes),
        Found::NotFound(Some(bytes)) => (StatusCode::NOT_FOUND, "/404.html".to_string(), bytes),
        Found::NotFound(None) => (
            StatusCode::NOT_FOUND,
            "/404.html".to_string(),
            b"<!doctype html><title>Not found</title><h1>Not found</h1>".to_vec(),
        ),
    };
    let content_type = content_types::for_path(&site_path);
    let body = match mode {
        Mode::Preview(build_error) if content_type.starts_with("text/html") => {
            inject(bytes, build_error)
        }
        _ => bytes,
    };
    let cache = match mode {
        Mode::Preview(_) => "no-cache",
        Mode::Deployed => "public, max-age=300",
    };
    (
        status,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
        .into_response()
}

fn inject(bytes: Vec<u8>, build_error: Option<&str>) -> Vec<u8> {
    let mut html = String::from_utf8_lossy(&bytes).into_owned();
    let mut snippet = String::from(RELOAD_SCRIPT);
    if let Some(e) = build_error {
        snippet.push_str(&format!(
            "<div role=\"alert\" style=\"position:fixed;inset:0 0 auto 0;z-index:99999;max-height:80vh;overflow:auto;background:#7f1d1d;color:#fff;padding:1rem 1.5rem;font:14px/1.5 ui-monospace,monospace;white-space:pre-wrap\"><strong>stoa: the last build failed; showing the previous version.</strong>\n\n{}</div>",
            html_escape(e)
        ));
    }
    match html.rfind("</body>") {
        Some(i) => html.insert_str(i, &snippet),
        None => html.push_str(&snippet),
    }
    html.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_never_escape_the_root() {
        assert!(safe_relative("/../etc/passwd").is_none());
        assert!(safe_relative("/a/./b").is_some());
        assert!(safe_relative("/a/../b").is_none());
    }

    #[test]
    fn folders_resolve_with_and_without_slash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("posts/x")).unwrap();
        std::fs::write(dir.path().join("posts/x/index.html"), "hi").unwrap();
        for p in ["/posts/x/", "/posts/x"] {
            match lookup(dir.path(), p) {
                Found::File { site_path, bytes } => {
                    assert_eq!(site_path, "/posts/x/index.html");
                    assert_eq!(bytes, b"hi");
                }
                Found::NotFound(_) => panic!("{p} not found"),
            }
        }
    }

    #[test]
    fn symlinks_are_followed_only_inside_the_root() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("public");
        std::fs::create_dir_all(root.join("posts/x")).unwrap();
        std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
        std::fs::write(dir.path().join("secrets/key.pem"), "SECRET KEY").unwrap();
        std::fs::write(root.join("posts/x/index.html"), "post").unwrap();
        symlink("../secrets/key.pem", root.join("leak.pem")).unwrap();
        symlink("..", root.join("up")).unwrap();
        symlink("posts/x", root.join("alias")).unwrap();
        // Even the 404 page, sent for every miss, must not lead outside.
        symlink("../secrets/key.pem", root.join("404.html")).unwrap();
        for p in [
            "/leak.pem",
            "/up/secrets/key.pem",
            "/up/public/../secrets/key.pem",
        ] {
            match lookup(&root, p) {
                Found::NotFound(None) => {}
                Found::NotFound(Some(b)) | Found::File { bytes: b, .. } => {
                    panic!("{p} served {:?}", String::from_utf8_lossy(&b))
                }
            }
        }
        match lookup(&root, "/alias/") {
            Found::File { bytes, .. } => assert_eq!(bytes, b"post"),
            Found::NotFound(_) => panic!("a link inside the root is served"),
        }
    }
}
