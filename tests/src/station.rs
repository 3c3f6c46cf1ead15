//! A real `postcso-station` process for tests: created, served on a loopback
//! port it keeps across restarts, killed with SIGKILL when a test wants it dead.
//!
//! With `POSTCSO_TEST_DATABASE_URL` set to a PostgreSQL server URL (as the
//! second run of `cargo xtask test` does), each station gets a fresh database
//! `t_<uuid>` there and runs with `--database-url`; otherwise it uses its data
//! dir's SQLite file. The query helpers work on either.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The station binary, built on first use if `cargo test` did not build it.
pub fn station_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test executable path");
            // target/<profile>/deps/<test> → target/<profile>/postcso-station
            let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
            let binary = profile_dir.join("postcso-station");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "postcso-station",
                    "--bin",
                    "postcso-station",
                ])
                .status()
                .expect("run cargo build for the station");
            assert!(status.success(), "building postcso-station failed");
            assert!(binary.exists(), "no station binary at {}", binary.display());
            binary
        })
        .clone()
}

/// A station on disk and, while running, its server process.
pub struct Station {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    /// The station's PostgreSQL database, when testing that backend.
    database_url: Option<String>,
    /// The station's slug.
    pub slug: String,
}

/// Creates a fresh database on the PostgreSQL test server named by
/// `POSTCSO_TEST_DATABASE_URL`, if set, and returns its URL.
fn fresh_test_database() -> Option<String> {
    let server = std::env::var("POSTCSO_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())?;
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let create = format!("CREATE DATABASE {name}");
    on_postgres(&server, move |client| client.batch_execute(&create))
        .unwrap_or_else(|e| panic!("cannot create a test database on {server}: {e}"));
    let (base, query) = server.split_once('?').unwrap_or((server.as_str(), ""));
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|i| start + i))
        .unwrap_or(base.len());
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    Some(format!("{}/{name}{query}", &base[..authority_end]))
}

/// Runs `f` with a synchronous PostgreSQL client on a thread of its own (the
/// client runs its own small runtime, which must not nest in a caller's).
fn on_postgres<T: Send + 'static>(
    url: &str,
    f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send + 'static,
) -> Result<T, postgres::Error> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
        f(&mut client)
    })
    .join()
    .expect("database thread")
}

