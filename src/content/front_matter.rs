//! Splits a Markdown file into front matter and body, and parses the
//! front matter strictly: unknown fields, bad dates and wrong types are
//! errors that name the file, the line and the fix.
//!
//! Front matter is TOML between `+++` lines or YAML between `---` lines.
//! YAML is turned into the same TOML fields (one per line, remembering the
//! YAML line of each), so both go through one set of checks. The fields
//! Hugo, Jekyll and Micro.blog write are mapped to what they mean there
//! (see the README's front matter table).

use std::path::Path;

use jiff::Timestamp;
use serde::Deserialize;
use toml::Spanned;

use crate::config::{QuotePolicy, line_of, toml_message};
use crate::error::{Located, SiteError};

/// How the post travels on the fediverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// Full text everywhere (the default; Mastodon shows only a title card for Article).
    #[default]
    Note,
    /// A title card on Mastodon, full text on GoToSocial and Misskey.
    Article,
}

/// An image listed in front matter (a photo post).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRef {
    /// Site path (`/images/x.jpg`) or a path relative to the post.
    pub src: String,
    /// Alternative text: required, because screen readers and the fediverse need it.
    pub alt: String,
}

/// A point in time from front matter, remembering whether a time was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PostDate {
    /// The instant (a date alone is midnight UTC).
    pub at: Timestamp,
    /// `false` when only a day was written (`date = 2024-05-01`).
    pub has_time: bool,
}

/// How the front matter of a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML between `+++` lines (stoa's own, and Hugo's).
    Toml,
    /// YAML between `---` lines (Jekyll's, Hugo's and Micro.blog's).
    Yaml,
}

impl Format {
    /// `key = value` or `key: value`, for the fix in a message.
    fn kv(self, key: &str, value: &str) -> String {
        match self {
            Format::Toml => format!("{key} = {value}"),
            Format::Yaml => format!("{key}: {value}"),
        }
    }
}

/// Front matter as written (TOML between `+++` lines, or YAML turned into
/// the same TOML). Synonyms from Hugo and Jekyll that mean the same thing
/// are serde aliases; fields whose meaning differs are separate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    title: Option<String>,
    date: Option<Spanned<toml::Value>>,
    /// Hugo's publication date: the date when `date` is absent.
    #[serde(rename = "publishDate", alias = "publishdate")]
    publish_date: Option<Spanned<toml::Value>>,
    #[serde(alias = "lastmod", alias = "last_modified_at")]
    updated: Option<Spanned<toml::Value>>,
    #[serde(default)]
    tags: Vec<String>,
    /// Hugo's and Jekyll's categories: tags too.
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    draft: bool,
    /// Jekyll: `published: false` is a draft.
    published: Option<bool>,
    slug: Option<Spanned<String>>,
    description: Option<String>,
    /// Jekyll's excerpt, and Hugo's `summary` in YAML: the description.
    excerpt: Option<String>,
    /// In TOML, stoa's content warning.
    summary: Option<Spanned<String>>,
    #[serde(alias = "cw")]
    content_warning: Option<String>,
    /// Old addresses (Hugo `aliases`, Jekyll `redirect_from`).
    #[serde(alias = "redirect_from")]
    aliases: Option<Spanned<Vec<String>>>,
    /// Hugo's `url`, Jekyll's `permalink`: the old address.
    #[serde(alias = "permalink")]
    url: Option<Spanned<String>>,
    /// Jekyll's and Hugo's layout: accepted when it names the usual one.
    layout: Option<Spanned<String>>,
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    images: Vec<ImageRef>,
    in_reply_to: Option<Spanned<String>>,
    #[serde(alias = "lang")]
    language: Option<String>,
    #[serde(default)]
    pinned: bool,
    #[serde(default)]
    fediverse: ObjectKind,
    quote_policy: Option<QuotePolicy>,
    quote: Option<Spanned<String>>,
}

