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
    tracing::info!(?command, "building the station binary");
    let status = command.status().map_err(io("running cargo build"))?;
    if !status.success() {
        return Err(HarnessError::Build(format!(
            "cargo build exited with {status}"
        )));
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
