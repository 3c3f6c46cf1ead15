//! One way to start a real `postcso-station` process, shared by the station's
//! process tests (`station/api-tests/tests/support/process.rs`), the end-to-end tests
//! (`postcso-tests`) and the load generator (`postcso-loadgen`), so that the
//! three cannot drift apart.
//!
//! - [`binary_beside_current_exe`], [`build_station_binary`]: where the
//!   `postcso-station` binary is, for callers outside the station crate (whose
//!   own tests have `CARGO_BIN_EXE_postcso-station`).
//! - [`StationDir`]: a data dir and its database, administered through the
//!   binary's own CLI (stations, staff users, enrolment codes), and served.
//! - [`Server`]: `postcso-station serve`, returned once its `listening on` line
//!   is read; stopped with SIGTERM or killed with SIGKILL, then served again
//!   over the same [`StationDir`].
//! - [`enrol_device`], [`sign_in`]: the first HTTP calls of a phone and of a
//!   supervisor (feature `http`, on by default).
//! - [`test_database_url`]: a data dir's PostgreSQL database on the PostgreSQL
//!   test run ([`TEST_DATABASE_ENV`]).
//! - [`blocking`]: the same from synchronous tests, panicking with a clear
//!   message instead of returning errors.
//!
//! The async API returns [`HarnessError`] and runs on any tokio runtime with
//! I/O and time enabled.

#[cfg(feature = "http")]
mod api;
mod binary;
pub mod blocking;
mod database;
mod server;
mod station;

use std::path::PathBuf;
use std::process::ExitStatus;

#[cfg(feature = "http")]
pub use api::{Enrolled, enrol_device, sign_in};
pub use binary::{binary_beside_current_exe, build_station_binary};
pub use database::{
    DATABASE_URL_FILE, TEST_DATABASE_ENV, fresh_postgres_database, test_database_url,
    test_postgres_server,
};
pub use server::{Logs, ServeOptions, Server};
pub use station::{EnrolmentCode, StationDir};

/// Why the harness could not start, administer or reach a station.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// There is no station binary where one was expected.
    #[error("no station binary at {}", .0.display())]
    NoBinary(PathBuf),
    /// A file, directory or process could not be used.
    #[error("{what}: {source}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An admin command, or the build of the station, exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// How it exited.
        status: ExitStatus,
        /// What it said on standard error.
        stderr: String,
    },
    /// `serve` exited, or stayed silent too long, before its `listening on` line.
    #[error("postcso-station serve did not start: {0}")]
    NotListening(String),
    /// The station answered a setup request with an unexpected status.
    #[cfg(feature = "http")]
    #[error("POST {request} answered {status}")]
    Unexpected {
        /// The path POSTed to, e.g. `/v1/devices/enrol`.
        request: &'static str,
        /// The status it got.
        status: reqwest::StatusCode,
    },
    /// An HTTP request could not be made, or its answer not read.
    #[cfg(feature = "http")]
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    /// The PostgreSQL test server could not make a database.
    #[error("cannot make a test database on {server}: {source}")]
    Database {
        /// The server's URL.
        server: String,
        /// Its error.
        source: tokio_postgres::Error,
    },
}

/// A [`HarnessError::Io`] saying what was being done, for `map_err`.
fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}
