//! `stoa import mastodon ARCHIVE`: the archive Mastodon makes on "Request
//! your archive" (the `.zip`, or the folder it unpacks to) as stoa notes.
//!
//! `outbox.json` is an OrderedCollection of `Create` (with the `Note`) and
//! `Announce` activities; `actor.json` the profile; the media under
//! `media_attachments/` at the path of each attachment's `url`. Public and
//! unlisted posts become notes with their date, content warning, media
//! and alt text, hashtags and language; a reply to one's own imported post
//! points at that post's new id (`in_reply_to`), so threads stay threads.
//! Boosts, followers-only and direct posts are skipped and counted.
//!
//! The archive is checked before anything is written: an entry whose name
//! climbs out of the archive (`../`) or is absolute refuses the archive,
//! and every entry read is capped in size, so a forged archive changes
//! nothing.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::{ImportError, Report, Writer, html};
use crate::config::Config;
use crate::content::front_matter::{FrontMatter, ImageRef, PostDate};
use crate::content::library::{CONTENT_DIR, POSTS_DIR};
use crate::error::SiteError;
use crate::federation::Urls;

/// Largest `outbox.json` or `actor.json` read.
pub const MAX_JSON_BYTES: u64 = 512 * 1024 * 1024;
/// Largest media file read from an archive (Mastodon's own limit is 99 MB).
pub const MAX_MEDIA_BYTES: u64 = 200 * 1024 * 1024;

const PUBLIC: [&str; 3] = [
    "https://www.w3.org/ns/activitystreams#Public",
    "as:Public",
    "Public",
];

/// Why an archive cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Neither a folder nor a zip.
    #[error(
        "{0} is neither a folder nor a .zip\n  help: pass the archive Mastodon made (archive-….zip) or the folder it unpacks to; a .tar.gz from an older Mastodon: unpack it (`tar xzf`) and pass the folder"
    )]
    NotAnArchive(PathBuf),
    /// The zip is damaged.
    #[error("{path}: not a readable zip ({reason})\n  help: download the archive again")]
    BadZip {
        /// The archive.
        path: PathBuf,
        /// What the zip reader said.
        reason: String,
    },
    /// An entry name that would land outside the archive.
    #[error(
        "{path}: the entry {entry:?} points outside the archive; nothing was imported\n  help: this archive was not made by Mastodon as it is; download it again from your server"
    )]
    UnsafeEntry {
        /// The archive.
        path: PathBuf,
        /// The entry's name.
        entry: String,
    },
    /// An entry over its size cap.
    #[error(
        "{path}: {entry} is larger than {limit} bytes; nothing was imported from it\n  help: this is not the size Mastodon writes; download the archive again"
    )]
    TooLarge {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// The cap.
        limit: u64,
    },
    /// `outbox.json` is missing.
    #[error(
        "{path} has no {entry}\n  help: pass the top folder of the archive (the one holding outbox.json and actor.json)"
    )]
    Missing {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
    },
    /// `outbox.json` or `actor.json` is not what Mastodon writes.
    #[error("{path}: {entry} is not valid JSON ({reason})\n  help: download the archive again")]
    BadJson {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// The parser's message.
        reason: String,
    },
}

/// An archive, unpacked or not.
enum Archive {
    Folder(PathBuf),
    Zip {
        path: PathBuf,
        zip: Box<zip::ZipArchive<File>>,
    },
}

impl Archive {
    fn open(path: &Path) -> Result<Archive, ImportError> {
        if path.is_dir() {
            return Ok(Archive::Folder(path.to_path_buf()));
        }
        let name = path.to_string_lossy();
        if !path.is_file() || name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            return Err(ArchiveError::NotAnArchive(path.to_path_buf()).into());
        }
        let file = File::open(path).map_err(|e| SiteError::io(path, e))?;
        let bad = |e: zip::result::ZipError| ArchiveError::BadZip {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let zip = zip::ZipArchive::new(file).map_err(bad)?;
        for name in zip.file_names() {
            if safe_relative(name).is_none() {
                return Err(ArchiveError::UnsafeEntry {
                    path: path.to_path_buf(),
                    entry: name.to_string(),
                }
                .into());
            }
        }
        Ok(Archive::Zip {
            path: path.to_path_buf(),
            zip: Box::new(zip),
        })
    }

    fn path(&self) -> &Path {
        match self {
            Archive::Folder(p) | Archive::Zip { path: p, .. } => p,
        }
    }

