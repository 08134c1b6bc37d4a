//! `stoa.toml`: parsed strictly (unknown keys are errors), then validated into
//! ready-to-use types so later stages never re-check a setting.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Located, SiteError};

/// The name of the configuration file at the root of every site.
pub const CONFIG_FILE: &str = "stoa.toml";

/// The raw file as written by the user; every field has a default except the
/// ones a blog cannot do without (`base_url`, `title`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    base_url: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default = "default_language")]
    language: String,
    #[serde(default)]
    author: Option<String>,
    #[serde(default = "default_theme")]
    theme: String,
    #[serde(default = "default_per_page")]
    posts_per_page: usize,
    #[serde(default = "default_feed_items")]
    feed_items: usize,
    #[serde(default = "default_output")]
    output_dir: String,
    #[serde(default)]
    menu: Vec<MenuItem>,
    #[serde(default)]
    links: Vec<ProfileLink>,
    #[serde(default)]
    markdown: MarkdownConfig,
    #[serde(default)]
    fediverse: RawFediverse,
    #[serde(default)]
    companion: RawCompanion,
    #[serde(default)]
    publish: RawPublish,
    #[serde(default)]
    conversations: ConversationsConfig,
}

/// `[publish]` as written; see [`Publish`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPublish {
    companion: Option<String>,
    deploy: Option<String>,
    deploy_dir: Option<String>,
    verify_secs: Option<u64>,
}

/// `[companion]` as written; see [`Companion`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCompanion {
    listen: Option<String>,
    database: Option<String>,
    private_key: Option<String>,
    admin_token_file: Option<String>,
    #[serde(default)]
    blocked_domains: Vec<String>,
    #[serde(default)]
    blocked_actors: Vec<String>,
    #[serde(default)]
    allow_private_addresses: bool,
    delivery_workers: Option<usize>,
    notify: Option<String>,
}

fn default_language() -> String {
    "en".into()
}
fn default_theme() -> String {
    "default".into()
}
fn default_per_page() -> usize {
    10
}
fn default_feed_items() -> usize {
    20
}
fn default_output() -> String {
    "public".into()
}

/// One entry of the site navigation.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MenuItem {
    /// Text shown in the navigation.
    pub name: String,
    /// Site-relative (`/about/`) or absolute URL.
    pub url: String,
}

/// A profile link (Mastodon profile field; `rel="me"` on the site).
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProfileLink {
    /// Label, e.g. "Code".
    pub name: String,
    /// Where it points, e.g. `https://codeberg.org/me`.
    pub url: String,
}

/// Markdown switches.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MarkdownConfig {
    /// Colour code blocks with CSS classes (the theme owns the colours).
    pub highlight: bool,
    /// Curly quotes, en and em dashes, ellipses.
    pub smart_punctuation: bool,
}

impl Default for MarkdownConfig {
    fn default() -> Self {
        Self {
            highlight: true,
            smart_punctuation: true,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFediverse {
    #[serde(default)]
    username: Option<String>,
    display_name: Option<String>,
    bio: Option<String>,
    avatar: Option<String>,
    header: Option<String>,
    public_key: Option<String>,
    inbox: Option<String>,
    companion: Option<String>,
    #[serde(default)]
    manually_approves_followers: bool,
    #[serde(default = "yes")]
    discoverable: bool,
    #[serde(default = "yes")]
    indexable: bool,
    created: Option<toml::Value>,
    #[serde(default)]
    also_known_as: Vec<String>,
    moved_to: Option<String>,
    attribution_domains: Option<Vec<String>>,
    #[serde(default)]
    featured_tags: Vec<String>,
    #[serde(default)]
    quote_policy: QuotePolicy,
    #[serde(default = "yes")]
    can_feature: bool,
}

/// Who may quote a post on the fediverse (FEP-044f `canQuote`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotePolicy {
    /// Anyone, approved automatically (the default).
    #[default]
    Anyone,
    /// The blog's followers, approved automatically; others are refused.
    Followers,
    /// Nobody: every quote request is refused.
    Nobody,
}

impl QuotePolicy {
    /// The word written in `stoa.toml` and front matter.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotePolicy::Anyone => "anyone",
            QuotePolicy::Followers => "followers",
            QuotePolicy::Nobody => "nobody",
        }
    }

    /// Reads the stored word back (unknown words mean nobody).
    pub fn parse(s: &str) -> QuotePolicy {
        match s {
            "anyone" => QuotePolicy::Anyone,
            "followers" => QuotePolicy::Followers,
            _ => QuotePolicy::Nobody,
        }
    }
}

fn yes() -> bool {
    true
}

