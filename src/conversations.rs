//! `conversations.toml`: the public conversation under the blog's posts,
//! as `stoa pull` (and `stoa publish`) fetched it from the companion. Kept
//! in the site folder and committed like `published.toml`, so the build
//! stays a pure function of the site folder. The avatars it names are in
//! `conversations/avatars/`, small PNGs the companion fetched once through
//! its safe fetcher; the build serves them from the blog at `/avatars/`.
//!
//! The format is TOML with one table per post (by slug) and one per person
//! (by actor id), replies as arrays of tables in thread order, so adding a
//! reply adds lines and changes none: it diffs well.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Located, SiteError};

/// The data file, at the site root.
pub const FILE: &str = "conversations.toml";
/// Avatars, relative to the site root.
pub const AVATAR_DIR: &str = "conversations/avatars";
/// Where avatars are served, relative to the output root.
pub const AVATAR_PATH: &str = "avatars";
/// The stand-in for a missing or refused avatar (output path).
pub const PLACEHOLDER: &str = "avatars/placeholder.svg";

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversations {
    /// Per post, by slug.
    #[serde(default)]
    pub posts: BTreeMap<String, PostConversation>,
    /// The people who appear, by actor id.
    #[serde(default)]
    pub people: BTreeMap<String, Person>,
}

/// What happened under one post.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostConversation {
    /// Actor ids who favourited it, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub likes: Vec<String>,
    /// Actor ids who boosted it, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boosts: Vec<String>,
    /// Public replies, oldest first (a reply's parent comes before it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replies: Vec<Reply>,
    /// Public posts that quote it (approved quotes), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quotes: Vec<Quote>,
}

/// A public post, elsewhere, that quotes one of the blog's posts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quote {
    /// The quoting post's ActivityPub id.
    pub id: String,
    /// Its author's actor id (a key of [`Conversations::people`]).
    pub author: String,
    /// Its web page on the author's server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One public reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// The reply's ActivityPub id.
    pub id: String,
    /// Its author's actor id (a key of [`Conversations::people`]).
    pub author: String,
    /// The reply it answers, when it answers another reply shown here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Its web page on the author's server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When it was written (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// When it was last edited (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Its HTML, cleaned by the companion's allowlist (cleaned again at build).
    pub content: String,
}

/// Someone who replied, favourited or boosted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Display name (plain text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `@user@host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Profile page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// File name of the avatar in `conversations/avatars/`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

impl Conversations {
    /// The file's path under `root`.
    pub fn path(root: &Path) -> PathBuf {
        root.join(FILE)
    }

    /// Reads `conversations.toml`; empty when there is none.
    pub fn load(root: &Path) -> Result<Conversations, SiteError> {
        let path = Self::path(root);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(SiteError::io(&path, e)),
        };
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text.get(..s.start).unwrap_or(&text).lines().count().max(1))
                .unwrap_or(1);
            SiteError::Config(Located::new(
                &path,
                line,
                format!("{FILE} is not readable: {}", e.message()),
                Some("it is written by `stoa pull`; run it again to rewrite the file".into()),
            ))
        })
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# Written by `stoa pull` and `stoa publish` from the companion: the public\n\
             # replies, favourites and boosts shown under each post. Commit it with the site.\n\n{body}"
        )
    }

    /// Is a file name one `stoa pull` could have written (hex digits and `.png`)?
    pub fn is_avatar_name(name: &str) -> bool {
        name.strip_suffix(".png").is_some_and(|h| {
            !h.is_empty() && h.len() <= 64 && h.bytes().all(|b| b.is_ascii_hexdigit())
        })
    }
}

/// The placeholder avatar: a neutral silhouette, no external reference.
pub const PLACEHOLDER_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48" width="48" height="48"><rect width="48" height="48" rx="8" fill="#8a8f98"/><circle cx="24" cy="19" r="8" fill="#e8eaee"/><path d="M9 42c2-9 8-13 15-13s13 4 15 13z" fill="#e8eaee"/></svg>
"##;

/// A reply as a template sees it: flattened in thread order, with how to
/// nest it (see the README's template variables).
#[derive(Debug, Clone, Serialize)]
pub struct ReplyCtx {
    /// Anchor id on the page (`reply-N`).
    pub anchor: String,
    /// The reply's ActivityPub id.
    pub id: String,
    /// Its web page (else its id).
    pub url: String,
    /// Author.
    pub author: PersonCtx,
    /// Pre-formatted date, if known.
    pub date: Option<crate::render::context::DateCtx>,
    /// Pre-formatted edit date, if edited.
    pub updated: Option<crate::render::context::DateCtx>,
    /// Cleaned HTML.
    pub content: String,
    /// Nesting depth, 0 for a direct reply to the post.
    pub depth: usize,
    /// The anchor of the reply it answers, if any.
    pub parent: Option<String>,
    /// Whether replies to it follow (open a nested list after it).
    pub has_children: bool,
    /// How many nested lists end after it.
    pub closes: usize,
}

