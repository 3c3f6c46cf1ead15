//! `postcso-station serve` as a child process: started over a [`StationDir`],
//! ready once it prints `listening on http://ADDR`, stopped or killed by
//! signal, and started again over the same dir.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::{HarnessError, StationDir, io};

/// How long `serve` may take to print its `listening on` line (it migrates
/// the database first).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Enrolments allowed per client address per minute: every simulated phone
/// enrols from the one loopback address.
const ENROL_RATE_PER_MINUTE: &str = "1000000";

/// Where the server's log (its standard error) goes.
#[derive(Debug, Clone, Default)]
pub enum Logs {
    /// Nowhere (a load run, or tests that never read it).
    #[default]
    Discard,
    /// To this process's standard error, shown with a failing test.
    Inherit,
    /// Into a file, for a test that reads the log after the server exits.
    File(PathBuf),
}

/// How to start `serve`. The harness always passes `--listen 127.0.0.1:PORT`
/// and `--enrol-rate-per-minute 1000000`; give neither in `args`.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// The loopback port; 0 lets the system pick one. A fixed port survives
    /// a restart, for proxies set up in front of the station.
    pub port: u16,
    /// More `serve` flags, e.g. `--max-upload-size 2000000`.
    pub args: Vec<String>,
    /// More environment, e.g. object store credentials or `RUST_LOG`.
    pub env: Vec<(String, String)>,
    /// Where the log goes.
    pub logs: Logs,
}

/// A running `postcso-station serve`. Dropping it kills the process (SIGKILL).
#[derive(Debug)]
pub struct Server {
    child: Child,
    url: String,
}

impl StationDir {
    /// Starts `serve` over this dir and returns once it listens.
    pub async fn serve(&self, options: &ServeOptions) -> Result<Server, HarnessError> {
        let listen = format!("127.0.0.1:{}", options.port);
        let stderr = match &options.logs {
            Logs::Discard => Stdio::null(),
            Logs::Inherit => Stdio::inherit(),
            Logs::File(path) => std::fs::File::create(path)
                .map_err(io(format!("creating {}", path.display())))?
                .into(),
        };
        let mut child = self
            .command(&[
                "serve",
                "--listen",
                &listen,
                "--enrol-rate-per-minute",
                ENROL_RATE_PER_MINUTE,
            ])
            .args(&options.args)
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(io("starting postcso-station serve"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| HarnessError::NotListening("its standard output is gone".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let listening = tokio::time::timeout(STARTUP_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.trim().strip_prefix("listening on ") {
                    return Ok(Some(url.to_owned()));
                }
            }
            Ok::<_, std::io::Error>(None)
        });
        let url = match listening.await {
            Ok(Ok(Some(url))) => url,
            Ok(Ok(None)) => {
                let status = child.wait().await.map_err(io("waiting for serve"))?;
                return Err(HarnessError::NotListening(format!("it exited ({status})")));
            }
            Ok(Err(e)) => return Err(io("reading serve's standard output")(e)),
            Err(_) => {
                let waited = format!("no `listening on` line within {STARTUP_TIMEOUT:?}");
                return Err(HarnessError::NotListening(waited));
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        tracing::info!(%url, data_dir = %self.path().display(), "station listening");
        Ok(Server { child, url })
    }
}

impl Server {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The process id, while it has not been waited for.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends SIGTERM (a graceful stop: requests in flight finish) and
    /// returns at once; [`Self::wait`] for the exit.
    pub fn terminate(&self) -> Result<(), HarnessError> {
        let Some(pid) = self
            .child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(Pid::from_raw)
        else {
            return Ok(());
        };
        kill_process(pid, Signal::TERM).map_err(|e| io("sending SIGTERM to the station")(e.into()))
    }

    /// Waits for the process to exit.
    pub async fn wait(&mut self) -> Result<ExitStatus, HarnessError> {
        self.child
            .wait()
            .await
            .map_err(io("waiting for the station"))
    }

    /// Stops gracefully: SIGTERM, then waits for the exit.
    pub async fn stop(&mut self) -> Result<ExitStatus, HarnessError> {
        self.terminate()?;
        self.wait().await
    }

    /// Kills with SIGKILL, as a crash or the OOM killer would, and waits
    /// until it is gone (its port is free again).
    pub async fn kill(&mut self) -> Result<(), HarnessError> {
        if self.child.id().is_some() {
            self.child.kill().await.map_err(io("killing the station"))?;
        }
        Ok(())
    }
}
