//! Running one step of a task and reporting it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Runs `program args`, inheriting the terminal, and fails with the step's name.
pub fn step(name: &str, program: &str, args: &[&str]) -> Result<(), String> {
    announce(name, program, args);
    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("{name}: could not start {program}: {e}"))?;
    finish(name, status, started)
}

/// Test counts summed over a test step's output.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
}

/// Runs a `cargo test` step, echoing its output, and sums its `test result:` lines.
pub fn cargo_tests(name: &str, args: &[&str]) -> Result<Counts, String> {
    cargo_tests_env(name, args, &[])
}

/// Like [`cargo_tests`] with environment changes: `Some` sets a variable,
/// `None` removes it.
pub fn cargo_tests_env(
    name: &str,
    args: &[&str],
    env: &[(&str, Option<&str>)],
) -> Result<Counts, String> {
    announce(name, "cargo", args);
    let started = Instant::now();
    let mut command = Command::new("cargo");
    for (key, value) in env {
        match value {
            Some(v) => command.env(key, v),
            None => command.env_remove(key),
        };
    }
    let mut child = command
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{name}: could not start cargo: {e}"))?;
    let mut counts = Counts::default();
    if let Some(out) = child.stdout.take() {
        let mut echo = std::io::stdout().lock();
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = writeln!(echo, "{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                counts.passed += count_before(rest, " passed");
                counts.failed += count_before(rest, " failed");
            }
        }
    }
    let status = child.wait().map_err(|e| format!("{name}: {e}"))?;
    finish(name, status, started)?;
    Ok(counts)
}

/// Reads the number just before `label` in a libtest summary such as
/// `ok. 12 passed; 0 failed; 1 ignored`.
fn count_before(summary: &str, label: &str) -> u64 {
    summary
        .split(';')
        .find_map(|part| {
            part.trim()
                .trim_start_matches("ok. ")
                .trim_start_matches("FAILED. ")
                .strip_suffix(label.trim())
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

fn announce(name: &str, program: &str, args: &[&str]) {
    eprintln!("xtask: ── {name}: {program} {}", args.join(" "));
}

fn finish(name: &str, status: std::process::ExitStatus, started: Instant) -> Result<(), String> {
    let secs = started.elapsed().as_secs_f64();
    if status.success() {
        eprintln!("xtask: ── {name}: ok in {secs:.1}s");
        Ok(())
    } else {
        Err(format!("{name} failed ({status}) after {secs:.1}s"))
    }
}

#[cfg(test)]
mod tests {
    use super::count_before;

    #[test]
    fn reads_libtest_summaries() {
        let ok =
            "ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s";
        assert_eq!(count_before(ok, " passed"), 12);
        assert_eq!(count_before(ok, " failed"), 0);
        let bad = "FAILED. 3 passed; 2 failed; 0 ignored";
        assert_eq!(count_before(bad, " passed"), 3);
        assert_eq!(count_before(bad, " failed"), 2);
    }
}
