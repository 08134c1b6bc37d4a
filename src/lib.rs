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
mod content;
mod content_types;
mod conversations;
mod deploy;
pub mod error;
pub mod federation;
mod fetch;
mod interrupt;
mod live_server;
mod output;
mod publish;
mod render;
pub mod signatures;
mod site;
mod static_files;
mod text;
