//! A tiny run of each `loadgen` command against a real station (and a real
//! `@tus/server`), so the load generator keeps working between the hand-run
//! measurements. Figures are not checked, only that the runs are real: the
//! requests it counts as stored are in the station's database and blob store.

use std::path::Path;
use std::process::{Command, Output};

fn loadgen(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .arg("--station-bin")
        // The debug station, built once (the release one is for measuring).
        .arg(postcso_harness::blocking::station_binary())
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--json", "--quiet"])
        .output()
        .expect("run loadgen")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "loadgen failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("loadgen JSON")
}

fn db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        dir.join("station.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open station.db")
}

#[test]
fn puts_stores_every_report_it_counts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = loadgen(
        &[
            "puts",
            "--devices",
            "3",
            "--duration",
            "1s",
            "--warmup",
            "300ms",
        ],
        dir.path(),
    );
    let result = json(&out);
    let ok = result["puts"]["requests"].as_u64().expect("requests");
    assert!(ok > 0, "no PUT succeeded: {result}");
    assert_eq!(result["puts"]["errors"], 0, "{result}");
    assert_eq!(result["devices"], 3);
    assert!(result["puts"]["p99_ms"].as_f64().expect("p99") > 0.0);
    assert!(result["server"]["peak_rss_mib"].as_f64().expect("rss") > 1.0);
    let conn = db(dir.path());
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM reports", [], |r| r.get(0))
        .expect("count reports");
    // The warm-up's reports are stored too, so at least the measured ones.
    assert!(stored as u64 >= ok, "{stored} stored < {ok} counted");
    let devices: i64 = conn
        .query_row("SELECT count(DISTINCT device_id) FROM reports", [], |r| {
            r.get(0)
        })
        .expect("count devices");
    assert_eq!(devices, 3);
    let photos: i64 = conn
        .query_row("SELECT count(*) FROM report_photos", [], |r| r.get(0))
        .expect("count photos");
    assert_eq!(photos, stored * 2, "two manifest photos per report");
}

#[test]
fn tus_uploads_to_both_servers_and_the_station_keeps_the_photos() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = loadgen(
        &[
            "tus",
            "--scenario",
            "parallel8",
            "--against",
            "both",
            "--uploads",
            "12",
            "--warmup",
            "2",
        ],
        dir.path(),
    );
    let report = json(&out);
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{report}");
    for r in results {
        assert_eq!(r["uploads"]["requests"], 12, "{r}");
        assert_eq!(r["uploads"]["errors"], 0, "{r}");
        assert!(r["uploads"]["mb_per_second"].as_f64().expect("MB/s") > 0.0);
    }
    assert_eq!(report["ratios"].as_array().map(Vec::len), Some(1));
    let conn = db(dir.path());
    let received: i64 = conn
        .query_row(
            "SELECT count(*) FROM report_photos WHERE received_at IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .expect("count received photos");
    assert_eq!(received, 14, "12 measured + 2 warm-up photos received");
}

#[test]
fn a_missing_station_binary_is_a_setup_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["puts", "--devices", "1", "--duration", "1s", "--quiet"])
        .arg("--station-bin")
        .arg(dir.path().join("no-such-binary"))
        .output()
        .expect("run loadgen");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no station binary"));
}
