//! Serving the built site's files the way static hosts do: one lookup and
//! one response shape for the preview server (`stoa serve`) and the
//! companion (`stoa inbox --site`), so both answer with the same
//! Content-Types, never redirect, and never leave the served folder.

pub mod files;
pub mod guard;
