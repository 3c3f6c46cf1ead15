//! Shared test harness: a real server on a real loopback socket, over a fresh
//! data dir, plus helpers that set up stations, users and devices through the
//! same repository the server uses (nothing is mocked).
//!
//! The backend under test and the sample report come from the station's own
//! `tests/common/mod.rs` (included by path, re-exported here), so the store
//! contract tests there and these tests choose their backend the same way:
//! with `POSTCSO_TEST_DATABASE_URL` set, every server gets a fresh PostgreSQL
//! database; without it, the data dir's SQLite file.

#![allow(dead_code)]

#[path = "../../../tests/common/mod.rs"]
mod backend;

pub use backend::*;

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{Duration, Utc};
use postcso_station::auth::{
    Role, hash_password, hash_secret, new_enrolment_code, normalise_enrolment_code,
};
use postcso_station::config::{RateLimit, ServerConfig};
use postcso_station::http::AppState;
use postcso_station::repo::{NewEnrolmentCode, NewUser, Repository, Station};
use postcso_station::server::serve;
use serde_json::Value;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running in-process server over its own data dir.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The repository the server uses, for setup and for checking what is stored.
    pub repo: Arc<dyn Repository>,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The data dir (kept alive for the test).
    pub dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Test defaults: generous enrolment rate so tests are not throttled, and a
/// non-Secure cookie since tests speak plain HTTP.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        cookie_secure: false,
        enrol_rate: RateLimit::new(10_000, 10_000),
        sign_in_rate: RateLimit::new(10_000, 10_000),
        ..ServerConfig::default()
    }
}

impl TestServer {
    /// Starts a server with [`test_config`].
    pub async fn start() -> Self {
        Self::start_with(test_config()).await
    }

    /// Starts a server with the given configuration.
    pub async fn start_with(config: ServerConfig) -> Self {
        Self::start_in(tempfile::tempdir().expect("temp dir"), config).await
    }

