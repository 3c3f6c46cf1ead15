//! `agency add|list|update|retire|import` and `agency route add|list|remove`
//! through the real binary: the Seodaemun file imports (twice, the second
//! time changing nothing), `--json` lists parse, exit codes tell failures
//! apart, and an API key is taken from standard input or the environment,
//! never from the arguments, and never printed or logged.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_postcso-station");
const SEODAEMUN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/seodaemun-agencies.toml");
const KEY: &str = "cli-open311-key-5e8a";

fn run_with(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("POSTCSO_DATA_DIR")
        .env_remove("POSTCSO_DATABASE_URL")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run binary");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("output")
}

fn run(args: &[&str]) -> Output {
    run_with(args, None, &[])
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn station(dir: &Path) -> String {
    let d = dir.to_str().expect("path").to_owned();
    let out = run(&[
        "station",
        "create",
        "--data-dir",
        &d,
        "--slug",
        "seodaemun",
        "--name",
        "S",
        "--jurisdiction",
        "11410",
    ]);
    assert_eq!(code(&out), 0, "{out:?}");
    d
}

/// Every text column of the database, for "the key is nowhere but its column".
fn sql(dir: &Path, query: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(dir.join("station.db")).expect("db");
    let mut stmt = conn.prepare(query).expect("prepare");
    stmt.query_map([], |r| r.get::<_, Option<String>>(0))
        .expect("query")
        .map(|r| r.expect("row").unwrap_or_default())
        .collect()
}

#[test]
fn the_seodaemun_file_imports_once_and_lists_as_json() {
    let dir = tempfile::tempdir().expect("dir");
    let d = station(dir.path());
    let import = |file: &str| {
        run(&[
            "agency",
            "import",
            "--data-dir",
            &d,
            "--station",
            "seodaemun",
            file,
        ])
    };
    let out = import(SEODAEMUN);
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(
        stdout(&out).trim(),
        "agencies: 3 added, 0 updated, 0 unchanged; routing rules: 4 (replaced)"
    );
    let again = import(SEODAEMUN);
    assert_eq!(code(&again), 0, "{again:?}");
    assert_eq!(
        stdout(&again).trim(),
        "agencies: 0 added, 0 updated, 3 unchanged; routing rules: 4 (unchanged)"
    );

    let list = run(&[
        "agency",
        "list",
        "--data-dir",
        &d,
        "--station",
        "seodaemun",
        "--json",
    ]);
    assert_eq!(code(&list), 0);
    let agencies: Value = serde_json::from_slice(&list.stdout).expect("json");
    let names: Vec<&str> = agencies
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["name_ko"].as_str())
        .collect();
    assert_eq!(names, ["서대문구청", "서대문경찰서", "서대문우체국"]);
    let rules = run(&[
        "agency",
        "route",
        "list",
        "--data-dir",
        &d,
        "--station",
        "seodaemun",
        "--json",
    ]);
    let rules: Value = serde_json::from_slice(&rules.stdout).expect("json");
    let first = &rules[0];
    assert_eq!(first["category"], "safety_facility");
    assert_eq!(
        first["area"],
        serde_json::json!({"kind": "district", "code": "11410"})
    );
    assert_eq!(first["agency_code"], "seodaemun-gu-office");
    assert_eq!(rules.as_array().expect("array").len(), 4);
    let plain = run(&[
        "agency",
        "route",
        "list",
        "--data-dir",
        &d,
        "--station",
        "seodaemun",
    ]);
    assert!(
        stdout(&plain).starts_with("10\tsafety_facility\tdistrict 11410\tseodaemun-gu-office\n")
    );

    // A bad file changes nothing and names each fault.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[agency]]\ncode = \"x\"\nname_ko = \"x\"\nname_en = \"x\"\nkind = \"bank\"\nsend_method = \"manual\"\n\n[[route]]\ncategory = \"lights\"\nagency = \"x\"\n",
    )
    .expect("write");
    let out = import(bad.to_str().expect("path"));
    assert_eq!(code(&out), 2, "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("agency/0/kind") && err.contains("route/0/category"),
        "{err}"
    );
    assert_eq!(code(&import("/no/such/file.toml")), 3);
    let list = run(&["agency", "list", "--data-dir", &d, "--station", "seodaemun"]);
    assert_eq!(stdout(&list).lines().count(), 3, "nothing changed");

    // Rules by hand: a taken priority (4), removal by priority, an unknown one (3).
    let route = |extra: &[&str]| {
        let mut args = vec![
            "agency",
            "route",
            "add",
            "--data-dir",
            &d,
            "--station",
            "seodaemun",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    assert_eq!(
        code(&route(&[
            "--agency",
            "seodaemun-police",
            "--priority",
            "10"
        ])),
        4
    );
    let added = route(&["--agency", "seodaemun-police"]);
    assert_eq!(code(&added), 0, "{added:?}");
    assert!(stdout(&added).contains("added rule 50\t*\t*\tseodaemun-police"));
    assert_eq!(code(&route(&["--agency", "nobody"])), 3);
    assert_eq!(
        code(&route(&[
            "--agency",
            "seodaemun-police",
            "--district",
            "99999"
        ])),
        2
    );
    let remove = |p: &str| {
        run(&[
            "agency",
            "route",
            "remove",
            "--data-dir",
            &d,
            "--station",
            "seodaemun",
            "--priority",
            p,
        ])
    };
    assert_eq!(code(&remove("50")), 0);
    assert_eq!(code(&remove("50")), 3);

    let retire = |c: &str| {
        run(&[
            "agency",
            "retire",
            "--data-dir",
            &d,
            "--station",
            "seodaemun",
            "--code",
            c,
        ])
    };
    assert_eq!(code(&retire("seodaemun-post-office")), 0);
    assert!(stdout(&retire("seodaemun-post-office")).contains("already retired"));
    assert_eq!(code(&retire("nobody")), 3);
    let out = import(SEODAEMUN);
    assert_eq!(code(&out), 4, "a retired agency is not redefined: {out:?}");
}

#[test]
fn an_api_key_comes_from_stdin_or_the_environment_and_is_never_shown() {
    let dir = tempfile::tempdir().expect("dir");
    let d = station(dir.path());
    let base = [
        "agency",
        "add",
        "--data-dir",
        &d,
        "--station",
        "seodaemun",
        "--name-ko",
        "서대문구청",
        "--name-en",
        "Seodaemun-gu Office",
        "--kind",
        "district_office",
        "--method",
        "open311",
        "--endpoint",
        "https://open311.example/v2",
        "--service-code",
        "safety_facility=101",
    ];
    let add = |code_: &str, extra: &[&str], stdin: Option<&str>, env: &[(&str, &str)]| {
        let mut args = base.to_vec();
        args.extend_from_slice(&["--code", code_]);
        args.extend_from_slice(extra);
        run_with(&args, stdin, env)
    };
    // There is no way to give the key as an argument.
    let out = add("gu", &["--api-key", KEY], None, &[]);
    assert_eq!(code(&out), 2, "{out:?}");
    let out = add("gu", &["--api-key-stdin"], Some(&format!("{KEY}\n")), &[]);
    assert_eq!(code(&out), 0, "{out:?}");
    assert!(stdout(&out).contains("key set"));
    let out = add(
        "gu-2",
        &["--api-key-env", "GU_KEY"],
        None,
        &[("GU_KEY", KEY)],
    );
    assert_eq!(code(&out), 0, "{out:?}");
    let out = add("gu-3", &["--api-key-env", "UNSET_KEY_VAR"], None, &[]);
    assert_eq!(code(&out), 2, "{out:?}");
    let out = add(
        "gu-4",
        &["--api-key-stdin", "--api-key-env", "GU_KEY"],
        None,
        &[],
    );
    assert_eq!(code(&out), 2, "one source at most");
    let out = add("gu", &[], None, &[]);
    assert_eq!(code(&out), 4, "the code is taken");

    let mut outputs = Vec::new();
    for args in [
        vec!["agency", "list", "--data-dir", &d, "--station", "seodaemun"],
        vec![
            "agency",
            "list",
            "--data-dir",
            &d,
            "--station",
            "seodaemun",
            "--json",
        ],
    ] {
        let out = run_with(&args, None, &[("RUST_LOG", "trace")]);
        assert_eq!(code(&out), 0);
        outputs.push(out);
    }
    let listed: Value = serde_json::from_slice(&outputs[1].stdout).expect("json");
    assert_eq!(listed[0]["open311"]["api_key_set"], true);
    let rekey = run_with(
        &[
            "agency",
            "update",
            "--data-dir",
            &d,
            "--station",
            "seodaemun",
            "--code",
            "gu",
            "--api-key-stdin",
        ],
        Some("rotated-key-77\n"),
        &[("RUST_LOG", "trace")],
    );
    assert_eq!(code(&rekey), 0, "{rekey:?}");
    assert!(stdout(&rekey).starts_with("updated agency gu"));
    let cleared = run(&[
        "agency",
        "update",
        "--data-dir",
        &d,
        "--station",
        "seodaemun",
        "--code",
        "gu-2",
        "--clear-api-key",
    ]);
    assert!(stdout(&cleared).contains("key not set"), "{cleared:?}");
    outputs.push(rekey);
    outputs.push(cleared);
    for out in &outputs {
        for text in [
            stdout(out),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ] {
            assert!(
                !text.contains(KEY) && !text.contains("rotated-key-77"),
                "{text}"
            );
        }
    }
    assert_eq!(
        sql(
            dir.path(),
            "SELECT open311_api_key FROM agencies WHERE code = 'gu'"
        ),
        ["rotated-key-77"],
        "stored for the sender"
    );
    let audit = sql(
        dir.path(),
        "SELECT coalesce(before_json, '') || after_json FROM audit_log",
    );
    assert!(
        audit
            .iter()
            .all(|row| !row.contains(KEY) && !row.contains("rotated")),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|row| row.contains("\"api_key_changed\":true"))
    );
    let help = run(&["agency", "add", "--help"]);
    assert!(stdout(&help).contains("--api-key-stdin") && stdout(&help).contains("Exit codes"));
}