/// Parsed, validated front matter (the default: nothing set, as importers start).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrontMatter {
    /// Optional title; untitled posts are micro-posts.
    pub title: Option<String>,
    /// Publication date (required for posts, optional for pages).
    pub date: Option<PostDate>,
    /// Last meaningful edit.
    pub updated: Option<PostDate>,
    /// Tags as written.
    pub tags: Vec<String>,
    /// Drafts are built only with `--drafts`.
    pub draft: bool,
    /// Explicit slug; otherwise the file name decides.
    pub slug: Option<String>,
    /// Meta/OpenGraph description.
    pub description: Option<String>,
    /// Content warning.
    pub summary: Option<String>,
    /// Old addresses of this post (site paths like `/2019/05/old/`),
    /// redirected to its page.
    pub aliases: Vec<String>,
    /// Hide media behind a warning.
    pub sensitive: bool,
    /// Photo attachments.
    pub images: Vec<ImageRef>,
    /// URL of the fediverse post this one answers.
    pub in_reply_to: Option<String>,
    /// Language of this post when it differs from the site's.
    pub language: Option<String>,
    /// Pinned to the profile (featured).
    pub pinned: bool,
    /// Note or Article.
    pub fediverse: ObjectKind,
    /// Who may quote this post, when it differs from the site's setting.
    pub quote_policy: Option<QuotePolicy>,
    /// URL of the fediverse post this one quotes.
    pub quote: Option<String>,
    /// The quoted author's approval (a `QuoteAuthorization` URL): not
    /// written in front matter but recorded by `stoa publish` in
    /// `published.toml`.
    pub quote_authorization: Option<String>,
    /// The quoted post as fetched at publish (kept in `published.toml`),
    /// for the blog page.
    pub quoted: Option<QuotedPost>,
}

/// A quoted post as the blog page shows it: fetched once by `stoa publish`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuotedPost {
    /// Its web page (else its id).
    pub url: String,
    /// Its author's name.
    pub author: String,
    /// Its author's actor URL.
    pub author_url: String,
    /// Its text, plain and shortened.
    pub text: String,
}

/// Splits `text` into (format, front matter, body, line where the body starts).
pub fn split<'a>(
    text: &'a str,
    path: &Path,
) -> Result<(Format, &'a str, &'a str, usize), SiteError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line_end = text.find('\n').unwrap_or(text.len());
    let first = text[..first_line_end].trim_end_matches('\r').trim_end();
    let (format, fence) = match first {
        "+++" => (Format::Toml, "+++"),
        "---" => (Format::Yaml, "---"),
        _ => {
            return Err(SiteError::Content(Located::new(
                path,
                1,
                "missing front matter".into(),
                Some("start the file with a line `+++`, the front matter (for example `date = 2024-05-01`), and another `+++` line (or the same in YAML between `---` lines)".into()),
            )));
        }
    };
    let fm_start = (first_line_end + 1).min(text.len());
    let mut offset = fm_start;
    for line in text[fm_start..].split_inclusive('\n') {
        let l = line.trim_end();
        // Jekyll and Hugo also accept `...` as the end of a YAML document.
        if l == fence || (format == Format::Yaml && l == "...") {
            let body_start = offset + line.len();
            let body_line = line_of(text, body_start);
            return Ok((
                format,
                &text[fm_start..offset],
                &text[body_start..],
                body_line,
            ));
        }
        offset += line.len();
    }
    Err(SiteError::Content(Located::new(
        path,
        1,
        "the front matter is not closed".into(),
        Some(format!(
            "add a line `{fence}` after the last front matter field"
        )),
    )))
}

/// Splits and parses a whole file: its front matter, its format and its body.
pub fn read<'a>(text: &'a str, path: &Path) -> Result<(FrontMatter, Format, &'a str), SiteError> {
    let (format, fm, body, _) = split(text, path)?;
    let meta = match format {
        Format::Toml => parse(fm, path)?,
        Format::Yaml => parse_yaml(fm, path)?,
    };
    Ok((meta, format, body))
}

/// Parses TOML front matter text (the part between the `+++` lines).
pub fn parse(fm: &str, path: &Path) -> Result<FrontMatter, SiteError> {
    // Line 1 is the opening `+++`, so front matter line n is file line n + 1.
    parse_fields(fm, path, Format::Toml, &|line| line + 1)
}

/// Parses YAML front matter text (the part between the `---` lines).
pub fn parse_yaml(fm: &str, path: &Path) -> Result<FrontMatter, SiteError> {
    let (toml_text, lines) = yaml_to_toml(fm, path)?;
    // Line n of the TOML is the field written on YAML line lines[n - 1],
    // which is file line lines[n - 1] + 1 (after the opening `---`).
    let map = |line: usize| lines.get(line.saturating_sub(1)).copied().unwrap_or(1) + 1;
    parse_fields(&toml_text, path, Format::Yaml, &map)
}

