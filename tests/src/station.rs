//! A real `postcso-station` process for tests: created, served on a loopback
//! port it keeps across restarts, killed with SIGKILL when a test wants it dead.

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
    /// The station's slug.
    pub slug: String,
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
        let out = self.admin(&[
            "user",
            "add",
            "--station",
            &self.slug,
            "--username",
            username,
            "--role",
            "supervisor",
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

    /// A read-only connection to the station's database, to check what arrived.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            self.dir.path().join("station.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open station.db")
    }

    /// How many reports the station stored under `id` (must be 0 or 1).
    pub fn copies_of(&self, id: &str) -> i64 {
        self.db()
            .query_row("SELECT count(*) FROM reports WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .expect("count reports")
    }

    /// The bytes of a photo the station stored, by its SHA-256, if it has it.
    pub fn blob(&self, sha256: &str) -> Option<Vec<u8>> {
        let prefix = sha256.get(..2)?;
        std::fs::read(self.dir.path().join("blobs").join(prefix).join(sha256)).ok()
    }

    /// Whether the station marked the report complete (every photo arrived).
    pub fn is_complete(&self, id: &str) -> bool {
        self.db()
            .query_row("SELECT complete FROM reports WHERE id = ?1", [id], |r| {
                r.get::<_, i64>(0)
            })
            .map(|c| c == 1)
            .unwrap_or(false)
    }

    /// How many reports the station stored in all.
    pub fn report_count(&self) -> i64 {
        self.db()
            .query_row("SELECT count(*) FROM reports", [], |r| r.get(0))
            .expect("count reports")
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
