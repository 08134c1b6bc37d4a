//! Content: Markdown files with TOML front matter, turned into a sorted
//! library of posts and pages. Pure: reads files, never writes.

pub mod front_matter;
pub mod highlight;
pub mod images;
pub mod library;
pub mod markdown;
pub mod tag_names;
