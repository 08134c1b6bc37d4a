//! Writes the public conversation the companion gave (`ConversationsAnswer`)
//! into the site folder: `conversations.toml` and `conversations/avatars/`.
//! One writer for `stoa pull`, `stoa publish` and the companion's own
//! re-render (`stoa inbox --site`), so all three leave the same files.
//! Files are only rewritten when their bytes change, so the build's
//! fingerprint stays the same when nothing did.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine;

use crate::companion::api::ConversationsAnswer;
use crate::conversations::{AVATAR_DIR, Conversations};

/// What a pull brought.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pulled {
    /// Posts with a conversation.
    pub posts: usize,
    /// Replies shown.
    pub replies: usize,
    /// Favourites.
    pub likes: usize,
    /// Boosts.
    pub boosts: usize,
    /// Whether anything in the site folder changed.
    pub changed: bool,
}

/// Writes `answer` into the site folder at `root`; files are only
/// rewritten when they change.
pub fn write(root: &Path, answer: &ConversationsAnswer) -> Result<Pulled> {
    let c = &answer.conversations;
    let mut changed = false;
    let dir = root.join(AVATAR_DIR);
    let wanted: BTreeSet<&str> = c
        .people
        .values()
        .filter_map(|p| p.avatar.as_deref())
        .collect();
    if !wanted.is_empty() {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for name in &wanted {
        anyhow::ensure!(
            Conversations::is_avatar_name(name),
            "the companion named an avatar {name:?}, which is not a file name stoa writes"
        );
        let b64 = answer.avatars.get(*name).with_context(|| {
            format!("the companion named the avatar {name} but did not send it")
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .with_context(|| format!("the avatar {name} from the companion is not base64"))?;
        changed |= write_if_changed(&dir.join(name), &bytes)?;
    }
    // Avatars no longer shown go (their people were blocked, or left).
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if Conversations::is_avatar_name(&name) && !wanted.contains(name.as_str()) {
                std::fs::remove_file(e.path())
                    .with_context(|| format!("removing {}", e.path().display()))?;
                changed = true;
            }
        }
    }
    let text = if c.posts.is_empty() && c.people.is_empty() {
        None
    } else {
        Some(c.to_text())
    };
    let path = Conversations::path(root);
    match text {
        Some(t) => changed |= write_if_changed(&path, t.as_bytes())?,
        None if path.exists() => {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            changed = true;
        }
        None => {}
    }
    Ok(Pulled {
        posts: c.posts.len(),
        replies: c.posts.values().map(|p| p.replies.len()).sum(),
        likes: c.posts.values().map(|p| p.likes.len()).sum(),
        boosts: c.posts.values().map(|p| p.boosts.len()).sum(),
        changed,
    })
}

/// Writes `bytes` atomically unless the file already holds them.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing into {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(true)
}
