//! The Kotlin suite: the JVM build of the Android library (`android/postcso/pom.xml`),
//! run with Maven against the host build of `postcso-ffi` and a real station.
//!
//! Maven itself comes from Debian when missing; the pom's dependencies come from
//! Maven Central through Maven (cached in `~/.m2`), so a fresh clone needs
//! nothing else. The test counts are read from Surefire's XML reports, which
//! stay exact whatever Maven prints.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::deps::Dep;
use crate::run::Counts;

/// What the Kotlin suite needs from Debian: a JDK to compile and run the tests,
/// and Maven to resolve the pom's dependencies and drive the build.
pub const DEPS: &[Dep] = &[
    Dep {
        package: "default-jdk-headless",
        provides: "javac",
        why: "compiles and runs the Kotlin library's JVM tests",
    },
    Dep {
        package: "maven",
        provides: "mvn",
        why: "builds the Kotlin library and runs its JUnit tests (android/postcso/pom.xml)",
    },
];

/// The pom of the JVM build, relative to the workspace root.
const POM: &str = "android/postcso/pom.xml";

/// Builds what the Kotlin tests load (the `postcso-ffi` cdylib and the station
/// binary), runs `mvn verify` on the pom, and returns the Surefire counts.
///
/// Failing tests are counted before the step fails, so the caller can report them.
pub fn kotlin_tests(root: &Path) -> Result<Counts, String> {
    // The same features as `cargo xtask bindings` builds with, so neither build
    // invalidates the other's cdylib.
    crate::run::step(
        "kotlin: host cdylib",
        "cargo",
        &[
            "build",
            "-p",
            "postcso-ffi",
            "--features",
            "bindgen",
            "--lib",
        ],
    )?;
    crate::run::step(
        "kotlin: station binary",
        "cargo",
        &["build", "-p", "postcso-station", "--bin", "postcso-station"],
    )?;
    let pom = root.join(POM);
    let reports = pom.with_file_name("target").join("surefire-reports");
    // Reports of a class deleted since the last run must not be counted.
    if reports.exists() {
        std::fs::remove_dir_all(&reports)
            .map_err(|e| format!("removing {}: {e}", reports.display()))?;
    }
    let pom_arg = pom.to_string_lossy().into_owned();
    eprintln!("xtask: ── kotlin tests: mvn -B -ntp -f {pom_arg} clean verify");
    let started = Instant::now();
    let status = Command::new("mvn")
        // `clean`: classes of a deleted test must not run again.
        .args(["-B", "-ntp", "-f", &pom_arg, "clean", "verify"])
        .arg(format!(
            "-Dpostcso.target={}",
            crate::target_dir(root).display()
        ))
        .status()
        .map_err(|e| format!("kotlin tests: could not start mvn: {e}"))?;
    let counts = read_reports(&reports)?;
    let secs = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!(
            "kotlin tests failed ({status}) after {secs:.1}s: {} passed, {} failed",
            counts.passed, counts.failed
        ));
    }
    if counts.passed == 0 {
        return Err("kotlin tests: Maven succeeded but no test ran".to_owned());
    }
    eprintln!(
        "xtask: ── kotlin tests: ok in {secs:.1}s ({} passed)",
        counts.passed
    );
    Ok(counts)
}

/// Sums the `TEST-*.xml` reports Surefire wrote in `dir` (none when it is missing).
fn read_reports(dir: &Path) -> Result<Counts, String> {
    let mut counts = Counts::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(counts);
    };
    for entry in entries {
        let path = entry
            .map_err(|e| format!("reading {}: {e}", dir.display()))?
            .path();
        let is_report = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("TEST-") && n.ends_with(".xml"));
        if !is_report {
            continue;
        }
        let xml = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let suite = suite_counts(&xml)
            .ok_or_else(|| format!("{}: no <testsuite> summary", path.display()))?;
        counts.passed += suite.passed;
        counts.failed += suite.failed;
    }
    Ok(counts)
}

/// The counts of one Surefire report, from its `<testsuite>` element's
/// `tests`, `failures`, `errors` and `skipped` attributes.
fn suite_counts(xml: &str) -> Option<Counts> {
    let start = xml.find("<testsuite ")?;
    let tag = &xml[start..start + xml[start..].find('>')?];
    let tests = attribute(tag, "tests")?;
    let failed = attribute(tag, "failures")? + attribute(tag, "errors")?;
    let skipped = attribute(tag, "skipped").unwrap_or(0);
    Some(Counts {
        passed: tests.saturating_sub(failed + skipped),
        failed,
    })
}

/// A numeric attribute `name="N"` of an XML start tag.
fn attribute(tag: &str, name: &str) -> Option<u64> {
    let needle = format!(" {name}=\"");
    let from = tag.find(&needle)? + needle.len();
    let len = tag[from..].find('"')?;
    tag[from..from + len].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::suite_counts;

    #[test]
    fn reads_surefire_summaries() {
        let ok = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="org.postcso.ReportFlowTest" time="3.2" tests="7" errors="0" skipped="1" failures="0">
  <properties><property name="tests" value="99"/></properties>"#;
        let counts = suite_counts(ok).expect("summary");
        assert_eq!((counts.passed, counts.failed), (6, 0));

        let bad = r#"<testsuite name="x" tests="5" errors="1" skipped="0" failures="2">"#;
        let counts = suite_counts(bad).expect("summary");
        assert_eq!((counts.passed, counts.failed), (2, 3));

        assert!(suite_counts("<testsuites/>").is_none());
    }
}
