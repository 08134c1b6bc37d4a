//! What a publish decides, given what the companion published before and
//! what the build made. Pure: the time is passed in.
//!
//! - The first publish of an existing archive decides nothing: the
//!   companion records what is there and sends nothing.
//! - A new post whose date has no time, or is more than an hour old, gets
//!   the time of its first publish (Mastodon keeps posts older than six
//!   hours out of home timelines), unless dates are kept (`--keep-dates`).
//! - An edited post gets the time of the edit as `updated` (Mastodon
//!   ignores an Update without a later one), unless updates are quiet.
//! - A post that left the site is recorded as deleted (its Tombstone stays).
//! - A post may not take the address of one deleted before, and more than
//!   [`UPDATE_FLOOD_LIMIT`] edits at once need the writer's word.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::companion::api::{Manifest, PublishRequest};
use crate::config::Config;
use crate::content::front_matter::PostDate;
use crate::federation::Urls;
use crate::publish::log::PublishLog;
use crate::publish::objects::Built;

/// Past this many edited posts in one publish, ask before sending Updates.
pub const UPDATE_FLOOD_LIMIT: usize = 20;

/// How the writer asked to publish.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Keep written dates on new posts (back-dated imports).
    pub keep_dates: bool,
    /// Send an Update for every edited post, however many.
    pub send_updates: bool,
    /// Record edited posts without telling anyone.
    pub quiet_updates: bool,
}

/// A post as planning needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Its slug (its object id comes from it).
    pub slug: String,
    /// Its file, for messages.
    pub source: PathBuf,
    /// Its date as written.
    pub date: PostDate,
}

/// Why a publish must stop before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A post has the id of a post deleted earlier.
    #[error(
        "the post {} reuses the address of a post deleted earlier ({id}); fediverse servers never accept an id again\n  help: give it another slug (`slug = \"...\"` in its front matter)",
        file.display()
    )]
    ReusedId {
        /// The post's file.
        file: PathBuf,
        /// The id.
        id: String,
    },
    /// Too many posts changed at once.
    #[error(
        "{0} posts changed since the last publish (a theme or stoa upgrade does that); sending an Update for each would flood your followers' timelines\n  help: publish with --quiet-updates to record the new versions without telling anyone, or --send-updates to send them all"
    )]
    Flood(usize),
}

/// Records in `log` the times and deletions this publish decides; returns
/// the slugs of the edited posts.
pub fn decide(
    config: &Config,
    posts: &[Candidate],
    remote: &Manifest,
    local: &BTreeMap<String, Built>,
    log: &mut PublishLog,
    now: Timestamp,
    options: Options,
) -> Result<Vec<String>, PlanError> {
    let mut edited = Vec::new();
    if !remote.baseline {
        return Ok(edited);
    }
    for post in posts {
        let id = Urls::object(config, &post.slug);
        if remote.deleted.contains(&id) {
            return Err(PlanError::ReusedId {
                file: post.source.clone(),
                id,
            });
        }
        match remote.objects.get(&id) {
            None => {
                let stale = !post.date.has_time
                    || now.duration_since(post.date.at) > SignedDuration::from_hours(1);
                if stale && !options.keep_dates && !log.published.contains_key(&post.slug) {
                    log.published.insert(post.slug.clone(), now);
                }
            }
            Some(hash) if local.get(&id).is_some_and(|l| &l.hash != hash) => {
                edited.push(post.slug.clone());
            }
            Some(_) => {}
        }
    }
    if edited.len() > UPDATE_FLOOD_LIMIT && !options.send_updates && !options.quiet_updates {
        return Err(PlanError::Flood(edited.len()));
    }
    if !options.quiet_updates {
        for slug in &edited {
            log.updated.insert(slug.clone(), now);
        }
    }
    for id in remote.objects.keys() {
        if !local.contains_key(id)
            && let Some(slug) = Urls::post_slug(config, id)
        {
            log.deleted.entry(slug.to_string()).or_insert(now);
        }
    }
    Ok(edited)
}

