//! The post objects of a built site, read back from the output folder with
//! a hash of each: what the manifest sent to the companion is made of.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::federation::Urls;

/// A built post object: its bytes and their SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The document as served.
    pub bytes: Vec<u8>,
    /// Hex SHA-256 of the bytes.
    pub hash: String,
}

impl Built {
    /// An object and its hash.
    pub fn new(bytes: Vec<u8>) -> Built {
        Built {
            hash: hex::encode(Sha256::digest(&bytes)),
            bytes,
        }
    }
}

impl Built {
    /// A post object and its hash, which leaves out its `replies`
    /// collection: a reply someone wrote is not an edit of the post, and
    /// must not send followers an Update or mark the post as updated.
    pub fn post(bytes: Vec<u8>) -> Built {
        let hash = match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut v) if v.get("replies").is_some() => {
                let id = v["id"].as_str().unwrap_or_default().to_string();
                v["replies"] = crate::federation::objects::replies_for_hash(&id);
                hex::encode(Sha256::digest(crate::federation::to_bytes(&v)))
            }
            _ => hex::encode(Sha256::digest(&bytes)),
        };
        Built { bytes, hash }
    }
}

/// Every post object in the output (Tombstones aside), by id.
pub fn read(output: &Path, config: &Config) -> std::io::Result<BTreeMap<String, Built>> {
    let dir = output.join("ap").join("posts");
    let mut out = BTreeMap::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        let Some(slug) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        let bytes = std::fs::read(&path)?;
        let is_tombstone =
            serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| v["type"] == "Tombstone");
        if !is_tombstone {
            out.insert(Urls::object(config, slug), Built::post(bytes));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::objects::{replies, replies_for_hash};
    use serde_json::json;

    #[test]
    fn replies_never_change_a_posts_hash_nor_does_their_paged_shape() {
        let config = Config::parse(
            "base_url = \"https://blog.example\"\ntitle = \"t\"\n",
            Path::new("stoa.toml"),
        )
        .expect("config");
        let id = Urls::object(&config, "p");
        // A post without replies as published before replies were paged:
        // the hash stored then was that of its bytes.
        let mut post = json!({"id": id, "type": "Note", "content": "<p>x</p>"});
        post["replies"] = replies_for_hash(&id);
        let before = crate::federation::to_bytes(&post);
        let stored = hex::encode(Sha256::digest(&before));
        assert_eq!(Built::post(before).hash, stored);
        let many: Vec<String> = (0..1200)
            .map(|i| format!("https://m.example/{i}"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        for ids in [&[][..], &many[..3], &many[..]] {
            post["replies"] = replies(&config, "p", ids);
            let built = Built::post(crate::federation::to_bytes(&post));
            assert_eq!(built.hash, stored, "{} replies", ids.len());
        }
        post["content"] = json!("<p>edited</p>");
        assert_ne!(Built::post(crate::federation::to_bytes(&post)).hash, stored);
    }
}