/// The fediverse identity of the blog: `@username@host`, and the profile
/// that Mastodon shows for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fediverse {
    /// `preferredUsername`, `[a-z0-9_]+`.
    pub username: String,
    /// Host of `base_url`, as peers spell it (with the port when there is one).
    pub host: String,
    /// Display name (default: the site title).
    pub display_name: Option<String>,
    /// Profile text, plain text with blank lines between paragraphs (default: the description).
    pub bio: Option<String>,
    /// Avatar: site path (`/avatar.png`) or absolute URL.
    pub avatar: Option<String>,
    /// Header image: site path or absolute URL.
    pub header: Option<String>,
    /// Public key file (PEM), relative to the site root.
    pub public_key: PathBuf,
    /// Inbox URL (default `<base_url>/inbox`, proxied to the companion).
    pub inbox: Option<String>,
    /// Where the companion runs, for the `/inbox` proxy rules in host configs.
    pub companion: Option<String>,
    /// Followers need approval.
    pub manually_approves_followers: bool,
    /// Shown in directories.
    pub discoverable: bool,
    /// Posts may be found by full-text search.
    pub indexable: bool,
    /// Profile creation date as written (RFC 3339 or a day); default: the first post.
    pub created: Option<String>,
    /// Earlier accounts of the same person (for moving followers here).
    pub also_known_as: Vec<String>,
    /// The account this blog moved to.
    pub moved_to: Option<String>,
    /// Domains whose link previews may credit this blog (empty: the blog's host).
    pub attribution_domains: Vec<String>,
    /// Tags featured on the profile.
    pub featured_tags: Vec<String>,
    /// Who may quote the blog's posts unless a post says otherwise.
    pub quote_policy: QuotePolicy,
    /// Whether others may add the blog to their collections (Mastodon's
    /// `canFeature`, FEP-7aa9).
    pub can_feature: bool,
}

impl Fediverse {
    /// `@user@host`, as people type it into Mastodon's search.
    pub fn handle(&self) -> String {
        format!("@{}@{}", self.username, self.host)
    }
}

/// A validated site configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Absolute URL of the site root, without a trailing slash.
    pub base_url: String,
    /// Site title.
    pub title: String,
    /// One-line description (home page meta, feeds).
    pub description: String,
    /// BCP 47 language tag of the site.
    pub language: String,
    /// Author name for feeds and meta; defaults to the title.
    pub author: String,
    /// Theme folder name under `themes/`.
    pub theme: String,
    /// Posts per page on the home page and tag pages.
    pub posts_per_page: usize,
    /// Items in each feed.
    pub feed_items: usize,
    /// Output folder, relative to the site root unless absolute.
    pub output_dir: PathBuf,
    /// Navigation.
    pub menu: Vec<MenuItem>,
    /// Profile links.
    pub links: Vec<ProfileLink>,
    /// Markdown switches.
    pub markdown: MarkdownConfig,
    /// Fediverse identity.
    pub fediverse: Fediverse,
    /// Settings of `stoa inbox`, the companion process.
    pub companion: Companion,
    /// Settings of `stoa publish`.
    pub publish: Publish,
    /// Which replies are shown under posts.
    pub conversations: ConversationsConfig,
}

/// `[conversations]`: which replies the blog shows under its posts. Only
/// replies addressed to the public are ever shown, whatever the policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationsConfig {
    /// Which public replies are shown.
    #[serde(default)]
    pub replies: ReplyPolicy,
}

/// `replies = "all" | "approved" | "none"` under `[conversations]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyPolicy {
    /// Every public reply (hidden ones and blocked authors aside).
    #[default]
    All,
    /// Only public replies from authors the writer approved once
    /// (`stoa replies approve`).
    Approved,
    /// No replies; favourites and boosts are still counted.
    None,
}

/// `[publish]`: how `stoa publish` deploys the site and reaches the companion.
#[derive(Debug, Clone, PartialEq)]
pub struct Publish {
    /// The companion's address for its admin API (default: `[fediverse]
    /// companion`, else `base_url`, where the proxy forwards `/admin/`).
    pub companion: String,
    /// A shell command that deploys the output folder (given as `$1` and
    /// `$STOA_OUTPUT`), e.g. `rsync -a --delete "$1"/ host:/srv/www/blog/`.
    pub deploy: Option<String>,
    /// Or: a folder to mirror the output into (relative to the site root unless absolute).
    pub deploy_dir: Option<PathBuf>,
    /// How long `stoa publish` waits for the deployed site to serve the
    /// new and changed documents before it gives up (CDN propagation);
    /// default 300 seconds.
    pub verify_secs: u64,
}

