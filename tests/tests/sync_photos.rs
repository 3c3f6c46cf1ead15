//! Photos reach the station by tus, byte-identical, in as few requests as the
//! protocol allows, and uploads resume from the station's offset.

use std::time::Duration;

use postcso_core::model::ReportState;
use postcso_core::sync::{NetworkState, StopReason, SyncPolicy};
use postcso_tests::phone::{Phone, fixture_photo};
use postcso_tests::station::Station;
use sha2::{Digest, Sha256};

const BUDGET: Duration = Duration::from_secs(60);

fn photos() -> Vec<std::path::PathBuf> {
    [
        "npm-exif-0.6.0/sony-alpha-6000-crop-4000x3000.jpg",
        "npm-jpeg-exif-1.1.4/IMG_0001.JPG",
        "npm-exif-parser-0.1.12/starfish.jpg",
    ]
    .iter()
    .map(|p| fixture_photo(p))
    .collect()
}

#[test]
fn photos_arrive_byte_identical_and_complete_the_report() {
    let station = Station::start();
    let codes = station.enrolment_codes(1);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    let paths = photos();
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    let with_three = phone.file_report(1, &refs);
    let with_one = phone.file_report(2, &refs[..1]);
    let requests_before = phone.engine.transfer_stats().requests;

    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    for id in [with_three, with_one] {
        let report = phone.queue.get(id).unwrap();
        assert_eq!(report.state, ReportState::Sent);
        assert!(
            station.is_complete(&id.to_string()),
            "{id} not complete at the station"
        );
        for photo in &report.photos {
            let stored = station.blob(&photo.sha256).expect("photo at the station");
            assert_eq!(hex::encode(Sha256::digest(&stored)), photo.sha256);
            assert_eq!(
                stored,
                std::fs::read(phone.queue.photo_path(&photo.sha256)).unwrap()
            );
        }
    }
    // One PUT per report, one creation-with-upload per photo (all under 512 KB),
    // plus a read of the changes feed by each run (the background run woken by
    // going online, and this one).
    let requests = phone.engine.transfer_stats().requests - requests_before;
    assert!(requests <= 2 + 4 + 2, "{requests} requests");
    assert_eq!(phone.engine.transfer_stats().photo_bytes_resent, 0);
}

#[test]
fn metadata_goes_at_once_and_photos_wait_for_an_unmetered_network() {
    let station = Station::start();
    let codes = station.enrolment_codes(1);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_policy(SyncPolicy {
        photos_only_unmetered: true,
        ..SyncPolicy::default()
    });
    phone.engine.set_network_state(NetworkState::OFFLINE);
    let photo = fixture_photo("npm-exif-parser-0.1.12/starfish.jpg");
    let id = phone.file_report(1, &[photo.as_path()]);

    phone.engine.set_network_state(NetworkState::METERED);
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    assert_eq!(
        station.copies_of(&id.to_string()),
        1,
        "the station knows of the report"
    );
    assert!(
        !station.is_complete(&id.to_string()),
        "but has no photo yet"
    );
    assert_eq!(phone.queue.get(id).unwrap().state, ReportState::Queued);
    assert_eq!(phone.engine.transfer_stats().photo_bytes_sent, 0);

    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    assert!(station.is_complete(&id.to_string()));
    assert_eq!(phone.queue.get(id).unwrap().state, ReportState::Sent);
    assert_eq!(station.copies_of(&id.to_string()), 1);
}

#[test]
fn photos_wait_while_the_battery_is_low_and_go_when_it_recovers() {
    let station = Station::start();
    let codes = station.enrolment_codes(1);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    phone.engine.set_battery_low(true);
    let photo = fixture_photo("npm-exif-parser-0.1.12/starfish.jpg");
    let id = phone.file_report(1, &[photo.as_path()]);

    phone.engine.set_network_state(NetworkState::UNMETERED);
    assert_eq!(phone.engine.sync_now(BUDGET).stop, StopReason::Drained);
    assert_eq!(station.copies_of(&id.to_string()), 1, "metadata still goes");
    assert!(!station.is_complete(&id.to_string()));
    assert_eq!(phone.engine.transfer_stats().photo_bytes_sent, 0);

    // The battery recovers: the engine sends the photos by itself.
    phone.engine.set_battery_low(false);
    phone.events.wait_for(Duration::from_secs(20), "sent after the battery recovered", |e| {
        matches!(e, postcso_core::sync::SyncEvent::ReportState { id: r, state: ReportState::Sent } if *r == id)
    });
    assert!(station.is_complete(&id.to_string()));
}