/// Keys that only Hugo writes: with one of them, `summary` in TOML front
/// matter is Hugo's excerpt, not stoa's content warning.
/// (`aliases` is stoa's own field too, so it says nothing.)
const HUGO_ONLY: &[&str] = &[
    "lastmod",
    "categories",
    "publishDate",
    "expiryDate",
    "weight",
];

/// The fix for a field that Hugo, Jekyll or Micro.blog write but stoa has
/// no place for (so it is refused rather than dropped in silence).
fn foreign_field(key: &str) -> Option<&'static str> {
    Some(match key {
        "author" | "authors" => {
            "every post is by the blog's author (`author` in stoa.toml): remove the field, or name a guest author in the text"
        }
        "expiryDate" | "expirydate" | "unpublishdate" => {
            "stoa does not unpublish posts by date: remove the field, and set `draft` to true (or delete the file) when the post should go"
        }
        "weight" => "posts are ordered by date and pages by address: remove `weight`",
        "type" => {
            "a post is a file under content/posts/, a page any other file: remove `type` and move the file if needed"
        }
        "keywords" => "stoa has no meta keywords: move them to `tags`, or remove the field",
        "photos" | "photos_with_metadata" | "featured_image" | "image" | "cover" => {
            "list the pictures under `images`, each with its alt text: images = [{ src = \"photo.jpg\", alt = \"What it shows\" }] (in YAML: images: [{ src: photo.jpg, alt: \"What it shows\" }])"
        }
        "toc" | "showToc" | "comments" | "math" | "series" | "menu" | "headless" | "sitemap" => {
            "this is a setting of a Hugo or Jekyll theme that stoa's theme does not have: remove the field"
        }
        _ => return None,
    })
}

/// Layouts that say nothing more than where the file is.
const PLAIN_LAYOUTS: &[&str] = &["post", "posts", "page", "default", "single"];

