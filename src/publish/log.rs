//! `published.toml`: what `stoa publish` decided about times and deletions,
//! kept in the site folder (and in git) so every later build gives the same
//! bytes. A post first published hours after its date (or with a date but no
//! time) carries the time it reached the fediverse, since Mastodon keeps
//! posts older than six hours out of home timelines; an edited post carries
//! the time of the edit, since Mastodon ignores an Update without a later
//! `updated`; a deleted post leaves a Tombstone at its old id.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::content::front_matter::{PostDate, QuotedPost};
use crate::content::library::Library;
use crate::content::markdown::{Mentioned, Mentions};
use crate::error::{Located, SiteError};

/// The file name, at the site root.
pub const FILE: &str = "published.toml";

/// The decisions, by slug.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishLog {
    /// `published` set at first publish.
    pub published: BTreeMap<String, Timestamp>,
    /// `updated` set when an edit was published.
    pub updated: BTreeMap<String, Timestamp>,
    /// When a published post was removed.
    pub deleted: BTreeMap<String, Timestamp>,
    /// Posts `stoa import` brought in, with when: the next publish adds
    /// them to what the companion knows without announcing them, keeps their
    /// dates, and then forgets them here.
    pub imported: BTreeMap<String, Timestamp>,
    /// `@user@host` accounts found by WebFinger (by lowercase `user@host`).
    pub mentions: Mentions,
    /// How many followers the companion had at the last publish (the
    /// static followers collection shows it).
    pub followers: usize,
    /// `@user@host` mentions WebFinger could not find yet, with when they
    /// were last tried, so later publishes back off instead of asking again.
    pub unresolved: BTreeMap<String, Unresolved>,
    /// Stamps (`QuoteAuthorization` URLs) that quoted posts' authors gave
    /// the blog's quoting posts, by slug.
    pub quote_authorizations: BTreeMap<String, String>,
    /// Quoted posts as fetched at publish, by the URL posts quote.
    pub quoted: BTreeMap<String, QuotedPost>,
}

/// A mention that could not be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// Lookups so far.
    pub tries: u32,
    /// The last one.
    pub last: Timestamp,
    /// What it answered.
    pub reason: String,
}

impl Unresolved {
    /// When to look again: an hour after the first failure, doubling, at
    /// most a week apart.
    pub fn next_try(&self) -> Timestamp {
        let hours = 1i64 << self.tries.saturating_sub(1).min(8);
        let wait = jiff::SignedDuration::from_hours(hours.min(24 * 7));
        self.last.checked_add(wait).unwrap_or(self.last)
    }
}

impl PublishLog {
    /// The file's path for a site.
    pub fn path(root: &Path) -> PathBuf {
        root.join(FILE)
    }

