//! The station under test: a `postcso-station` process the load generator
//! creates, serves and enrols devices on through `postcso-harness` (the real
//! admin CLI and API), or one already running that it is pointed at.

use std::path::{Path, PathBuf};

use postcso_harness::{Enrolled, HarnessError, ServeOptions, Server, StationDir, enrol_device};

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
    /// The PostgreSQL database every station command uses.
    pub database_url: Option<String>,
    /// Base URL of a station already serving `data_dir`; `None` starts one.
    pub url: Option<String>,
    /// Largest tus upload the started station accepts.
    pub max_upload_size: u64,
}

/// A station to load: its URL, its server process when we started it.
pub struct Station {
    dir: StationDir,
    server: Option<Server>,
    url: String,
}

impl Station {
    /// Creates the station (unless `url` is given) and starts serving it.
    pub async fn start(options: StationOptions) -> Result<Self, LoadError> {
        let dir = match &options.data_dir {
            Some(dir) => StationDir::new(&options.binary, dir),
            None => StationDir::temporary(&options.binary),
        }
        .map_err(|e| match e {
            HarnessError::NoBinary(path) => LoadError::process(
                "station",
                format!(
                    "no station binary at {}; build it with `cargo build --release -p postcso-station` or pass --station-bin",
                    path.display()
                ),
            ),
            e => e.into(),
        })?
        .with_database_url(options.database_url);
        if let Some(url) = options.url {
            return Ok(Self {
                dir,
                server: None,
                url,
            });
        }
        dir.create_station(SLUG, "Load generator station").await?;
        let server = dir
            .serve(&ServeOptions {
                args: vec![
                    "--max-upload-size".to_owned(),
                    options.max_upload_size.to_string(),
                ],
                ..ServeOptions::default()
            })
            .await?;
        Ok(Self {
            url: server.url().to_owned(),
            dir,
            server: Some(server),
        })
    }

    /// Base URL without a trailing slash.
    pub fn url(&self) -> &str {
        self.url.trim_end_matches('/')
    }

    /// The data dir (photos and, on SQLite, the database live here).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's process id, when we started it.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().and_then(Server::pid)
    }

    /// Makes `count` enrolment codes with the admin CLI and redeems each over
    /// the API, as a phone would; returns the devices' credentials.
    pub async fn enrol(&self, count: usize) -> Result<Vec<Enrolled>, LoadError> {
        let client = reqwest::Client::new();
        let mut devices = Vec::with_capacity(count);
        for code in self.dir.enrolment_codes(SLUG, count).await? {
            devices.push(enrol_device(&client, self.url(), &code.code).await?);
        }
        Ok(devices)
    }

    /// Files `report` as `device`, expecting 201 (setup, not measured).
    pub async fn put_report(
        &self,
        client: &reqwest::Client,
        device: &Enrolled,
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
    pub async fn stop(&mut self) -> Result<(), LoadError> {
        if let Some(mut server) = self.server.take() {
            server.kill().await?;
        }
        Ok(())
    }
}
