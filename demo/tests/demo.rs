//! The main job end to end: a small fleet through the flaky link, and the
//! closing table says nothing was lost or duplicated.

use std::process::Command;

#[test]
fn a_small_fleet_delivers_everything_exactly_once_through_outages() {
    let out = Command::new(env!("CARGO_BIN_EXE_postcso-demo"))
        .args([
            "--carriers",
            "6",
            "--reports",
            "2",
            "--uplink-kbps",
            "4000",
            "--seed",
            "7",
        ])
        .output()
        .expect("run the demo");
    let table = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{table}\n{log}");
    let row = |name: &str| -> String {
        table
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no `{name}` row in:\n{table}"))
            .split('│')
            .nth(2)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    assert_eq!(row("reports filed"), "12");
    assert_eq!(row("delivered (with every photo)"), "12");
    assert_eq!(row("duplicated (must be 0)"), "0");
    assert_eq!(row("lost (must be 0)"), "0");
    assert!(
        log.contains("seed 7"),
        "the seed is printed for replay:\n{log}"
    );
}
