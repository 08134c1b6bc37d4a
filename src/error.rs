//! Errors a writer can act on: each names the file (and line, when there is
//! one) and says how to fix it.

use std::fmt;
use std::path::{Path, PathBuf};

/// A problem at a place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file, as the user would type it.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Located {
    /// Builds a located problem.
    pub fn new(path: &Path, line: usize, message: String, hint: Option<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            line,
            message,
            hint,
        }
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  help: {hint}")?;
        }
        Ok(())
    }
}

/// Everything that can stop a build. Callers branch on the kind (the serve
/// loop shows content errors in the browser; the CLI maps all to exit 1).
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// `stoa.toml` is not there.
    #[error(
        "no stoa.toml in {}\n  help: run the command inside your site folder, pass --root DIR, or create a site with `stoa init DIR`",
        root.display()
    )]
    MissingConfig {
        /// The folder that was searched.
        root: PathBuf,
    },
    /// `stoa.toml` is wrong.
    #[error("{0}")]
    Config(Located),
    /// A base URL from the command line is not a URL.
    #[error(
        "--base-url {0:?} is not an absolute http(s) URL\n  help: write it like https://blog.example.com"
    )]
    BadBaseUrl(String),
    /// A post or page has a front matter problem.
    #[error("{0}")]
    Content(Located),
    /// Several problems in content files, reported together.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Many(Vec<SiteError>),
    /// The theme is missing or a template does not parse or render.
    #[error("{0}")]
    Template(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The output folder holds files that stoa did not write.
    #[error(
        "the output folder {} is not empty and was not made by stoa\n  help: remove it, or pass another folder with --output",
        .0.display()
    )]
    ForeignOutput(PathBuf),
    /// A file in `static/` leads (through a symlink) to one of the site's secrets.
    #[error(
        "{} leads to {}, which must never be published\n  help: remove the link from static/",
        link.display(),
        secret.display()
    )]
    SecretInStatic {
        /// The file in `static/`.
        link: PathBuf,
        /// The secret it resolves to.
        secret: PathBuf,
    },
    /// The output folder is, or holds, or sits inside, a folder the build reads.
    #[error(
        "the output folder {} overlaps {}, which the build reads (or is the site itself)\n  help: build into a folder of its own, like `--output public`",
        output.display(),
        input.display()
    )]
    OutputOverlapsInput {
        /// The output folder.
        output: PathBuf,
        /// The input it overlaps.
        input: PathBuf,
    },
    /// The commit journal of the output folder cannot be read back.
    #[error(
        "the output folder {} holds a damaged .stoa-journal (a build was stopped while writing, and the journal did not survive)\n  help: remove the folder and build again",
        .0.display()
    )]
    DamagedOutput(PathBuf),
    /// SIGINT, SIGTERM or SIGHUP stopped the build.
    #[error("{}", interrupted_message(*signal, output, *finished))]
    Interrupted {
        /// The signal number.
        signal: i32,
        /// The output folder.
        output: PathBuf,
        /// Whether the build had started writing the folder, and so was
        /// finished first (otherwise nothing was written).
        finished: bool,
    },
}

fn interrupted_message(signal: i32, output: &Path, finished: bool) -> String {
    let name = crate::interrupt::name(signal);
    if finished {
        format!(
            "stopped by {name} while writing {}: the writing was finished first, so the folder holds the whole new build",
            output.display()
        )
    } else {
        format!(
            "stopped by {name} before anything was written: {} is as the last build left it",
            output.display()
        )
    }
}

impl SiteError {
    /// The exit status for this error: 128 + the signal for a build stopped
    /// by a signal (as shells report it), 1 otherwise.
    pub fn exit_status(&self) -> u8 {
        match self {
            SiteError::Interrupted { signal, .. } => u8::try_from(128 + signal).unwrap_or(1),
            _ => 1,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        SiteError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Folds a list of errors into one (or none).
    pub fn collect(mut errors: Vec<SiteError>) -> Result<(), SiteError> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(SiteError::Many(errors)),
        }
    }
}
