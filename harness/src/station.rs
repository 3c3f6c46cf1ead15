//! A station on disk: its data dir and database, and the binary that
//! administers and serves it.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::{HarnessError, io, test_database_url};

/// The most codes one `enrol` command makes.
const CODES_PER_SHEET: usize = 1000;

/// A data dir (and database) administered and served with one
/// `postcso-station` binary. Every command it runs gets a clean environment
/// pointing at this dir and database only, so a developer's `POSTCSO_*`
/// settings never leak into a test.
#[derive(Debug)]
pub struct StationDir {
    binary: PathBuf,
    path: PathBuf,
    database_url: Option<String>,
    _temp: Option<tempfile::TempDir>,
}

/// A one-time enrolment code as printed on an enrolment sheet.
#[derive(Debug, Clone)]
pub struct EnrolmentCode {
    /// The device label it enrols, e.g. `carrier-001`.
    pub label: String,
    /// The code a phone redeems.
    pub code: String,
}

impl StationDir {
    /// `data_dir` (made if missing) with `binary`, on the dir's SQLite file
    /// until [`Self::with_database_url`] or [`Self::with_test_database`].
    pub fn new(
        binary: impl Into<PathBuf>,
        data_dir: impl AsRef<Path>,
    ) -> Result<Self, HarnessError> {
        let binary = binary.into();
        if !binary.is_file() {
            return Err(HarnessError::NoBinary(binary));
        }
        let path = std::path::absolute(data_dir.as_ref())
            .map_err(io(format!("{}", data_dir.as_ref().display())))?;
        std::fs::create_dir_all(&path).map_err(io(format!("creating {}", path.display())))?;
        Ok(Self {
            binary,
            path,
            database_url: None,
            _temp: None,
        })
    }

    /// A fresh temporary data dir, removed when this is dropped.
    pub fn temporary(binary: impl Into<PathBuf>) -> Result<Self, HarnessError> {
        let temp = tempfile::Builder::new()
            .prefix("postcso-station-")
            .tempdir()
            .map_err(io("making a temporary data dir"))?;
        let mut dir = Self::new(binary, temp.path())?;
        dir._temp = Some(temp);
        Ok(dir)
    }

    /// Keeps the station's records in the PostgreSQL database at `url`
    /// (`None`: the data dir's SQLite file).
    pub fn with_database_url(mut self, url: Option<String>) -> Self {
        self.database_url = url;
        self
    }

    /// Uses the database of the test run: see [`test_database_url`].
    pub async fn with_test_database(mut self) -> Result<Self, HarnessError> {
        self.database_url = test_database_url(&self.path).await?;
        Ok(self)
    }

    /// The data dir (photos, unfinished uploads and, on SQLite, the database).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The PostgreSQL database, when the station is not on SQLite.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// The binary with `args`, pointed at this dir and database through the
    /// environment (which every subcommand reads) and at nothing else.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .env("POSTCSO_DATA_DIR", &self.path)
            .env_remove("POSTCSO_DATABASE_URL")
            .env_remove("POSTCSO_BLOB_STORE")
            .kill_on_drop(true);
        if let Some(url) = &self.database_url {
            command.env("POSTCSO_DATABASE_URL", url);
        }
        command
    }

    /// Runs an admin command (`station create …`, `zone list …`) on this dir
    /// and returns its standard output; an unsuccessful exit is an error.
    pub async fn admin(&self, args: &[&str]) -> Result<String, HarnessError> {
        self.run(args, "").await
    }

    /// [`Self::admin`] with `input` on its standard input.
    async fn run(&self, args: &[&str], input: &str) -> Result<String, HarnessError> {
        let shown = args.join(" ");
        tracing::debug!(command = %shown, data_dir = %self.path.display(), "station admin");
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io(format!("starting {}", self.binary.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A command that exits without reading is judged by its status below.
            let _ = stdin.write_all(input.as_bytes()).await;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(io(format!("running `postcso-station {shown}`")))?;
        if !out.status.success() {
            return Err(HarnessError::Command {
                command: format!("postcso-station {shown}"),
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Creates station `slug` (with its built-in report categories).
    pub async fn create_station(&self, slug: &str, name: &str) -> Result<(), HarnessError> {
        self.admin(&["station", "create", "--slug", slug, "--name", name])
            .await
            .map(drop)
    }

    /// Adds a staff user of `role` (`supervisor`, `admin`) with `password`.
    pub async fn add_user(
        &self,
        slug: &str,
        username: &str,
        role: &str,
        password: &str,
    ) -> Result<(), HarnessError> {
        let args = [
            "user",
            "add",
            "--station",
            slug,
            "--username",
            username,
            "--role",
            role,
            "--password-stdin",
        ];
        self.run(&args, password).await.map(drop)
    }

    /// Makes `count` one-time enrolment codes at station `slug` with the
    /// `enrol` command, as an administrator prints them; the sheets (CSV and
    /// QR codes) go to a temporary dir, not the data dir.
    pub async fn enrolment_codes(
        &self,
        slug: &str,
        count: usize,
    ) -> Result<Vec<EnrolmentCode>, HarnessError> {
        let sheets = tempfile::tempdir().map_err(io("making a dir for enrolment sheets"))?;
        let mut codes = Vec::with_capacity(count);
        for sheet in 0..count.div_ceil(CODES_PER_SHEET) {
            let n = (count - codes.len()).min(CODES_PER_SHEET).to_string();
            let csv = sheets.path().join(format!("codes-{sheet}.csv"));
            let out = csv.to_string_lossy();
            self.admin(&["enrol", "--station", slug, "--count", &n, "--out", &out])
                .await?;
            let text =
                std::fs::read_to_string(&csv).map_err(io(format!("reading {}", csv.display())))?;
            // label,code,expires_at,qr_png
            codes.extend(text.lines().skip(1).filter_map(|line| {
                let mut fields = line.split(',');
                Some(EnrolmentCode {
                    label: fields.next()?.to_owned(),
                    code: fields.next()?.to_owned(),
                })
            }));
        }
        Ok(codes)
    }
}
