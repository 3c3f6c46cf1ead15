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
    // The outages happen while photos flow, on a fast machine too.
    let link = row("link outages / connections cut");
    let (outages, cut) = link.split_once(" / ").expect("`outages / cut`");
    let outages: u64 = outages.parse().expect("outages");
    let cut: u64 = cut.parse().expect("connections cut");
    assert!(outages >= 3, "outages: {link}\n{table}");
    assert!(
        cut >= outages,
        "every outage cuts a connection: {link}\n{table}"
    );
    assert!(
        log.contains("seed 7"),
        "the seed is printed for replay:\n{log}"
    );
}
