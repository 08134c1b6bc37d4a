//! Splits a Markdown file into TOML front matter and body, and parses the
//! front matter strictly: unknown fields, bad dates and wrong types are
//! errors that name the file, the line and the fix.

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

/// Front matter as written (TOML between `+++` lines).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    title: Option<String>,
    date: Option<Spanned<toml::Value>>,
    updated: Option<Spanned<toml::Value>>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    draft: bool,
    slug: Option<Spanned<String>>,
    description: Option<String>,
    summary: Option<String>,
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    images: Vec<ImageRef>,
    in_reply_to: Option<Spanned<String>>,
    language: Option<String>,
    #[serde(default)]
    pinned: bool,
    #[serde(default)]
    fediverse: ObjectKind,
    quote_policy: Option<QuotePolicy>,
    quote: Option<Spanned<String>>,
}

/// Parsed, validated front matter.
#[derive(Debug, Clone, PartialEq)]
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

/// Splits `text` into (front matter, body, line where the body starts).
pub fn split<'a>(text: &'a str, path: &Path) -> Result<(&'a str, &'a str, usize), SiteError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line_end = text.find('\n').unwrap_or(text.len());
    let first = text[..first_line_end].trim_end_matches('\r').trim_end();
    if first != "+++" {
        let hint = if first == "---" {
            "stoa reads TOML front matter between `+++` lines; replace the `---` lines with `+++` and write `key = \"value\"`"
        } else {
            "start the file with a line `+++`, the front matter (for example `date = 2024-05-01`), and another `+++` line"
        };
        return Err(SiteError::Content(Located::new(
            path,
            1,
            "missing front matter".into(),
            Some(hint.into()),
        )));
    }
    let fm_start = (first_line_end + 1).min(text.len());
    let mut offset = fm_start;
    for line in text[fm_start..].split_inclusive('\n') {
        if line.trim_end() == "+++" {
            let body_start = offset + line.len();
            let body_line = line_of(text, body_start);
            return Ok((&text[fm_start..offset], &text[body_start..], body_line));
        }
        offset += line.len();
    }
    Err(SiteError::Content(Located::new(
        path,
        1,
        "the front matter is not closed".into(),
        Some("add a line `+++` after the last front matter field".into()),
    )))
}

/// Parses front matter text (the part between the `+++` lines).
pub fn parse(fm: &str, path: &Path) -> Result<FrontMatter, SiteError> {
    // Line 1 is the opening `+++`, so front matter line n is file line n + 1.
    let err = |offset: usize, message: String, hint: Option<String>| {
        SiteError::Content(Located::new(path, line_of(fm, offset) + 1, message, hint))
    };
    let raw: Raw = toml::from_str(fm).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        let message = toml_message(&e);
        let hint = if message.contains("unknown field") {
            Some("remove the field or fix its spelling; the fields are listed in the README under \"Front matter\"".to_string())
        } else {
            Some("front matter is TOML: strings in quotes, dates like 2024-05-01T09:30:00Z, lists like [\"a\", \"b\"]".to_string())
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
                        "write `{key} = 2024-05-01` or `{key} = 2024-05-01T09:30:00+02:00`"
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
                    Some(
                        "use lowercase letters, digits and `-`, like `slug = \"my-first-post\"`"
                            .into(),
                    ),
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
                format!("`in_reply_to` must be the URL of a post, got {:?}", s.get_ref()),
                Some("paste the post's address, like `in_reply_to = \"https://mastodon.social/@alice/1234\"`".into()),
            ));
        }
        other => other.map(Spanned::into_inner),
    };
    let quote = match raw.quote {
        Some(s) if !(s.get_ref().starts_with("https://") || s.get_ref().starts_with("http://")) => {
            return Err(err(
                s.span().start,
                format!("`quote` must be the URL of a post, got {:?}", s.get_ref()),
                Some("paste the address of the post to quote, like `quote = \"https://mastodon.social/@alice/1234\"`".into()),
            ));
        }
        other => other.map(Spanned::into_inner),
    };
    Ok(FrontMatter {
        title: raw.title.filter(|t| !t.trim().is_empty()),
        date: date(raw.date, "date")?,
        updated: date(raw.updated, "updated")?,
        // `#rust` and `rust` are the same tag.
        tags: raw
            .tags
            .into_iter()
            .map(|t| t.trim().trim_start_matches('#').trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        draft: raw.draft,
        slug,
        description: raw.description,
        summary: raw.summary.filter(|s| !s.trim().is_empty()),
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

/// Accepts TOML dates and datetimes, and the same written as strings.
/// Dates and local times without an offset are read as UTC.
pub fn parse_date(v: &toml::Value) -> Option<PostDate> {
    let text = match v {
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::String(s) => s.trim().to_string(),
        _ => return None,
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
        let (fm, body, line) =
            split("+++\ntitle = \"a\"\n+++\nhello\n", Path::new("x.md")).unwrap();
        assert_eq!(fm, "title = \"a\"\n");
        assert_eq!(body, "hello\n");
        assert_eq!(line, 4);
    }

    #[test]
    fn crlf_and_bom_are_fine() {
        let (fm, body, _) = split(
            "\u{feff}+++\r\ntitle = \"a\"\r\n+++\r\nhi",
            Path::new("x.md"),
        )
        .unwrap();
        assert_eq!(fm, "title = \"a\"\r\n");
        assert_eq!(body, "hi");
    }

    #[test]
    fn yaml_gets_a_hint() {
        let e = split("---\ntitle: a\n---\n", Path::new("x.md"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.md:1") && e.contains("+++"), "{e}");
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
}
