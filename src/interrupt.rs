//! Stopping a build cleanly on SIGINT, SIGTERM and SIGHUP.
//!
//! Until [`install`] is called (by `stoa build` and `stoa publish`), these
//! signals end the process at once, as they always do. After it:
//!
//! - while no build is writing, a signal still ends the process at once;
//! - while a build renders (a [`crate::output::Stager`] is open), the signal
//!   is noted, and the build stops at its next file and removes what it had
//!   staged: the output folder stays as it was. A second signal ends the
//!   process at once (the next build removes the leftovers);
//! - while a build commits, signals are only noted: the commit finishes,
//!   then the build reports that it was stopped.
//!
//! A `kill -9` or a power cut cannot be caught at all; the commit journal
//! (see [`crate::output`]) covers those.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The signals a build handles.
const SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

static INSTALLED: AtomicBool = AtomicBool::new(false);
/// The last signal received (0: none).
static RECEIVED: AtomicUsize = AtomicUsize::new(0);
/// When true, a signal ends the process at once (exit status 128 + signal).
static MAY_DIE: AtomicBool = AtomicBool::new(true);

/// Installs the handlers (once; later calls do nothing).
pub fn install() -> std::io::Result<()> {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    for sig in SIGNALS {
        // In registration order: first exit at once when allowed, else note it.
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, &MAY_DIE)?;
        signal_hook::flag::register_usize(sig, &RECEIVED, sig as usize)?;
    }
    Ok(())
}

/// The signal received since [`install`], if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => i32::try_from(s).ok(),
    }
}

/// Whether a signal now ends the process at once (`true`) or is only noted
/// (`false`, while a build has something to finish or clean up).
pub fn set_may_die(may_die: bool) {
    MAY_DIE.store(may_die, Ordering::SeqCst);
}

/// The conventional name of a signal number.
pub fn name(signal: i32) -> String {
    match signal {
        SIGINT => "SIGINT (Ctrl-C)".to_string(),
        SIGTERM => "SIGTERM".to_string(),
        SIGHUP => "SIGHUP".to_string(),
        s => format!("signal {s}"),
    }
}
