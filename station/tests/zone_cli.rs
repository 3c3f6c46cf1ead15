//! `zone add|list|retire` through the real binary: results, exit codes, and
//! the audit rows they leave (as the console).

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_postcso-station");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("POSTCSO_DATA_DIR")
        .output()
        .expect("run binary")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

#[test]
fn zones_are_added_listed_and_retired_from_the_console() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().to_str().expect("path");
    let out = run(&[
        "station",
        "create",
        "--data-dir",
        d,
        "--slug",
        "seodaemun",
        "--name",
        "S",
    ]);
    assert_eq!(code(&out), 0, "{out:?}");
    let area = dir.path().join("area.json");
    std::fs::write(
        &area,
        r#"{"type":"Polygon","coordinates":[[[126.93,37.56],[126.94,37.56],[126.94,37.57],[126.93,37.56]]]}"#,
    )
    .expect("write area");
    let a = area.to_str().expect("path");
    let add = |extra: &[&str]| {
        let mut args = vec!["zone", "add", "--data-dir", d, "--station", "seodaemun"];
        args.extend_from_slice(extra);
        run(&args)
    };

    let out = add(&["--code", "route-12", "--name", "Route 12", "--area-file", a]);
    assert_eq!(code(&out), 0, "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("added zone route-12"));
    // Refusals: taken code (4), unknown device (3), bad outline and bad code (2).
    assert_eq!(code(&add(&["--code", "route-12", "--name", "Again"])), 4);
    assert_eq!(
        code(&add(&[
            "--code",
            "route-14",
            "--name",
            "R",
            "--device",
            "carrier-404"
        ])),
        3
    );
    std::fs::write(&area, r#"{"type":"Polygon","coordinates":[]}"#).expect("write area");
    assert_eq!(
        code(&add(&[
            "--code",
            "route-15",
            "--name",
            "R",
            "--area-file",
            a
        ])),
        2
    );
    assert_eq!(code(&add(&["--code", "Route 16", "--name", "R"])), 2);
    let no_station = run(&["zone", "list", "--data-dir", d, "--station", "mapo"]);
    assert_eq!(code(&no_station), 3);

    let out = run(&[
        "zone",
        "retire",
        "--data-dir",
        d,
        "--station",
        "seodaemun",
        "--code",
        "route-12",
    ]);
    assert_eq!(code(&out), 0, "{out:?}");
    let out = run(&[
        "zone",
        "retire",
        "--data-dir",
        d,
        "--station",
        "seodaemun",
        "--code",
        "route-12",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("already retired"));
    let out = run(&[
        "zone",
        "retire",
        "--data-dir",
        d,
        "--station",
        "seodaemun",
        "--code",
        "nope",
    ]);
    assert_eq!(code(&out), 3);
    let out = run(&["zone", "list", "--data-dir", d, "--station", "seodaemun"]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.starts_with("route-12\tRoute 12\t0 device(s)\tarea\tretired"),
        "{listed}"
    );

    let conn = rusqlite::Connection::open(dir.path().join("station.db")).expect("db");
    let rows: Vec<(String, String)> = conn
        .prepare(
            "SELECT action, actor_username FROM audit_log WHERE target_kind = 'zone' ORDER BY seq",
        )
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        rows,
        [
            ("zone.add".to_owned(), "console".to_owned()),
            ("zone.retire".to_owned(), "console".to_owned())
        ]
    );
}
