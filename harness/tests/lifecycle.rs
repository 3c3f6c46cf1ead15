//! The harness against the real station binary: a station is created,
//! served, enrolled on, signed in to, stopped and served again over the same
//! dir; a server that cannot start, a failing admin command and a missing
//! binary are typed errors.

use postcso_harness::blocking::{run, station_binary};
use postcso_harness::{HarnessError, Logs, ServeOptions, StationDir, enrol_device, sign_in};

const PASSWORD: &str = "a long enough test password";

#[test]
fn a_station_serves_enrols_stops_and_serves_again_over_its_dir() {
    let dir = StationDir::temporary(station_binary()).expect("data dir");
    run("station create", dir.create_station("mapo", "Mapo"));
    run(
        "user add",
        dir.add_user("mapo", "kim", "supervisor", PASSWORD),
    );
    let codes = run("enrolment codes", dir.enrolment_codes("mapo", 2));
    assert_eq!(codes.len(), 2);
    assert_eq!(codes[0].label, "carrier-001");

    let http = reqwest::Client::new();
    let mut server = run("serve", dir.serve(&ServeOptions::default()));
    let port: u16 = server
        .url()
        .strip_prefix("http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .expect("a loopback URL with a port");
    let device = run("enrol", enrol_device(&http, server.url(), &codes[0].code));
    assert_eq!(device.label, "carrier-001");
    let session = run(
        "sign in",
        sign_in(&http, server.url(), "mapo", "kim", PASSWORD),
    );
    assert!(!session.is_empty());
    let status = run("stop", server.stop());
    assert!(status.success(), "SIGTERM is a clean exit: {status}");
    assert_eq!(server.pid(), None);

    // Served again on the same port over the same dir: the used code stays used.
    let options = ServeOptions {
        port,
        ..ServeOptions::default()
    };
    let mut again = run("serve again", dir.serve(&options));
    assert_eq!(again.url(), server.url());
    let reused = run_err(enrol_device(&http, again.url(), &codes[0].code));
    assert!(
        matches!(reused, HarnessError::Unexpected { status, .. } if status.is_client_error()),
        "{reused}"
    );
    run("enrol", enrol_device(&http, again.url(), &codes[1].code));
    run("kill", again.kill());
    assert_eq!(again.pid(), None);
}

#[test]
fn a_server_that_cannot_start_and_a_failing_command_are_typed_errors() {
    let dir = StationDir::temporary(station_binary()).expect("data dir");
    let log = tempfile::NamedTempFile::new().expect("log file");
    let options = ServeOptions {
        args: vec!["--blob-store".to_owned(), "gs://bucket/x".to_owned()],
        logs: Logs::File(log.path().to_owned()),
        ..ServeOptions::default()
    };
    let refused = run_err(dir.serve(&options));
    assert!(
        matches!(&refused, HarnessError::NotListening(why) if why.contains("exited")),
        "{refused}"
    );
    let logged = std::fs::read_to_string(log.path()).expect("log");
    assert!(logged.contains("unsupported blob store"), "{logged}");

    run("station create", dir.create_station("mapo", "Mapo"));
    let again = run_err(dir.create_station("mapo", "Mapo"));
    assert!(
        matches!(&again, HarnessError::Command { command, stderr, .. }
            if command.starts_with("postcso-station station create") && !stderr.is_empty()),
        "{again}"
    );
}

#[test]
fn a_missing_binary_is_named() {
    let missing = std::env::temp_dir().join("no-such-postcso-station");
    let error = StationDir::temporary(&missing).expect_err("no binary");
    assert!(matches!(&error, HarnessError::NoBinary(path) if *path == missing));
}

/// The error a harness future ends with; panics when it succeeds.
fn run_err<T>(future: impl Future<Output = Result<T, HarnessError>>) -> HarnessError {
    match run("expected failure", async { Ok(future.await) }) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}
