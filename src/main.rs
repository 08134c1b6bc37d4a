//! The `stoa` binary: parses the command line, runs the subcommand, prints
//! errors with their causes, and exits 1 on failure (a closed stdout,
//! `stoa followers list | head -1`, is no failure: see [`stoa::cmd::out`];
//! 128 + the signal when a signal stopped a build).

// Commands print through `cmd::out`: `println!` panics on a closed pipe.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;
use stoa::cmd::{self, cli::Cli, cli::Command, out};
use stoa::errln;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The companion is a service: say what it does. Commands stay quiet.
    let default_filter = match cli.command {
        Command::Inbox(_) => "stoa=info,warn",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STOA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Init(a) => cmd::init::run(&a),
        Command::Build(a) => cmd::build::run(&a),
        Command::Serve(a) => cmd::serve::run(&a),
        Command::Keygen(a) => cmd::keygen::run(&a),
        Command::Preview(a) => cmd::preview::run(&a),
        Command::Inbox(a) => cmd::inbox::run(&a),
        Command::Followers(a) => cmd::followers::run(&a),
        Command::Quotes(a) => cmd::quotes::run(&a),
        Command::Publish(a) => cmd::publish::run(&a),
        Command::Deliveries(a) => cmd::deliveries::run(&a),
        Command::Pull(a) => cmd::pull::run(&a),
        Command::Replies(a) => cmd::replies::run(&a),
        Command::Notifications(a) => cmd::notifications::run(&a),
        Command::New(a) => cmd::new::run(&a),
        Command::Backup(a) => cmd::backup::run(&a),
        Command::Doctor(a) => cmd::doctor::run(&a),
        Command::Import(a) => cmd::import::run(&a),
        Command::Move(a) => cmd::moving::run(&a),
    };
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            errln!("error: {e}");
            for cause in e.chain().skip(1) {
                errln!("  caused by: {cause}");
            }
            let status = e
                .chain()
                .find_map(|c| c.downcast_ref::<stoa::error::SiteError>())
                .map_or(1, stoa::error::SiteError::exit_status);
            ExitCode::from(status)
        }
    };
    // A reader that closed stdout early (`| head`) is no failure; a full
    // disk is.
    match out::finish() {
        Err(e) if code == ExitCode::SUCCESS => {
            errln!("error: cannot write the output: {e}");
            ExitCode::FAILURE
        }
        _ => code,
    }
}