    /// Starts a server over an existing data dir (a restart); a fresh dir
    /// gets a fresh database of the backend under test.
    pub async fn start_in(dir: TempDir, config: ServerConfig) -> Self {
        let repo = open_test_repo(dir.path()).await;
        let state = AppState::new(Arc::clone(&repo), config, dir.path()).expect("state");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state, async {
            let _ = rx.await;
        }));
        Self {
            base: format!("http://{addr}"),
            repo,
            http: reqwest::Client::new(),
            dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Full URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a station (with its seeded categories).
    pub async fn station(&self, slug: &str) -> Station {
        self.repo
            .create_station(slug, &format!("{slug} police station"))
            .await
            .expect("create station")
    }

    /// Stores fresh enrolment codes and returns them in clear.
    pub async fn codes(&self, station: &Station, n: usize, expires_in: Duration) -> Vec<String> {
        let start = self
            .repo
            .count_enrolment_codes(station.id)
            .await
            .expect("count");
        let codes: Vec<String> = (0..n).map(|_| new_enrolment_code()).collect();
        let new = codes
            .iter()
            .enumerate()
            .map(|(i, code)| NewEnrolmentCode {
                code_hash: hash_secret(&normalise_enrolment_code(code)),
                label: format!("carrier-{:03}", start + i as u64 + 1),
                expires_at: Utc::now() + expires_in,
            })
            .collect();
        self.repo
            .add_enrolment_codes(station.id, new)
            .await
            .expect("store codes");
        codes
    }

    /// Redeems a code over HTTP and returns the response.
    pub async fn enrol(&self, code: &str) -> reqwest::Response {
        self.http
            .post(self.url("/v1/devices/enrol"))
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .expect("enrol request")
    }

    /// Enrols a new device at `station` and returns its bearer token.
    pub async fn device(&self, station: &Station) -> String {
        let code = self.codes(station, 1, Duration::days(7)).await.remove(0);
        let response = self.enrol(&code).await;
        assert_eq!(response.status(), 201, "enrolment must succeed");
        let body: Value = response.json().await.expect("enrol body");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Adds a user and signs them in; returns the session token.
    pub async fn staff(&self, station: &Station, username: &str, role: Role) -> String {
        let password = "a long enough test password";
        self.repo
            .add_user(
                station.id,
                NewUser {
                    username: username.to_owned(),
                    role,
                    password_hash: hash_password(password).expect("hash"),
                },
            )
            .await
            .expect("add user");
        let response = self
            .http
            .post(self.url("/v1/sessions"))
            .json(&serde_json::json!({
                "station": station.slug, "username": username, "password": password
            }))
            .send()
            .await
            .expect("sign-in request");
        assert_eq!(response.status(), 201, "sign-in must succeed");
        let body: Value = response.json().await.expect("session body");
        body["token"].as_str().expect("token").to_owned()
    }

    /// PUTs a JSON report body with a bearer token.
    pub async fn put_report(&self, token: &str, id: &str, body: &Value) -> reqwest::Response {
        self.http
            .put(self.url(&format!("/v1/reports/{id}")))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("PUT request")
    }

    /// GETs a report with a bearer token.
    pub async fn get_report(&self, token: &str, id: &str) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/v1/reports/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET request")
    }

    /// The Prometheus text at `/metrics`.
    pub async fn metrics_text(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// The audit rows of one action, read through `GET /v1/audit` as `admin`.
    pub async fn audit_rows(&self, admin: &str, action: &str) -> Vec<Value> {
        let audit: Value = self
            .http
            .get(self.url("/v1/audit"))
            .bearer_auth(admin)
            .send()
            .await
            .expect("audit request")
            .json()
            .await
            .expect("audit json");
        audit["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter(|e| e["action"] == action)
            .cloned()
            .collect()
    }

    /// GETs a report with a bearer token and returns its JSON body.
    pub async fn report_json(&self, token: &str, id: &str) -> Value {
        self.get_report(token, id).await.json().await.expect("json")
    }

    /// Rows in a table, counted straight from the database.
    pub fn count_rows(&self, table: &str) -> i64 {
        count_rows_in(self.dir.path(), table)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(self) {
        drop(self.stop_keeping_dir().await);
    }

    /// Stops the server gracefully, waits for it, and hands back the data dir
    /// for inspection.
    pub async fn stop_keeping_dir(mut self) -> TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
        self.dir
    }
}

/// Asserts a problem+json response and returns its body.
pub async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("problem body");
    assert_eq!(body["status"].as_u64(), Some(u64::from(status)));
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("/problems/"))
    );
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    body
}

/// Lowercase hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Deterministic pseudo-photo bytes of a given size (distinct per seed).
pub fn photo_bytes(size: usize, seed: u8) -> Vec<u8> {
    (0..size)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(u32::from(seed)) as u8
        })
        .collect()
}

/// A valid report whose manifest lists exactly these photos.
pub fn report_with_photos(photos: &[&[u8]]) -> Value {
    let mut report = sample_report(0);
    report["photos"] = Value::Array(
        photos
            .iter()
            .map(|p| {
                serde_json::json!({
                    "sha256": sha256_hex(p),
                    "size": p.len(),
                    "content_type": "image/jpeg"
                })
            })
            .collect(),
    );
    report
}

/// A real JPEG from the workspace's test fixtures.
pub fn fixture_photo(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/photos")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// `Upload-Metadata` for a photo of a report.
pub fn upload_metadata(report_id: &str, sha256: &str) -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!("report_id {},sha256 {}", b64(report_id), b64(sha256))
}

/// A minimal tus 1.0.0 client over reqwest, speaking the protocol by hand so
/// tests can also send what a correct client never would.
pub struct Tus<'a> {
    /// The server.
    pub server: &'a TestServer,
    /// Device bearer token.
    pub token: String,
}

impl<'a> Tus<'a> {
    /// A client for `server` speaking as the device with `token`.
    pub fn new(server: &'a TestServer, token: impl Into<String>) -> Self {
        Self {
            server,
            token: token.into(),
        }
    }

    /// `POST /v1/uploads` without a body. Returns the response.
    pub async fn create(&self, report_id: &str, sha256: &str, length: usize) -> reqwest::Response {
        self.server
            .http
            .post(self.server.url("/v1/uploads"))
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", upload_metadata(report_id, sha256))
            .send()
            .await
            .expect("create")
    }

