//! Shared test harness: a real server on a real loopback socket, over a fresh
//! data dir, plus helpers that set up stations, users and devices through the
//! same repository the server uses (nothing is mocked).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{Duration, FixedOffset, Utc};
use postcso_core::model::{
    CategoryCode, GeoPoint, LocationSource, Note, PhotoManifestEntry, ReportContent, ReportId,
};
use postcso_station::auth::{
    Role, hash_password, hash_secret, new_enrolment_code, normalise_enrolment_code,
};
use postcso_station::config::{RateLimit, ServerConfig};
use postcso_station::http::AppState;
use postcso_station::repo::sqlite::SqliteRepository;
use postcso_station::repo::{NewEnrolmentCode, NewUser, Repository, Station};
use postcso_station::server::{DB_FILE, serve};
use serde_json::Value;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running in-process server over its own data dir.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The repository the server uses, for setup and for checking what is stored.
    pub repo: SqliteRepository,
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
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = SqliteRepository::open(&dir.path().join(DB_FILE))
            .await
            .expect("open database");
        let state = AppState::new(Arc::new(repo.clone()), config);
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

    /// Rows in a table, counted straight from the database file.
    pub fn count_rows(&self, table: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.dir.path().join(DB_FILE)).expect("open db");
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
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

/// A valid report as a phone would send it, as JSON.
pub fn sample_report(photos: usize) -> Value {
    let now = Utc::now();
    let content = ReportContent {
        id: ReportId::new(),
        category: CategoryCode::parse("safety_facility").expect("code"),
        note: Note::parse("가로등이 고장났어요").expect("note"),
        location: GeoPoint::new(37.5791, 126.9368, Some(6.0), None, now, LocationSource::Gps)
            .expect("point"),
        created_at: now.with_timezone(&FixedOffset::east_opt(9 * 3600).expect("offset")),
        photos: (0..photos)
            .map(|i| PhotoManifestEntry {
                sha256: format!("{:064x}", i + 1),
                size: 150_000,
                content_type: "image/jpeg".into(),
            })
            .collect(),
    };
    serde_json::to_value(content).expect("to json")
}

/// The id of a sample report.
pub fn id_of(report: &Value) -> String {
    report["id"].as_str().expect("id").to_owned()
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
