//! Exit codes of the binary, so scripts can tell failures apart.

use crate::repo::RepoError;

/// The binary's exit codes. 2 is clap's usage error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// Anything unexpected.
    Failure = 1,
    /// Bad or missing arguments (clap's own code).
    Usage = 2,
    /// The data dir, station, user or device does not exist.
    NotFound = 3,
    /// Already exists, ambiguous, or the output file is already there.
    Conflict = 4,
    /// The database is unavailable, corrupt or newer than this binary.
    Storage = 5,
    /// A file could not be written or the listen address could not be bound.
    Io = 6,
}

/// The `after_help` text of every command.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  unexpected failure
  2  usage error (bad or missing arguments)
  3  not found (no database in the data dir, unknown station or device)
  4  conflict (already exists, ambiguous device label, output file exists)
  5  storage error (database unavailable, corrupt, or newer than this binary)
  6  I/O error (cannot write output files or bind the listen address)";

/// A command's failure: what to tell the operator and which code to exit with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// Exit code.
    pub exit: Exit,
    /// One line for stderr.
    pub message: String,
}

impl CliError {
    /// A failure with its exit code.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
        }
    }
}

impl From<RepoError> for CliError {
    fn from(e: RepoError) -> Self {
        let exit = match e {
            RepoError::NotFound(_) => Exit::NotFound,
            RepoError::Conflict(_) | RepoError::Stale { .. } => Exit::Conflict,
            RepoError::Unavailable(_) | RepoError::Full(_) | RepoError::Storage(_) => Exit::Storage,
        };
        Self::new(exit, e.to_string())
    }
}