/// Parses TOML `fm`; `file_line` turns a line of `fm` into a line of the file.
fn parse_fields(
    fm: &str,
    path: &Path,
    format: Format,
    file_line: &dyn Fn(usize) -> usize,
) -> Result<FrontMatter, SiteError> {
    let err = |offset: usize, message: String, hint: Option<String>| {
        SiteError::Content(Located::new(
            path,
            file_line(line_of(fm, offset)),
            message,
            hint,
        ))
    };
    let raw: Raw = toml::from_str(fm).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let message = toml_message(&e);
        let unknown = message
            .strip_prefix("unknown field `")
            .and_then(|m| m.split('`').next());
        let hint = if let Some(fix) = unknown.and_then(foreign_field) {
            Some(fix.to_string())
        } else if message.contains("unknown field") {
            Some("remove the field or fix its spelling; the fields (and those of Hugo, Jekyll and Micro.blog that stoa understands) are listed in the README under \"Front matter\"".to_string())
        } else if message.contains("ImageRef") || message.contains("`src`") {
            Some(format!(
                "each image needs its alt text: {}",
                match format {
                    Format::Toml => "images = [{ src = \"photo.jpg\", alt = \"What the photo shows\" }]",
                    Format::Yaml => "images: [{ src: photo.jpg, alt: \"What the photo shows\" }]",
                }
            ))
        } else {
            match format {
                Format::Toml => Some("front matter is TOML: strings in quotes, dates like 2024-05-01T09:30:00Z, lists like [\"a\", \"b\"]".to_string()),
                Format::Yaml => Some("check the type of the value: text, a date like 2024-05-01T09:30:00Z, true or false, or a list like [a, b]".to_string()),
            }
        };
        err(offset, message, hint)
    })?;
    let date = |v: Option<Spanned<toml::Value>>,
                key: &str|
     -> Result<Option<PostDate>, SiteError> {
        match v {
            None => Ok(None),
            Some(s) => parse_date(s.get_ref()).map(Some).ok_or_else(|| {
                let written = s.get_ref().to_string();
                // A well-formed date that no timestamp can hold (jiff's
                // range ends on 9999-12-30) is out of range, not "not a date".
                let year: Option<i64> = written
                    .trim_matches(['"', '\''])
                    .trim_start_matches('-')
                    .get(..4)
                    .and_then(|y| y.parse().ok());
                let message = match year {
                    Some(y) if y >= 9999 || written.trim_matches('"').starts_with('-') => {
                        format!("`{key}` is out of range: {written} (dates go up to 9999-12-30)")
                    }
                    _ => format!("`{key}` is not a date: {written}"),
                };
                err(
                    s.span().start,
                    message,
                    Some(format!(
                        "write `{}` or `{}`",
                        format.kv(key, "2024-05-01"),
                        format.kv(key, "2024-05-01T09:30:00+02:00")
                    )),
                )
            }),
        }
    };
    let slug = match raw.slug {
        Some(s) => {
            let v = s.get_ref();
            if v.is_empty()
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(err(
                    s.span().start,
                    format!("slug {v:?} can't be used in a URL"),
                    Some(format!(
                        "use lowercase letters, digits and `-`, like `{}`",
                        format.kv("slug", "\"my-first-post\"")
                    )),
                ));
            }
            Some(v.clone())
        }
        None => None,
    };
    let in_reply_to = match raw.in_reply_to {
        Some(s) if !(s.get_ref().starts_with("https://") || s.get_ref().starts_with("http://")) => {
            return Err(err(
                s.span().start,
                format!(
                    "`in_reply_to` must be the URL of a post, got {:?}",
                    s.get_ref()
                ),
                Some(format!(
                    "paste the post's address, like `{}`",
                    format.kv("in_reply_to", "\"https://mastodon.social/@alice/1234\"")
                )),
            ));
        }
        other => other.map(Spanned::into_inner),
    };
    let quote = match raw.quote {
        Some(s) if !(s.get_ref().starts_with("https://") || s.get_ref().starts_with("http://")) => {
            return Err(err(
                s.span().start,
                format!("`quote` must be the URL of a post, got {:?}", s.get_ref()),
                Some(format!(
                    "paste the address of the post to quote, like `{}`",
                    format.kv("quote", "\"https://mastodon.social/@alice/1234\"")
                )),
            ));
        }
        other => other.map(Spanned::into_inner),
    };
    // In TOML, `summary` is stoa's content warning; next to fields only
    // Hugo writes it is Hugo's excerpt, and guessing would be a silent
    // change of meaning.
    if let Some(s) = &raw.summary
        && let Some(hugo) = fm.lines().find_map(|l| {
            let key = l.split(['=', ' ']).next().unwrap_or("").trim();
            HUGO_ONLY.iter().find(|k| **k == key)
        })
    {
        return Err(err(
            s.span().start,
            format!("`summary` is ambiguous here: in stoa it is a content warning, but next to `{hugo}` this looks like Hugo front matter, where it is an excerpt"),
            Some("write `description = \"...\"` for an excerpt, or `content_warning = \"...\"` for a content warning folding the post".into()),
        ));
    }
    if let Some(l) = &raw.layout
        && !PLAIN_LAYOUTS.contains(&l.get_ref().as_str())
    {
        return Err(err(
            l.span().start,
            format!("stoa has no layout {:?}: every post uses the theme's post template, every page its page template", l.get_ref()),
            Some("remove `layout`, or change the template in your theme (see \"Themes\" in the README)".into()),
        ));
    }
    let mut aliases = Vec::new();
    if let Some(list) = raw.aliases {
        let at = list.span().start;
        for a in list.into_inner() {
            aliases.push(old_address(&a).map_err(|why| {
                err(
                    at,
                    why,
                    Some(format!(
                        "write the old address from the site's root, like `{}`",
                        format.kv("aliases", "[\"/2019/05/old-post/\"]")
                    )),
                )
            })?);
        }
    }
    if let Some(u) = raw.url {
        aliases.push(old_address(u.get_ref()).map_err(|why| {
            err(u.span().start, why, Some("stoa keeps its own addresses (/posts/<slug>/) and redirects this one there: write it from the site's root, like `/2019/05/old-post/`".into()))
        })?);
    }
    aliases.dedup();
    let summary = match (raw.content_warning, raw.summary) {
        (Some(cw), _) => Some(cw),
        (None, s) => s.map(Spanned::into_inner),
    };
    let tags = raw.tags.into_iter().chain(raw.categories);
    Ok(FrontMatter {
        title: raw.title.filter(|t| !t.trim().is_empty()),
        date: match date(raw.date, "date")? {
            Some(d) => Some(d),
            None => date(raw.publish_date, "publishDate")?,
        },
        updated: date(raw.updated, "updated")?,
        // `#rust` and `rust` are the same tag.
        tags: tags
            .map(|t| t.trim().trim_start_matches('#').trim().to_string())
            .filter(|t| !t.is_empty())
            .fold(Vec::new(), |mut v, t| {
                if !v.contains(&t) {
                    v.push(t);
                }
                v
            }),
        draft: raw.draft || raw.published == Some(false),
        slug,
        description: raw.description.or(raw.excerpt),
        summary: summary.filter(|s| !s.trim().is_empty()),
        aliases,
        sensitive: raw.sensitive,
        images: raw.images,
        in_reply_to,
        language: raw.language,
        pinned: raw.pinned,
        fediverse: raw.fediverse,
        quote_policy: raw.quote_policy,
        quote,
        quote_authorization: None,
        quoted: None,
    })
}

