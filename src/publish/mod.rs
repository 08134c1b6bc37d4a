//! `stoa publish`, the writer's side: what the companion is told and why.
//! The command (`cmd/publish.rs`) runs the steps and prints; the decisions
//! live here, where they can be tested without a network: which posts are
//! new, edited or gone ([`plan`]), which built objects to send
//! ([`objects`]), which `@user@host` mentions to look up ([`mentions`]), and
//! the times recorded in `published.toml` ([`log`]), and whether the
//! deployed site serves what was built before anyone is told ([`verify`]).

pub mod log;
pub mod mentions;
pub mod objects;
pub mod plan;
pub mod verify;
