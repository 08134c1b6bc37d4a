//! `stoa doctor`: checks the live deployment the way a remote server would
//! and prints one line per check, with what breaks and the fix for each
//! failure (the checks are in `crate::doctor`).

use anyhow::{Context, Result, bail};

use crate::cmd::cli::DoctorArgs;
use crate::cmd::common::{load_admin_token, load_config};
use crate::companion::client::CompanionClient;
use crate::doctor::{Outcome, Report, probe};
use crate::signatures::keys::{SigningKey, fingerprint};
use crate::{errln, outln};

/// Runs `stoa doctor`; fails (exit 1) when a check fails.
pub fn run(args: &DoctorArgs) -> Result<()> {
    let (root, config) = load_config(&args.root, args.url.as_deref())?;
    let public_path = root.join(&config.fediverse.public_key);
    let public_pem = std::fs::read_to_string(&public_path).with_context(|| {
        format!(
            "cannot read the public key {}\n  help: run `stoa doctor` in the site folder (or pass --root), where `stoa init` or `stoa keygen` put it",
            public_path.display()
        )
    })?;
    let signer = private_key(&root, &config).filter(|key| {
        let matches = fingerprint(key.public_pem()) == fingerprint(&public_pem);
        if !matches {
            errln!(
                "warning: the private key here does not match {}: the signed self-test is skipped\n  help: use the private key made with the published public key",
                public_path.display()
            );
        }
        matches
    });
    let admin = load_admin_token(&root, &config)?
        .map(|token| CompanionClient::new(&config.publish.companion, &token));
    let report = probe::run(&probe::Inputs {
        config: &config,
        public_pem: &public_pem,
        signer: signer.as_ref(),
        admin: admin.as_ref(),
    });
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report);
    }
    if !report.passed() {
        let failed = report.failures().count();
        bail!(
            "{failed} check{} failed for {}",
            if failed == 1 { "" } else { "s" },
            report.base_url
        );
    }
    Ok(())
}

/// The private key if it is at hand (the self-test is skipped otherwise).
fn private_key(root: &std::path::Path, config: &crate::config::Config) -> Option<SigningKey> {
    let pem = match std::env::var("STOA_PRIVATE_KEY") {
        Ok(pem) if !pem.trim().is_empty() => pem,
        _ => std::fs::read_to_string(root.join(&config.companion.private_key)).ok()?,
    };
    match SigningKey::from_pem(&pem) {
        Ok(k) => Some(k),
        Err(e) => {
            errln!(
                "warning: the private key cannot be used ({e}): the signed self-test is skipped"
            );
            None
        }
    }
}

fn print(report: &Report) {
    outln!(
        "Checking {} ({}) as a fediverse server would:",
        report.base_url,
        report.host.name()
    );
    for c in &report.checks {
        let mark = match c.outcome {
            Outcome::Pass => "ok  ",
            Outcome::Warn => "note",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
        };
        outln!("{mark} {:<13} {}", c.id, c.summary);
        if let Some(breaks) = &c.breaks {
            outln!("       breaks: {breaks}");
        }
        if let Some(fix) = &c.fix {
            let mut lines = fix.lines();
            if let Some(first) = lines.next() {
                outln!("       fix:    {first}");
            }
            for line in lines {
                outln!("               {line}");
            }
        }
        if let Some(docs) = &c.docs {
            outln!("       see:    {docs}");
        }
    }
    if report.passed() {
        outln!("Every check passed.");
    }
}
