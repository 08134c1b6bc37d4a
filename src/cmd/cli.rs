//! Command-line interface: one subcommand per file in `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// stoa: a static blog that the fediverse can follow.
#[derive(Debug, Parser)]
#[command(name = "stoa", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new site: stoa.toml, a first post, an about page and the actor's key pair.
    Init(InitArgs),
    /// Build the site into the output folder (HTML, feeds, sitemap).
    Build(BuildArgs),
    /// Build, serve on 127.0.0.1, rebuild on every change and reload the browser.
    Serve(ServeArgs),
    /// Make the actor's key pair and admin token for a site that has none (a clone is told what to copy).
    Keygen(KeygenArgs),
    /// Show how a post will look on Mastodon.
    Preview(PreviewArgs),
    /// Run the companion: receive follows, replies, likes and boosts; deliver.
    Inbox(InboxArgs),
    /// List, count, export, approve, reject or remove followers (here or through the admin API).
    Followers(FollowersArgs),
    /// List the approved quotes of the blog's posts, or revoke one.
    Quotes(QuotesArgs),
    /// Build, deploy, and send new posts, edits and deletions to every follower.
    Publish(PublishArgs),
    /// Deliveries per server; retry now; forget finished ones.
    Deliveries(DeliveriesArgs),
    /// Create a post file (date now, slug from the title; --reply-to answers a post).
    New(NewArgs),
    /// Follows, replies, mentions, favourites, boosts, quotes and failed deliveries since you last looked.
    Notifications(NotificationsArgs),
    /// See replies; hide or show one; approve or block its author.
    Replies(RepliesArgs),
    /// Fetch the public replies, favourites and boosts from the companion
    /// into conversations.toml (the build shows them under each post).
    Pull(PullArgs),
    /// Copy the companion's database safely, also while it runs.
    Backup(BackupArgs),
    /// Check the live deployment the way a fediverse server would.
    Doctor(DoctorArgs),
    /// Bring a Hugo or Jekyll blog in: posts, pages, bundles and static files, with stoa front matter.
    Import(ImportArgs),
    /// Move the blog's followers to a new account (it must list the blog in its aliases).
    Move(MoveArgs),
}

/// `stoa move`.
#[derive(Debug, Args)]
pub struct MoveArgs {
    /// The new account: `@user@host` or its actor URL.
    #[arg(required_unless_present = "cancel")]
    pub target: Option<String>,
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// Check the new account and say what would happen; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Take the move back: drop the Move where it has not arrived yet,
    /// remove `moved_to` and publish the profile again.
    #[arg(long, conflicts_with_all = ["target", "dry_run"])]
    pub cancel: bool,
    /// Minutes the Move waits after the profile's Update (time for --cancel).
    #[arg(long, default_value_t = 0)]
    pub delay: u64,
    /// The companion's address (default: `companion` under [publish]).
    #[arg(long)]
    pub companion: Option<String>,
    /// Skip the deploy step (the site is already where readers get it).
    #[arg(long)]
    pub no_deploy: bool,
    /// Do not wait for the deliveries; `stoa deliveries` shows them later.
    #[arg(long)]
    pub no_wait: bool,
    /// Longest to wait for every follower's server to be tried once.
    #[arg(long, default_value_t = 120)]
    pub wait_secs: u64,
    /// Longest to wait for the deployed site to serve the new profile
    /// (default: `verify_secs` under [publish], 300).
    #[arg(long)]
    pub verify_secs: Option<u64>,
}

/// Where `stoa import` reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFrom {
    /// A Hugo site folder (content/, static/).
    Hugo,
    /// A Jekyll site folder (_posts/, _drafts/, pages, asset folders).
    Jekyll,
}

