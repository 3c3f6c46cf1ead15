//! Zone updates made with the admin CLI reach a phone's local store through
//! the changes feed of a real station process.

use std::time::Duration;

use postcso_core::model::ZoneArea;
use postcso_core::sync::{NetworkState, StopReason, SyncEvent};
use postcso_tests::phone::Phone;
use postcso_tests::station::Station;

const BUDGET: Duration = Duration::from_secs(30);

#[test]
fn a_zone_added_and_retired_at_the_station_reaches_the_phone() {
    let station = Station::start();
    let codes = station.enrolment_codes(2);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    let other = Phone::new(&station.url(), Some(&codes[1].code));
    phone.engine.set_network_state(NetworkState::UNMETERED);
    other.engine.set_network_state(NetworkState::UNMETERED);
    assert_eq!(phone.engine.sync_now(BUDGET).stop, StopReason::Drained);
    assert!(phone.queue.zones().unwrap().is_empty());

    let outline = serde_json::json!({"type": "Polygon", "coordinates": [[
        [126.9312, 37.5641], [126.9401, 37.5641], [126.9401, 37.5702], [126.9312, 37.5641]
    ]]});
    let area_file = station.data_dir().join("route-12.geojson");
    std::fs::write(&area_file, outline.to_string()).unwrap();
    let area_arg = area_file.to_string_lossy().into_owned();
    station.admin(&[
        "zone",
        "add",
        "--station",
        "seodaemun",
        "--code",
        "route-12",
        "--name",
        "Route 12",
        "--area-file",
        &area_arg,
        "--device",
        &codes[0].label,
    ]);
    station.admin(&[
        "zone",
        "add",
        "--station",
        "seodaemun",
        "--code",
        "route-13",
        "--name",
        "Route 13",
    ]);

    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    assert!(phone.events.events().contains(&SyncEvent::ZonesUpdated));
    let zones = phone.queue.zones().unwrap();
    let codes_seen: Vec<&str> = zones.iter().map(|z| z.code.as_str()).collect();
    assert_eq!(codes_seen, ["route-12", "route-13"]);
    assert!(zones[0].assigned, "carrier-001 is on route 12");
    assert!(!zones[1].assigned);
    let expected: ZoneArea = serde_json::from_value(outline).unwrap();
    assert_eq!(zones[0].area.as_ref(), Some(&expected));

    // The other phone gets the same zones, none of them its own.
    assert_eq!(other.engine.sync_now(BUDGET).stop, StopReason::Drained);
    let theirs = other.queue.zones().unwrap();
    assert_eq!(theirs.len(), 2);
    assert!(theirs.iter().all(|z| !z.assigned));

    station.admin(&[
        "zone",
        "retire",
        "--station",
        "seodaemun",
        "--code",
        "route-13",
    ]);
    assert_eq!(phone.engine.sync_now(BUDGET).stop, StopReason::Drained);
    let zones = phone.queue.zones().unwrap();
    assert!(zones[1].retired && !zones[0].retired);
    let listed = station.admin(&["zone", "list", "--station", "seodaemun"]);
    assert!(
        listed.contains("route-12\tRoute 12\t1 device(s)\tarea\tactive"),
        "{listed}"
    );
    assert!(
        listed.contains("route-13\tRoute 13\t0 device(s)\tno area\tretired"),
        "{listed}"
    );
}
