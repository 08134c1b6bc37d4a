//! `stoa import hugo|jekyll|mastodon|feed SOURCE`: runs the importer of
//! [`crate::import`] and prints what it did: each file with its warnings,
//! what was skipped and why, and a summary.

use std::path::Path;

use anyhow::{Result, bail};

use crate::cmd::cli::{ImportArgs, ImportFrom};
use crate::cmd::common::load_config;
use crate::import::{self, Kind, Report};
use crate::{errln, outln};

/// Runs `stoa import`.
pub fn run(args: &ImportArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, None)?;
    if args.profile && args.from != ImportFrom::Mastodon {
        bail!(
            "--profile is for `stoa import mastodon`\n  help: leave it out, or set the profile in stoa.toml's [fediverse] table"
        );
    }
    let source = Path::new(&args.source);
    let report = match args.from {
        ImportFrom::Hugo | ImportFrom::Jekyll => {
            if !source.is_dir() {
                bail!(
                    "{} is not a folder\n  help: pass the folder of the old site (the one holding content/ for Hugo, _posts/ for Jekyll)",
                    source.display()
                );
            }
            let kind = if args.from == ImportFrom::Hugo {
                Kind::Hugo
            } else {
                Kind::Jekyll
            };
            import::static_site::run(kind, source, &root, args.dry_run)?
        }
        ImportFrom::Mastodon => {
            import::mastodon::run(source, &root, &config, args.dry_run, args.profile)?
        }
        ImportFrom::Feed => import::feed::run(&args.source, &root, &config, args.dry_run)?,
    };
    print(&report, args.dry_run);
    Ok(())
}

fn print(report: &Report, dry_run: bool) {
    let verb = if dry_run { "would import" } else { "imported" };
    for f in &report.imported {
        outln!("{verb} {} → {}", f.from, f.to.display());
        for w in &f.warnings {
            outln!("  warning: {w}");
        }
    }
    for (entry, why) in &report.skipped {
        errln!("skipped {entry}: {why}");
    }
    for note in &report.notes {
        errln!("warning: {note}");
    }
    for setting in &report.settings {
        outln!(
            "{} stoa.toml: {setting}",
            if dry_run { "would set in" } else { "set in" }
        );
    }
    let warned = report
        .imported
        .iter()
        .filter(|f| !f.warnings.is_empty())
        .count();
    outln!(
        "{} {} posts and pages, {} other files{}; {} skipped; {} with warnings",
        if dry_run { "Would import" } else { "Imported" },
        report.imported.len(),
        report.copied,
        if dry_run {
            " (nothing written: --dry-run)"
        } else {
            ""
        },
        report.skipped.len(),
        warned
    );
    let mut reasons: std::collections::BTreeMap<&str, usize> = Default::default();
    for (_, why) in &report.skipped {
        *reasons.entry(reason_kind(why)).or_default() += 1;
    }
    for (why, n) in reasons {
        outln!("  skipped {n}: {why}");
    }
    if !dry_run && !report.posts.is_empty() {
        outln!(
            "Check with `stoa build`. Nothing is sent to followers: the imported posts are recorded in {} as imported, and `stoa publish` adds them without announcing them.",
            crate::publish::log::FILE
        );
    }
}

/// The reason of a skip without its details, for the summary's counts.
fn reason_kind(why: &str) -> &str {
    let head = why.split([':', '(']).next().unwrap_or(why).trim();
    if why.ends_with("is already there") {
        "already in the site"
    } else if head.contains(['/', '.']) {
        // An error naming a file (a front matter problem): listed above.
        "an error in the file (see above)"
    } else {
        head
    }
}
