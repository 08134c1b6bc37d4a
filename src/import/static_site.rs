//! `stoa import hugo DIR` and `stoa import jekyll DIR`: posts and pages
//! written again with stoa's TOML front matter (every field under its stoa
//! name, see the README's front matter table), page bundles and static
//! files copied, shortcodes converted where stoa has the same thing and
//! listed per file where it has not. Nothing is announced: the imported
//! posts are recorded as imported in `published.toml` (see [`super::Writer`]).

use std::path::{Path, PathBuf};

use super::{Report, Writer, files};
use crate::content::front_matter::{self, Format, FrontMatter};
use crate::content::library::{self, CONTENT_DIR, POSTS_DIR};
use crate::error::SiteError;

/// Where the blog comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Hugo site: `content/`, `static/`, page bundles, `{{< shortcodes >}}`.
    Hugo,
    /// A Jekyll site: `_posts/`, `_drafts/`, pages at the top, Liquid tags.
    Jekyll,
}

/// Imports the site at `from` into the stoa site at `root`. Never
/// overwrites a file; with `dry_run`, writes nothing.
pub fn run(kind: Kind, from: &Path, root: &Path, dry_run: bool) -> Result<Report, SiteError> {
    let mut writer = Writer::new(root, dry_run);
    let mut markdown: Vec<(PathBuf, PathBuf, bool)> = Vec::new(); // (abs, dest rel, is_post)
    let mut others: Vec<(PathBuf, PathBuf)> = Vec::new();
    let content = Path::new(CONTENT_DIR);
    match kind {
        Kind::Hugo => {
            let src = from.join("content");
            for (abs, rel) in files(&src)? {
                let first = rel.iter().next().map(|c| c.to_string_lossy().into_owned());
                let is_post = matches!(first.as_deref(), Some("posts" | "post" | "blog"))
                    && rel.components().count() > 1;
                let dest = if is_post {
                    content
                        .join(POSTS_DIR)
                        .join(rel.iter().skip(1).collect::<PathBuf>())
                } else {
                    content.join(&rel)
                };
                if is_markdown(&rel) {
                    if rel.file_name().is_some_and(|n| n == "_index.md") {
                        writer.skip(
                            Path::new("content").join(&rel).display().to_string(),
                            "a Hugo section page: stoa makes its own lists",
                        );
                    } else {
                        markdown.push((abs, dest.with_extension("md"), is_post));
                    }
                } else {
                    others.push((abs, dest));
                }
            }
            for (abs, rel) in files(&from.join("static"))? {
                others.push((abs, Path::new("static").join(rel)));
            }
        }
        Kind::Jekyll => {
            for dir in ["_posts", "_drafts"] {
                for (abs, rel) in files(&from.join(dir))? {
                    if is_markdown(&rel) {
                        markdown.push((
                            abs,
                            content.join(POSTS_DIR).join(&rel).with_extension("md"),
                            true,
                        ));
                    }
                }
            }
            let top = std::fs::read_dir(from).map_err(|e| SiteError::io(from, e))?;
            let mut top: Vec<_> = top.filter_map(Result::ok).map(|e| e.path()).collect();
            top.sort();
            for path in top {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if name.starts_with(['_', '.'])
                    || matches!(
                        name.as_str(),
                        "vendor" | "node_modules" | "Gemfile" | "Gemfile.lock"
                    )
                {
                    continue;
                }
                if path.is_dir() {
                    for (abs, rel) in files(&path)? {
                        others.push((abs, Path::new("static").join(&name).join(rel)));
                    }
                } else if is_markdown(Path::new(&name))
                    && !matches!(name.as_str(), "index.md" | "README.md" | "404.md")
                {
                    markdown.push((
                        path.clone(),
                        content.join(&name).with_extension("md"),
                        false,
                    ));
                }
            }
        }
    }
    for (abs, dest, is_post) in markdown {
        let from_rel = abs.strip_prefix(from).unwrap_or(&abs).to_path_buf();
        let label = from_rel.display().to_string();
        match convert(kind, &abs, &from_rel, &dest, is_post) {
            Ok((dest, meta, body, unconverted)) => {
                let warnings = unconverted
                    .into_iter()
                    .map(|s| format!("left as written (no stoa equivalent): {s}"))
                    .collect();
                writer.markdown(&label, dest, &meta, &body, is_post, warnings)?;
            }
            Err(e) => writer.skip(label, e.to_string()),
        }
    }
    for (abs, dest) in others {
        let label = abs.strip_prefix(from).unwrap_or(&abs).display().to_string();
        writer.copy(&label, &abs, dest)?;
    }
    writer.finish()
}

