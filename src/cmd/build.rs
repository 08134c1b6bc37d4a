//! `stoa build`: build the site once and print a one-line summary.

use anyhow::Result;

use crate::cmd::cli::BuildArgs;
use crate::site::{BuildOptions, BuildReport, Site};
use crate::{errln, outln};

/// Runs `stoa build`.
pub fn run(args: &BuildArgs) -> Result<()> {
    let opts = BuildOptions {
        output: args.output.clone(),
        base_url: args.site.base_url.clone(),
        drafts: args.site.drafts,
        force: args.force,
        on_wait: Some(say_waiting),
    };
    let site = Site::open(&args.site.root, &opts)?;
    // A signal finishes or rolls back the output folder's commit, never
    // cuts it half-way.
    crate::interrupt::install()?;
    let report = site.build(&opts)?;
    print_report(&report);
    Ok(())
}

/// Says why a build has not started yet: another process (named by its
/// id and command line) is writing the output folder (shared with
/// `publish`).
pub fn say_waiting(holder: &str) {
    errln!("Waiting: {holder} is writing the output folder; this build starts when it is done.");
}

/// Prints warnings and the summary line (shared with `serve`).
pub fn print_report(r: &BuildReport) {
    const SHOWN: usize = 20;
    for w in r.warnings.iter().take(SHOWN) {
        errln!("warning: {w}");
    }
    if r.warnings.len() > SHOWN {
        errln!(
            "warning: … and {} more warnings like these",
            r.warnings.len() - SHOWN
        );
    }
    let ms = r.elapsed.as_millis();
    if r.unchanged {
        outln!(
            "Nothing changed since the last build ({} files in {}), {ms} ms",
            r.stats.total,
            r.output.display()
        );
        return;
    }
    let drafts = if r.drafts_skipped > 0 {
        format!(", {} left out", count(r.drafts_skipped, "draft", "drafts"))
    } else {
        String::new()
    };
    outln!(
        "Built {} and {}{drafts} into {}: {} files, {} written, {} removed, {ms} ms",
        count(r.posts, "post", "posts"),
        count(r.pages, "page", "pages"),
        r.output.display(),
        r.stats.total,
        r.stats.written,
        r.stats.removed,
    );
}

/// "1 post", "2 posts", "18,773 followers".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}

/// A number with thousands separated by commas: 18,773.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_words() {
        assert_eq!(count(1, "post", "posts"), "1 post");
        assert_eq!(count(0, "post", "posts"), "0 posts");
        assert_eq!(count(18_773, "follower", "followers"), "18,773 followers");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