/// An old address as a site path (`/2019/05/old/`): a full URL keeps its
/// path; anything that is not a plain path is refused with the reason.
/// An old address as a plain site path (`/2019/05/post/`), or why it is
/// not one.
pub(crate) fn old_address(written: &str) -> Result<String, String> {
    let w = written.trim();
    let path = match w.split_once("://") {
        Some((scheme, rest)) if scheme == "https" || scheme == "http" => {
            rest.find('/').map(|i| &rest[i..]).unwrap_or("/")
        }
        _ => w,
    };
    if !path.starts_with('/') {
        return Err(format!("the old address {written:?} is relative"));
    }
    if path == "/" {
        return Err("the old address \"/\" is the home page itself".into());
    }
    if path.split('/').any(|seg| seg == "..")
        || path.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '?' | '#' | '\\' | '*' | ':' | '"' | '<' | '>')
        })
    {
        return Err(format!("the old address {written:?} is not a plain path"));
    }
    Ok(path.to_string())
}

/// The YAML line where top-level `key:` is written (1 when not found).
fn yaml_key_line(fm: &str, key: &str) -> usize {
    fm.lines()
        .position(|l| {
            let l = l.trim_end();
            [
                format!("{key}:"),
                format!("\"{key}\":"),
                format!("'{key}':"),
            ]
            .iter()
            .any(|k| l.starts_with(k.as_str()))
        })
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// Turns YAML front matter into TOML text with one field a line, and the
/// YAML line of each field. YAML-only spellings become lists here:
/// Jekyll's `tags: a b` and `category: x`, a single `aliases: /old/`.
/// Hugo's `summary` (an excerpt) becomes `excerpt`, never a content warning.
fn yaml_to_toml(fm: &str, path: &Path) -> Result<(String, Vec<usize>), SiteError> {
    use serde_norway::Value as Y;
    let yaml_err = |line: usize, message: String, hint: &str| {
        SiteError::Content(Located::new(
            path,
            line + 1,
            message,
            Some(hint.to_string()),
        ))
    };
    let value: Y = serde_norway::from_str(fm).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(1);
        let message = e.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        yaml_err(
            line,
            format!("this YAML front matter does not parse: {message}"),
            "write one `key: value` a line; put values with `: `, `#` or a leading `[`, `{`, `*`, `&`, `@` in quotes, and lists as `[a, b]` or lines `- a`",
        )
    })?;
    let map = match value {
        Y::Null => return Ok((String::new(), Vec::new())),
        Y::Mapping(m) => m,
        _ => {
            return Err(yaml_err(
                1,
                "YAML front matter must be fields, one `key: value` a line".into(),
                "write it like `title: My post` and `date: 2024-05-01` on their own lines",
            ));
        }
    };
    let mut text = String::new();
    let mut lines = Vec::new();
    for (k, v) in map {
        let Y::String(key) = k else {
            return Err(yaml_err(
                1,
                format!("a front matter key is not a name: {k:?}"),
                "keys are names like `title` or `date`",
            ));
        };
        let line = yaml_key_line(fm, &key);
        if v.is_null() {
            // `description:` with nothing after it: not written.
            continue;
        }
        let (name, v) = match key.as_str() {
            "summary" => ("excerpt".to_string(), v),
            "category" => ("categories".to_string(), v),
            _ => (key.clone(), v),
        };
        let v = match (name.as_str(), v) {
            ("tags" | "categories", Y::String(s)) => Y::Sequence(
                s.split_whitespace()
                    .map(|t| Y::String(t.to_string()))
                    .collect(),
            ),
            ("aliases" | "redirect_from", Y::String(s)) => Y::Sequence(vec![Y::String(s)]),
            ("images", Y::Sequence(items)) if items.iter().any(Y::is_string) => {
                return Err(yaml_err(
                    line,
                    "`images` lists pictures without alt text (Hugo's OpenGraph images)".into(),
                    "stoa's images need their alt text: write `images: [{ src: photo.jpg, alt: \"What the photo shows\" }]`, or remove `images`",
                ));
            }
            (_, v) => v,
        };
        let Some(tv) = yaml_value(v) else {
            continue;
        };
        let key_text = if name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            name
        } else {
            toml::Value::String(name).to_string()
        };
        text.push_str(&format!("{key_text} = {tv}\n"));
        lines.push(line);
    }
    Ok((text, lines))
}

