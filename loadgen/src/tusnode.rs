//! `@tus/server` 2.x with its FileStore, run by Node from
//! `tests/interop/tus-server.mjs`: the reference the station's tus
//! throughput is compared with.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::error::LoadError;

/// The runner script in this checkout (its npm packages come from `npm ci`
/// in `tests/interop`, which `cargo xtask deps` runs).
pub fn default_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/tus-server.mjs")
}

/// A running `@tus/server`, stopped on drop.
pub struct TusNode {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl TusNode {
    /// Starts `node <script> <fresh dir>` on a free loopback port.
    pub async fn start(node: &str, script: &std::path::Path) -> Result<Self, LoadError> {
        if !script.is_file() {
            return Err(LoadError::process(
                "tus-node",
                format!("no runner script at {}", script.display()),
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("postcso-tus-node-")
            .tempdir()
            .map_err(|e| LoadError::io(std::env::temp_dir(), e))?;
        let mut child = Command::new(node)
            .arg(script)
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| LoadError::io(node, e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| LoadError::process("tus-node", "no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.trim().strip_prefix("listening on ") {
                    return Some(url.to_owned());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| {
            LoadError::process(
                "tus-node",
                "exited or timed out before listening (run `npm ci` in tests/interop, or `cargo xtask deps`)",
            )
        })?;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            url,
            _dir: dir,
        })
    }

    /// The creation URL.
    pub fn endpoint(&self) -> String {
        format!("{}/files", self.url.trim_end_matches('/'))
    }

    /// The Node process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}