    /// `POST /v1/uploads` for a photo with the first bytes in the body
    /// (creation-with-upload), optionally with `Upload-Checksum`.
    pub async fn create_with_upload(
        &self,
        report_id: &str,
        photo: &[u8],
        sent: &[u8],
        checksum: Option<String>,
    ) -> reqwest::Response {
        let mut request = self.creation_with_upload(report_id, photo, sent);
        if let Some(c) = checksum {
            request = request.header("Upload-Checksum", c);
        }
        request.send().await.expect("create with upload")
    }

    /// The request [`Tus::create_with_upload`] sends, unsent: `sent` in the
    /// body of a creation announcing `photo`'s length and SHA-256.
    pub fn creation_with_upload(
        &self,
        report_id: &str,
        photo: &[u8],
        sent: &[u8],
    ) -> reqwest::RequestBuilder {
        self.server
            .http
            .post(self.server.url("/v1/uploads"))
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", photo.len().to_string())
            .header(
                "Upload-Metadata",
                upload_metadata(report_id, &sha256_hex(photo)),
            )
            .header("Content-Type", "application/offset+octet-stream")
            .body(sent.to_vec())
    }

    /// Creates an upload for a photo and returns its path (`/v1/uploads/…`).
    pub async fn create_for(&self, report_id: &str, photo: &[u8]) -> String {
        let response = self
            .create(report_id, &sha256_hex(photo), photo.len())
            .await;
        assert_eq!(response.status(), 201, "create");
        location(&response)
    }

    /// `PATCH` with bytes at an offset, optionally with `Upload-Checksum`.
    pub async fn patch(
        &self,
        path: &str,
        offset: usize,
        bytes: &[u8],
        checksum: Option<String>,
    ) -> reqwest::Response {
        let mut request = self
            .server
            .http
            .patch(self.server.url(path))
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(bytes.to_vec());
        if let Some(c) = checksum {
            request = request.header("Upload-Checksum", c);
        }
        request.send().await.expect("patch")
    }

    /// `PATCH` without a checksum; asserts 204 and returns the response.
    pub async fn patch_accepted(
        &self,
        path: &str,
        offset: usize,
        bytes: &[u8],
    ) -> reqwest::Response {
        let response = self.patch(path, offset, bytes, None).await;
        assert_eq!(response.status(), 204, "patch at {offset}");
        response
    }

    /// `HEAD` an upload.
    pub async fn head(&self, path: &str) -> reqwest::Response {
        self.server
            .http
            .head(self.server.url(path))
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .expect("head")
    }

    /// Uploads a whole photo in chunks of `chunk` bytes; asserts each step.
    pub async fn upload(&self, report_id: &str, photo: &[u8], chunk: usize) -> String {
        let path = self.create_for(report_id, photo).await;
        let mut offset = 0;
        for piece in photo.chunks(chunk) {
            let response = self.patch_accepted(&path, offset, piece).await;
            offset += piece.len();
            assert_eq!(header_u64(&response, "upload-offset"), offset as u64);
        }
        path
    }
}

/// The `Location` of a creation response.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("Location")
        .to_owned()
}

/// A numeric response header.
pub fn header_u64(response: &reqwest::Response, name: &str) -> u64 {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("numeric header {name}"))
}

/// The stored blob of a hash, read from the data dir.
pub fn blob_on_disk(dir: &std::path::Path, sha256: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join("blobs").join(&sha256[..2]).join(sha256)).ok()
}

/// The part file of an upload path, if it exists.
pub fn part_file(dir: &std::path::Path, upload_path: &str) -> std::path::PathBuf {
    let id = upload_path.rsplit('/').next().expect("id");
    dir.join("uploads").join(format!("{id}.part"))
}

/// Sends the requests `make_request` builds, `n` of them at once (each task
/// waits at a barrier until all are ready), and returns their status codes.
pub async fn parallel_statuses(
    n: usize,
    make_request: impl Fn() -> reqwest::RequestBuilder,
) -> Vec<u16> {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let request = make_request();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                request.send().await.expect("request").status().as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task"));
    }
    statuses
}

/// How many of `statuses` are `code`.
pub fn count(statuses: &[u16], code: u16) -> usize {
    statuses.iter().filter(|s| **s == code).count()
}