    /// The entry's bytes (`None` when it is not there), at most `limit`.
    fn read(&mut self, entry: &Path, limit: u64) -> Result<Option<Vec<u8>>, ImportError> {
        let too_large = |path: &Path| ArchiveError::TooLarge {
            path: path.to_path_buf(),
            entry: entry.display().to_string(),
            limit,
        };
        let mut bytes = Vec::new();
        match self {
            Archive::Folder(dir) => {
                let Some(file) = regular_file_inside(dir, entry) else {
                    return Ok(None);
                };
                let f = File::open(&file).map_err(|e| SiteError::io(&file, e))?;
                f.take(limit + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| SiteError::io(&file, e))?;
                if bytes.len() as u64 > limit {
                    return Err(too_large(dir).into());
                }
            }
            Archive::Zip { path, zip } => {
                let name = entry.to_string_lossy().replace('\\', "/");
                let mut f = match zip.by_name(&name) {
                    Ok(f) => f,
                    Err(zip::result::ZipError::FileNotFound) => return Ok(None),
                    Err(e) => {
                        return Err(ArchiveError::BadZip {
                            path: path.clone(),
                            reason: format!("{name}: {e}"),
                        }
                        .into());
                    }
                };
                if f.size() > limit {
                    return Err(too_large(path).into());
                }
                (&mut f)
                    .take(limit + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| SiteError::io(&path.join(&name), e))?;
                if bytes.len() as u64 > limit {
                    return Err(too_large(path).into());
                }
            }
        }
        Ok(Some(bytes))
    }

    /// Copies an entry into the site; false when it is not in the archive.
    fn copy_into(
        &mut self,
        entry: &Path,
        writer: &mut Writer,
        from: &str,
        to: PathBuf,
    ) -> Result<bool, ImportError> {
        if let Archive::Folder(dir) = self {
            let Some(file) = regular_file_inside(dir, entry) else {
                return Ok(false);
            };
            let size = file.metadata().map_err(|e| SiteError::io(&file, e))?.len();
            if size > MAX_MEDIA_BYTES {
                return Err(ArchiveError::TooLarge {
                    path: dir.clone(),
                    entry: entry.display().to_string(),
                    limit: MAX_MEDIA_BYTES,
                }
                .into());
            }
            writer.copy(from, &file, to)?;
            return Ok(true);
        }
        match self.read(entry, MAX_MEDIA_BYTES)? {
            Some(bytes) => {
                writer.bytes(from, to, &bytes)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(
        &mut self,
        entry: &str,
    ) -> Result<Option<T>, ImportError> {
        let Some(bytes) = self.read(Path::new(entry), MAX_JSON_BYTES)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            ArchiveError::BadJson {
                path: self.path().to_path_buf(),
                entry: entry.into(),
                reason: e.to_string(),
            }
            .into()
        })
    }
}

/// A path inside the archive as written in it (`/media_attachments/…`,
/// `/system/media_attachments/…`, `media_attachments\…`), or `None` when it
/// would climb out or is empty.
fn safe_relative(name: &str) -> Option<PathBuf> {
    let name = name.replace('\\', "/");
    let name = name.trim_start_matches('/');
    let name = name.strip_prefix("system/").unwrap_or(name);
    let path = Path::new(name);
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!name.is_empty() && !name.contains(':')).then_some(out)
}

#[derive(Deserialize)]
struct Outbox {
    #[serde(rename = "orderedItems", default)]
    ordered_items: Vec<Activity>,
}

#[derive(Deserialize)]
struct Activity {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    object: Object,
}

/// An activity's object: a post embedded (a `Create`), or anything else
/// (an `Announce`'s URI), not kept: the whole outbox is held in memory.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Object {
    Post(Box<Note>),
    #[default]
    #[serde(skip)]
    Missing,
    Other(serde::de::IgnoredAny),
}