/// `[companion]`: where `stoa inbox` listens, keeps its database and finds
/// its secrets, and whom it refuses to hear from.
#[derive(Debug, Clone, PartialEq)]
pub struct Companion {
    /// Address to listen on (default `127.0.0.1:8787`, behind a TLS proxy).
    pub listen: String,
    /// SQLite database, relative to the site root unless absolute.
    pub database: PathBuf,
    /// The actor's private key (PKCS#8 PEM); `STOA_PRIVATE_KEY` overrides it.
    pub private_key: PathBuf,
    /// File holding the admin API token; `STOA_ADMIN_TOKEN` overrides it.
    pub admin_token_file: PathBuf,
    /// Hosts (and their subdomains) whose follows are rejected and whose
    /// interactions are dropped; lowercase.
    pub blocked_domains: Vec<String>,
    /// Actor URLs treated the same way.
    pub blocked_actors: Vec<String>,
    /// Let fetches and deliveries reach loopback and private networks. For
    /// tests on one machine only: it turns off the SSRF guard.
    pub allow_private_addresses: bool,
    /// How many deliveries may be in flight at once.
    pub delivery_workers: usize,
    /// A shell command run for each new notification, with its JSON on
    /// standard input (at most [`NOTIFY_TIMEOUT`](crate::companion::NOTIFY_TIMEOUT) each).
    pub notify: Option<String>,
}

impl Companion {
    /// Whether `actor` (a URL) is blocked by actor or by domain.
    pub fn is_blocked(&self, actor: &str) -> bool {
        if self.blocked_actors.iter().any(|a| a == actor) {
            return true;
        }
        let Some(host) = url_host(actor) else {
            return false;
        };
        let host = host.split(':').next().unwrap_or("");
        self.blocked_domains
            .iter()
            .any(|d| host == d || host.ends_with(&format!(".{d}")))
    }
}

impl Config {
    /// Reads and validates `stoa.toml` in `root`.
    pub fn load(root: &Path) -> Result<Config, SiteError> {
        let path = root.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                SiteError::MissingConfig {
                    root: root.to_path_buf(),
                }
            } else {
                SiteError::io(&path, e)
            }
        })?;
        Self::parse(&text, &path)
    }

    /// Parses the text of a configuration file; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, SiteError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            SiteError::Config(Located::new(path, line, toml_message(&e), None))
        })?;
        let at = |key: &str, message: String, hint: &str| {
            SiteError::Config(Located::new(
                path,
                key_line(text, key),
                message,
                Some(hint.to_string()),
            ))
        };
        let base_url = raw.base_url.trim_end_matches('/').to_string();
        let publish_companion = raw
            .publish
            .companion
            .clone()
            .or_else(|| raw.fediverse.companion.clone())
            .unwrap_or_else(|| base_url.clone())
            .trim_end_matches('/')
            .to_string();
        let host = url_host(&base_url).ok_or_else(|| {
            at(
                "base_url",
                format!(
                    "`base_url = \"{}\"` is not an absolute http(s) URL",
                    raw.base_url
                ),
                "write it like `base_url = \"https://blog.example.com\"`",
            )
        })?;
        if raw.posts_per_page == 0 {
            return Err(at(
                "posts_per_page",
                "`posts_per_page` must be at least 1".into(),
                "use a number like 10",
            ));
        }
        let username = raw
            .fediverse
            .username
            .clone()
            .unwrap_or_else(|| "blog".to_string());
        if username.is_empty()
            || !username
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(at(
                "username",
                format!("`username = \"{username}\"` is not a valid fediverse username"),
                "use only lowercase letters, digits and `_`, like `username = \"jane\"`",
            ));
        }
        Ok(Config {
            base_url,
            author: raw.author.unwrap_or_else(|| raw.title.clone()),
            title: raw.title,
            description: raw.description,
            language: raw.language,
            theme: raw.theme,
            posts_per_page: raw.posts_per_page,
            feed_items: raw.feed_items,
            output_dir: PathBuf::from(raw.output_dir),
            menu: raw.menu,
            links: raw.links,
            markdown: raw.markdown,
            fediverse: Fediverse {
                username,
                attribution_domains: raw.fediverse.attribution_domains.unwrap_or_default(),
                host,
                display_name: raw.fediverse.display_name,
                bio: raw.fediverse.bio,
                avatar: raw.fediverse.avatar,
                header: raw.fediverse.header,
                public_key: PathBuf::from(
                    raw.fediverse
                        .public_key
                        .unwrap_or_else(|| "actor-key.pub.pem".to_string()),
                ),
                inbox: raw.fediverse.inbox,
                companion: raw
                    .fediverse
                    .companion
                    .map(|c| c.trim_end_matches('/').to_string()),
                manually_approves_followers: raw.fediverse.manually_approves_followers,
                discoverable: raw.fediverse.discoverable,
                indexable: raw.fediverse.indexable,
                created: raw.fediverse.created.map(|v| match v {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                }),
                also_known_as: raw.fediverse.also_known_as,
                moved_to: raw.fediverse.moved_to,
                featured_tags: raw.fediverse.featured_tags,
                quote_policy: raw.fediverse.quote_policy,
                can_feature: raw.fediverse.can_feature,
            },
            companion: companion(raw.companion, &at)?,
            publish: Publish {
                companion: publish_companion,
                deploy: raw.publish.deploy,
                deploy_dir: raw.publish.deploy_dir.map(PathBuf::from),
                verify_secs: raw.publish.verify_secs.unwrap_or(300),
            },
            conversations: raw.conversations,
        })
    }

    /// The same configuration served from another address (`serve`, `--base-url`).
    pub fn with_base_url(mut self, base_url: &str) -> Result<Config, SiteError> {
        let base_url = base_url.trim_end_matches('/').to_string();
        let host = url_host(&base_url).ok_or_else(|| SiteError::BadBaseUrl(base_url.clone()))?;
        self.base_url = base_url;
        self.fediverse.host = host;
        Ok(self)
    }

    /// Absolute URL for a site path that starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Absolute URL of `src` as written in the page at `page_path`: kept
    /// when it is already absolute, else resolved against the site.
    pub fn absolute_url(&self, page_path: &str, src: &str) -> String {
        if src.contains("://") {
            src.to_string()
        } else if src.starts_with('/') {
            self.url(src)
        } else {
            self.url(&format!("{page_path}{src}"))
        }
    }
}

