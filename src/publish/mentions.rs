//! `@user@host` in posts: looked up with WebFinger at publish and kept in
//! `published.toml`, so builds link and tag them without the network.

use crate::config::Config;
use crate::content::library::Post;
use crate::content::markdown::{self, Mentioned};
use crate::fetch::{Client, FetchError};
use crate::publish::log::{PublishLog, Unresolved};
use jiff::Timestamp;

/// What looking up the new mentions gave.
#[derive(Debug, Default)]
pub struct Lookups {
    /// Accounts found (now in the log).
    pub found: Vec<(String, Mentioned)>,
    /// Accounts that could not be found, with why (they stay plain text).
    pub missing: Vec<(String, FetchError)>,
    /// Accounts not found before and not asked again yet (back-off), with
    /// what the log knows of them.
    pub waiting: Vec<(String, Unresolved)>,
}

/// Every `@user@host` the posts mention that the log does not know yet.
/// Unresolved mentions no post has any more are forgotten.
pub fn unknown(posts: &[Post], log: &mut PublishLog) -> Vec<String> {
    let mut wanted: Vec<String> = Vec::new();
    for post in posts {
        for handle in markdown::find_handles(&post.body) {
            if !log.mentions.contains_key(&handle) && !wanted.contains(&handle) {
                wanted.push(handle);
            }
        }
    }
    log.unresolved.retain(|h, _| wanted.contains(h));
    wanted
}

/// Looks up `handles` with WebFinger and records in `log` the ones found,
/// and the ones not found (with a back-off: a mention that failed is asked
/// again an hour later, then two, four…, at most a week apart, unless
/// `retry_now`).
pub fn resolve(
    config: &Config,
    handles: Vec<String>,
    log: &mut PublishLog,
    now: Timestamp,
    retry_now: bool,
) -> Lookups {
    let mut lookups = Lookups::default();
    let mut ask = Vec::new();
    for handle in handles {
        match log.unresolved.get(&handle) {
            Some(u) if !retry_now && u.next_try() > now => {
                lookups.waiting.push((handle, u.clone()))
            }
            _ => ask.push(handle),
        }
    }
    if ask.is_empty() {
        return lookups;
    }
    let client = Client::for_site(config);
    for handle in ask {
        match client.webfinger(&handle) {
            Ok(m) => {
                log.unresolved.remove(&handle);
                log.mentions.insert(handle.clone(), m.clone());
                lookups.found.push((handle, m));
            }
            Err(e) => {
                let tries = log.unresolved.get(&handle).map_or(0, |u| u.tries);
                log.unresolved.insert(
                    handle.clone(),
                    Unresolved {
                        tries: tries.saturating_add(1),
                        last: now,
                        reason: e.to_string(),
                    },
                );
                lookups.missing.push((handle, e));
            }
        }
    }
    lookups
}

/// Fetches, once, the posts that posts quote (front matter `quote`) and
/// the log does not know yet, with the safe fetcher, and records each in
/// `log` for the blog page: its author's name, its text, its web page.
/// Returns the quoted URLs that could not be fetched, with why (those
/// posts show only the link).
pub fn resolve_quoted(
    config: &Config,
    posts: &[Post],
    log: &mut PublishLog,
) -> Vec<(String, FetchError)> {
    let wanted: Vec<String> = posts
        .iter()
        .filter_map(|p| p.meta.quote.clone())
        .filter(|q| !log.quoted.contains_key(q))
        .collect();
    let mut missing = Vec::new();
    if wanted.is_empty() {
        return missing;
    }
    let client = Client::for_site(config);
    for url in wanted {
        match quoted_post(&client, &url) {
            Ok(q) => {
                log.quoted.insert(url, q);
            }
            Err(e) => missing.push((url, e)),
        }
    }
    missing
}

fn quoted_post(
    client: &Client,
    url: &str,
) -> Result<crate::content::front_matter::QuotedPost, FetchError> {
    use crate::federation::inbound::id_of;
    let doc = client.get_json(url)?;
    // Only http(s) addresses end up in the page's links.
    let author_url = doc
        .get("attributedTo")
        .and_then(id_of)
        .filter(|u| crate::config::url_host(u).is_some())
        .unwrap_or_else(|| url.to_string());
    let author = match client.get_json(&author_url) {
        Ok(actor) => actor
            .get("name")
            .and_then(serde_json::Value::as_str)
            .filter(|n| !n.trim().is_empty())
            .or_else(|| {
                actor
                    .get("preferredUsername")
                    .and_then(serde_json::Value::as_str)
            })
            .unwrap_or(&author_url)
            .to_string(),
        Err(_) => author_url.clone(),
    };
    let html = doc
        .get("content")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let text = crate::text::shorten(
        &crate::federation::html::to_text(&crate::federation::html::mastodon_clean(html)),
        500,
    );
    let page = match doc.get("url") {
        Some(serde_json::Value::String(s)) if crate::config::url_host(s).is_some() => s.clone(),
        _ => url.to_string(),
    };
    Ok(crate::content::front_matter::QuotedPost {
        url: page,
        author,
        author_url,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_not_found_waits_for_its_back_off() {
        let config = Config::parse(
            "base_url = \"https://blog.example\"\ntitle = \"T\"\n[fediverse]\nusername = \"t\"\n",
            std::path::Path::new("stoa.toml"),
        )
        .expect("a config");
        let now: Timestamp = "2026-12-02T10:00:00Z".parse().expect("now");
        let mut log = PublishLog::default();
        log.unresolved.insert(
            "ghost@nowhere.example".into(),
            Unresolved {
                tries: 3,
                last: "2026-12-02T08:00:00Z".parse().expect("last"),
                reason: "not found".into(),
            },
        );
        // Tried at 08:00 for the third time: next look at 12:00, so no
        // lookup now (nothing is fetched: the handle is not even valid).
        let l = resolve(
            &config,
            vec!["ghost@nowhere.example".into()],
            &mut log,
            now,
            false,
        );
        assert!(l.found.is_empty() && l.missing.is_empty());
        assert_eq!(l.waiting.len(), 1);
        assert_eq!(log.unresolved["ghost@nowhere.example"].tries, 3);
    }
}
