//! stoa: a static blog that the fediverse can follow.
//!
//! Two products share this crate. The builder: `config` → `content`
//! (Markdown and front matter) → `render` (tera themes, feeds) and
//! `federation` (ActivityPub documents) → `output` (staged, journaled
//! writes), orchestrated by `site`, previewed by `live_server`. The
//! companion (`companion/`): the inbox, its SQLite store, the delivery
//! queue and the admin API that `stoa publish` (`publish/`) talks to.
//! `content`, `render`, `federation` and `signatures` are pure: no network,
//! no database, no clock. I/O lives in `output`, `fetch`, the servers and
//! the commands in `cmd`. `docs/architecture.md` has the whole map.

// Commands print through `cmd::out`: `println!` panics on a closed pipe.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod cmd;
pub mod companion;
pub mod config;
mod content;
mod content_types;
mod conversation_files;
mod conversations;
mod deploy;
mod doctor;
pub mod error;
pub mod federation;
pub mod fetch;
mod import;
mod interrupt;
mod live_server;
mod output;
mod output_lock;
mod publish;
mod render;
pub mod signatures;
mod site;
mod static_files;
pub mod text;