/// `stoa import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What kind of site DIR is.
    pub from: ImportFrom,
    /// The old site's folder.
    pub dir: PathBuf,
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// Say what would be imported, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `stoa doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// Check this address instead of `base_url` in stoa.toml.
    #[arg(short = 'u', long)]
    pub url: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `stoa backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// The copy to write (never overwritten; default: next to the database,
    /// `STEM-backup-YYYYMMDD-HHMMSS.db`, in UTC).
    pub output: Option<PathBuf>,
}

/// `stoa publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// Skip the deploy step (the site is already where readers get it).
    #[arg(long)]
    pub no_deploy: bool,
    /// Look up mentions that were not found before now, without waiting
    /// for their back-off.
    #[arg(long)]
    pub retry_mentions: bool,
    /// Do not wait for the deliveries; `stoa deliveries` shows them later.
    #[arg(long)]
    pub no_wait: bool,
    /// Longest to wait for every follower's server to be tried once.
    #[arg(long, default_value_t = 120)]
    pub wait_secs: u64,
    /// Keep the dates of new posts as written (back-dated imports); they may
    /// then stay out of Mastodon's home timelines.
    #[arg(long)]
    pub keep_dates: bool,
    /// Send an Update for every changed post even when there are many.
    #[arg(long, conflicts_with = "quiet_updates")]
    pub send_updates: bool,
    /// Record changed posts without sending Updates.
    #[arg(long)]
    pub quiet_updates: bool,
    /// The companion's address (default: `companion` under [publish]).
    #[arg(long)]
    pub companion: Option<String>,
    /// Longest to wait for the deployed site to serve the new and changed
    /// documents before giving up (default: `verify_secs` under [publish], 300).
    #[arg(long)]
    pub verify_secs: Option<u64>,
}

/// `stoa new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The title (none: an untitled note).
    pub title: Option<String>,
    /// The address of the post or reply this one answers; its author is mentioned.
    #[arg(long)]
    pub reply_to: Option<String>,
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// The companion's address (default: `companion` under [publish]).
    #[arg(long)]
    pub companion: Option<String>,
}

/// `stoa notifications`.
#[derive(Debug, Args)]
pub struct NotificationsArgs {
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// The companion's address (default: `companion` under [publish]).
    #[arg(long)]
    pub companion: Option<String>,
    /// Also the ones already shown.
    #[arg(long)]
    pub all: bool,
    /// As JSON.
    #[arg(long)]
    pub json: bool,
}

/// `stoa replies`.
#[derive(Debug, Args)]
pub struct RepliesArgs {
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".", global = true)]
    pub root: PathBuf,
    /// The companion's address (default: `companion` under [publish]).
    #[arg(long, global = true)]
    pub companion: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub action: RepliesAction,
}

/// `stoa replies` subcommands. REPLY is a reply's id or web address.
#[derive(Debug, Subcommand)]
pub enum RepliesAction {
    /// The latest replies the blog shows (`--all`: every reply, also
    /// followers-only, direct, hidden and blocked ones).
    List {
        /// Every reply, whatever its audience or state.
        #[arg(long)]
        all: bool,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// One reply in full.
    Show {
        /// The reply.
        reply: String,
    },
    /// Hide a reply from the blog (at the next publish).
    Hide {
        /// The reply.
        reply: String,
        /// Also block its author.
        #[arg(long)]
        block: bool,
        /// Also block its author's whole domain.
        #[arg(long)]
        block_domain: bool,
    },
    /// Show a hidden reply again.
    Unhide {
        /// The reply.
        reply: String,
    },
    /// Approve the author of a reply (or an actor URL), for
    /// `replies = "approved"` under [conversations].
    Approve {
        /// A reply or an actor URL.
        who: String,
    },
    /// Block the author of a reply (or an actor URL), or with --domain their server.
    Block {
        /// A reply or an actor URL.
        who: String,
        /// Block the whole domain.
        #[arg(long)]
        domain: bool,
    },
}

/// `stoa pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// The companion's address (default: `companion` under [publish]).
    #[arg(long)]
    pub companion: Option<String>,
}

/// `stoa deliveries`.
#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".", global = true)]
    pub root: PathBuf,
    /// The companion's address (default: `companion` under [publish]).
    #[arg(long, global = true)]
    pub companion: Option<String>,
    /// What to do (default: status).
    #[command(subcommand)]
    pub action: Option<DeliveriesAction>,
}

/// `stoa deliveries` subcommands.
#[derive(Debug, Subcommand)]
pub enum DeliveriesAction {
    /// Per server: delivered, retrying (with the error), failed, waiting.
    Status,
    /// Try every waiting delivery now.
    Retry,
    /// Forget delivered and failed deliveries.
    Purge,
}

