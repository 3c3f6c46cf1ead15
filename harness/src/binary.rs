//! Where the `postcso-station` binary is. Cargo hands a crate's binaries to
//! that crate's own tests only (`CARGO_BIN_EXE_postcso-station`); every other
//! caller finds it in the cargo profile directory it was built into itself.

use std::path::PathBuf;
use std::process::Command;

use crate::{HarnessError, io};

/// The file name cargo gives the station binary.
const BINARY_NAME: &str = "postcso-station";

/// `postcso-station` in the cargo profile directory of the running
/// executable: beside a binary (`target/release/loadgen`), or one level up
/// from a test or bench (`target/debug/deps/…`). It may not exist yet; tests
/// call [`build_station_binary`] instead.
pub fn binary_beside_current_exe() -> Result<PathBuf, HarnessError> {
    Ok(profile_dir()?.join(BINARY_NAME))
}

/// Builds `postcso-station` with cargo for the profile the running executable
/// was built with, and returns its path. A test outside the station crate
/// needs this: `cargo test -p <its crate>` does not build the station.
pub fn build_station_binary() -> Result<PathBuf, HarnessError> {
    let dir = profile_dir()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "--quiet", "-p", BINARY_NAME, "--bin", BINARY_NAME]);
    match dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(profile) => {
            command.args(["--profile", profile]);
        }
    }
    // The running test's own cargo variables would reach the build scripts
    // (ring's reads CARGO_MANIFEST_DIR) and rebuild them at every switch
    // between this build and a plain `cargo build`.
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(is_crate_variable) {
            command.env_remove(key);
        }
    }
    tracing::info!(?command, "building the station binary");
    let status = command.status().map_err(io("running cargo build"))?;
    if !status.success() {
        return Err(HarnessError::Command {
            command: format!("cargo build -p {BINARY_NAME}"),
            status,
            stderr: "(shown above)".to_owned(),
        });
    }
    let binary = dir.join(BINARY_NAME);
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(HarnessError::NoBinary(binary))
    }
}

/// `target/<profile>` of the running executable.
fn profile_dir() -> Result<PathBuf, HarnessError> {
    let exe = std::env::current_exe().map_err(io("finding the running executable"))?;
    let dir = exe
        .parent()
        .ok_or_else(|| HarnessError::NoBinary(exe.clone()))?;
    let dir = match dir.file_name() {
        Some(name) if name == "deps" => dir.parent().unwrap_or(dir),
        _ => dir,
    };
    Ok(dir.to_owned())
}

/// Whether cargo sets `key` for the crate it builds or runs (not for itself).
fn is_crate_variable(key: &str) -> bool {
    key == "OUT_DIR"
        || key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_BIN_EXE_")
        || matches!(
            key,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
        )
}
