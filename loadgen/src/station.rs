//! The station under test: a release `postcso-station` process the load
//! generator creates, serves and enrols devices on through its real admin CLI
//! and API, or one already running that it is pointed at.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::error::LoadError;

/// Slug of the station the load generator creates.
pub const SLUG: &str = "loadgen";

/// Where the station runs and how to administer it.
#[derive(Debug, Clone)]
pub struct StationOptions {
    /// The `postcso-station` binary.
    pub binary: PathBuf,
    /// Data dir; a fresh temporary one when `None`.
    pub data_dir: Option<PathBuf>,
    /// Passed through as `--database-url` to every station command (PostgreSQL).
    pub database_url: Option<String>,
    /// Base URL of a station already serving `data_dir`; `None` starts one.
    pub url: Option<String>,
    /// Largest tus upload the started station accepts.
    pub max_upload_size: u64,
}

/// The binary next to this one (`target/<profile>/postcso-station`), which
/// `cargo build --release -p postcso-station -p postcso-loadgen` puts there.
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("postcso-station")))
        .unwrap_or_else(|| PathBuf::from("postcso-station"))
}

/// A station to load: its URL, its server process when we started it.
pub struct Station {
    options: StationOptions,
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    child: Option<Child>,
    url: String,
}

/// An enrolled device as the load needs it.
#[derive(Debug, Clone)]
pub struct Device {
    /// Bearer credential.
    pub token: String,
}

#[derive(Deserialize)]
struct EnrolAnswer {
    token: String,
}

impl Station {
    /// Creates the station (unless `url` is given) and starts serving it.
    pub async fn start(options: StationOptions) -> Result<Self, LoadError> {
        if !options.binary.is_file() {
            return Err(LoadError::process(
                "station",
                format!(
                    "no station binary at {}; build it with `cargo build --release -p postcso-station` or pass --station-bin",
                    options.binary.display()
                ),
            ));
        }
        let (temp, data_dir) = match &options.data_dir {
            Some(dir) => (None, dir.clone()),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("postcso-loadgen-")
                    .tempdir()
                    .map_err(|e| LoadError::io(std::env::temp_dir(), e))?;
                let path = temp.path().to_owned();
                (Some(temp), path)
            }
        };
        let mut station = Self {
            url: options.url.clone().unwrap_or_default(),
            options,
            data_dir,
            _temp: temp,
            child: None,
        };
        if station.options.url.is_none() {
            station
                .admin(&[
                    "station",
                    "create",
                    "--slug",
                    SLUG,
                    "--name",
                    "Load generator station",
                ])
                .await?;
            station.serve().await?;
        }
        Ok(station)
    }

    /// Base URL without a trailing slash.
    pub fn url(&self) -> &str {
        self.url.trim_end_matches('/')
    }

    /// The data dir (photos and, on SQLite, the database live here).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server's process id, when we started it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.options.binary);
        cmd.args(args).arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = &self.options.database_url {
            cmd.arg("--database-url").arg(url);
        }
        cmd
    }

    /// Runs an admin command; its standard output.
    async fn admin(&self, args: &[&str]) -> Result<String, LoadError> {
        let out = self
            .command(args)
            .output()
            .await
            .map_err(|e| LoadError::io(&self.options.binary, e))?;
        if !out.status.success() {
            return Err(LoadError::process(
                "station admin",
                format!(
                    "`{}` failed ({}): {}",
                    args.join(" "),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    async fn serve(&mut self) -> Result<(), LoadError> {
        let max = self.options.max_upload_size.to_string();
        let mut child = self
            .command(&[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--enrol-rate-per-minute",
                "1000000",
                "--max-upload-size",
                &max,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| LoadError::io(&self.options.binary, e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| LoadError::process("station", "no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.trim().strip_prefix("listening on ") {
                    return Some(url.to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| LoadError::process("station", "exited or timed out before listening"))?;
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.url = url;
        self.child = Some(child);
        Ok(())
    }

    /// Makes `count` enrolment codes with the admin CLI and redeems each over
    /// the API, as a phone would; returns the devices' credentials.
    pub async fn enrol(&self, count: usize) -> Result<Vec<Device>, LoadError> {
        let client = reqwest::Client::new();
        let mut devices = Vec::with_capacity(count);
        let mut batch = 0;
        while devices.len() < count {
            let n = (count - devices.len()).min(1000);
            let csv = self.data_dir.join(format!("loadgen-codes-{batch}.csv"));
            batch += 1;
            let csv_arg = csv.to_string_lossy().into_owned();
            self.admin(&[
                "enrol",
                "--station",
                SLUG,
                "--count",
                &n.to_string(),
                "--out",
                &csv_arg,
            ])
            .await?;
            for code in read_codes(&csv)? {
                let answer = client
                    .post(format!("{}/v1/devices/enrol", self.url()))
                    .json(&serde_json::json!({ "code": code }))
                    .send()
                    .await?;
                if answer.status() != reqwest::StatusCode::CREATED {
                    return Err(LoadError::Setup(format!(
                        "enrolment answered {}",
                        answer.status()
                    )));
                }
                let answer: EnrolAnswer = answer.json().await?;
                devices.push(Device {
                    token: answer.token,
                });
            }
        }
        Ok(devices)
    }

    /// Files `report` as `device`, expecting 201 (setup, not measured).
    pub async fn put_report(
        &self,
        client: &reqwest::Client,
        device: &Device,
        report: &postcso_core::model::ReportContent,
    ) -> Result<(), LoadError> {
        let answer = client
            .put(format!("{}/v1/reports/{}", self.url(), report.id))
            .bearer_auth(&device.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(report.canonical_json())
            .send()
            .await?;
        if answer.status() != reqwest::StatusCode::CREATED {
            return Err(LoadError::Setup(format!(
                "report PUT answered {}",
                answer.status()
            )));
        }
        Ok(())
    }

    /// Stops the server we started (SIGKILL; the data dir is thrown away).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

/// The codes of an enrolment sheet (`label,code,expires_at,qr_png`).
fn read_codes(csv: &Path) -> Result<Vec<String>, LoadError> {
    let text = std::fs::read_to_string(csv).map_err(|e| LoadError::io(csv, e))?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').nth(1).map(str::to_owned))
        .collect())
}
