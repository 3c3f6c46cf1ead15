//! `cargo xtask bindings`: generates the Kotlin, Swift and Python sources of
//! `postcso-ffi` from its built cdylib, and `--check` fails when the checked-in
//! sources are stale. Also the Python test step of `cargo xtask test`.
//!
//! Generation uses the `uniffi-bindgen` binary of `bindings/` (UniFFI's bindgen
//! as a library, so its version always matches the crate's). Formatting is off
//! so the output does not depend on whether ktlint or swiftformat is installed:
//! the same sources on every machine is what makes the staleness check exact.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run;

/// One language and where its generated files are checked in.
struct Target {
    language: &'static str,
    /// Directory (relative to the workspace root) the generator writes into.
    out_dir: &'static str,
    /// The files the generator writes there, relative to `out_dir`.
    files: &'static [&'static str],
}

const TARGETS: &[Target] = &[
    Target {
        language: "kotlin",
        out_dir: "android/postcso/src/main/kotlin",
        files: &["org/postcso/ffi/postcso.kt"],
    },
    Target {
        language: "swift",
        out_dir: "ios/Sources/PostcsoFFI",
        files: &["PostcsoFFI.swift", "postcsoFFI.h", "postcsoFFI.modulemap"],
    },
    Target {
        language: "python",
        out_dir: "python/src/postcso_ffi",
        files: &["postcso.py"],
    },
];

/// The host cdylib of the given cargo profile directory (`debug`, `release`).
pub fn cdylib(root: &Path, profile_dir: &str) -> PathBuf {
    let name = if cfg!(target_os = "macos") {
        "libpostcso_ffi.dylib"
    } else {
        "libpostcso_ffi.so"
    };
    crate::target_dir(root).join(profile_dir).join(name)
}

/// Builds the debug cdylib and the generator binary.
pub(crate) fn build(root: &Path) -> Result<(), String> {
    run::step(
        "build cdylib + uniffi-bindgen",
        "cargo",
        &[
            "build",
            "--quiet",
            "-p",
            "postcso-ffi",
            "--features",
            "bindgen",
            "--lib",
            "--bin",
            "uniffi-bindgen",
        ],
    )?;
    let lib = cdylib(root, "debug");
    if lib.exists() {
        Ok(())
    } else {
        Err(format!("the build produced no cdylib at {}", lib.display()))
    }
}

/// Runs the generator for every language into `dest_root` (the workspace root,
/// or a scratch directory for `--check`). The generator reads
/// `bindings/uniffi.toml` (package and module names) through cargo metadata.
fn generate_into(root: &Path, dest_root: &Path) -> Result<(), String> {
    let bindgen = crate::target_dir(root).join("debug/uniffi-bindgen");
    let lib = cdylib(root, "debug");
    for t in TARGETS {
        let out = dest_root.join(t.out_dir);
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let status = Command::new(&bindgen)
            .current_dir(root)
            .arg("generate")
            .args([
                "--language",
                t.language,
                "--no-format",
                "--crate",
                "postcso_ffi",
            ])
            .arg("--out-dir")
            .arg(&out)
            .arg(&lib)
            .status()
            .map_err(|e| format!("could not run {}: {e}", bindgen.display()))?;
        if !status.success() {
            return Err(format!(
                "generating {} bindings failed ({status})",
                t.language
            ));
        }
        for f in t.files {
            if !out.join(f).exists() {
                return Err(format!(
                    "generating {} bindings did not produce {}/{f}",
                    t.language, t.out_dir
                ));
            }
        }
    }
    Ok(())
}

/// `cargo xtask bindings [--check]`.
pub fn bindings(root: &Path, check: bool) -> Result<(), String> {
    build(root)?;
    if !check {
        generate_into(root, root)?;
        eprintln!("xtask: bindings generated (Kotlin, Swift, Python)");
        return Ok(());
    }
    let scratch = crate::target_dir(root).join("bindings-check");
    let _ = std::fs::remove_dir_all(&scratch);
    generate_into(root, &scratch)?;
    let mut stale = Vec::new();
    for t in TARGETS {
        for f in t.files {
            let fresh = std::fs::read(scratch.join(t.out_dir).join(f))
                .map_err(|e| format!("reading generated {f}: {e}"))?;
            let rel = format!("{}/{f}", t.out_dir);
            match std::fs::read(root.join(&rel)) {
                Ok(checked_in) if checked_in == fresh => {}
                _ => stale.push(rel),
            }
        }
    }
    if stale.is_empty() {
        eprintln!("xtask: generated bindings are up to date");
        Ok(())
    } else {
        Err(format!(
            "the checked-in generated bindings are stale: {}. Run `cargo xtask bindings` and commit the result.",
            stale.join(", ")
        ))
    }
}