/// A YAML value as a TOML value; `None` for null (TOML has none).
fn yaml_value(v: serde_norway::Value) -> Option<toml::Value> {
    use serde_norway::Value as Y;
    Some(match v {
        Y::Null => return None,
        Y::Bool(b) => toml::Value::Boolean(b),
        Y::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Y::String(s) => toml::Value::String(s),
        Y::Sequence(items) => {
            toml::Value::Array(items.into_iter().filter_map(yaml_value).collect())
        }
        Y::Mapping(m) => {
            let mut t = toml::Table::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_norway::to_string(&other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                if let Some(v) = yaml_value(v) {
                    t.insert(key, v);
                }
            }
            toml::Value::Table(t)
        }
        Y::Tagged(t) => return yaml_value(t.value),
    })
}

/// Writes `meta` as stoa's TOML front matter (the lines between `+++`),
/// every field under its stoa name: what `stoa import` writes.
pub fn to_toml(meta: &FrontMatter) -> String {
    fn s(v: &str) -> String {
        toml::Value::String(v.to_string()).to_string()
    }
    fn list(v: &[String]) -> String {
        toml::Value::Array(v.iter().map(|t| toml::Value::String(t.clone())).collect()).to_string()
    }
    fn day(d: &PostDate) -> String {
        if d.has_time {
            d.at.to_string()
        } else {
            jiff::tz::TimeZone::UTC.to_datetime(d.at).date().to_string()
        }
    }
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k} = {v}\n"));
    if let Some(t) = &meta.title {
        line("title", s(t));
    }
    if let Some(d) = &meta.date {
        line("date", day(d));
    }
    if let Some(d) = &meta.updated {
        line("updated", day(d));
    }
    if !meta.tags.is_empty() {
        line("tags", list(&meta.tags));
    }
    if meta.draft {
        line("draft", "true".into());
    }
    if let Some(v) = &meta.slug {
        line("slug", s(v));
    }
    if let Some(v) = &meta.description {
        line("description", s(v));
    }
    if let Some(v) = &meta.summary {
        line("content_warning", s(v));
    }
    if !meta.aliases.is_empty() {
        line("aliases", list(&meta.aliases));
    }
    if meta.sensitive {
        line("sensitive", "true".into());
    }
    if !meta.images.is_empty() {
        let images: Vec<String> = meta
            .images
            .iter()
            .map(|i| format!("{{ src = {}, alt = {} }}", s(&i.src), s(&i.alt)))
            .collect();
        line("images", format!("[{}]", images.join(", ")));
    }
    if let Some(v) = &meta.in_reply_to {
        line("in_reply_to", s(v));
    }
    if let Some(v) = &meta.language {
        line("language", s(v));
    }
    if meta.pinned {
        line("pinned", "true".into());
    }
    if meta.fediverse == ObjectKind::Article {
        line("fediverse", s("article"));
    }
    if let Some(v) = meta.quote_policy {
        let v = toml::Value::try_from(v)
            .map(|v| v.to_string())
            .unwrap_or_default();
        if !v.is_empty() {
            line("quote_policy", v);
        }
    }
    if let Some(v) = &meta.quote {
        line("quote", s(v));
    }
    out
}

