//! `stoa doctor`: checks a live deployment the way a remote server would.
//!
//! Each group of checks is a pure evaluation over fetched answers
//! (`documents.rs`, `inbox.rs`, `companion.rs`, `tls.rs`), so it can be tested
//! without a network; `probe.rs` does the fetching and puts the report
//! together; `fixes.rs` holds what breaks for followers and the fix per
//! kind of host.

mod companion;
pub(crate) mod documents;
pub mod fixes;
mod inbox;
pub mod probe;
mod tls;

use serde::Serialize;

pub use fixes::{HostKind, Problem};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Fine.
    Pass,
    /// Fine, with something worth knowing (does not fail the run).
    Warn,
    /// Broken: followers are affected.
    Fail,
    /// Not checked (what it needs is missing, or an earlier check failed).
    Skip,
}

/// One check's result, written for the blog's writer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Short stable name (`webfinger`, `actor`, `inbox`, …).
    pub id: &'static str,
    /// How it came out.
    pub outcome: Outcome,
    /// What was seen, in one sentence.
    pub summary: String,
    /// For a failure: what breaks for the followers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaks: Option<String>,
    /// For a failure: the fix for the host in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// For a failure: the deployment file to compare with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docs: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn pass(id: &'static str, summary: impl Into<String>) -> Check {
        Check::plain(id, Outcome::Pass, summary)
    }

    /// A passed check with a note.
    pub fn warn(id: &'static str, summary: impl Into<String>) -> Check {
        Check::plain(id, Outcome::Warn, summary)
    }

    /// A check that could not run.
    pub fn skip(id: &'static str, summary: impl Into<String>) -> Check {
        Check::plain(id, Outcome::Skip, summary)
    }

    fn plain(id: &'static str, outcome: Outcome, summary: impl Into<String>) -> Check {
        Check {
            id,
            outcome,
            summary: summary.into(),
            breaks: None,
            fix: None,
            docs: None,
        }
    }

    /// A failed check: `problem` says what breaks and how to fix it on `host`.
    pub fn fail(
        id: &'static str,
        summary: impl Into<String>,
        problem: &Problem,
        host: HostKind,
    ) -> Check {
        Check {
            id,
            outcome: Outcome::Fail,
            summary: summary.into(),
            breaks: Some(problem.breaks().to_string()),
            fix: Some(problem.fix(host)),
            docs: host.docs().map(str::to_string),
        }
    }
}

/// Everything `stoa doctor` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The address checked.
    pub base_url: String,
    /// The kind of host, as detected.
    pub host: HostKind,
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether no check failed (warnings and skips do not fail).
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome != Outcome::Fail)
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome == Outcome::Fail)
    }
}

/// An HTTP answer or why there was none, as the checks see it.
pub type Fetched = Result<crate::fetch::RawAnswer, crate::fetch::FetchError>;