/// What to send the companion: the whole manifest, the objects it has not
/// seen in this version, and the actor.
pub fn request(
    local: &BTreeMap<String, Built>,
    remote: &Manifest,
    actor: &[u8],
    quiet_updates: bool,
) -> Result<PublishRequest, serde_json::Error> {
    let objects = local
        .iter()
        .filter(|(id, l)| remote.objects.get(*id) != Some(&l.hash))
        .map(|(id, l)| Ok((id.clone(), serde_json::from_slice::<Value>(&l.bytes)?)))
        .collect::<Result<_, serde_json::Error>>()?;
    let actor = Built::new(actor.to_vec());
    Ok(PublishRequest {
        manifest: local
            .iter()
            .map(|(id, l)| (id.clone(), l.hash.clone()))
            .collect(),
        objects,
        actor: serde_json::from_slice(&actor.bytes).ok(),
        actor_hash: Some(actor.hash),
        quiet_updates,
        move_to: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            "base_url = \"https://blog.example\"\ntitle = \"T\"\n[fediverse]\nusername = \"t\"\n",
            std::path::Path::new("stoa.toml"),
        )
        .expect("a config")
    }

    fn post(slug: &str, at: &str, has_time: bool) -> Candidate {
        Candidate {
            slug: slug.into(),
            source: format!("content/posts/{slug}.md").into(),
            date: PostDate {
                at: at.parse().expect("a time"),
                has_time,
            },
        }
    }

    fn id(slug: &str) -> String {
        format!("https://blog.example/ap/posts/{slug}.json")
    }

    fn built(text: &str) -> Built {
        Built::new(format!("{{\"text\":\"{text}\"}}").into_bytes())
    }

    #[test]
    fn new_edited_and_removed_posts() {
        let config = config();
        let now: Timestamp = "2026-12-02T10:00:00Z".parse().expect("now");
        let posts = [
            post("fresh", "2026-12-02T09:30:00Z", true),
            post("old", "2026-11-01T09:30:00Z", true),
            post("dayonly", "2026-12-02T00:00:00Z", false),
            post("edited", "2026-01-01T00:00:00Z", true),
            post("same", "2026-01-01T00:00:00Z", true),
        ];
        let local: BTreeMap<String, Built> = ["fresh", "old", "dayonly", "edited", "same"]
            .iter()
            .map(|s| (id(s), built(s)))
            .collect();
        let remote = Manifest {
            baseline: true,
            objects: [
                (id("edited"), built("before").hash),
                (id("same"), built("same").hash),
                (id("removed"), built("removed").hash),
            ]
            .into(),
            ..Manifest::default()
        };
        let mut log = PublishLog::default();
        let edited = decide(
            &config,
            &posts,
            &remote,
            &local,
            &mut log,
            now,
            Options::default(),
        )
        .expect("a plan");
        assert_eq!(edited, vec!["edited"]);
        assert_eq!(
            log.published.keys().collect::<Vec<_>>(),
            vec!["dayonly", "old"]
        );
        assert_eq!(log.updated.keys().collect::<Vec<_>>(), vec!["edited"]);
        assert_eq!(log.deleted.keys().collect::<Vec<_>>(), vec!["removed"]);

        let mut kept = PublishLog::default();
        let keep = Options {
            keep_dates: true,
            quiet_updates: true,
            ..Options::default()
        };
        decide(&config, &posts, &remote, &local, &mut kept, now, keep).expect("a plan");
        assert!(kept.published.is_empty() && kept.updated.is_empty());
    }

    #[test]
    fn the_first_publish_decides_nothing() {
        let mut log = PublishLog::default();
        let posts = [post("old", "2020-01-01T00:00:00Z", false)];
        let local = [(id("old"), built("old"))].into();
        let edited = decide(
            &config(),
            &posts,
            &Manifest::default(),
            &local,
            &mut log,
            Timestamp::now(),
            Options::default(),
        )
        .expect("a plan");
        assert!(edited.is_empty());
        assert_eq!(log, PublishLog::default());
    }

    #[test]
    fn reused_ids_and_floods_stop_the_publish() {
        let config = config();
        let now = Timestamp::now();
        let remote = Manifest {
            baseline: true,
            deleted: vec![id("gone")],
            ..Manifest::default()
        };
        let err = decide(
            &config,
            &[post("gone", "2026-01-01T00:00:00Z", true)],
            &remote,
            &BTreeMap::new(),
            &mut PublishLog::default(),
            now,
            Options::default(),
        )
        .expect_err("refused");
        assert!(err.to_string().contains("content/posts/gone.md"), "{err}");

        let slugs: Vec<String> = (0..=UPDATE_FLOOD_LIMIT).map(|n| format!("p{n}")).collect();
        let posts: Vec<Candidate> = slugs
            .iter()
            .map(|s| post(s, "2026-01-01T00:00:00Z", true))
            .collect();
        let remote = Manifest {
            baseline: true,
            objects: slugs.iter().map(|s| (id(s), built("old").hash)).collect(),
            ..Manifest::default()
        };
        let local = slugs.iter().map(|s| (id(s), built(s))).collect();
        let flood = |options| {
            decide(
                &config,
                &posts,
                &remote,
                &local,
                &mut PublishLog::default(),
                now,
                options,
            )
        };
        assert_eq!(
            flood(Options::default()),
            Err(PlanError::Flood(UPDATE_FLOOD_LIMIT + 1))
        );
        let send = Options {
            send_updates: true,
            ..Options::default()
        };
        assert_eq!(flood(send).map(|e| e.len()), Ok(UPDATE_FLOOD_LIMIT + 1));
    }

    #[test]
    fn the_request_carries_only_what_changed() {
        let local: BTreeMap<String, Built> = [(id("a"), built("a")), (id("b"), built("b"))].into();
        let remote = Manifest {
            baseline: true,
            objects: [(id("a"), built("a").hash)].into(),
            ..Manifest::default()
        };
        let r = request(&local, &remote, b"{\"type\":\"Person\"}", false).expect("a request");
        assert_eq!(r.manifest.len(), 2);
        assert_eq!(r.objects.keys().collect::<Vec<_>>(), vec![&id("b")]);
        assert_eq!(r.actor.expect("the actor")["type"], "Person");
    }
}
