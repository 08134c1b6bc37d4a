//! Profiles of the people who interact with the blog: name, handle and a
//! small avatar, fetched once (refreshed daily) so the blog can show them
//! without a reader's browser ever contacting another server. The avatar
//! comes through the safe fetcher (SSRF guard, size and time caps), must
//! decode as an image of sane dimensions, and is stored re-encoded as a
//! small PNG square; anything else leaves the placeholder.

use std::io::Cursor;

use serde_json::Value;

use crate::companion::store::people::Person;
use crate::federation::trust::same_origin;
use crate::fetch::{Client, FetchError};

/// Largest avatar file accepted.
pub const MAX_AVATAR_BYTES: u64 = 2 * 1024 * 1024;
/// Largest avatar dimensions accepted (a decompression bomb is refused).
const MAX_SIDE: u32 = 4096;
/// The stored avatar's side, in pixels (shown at 48 CSS px, sharp at 2×).
pub const AVATAR_SIDE: u32 = 96;

/// Fetches `actor`'s profile and avatar. A missing or refused avatar is
/// logged and left out; a profile that cannot be fetched gives `None`.
pub fn fetch(client: &Client, actor: &str, now_ms: i64) -> Option<Person> {
    let doc = match client.get_json(actor) {
        Ok(d) => d,
        Err(e) => {
            tracing::info!(actor, error = %e, "cannot fetch the profile of an interacting account");
            return None;
        }
    };
    let mut person = read(&doc, actor, now_ms);
    if let Some(url) = icon_url(&doc) {
        match avatar(client, &url) {
            Ok(png) => person.avatar = Some(png),
            Err(e) => tracing::info!(actor, error = %e, "avatar refused; the placeholder is shown"),
        }
    }
    Some(person)
}

/// Name, handle and profile page from an actor document.
pub fn read(doc: &Value, actor: &str, now_ms: i64) -> Person {
    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
    Person {
        actor: actor.to_string(),
        name: text("name")
            .map(|n| strip_tags(&n).chars().take(100).collect::<String>())
            .filter(|n| !n.trim().is_empty()),
        handle: text("preferredUsername")
            .zip(crate::config::url_host(actor))
            .map(|(u, h)| format!("@{u}@{h}")),
        url: text("url").filter(|u| same_origin(u, actor)),
        avatar: None,
        approved: false,
        fetched_at: now_ms,
    }
}

/// Display names may carry custom emoji shortcodes or stray markup; only text is kept.
fn strip_tags(s: &str) -> String {
    ammonia::Builder::empty().clean(s).to_string()
}

fn icon_url(doc: &Value) -> Option<String> {
    let icon = doc.get("icon")?;
    let icon = match icon {
        Value::Array(a) => a.first()?,
        other => other,
    };
    match icon {
        Value::String(s) => Some(s.clone()),
        Value::Object(_) => match icon.get("url")? {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("href")?.as_str().map(str::to_string),
            _ => None,
        },
        _ => None,
    }
}

/// Fetches an avatar and re-encodes it as a small PNG square.
pub fn avatar(client: &Client, url: &str) -> Result<Vec<u8>, FetchError> {
    let bytes = client.get_image(url, MAX_AVATAR_BYTES)?;
    square_png(&bytes).map_err(|reason| FetchError::NotImage {
        url: url.to_string(),
        reason,
    })
}

/// Decodes an image (with dimension and memory limits) and re-encodes it
/// as an [`AVATAR_SIDE`] PNG square.
pub fn square_png(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(128 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| e.to_string())?;
    let small = img.resize_to_fill(
        AVATAR_SIDE,
        AVATAR_SIDE,
        image::imageops::FilterType::Triangle,
    );
    let mut out = Vec::new();
    small
        .to_rgba8()
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_becomes_a_small_square_and_garbage_is_refused() {
        let img = image::RgbImage::from_pixel(300, 200, image::Rgb([200, 10, 10]));
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("encodes");
        let out = square_png(&png).expect("decodes");
        let back = image::load_from_memory(&out).expect("a png");
        assert_eq!((back.width(), back.height()), (AVATAR_SIDE, AVATAR_SIDE));
        assert!(square_png(b"<svg onload=alert(1)>").is_err());
    }

    #[test]
    fn names_lose_markup_and_urls_stay_on_the_actor_server() {
        let doc = serde_json::json!({
            "name": "<img src=x onerror=alert(1)>Eve <b>bold</b>",
            "preferredUsername": "eve",
            "url": "https://evil.example/eve",
            "icon": {"type": "Image", "url": "https://a.example/eve.png"}
        });
        let p = read(&doc, "https://a.example/users/eve", 1);
        assert_eq!(p.name.as_deref(), Some("Eve bold"));
        assert_eq!(p.handle.as_deref(), Some("@eve@a.example"));
        assert_eq!(p.url, None);
        assert_eq!(icon_url(&doc).as_deref(), Some("https://a.example/eve.png"));
    }
}
