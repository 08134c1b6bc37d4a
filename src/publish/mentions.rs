//! `@user@host` in posts: looked up with WebFinger at publish and kept in
//! `published.toml`, so builds link and tag them without the network.

use crate::config::Config;
use crate::content::library::Post;
use crate::content::markdown::{self, Mentioned};
use crate::fetch::{Client, FetchError};
use crate::publish::log::PublishLog;

/// What looking up the new mentions gave.
#[derive(Debug, Default)]
pub struct Lookups {
    /// Accounts found (now in the log).
    pub found: Vec<(String, Mentioned)>,
    /// Accounts that could not be found, with why (they stay plain text).
    pub missing: Vec<(String, FetchError)>,
}

/// Every `@user@host` the posts mention that the log does not know yet.
pub fn unknown(posts: &[Post], log: &PublishLog) -> Vec<String> {
    let mut wanted: Vec<String> = Vec::new();
    for post in posts {
        for handle in markdown::find_handles(&post.body) {
            if !log.mentions.contains_key(&handle) && !wanted.contains(&handle) {
                wanted.push(handle);
            }
        }
    }
    wanted
}

/// Looks up `handles` with WebFinger and records the ones found in `log`.
pub fn resolve(config: &Config, handles: Vec<String>, log: &mut PublishLog) -> Lookups {
    let mut lookups = Lookups::default();
    if handles.is_empty() {
        return lookups;
    }
    let client = Client::unsigned(
        config.companion.allow_private_addresses,
        &format!("stoa/{} (+{})", env!("CARGO_PKG_VERSION"), config.base_url),
    );
    for handle in handles {
        match client.webfinger(&handle) {
            Ok(m) => {
                log.mentions.insert(handle.clone(), m.clone());
                lookups.found.push((handle, m));
            }
            Err(e) => lookups.missing.push((handle, e)),
        }
    }
    lookups
}
