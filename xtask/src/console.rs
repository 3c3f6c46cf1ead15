//! The review console's browser tests (`tests/console/`): what they need on
//! the machine (Debian's Chromium, CJK fonts so Korean renders, Playwright
//! for Python in the shared venv, axe-core from npm) and running them.

use std::path::Path;
use std::process::Command;

use crate::{bindings, deps, run};

/// Where Debian puts Chromium; Playwright is pointed at it (its own browser
/// download does not work here).
const CHROMIUM: &str = "/usr/bin/chromium";
/// A file of `fonts-noto-cjk`: present once the package is installed.
const CJK_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
/// The pinned Python packages of the browser tests.
const REQUIREMENTS: &str = "tests/console/requirements.txt";

/// Installs Chromium and the CJK fonts with apt when missing (the npm part is
/// in [`deps::NPM`], the Python part in [`console_tests`], which owns the venv).
pub fn ensure_installed() -> Result<(), String> {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).is_file() {
        eprintln!("xtask: installing chromium (the console's browser tests drive it)");
        missing.push("chromium");
    }
    if !Path::new(CJK_FONT).is_file() {
        eprintln!("xtask: installing fonts-noto-cjk (Korean in the console's screenshots)");
        missing.push("fonts-noto-cjk");
    }
    if missing.is_empty() {
        Ok(())
    } else {
        deps::apt_install(&missing)
    }
}

/// Installs the pinned Playwright packages into the venv unless the same
/// requirements were installed before (a stamp file remembers them).
fn ensure_python_packages(root: &Path, python: &Path) -> Result<(), String> {
    let wanted = std::fs::read_to_string(root.join(REQUIREMENTS))
        .map_err(|e| format!("{REQUIREMENTS}: {e}"))?;
    let stamp = python
        .parent()
        .and_then(Path::parent)
        .map(|venv| venv.join(".postcso-console-requirements"))
        .ok_or("the venv has no directory")?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    let req = root.join(REQUIREMENTS);
    run::step(
        "pip install (pinned playwright)",
        &python.to_string_lossy(),
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "-r",
            &req.to_string_lossy(),
        ],
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))
}

/// Runs the browser tests against a fresh debug build of the station and of
/// the core's cdylib, and returns pytest's counts.
pub fn console_tests(root: &Path) -> Result<run::Counts, String> {
    ensure_installed()?;
    deps::ensure_npm(
        root,
        &[("tests/console", "node_modules/axe-core/axe.min.js")],
    )?;
    let python = bindings::ensure_venv(root)?;
    ensure_python_packages(root, &python)?;
    bindings::build(root)?;
    run::step(
        "build station",
        "cargo",
        &[
            "build",
            "--quiet",
            "-p",
            "postcso-station",
            "--bin",
            "postcso-station",
        ],
    )?;
    let name = "console browser tests";
    let args = ["-m", "pytest", "-ra"];
    eprintln!("xtask: ── {name}: {} {}", python.display(), args.join(" "));
    let started = std::time::Instant::now();
    let mut child = Command::new(&python)
        .args(args)
        .current_dir(root.join("tests/console"))
        .env("POSTCSO_FFI_LIB", bindings::cdylib(root, "debug"))
        .env(
            "POSTCSO_STATION_BIN",
            crate::target_dir(root).join("debug/postcso-station"),
        )
        .env("POSTCSO_CHROMIUM", CHROMIUM)
        .env(
            "POSTCSO_SCREENSHOTS",
            crate::target_dir(root).join("console-screenshots"),
        )
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{name}: could not start pytest: {e}"))?;
    let mut counts = run::Counts::default();
    if let Some(out) = child.stdout.take() {
        use std::io::{BufRead, Write};
        let mut echo = std::io::stdout().lock();
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = writeln!(echo, "{line}");
            if let Some(c) = bindings::pytest_summary(&line) {
                counts = c;
            }
        }
    }
    let status = child.wait().map_err(|e| format!("{name}: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("{name} failed ({status}) after {secs:.1}s"));
    }
    if counts.passed == 0 {
        return Err(format!("{name}: pytest ran no tests"));
    }
    eprintln!("xtask: ── {name}: ok in {secs:.1}s");
    Ok(counts)
}
