//! The real `postcso-station` binary as a child process, started and set up
//! through `postcso-harness`, and a device speaking tus to it over loopback.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use postcso_harness::{Logs, ServeOptions, Server, StationDir, enrol_device, sign_in};
use serde_json::Value;

use crate::common::{header_u64, location, sha256_hex, upload_metadata};

/// The station binary under test, built by cargo on first use (this crate
/// is not the station's, so cargo does not hand it over).
pub fn station_binary() -> PathBuf {
    postcso_harness::blocking::station_binary()
}

/// `data` administered and served with [`station_binary`], on its SQLite
/// file (the caller asks for the PostgreSQL run's database with
/// `with_test_database`).
pub fn station_dir(data: &Path) -> StationDir {
    StationDir::new(station_binary(), data).expect("station data dir")
}

/// Password of every staff user made by [`setup_station`].
pub const PASSWORD: &str = "a long enough test password";

/// Creates station `seodaemun` in `dir`, one enrolment code and a
/// supervisor `kim`; returns the code.
pub async fn setup_station(dir: &StationDir) -> String {
    dir.create_station("seodaemun", "S")
        .await
        .expect("station create");
    dir.add_user("seodaemun", "kim", "supervisor", PASSWORD)
        .await
        .expect("user add");
    dir.enrolment_codes("seodaemun", 1)
        .await
        .expect("enrolment code")
        .remove(0)
        .code
}

/// A running `postcso-station serve`, killed when dropped.
pub struct StationProcess {
    /// The server process.
    pub server: Server,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Client.
    pub http: reqwest::Client,
}

impl StationProcess {
    /// Starts `serve` over `dir` with extra flags and environment; its log
    /// (warnings and errors) shows with a failing test.
    pub async fn start(dir: &StationDir, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let options = ServeOptions {
            args: ["--cookie-insecure"]
                .iter()
                .chain(extra)
                .map(|a| (*a).to_owned())
                .collect(),
            env: [("RUST_LOG", "warn")]
                .iter()
                .chain(env)
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            logs: Logs::Inherit,
            ..ServeOptions::default()
        };
        let server = dir.serve(&options).await.expect("start the station");
        Self {
            base: server.url().to_owned(),
            server,
            http: reqwest::Client::new(),
        }
    }

    /// Full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Redeems an enrolment code; returns the device token.
    pub async fn enrol(&self, code: &str) -> String {
        enrol_device(&self.http, &self.base, code)
            .await
            .expect("enrol")
            .token
    }

    /// Signs in supervisor `kim`; returns the session token.
    pub async fn supervisor(&self) -> String {
        sign_in(&self.http, &self.base, "seodaemun", "kim", PASSWORD)
            .await
            .expect("sign in")
    }

    /// PUTs a report as a device; asserts 201.
    pub async fn put_report(&self, token: &str, id: &str, report: &Value) {
        let response = self
            .http
            .put(self.url(&format!("/v1/reports/{id}")))
            .bearer_auth(token)
            .json(report)
            .send()
            .await
            .expect("put report");
        assert_eq!(response.status(), 201, "put report");
    }

    /// The report as its device sees it.
    pub async fn report(&self, token: &str, id: &str) -> Value {
        self.http
            .get(self.url(&format!("/v1/reports/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("get report")
            .json()
            .await
            .expect("json")
    }

    /// GET with a bearer token.
    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get")
    }

    /// A tus creation request for `photo` of a report, without a body.
    fn creation(&self, token: &str, report_id: &str, photo: &[u8]) -> reqwest::RequestBuilder {
        self.http
            .post(self.url("/v1/uploads"))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", photo.len().to_string())
            .header(
                "Upload-Metadata",
                upload_metadata(report_id, &sha256_hex(photo)),
            )
    }

    /// Creates a tus upload of `photo` for a report; returns its path.
    pub async fn create_upload(&self, token: &str, report_id: &str, photo: &[u8]) -> String {
        let response = self
            .creation(token, report_id, photo)
            .send()
            .await
            .expect("create upload");
        assert_eq!(response.status(), 201, "create upload");
        location(&response)
    }

    /// Creation-with-upload of a whole photo in one POST; returns the response.
    pub async fn post_whole(
        &self,
        token: &str,
        report_id: &str,
        photo: &[u8],
    ) -> reqwest::Response {
        self.creation(token, report_id, photo)
            .header("Content-Type", "application/offset+octet-stream")
            .body(photo.to_vec())
            .send()
            .await
            .expect("post whole photo")
    }

    /// PATCHes bytes at an offset.
    pub async fn patch(
        &self,
        token: &str,
        path: &str,
        offset: usize,
        bytes: &[u8],
    ) -> reqwest::Response {
        self.http
            .patch(self.url(path))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("patch")
    }

    /// PATCHes and asserts 204 with the new offset.
    pub async fn patch_accepted(&self, token: &str, path: &str, offset: usize, bytes: &[u8]) {
        let response = self.patch(token, path, offset, bytes).await;
        assert_eq!(response.status(), 204, "patch at {offset}");
        assert_eq!(
            header_u64(&response, "upload-offset"),
            (offset + bytes.len()) as u64
        );
    }

    /// HEADs an upload.
    pub async fn head(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .head(self.url(path))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .expect("head")
    }

    /// Uploads a whole photo in chunks; returns the upload path.
    pub async fn upload(&self, token: &str, report_id: &str, photo: &[u8], chunk: usize) -> String {
        let path = self.create_upload(token, report_id, photo).await;
        let mut offset = 0;
        for piece in photo.chunks(chunk) {
            self.patch_accepted(token, &path, offset, piece).await;
            offset += piece.len();
        }
        path
    }

    /// Sends a PATCH by hand over a raw socket: the headers announce
    /// `announced` body bytes at `offset`, only `sent` follow, then the
    /// client hangs up without reading an answer.
    pub async fn hang_up_mid_patch(
        &self,
        token: &str,
        path: &str,
        offset: usize,
        announced: usize,
        sent: &[u8],
    ) {
        use tokio::io::AsyncWriteExt;
        let addr = self.base.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        let head = format!(
            "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n\
             Content-Type: application/offset+octet-stream\r\nContent-Length: {announced}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.expect("head");
        stream.write_all(sent).await.expect("part of the body");
        stream.flush().await.expect("flush");
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(stream);
    }

    /// Polls HEAD until the upload's offset is `want` (the server finishes a
    /// request after its client left); panics after 10 s.
    pub async fn wait_for_offset(&self, token: &str, path: &str, want: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let response = self.head(token, path).await;
            if response.status() == 200 && header_u64(&response, "upload-offset") == want {
                return;
            }
            assert!(Instant::now() < deadline, "offset never reached {want}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the server with SIGTERM (graceful) and waits for it.
    pub async fn stop(mut self) {
        self.server.stop().await.expect("stop the station");
    }
}

/// The part file of an upload in a data dir.
pub fn part_file(data: &Path, upload_path: &str) -> std::path::PathBuf {
    let id = upload_path.rsplit('/').next().expect("id");
    data.join("uploads").join(format!("{id}.part"))
}

/// How many photos of a report are still missing, as its device sees it.
pub fn photos_missing(report: &Value) -> u64 {
    report["photos_missing"].as_u64().expect("photos_missing")
}
