//! A private PostgreSQL cluster for the test run, so the station's suite can
//! run a second time on its PostgreSQL backend.
//!
//! Debian's `postgresql` package is installed when missing. The cluster lives
//! in its own directory (`$POSTCSO_PG_DIR`, else `~/.cache/postcso/pg/<version>`,
//! or under the temp dir when running as root, where the `postgres` user
//! cannot reach root's home), listens on 127.0.0.1:[`PORT`] only with its Unix
//! socket in that directory, and trusts loopback connections: it holds test
//! data only. PostgreSQL refuses to run as root, so as root every server
//! command runs as the `postgres` user.
//!
//! The cluster is disposable: a run that finds none running creates it afresh
//! (`initdb` takes seconds), and stops and deletes it at the end, immediately,
//! since dropping the many per-test databases one by one would cost a
//! checkpoint each. A cluster already running there (e.g. left by a developer
//! for repeated runs) is reused as it is and left running.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The cluster's loopback port, away from the default 5432 so a system
/// PostgreSQL is never touched.
pub const PORT: u16 = 55432;

/// Debian's server package.
const PACKAGE: &str = "postgresql";

/// The running test cluster; stops it on drop when this run started it.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    started_here: bool,
}

impl Cluster {
    /// Installs PostgreSQL if needed (unless `no_install`), creates the
    /// cluster on first use and starts it, or reuses it when running.
    pub fn start(no_install: bool) -> Result<Self, String> {
        let bin = match find_bin_dir() {
            Some(bin) => bin,
            None if no_install => {
                return Err("PostgreSQL is not installed; run without --no-install".into());
            }
            None => {
                ensure_installed()?;
                find_bin_dir().ok_or("postgresql was installed but initdb is not found")?
            }
        };
        let version = server_version(&bin)?;
        let dir = cluster_dir(&version);
        let data = dir.join("data");
        prepare_dir(&dir)?;
        let running = Command::new(bin.join("pg_isready"))
            .args(["-h", "127.0.0.1", "-p", &PORT.to_string(), "-q"])
            .status()
            .is_ok_and(|s| s.success());
        if !running && data.exists() {
            std::fs::remove_dir_all(&data)
                .map_err(|e| format!("removing the old test cluster {}: {e}", data.display()))?;
        }
        if !data.join("PG_VERSION").is_file() {
            eprintln!(
                "xtask: creating a PostgreSQL {version} test cluster in {}",
                data.display()
            );
            run_server_cmd(
                &bin.join("initdb"),
                &[
                    "-D",
                    path_str(&data)?,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            )?;
        }
        let mut cluster = Self {
            bin,
            data,
            started_here: false,
        };
        if running {
            eprintln!("xtask: reusing the PostgreSQL test cluster on 127.0.0.1:{PORT}");
        } else {
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {PORT} -k {} -c max_connections=400 \
                 -c shared_buffers=128MB",
                path_str(&dir)?
            );
            let log = dir.join("server.log");
            run_server_cmd(
                &cluster.bin.join("pg_ctl"),
                &[
                    "-D",
                    path_str(&cluster.data)?,
                    "-l",
                    path_str(&log)?,
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    &options,
                    "start",
                ],
            )
            .map_err(|e| format!("{e}; see {}", log.display()))?;
            cluster.started_here = true;
            eprintln!("xtask: started the PostgreSQL test cluster on 127.0.0.1:{PORT}");
        }
        Ok(cluster)
    }

    /// The server URL the station tests take in `POSTCSO_TEST_DATABASE_URL`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{PORT}/postgres")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.started_here {
            return;
        }
        // Immediate: no shutdown checkpoint, since the data is thrown away.
        let stopped = path_str(&self.data).and_then(|data| {
            run_server_cmd(
                &self.bin.join("pg_ctl"),
                &["-D", data, "-m", "immediate", "-w", "-t", "120", "stop"],
            )
        });
        match stopped {
            Ok(()) => {
                let _ = std::fs::remove_dir_all(&self.data);
                eprintln!("xtask: stopped and removed the PostgreSQL test cluster");
            }
            Err(e) => eprintln!("xtask: could not stop the PostgreSQL test cluster: {e}"),
        }
    }
}

/// Installs Debian's `postgresql` when its server programs are missing.
pub fn ensure_installed() -> Result<(), String> {
    if find_bin_dir().is_some() {
        return Ok(());
    }
    eprintln!("xtask: installing {PACKAGE} (the station's PostgreSQL backend tests)");
    crate::deps::apt_install(&[PACKAGE])
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding the server
/// programs, else the directory of an `initdb` on PATH.
fn find_bin_dir() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "pg_isready", "psql", "postgres"]
            .iter()
            .all(|p| dir.join(p).is_file())
    };
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| complete(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).find(|dir| complete(dir))
}

/// The major version of the server programs, e.g. `15`.
fn server_version(bin: &Path) -> Result<String, String> {
    let out = Command::new(bin.join("pg_ctl"))
        .arg("--version")
        .output()
        .map_err(|e| format!("could not run pg_ctl: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .find_map(|word| {
            let major = word.split('.').next()?;
            major.parse::<u32>().ok().map(|m| m.to_string())
        })
        .ok_or_else(|| format!("cannot read the PostgreSQL version from `{}`", text.trim()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Where the cluster lives.
fn cluster_dir(version: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("POSTCSO_PG_DIR") {
        return PathBuf::from(dir).join(version);
    }
    if is_root() {
        return std::env::temp_dir().join("postcso-pg").join(version);
    }
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache/postcso/pg").join(version)
}

/// Creates the cluster directory; as root, hands it to the `postgres` user.
fn prepare_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .map_err(|e| format!("could not run chown: {e}"))?;
        if !status.success() {
            return Err(format!(
                "chown postgres {} failed ({status})",
                dir.display()
            ));
        }
    }
    Ok(())
}

/// Runs a server program, as the `postgres` user when running as root.
fn run_server_cmd(program: &Path, args: &[&str]) -> Result<(), String> {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    // The cluster directory is the working directory's concern no more: run
    // from / so a root-only current directory does not bother the server.
    let status = cmd
        .args(args)
        .current_dir("/")
        .status()
        .map_err(|e| format!("could not run {}: {e}", program.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {} failed ({status})",
            program.display(),
            args.join(" ")
        ))
    }
}

fn path_str(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", path.display()))
}