/// The fields of a Mastodon `Note` an import keeps.
#[derive(Deserialize, Default)]
struct Note {
    #[serde(default)]
    id: String,
    #[serde(rename = "type", default)]
    kind: String,
    published: Option<String>,
    updated: Option<String>,
    summary: Option<String>,
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    content: String,
    /// Only its language is read: its HTML is `content` again.
    #[serde(rename = "contentMap", default)]
    content_map: BTreeMap<String, serde::de::IgnoredAny>,
    #[serde(default)]
    to: OneOrMany,
    #[serde(default)]
    cc: OneOrMany,
    #[serde(rename = "inReplyTo")]
    in_reply_to: Option<String>,
    #[serde(default)]
    tag: Vec<Value>,
    #[serde(default)]
    attachment: Vec<Attachment>,
    #[serde(rename = "oneOf", default)]
    one_of: Vec<Value>,
    #[serde(rename = "anyOf", default)]
    any_of: Vec<Value>,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn has_public(&self) -> bool {
        match self {
            OneOrMany::None => false,
            OneOrMany::One(s) => PUBLIC.contains(&s.as_str()),
            OneOrMany::Many(v) => v.iter().any(|s| PUBLIC.contains(&s.as_str())),
        }
    }
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(default)]
    url: String,
    name: Option<String>,
    #[serde(rename = "mediaType", default)]
    media_type: String,
}

#[derive(Deserialize, Default)]
struct Actor {
    #[serde(default)]
    id: String,
    name: Option<String>,
    summary: Option<String>,
    #[serde(default)]
    attachment: Vec<Value>,
    icon: Option<Value>,
    image: Option<Value>,
}

/// Imports the archive at `source` into the site at `root`; with
/// `profile`, the account's name, bio, fields, avatar and header become
/// the blog's where stoa.toml does not set them. Never overwrites a file;
/// with `dry_run`, writes nothing.
pub fn run(
    source: &Path,
    root: &Path,
    config: &Config,
    dry_run: bool,
    profile: bool,
) -> Result<Report, ImportError> {
    let mut archive = Archive::open(source)?;
    let outbox: Outbox = archive
        .json("outbox.json")?
        .ok_or_else(|| ArchiveError::Missing {
            path: source.to_path_buf(),
            entry: "outbox.json".into(),
        })?;
    let mut writer = Writer::new(root, dry_run);
    // Every post that will be imported, by its old id, with its new slug:
    // a reply to one of them points at its new id.
    let mut notes: Vec<(Note, String)> = Vec::new();
    let mut slugs: BTreeMap<String, String> = BTreeMap::new();
    for (n, activity) in outbox.ordered_items.into_iter().enumerate() {
        let label = format!("outbox.json item {}", n + 1);
        match activity.kind.as_str() {
            "Announce" => {
                writer.skip(label, "a boost (of someone else's post)");
                continue;
            }
            "Create" => {}
            other => {
                writer.skip(label, format!("a {other} activity, not a post"));
                continue;
            }
        }
        let note = match activity.object {
            Object::Post(note) => *note,
            Object::Missing | Object::Other(_) => {
                writer.skip(label, "not a post Mastodon writes (no embedded Note)");
                continue;
            }
        };
        let label = if note.id.is_empty() {
            label
        } else {
            note.id.clone()
        };
        if !matches!(note.kind.as_str(), "Note" | "Question") {
            writer.skip(label, format!("a {} object, not a post", note.kind));
            continue;
        }
        if !note.to.has_public() && !note.cc.has_public() {
            let why = match &note.to {
                OneOrMany::One(s) if s.ends_with("/followers") => "followers-only",
                OneOrMany::Many(v) if v.iter().any(|s| s.ends_with("/followers")) => {
                    "followers-only"
                }
                _ => "direct",
            };
            writer.skip(
                label,
                format!("{why} (only public and unlisted posts are imported)"),
            );
            continue;
        }
        let Some(slug) = slug_of(&note.id) else {
            writer.skip(label, "a post without an id");
            continue;
        };
        slugs.insert(note.id.clone(), slug.clone());
        notes.push((note, slug));
    }
    let posts = Path::new(CONTENT_DIR).join(POSTS_DIR);
    for (note, slug) in notes {
        let file = posts.join(format!("{slug}.md"));
        let bundle = posts.join(&slug);
        if writer.exists(&file) || writer.exists(&bundle) {
            writer.skip(
                note.id.clone(),
                format!("{} is already there", file.display()),
            );
            continue;
        }
        import_note(
            &mut archive,
            &mut writer,
            config,
            note,
            &bundle,
            &file,
            &slugs,
        )?;
    }
    if profile {
        let actor: Option<Actor> = archive.json("actor.json")?;
        match actor {
            Some(actor) => take_profile(&mut archive, &mut writer, root, config, &actor)?,
            None => writer
                .report
                .notes
                .push("the archive has no actor.json: the profile was not taken over".into()),
        }
    }
    Ok(writer.finish()?)
}

