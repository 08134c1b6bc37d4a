//! Before anyone is told: the deployed site must serve every new or changed
//! object, and the actor, exactly as built. Followers' servers fetch what
//! they are sent; a post announced before the host serves it is a 404 for
//! them (and Mastodon deletes a post whose URL answers 404). A CDN may take
//! a while to pick up a deploy, so `stoa publish` checks again until
//! `[publish] verify_secs` runs out.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::doctor::{Fetched, HostKind, documents};
use crate::fetch::Client;

/// Some documents were still not served as built when the time ran out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the deployed site does not serve what was just built (checked for {}s):{}\n  help: nothing was sent and nothing is queued. Run `stoa doctor` to see what is wrong with the deployment, fix it, then run `stoa publish` again (a slow CDN: raise `verify_secs` under [publish])",
    waited.as_secs(),
    problems.iter().map(|(id, why)| format!("\n    {id}: {why}")).collect::<String>()
)]
pub struct NotServed {
    /// (document id, what is wrong), for each document not served as built.
    pub problems: Vec<(String, String)>,
    /// How long publish waited.
    pub waited: Duration,
}

/// What is wrong with a fetched document, or `None` when it is served as
/// built: 200 without redirect, an ActivityPub type, its id, the same JSON.
pub fn judge(id: &str, built: &Value, fetched: &Fetched) -> Option<String> {
    match documents::document(
        "publish",
        id,
        documents::ACCEPTS[1],
        fetched,
        HostKind::Unknown,
    ) {
        Err(check) => Some(check.summary),
        Ok(served) if served == *built => None,
        Ok(_) => Some("the host still serves an older version".to_string()),
    }
}

/// Fetches every document in `built` from its id until all are served as
/// built, or `limit` has passed; `waiting` is called before each new round
/// with how many are not served yet.
pub fn wait_until_served(
    client: &Client,
    built: &BTreeMap<String, Value>,
    limit: Duration,
    pause: Duration,
    mut waiting: impl FnMut(usize),
) -> Result<(), NotServed> {
    let started = Instant::now();
    let mut left: Vec<&String> = built.keys().collect();
    loop {
        let mut problems = Vec::new();
        for id in left {
            let fetched = client.raw(
                id,
                &[("Accept".to_string(), documents::ACCEPTS[1].to_string())],
                None,
            );
            if let Some(why) = judge(id, &built[id], &fetched) {
                problems.push((id.clone(), why));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        if started.elapsed() + pause > limit {
            return Err(NotServed {
                problems,
                waited: started.elapsed(),
            });
        }
        waiting(problems.len());
        std::thread::sleep(pause);
        left = problems
            .iter()
            .filter_map(|(id, _)| built.get_key_value(id).map(|(k, _)| k))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::RawAnswer;

    const ID: &str = "https://blog.example/ap/posts/new.json";

    fn served(status: u16, body: &Value) -> Fetched {
        Ok(RawAnswer {
            status,
            headers: vec![("content-type".into(), "application/activity+json".into())],
            body: body.to_string().into_bytes(),
        })
    }

    #[test]
    fn a_document_counts_only_when_served_exactly_as_built() {
        let built = serde_json::json!({"id": ID, "content": "new"});
        assert_eq!(judge(ID, &built, &served(200, &built)), None);
        let old = serde_json::json!({"id": ID, "content": "old"});
        assert!(judge(ID, &built, &served(200, &old)).is_some_and(|w| w.contains("older")));
        assert!(
            judge(ID, &built, &served(404, &serde_json::json!({})))
                .is_some_and(|w| w.contains("404"))
        );
        let e = NotServed {
            problems: vec![(ID.into(), "answers HTTP 404".into())],
            waited: Duration::from_secs(3),
        };
        let text = e.to_string();
        assert!(
            text.contains("stoa doctor") && text.contains(ID) && text.contains("nothing is queued"),
            "{text}"
        );
    }
}
