//! What can stop a load run, as one error type the CLI turns into an exit code.

use std::path::PathBuf;

/// Why a load run could not be set up or finished.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A server or helper process could not be started or answered badly.
    #[error("{what}: {detail}")]
    Process {
        /// Which process.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The server answered a setup request (enrolment, report) unexpectedly.
    #[error("setup request failed: {0}")]
    Setup(String),
    /// The station could not be started, administered or enrolled on.
    #[error("station: {0}")]
    Station(#[from] postcso_harness::HarnessError),
    /// An HTTP request could not be made at all.
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
}

impl LoadError {
    /// A process error with a message.
    pub fn process(what: &'static str, detail: impl Into<String>) -> Self {
        Self::Process {
            what,
            detail: detail.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