fn is_markdown(rel: &Path) -> bool {
    rel.extension()
        .is_some_and(|e| e == "md" || e == "markdown")
}

/// One file in stoa's form: (where it goes, its front matter, its body,
/// unconverted shortcodes).
fn convert(
    kind: Kind,
    abs: &Path,
    from_rel: &Path,
    dest: &Path,
    is_post: bool,
) -> Result<(PathBuf, FrontMatter, String, Vec<String>), SiteError> {
    let text = std::fs::read_to_string(abs).map_err(|e| SiteError::io(from_rel, e))?;
    let (format, fm, body, _) = front_matter::split(&text, from_rel)?;
    let mut meta = match format {
        // In a Hugo site, `summary` is an excerpt, in TOML as in YAML.
        Format::Toml if kind == Kind::Hugo => front_matter::parse(&hugo_summary(fm), from_rel)?,
        Format::Toml => front_matter::parse(fm, from_rel)?,
        Format::Yaml => front_matter::parse_yaml(fm, from_rel)?,
    };
    let mut dest = dest.to_path_buf();
    if is_post {
        // Jekyll's names (`2024-05-01-my-post.md`) in any format.
        library::jekyll_name(&mut meta, Format::Yaml, from_rel);
        if kind == Kind::Jekyll && from_rel.starts_with("_drafts") {
            meta.draft = true;
        }
        if let Some(slug) = &meta.slug
            && dest.file_name().is_some_and(|n| n != "index.md")
        {
            dest.set_file_name(format!("{slug}.md"));
        }
    }
    let (body, unconverted) = shortcodes(kind, body);
    Ok((dest, meta, body, unconverted))
}

/// Hugo TOML front matter with `summary = …` written as `description`
/// (Hugo's summary is an excerpt), line for line.
fn hugo_summary(fm: &str) -> String {
    let has_description = fm
        .lines()
        .any(|l| l.split(['=', ' ']).next() == Some("description"));
    fm.split_inclusive('\n')
        .map(|l| match l.strip_prefix("summary") {
            Some(rest) if rest.trim_start().starts_with('=') => {
                let key = if has_description {
                    "excerpt"
                } else {
                    "description"
                };
                format!("{key}{rest}")
            }
            _ => l.to_string(),
        })
        .collect()
}

/// Converts the shortcodes stoa has an equivalent for; returns the body
/// and the ones left as written (outside code blocks).
fn shortcodes(kind: Kind, body: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(body.len());
    let mut left = Vec::new();
    let mut fenced = false;
    for line in body.split_inclusive('\n') {
        if line.trim_start().starts_with("```") || line.trim_start().starts_with("~~~") {
            fenced = !fenced;
        }
        if fenced {
            out.push_str(line);
            continue;
        }
        let (open, close): (&[&str], &[&str]) = match kind {
            Kind::Hugo => (&["{{<", "{{%"], &[">}}", "%}}"]),
            Kind::Jekyll => (&["{%", "{{"], &["%}", "}}"]),
        };
        let mut rest = line;
        while let Some((start, o)) = open
            .iter()
            .filter_map(|o| rest.find(o).map(|i| (i, *o)))
            .min()
        {
            let c = close[open.iter().position(|x| *x == o).unwrap_or(0)];
            let Some(len) = rest[start..].find(c) else {
                break;
            };
            let whole = &rest[start..start + len + c.len()];
            let inner = whole[o.len()..whole.len() - c.len()]
                .trim()
                .trim_matches('-')
                .trim();
            out.push_str(&rest[..start]);
            match convert_one(kind, o, inner) {
                Some(text) => out.push_str(&text),
                None => {
                    out.push_str(whole);
                    if !left.contains(&whole.to_string()) {
                        left.push(whole.to_string());
                    }
                }
            }
            rest = &rest[start + len + c.len()..];
        }
        out.push_str(rest);
    }
    (out, left)
}