/// The status id at the end of a Mastodon status URI, as the slug.
fn slug_of(id: &str) -> Option<String> {
    let last = id.trim_end_matches('/').rsplit('/').next()?;
    let slug = slug::slugify(last);
    (!slug.is_empty()).then_some(slug)
}

fn import_note(
    archive: &mut Archive,
    writer: &mut Writer,
    config: &Config,
    note: Note,
    bundle: &Path,
    file: &Path,
    slugs: &BTreeMap<String, String>,
) -> Result<(), ImportError> {
    let label = note.id.clone();
    let mut warnings = Vec::new();
    let Some(date) = note.published.as_deref().and_then(timestamp) else {
        writer.skip(label, "no `published` date");
        return Ok(());
    };
    let mut meta = FrontMatter {
        date: Some(date),
        updated: note.updated.as_deref().and_then(timestamp),
        summary: note.summary.clone().filter(|s| !s.trim().is_empty()),
        sensitive: note.sensitive,
        ..FrontMatter::default()
    };
    if let Some((lang, _)) = note.content_map.iter().next()
        && *lang != config.language
    {
        meta.language = Some(lang.clone());
    }
    for t in &note.tag {
        if t.get("type").and_then(Value::as_str) == Some("Hashtag")
            && let Some(name) = t.get("name").and_then(Value::as_str)
        {
            let name = name.trim_start_matches('#').to_string();
            if !name.is_empty() && !meta.tags.contains(&name) {
                meta.tags.push(name);
            }
        }
    }
    meta.in_reply_to = note
        .in_reply_to
        .as_ref()
        .map(|parent| match slugs.get(parent) {
            Some(parent_slug) => Urls::object(config, parent_slug),
            None => parent.clone(),
        });
    let mut body = html::to_markdown(&note.content, &mut |src| {
        html::ImageTarget::Link(src.to_string())
    });
    for option in note.one_of.iter().chain(&note.any_of) {
        if let Some(name) = option.get("name").and_then(Value::as_str) {
            body.push_str(&format!("\n- {}", html::markdown_text(name)));
        }
    }
    if !note.one_of.is_empty() || !note.any_of.is_empty() {
        body.push('\n');
        warnings.push("a poll: its options are listed, its votes are not kept".into());
    }
    // Media beside the post, in a page bundle.
    let mut media: Vec<(PathBuf, String, &Attachment)> = Vec::new();
    for (i, a) in note.attachment.iter().enumerate() {
        let Some(entry) = safe_relative(&a.url) else {
            warnings.push(format!(
                "the attachment {:?} points outside the archive: left out",
                a.url
            ));
            continue;
        };
        // Named by the post, its type checked: a file of the archive never
        // chooses its own name or kind on the blog (an `index.md`, a page).
        let Some(ext) = media_extension(&a.media_type) else {
            warnings.push(format!(
                "the attachment {:?} is of type {:?}, which a blog does not show: left out",
                a.url, a.media_type
            ));
            continue;
        };
        let name = format!("media-{}.{ext}", i + 1);
        media.push((entry, name, a));
    }
    let to = if media.is_empty() {
        file.to_path_buf()
    } else {
        bundle.join("index.md")
    };
    let mut links = String::new();
    for (entry, name, a) in &media {
        if !archive.copy_into(entry, writer, &label, bundle.join(name))? {
            warnings.push(format!(
                "{} is not in the archive: left out",
                entry.display()
            ));
            continue;
        }
        let alt = a.name.clone().unwrap_or_default();
        if a.media_type.starts_with("image/") {
            if alt.trim().is_empty() {
                warnings.push(format!(
                    "{name} has no alt text: describe it in `images` (alt = \"…\")"
                ));
            }
            meta.images.push(ImageRef {
                src: name.clone(),
                alt,
            });
        } else {
            let what = a.media_type.split('/').next().unwrap_or("media");
            let text = if alt.trim().is_empty() {
                what.to_string()
            } else {
                format!("{what}: {}", html::markdown_text(&alt))
            };
            // A full address: notes are shown whole on list pages too.
            let slug = bundle.file_name().unwrap_or_default().to_string_lossy();
            let url = config.url(&format!("/posts/{slug}/{name}"));
            links.push_str(&format!("\n[{text}]({url})\n"));
        }
    }
    let body = format!("\n{body}{links}");
    writer.markdown(&label, to, &meta, &body, true, warnings)?;
    Ok(())
}

