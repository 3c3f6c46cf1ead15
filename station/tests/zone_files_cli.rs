//! `zone import|export`, `zone add` with a zone's details, and `station
//! create --jurisdiction` through the real binary, on the backend under test:
//! results, exit codes, every bad file refused whole with nothing changed.

mod common;

#[path = "support/zone_files.rs"]
mod zone_files;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use tempfile::TempDir;
use zone_files::{bad_files, clockwise_square, feature, good_file};

const BIN: &str = env!("CARGO_BIN_EXE_postcso-station");

/// A data dir (and on PostgreSQL a fresh database) the console works on.
struct Console {
    dir: TempDir,
    url: Option<String>,
}

impl Console {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let url = common::test_database_url(dir.path()).await;
        Self { dir, url }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .env_remove("POSTCSO_DATA_DIR")
            .env_remove("POSTCSO_DATABASE_URL");
        if let Some(url) = &self.url {
            command.arg("--database-url").arg(url);
        }
        command.output().expect("run binary")
    }

    /// Runs and asserts success; the standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(code(&out), 0, "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A file in the data dir with `text`.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }

    fn count(&self, table: &str) -> i64 {
        common::count_rows_in(self.dir.path(), table)
    }

    /// Zones, feed entries and audit rows: what a refusal must not change.
    fn state(&self) -> (String, i64, i64) {
        let zones = self.ok(&["zone", "list", "--station", "seodaemun"]);
        (zones, self.count("changes"), self.count("audit_log"))
    }
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[tokio::test]
async fn zones_are_imported_exported_and_added_with_details_from_the_console() {
    let c = Console::new().await;
    c.ok(&["station", "create", "--slug", "seodaemun", "--name", "S"]);
    c.ok(&[
        "zone",
        "add",
        "--station",
        "seodaemun",
        "--code",
        "route-1",
        "--name",
        "1구역",
    ]);

    let file = c.file("zones.geojson", &good_file("route-1").to_string());
    let out = c.ok(&["zone", "import", "--station", "seodaemun", path(&file)]);
    assert!(
        out.contains("3 added, 1 updated, 0 unchanged; 1 ring(s) rewound to RFC 7946 winding"),
        "{out}"
    );
    assert!(out.contains("  updated    route-1\n"), "{out}");
    assert!(
        out.contains("  added      yeonhui-alley (1 ring(s) rewound)\n"),
        "{out}"
    );
    let listed = c.ok(&["zone", "list", "--station", "seodaemun"]);
    assert!(
        listed.contains("yeonhui-alley\t연희동 골목\t0 device(s)\tarea\tactive\twatch_area\n"),
        "{listed}"
    );

    // Export to stdout, then to a file that must not exist yet.
    let exported: Value =
        serde_json::from_str(&c.ok(&["zone", "export", "--station", "seodaemun"]))
            .expect("GeoJSON on stdout");
    assert_eq!(exported["features"].as_array().map(Vec::len), Some(4));
    let target = c.dir.path().join("out.geojson");
    let out = c.ok(&["zone", "export", "--station", "seodaemun", path(&target)]);
    assert!(
        out.contains("exported 4 zone(s) of station seodaemun"),
        "{out}"
    );
    let again = c.run(&["zone", "export", "--station", "seodaemun", path(&target)]);
    assert_eq!(
        code(&again),
        4,
        "an existing file is not overwritten: {again:?}"
    );
    let out = c.ok(&["zone", "import", "--station", "seodaemun", path(&target)]);
    assert!(
        out.contains("0 added, 0 updated, 4 unchanged"),
        "round trip: {out}"
    );

    // `zone add` takes every field, checked as the API checks them.
    let area = c.file(
        "alley.geojson",
        &json!({"type": "Polygon", "coordinates": clockwise_square(0.1)}).to_string(),
    );
    let out = c.ok(&[
        "zone",
        "add",
        "--station",
        "seodaemun",
        "--code",
        "school-road",
        "--kind",
        "watch_area",
        "--theme",
        "school_route",
        "--name-ko",
        "통학로",
        "--name-en",
        "School road",
        "--guidance",
        "Speeding cars at 8am",
        "--valid-from",
        "2026-12-01T00:00:00+09:00",
        "--valid-until",
        "2027-12-01T00:00:00+09:00",
        "--area-file",
        path(&area),
    ]);
    assert!(
        out.contains("added zone school-road (통학로, watch_area)"),
        "{out}"
    );
    assert!(
        out.contains("1 ring(s) of the outline were rewound"),
        "{out}"
    );
    for (extra, said) in [
        (&["--kind", "bikeway"][..], "--kind: unknown kind `bikeway`"),
        (
            &["--kind", "watch_area"][..],
            "--area-file: a watch area needs an outline",
        ),
        (
            &[
                "--valid-from",
                "2027-01-01T00:00:00Z",
                "--valid-until",
                "2026-01-01T00:00:00Z",
            ][..],
            "--valid-until: valid_until must be after valid_from",
        ),
    ] {
        let mut args = vec![
            "zone",
            "add",
            "--station",
            "seodaemun",
            "--code",
            "bad",
            "--name",
            "x",
        ];
        args.extend_from_slice(extra);
        let out = c.run(&args);
        assert_eq!(code(&out), 2, "{extra:?}: {out:?}");
        assert!(stderr(&out).contains(said), "{extra:?}: {}", stderr(&out));
    }

    let (rows, _) = common::db_sql(
        c.dir.path(),
        "SELECT action, actor_username FROM audit_log WHERE target_kind = 'zone' ORDER BY seq",
    )
    .expect("audit");
    let rows: Vec<(String, String)> = rows
        .into_iter()
        .map(|r| {
            (
                r[0].clone().unwrap_or_default(),
                r[1].clone().unwrap_or_default(),
            )
        })
        .collect();
    let actions: Vec<&str> = rows.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "zone.add",
            "zone.update",
            "zone.add",
            "zone.add",
            "zone.add",
            "zone.add"
        ]
    );
    assert!(rows.iter().all(|(_, who)| who == "console"));
}