/// A person as a template sees it.
#[derive(Debug, Clone, Serialize)]
pub struct PersonCtx {
    /// Display name, else the handle, else the actor id.
    pub name: String,
    /// `@user@host`, if known.
    pub handle: Option<String>,
    /// Profile page (else the actor id).
    pub url: String,
    /// Site path of the avatar on the blog (the placeholder when none).
    pub avatar: String,
}

/// `page.conversation` on a post page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConversationCtx {
    /// Replies in thread order.
    pub replies: Vec<ReplyCtx>,
    /// Who favourited.
    pub likes: Vec<PersonCtx>,
    /// Who boosted.
    pub boosts: Vec<PersonCtx>,
    /// `likes.len()`.
    pub like_count: usize,
    /// `boosts.len()`.
    pub boost_count: usize,
    /// Who quoted it, and where.
    pub quotes: Vec<QuoteCtx>,
}

/// A quote as a template sees it.
#[derive(Debug, Clone, Serialize)]
pub struct QuoteCtx {
    /// Who quoted.
    pub author: PersonCtx,
    /// The quoting post's page (else its id), on the author's server.
    pub url: String,
}

impl Conversations {
    /// A person's template form.
    pub fn person(&self, actor: &str) -> PersonCtx {
        let p = self.people.get(actor);
        let handle = p.and_then(|p| p.handle.clone());
        PersonCtx {
            name: p
                .and_then(|p| p.name.clone())
                .filter(|n| !n.trim().is_empty())
                .or_else(|| handle.clone())
                .unwrap_or_else(|| actor.to_string()),
            url: p
                .and_then(|p| p.url.clone())
                .filter(|u| crate::federation::trust::same_origin(u, actor))
                .unwrap_or_else(|| actor.to_string()),
            handle,
            avatar: format!(
                "/{}",
                p.and_then(|p| p.avatar.as_deref())
                    .filter(|a| Self::is_avatar_name(a))
                    .map(|a| format!("{AVATAR_PATH}/{a}"))
                    .unwrap_or_else(|| PLACEHOLDER.to_string())
            ),
        }
    }

    /// The template form of one post's conversation (empty when none);
    /// `own` are the writer's posts answering replies under it, shown in
    /// the thread as by `me` (the blog's actor id and how it looks).
    pub fn for_post(&self, slug: &str, own: &[Reply], me: &(String, PersonCtx)) -> ConversationCtx {
        let Some(c) = self.posts.get(slug) else {
            return ConversationCtx::default();
        };
        let likes: Vec<PersonCtx> = c.likes.iter().map(|a| self.person(a)).collect();
        let boosts: Vec<PersonCtx> = c.boosts.iter().map(|a| self.person(a)).collect();
        let mut replies = c.replies.clone();
        for o in own {
            let mut o = o.clone();
            // Written against a reply's web page: thread it under the reply.
            if let Some(parent) = o.in_reply_to.as_deref()
                && let Some(r) = c.replies.iter().find(|r| r.url.as_deref() == Some(parent))
            {
                o.in_reply_to = Some(r.id.clone());
            }
            replies.push(o);
        }
        replies.sort_by(|a, b| a.published.cmp(&b.published));
        ConversationCtx {
            replies: self.thread(&replies, me),
            like_count: likes.len(),
            boost_count: boosts.len(),
            likes,
            boosts,
            quotes: c
                .quotes
                .iter()
                .map(|q| QuoteCtx {
                    author: self.person(&q.author),
                    url: q
                        .url
                        .clone()
                        .filter(|u| crate::federation::trust::same_origin(u, &q.id))
                        .unwrap_or_else(|| q.id.clone()),
                })
                .collect(),
        }
    }

    /// Orders replies depth first (children after their parent, oldest
    /// first) and works out the nesting.
    fn thread(&self, replies: &[Reply], me: &(String, PersonCtx)) -> Vec<ReplyCtx> {
        let index: BTreeMap<&str, usize> = replies
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        let parent_of = |r: &Reply| r.in_reply_to.as_deref().and_then(|p| index.get(p).copied());
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); replies.len()];
        let mut roots = Vec::new();
        for (i, r) in replies.iter().enumerate() {
            match parent_of(r) {
                Some(p) if p != i => children[p].push(i),
                _ => roots.push(i),
            }
        }
        // Depth-first, iteratively; a cycle (impossible from the companion,
        // possible in a hand-edited file) is cut by the `seen` check.
        let mut order: Vec<(usize, usize, Option<usize>)> = Vec::new();
        let mut seen = vec![false; replies.len()];
        let mut stack: Vec<(usize, usize, Option<usize>)> =
            roots.iter().rev().map(|&i| (i, 0, None)).collect();
        while let Some((i, depth, parent)) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            order.push((i, depth, parent));
            for &c in children[i].iter().rev() {
                stack.push((c, depth + 1, Some(i)));
            }
        }
        let anchor = |i: usize| format!("reply-{}", i + 1);
        let mut out: Vec<ReplyCtx> = Vec::with_capacity(order.len());
        for (n, &(i, depth, parent)) in order.iter().enumerate() {
            let r = &replies[i];
            let next_depth = order.get(n + 1).map_or(0, |o| o.1);
            out.push(ReplyCtx {
                anchor: anchor(i),
                id: r.id.clone(),
                url: r.url.clone().unwrap_or_else(|| r.id.clone()),
                author: if r.author == me.0 {
                    me.1.clone()
                } else {
                    self.person(&r.author)
                },
                date: r.published.as_deref().and_then(date),
                updated: r.updated.as_deref().and_then(date),
                content: crate::federation::html::blog_clean(&r.content),
                depth,
                parent: parent.map(anchor),
                has_children: next_depth > depth,
                closes: depth.saturating_sub(next_depth),
            });
        }
        out
    }
}