/// `stoa inbox`.
#[derive(Debug, Args)]
pub struct InboxArgs {
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// Address to listen on (default: `listen` under [companion], 127.0.0.1:8787).
    #[arg(short, long)]
    pub listen: Option<String>,
    /// Use this base URL instead of the one in stoa.toml.
    #[arg(short = 'u', long)]
    pub base_url: Option<String>,
    /// Also serve this folder (the built site) for every other path.
    #[arg(long)]
    pub site: Option<PathBuf>,
    /// Multiply the retry schedule (tests use a small number).
    #[arg(long, default_value_t = 1.0, hide = true)]
    pub retry_scale: f64,
}

/// `stoa followers`.
#[derive(Debug, Args)]
pub struct FollowersArgs {
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".", global = true)]
    pub root: PathBuf,
    /// Ask the companion at this address through its admin API (default:
    /// the database here when there is one, else `[publish] companion`).
    #[arg(long, global = true)]
    pub companion: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub action: FollowersAction,
}

/// `stoa followers` subcommands.
#[derive(Debug, Subcommand)]
pub enum FollowersAction {
    /// One line per follower: date, handle, actor.
    List {
        /// Only those waiting for approval.
        #[arg(long)]
        pending: bool,
    },
    /// How many follow, and how many wait.
    Count,
    /// CSV in Mastodon's follows-import format.
    Export,
    /// Accept a follower who waits for approval.
    Approve {
        /// Handle (@user@host) or actor URL.
        who: String,
    },
    /// Refuse a follower who waits for approval.
    Reject {
        /// Handle (@user@host) or actor URL.
        who: String,
    },
    /// Remove a follower (their server is told).
    Remove {
        /// Handle (@user@host) or actor URL.
        who: String,
    },
}

/// `stoa quotes`.
#[derive(Debug, Args)]
pub struct QuotesArgs {
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".", global = true)]
    pub root: PathBuf,
    /// The companion's address (default: `companion` under [publish]).
    #[arg(long, global = true)]
    pub companion: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub action: QuotesAction,
}

/// `stoa quotes` subcommands.
#[derive(Debug, Subcommand)]
pub enum QuotesAction {
    /// One line per quote: date, the quoting post, the blog's post, and
    /// whether it was revoked.
    List {
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Take back the approval of a quote: the quoting server gets a Delete
    /// of the stamp, and the stamp's URL answers 410 Gone from now on.
    Revoke {
        /// The quoting post's URL (or the stamp's URL).
        url: String,
    },
}

/// `stoa keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// Replace a published public key whose private half is lost: a new
    /// identity on the fediverse (every follower must follow again).
    #[arg(long)]
    pub new_identity: bool,
}

/// `stoa preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The post: its Markdown file, or its slug.
    pub post: String,
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// Print the ActivityPub object as JSON instead.
    #[arg(long)]
    pub json: bool,
}

/// `stoa init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder for the new site (created if missing; must not hold a site already).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Site title.
    #[arg(long, default_value = "My blog")]
    pub title: String,
    /// Address the site will live at.
    #[arg(long, default_value = "https://blog.example.com")]
    pub base_url: String,
    /// Fediverse username: people follow @USERNAME@your-host.
    #[arg(long, default_value = "blog")]
    pub username: String,
    /// Your name, for feeds and the about page.
    #[arg(long)]
    pub author: Option<String>,
}

/// Flags shared by `build` and `serve`.
#[derive(Debug, Args, Clone)]
pub struct SiteArgs {
    /// Site folder (the one holding stoa.toml).
    #[arg(short, long, default_value = ".")]
    pub root: PathBuf,
    /// Use this base URL instead of the one in stoa.toml.
    #[arg(short = 'u', long)]
    pub base_url: Option<String>,
    /// Include posts marked `draft = true`.
    #[arg(long)]
    pub drafts: bool,
}

/// `stoa build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Site options.
    #[command(flatten)]
    pub site: SiteArgs,
    /// Output folder (default: `output_dir` in stoa.toml, `public`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Render everything even if nothing changed since the last build.
    #[arg(long)]
    pub force: bool,
}

/// `stoa serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Site options.
    #[command(flatten)]
    pub site: SiteArgs,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(short, long, default_value_t = 1111)]
    pub port: u16,
    /// Address to listen on.
    #[arg(short, long, default_value = "127.0.0.1")]
    pub interface: std::net::IpAddr,
}