/// Where the Python test venv lives: outside the clone, reused between runs.
fn venv_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("postcso/venv")
}

/// The pinned test requirements (`python/requirements-test.txt`).
const REQUIREMENTS: &str = "python/requirements-test.txt";

/// Creates the venv (installing `python3-venv` when missing) and the pinned
/// pytest; returns the venv's python.
pub(crate) fn ensure_venv(root: &Path) -> Result<PathBuf, String> {
    let venv = venv_dir();
    let python = venv.join("bin/python");
    if !python.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !made {
            crate::deps::install_packages(&["python3-venv"])?;
            let _ = std::fs::remove_dir_all(&venv);
            run::step(
                "python venv",
                "python3",
                &["-m", "venv", &venv.to_string_lossy()],
            )?;
        }
    }
    let req = root.join(REQUIREMENTS);
    let stamp = venv.join(".postcso-requirements");
    let wanted = std::fs::read_to_string(&req).map_err(|e| format!("{REQUIREMENTS}: {e}"))?;
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        run::step(
            "pip install (pinned pytest)",
            &python.to_string_lossy(),
            &[
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                &req.to_string_lossy(),
            ],
        )?;
        std::fs::write(&stamp, wanted).map_err(|e| format!("{}: {e}", stamp.display()))?;
    }
    Ok(python)
}

/// Builds the cdylib and the station, then runs the pytest suite against them.
pub fn python_tests(root: &Path) -> Result<run::Counts, String> {
    let python = ensure_venv(root)?;
    build(root)?;
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
    let lib = cdylib(root, "debug");
    let station = crate::target_dir(root).join("debug/postcso-station");
    let name = "python tests";
    let args = ["-m", "pytest", "-ra", "tests"];
    eprintln!("xtask: ── {name}: {} {}", python.display(), args.join(" "));
    let started = std::time::Instant::now();
    let mut child = Command::new(&python)
        .args(args)
        .current_dir(root.join("python"))
        .env("POSTCSO_FFI_LIB", &lib)
        .env("POSTCSO_STATION_BIN", &station)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{name}: could not start pytest: {e}"))?;
    let mut counts = run::Counts::default();
    if let Some(out) = child.stdout.take() {
        use std::io::{BufRead, Write};
        let mut echo = std::io::stdout().lock();
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = writeln!(echo, "{line}");
            if let Some(c) = pytest_summary(&line) {
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

/// Reads pytest's closing line, e.g. `==== 7 passed, 1 failed, 2 errors in 3.1s ====`.
pub(crate) fn pytest_summary(line: &str) -> Option<run::Counts> {
    let line = line.trim().trim_matches('=').trim();
    if !line.contains(" in ") || !(line.contains(" passed") || line.contains(" failed")) {
        return None;
    }
    let mut counts = run::Counts::default();
    for part in line.split(" in ").next()?.split(',') {
        let mut words = part.split_whitespace();
        let (Some(n), Some(what)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "passed" => counts.passed += n,
            "failed" | "error" | "errors" => counts.failed += n,
            _ => {}
        }
    }
    Some(counts)
}

#[cfg(test)]
mod tests {
    use super::pytest_summary;

    #[test]
    fn reads_pytest_closing_lines() {
        let c = pytest_summary("======= 7 passed, 1 failed, 2 errors in 3.10s =======").unwrap();
        assert_eq!((c.passed, c.failed), (7, 3));
        let c = pytest_summary("12 passed in 0.5s").unwrap();
        assert_eq!((c.passed, c.failed), (12, 0));
        assert!(pytest_summary("tests/test_core.py::test_x PASSED").is_none());
    }
}
