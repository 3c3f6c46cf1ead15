//! The project's own tasks, in Rust so they run wherever cargo does
//! (the cargo-xtask pattern): `cargo xtask test`, `cargo xtask demo`.
//!
//! Each task installs the system packages it needs when they are missing and
//! skips what is present, so both commands work on a fresh machine.

mod bindings;
mod console;
mod deny;
mod deps;
mod fuzz;
mod maven;
mod postgres;
mod run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// POST-CSO project tasks.
#[derive(Parser)]
#[command(
    name = "cargo xtask",
    version,
    about,
    after_help = "Exit status: 0 when the task succeeded, 1 when a step failed."
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run every check: rustfmt, clippy with -D warnings, and every test suite.
    Test {
        /// Skip the installation of missing system packages.
        #[arg(long)]
        no_install: bool,
    },
    /// Run only the PostgreSQL runs of `test`: the station's suites (its own
    /// and its black-box API tests) and the sync tests against a private
    /// PostgreSQL cluster on 127.0.0.1:55432.
    TestPostgres {
        /// Do not install PostgreSQL when it is missing.
        #[arg(long)]
        no_install: bool,
    },
    /// Run the main job: an embedded station and 88 simulated carriers syncing
    /// through a link with outages (`postcso-demo`).
    Demo {
        /// Extra arguments passed to the demo.
        #[arg(trailing_var_arg = true)]
        args: Vec<String>,
    },
    /// Install the system packages the tests and demo need, the pinned npm
    /// packages of the interop tests and the pinned Go tools of the fault tests;
    /// nothing else.
    Deps,
    /// Fuzz the parsers of outside input (`fuzz/`) for a bounded time each,
    /// on the installed nightly toolchain; skipped when there is none.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = fuzz::DEFAULT_SECONDS)]
        seconds: u64,
        /// How to compile the targets: `thorough` (optimised) for long runs,
        /// `quick` (unoptimised, debug assertions) as `cargo xtask test` does.
        #[arg(long, value_enum, default_value_t = fuzz::Build::Thorough)]
        build: fuzz::Build,
        /// Targets to run (default: all).
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(fuzz::TARGETS))]
        targets: Vec<String>,
    },
    /// Generate the Kotlin, Swift and Python sources of the UniFFI bindings
    /// (`bindings/`) into `android/`, `ios/` and `python/`.
    Bindings {
        /// Only check that the checked-in sources match what would be generated.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Test { no_install } => test(no_install),
        Task::TestPostgres { no_install } => postgres_tests(no_install).map(|counts| {
            println!("total: {} passed, {} failed", counts.passed, counts.failed);
        }),
        Task::Demo { args } => demo(&args),
        Task::Deps => install_all(),
        Task::Bindings { check } => bindings::bindings(&workspace_root(), check),
        Task::Fuzz {
            seconds,
            build,
            targets,
        } => {
            let targets: Vec<&str> = if targets.is_empty() {
                fuzz::TARGETS.to_vec()
            } else {
                targets.iter().map(String::as_str).collect()
            };
            fuzz::fuzz(&workspace_root(), &targets, seconds, build)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The cargo target dir: `$CARGO_TARGET_DIR` when set (CI may keep it outside
/// the clone), else `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        })
        .unwrap_or_else(|| root.join("target"))
}

/// The workspace root (xtask lives one level below it).
fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// System packages, then the pinned npm packages of the interop tests, then the
/// pinned Go tools of the fault tests (Toxiproxy).
fn install_all() -> Result<(), String> {
    deps::ensure(deps::ALL)?;
    postgres::ensure_installed()?;
    deps::ensure(maven::DEPS)?;
    deps::ensure_npm(&workspace_root(), deps::NPM)?;
    console::ensure_installed()?;
    deps::ensure_go_tools(deps::GO_TOOLS)
}

fn test(no_install: bool) -> Result<(), String> {
    if !no_install {
        install_all()?;
    }
    run::step("rustfmt", "cargo", &["fmt", "--all", "--", "--check"])?;
    run::step(
        "clippy",
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    station_links_no_phone_core_nor_reqwest()?;
    deny::check()?;
    // Stale generated bindings fail CI: they are checked in, never regenerated here.
    bindings::bindings(&workspace_root(), true)?;
    let rust = run::cargo_tests("rust tests", &["test", "--workspace", "--no-fail-fast"])?;
    let phone = phone_sqlite_tests()?;
    let pg = postgres_tests(no_install)?;
    let python = bindings::python_tests(&workspace_root())?;
    let kotlin = maven::kotlin_tests(&workspace_root())?;
    let browser = console::console_tests(&workspace_root())?;
    fuzz::fuzz(
        &workspace_root(),
        fuzz::TARGETS,
        fuzz_seconds()?,
        fuzz::Build::Quick,
    )?;
    eprintln!("xtask: all checks passed");
    // The plain closing line CI reads: the total over every suite run above.
    println!(
        "total: {} passed, {} failed",
        rust.passed + phone.passed + pg.passed + python.passed + kotlin.passed + browser.passed,
        rust.failed + phone.failed + pg.failed + python.failed + kotlin.failed + browser.failed
    );
    Ok(())
}

/// Seconds per fuzz target in `test`: `POSTCSO_FUZZ_SECONDS`, else the default.
fn fuzz_seconds() -> Result<u64, String> {
    match std::env::var("POSTCSO_FUZZ_SECONDS") {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("POSTCSO_FUZZ_SECONDS is not a number of seconds: {text:?}")),
        Err(_) => Ok(fuzz::DEFAULT_SECONDS),
    }
}

/// Crates the station server must not link, with the reason: the phone core
/// and its JPEG codec (the station shares only `postcso-model` with the
/// phone), and reqwest (the station calls out through its own `egress`
/// client; the HTTP client of its black-box tests lives in
/// `station/api-tests`).
const KEPT_OUT_OF_STATION: &[(&str, &str)] = &[
    ("postcso-core", "the phone core"),
    ("turbojpeg", "the phone's JPEG codec"),
    ("turbojpeg-sys", "the phone's JPEG codec"),
    ("reqwest", "an HTTP client the station does not use"),
];

/// The `cargo tree` arguments for the station's whole tree: every edge kind,
/// its tests included.
const STATION_TREE: &[&str] = &["tree", "-p", "postcso-station", "-e", "normal,build,dev"];

/// Fails when `cargo tree -p postcso-station` (every edge kind, tests
/// included) reaches a crate of [`KEPT_OUT_OF_STATION`] (the phone core,
/// its JPEG codec, reqwest), and prints each one found with the path that
/// reaches it.
fn station_links_no_phone_core_nor_reqwest() -> Result<(), String> {
    let tree = cargo_tree(&[STATION_TREE, &["--prefix", "none", "--format", "{p}"]].concat())?;
    let mut found = Vec::new();
    for (name, why) in KEPT_OUT_OF_STATION {
        let mut versions: Vec<&str> = tree
            .lines()
            .filter(|line| line.split_whitespace().next() == Some(*name))
            .map(|line| line.trim_end_matches(" (*)"))
            .collect();
        versions.sort_unstable();
        versions.dedup();
        for version in versions {
            found.push(format!("{version} ({why})"));
        }
    }
    let names: Vec<&str> = KEPT_OUT_OF_STATION.iter().map(|(name, _)| *name).collect();
    if found.is_empty() {
        eprintln!("xtask: the station links none of {names:?}");
        return Ok(());
    }
    for line in &found {
        eprintln!("xtask: the station links {line}");
    }
    for (name, _) in KEPT_OUT_OF_STATION {
        if found
            .iter()
            .any(|f| f.split_whitespace().next() == Some(*name))
        {
            let paths = cargo_tree(&[STATION_TREE, &["-i", name]].concat())?;
            eprintln!("xtask: how the station reaches {name}:\n{paths}");
        }
    }
    Err(format!(
        "the station links {}; it must link none of {names:?}",
        found.join(", ")
    ))
}

/// Runs `cargo` with `args` and returns what it printed.
fn cargo_tree(args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("cargo")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The SQLite compile flags of the phone builds (`bindings/phone-sqlite.flags`,
/// one a line, `#` comments), joined for `LIBSQLITE3_FLAGS`.
fn phone_sqlite_flags(root: &Path) -> Result<String, String> {
    let path = root.join("bindings/phone-sqlite.flags");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" "))
}

/// The core's store, queue and migration tests against the SQLite the phones
/// ship (built with the phone flags, which leave out JSON, FTS and more), so a
/// core change that needs a left-out feature fails here and not on a phone.
/// Its own target directory keeps the two SQLite builds from evicting each other.
fn phone_sqlite_tests() -> Result<run::Counts, String> {
    let root = workspace_root();
    let flags = phone_sqlite_flags(&root)?;
    let target = target_dir(&root).join("phone-sqlite");
    let target = target.to_str().ok_or("the target directory is not UTF-8")?;
    run::cargo_tests_env(
        "core tests on the phones' SQLite build",
        &[
            "test",
            "-p",
            "postcso-core",
            "--no-fail-fast",
            "--lib",
            "--test",
            "queue",
            "--test",
            "migrations",
        ],
        &[
            ("LIBSQLITE3_FLAGS", Some(flags.as_str())),
            ("CARGO_TARGET_DIR", Some(target)),
        ],
    )
}

/// The variable the station's test harnesses read the PostgreSQL server from.
const PG_ENV: &str = "POSTCSO_TEST_DATABASE_URL";

/// The station's suites again on PostgreSQL (its own tests, the store
/// contract among them, and its black-box API tests in `station/api-tests`),
/// and the process-level sync tests, against a private cluster started for
/// the run.
fn postgres_tests(no_install: bool) -> Result<run::Counts, String> {
    let cluster = postgres::Cluster::start(no_install)?;
    let url = cluster.url();
    let env = [(PG_ENV, Some(url.as_str()))];
    let station = run::cargo_tests_env(
        "station tests on PostgreSQL",
        &[
            "test",
            "-p",
            "postcso-station",
            "-p",
            "postcso-station-api-tests",
            "--no-fail-fast",
        ],
        &env,
    )?;
    let sync = run::cargo_tests_env(
        "sync tests on PostgreSQL",
        &[
            "test",
            "-p",
            "postcso-tests",
            "--no-fail-fast",
            "--test",
            "sync_delivery",
            "--test",
            "sync_photos",
            "--test",
            "sync_zones",
        ],
        &env,
    )?;
    drop(cluster);
    Ok(run::Counts {
        passed: station.passed + sync.passed,
        failed: station.failed + sync.failed,
    })
}

fn demo(args: &[String]) -> Result<(), String> {
    deps::ensure(deps::BUILD)?;
    let mut argv = vec!["run", "--release", "--quiet", "-p", "postcso-demo", "--"];
    argv.extend(args.iter().map(String::as_str));
    run::step("demo", "cargo", &argv)
}
