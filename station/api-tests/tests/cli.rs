//! The real binary: admin commands with their exit codes, and `serve` as a
//! child process that enrols, takes a report, honours a revoke made by the CLI
//! while it runs, and stops cleanly on SIGTERM.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{id_of, sample_report};
use postcso_harness::{Logs, ServeOptions, StationDir, enrol_device};
use serde_json::Value;

/// The station binary under test, built by cargo on first use.
fn bin() -> std::path::PathBuf {
    postcso_harness::blocking::station_binary()
}

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("POSTCSO_DATA_DIR")
        .output()
        .expect("run binary")
}

fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .env_remove("POSTCSO_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn binary");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn create_station(dir: &Path, slug: &str) {
    let d = dir.to_str().expect("path");
    let out = run(&[
        "station",
        "create",
        "--data-dir",
        d,
        "--slug",
        slug,
        "--name",
        "Test Station",
    ]);
    assert_eq!(code(&out), 0, "{out:?}");
}

/// `enrol` of `count` codes at `station` into the CSV file `out`.
fn enrol(data_dir: &str, station: &str, count: &str, out: &str) -> Output {
    run(&[
        "enrol",
        "--data-dir",
        data_dir,
        "--station",
        station,
        "--count",
        count,
        "--out",
        out,
    ])
}

/// `device revoke` of a device (id or label) at `station`.
fn revoke(data_dir: &str, station: &str, device: &str) -> Output {
    run(&[
        "device",
        "revoke",
        "--data-dir",
        data_dir,
        "--station",
        station,
        "--device",
        device,
    ])
}

/// The arguments of `user add`, without `--password-stdin`.
fn user_add<'a>(
    data_dir: &'a str,
    station: &'a str,
    username: &'a str,
    role: &'a str,
) -> [&'a str; 10] {
    [
        "user",
        "add",
        "--data-dir",
        data_dir,
        "--station",
        station,
        "--username",
        username,
        "--role",
        role,
    ]
}

#[test]
fn every_command_has_help_with_exit_codes_and_usage_errors_exit_2() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["station", "create", "--help"],
        vec!["user", "add", "--help"],
        vec!["user", "list", "--help"],
        vec!["user", "disable", "--help"],
        vec!["enrol", "--help"],
        vec!["device", "revoke", "--help"],
        vec!["device", "list", "--help"],
    ] {
        let out = run(&args);
        assert_eq!(code(&out), 0, "{args:?}");
        assert!(stdout(&out).contains("Exit codes:"), "{args:?}");
    }
    assert_eq!(code(&run(&[])), 2);
    assert_eq!(code(&run(&["enrol", "--station", "x"])), 2);
    assert_eq!(
        code(&run(&[
            "station",
            "create",
            "--data-dir",
            "/tmp/x",
            "--slug",
            "Bad Slug",
            "--name",
            "n"
        ])),
        2
    );
    assert_eq!(code(&run(&user_add("/tmp/x", "s", "u", "boss"))), 2);
}

#[test]
fn station_and_user_commands_report_conflicts_and_missing_things() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().join("data");
    let ds = d.to_str().expect("path");

    // No database yet: not found.
    assert_eq!(code(&run(&["station", "list", "--data-dir", ds])), 3);

    create_station(&d, "seodaemun");
    let again = run(&[
        "station",
        "create",
        "--data-dir",
        ds,
        "--slug",
        "seodaemun",
        "--name",
        "x",
    ]);
    assert_eq!(code(&again), 4);
    let list = run(&["station", "list", "--data-dir", ds]);
    assert_eq!(code(&list), 0);
    assert!(stdout(&list).starts_with("seodaemun\t"));

    let add = [
        &user_add(ds, "seodaemun", "kim", "supervisor")[..],
        &["--password-stdin"],
    ]
    .concat();
    assert_eq!(
        code(&run_with_stdin(&add, "short\n")),
        2,
        "too short a password"
    );
    assert_eq!(code(&run_with_stdin(&add, "a good long password\n")), 0);
    assert_eq!(
        code(&run_with_stdin(&add, "a good long password\n")),
        4,
        "duplicate"
    );
    let unknown_station = user_add(ds, "mapo", "kim", "admin");
    assert_eq!(code(&run(&unknown_station)), 3);

    // Without --password-stdin a password is generated and shown once.
    let generated = run(&user_add(ds, "seodaemun", "park", "admin"));
    assert_eq!(code(&generated), 0);
    assert!(stdout(&generated).contains("password (shown once): "));

    // Disabling: once, then "already"; an unknown user or station is 3.
    let disable = |station: &str, username: &str| {
        run(&[
            "user",
            "disable",
            "--data-dir",
            ds,
            "--station",
            station,
            "--username",
            username,
        ])
    };
    let first = disable("seodaemun", "kim");
    assert_eq!(code(&first), 0, "{first:?}");
    assert!(
        stdout(&first).starts_with("disabled supervisor `kim`; 0 live session(s) ended"),
        "{}",
        stdout(&first)
    );
    let again = disable("seodaemun", "kim");
    assert_eq!(code(&again), 0);
    assert!(stdout(&again).contains("already disabled"));
    assert_eq!(code(&disable("seodaemun", "nobody")), 3);
    assert_eq!(code(&disable("mapo", "kim")), 3);
    let list = run(&["user", "list", "--data-dir", ds, "--station", "seodaemun"]);
    assert_eq!(code(&list), 0);
    let lines: Vec<String> = stdout(&list).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("kim\tsupervisor\tadded "), "{lines:?}");
    assert!(lines[0].contains("\tdisabled "), "{lines:?}");
    assert!(lines[1].starts_with("park\tadmin\t") && lines[1].ends_with("\tactive"));
}