fn timestamp(s: &str) -> Option<PostDate> {
    s.parse::<jiff::Timestamp>()
        .ok()
        .map(|at| PostDate { at, has_time: true })
}

/// The profile where stoa.toml leaves it open: display name, bio, profile
/// links (fields with a link), avatar and header (copied to `static/`), and
/// the old account as `also_known_as` (so a move from it can be announced).
/// A setting stoa.toml has is kept, and the archive's value named.
fn take_profile(
    archive: &mut Archive,
    writer: &mut Writer,
    root: &Path,
    config: &Config,
    actor: &Actor,
) -> Result<(), ImportError> {
    let f = &config.fediverse;
    let mut fediverse: Vec<(&str, String)> = Vec::new();
    let mut kept = |key: &str, ours: &str, theirs: &str| {
        writer.report.notes.push(format!(
            "kept your {key} ({ours:?}) in stoa.toml; the archive's is {theirs:?}"
        ));
    };
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    if let Some(name) = actor.name.as_deref().filter(|n| !n.is_empty()) {
        match &f.display_name {
            Some(ours) => kept("display_name", ours, name),
            None => fediverse.push(("display_name", q(name))),
        }
    }
    if let Some(bio) = actor
        .summary
        .as_deref()
        .map(html::to_text)
        .filter(|b| !b.is_empty())
    {
        match &f.bio {
            Some(ours) => kept("bio", ours, &bio),
            None => fediverse.push(("bio", q(&bio))),
        }
    }
    if !actor.id.is_empty() && f.also_known_as.is_empty() {
        fediverse.push(("also_known_as", format!("[{}]", q(&actor.id))));
    }
    let mut notes = Vec::new();
    for (key, image, ours) in [
        ("avatar", &actor.icon, &f.avatar),
        ("header", &actor.image, &f.header),
    ] {
        let Some(url) = image
            .as_ref()
            .and_then(|i| i.get("url"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        if let Some(ours) = ours {
            notes.push(format!(
                "kept your {key} ({ours:?}) in stoa.toml; the archive has {url}"
            ));
            continue;
        }
        let Some(entry) = safe_relative(url) else {
            notes.push(format!(
                "the {key} {url:?} points outside the archive: left out"
            ));
            continue;
        };
        let media_type = image
            .as_ref()
            .and_then(|i| i.get("mediaType"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let from_name = entry
            .extension()
            .map(|e| format!("image/{}", e.to_string_lossy().to_ascii_lowercase()));
        let Some(ext) = media_extension(media_type)
            .or_else(|| from_name.as_deref().and_then(media_extension))
            .filter(|_| !media_type.starts_with("video/") && !media_type.starts_with("audio/"))
        else {
            notes.push(format!(
                "the {key} {url:?} is not a picture stoa can show: left out"
            ));
            continue;
        };
        let to = Path::new("static").join(format!("{key}.{ext}"));
        if writer.exists(&to) {
            notes.push(format!(
                "static/{key}.{ext} is already there: the archive's {key} was left out"
            ));
            continue;
        }
        if archive.copy_into(&entry, writer, "actor.json", to)? {
            fediverse.push((key, q(&format!("/{key}.{ext}"))));
        } else {
            notes.push(format!("the {key} {url} is not in the archive"));
        }
    }
    let mut links = String::new();
    for field in &actor.attachment {
        let name = field.get("name").and_then(Value::as_str).unwrap_or("");
        let value = field.get("value").and_then(Value::as_str).unwrap_or("");
        let href = html::link_target(value).or_else(|| {
            let text = html::to_text(value);
            (text.starts_with("https://") && !text.contains(' ')).then_some(text)
        });
        match href {
            Some(url) if config.links.is_empty() => {
                links.push_str(&format!("\n[[links]]\nname = {}\nurl = {}\n", q(name), q(&url)));
            }
            Some(_) => notes.push(format!(
                "kept your [[links]] in stoa.toml; the archive's field {name:?} was left out"
            )),
            None => notes.push(format!(
                "the profile field {name:?} ({}) has no link: stoa's profile fields are links (add it under [[links]] if it has one)",
                html::to_text(value)
            )),
        }
    }
    writer.report.notes.extend(notes);
    if fediverse.is_empty() && links.is_empty() {
        return Ok(());
    }
    let path = root.join("stoa.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| SiteError::io(&path, e))?;
    let lines: String = fediverse
        .iter()
        .map(|(k, v)| format!("{k} = {v}\n"))
        .collect();
    let mut new = match text.find("\n[fediverse]\n") {
        Some(i) => {
            let at = i + "\n[fediverse]\n".len();
            format!("{}{lines}{}", &text[..at], &text[at..])
        }
        None if text.starts_with("[fediverse]\n") => {
            format!("[fediverse]\n{lines}{}", &text["[fediverse]\n".len()..])
        }
        None => format!("{}\n[fediverse]\n{lines}", text.trim_end()),
    };
    new.push_str(&links);
    // Only a stoa.toml that still reads is written.
    if let Err(e) = Config::parse(&new, &path) {
        writer.report.notes.push(format!(
            "the profile was not written to stoa.toml, which would not read with it ({e}); set it by hand"
        ));
        return Ok(());
    }
    for (k, v) in &fediverse {
        writer
            .report
            .settings
            .push(format!("[fediverse] {k} = {v}"));
    }
    if !links.is_empty() {
        writer
            .report
            .settings
            .push("[[links]]: the profile fields that hold a link".into());
    }
    if !writer.dry_run() {
        std::fs::write(&path, new).map_err(|e| SiteError::io(&path, e))?;
    }
    Ok(())
}

/// The file `entry` of an unpacked archive, when it is a regular file
/// inside the archive's folder: a symbolic link (an unpacked zip may hold
/// one, pointing anywhere) or a path leading out is not.
fn regular_file_inside(dir: &Path, entry: &Path) -> Option<PathBuf> {
    let file = dir.join(entry);
    let meta = std::fs::symlink_metadata(&file).ok()?;
    if !meta.file_type().is_file() {
        return None;
    }
    let real = file.canonicalize().ok()?;
    let root = dir.canonicalize().ok()?;
    real.starts_with(&root).then_some(file)
}

/// The file extension for a media type a blog shows (pictures, video,
/// audio); `None` for anything else.
fn media_extension(media_type: &str) -> Option<&'static str> {
    let essence = media_type.split(';').next().unwrap_or("").trim();
    Some(match essence.to_ascii_lowercase().as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/avif" => "avif",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/ogg" => "ogg",
        "audio/mp4" | "audio/x-m4a" => "m4a",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/flac" => "flac",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_never_climb_out() {
        assert_eq!(
            safe_relative("/system/media_attachments/files/1/a.png"),
            Some(PathBuf::from("media_attachments/files/1/a.png"))
        );
        assert_eq!(
            safe_relative("media_attachments\\files\\a.png"),
            Some(PathBuf::from("media_attachments/files/a.png"))
        );
        for bad in ["../etc/passwd", "a/../../b", "", "/", "C:/x", "./../x"] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
    }

    #[test]
    fn entries_over_their_cap_are_refused_by_name() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("outbox.json"), "0123456789").expect("write");
        let mut folder = Archive::open(dir.path()).expect("a folder");
        let err = folder
            .read(Path::new("outbox.json"), 5)
            .expect_err("over the cap");
        assert!(
            err.to_string()
                .contains("outbox.json is larger than 5 bytes"),
            "{err}"
        );
        assert_eq!(
            folder.read(Path::new("outbox.json"), 10).expect("within"),
            Some(b"0123456789".to_vec())
        );
        assert_eq!(folder.read(Path::new("missing"), 10).expect("absent"), None);

        let zip_path = dir.path().join("a.zip");
        let mut zip = zip::ZipWriter::new(File::create(&zip_path).expect("create"));
        zip.start_file(
            "media_attachments/big.png",
            zip::write::SimpleFileOptions::default(),
        )
        .expect("entry");
        zip.write_all(&[7u8; 64]).expect("write");
        zip.finish().expect("finish");
        let mut archive = Archive::open(&zip_path).expect("a zip");
        let err = archive
            .read(Path::new("media_attachments/big.png"), 63)
            .expect_err("over the cap");
        assert!(
            err.to_string()
                .contains("media_attachments/big.png is larger than 63 bytes"),
            "{err}"
        );
        assert_eq!(
            archive
                .read(Path::new("media_attachments/big.png"), 64)
                .expect("within")
                .map(|b| b.len()),
            Some(64)
        );
    }

    #[test]
    fn the_slug_is_the_status_id() {
        assert_eq!(
            slug_of("https://m.example/users/ada/statuses/1093").as_deref(),
            Some("1093")
        );
        assert_eq!(slug_of(""), None);
    }
}
