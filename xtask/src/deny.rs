//! The dependency policy (`deny.toml`): licences, banned crates and sources,
//! checked by `cargo deny` without network access.

use std::process::Command;

use crate::run;

/// The cargo-deny release installed when it is missing.
const CARGO_DENY_VERSION: &str = "0.20.2";

/// Installs cargo-deny from crates.io when `cargo deny` is not there.
fn ensure_cargo_deny() -> Result<(), String> {
    let present = Command::new("cargo")
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if present {
        return Ok(());
    }
    eprintln!("xtask: installing cargo-deny {CARGO_DENY_VERSION}");
    run::step(
        "cargo install cargo-deny",
        "cargo",
        &[
            "install",
            "--locked",
            "--version",
            CARGO_DENY_VERSION,
            "cargo-deny",
        ],
    )
}

/// Checks every crate of the workspace against `deny.toml`, offline.
/// Advisories are left out: their database cannot be fetched here.
pub fn check() -> Result<(), String> {
    ensure_cargo_deny()?;
    run::step(
        "cargo deny (licenses, bans, sources)",
        "cargo",
        &[
            "deny",
            "--offline",
            "--locked",
            "check",
            "--hide-inclusion-graph",
            "licenses",
            "bans",
            "sources",
        ],
    )
}