/// Accepts TOML dates and datetimes, and the same written as strings.
/// Dates and local times without an offset are read as UTC.
pub fn parse_date(v: &toml::Value) -> Option<PostDate> {
    let text = match v {
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    // Jekyll writes `2024-05-01 09:30:00 +0200`: a space before the offset.
    let parts: Vec<&str> = text.split_whitespace().collect();
    let text = match parts.as_slice() {
        [day, time, zone] if zone.starts_with(['+', '-']) => format!("{day}T{time}{zone}"),
        [day, time, "UTC" | "Z"] => format!("{day}T{time}Z"),
        _ => text,
    };
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(PostDate {
            at: ts,
            has_time: true,
        });
    }
    if let Ok(dt) = text.replacen(' ', "T", 1).parse::<jiff::civil::DateTime>()
        && text.len() > 10
    {
        let at = dt
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp();
        return Some(PostDate { at, has_time: true });
    }
    let d = text.parse::<jiff::civil::Date>().ok()?;
    let at = d
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp();
    Some(PostDate {
        at,
        has_time: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(fm: &str) -> Result<FrontMatter, SiteError> {
        parse(fm, Path::new("content/posts/x.md"))
    }

    #[test]
    fn splits_and_reports_body_line() {
        let (format, fm, body, line) =
            split("+++\ntitle = \"a\"\n+++\nhello\n", Path::new("x.md")).unwrap();
        assert_eq!(format, Format::Toml);
        assert_eq!(fm, "title = \"a\"\n");
        assert_eq!(body, "hello\n");
        assert_eq!(line, 4);
    }

    #[test]
    fn crlf_and_bom_are_fine() {
        let (_, fm, body, _) = split(
            "\u{feff}+++\r\ntitle = \"a\"\r\n+++\r\nhi",
            Path::new("x.md"),
        )
        .unwrap();
        assert_eq!(fm, "title = \"a\"\r\n");
        assert_eq!(body, "hi");
    }

    fn y(fm: &str) -> Result<FrontMatter, SiteError> {
        parse_yaml(fm, Path::new("content/posts/x.md"))
    }

    #[test]
    fn yaml_is_read() {
        let (format, fm, body, line) =
            split("---\ntitle: a\n---\nhi\n", Path::new("x.md")).unwrap();
        assert_eq!(
            (format, fm, body, line),
            (Format::Yaml, "title: a\n", "hi\n", 4)
        );
        let f = y("title: \"A: b\"\ndate: 2024-05-01T09:30:00+02:00\ntags: [rust, \"#web\"]\n")
            .unwrap();
        assert_eq!(f.title.as_deref(), Some("A: b"));
        assert_eq!(f.date.unwrap().at.to_string(), "2024-05-01T07:30:00Z");
        assert_eq!(f.tags, ["rust", "web"]);
        assert!(y("").unwrap().title.is_none());
    }

    #[test]
    fn hugo_fields_mean_what_they_meant() {
        let f = y("title: x\ndate: 2024-05-01\nlastmod: 2024-06-01\nsummary: An excerpt.\ncategories:\n  - travel\ntags: [rust]\naliases:\n  - /2024/05/old/\n  - https://old.example/x.html\ndraft: false\ndescription:\n").unwrap();
        assert_eq!(f.description.as_deref(), Some("An excerpt."));
        assert_eq!(f.summary, None, "Hugo's summary is no content warning");
        assert_eq!(f.updated.unwrap().at.to_string(), "2024-06-01T00:00:00Z");
        assert_eq!(f.tags, ["rust", "travel"]);
        assert_eq!(f.aliases, ["/2024/05/old/", "/x.html"]);
        let f = y("publishDate: 2024-05-01\ncw: spiders\n").unwrap();
        assert!(f.date.is_some());
        assert_eq!(f.summary.as_deref(), Some("spiders"));
        // The same Hugo page in TOML: `summary` next to Hugo-only fields is refused.
        let e = p("title = \"x\"\nlastmod = 2024-06-01\nsummary = \"An excerpt.\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("content/posts/x.md:4:") && e.contains("description"),
            "{e}"
        );
        // `aliases` is stoa's field too: stoa's own summary stays the content warning.
        let f = p("summary = \"spiders\"\naliases = [\"/old/\"]\n").unwrap();
        assert_eq!(f.summary.as_deref(), Some("spiders"));
    }

    #[test]
    fn jekyll_fields() {
        let f = y("layout: post\ndate: 2024-05-01 09:30:00 +0200\ntags: one two\ncategory: misc\nredirect_from: /old/\npermalink: /blog/x/\npublished: false\nlang: fr\nexcerpt: Short.\n").unwrap();
        assert_eq!(f.date.unwrap().at.to_string(), "2024-05-01T07:30:00Z");
        assert_eq!(f.tags, ["one", "two", "misc"]);
        assert_eq!(f.aliases, ["/old/", "/blog/x/"]);
        assert!(f.draft);
        assert_eq!(f.language.as_deref(), Some("fr"));
        assert_eq!(f.description.as_deref(), Some("Short."));
        let e = y("title: x\nlayout: gallery\n").unwrap_err().to_string();
        assert!(
            e.starts_with("content/posts/x.md:3:") && e.contains("layout"),
            "{e}"
        );
        let e = y("title: x\naliases: [old]\n").unwrap_err().to_string();
        assert!(
            e.starts_with("content/posts/x.md:3:") && e.contains("relative"),
            "{e}"
        );
    }

    #[test]
    fn yaml_errors_name_the_yaml_line() {
        let e = y("title: x\ndate: [oops\n").unwrap_err().to_string();
        assert!(e.starts_with("content/posts/x.md:"), "{e}");
        let e = y("title: x\n\nauthor: me\n").unwrap_err().to_string();
        assert!(
            e.starts_with("content/posts/x.md:4:") && e.contains("author"),
            "{e}"
        );
        let e = y("title: x\ndate: yesterday\n").unwrap_err().to_string();
        assert!(
            e.starts_with("content/posts/x.md:3:") && e.contains("date: 2024-05-01"),
            "{e}"
        );
        let e = y("images: [a.jpg]\n").unwrap_err().to_string();
        assert!(
            e.starts_with("content/posts/x.md:2:") && e.contains("alt"),
            "{e}"
        );
        let e = y("images:\n  - src: a.jpg\n").unwrap_err().to_string();
        assert!(e.contains("alt"), "{e}");
    }

    #[test]
    fn unclosed_front_matter() {
        let e = split("+++\ntitle = \"a\"\n", Path::new("x.md"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not closed"), "{e}");
    }

    #[test]
    fn dates_in_every_spelling() {
        let f = p("date = 2024-05-01T09:30:00Z\nupdated = \"2024-05-02\"\n").unwrap();
        assert!(f.date.unwrap().has_time);
        assert!(!f.updated.unwrap().has_time);
        let f = p("date = 2024-05-01\n").unwrap();
        assert_eq!(f.date.unwrap().at.to_string(), "2024-05-01T00:00:00Z");
        let f = p("date = \"2024-05-01 10:00\"\n").unwrap();
        assert_eq!(f.date.unwrap().at.to_string(), "2024-05-01T10:00:00Z");
        let f = p("date = 2024-05-01T09:30:00+02:00\n").unwrap();
        assert_eq!(f.date.unwrap().at.to_string(), "2024-05-01T07:30:00Z");
    }

    #[test]
    fn bad_date_names_file_line_and_fix() {
        let e = p("title = \"x\"\ndate = \"yesterday\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("content/posts/x.md:3:"), "{e}");
        assert!(e.contains("2024-05-01"), "{e}");
    }

    #[test]
    fn unknown_field_names_line() {
        let e = p("title = \"x\"\nauthor = \"me\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("content/posts/x.md:3:"), "{e}");
        assert!(e.contains("author"), "{e}");
    }

    #[test]
    fn bad_slug_and_reply() {
        assert!(p("slug = \"a b\"\n").is_err());
        assert!(p("in_reply_to = \"@alice\"\n").is_err());
        assert_eq!(
            p("fediverse = \"article\"\n").unwrap().fediverse,
            ObjectKind::Article
        );
    }

    #[test]
    fn quote_fields() {
        let f = p("quote = \"https://m.example/@a/1\"\nquote_policy = \"followers\"\n").unwrap();
        assert_eq!(f.quote.as_deref(), Some("https://m.example/@a/1"));
        assert_eq!(f.quote_policy, Some(QuotePolicy::Followers));
        let e = p("title = \"x\"\nquote = \"@alice\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("content/posts/x.md:3:") && e.contains("quote"),
            "{e}"
        );
        let e = p("quote_policy = \"friends\"\n").unwrap_err().to_string();
        assert!(e.contains("anyone") || e.contains("friends"), "{e}");
    }

    #[test]
    fn imported_front_matter_reads_back_the_same() {
        let f = y("title: \"A \\\"quoted\\\" one\"\ndate: 2024-05-01 09:30:00 +0200\nlastmod: 2024-06-01\nsummary: Ex.\ncategories: [b]\ntags: [a]\naliases: [/old/]\ncw: spiders\nimages:\n  - { src: a.jpg, alt: \"An A\" }\nlang: fr\n").unwrap();
        let back = p(&to_toml(&f)).unwrap();
        assert_eq!(back, f);
    }
}
