//! `stoa import hugo|jekyll DIR`: prints what [`crate::import`] did, per file.

use anyhow::{Result, bail};

use crate::cmd::cli::{ImportArgs, ImportFrom};
use crate::cmd::common::load_config;
use crate::import::{self, Kind};
use crate::{errln, outln};

/// Runs `stoa import`.
pub fn run(args: &ImportArgs) -> Result<()> {
    let (root, _config) = load_config(&args.root, None)?;
    if !args.dir.is_dir() {
        bail!(
            "{} is not a folder\n  help: pass the folder of the old site (the one holding content/ for Hugo, _posts/ for Jekyll)",
            args.dir.display()
        );
    }
    let kind = match args.from {
        ImportFrom::Hugo => Kind::Hugo,
        ImportFrom::Jekyll => Kind::Jekyll,
    };
    let report = import::run(kind, &args.dir, &root, args.dry_run)?;
    let verb = if args.dry_run {
        "would import"
    } else {
        "imported"
    };
    for f in &report.imported {
        outln!("{verb} {} → {}", f.from.display(), f.to.display());
        for s in &f.unconverted {
            outln!("  warning: left as written (no stoa equivalent): {s}");
        }
    }
    for (file, why) in &report.skipped {
        errln!("skipped {}: {why}", file.display());
    }
    let warned = report
        .imported
        .iter()
        .filter(|f| !f.unconverted.is_empty())
        .count();
    outln!(
        "{} {} posts and pages, {} other files{}; {} skipped; {} with shortcodes to convert by hand",
        if args.dry_run {
            "Would import"
        } else {
            "Imported"
        },
        report.imported.len(),
        report.copied,
        if args.dry_run {
            " (nothing written: --dry-run)"
        } else {
            ""
        },
        report.skipped.len(),
        warned
    );
    if root.join(crate::publish::log::FILE).exists() && !report.imported.is_empty() {
        errln!(
            "warning: this blog has published before ({}): the next `stoa publish` sends posts it has not seen to your followers, imported ones too
  help: import into a new blog (its first publish records every post and sends nothing); here, the imported posts will be announced as new",
            crate::publish::log::FILE
        );
    } else if !args.dry_run && !report.imported.is_empty() {
        outln!(
            "Check with `stoa build`. Nothing is sent to followers: on a new blog, the first `stoa publish` records the imported posts without announcing them."
        );
    }
    Ok(())
}