#[tokio::test]
async fn every_bad_file_is_refused_by_the_console_and_changes_nothing() {
    let c = Console::new().await;
    c.ok(&["station", "create", "--slug", "seodaemun", "--name", "S"]);
    c.ok(&[
        "zone",
        "add",
        "--station",
        "seodaemun",
        "--code",
        "a",
        "--name",
        "에이",
    ]);
    c.ok(&[
        "zone",
        "add",
        "--station",
        "seodaemun",
        "--code",
        "old",
        "--name",
        "옛",
    ]);
    c.ok(&["zone", "retire", "--station", "seodaemun", "--code", "old"]);
    let before = c.state();
    for bad in bad_files("old") {
        let file = c.file("bad.geojson", &bad.text);
        let out = c.run(&["zone", "import", "--station", "seodaemun", path(&file)]);
        assert_eq!(code(&out), 2, "{}: {out:?}", bad.what);
        let said = stderr(&out);
        assert!(said.contains(bad.detail), "{}: {said}", bad.what);
        assert!(said.contains("nothing was changed"), "{}: {said}", bad.what);
        if !bad.pointer.is_empty() {
            assert!(
                said.contains(&format!("(at {})", bad.pointer)),
                "{}: {said}",
                bad.what
            );
        }
        assert_eq!(c.state(), before, "{} changed something", bad.what);
    }

    // 50 MB: refused by its size before it is read.
    let huge = c.dir.path().join("huge.geojson");
    std::fs::File::create(&huge)
        .and_then(|f| f.set_len(50 * 1024 * 1024))
        .expect("sparse file");
    let out = c.run(&["zone", "import", "--station", "seodaemun", path(&huge)]);
    assert_eq!(code(&out), 2, "{out:?}");
    assert!(
        stderr(&out).contains("larger than 16777216 bytes"),
        "{}",
        stderr(&out)
    );
    let missing = c.run(&[
        "zone",
        "import",
        "--station",
        "seodaemun",
        "/nonexistent/zones.geojson",
    ]);
    assert_eq!(code(&missing), 6, "{missing:?}");
    assert_eq!(c.state(), before);
}

#[tokio::test]
async fn station_create_sets_the_jurisdiction_from_a_district_or_a_file() {
    let c = Console::new().await;
    let out = c.ok(&[
        "station",
        "create",
        "--slug",
        "seodaemun",
        "--name",
        "Seodaemun",
        "--jurisdiction",
        "11410",
    ]);
    assert!(
        out.contains("set its jurisdiction: zone district-11410 (서대문구, Seodaemun-gu)"),
        "{out}"
    );
    assert!(
        out.contains("boundary data: Boundaries: Statistics Korea SGIS"),
        "{out}"
    );
    let listed = c.ok(&["zone", "list", "--station", "seodaemun"]);
    assert_eq!(
        listed,
        "district-11410\t서대문구\t0 device(s)\tarea\tactive\tjurisdiction\n"
    );
    let exported: Value =
        serde_json::from_str(&c.ok(&["zone", "export", "--station", "seodaemun"]))
            .expect("GeoJSON");
    assert!(
        exported["attribution"]
            .as_str()
            .is_some_and(|a| a.contains("CC BY 4.0"))
    );

    // An unknown district lists the known ones and creates nothing.
    let out = c.run(&[
        "station",
        "create",
        "--slug",
        "mapo",
        "--name",
        "M",
        "--jurisdiction",
        "99999",
    ]);
    assert_eq!(code(&out), 2, "{out:?}");
    let said = stderr(&out);
    assert!(said.contains("unknown district code `99999`"), "{said}");
    assert!(said.contains("11440 마포구"), "{said}");

    // From a file: a Feature drawn clockwise, rewound.
    let outline = c.file(
        "busan.geojson",
        &feature(json!({"SIG_CD": "26110"}), Some(clockwise_square(0.0))).to_string(),
    );
    let out = c.ok(&[
        "station",
        "create",
        "--slug",
        "jung",
        "--name",
        "J",
        "--jurisdiction-file",
        path(&outline),
    ]);
    assert!(
        out.contains("zone jurisdiction (관할구역, Jurisdiction)"),
        "{out}"
    );
    assert!(
        out.contains("1 ring(s) of the outline were rewound"),
        "{out}"
    );

    // A file that is no outline, or both flags: refused, nothing created.
    let line = c.file(
        "line.geojson",
        r#"{"type":"LineString","coordinates":[[126.9,37.5],[127.0,37.6]]}"#,
    );
    let out = c.run(&[
        "station",
        "create",
        "--slug",
        "mapo",
        "--name",
        "M",
        "--jurisdiction-file",
        path(&line),
    ]);
    assert_eq!(code(&out), 2, "{out:?}");
    assert!(
        stderr(&out).contains("nothing was changed"),
        "{}",
        stderr(&out)
    );
    let both = c.run(&[
        "station",
        "create",
        "--slug",
        "mapo",
        "--name",
        "M",
        "--jurisdiction",
        "11440",
        "--jurisdiction-file",
        path(&outline),
    ]);
    assert_eq!(code(&both), 2, "{both:?}");
    let stations = c.ok(&["station", "list"]);
    assert!(!stations.contains("mapo"), "{stations}");
    assert_eq!(c.count("stations"), 2);
}