/// The writer's own posts that answer a reply shown under one of the
/// blog's posts (`in_reply_to` a reply's id or web page), by the slug of
/// the post whose thread they join; each as a reply by `me_actor` whose
/// text is the post's description (or the start of its text) and a link.
pub fn own_replies(
    c: &Conversations,
    posts: &[crate::content::library::Post],
    config: &crate::config::Config,
    me_actor: &str,
) -> BTreeMap<String, Vec<Reply>> {
    let mut out: BTreeMap<String, Vec<Reply>> = BTreeMap::new();
    if c.posts.is_empty() {
        return out;
    }
    let mut under: BTreeMap<&str, &str> = BTreeMap::new();
    for (slug, pc) in &c.posts {
        for r in &pc.replies {
            under.insert(r.id.as_str(), slug.as_str());
            if let Some(u) = &r.url {
                under.insert(u.as_str(), slug.as_str());
            }
        }
    }
    for p in posts {
        let Some(target) = p.meta.in_reply_to.as_deref() else {
            continue;
        };
        let Some(&slug) = under.get(target) else {
            continue;
        };
        let text = p.meta.description.clone().unwrap_or_else(|| {
            let plain: String = p
                .body
                .lines()
                .map(str::trim)
                .skip_while(|l| l.is_empty())
                .take_while(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            crate::text::shorten(&plain, 280)
        });
        let permalink = config.url(&p.path());
        out.entry(slug.to_string()).or_default().push(Reply {
            id: crate::federation::Urls::object(config, &p.slug),
            author: me_actor.to_string(),
            in_reply_to: Some(target.to_string()),
            url: Some(permalink.clone()),
            published: Some(p.date.at.to_string()),
            updated: p.meta.updated.map(|u| u.at.to_string()),
            content: format!(
                "<p>{} <a href=\"{}\">Read it on the blog</a></p>",
                crate::text::escape(&text),
                crate::text::escape(&permalink)
            ),
        });
    }
    out
}

fn date(s: &str) -> Option<crate::render::context::DateCtx> {
    s.parse::<jiff::Timestamp>()
        .ok()
        .map(crate::render::context::DateCtx::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(id: &str, parent: Option<&str>) -> Reply {
        Reply {
            id: id.into(),
            author: "https://x.example/u/a".into(),
            in_reply_to: parent.map(str::to_string),
            content: format!("<p>{id}</p>"),
            ..Reply::default()
        }
    }

    #[test]
    fn threads_nest_children_under_their_parent() {
        let mut c = Conversations::default();
        c.posts.insert(
            "p".into(),
            PostConversation {
                replies: vec![
                    reply("a", None),
                    reply("b", None),
                    reply("a1", Some("a")),
                    reply("a1x", Some("a1")),
                ],
                ..Default::default()
            },
        );
        let me = (
            "https://blog.example/ap/actor.json".to_string(),
            c.person("me"),
        );
        let t = c.for_post("p", &[], &me).replies;
        let ids: Vec<_> = t.iter().map(|r| (r.id.as_str(), r.depth)).collect();
        assert_eq!(ids, [("a", 0), ("a1", 1), ("a1x", 2), ("b", 0)]);
        assert!(t[0].has_children && t[1].has_children && !t[2].has_children);
        assert_eq!(t[2].closes, 2);
        assert_eq!(t[3].closes, 0);
        assert_eq!(t[1].parent.as_deref(), Some("reply-1"));
    }

    #[test]
    fn the_file_round_trips_and_avatar_names_are_checked() {
        let mut c = Conversations::default();
        c.posts.insert(
            "hello".into(),
            PostConversation {
                likes: vec!["https://x.example/u/a".into()],
                replies: vec![reply("https://x.example/n/1", None)],
                ..Default::default()
            },
        );
        c.people.insert(
            "https://x.example/u/a".into(),
            Person {
                name: Some("A".into()),
                avatar: Some("../../etc/passwd".into()),
                ..Default::default()
            },
        );
        let text = c.to_text();
        let back: Conversations = toml::from_str(&text).expect("parses");
        assert_eq!(back, c);
        assert_eq!(
            c.person("https://x.example/u/a").avatar,
            format!("/{PLACEHOLDER}")
        );
        assert!(Conversations::is_avatar_name("0a1b.png"));
        assert!(!Conversations::is_avatar_name("a/b.png"));
    }
}