impl Station {
    /// Creates a station in a fresh data dir and starts serving it.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut station = Self {
            dir,
            port,
            child: None,
            database_url: fresh_test_database(),
            slug: "seodaemun".to_owned(),
        };
        station.admin(&[
            "station",
            "create",
            "--slug",
            "seodaemun",
            "--name",
            "Seodaemun Police Station",
        ]);
        station.serve();
        station
    }

    /// The data dir.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `http://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The loopback port the station listens on (kept across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs an admin command on the data dir and returns its standard output.
    pub fn admin(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(station_binary());
        cmd.args(args).arg("--data-dir").arg(self.dir.path());
        if let Some(url) = &self.database_url {
            cmd.arg("--database-url").arg(url);
        }
        let out = cmd.output().expect("run postcso-station");
        assert!(
            out.status.success(),
            "postcso-station {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Makes `count` one-time enrolment codes and returns them with their labels.
    pub fn enrolment_codes(&self, count: usize) -> Vec<(String, String)> {
        let batch = std::fs::read_dir(self.dir.path())
            .map(|d| d.count())
            .unwrap_or(0);
        let csv = self.dir.path().join(format!("codes-{batch}.csv"));
        let csv_arg = csv.to_string_lossy().into_owned();
        let count_arg = count.to_string();
        self.admin(&[
            "enrol",
            "--station",
            &self.slug,
            "--count",
            &count_arg,
            "--out",
            &csv_arg,
        ]);
        std::fs::read_to_string(&csv)
            .expect("codes csv")
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.split(',');
                Some((fields.next()?.to_owned(), fields.next()?.to_owned()))
            })
            .collect()
    }

    /// Adds a supervisor and signs them in; returns their session token.
    pub fn supervisor_session(&self, username: &str) -> String {
        self.staff_session(username, "supervisor")
    }

    /// Adds a staff user with `role` (`supervisor`, `admin`, ...) and signs them
    /// in; returns their session token.
    pub fn staff_session(&self, username: &str, role: &str) -> String {
        let out = self.admin(&[
            "user",
            "add",
            "--station",
            &self.slug,
            "--username",
            username,
            "--role",
            role,
        ]);
        let password = out
            .lines()
            .find_map(|l| l.strip_prefix("password (shown once): "))
            .expect("generated password")
            .trim()
            .to_owned();
        let response: serde_json::Value = reqwest::blocking::Client::new()
            .post(format!("{}v1/sessions", self.url()))
            .json(&serde_json::json!({ "station": self.slug, "username": username, "password": password }))
            .send()
            .expect("sign in")
            .json()
            .expect("session json");
        response["token"]
            .as_str()
            .expect("session token")
            .to_owned()
    }

    /// A supervisor's triage decision on a report (`PATCH /v1/reports/{id}`).
    pub fn triage(&self, session: &str, id: &str, status: &str, reason: Option<&str>) {
        let response = reqwest::blocking::Client::new()
            .patch(format!("{}v1/reports/{id}", self.url()))
            .bearer_auth(session)
            .json(&serde_json::json!({ "status": status, "reason": reason }))
            .send()
            .expect("triage request");
        assert!(
            response.status().is_success(),
            "triage answered {}",
            response.status()
        );
    }

    /// Retires a category as an admin does (`POST /v1/categories/{code}/retire`):
    /// the station refuses new reports in it from then on.
    pub fn retire_category(&self, admin_session: &str, code: &str) {
        let response = reqwest::blocking::Client::new()
            .post(format!("{}v1/categories/{code}/retire", self.url()))
            .bearer_auth(admin_session)
            .send()
            .expect("retire request");
        assert!(
            response.status().is_success(),
            "retiring {code} answered {}",
            response.status()
        );
    }

    /// Revokes the device enrolled with `label`.
    pub fn revoke(&self, label: &str) {
        self.admin(&[
            "device",
            "revoke",
            "--station",
            &self.slug,
            "--device",
            label,
        ]);
    }

    /// Starts the server process and waits until it listens.
    pub fn serve(&mut self) {
        assert!(self.child.is_none(), "already serving");
        let mut child = Command::new(station_binary())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{}", self.port),
                "--data-dir",
            ])
            .arg(self.dir.path())
            .args(
                self.database_url
                    .iter()
                    .flat_map(|u| ["--database-url", u.as_str()]),
            )
            .args(["--enrol-rate-per-minute", "100000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn station");
        let stdout = child.stdout.take().expect("station stdout");
        let mut lines = BufReader::new(stdout).lines();
        let started = Instant::now();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("listening on") => break,
                Some(Ok(_)) => {}
                _ => panic!("the station exited before listening"),
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "station did not start"
            );
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
    }

    /// Kills the server with SIGKILL, as a crash or the OOM killer would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server with SIGKILL and starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.serve();
    }

    /// Whether this station runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.is_some()
    }

    /// The first column of every row of `sql`, as text, on either backend.
    /// Write SQL both understand: `$1`-style parameters (text), and
    /// `CAST(x AS TEXT)` / `CAST(x AS INTEGER)` for ids and flags.
    pub fn query_strings(&self, sql: &str, params: &[&str]) -> Vec<String> {
        let params: Vec<String> = params.iter().map(|p| (*p).to_owned()).collect();
        if let Some(url) = &self.database_url {
            let owned = sql.to_owned();
            return on_postgres(url, move |client| {
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                let rows = client.query(&owned, &refs)?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        r.try_get::<_, String>(0)
                            .or_else(|_| r.try_get::<_, i64>(0).map(|n| n.to_string()))
                            .or_else(|_| r.try_get::<_, i32>(0).map(|n| n.to_string()))
                            .unwrap_or_default()
                    })
                    .collect())
            })
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let db = self.db();
        let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
            Ok(match r.get_ref(0)? {
                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                _ => String::new(),
            })
        })
        .and_then(Iterator::collect)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// A single number `sql` returns, on either backend (see [`Self::query_strings`]).
    pub fn query_i64(&self, sql: &str, params: &[&str]) -> i64 {
        self.query_strings(sql, params)
            .first()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{sql}: no number"))
    }

    /// Report ids in the order the station stored them (the order of their
    /// `created` feed entries; for one phone delivering in turn, commit order).
    pub fn arrival_order(&self) -> Vec<String> {
        // PostgreSQL numbers feed entries lazily (at the next feed read), so
        // order by its insertion id there; SQLite numbers them on insert.
        let order = if self.is_postgres() { "id" } else { "seq" };
        self.query_strings(
            &format!(
                "SELECT CAST(report_id AS TEXT) FROM changes
                 WHERE kind = 'report' AND event = 'created' ORDER BY {order}"
            ),
            &[],
        )
    }

    /// A read-only connection to the station's SQLite database (SQLite
    /// stations only; prefer [`Self::query_i64`], which works on both).
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            self.dir.path().join("station.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open station.db")
    }

    /// How many reports the station stored under `id` (must be 0 or 1).
    pub fn copies_of(&self, id: &str) -> i64 {
        self.query_i64(
            "SELECT count(*) FROM reports WHERE CAST(id AS TEXT) = $1",
            &[id],
        )
    }

    /// The bytes of a photo the station stored, by its SHA-256, if it has it.
    pub fn blob(&self, sha256: &str) -> Option<Vec<u8>> {
        let prefix = sha256.get(..2)?;
        std::fs::read(self.dir.path().join("blobs").join(prefix).join(sha256)).ok()
    }

    /// Whether the station marked the report complete (every photo arrived).
    pub fn is_complete(&self, id: &str) -> bool {
        self.query_strings(
            "SELECT CAST(CAST(complete AS INTEGER) AS TEXT) FROM reports
             WHERE CAST(id AS TEXT) = $1",
            &[id],
        )
        .first()
        .is_some_and(|c| c == "1")
    }

    /// How many reports the station stored in all.
    pub fn report_count(&self) -> i64 {
        self.query_i64("SELECT count(*) FROM reports", &[])
    }
}

impl Drop for Station {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
