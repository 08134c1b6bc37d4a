//! stoa: a static blog that the fediverse can follow.
//!
//! The pipeline is `config` → `content` (Markdown and front matter) →
//! `render` (tera themes, feeds) → `output` (atomic writes), orchestrated by
//! `site`. `content`, `render` and `signatures` are pure: no network, no
//! database. I/O lives in `output`, `serve` and the commands in `cmd`.

pub mod cmd;
pub mod companion_client;
pub mod config;
pub mod content;
pub mod content_types;
pub mod delivery;
pub mod deploy;
pub mod error;
pub mod federation;
pub mod fetch;
pub mod followers;
pub mod incremental;
pub mod interrupt;
pub mod output;
pub mod publish_log;
pub mod render;
pub mod serve;
pub mod server;
pub mod signatures;
pub mod site;
pub mod store;
pub mod text;
