//! Printing for commands, without `println!`'s panic when the reader went
//! away (`stoa followers list | head -1`): once stdout is a closed pipe,
//! what is printed there is dropped quietly and the command finishes its
//! work (a publish is never cut short by its report); `main` then exits 0.
//! Any other failure to write stdout (a full disk) is kept and reported by
//! [`finish`]. Writing to stderr never fails a command: there is nowhere
//! left to say so. Use [`outln!`](crate::outln), [`out!`](crate::out) and
//! [`errln!`](crate::errln) instead of `println!`, `print!` and `eprintln!`.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout cannot be written any more.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
/// The first failure to write stdout that was not a closed pipe.
static STDOUT_ERROR: Mutex<Option<io::Error>> = Mutex::new(None);

/// Writes `args` to stdout, then a newline if `newline` (in one lock, so
/// lines from two threads do not mix). Used by the macros.
pub fn stdout(args: fmt::Arguments<'_>, newline: bool) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut out = io::stdout().lock();
    let written = out.write_fmt(args).and_then(|()| {
        if newline {
            out.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if let Err(e) = written {
        failed(e);
    }
}

/// Writes `args` and a newline to stderr, ignoring failures.
pub fn stderr(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

fn failed(e: io::Error) {
    STDOUT_GONE.store(true, Ordering::Relaxed);
    if e.kind() != io::ErrorKind::BrokenPipe {
        let mut slot = STDOUT_ERROR.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(e);
    }
}

/// Flushes stdout; the first error writing it, a closed pipe aside (the
/// reader had what it wanted).
pub fn finish() -> io::Result<()> {
    if !STDOUT_GONE.load(Ordering::Relaxed)
        && let Err(e) = io::stdout().lock().flush()
    {
        failed(e);
    }
    match STDOUT_ERROR
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Like `println!`, but quiet on a closed stdout (see [`crate::cmd::out`]).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cmd::out::stdout(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::cmd::out::stdout(format_args!($($arg)*), true)
    };
}

/// Like `print!`, but quiet on a closed stdout (see [`crate::cmd::out`]).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cmd::out::stdout(format_args!($($arg)*), false)
    };
}

/// Like `eprintln!`, but never panics.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cmd::out::stderr(format_args!($($arg)*))
    };
}