    /// Reads the log; a missing file is an empty log.
    pub fn load(root: &Path) -> Result<PublishLog, SiteError> {
        let path = Self::path(root);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(PublishLog::default()),
            Err(e) => return Err(SiteError::io(&path, e)),
        };
        Self::parse(&text, &path)
    }

    /// Parses the text of the file (`path` only for messages).
    pub fn parse(text: &str, path: &Path) -> Result<PublishLog, SiteError> {
        let bad = |line: usize, message: String| {
            SiteError::Config(Located::new(
                path,
                line,
                message,
                Some(format!(
                    "{FILE} is written by `stoa publish`; restore it from git rather than editing it"
                )),
            ))
        };
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| bad(1, format!("not valid TOML: {}", e.message())))?;
        let mut log = PublishLog::default();
        for (section, value) in &table {
            if section == "followers" {
                log.followers = value
                    .as_integer()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        bad(
                            line_of(text, "followers"),
                            "`followers` must be a count".into(),
                        )
                    })?;
                continue;
            }
            if section == "unresolved" {
                let Some(entries) = value.as_table() else {
                    return Err(bad(1, "`unresolved` must be a table".into()));
                };
                for (handle, v) in entries {
                    let tries = v.get("tries").and_then(toml::Value::as_integer);
                    let last = v
                        .get("last")
                        .and_then(toml::Value::as_datetime)
                        .and_then(|d| d.to_string().parse::<Timestamp>().ok());
                    let reason = v.get("reason").and_then(toml::Value::as_str);
                    let (Some(tries), Some(last), Some(reason)) = (tries, last, reason) else {
                        return Err(bad(
                            line_of(text, &format!("\"{handle}\"")),
                            format!("[unresolved] {handle} needs `tries`, `last` and `reason`"),
                        ));
                    };
                    log.unresolved.insert(
                        handle.to_ascii_lowercase(),
                        Unresolved {
                            tries: u32::try_from(tries).unwrap_or(u32::MAX),
                            last,
                            reason: reason.to_string(),
                        },
                    );
                }
                continue;
            }
            if section == "quoted" {
                let Some(entries) = value.as_table() else {
                    return Err(bad(1, "`quoted` must be a table".into()));
                };
                for (url, v) in entries {
                    let field =
                        |k: &str| v.get(k).and_then(toml::Value::as_str).map(str::to_string);
                    let (Some(page), Some(author), Some(author_url), Some(text)) = (
                        field("url"),
                        field("author"),
                        field("author_url"),
                        field("text"),
                    ) else {
                        return Err(bad(
                            line_of(text, &format!("\"{url}\"")),
                            format!(
                                "[quoted] {url} needs `url`, `author`, `author_url` and `text`"
                            ),
                        ));
                    };
                    log.quoted.insert(
                        url.clone(),
                        QuotedPost {
                            url: page,
                            author,
                            author_url,
                            text,
                        },
                    );
                }
                continue;
            }
            if section == "quote_authorizations" {
                let Some(entries) = value.as_table() else {
                    return Err(bad(1, "`quote_authorizations` must be a table".into()));
                };
                for (slug, v) in entries {
                    let Some(url) = v.as_str() else {
                        return Err(bad(
                            line_of(text, slug),
                            format!("[quote_authorizations] {slug} must be a URL"),
                        ));
                    };
                    log.quote_authorizations
                        .insert(slug.clone(), url.to_string());
                }
                continue;
            }
            if section == "mentions" {
                let Some(entries) = value.as_table() else {
                    return Err(bad(1, "`mentions` must be a table".into()));
                };
                for (handle, v) in entries {
                    let field =
                        |k: &str| v.get(k).and_then(toml::Value::as_str).map(str::to_string);
                    let (Some(actor), Some(url)) = (field("actor"), field("url")) else {
                        return Err(bad(
                            line_of(text, &format!("\"{handle}\"")),
                            format!("[mentions] {handle} needs `actor` and `url`"),
                        ));
                    };
                    log.mentions
                        .insert(handle.to_ascii_lowercase(), Mentioned { actor, url });
                }
                continue;
            }
            let target = match section.as_str() {
                "published" => &mut log.published,
                "updated" => &mut log.updated,
                "deleted" => &mut log.deleted,
                "imported" => &mut log.imported,
                other => return Err(bad(1, format!("unknown section [{other}]"))),
            };
            let Some(entries) = value.as_table() else {
                return Err(bad(1, format!("`{section}` must be a table")));
            };
            for (slug, when) in entries {
                let at = when
                    .as_datetime()
                    .and_then(|d| d.to_string().parse::<Timestamp>().ok())
                    .ok_or_else(|| {
                        bad(
                            line_of(text, slug),
                            format!("[{section}] {slug} is not a date and time with an offset"),
                        )
                    })?;
                target.insert(slug.clone(), at);
            }
        }
        Ok(log)
    }

    /// The file's text: sorted, stable, with a header saying what it is.
    pub fn to_text(&self) -> String {
        let mut out = String::from(
            "# Written by `stoa publish` (and `stoa import`): when posts reached the\n\
             # fediverse, so rebuilds give the same bytes. Keep it with your content (commit it).\n",
        );
        if self.followers > 0 {
            out.push_str(&format!("followers = {}\n", self.followers));
        }
        for (name, map) in [
            ("published", &self.published),
            ("updated", &self.updated),
            ("deleted", &self.deleted),
            ("imported", &self.imported),
        ] {
            if map.is_empty() {
                continue;
            }
            out.push_str(&format!("\n[{name}]\n"));
            for (slug, at) in map {
                let key = toml::Value::String(slug.clone()).to_string();
                let key = if slug
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    slug.clone()
                } else {
                    key
                };
                out.push_str(&format!("{key} = {}\n", at.strftime("%Y-%m-%dT%H:%M:%SZ")));
            }
        }
        if !self.quote_authorizations.is_empty() {
            out.push_str("\n[quote_authorizations]\n");
            for (slug, url) in &self.quote_authorizations {
                let q = |s: &str| toml::Value::String(s.to_string()).to_string();
                out.push_str(&format!("{} = {}\n", q(slug), q(url)));
            }
        }
        if !self.quoted.is_empty() {
            out.push_str("\n[quoted]\n");
            for (url, qp) in &self.quoted {
                let q = |s: &str| toml::Value::String(s.to_string()).to_string();
                out.push_str(&format!(
                    "{} = {{ url = {}, author = {}, author_url = {}, text = {} }}\n",
                    q(url),
                    q(&qp.url),
                    q(&qp.author),
                    q(&qp.author_url),
                    q(&qp.text)
                ));
            }
        }
        if !self.mentions.is_empty() {
            out.push_str("\n[mentions]\n");
            for (handle, m) in &self.mentions {
                let q = |s: &str| toml::Value::String(s.to_string()).to_string();
                out.push_str(&format!(
                    "{} = {{ actor = {}, url = {} }}\n",
                    q(handle),
                    q(&m.actor),
                    q(&m.url)
                ));
            }
        }
        if !self.unresolved.is_empty() {
            out.push_str("\n[unresolved]\n");
            for (handle, u) in &self.unresolved {
                let q = |s: &str| toml::Value::String(s.to_string()).to_string();
                out.push_str(&format!(
                    "{} = {{ tries = {}, last = {}, reason = {} }}\n",
                    q(handle),
                    u.tries,
                    u.last.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    q(&u.reason)
                ));
            }
        }
        out
    }

    /// Writes the file atomically (temporary file, then rename).
    pub fn save(&self, root: &Path) -> std::io::Result<()> {
        let path = Self::path(root);
        let tmp = root.join(format!(".{FILE}.tmp"));
        std::fs::write(&tmp, self.to_text())?;
        std::fs::rename(&tmp, &path)
    }

    /// Applies the recorded times and resolved mentions to a library.
    pub fn apply(&self, library: &mut Library) {
        library.mentions = self.mentions.clone();
        library.followers = self.followers;
        for post in &mut library.posts {
            post.meta.quote_authorization = self.quote_authorizations.get(&post.slug).cloned();
            post.meta.quoted = post
                .meta
                .quote
                .as_ref()
                .and_then(|q| self.quoted.get(q))
                .cloned();
            if let Some(at) = self.published.get(&post.slug) {
                post.date = PostDate {
                    at: *at,
                    has_time: true,
                };
            }
            if let Some(at) = self.updated.get(&post.slug) {
                let later = post.meta.updated.is_none_or(|u| u.at < *at);
                if later {
                    post.meta.updated = Some(PostDate {
                        at: *at,
                        has_time: true,
                    });
                }
            }
        }
        library
            .posts
            .sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.slug.cmp(&b.slug)));
    }

    /// Slugs deleted and not back in the library: they get Tombstones.
    pub fn tombstones<'a>(
        &'a self,
        library: &'a Library,
    ) -> impl Iterator<Item = (&'a str, Timestamp)> {
        self.deleted
            .iter()
            .filter(|(slug, _)| !library.posts.iter().any(|p| &p.slug == *slug))
            .map(|(s, t)| (s.as_str(), *t))
    }
}

fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_junk() {
        let mut log = PublishLog::default();
        log.published
            .insert("hello".into(), "2026-11-26T07:30:00Z".parse().unwrap());
        log.deleted
            .insert("odd slug".into(), "2026-11-27T08:00:00Z".parse().unwrap());
        log.imported
            .insert("107".into(), "2026-11-28T08:00:00Z".parse().unwrap());
        log.followers = 12;
        log.unresolved.insert(
            "ghost@nowhere.example".into(),
            Unresolved {
                tries: 2,
                last: "2026-11-27T09:00:00Z".parse().unwrap(),
                reason: "could not reach \"nowhere\"".into(),
            },
        );
        log.quoted.insert(
            "https://m.example/users/a/statuses/1".into(),
            QuotedPost {
                url: "https://m.example/@a/1".into(),
                author: "A \"quoted\" author".into(),
                author_url: "https://m.example/users/a".into(),
                text: "Line one\nline two".into(),
            },
        );
        log.quote_authorizations.insert(
            "quoting".into(),
            "https://m.example/users/a/quote_authorizations/1".into(),
        );
        log.mentions.insert(
            "bob@m.example".into(),
            Mentioned {
                actor: "https://m.example/users/bob".into(),
                url: "https://m.example/@bob".into(),
            },
        );
        let text = log.to_text();
        assert!(text.contains("hello = 2026-11-26T07:30:00Z"), "{text}");
        assert_eq!(PublishLog::parse(&text, Path::new(FILE)).unwrap(), log);
        let err = PublishLog::parse("[published]\nx = \"soon\"\n", Path::new(FILE)).unwrap_err();
        assert!(err.to_string().contains("x is not a date"), "{err}");
        assert!(PublishLog::parse("[other]\n", Path::new(FILE)).is_err());
    }

    #[test]
    fn unresolved_mentions_back_off() {
        let u = |tries| Unresolved {
            tries,
            last: "2026-11-27T09:00:00Z".parse().unwrap(),
            reason: String::new(),
        };
        let after = |tries: u32| u(tries).next_try().strftime("%Y-%m-%dT%H:%M").to_string();
        assert_eq!(after(1), "2026-11-27T10:00");
        assert_eq!(after(2), "2026-11-27T11:00");
        assert_eq!(after(4), "2026-11-27T17:00");
        assert_eq!(after(30), "2026-12-04T09:00");
    }
}