#[test]
fn enrol_writes_a_csv_and_one_qr_png_per_code_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().join("data");
    let ds = d.to_str().expect("path");
    create_station(&d, "seodaemun");
    let csv = dir.path().join("print/codes.csv");
    let csv_s = csv.to_str().expect("path");

    let out = enrol(ds, "seodaemun", "88", csv_s);
    assert_eq!(code(&out), 0, "{out:?}");
    let text = std::fs::read_to_string(&csv).expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "label,code,expires_at,qr_png");
    assert_eq!(lines.len(), 89);
    assert!(lines[1].starts_with("carrier-001,"));
    assert!(lines[88].starts_with("carrier-088,"));
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(first[1].len(), 23, "XXXXX-XXXXX-XXXXX-XXXXX");
    let png = std::fs::read(dir.path().join("print").join(first[3])).expect("png");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let pngs = std::fs::read_dir(dir.path().join("print/codes-qr"))
        .expect("qr dir")
        .count();
    assert_eq!(pngs, 88);
    // No staging leftovers.
    let leftovers = std::fs::read_dir(dir.path().join("print"))
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .count();
    assert_eq!(leftovers, 0);

    // Codes are stored hashed, never in clear.
    let db = rusqlite::Connection::open(d.join("station.db")).expect("db");
    let clear_in_db: i64 = db
        .query_row(
            "SELECT count(*) FROM enrolment_codes WHERE code_hash = ?1 OR code_hash = ?2",
            [first[1], &first[1].replace('-', "")],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(clear_in_db, 0);

    let again = enrol(ds, "seodaemun", "1", csv_s);
    assert_eq!(code(&again), 4, "refuses to overwrite printed codes");
    let unknown = enrol(ds, "mapo", "1", "/tmp/never.csv");
    assert_eq!(code(&unknown), 3);
    let too_many = enrol(ds, "seodaemun", "0", "/tmp/never.csv");
    assert_eq!(code(&too_many), 2);

    // A second batch continues the numbering.
    let csv2 = dir.path().join("print/more.csv");
    let out = enrol(ds, "seodaemun", "2", csv2.to_str().expect("path"));
    assert_eq!(code(&out), 0);
    let text = std::fs::read_to_string(&csv2).expect("csv");
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("carrier-089,"))
    );
}

#[test]
fn device_commands_exit_3_for_unknown_devices() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().join("data");
    let ds = d.to_str().expect("path");
    create_station(&d, "seodaemun");
    let out = revoke(ds, "seodaemun", "carrier-001");
    assert_eq!(code(&out), 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no device"));
    let out = revoke(ds, "mapo", "x");
    assert_eq!(code(&out), 3);
    let out = run(&["device", "list", "--data-dir", ds, "--station", "seodaemun"]);
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_serves_enrols_takes_reports_honours_revoke_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().join("data");
    let ds = d.to_str().expect("path").to_owned();
    create_station(&d, "seodaemun");
    let csv = dir.path().join("codes.csv");
    let out = enrol(&ds, "seodaemun", "2", csv.to_str().expect("path"));
    assert_eq!(code(&out), 0);
    let text = std::fs::read_to_string(&csv).expect("csv");
    let codes: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).expect("code").to_owned())
        .collect();

    let log = dir.path().join("serve.log");
    let mut server = StationDir::new(bin(), &d)
        .expect("data dir")
        .serve(&ServeOptions {
            args: vec!["--log-json".to_owned()],
            logs: Logs::File(log.clone()),
            ..ServeOptions::default()
        })
        .await
        .expect("serve");
    let base = server.url().to_owned();
    let http = reqwest::Client::new();

    let ready = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);

    let enrolled = enrol_device(&http, &base, &codes[0])
        .await
        .expect("enrol: 201");
    let token = enrolled.token;
    let label = enrolled.label;

    let report = sample_report(1);
    let id = id_of(&report);
    let put = |report: Value| {
        let http = http.clone();
        let url = format!("{base}/v1/reports/{id}");
        let token = token.clone();
        async move {
            http.put(url)
                .bearer_auth(token)
                .json(&report)
                .send()
                .await
                .expect("put")
                .status()
                .as_u16()
        }
    };
    assert_eq!(put(report.clone()).await, 201);
    assert_eq!(put(report.clone()).await, 200);

    // Revoke through the CLI while the server runs: the next request is refused.
    let revoked = revoke(&ds, "seodaemun", &label);
    assert_eq!(code(&revoked), 0, "{revoked:?}");
    assert_eq!(put(report.clone()).await, 401);

    // SIGTERM: exits 0, promptly.
    let status = tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("server did not stop on SIGTERM")
        .expect("wait");
    assert_eq!(status.code(), Some(0));

    // Logs are JSON lines and never carry the note or the position.
    let logs = std::fs::read_to_string(&log).expect("read logs");
    assert!(
        logs.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{logs}"
    );
    assert!(logs.contains("shutting down"));
    let note = report["note"].as_str().expect("note");
    assert!(!logs.contains(note));
    assert!(!logs.contains("37.5791") && !logs.contains("126.9368"));

    // The report survived; the device is listed as revoked.
    let list = run(&[
        "device",
        "list",
        "--data-dir",
        &ds,
        "--station",
        "seodaemun",
    ]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("revoked"));
    let db = rusqlite::Connection::open(d.join("station.db")).expect("db");
    let count: i64 = db
        .query_row("SELECT count(*) FROM reports", [], |r| r.get(0))
        .expect("count");
    assert_eq!(count, 1);
}
