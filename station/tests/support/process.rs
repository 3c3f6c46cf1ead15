//! The real `postcso-station` binary as a child process, set up through its
//! own CLI, and a device speaking tus to it over loopback.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{DATABASE_URL_FILE, header_u64, location, sha256_hex, upload_metadata};

/// The station binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_postcso-station");

/// The binary with a clean environment, plus the test database of `data`
/// (see `common::test_database_url`) when the run is on PostgreSQL, so that
/// every process over one data dir finds the same database.
fn station_command(data: Option<&Path>) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("POSTCSO_DATA_DIR")
        .env_remove("POSTCSO_BLOB_STORE")
        .env_remove("POSTCSO_DATABASE_URL");
    let remembered = data.and_then(|d| std::fs::read_to_string(d.join(DATABASE_URL_FILE)).ok());
    if let Some(url) = remembered {
        command.env("POSTCSO_DATABASE_URL", url.trim());
    }
    command
}

/// Runs an admin command to success and returns its stdout.
pub fn cli(args: &[&str], stdin: Option<&str>) -> String {
    let data = args
        .windows(2)
        .find(|pair| pair[0] == "--data-dir")
        .map(|pair| Path::new(pair[1]));
    let mut child = station_command(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cli");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("run cli");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Password of every staff user made by [`setup_station`].
pub const PASSWORD: &str = "a long enough test password";

/// Creates station `seodaemun` in `data`, one enrolment code and a
/// supervisor `kim`; returns the code.
pub fn setup_station(data: &Path, scratch: &Path) -> String {
    let d = data.to_str().expect("path");
    cli(
        &[
            "station",
            "create",
            "--data-dir",
            d,
            "--slug",
            "seodaemun",
            "--name",
            "S",
        ],
        None,
    );
    let csv = scratch.join("codes.csv");
    cli(
        &[
            "enrol",
            "--data-dir",
            d,
            "--station",
            "seodaemun",
            "--count",
            "1",
            "--out",
            csv.to_str().expect("path"),
        ],
        None,
    );
    cli(
        &[
            "user",
            "add",
            "--data-dir",
            d,
            "--station",
            "seodaemun",
            "--username",
            "kim",
            "--role",
            "supervisor",
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    std::fs::read_to_string(&csv)
        .expect("csv")
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').nth(1))
        .expect("code")
        .to_owned()
}

/// A running `postcso-station serve`, killed when dropped.
pub struct StationProcess {
    /// The child.
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Client.
    pub http: reqwest::Client,
}

impl StationProcess {
    /// Starts `serve` over `data` with extra flags and environment.
    pub fn start(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = station_command(Some(data));
        command
            .args(["serve", "--data-dir"])
            .arg(data)
            .args(["--listen", "127.0.0.1:0", "--cookie-insecure"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read stdout");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("no listening line: {line:?}"))
            .to_owned();
        Self {
            child,
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Redeems an enrolment code; returns the device token.
    pub async fn enrol(&self, code: &str) -> String {
        let body: Value = self
            .http
            .post(self.url("/v1/devices/enrol"))
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .expect("enrol")
            .json()
            .await
            .expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Signs in supervisor `kim`; returns the session token.
    pub async fn supervisor(&self) -> String {
        let response = self
            .http
            .post(self.url("/v1/sessions"))
            .json(&serde_json::json!({
                "station": "seodaemun", "username": "kim", "password": PASSWORD
            }))
            .send()
            .await
            .expect("sign in");
        assert_eq!(response.status(), 201, "sign-in");
        let body: Value = response.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
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
    pub fn stop(mut self) {
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
        }
        let _ = self.child.wait();
    }
}

impl Drop for StationProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
