//! The harness from synchronous tests: [`run`] drives any of its futures on a
//! runtime of the harness's own and panics with a clear message on error, so
//! a test that fails to set up says why instead of returning.

use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::HarnessError;

/// Runs a harness future to completion and returns its value; panics with
/// `what` and the error otherwise. Call it from synchronous code only, not
/// from inside an async runtime. Servers started through it stay with the
/// harness's runtime, so later calls can stop or kill them.
pub fn run<T>(what: &str, future: impl Future<Output = Result<T, HarnessError>>) -> T {
    runtime()
        .block_on(future)
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The station binary for tests outside the station crate, built by cargo on
/// first use (see [`crate::build_station_binary`]); panics when it cannot be.
pub fn station_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            crate::build_station_binary()
                .unwrap_or_else(|e| panic!("the station binary for the tests: {e}"))
        })
        .clone()
}

/// One small runtime for every blocking call in the process: a server's
/// child process and output stay driven between calls.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("postcso-harness")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the harness's runtime: {e}"))
    })
}
