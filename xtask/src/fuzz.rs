//! Bounded fuzzing runs of the `fuzz/` targets on the installed nightly
//! toolchain, with `cargo fuzz` (libFuzzer). The corpora are also replayed on
//! stable by `cargo test` (`fuzz/tests/replay.rs`), so CI checks every past
//! finding even where no nightly is installed.
//!
//! Each run starts from the checked-in corpus, writes what it discovers to a
//! scratch directory (the checked-in corpus only changes by hand), and stops
//! after a fixed time. A crash fails the step and names the input to keep as
//! a regression under `fuzz/regressions/<target>/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::target_dir;

/// Every target of `fuzz/Cargo.toml`.
pub const TARGETS: &[&str] = &[
    "photo",
    "report_content",
    "tus_headers",
    "zone_import",
    "changes_cursor",
];

/// The cargo-fuzz release installed when it is missing.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Seconds per target in `cargo xtask test`, unless `POSTCSO_FUZZ_SECONDS` says otherwise.
pub const DEFAULT_SECONDS: u64 = 30;

/// How the targets are compiled for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Build {
    /// Unoptimised with debug assertions and overflow checks (`--dev`):
    /// far less CPU than the optimised build on a cold cache (BENCHMARKS.md,
    /// Fuzzing), so `cargo xtask test` uses it for its short smoke runs.
    Quick,
    /// Optimised (cargo-fuzz's default), for long runs that want executions.
    Thorough,
}

impl Build {
    /// The cargo-fuzz flags of this build, given to `build` and `run` alike
    /// (a `run` with other flags would build again).
    fn flags(self) -> &'static [&'static str] {
        match self {
            Build::Quick => &["--dev"],
            Build::Thorough => &[],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Build::Quick => {
                "fuzz build (nightly, address sanitizer, unoptimised, debug assertions)"
            }
            Build::Thorough => "fuzz build (nightly, address sanitizer, optimised)",
        }
    }
}

/// What one bounded run did.
#[derive(Debug)]
pub struct RunReport {
    /// The target's name.
    pub target: String,
    /// Inputs executed (libFuzzer's `number_of_executed_units`).
    pub executions: u64,
    /// Inputs added to the scratch corpus: new coverage found in this run.
    pub new_inputs: usize,
    /// Wall time of the run, build excluded.
    pub seconds: f64,
}

/// Whether a nightly toolchain is installed (it cannot be updated here, so
/// whatever nightly there is gets used, never a dated one).
fn nightly_installed() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Installs cargo-fuzz from crates.io when `cargo fuzz` is not there.
fn ensure_cargo_fuzz() -> Result<(), String> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if present {
        return Ok(());
    }
    eprintln!("xtask: installing cargo-fuzz {CARGO_FUZZ_VERSION}");
    crate::run::step(
        "cargo install cargo-fuzz",
        "cargo",
        &[
            "install",
            "--locked",
            "--version",
            CARGO_FUZZ_VERSION,
            "cargo-fuzz",
        ],
    )
}

/// Runs each of `targets` for `seconds` on nightly and prints a table of
/// executions. Skips, saying so, when no nightly is installed.
pub fn fuzz(root: &Path, targets: &[&str], seconds: u64, build: Build) -> Result<(), String> {
    if !nightly_installed() {
        eprintln!(
            "xtask: no nightly toolchain installed; skipping the bounded fuzz runs \
             (the corpora and regressions were replayed on stable by `cargo test`)"
        );
        return Ok(());
    }
    ensure_cargo_fuzz()?;
    let args: Vec<&str> = ["+nightly", "fuzz", "build", "--fuzz-dir", "fuzz"]
        .into_iter()
        .chain(build.flags().iter().copied())
        .collect();
    crate::run::step(build.describe(), "cargo", &args)?;
    let scratch = target_dir(root).join("fuzz-runs");
    let mut reports = Vec::new();
    for target in targets {
        reports.push(run_one(root, &scratch, target, seconds, build)?);
    }
    eprintln!("xtask: fuzzing, {seconds} s per target");
    eprintln!(
        "  {:<16} {:>12} {:>10} {:>10}",
        "target", "executions", "per s", "new inputs"
    );
    for r in &reports {
        eprintln!(
            "  {:<16} {:>12} {:>10.0} {:>10}",
            r.target,
            r.executions,
            r.executions as f64 / r.seconds.max(0.001),
            r.new_inputs
        );
    }
    Ok(())
}

/// One target's run from a fresh copy of its corpus.
fn run_one(
    root: &Path,
    scratch: &Path,
    target: &str,
    seconds: u64,
    build: Build,
) -> Result<RunReport, String> {
    let corpus = scratch.join("corpus").join(target);
    let artifacts = scratch.join("artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let seeds = root.join("fuzz/corpus").join(target);
    let regressions = root.join("fuzz/regressions").join(target);
    let mut args: Vec<String> = vec![
        "+nightly".into(),
        "fuzz".into(),
        "run".into(),
        "--fuzz-dir".into(),
        "fuzz".into(),
    ];
    args.extend(build.flags().iter().map(|f| (*f).to_owned()));
    args.extend([target.into(), path_arg(&corpus)?, path_arg(&seeds)?]);
    if regressions.is_dir() {
        args.push(path_arg(&regressions)?);
    }
    args.extend([
        "--".into(),
        format!("-max_total_time={seconds}"),
        "-timeout=10".into(),
        "-rss_limit_mb=2048".into(),
        "-print_final_stats=1".into(),
        format!("-artifact_prefix={}/", path_arg(&artifacts)?),
    ]);
    eprintln!("xtask: fuzzing {target} for {seconds} s");
    let started = Instant::now();
    let out = Command::new("cargo")
        .args(&args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not start cargo fuzz: {e}"))?;
    let elapsed = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let found = first_file(&artifacts);
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "fuzz target {target} failed ({}):\n{}\n\nThe input is {}. Reproduce with \
             `cargo +nightly fuzz run --fuzz-dir fuzz {target} <input>`, copy it to \
             fuzz/regressions/{target}/ (it then replays in `cargo test`), and fix.",
            out.status,
            tail.join("\n"),
            found
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "not saved".into()),
        ));
    }
    Ok(RunReport {
        target: target.to_owned(),
        executions: final_stat(&log, "stat::number_of_executed_units:").unwrap_or(0),
        new_inputs: std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0),
        seconds: elapsed,
    })
}

/// A path as an argument, refusing non-UTF-8 ones rather than mangling them.
fn path_arg(path: &Path) -> Result<String, String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{} is not UTF-8", path.display()))
}

/// The first file in `dir`, if any.
fn first_file(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_file())
}

/// A number from libFuzzer's `-print_final_stats` lines.
fn final_stat(log: &str, key: &str) -> Option<u64> {
    log.lines()
        .find_map(|line| line.trim().strip_prefix(key))
        .and_then(|rest| rest.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_final_stats() {
        let log = "Done 1234 runs in 30 second(s)\nstat::number_of_executed_units: 1234\n\
                   stat::average_exec_per_sec:     41\n";
        assert_eq!(
            final_stat(log, "stat::number_of_executed_units:"),
            Some(1234)
        );
        assert_eq!(final_stat(log, "stat::peak_rss_mb:"), None);
    }
}