fn companion(
    raw: RawCompanion,
    at: &dyn Fn(&str, String, &str) -> SiteError,
) -> Result<Companion, SiteError> {
    let listen = raw.listen.unwrap_or_else(|| "127.0.0.1:8787".to_string());
    if listen.parse::<std::net::SocketAddr>().is_err() {
        return Err(at(
            "listen",
            format!("`listen = \"{listen}\"` is not an IP address with a port"),
            "write it like `listen = \"127.0.0.1:8787\"`",
        ));
    }
    let workers = raw.delivery_workers.unwrap_or(32);
    if workers == 0 || workers > 1024 {
        return Err(at(
            "delivery_workers",
            format!("`delivery_workers = {workers}` must be between 1 and 1024"),
            "leave it out for the default of 32",
        ));
    }
    Ok(Companion {
        listen,
        database: PathBuf::from(raw.database.unwrap_or_else(|| "companion/stoa.db".into())),
        private_key: PathBuf::from(
            raw.private_key
                .unwrap_or_else(|| "secrets/actor-key.pem".into()),
        ),
        admin_token_file: PathBuf::from(
            raw.admin_token_file
                .unwrap_or_else(|| "secrets/admin-token".into()),
        ),
        blocked_domains: raw
            .blocked_domains
            .into_iter()
            .map(|d| d.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect(),
        blocked_actors: raw.blocked_actors,
        allow_private_addresses: raw.allow_private_addresses,
        delivery_workers: workers,
        notify: raw.notify.filter(|c| !c.trim().is_empty()),
    })
}

/// `host[:port]` of an absolute http(s) URL, or `None` when it is not one.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains(['@', '?', '#', ' ']) {
        return None;
    }
    Some(host.to_ascii_lowercase())
}

/// The path part of an absolute URL (`/` when there is none).
pub fn url_path(url: &str) -> &str {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    match rest.find('/') {
        Some(i) => &rest[i..],
        None => "/",
    }
}

/// 1-based line number of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Line where `key =` is written, for messages about values that parsed but are wrong.
fn key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// toml's message without its own source excerpt (we print file and line ourselves).
pub(crate) fn toml_message(e: &toml::de::Error) -> String {
    e.message().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, SiteError> {
        Config::parse(text, Path::new("stoa.toml"))
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = parse("base_url = \"https://blog.example.com/\"\ntitle = \"T\"\n").unwrap();
        assert_eq!(c.base_url, "https://blog.example.com");
        assert_eq!(c.fediverse.host, "blog.example.com");
        assert_eq!(c.fediverse.handle(), "@blog@blog.example.com");
        assert_eq!(c.posts_per_page, 10);
        assert_eq!(c.author, "T");
    }

    #[test]
    fn unknown_key_names_line() {
        let e = parse("base_url = \"https://b.example\"\ntitle = \"T\"\ncolour = 1\n").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("stoa.toml:3"), "{s}");
        assert!(s.contains("colour"), "{s}");
    }

    #[test]
    fn bad_base_url_is_explained() {
        let e = parse("base_url = \"blog.example.com\"\ntitle = \"T\"\n").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("stoa.toml:1") && s.contains("https://"), "{s}");
    }

    #[test]
    fn bad_username_is_explained() {
        let e = parse("base_url = \"https://b.example\"\ntitle = \"T\"\n[fediverse]\nusername = \"Jane Doe\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("stoa.toml:4"), "{e}");
    }
}
