//! A real `postcso-station` process for tests, started through
//! `postcso-harness`: created, served on a loopback port it keeps across
//! restarts, killed with SIGKILL when a test wants it dead.
//!
//! On the PostgreSQL run (`POSTCSO_TEST_DATABASE_URL` set, as the second run
//! of `cargo xtask test` does) each station gets a fresh database there;
//! otherwise it uses its data dir's SQLite file. The query helpers work on
//! either.

use std::net::TcpListener;
use std::path::Path;

use postcso_harness::blocking::{run, station_binary};
use postcso_harness::{EnrolmentCode, ServeOptions, Server, StationDir, sign_in};

/// The slug of every test station.
const SLUG: &str = "seodaemun";

/// Password of the staff users [`Station::supervisor_session`] adds.
const PASSWORD: &str = "a long enough test password";

/// A station on disk and, while running, its server process (killed when
/// the station is dropped).
pub struct Station {
    // Declared first, so dropped (killed) before the data dir is removed.
    server: Option<Server>,
    dir: StationDir,
    port: u16,
    /// The station's slug.
    pub slug: String,
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
        let dir = run("a test station's data dir", async {
            StationDir::temporary(station_binary())?
                .with_test_database()
                .await
        });
        run(
            "creating the test station",
            dir.create_station(SLUG, "Seodaemun Police Station"),
        );
        let mut station = Self {
            dir,
            port: free_port(),
            server: None,
            slug: SLUG.to_owned(),
        };
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
        run("postcso-station admin command", self.dir.admin(args))
    }

    /// Makes `count` one-time enrolment codes.
    pub fn enrolment_codes(&self, count: usize) -> Vec<EnrolmentCode> {
        run(
            "making enrolment codes",
            self.dir.enrolment_codes(&self.slug, count),
        )
    }

    /// Adds a supervisor and signs them in; returns their session token.
    pub fn supervisor_session(&self, username: &str) -> String {
        self.staff_session(username, "supervisor")
    }

    /// Adds a staff user with `role` (`supervisor`, `admin`, ...) and signs them
    /// in; returns their session token.
    pub fn staff_session(&self, username: &str, role: &str) -> String {
        run("signing a staff user in", async {
            self.dir
                .add_user(&self.slug, username, role, PASSWORD)
                .await?;
            sign_in(
                &reqwest::Client::new(),
                &self.url(),
                &self.slug,
                username,
                PASSWORD,
            )
            .await
        })
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
        assert!(self.server.is_none(), "already serving");
        let options = ServeOptions {
            port: self.port,
            ..ServeOptions::default()
        };
        self.server = Some(run("starting the station", self.dir.serve(&options)));
    }

    /// Kills the server with SIGKILL, as a crash or the OOM killer would.
    pub fn kill(&mut self) {
        if let Some(mut server) = self.server.take() {
            run("killing the station", server.kill());
        }
    }

    /// Kills the server with SIGKILL and starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.serve();
    }

    /// Whether this station runs on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.dir.database_url().is_some()
    }

    /// The first column of every row of `sql`, as text, on either backend.
    /// Write SQL both understand: `$1`-style parameters (text), and
    /// `CAST(x AS TEXT)` / `CAST(x AS INTEGER)` for ids and flags.
    pub fn query_strings(&self, sql: &str, params: &[&str]) -> Vec<String> {
        let params: Vec<String> = params.iter().map(|p| (*p).to_owned()).collect();
        if let Some(url) = self.dir.database_url() {
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
            self.data_dir().join("station.db"),
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
        std::fs::read(self.data_dir().join("blobs").join(prefix).join(sha256)).ok()
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

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