/// `name key="value" …` → (name, named arguments, positional ones).
fn words(inner: &str) -> (String, Vec<(String, String)>, Vec<String>) {
    let mut named = Vec::new();
    let mut plain = Vec::new();
    let mut chars = inner.chars().peekable();
    let mut tokens = Vec::new();
    while chars.peek().is_some() {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut tok = String::new();
        let mut quoted = false;
        while let Some(&c) = chars.peek() {
            if c == '"' {
                quoted = !quoted;
                chars.next();
                continue;
            }
            if c.is_whitespace() && !quoted {
                break;
            }
            tok.push(c);
            chars.next();
        }
        if !tok.is_empty() {
            tokens.push(tok);
        }
    }
    let name = if tokens.is_empty() {
        String::new()
    } else {
        tokens.remove(0)
    };
    for t in tokens {
        match t.split_once('=') {
            Some((k, v)) => named.push((k.to_string(), v.to_string())),
            None => plain.push(t),
        }
    }
    (name, named, plain)
}

fn convert_one(kind: Kind, open: &str, inner: &str) -> Option<String> {
    let (name, named, plain) = words(inner);
    let arg = |k: &str| named.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    match (kind, open, name.as_str()) {
        (Kind::Hugo, _, "figure") => {
            let src = arg("src")?;
            let alt = arg("alt").or_else(|| arg("caption")).unwrap_or_default();
            Some(format!("![{alt}]({src})"))
        }
        (Kind::Hugo, _, "youtube") => {
            let id = arg("id").or_else(|| plain.first().cloned())?;
            Some(format!("<https://www.youtube.com/watch?v={id}>"))
        }
        (Kind::Jekyll, "{%", "raw" | "endraw") => Some(String::new()),
        (Kind::Jekyll, "{%", "highlight") => Some(format!(
            "```{}",
            plain.first().map(String::as_str).unwrap_or("")
        )),
        (Kind::Jekyll, "{%", "endhighlight") => Some("```".into()),
        (Kind::Jekyll, "{%", "post_url") => {
            let name = plain.first()?;
            let slug = name.get(11..).filter(|_| name.len() > 11).unwrap_or(name);
            Some(format!("/posts/{}/", slug::slugify(slug)))
        }
        (Kind::Jekyll, "{{", "site.baseurl" | "site.url") => Some(String::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcodes_are_converted_or_listed() {
        let (body, left) = shortcodes(
            Kind::Hugo,
            "A {{< figure src=\"/a.jpg\" alt=\"An A\" >}} and {{< youtube abc >}}.\n{{< gist x 1 >}}\n```\n{{< figure src=\"x\" >}}\n```\n",
        );
        assert!(
            body.starts_with(
                "A ![An A](/a.jpg) and <https://www.youtube.com/watch?v=abc>.\n{{< gist x 1 >}}\n"
            ),
            "{body}"
        );
        assert_eq!(left, ["{{< gist x 1 >}}"]);
        let (body, left) = shortcodes(
            Kind::Jekyll,
            "[x]({{ site.baseurl }}{% post_url 2024-05-01-my-post %})\n{% highlight rust %}\nfn x() {}\n{% endhighlight %}\n{% include note.html %}\n",
        );
        assert_eq!(
            body,
            "[x](/posts/my-post/)\n```rust\nfn x() {}\n```\n{% include note.html %}\n"
        );
        assert_eq!(left, ["{% include note.html %}"]);
    }

    #[test]
    fn hugo_summary_is_the_description() {
        assert_eq!(
            hugo_summary("title = \"x\"\nsummary = \"s\"\n"),
            "title = \"x\"\ndescription = \"s\"\n"
        );
    }
}
