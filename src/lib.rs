//! stoa: a static blog that the fediverse can follow.
//!
//! The pipeline is `config` → `content` (Markdown and front matter) →
//! `render` (tera themes, feeds) → `output` (atomic writes), orchestrated by
//! `site`. `content`, `render` and `signatures` are pure: no network, no
//! database. I/O lives in `output`, `live_server`, `companion` and the commands in `cmd`.

// Commands print through `cmd::out`: `println!` panics on a closed pipe.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod cmd;
pub mod companion;
pub mod config;
pub mod content;
pub mod content_types;
pub mod deploy;
pub mod error;
pub mod federation;
pub mod fetch;
pub mod live_server;
pub mod output;
pub mod publish;
pub mod render;
pub mod signatures;
pub mod site;
pub mod static_files;
pub mod text;
