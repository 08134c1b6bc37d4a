//! Facts about image files that posts use: where the file is, its pixel
//! size (read from the header only) and its blurhash (the placeholder
//! Mastodon shows while the image loads).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use crate::text::percent_decode;

/// Whether a URL points into this site (so the file should exist).
pub fn is_local(src: &str) -> bool {
    !(src.contains("://") || src.starts_with("//") || src.starts_with("data:"))
}

/// The file behind an image URL: site-absolute paths are looked up in
/// `static_dirs`, relative ones next to the Markdown file.
pub fn locate(src: &str, static_dirs: &[PathBuf], source_dir: &Path) -> Option<PathBuf> {
    if !is_local(src) {
        return None;
    }
    let path = percent_decode(src.split(['?', '#']).next().unwrap_or(src));
    let candidates: Vec<PathBuf> = match path.strip_prefix('/') {
        Some(abs) => static_dirs.iter().map(|d| d.join(abs)).collect(),
        None => vec![source_dir.join(&path)],
    };
    candidates.into_iter().find(|p| p.is_file())
}

/// Width and height in pixels, from the file header.
pub fn size(path: &Path) -> Option<(usize, usize)> {
    imagesize::size(path).ok().map(|s| (s.width, s.height))
}

type Key = (PathBuf, u64, Option<SystemTime>);

/// Blurhash (4×3 components) of an image file. Decoding is the expensive
/// part, so results are remembered per file version for the process (a
/// post's object is rendered for its own file and again in the outbox).
pub fn blurhash(path: &Path) -> Option<String> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Option<String>>>> = OnceLock::new();
    let meta = std::fs::metadata(path).ok()?;
    let key = (path.to_path_buf(), meta.len(), meta.modified().ok());
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return hit.clone();
    }
    let value = image::open(path).ok().and_then(|img| {
        let thumb = img.thumbnail(32, 32).to_rgba8();
        blurhash::encode(4, 3, thumb.width(), thumb.height(), thumb.as_raw()).ok()
    });
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, value.clone());
    value
}
