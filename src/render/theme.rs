//! Themes: tera templates and static assets. A site picks a theme by name;
//! `themes/<name>/` in the site wins, then the default theme built into the
//! binary. Any template can be overridden by putting a file with the same
//! path in the site's `templates/` folder.

use std::path::{Path, PathBuf};

use crate::error::SiteError;

/// Name of the theme compiled into the binary.
pub const DEFAULT_THEME: &str = "default";

/// The default theme, embedded so that `stoa init` sites need no copy of it.
/// `tests` check that this list matches `themes/default/` file for file.
pub const DEFAULT_FILES: &[(&str, &[u8])] = &[
    (
        "templates/base.html",
        include_bytes!("../../themes/default/templates/base.html"),
    ),
    (
        "templates/index.html",
        include_bytes!("../../themes/default/templates/index.html"),
    ),
    (
        "templates/post.html",
        include_bytes!("../../themes/default/templates/post.html"),
    ),
    (
        "templates/page.html",
        include_bytes!("../../themes/default/templates/page.html"),
    ),
    (
        "templates/tag.html",
        include_bytes!("../../themes/default/templates/tag.html"),
    ),
    (
        "templates/tags.html",
        include_bytes!("../../themes/default/templates/tags.html"),
    ),
    (
        "templates/archive.html",
        include_bytes!("../../themes/default/templates/archive.html"),
    ),
    (
        "templates/404.html",
        include_bytes!("../../themes/default/templates/404.html"),
    ),
    (
        "templates/partials/post_item.html",
        include_bytes!("../../themes/default/templates/partials/post_item.html"),
    ),
    (
        "templates/partials/pager.html",
        include_bytes!("../../themes/default/templates/partials/pager.html"),
    ),
    (
        "static/style.css",
        include_bytes!("../../themes/default/static/style.css"),
    ),
    (
        "theme.toml",
        include_bytes!("../../themes/default/theme.toml"),
    ),
];

/// Where a theme's files come from.
#[derive(Debug, Clone)]
pub enum ThemeSource {
    /// A folder on disk (`themes/<name>/` in the site).
    Dir(PathBuf),
    /// The default theme inside the binary.
    Builtin,
}

/// A template or asset, with the path to show in error messages.
#[derive(Debug, Clone)]
pub struct ThemeFile {
    /// Path inside the theme, like `templates/post.html`.
    pub name: String,
    /// Where it was read from, for messages.
    pub origin: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// A loaded theme: templates compiled, static files ready to copy.
pub struct Theme {
    /// Compiled templates, named by their path under `templates/`.
    pub tera: tera::Tera,
    /// Static files: path under `static/` → contents.
    pub statics: Vec<ThemeFile>,
    /// Every file that went in, for change detection in `serve`.
    pub inputs: Vec<PathBuf>,
    /// Template name → file it came from, for error messages.
    pub origins: Vec<(String, String)>,
}

impl Theme {
    /// Renders a template; errors name the template file and line.
    pub fn render(&self, template: &str, context: &tera::Context) -> Result<String, SiteError> {
        self.tera
            .render(template, context)
            .map_err(|e| template_error(&e, &self.origins))
    }
}

/// Finds the theme called `name` for the site at `root`.
pub fn locate(root: &Path, name: &str) -> Result<ThemeSource, SiteError> {
    let dir = root.join("themes").join(name);
    if dir.is_dir() {
        Ok(ThemeSource::Dir(dir))
    } else if name == DEFAULT_THEME {
        Ok(ThemeSource::Builtin)
    } else {
        Err(SiteError::Template(format!(
            "theme `{name}` not found: there is no folder {}\n  help: set `theme = \"default\"` in stoa.toml, or put the theme in that folder",
            dir.display()
        )))
    }
}

/// Reads the theme's files, then the site's `templates/` overrides on top.
fn read_files(root: &Path, source: &ThemeSource) -> Result<Vec<ThemeFile>, SiteError> {
    let mut files: Vec<ThemeFile> = match source {
        ThemeSource::Builtin => DEFAULT_FILES
            .iter()
            .map(|(name, bytes)| ThemeFile {
                name: (*name).to_string(),
                origin: format!("(built-in default theme) {name}"),
                bytes: bytes.to_vec(),
            })
            .collect(),
        ThemeSource::Dir(dir) => read_tree(dir, "")?,
    };
    let overrides = root.join("templates");
    if overrides.is_dir() {
        for f in read_tree(&overrides, "templates/")? {
            files.retain(|t| t.name != f.name);
            files.push(f);
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

fn read_tree(dir: &Path, prefix: &str) -> Result<Vec<ThemeFile>, SiteError> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| SiteError::io(dir, e.into()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let name = format!("{prefix}{}", rel.to_string_lossy().replace('\\', "/"));
        if name.split('/').any(|part| part.starts_with('.')) {
            continue;
        }
        let bytes = std::fs::read(entry.path()).map_err(|e| SiteError::io(entry.path(), e))?;
        out.push(ThemeFile {
            name,
            origin: entry.path().display().to_string(),
            bytes,
        });
    }
    Ok(out)
}

/// Loads and compiles a theme. Template syntax errors name the file and line.
pub fn load(root: &Path, name: &str) -> Result<Theme, SiteError> {
    let source = locate(root, name)?;
    let files = read_files(root, &source)?;
    let mut tera = tera::Tera::new();
    tera.autoescape_on(vec![".html", ".xml"]);
    let mut statics = Vec::new();
    let mut inputs = Vec::new();
    let mut templates = Vec::new();
    for f in files {
        if !f.origin.starts_with('(') {
            inputs.push(PathBuf::from(&f.origin));
        }
        if let Some(t) = f.name.strip_prefix("templates/") {
            let text = String::from_utf8(f.bytes).map_err(|_| {
                SiteError::Template(format!("{}: a template must be UTF-8 text", f.origin))
            })?;
            templates.push((t.to_string(), text, f.origin));
        } else if let Some(s) = f.name.strip_prefix("static/") {
            statics.push(ThemeFile {
                name: s.to_string(),
                origin: f.origin,
                bytes: f.bytes,
            });
        }
    }
    let origins: Vec<(String, String)> = templates
        .iter()
        .map(|(n, _, o)| (n.clone(), o.clone()))
        .collect();
    tera.add_raw_templates(templates.into_iter().map(|(n, t, _)| (n, t)))
        .map_err(|e| template_error(&e, &origins))?;
    Ok(Theme {
        tera,
        statics,
        inputs,
        origins,
    })
}

/// Turns a tera error into a message that says which file to open.
pub fn template_error(e: &tera::Error, origins: &[(String, String)]) -> SiteError {
    let mut text = e.to_string();
    if let Some(rest) = text.strip_prefix("error: ") {
        text = rest.to_string();
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!("\n{s}"));
        source = s.source();
    }
    // tera names templates by their name under templates/; add the real file.
    let mut files: Vec<&str> = origins
        .iter()
        .filter(|(name, _)| {
            text.contains(&format!("{name}:")) || text.contains(&format!("'{name}'"))
        })
        .map(|(_, origin)| origin.as_str())
        .collect();
    files.dedup();
    let prefix = if files.is_empty() {
        "template error".to_string()
    } else {
        format!("template error in {}", files.join(", "))
    };
    SiteError::Template(format!("{prefix}\n{text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_theme_matches_the_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("themes/default");
        let on_disk: Vec<String> = read_tree(&dir, "")
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        let mut embedded: Vec<String> = DEFAULT_FILES.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(
            on_disk, embedded,
            "update DEFAULT_FILES in src/render/theme.rs"
        );
    }
}
