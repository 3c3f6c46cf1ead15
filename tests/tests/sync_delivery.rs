//! The sync engine against a real station process on loopback: exactly-once
//! delivery in creation order, refusals that do not block the queue, a refused
//! report corrected and delivered under its id, re-enrolment, triggers, backoff,
//! cancellation and deadlines, and sync decisions the phone fails to save.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use postcso_core::model::{CategoryCode, CategoryInfo, CategoryList, ReportState, ReviewStatus};
use postcso_core::secrets::FileSecretStore;
use postcso_core::sync::{NetworkState, StopReason, SyncErrorKind, SyncEvent};
use postcso_core::{QueueConfig, QueueError, ReportQueue};
use postcso_tests::faults::wait_until;
use postcso_tests::phone::{Phone, fixture_photo};
use postcso_tests::station::{Station, free_port};

const BUDGET: Duration = Duration::from_secs(30);

#[test]
fn the_queue_arrives_exactly_once_in_creation_order() {
    let station = Station::start();
    let codes = station.enrolment_codes(1);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    let ids: Vec<_> = (0..6).map(|n| phone.file_report(n, &[])).collect();
    assert_eq!(
        station.report_count(),
        0,
        "nothing leaves the phone while offline"
    );

    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    for id in &ids {
        assert_eq!(station.copies_of(&id.to_string()), 1, "{id}");
        assert_eq!(phone.queue.get(*id).unwrap().state, ReportState::Sent);
    }
    // Arrival order at the station is the phone's creation order.
    let arrived = station.arrival_order();
    assert_eq!(
        arrived,
        ids.iter().map(ToString::to_string).collect::<Vec<_>>()
    );

    // A second run sends nothing again.
    let requests = phone.engine.transfer_stats().requests;
    let again = phone.engine.sync_now(BUDGET);
    assert_eq!(again.delivered, 0);
    assert_eq!(station.report_count(), 6);
    assert!(
        phone.engine.transfer_stats().requests <= requests + 1,
        "only the changes feed is read"
    );
}

#[test]
fn a_lost_acknowledgement_is_settled_by_an_idempotent_retry() {
    let station = Station::start();
    let codes = station.enrolment_codes(1);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    let id = phone.file_report(1, &[]);
    let token = phone.token.clone().unwrap();
    // The station stores the report but the phone never hears back (simulated by
    // delivering it from a second client with the phone's own credential).
    let sealed = sealed_json(&phone, id);
    let status = reqwest::blocking::Client::new()
        .put(format!("{}v1/reports/{id}", station.url()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(sealed)
        .send()
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 201);
    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained);
    assert_eq!(phone.queue.get(id).unwrap().state, ReportState::Sent);
    assert_eq!(station.copies_of(&id.to_string()), 1);
}

#[test]
fn a_report_the_station_refuses_does_not_block_the_ones_behind_it() {
    let station = Station::start();
    let codes = station.enrolment_codes(1);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    let first = phone.file_report(1, &[]);
    // A category only this phone knows: the station refuses the report for good.
    let mut entries = CategoryList::default().entries().to_vec();
    entries.push(CategoryInfo {
        code: CategoryCode::parse("graffiti").unwrap(),
        name_ko: "낙서".into(),
        name_en: "Graffiti".into(),
        guidance: String::new(),
        retired: false,
    });
    phone
        .queue
        .replace_categories(CategoryList::new(entries))
        .unwrap();
    let refused = phone.queue.create_draft().unwrap();
    phone.queue.set_category(refused, "graffiti").unwrap();
    phone
        .queue
        .set_location(refused, phone.queue.get(first).unwrap().location.unwrap())
        .unwrap();
    phone.queue.submit(refused).unwrap();
    let last = phone.file_report(3, &[]);

    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    let r = phone.queue.get(refused).unwrap();
    assert_eq!(r.state, ReportState::RejectedByServer);
    let message = r.server_message.unwrap();
    assert!(
        message.contains("/category"),
        "the station's message names the field: {message}"
    );
    assert_eq!(phone.queue.get(first).unwrap().state, ReportState::Sent);
    assert_eq!(
        phone.queue.get(last).unwrap().state,
        ReportState::Sent,
        "the report behind was not blocked"
    );
    assert_eq!(station.copies_of(&refused.to_string()), 0);
    assert!(phone.events.events().iter().any(|e| matches!(e,
        SyncEvent::ReportState { id, state: ReportState::RejectedByServer } if *id == refused)));
}

#[test]
fn a_refused_report_is_corrected_sealed_again_and_delivered_under_its_id() {
    let station = Station::start();
    let codes = station.enrolment_codes(1);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    let photo = fixture_photo("npm-exif-0.6.0/test1.jpg");
    let id = phone.file_report(1, &[photo.as_path()]);
    let first_hash = phone.queue.get(id).unwrap().content_hash.unwrap();
    // While the carrier was offline, the admin retired the report's category:
    // the station refuses the report for good.
    let admin = station.staff_session("lee", "admin");
    station.retire_category(&admin, "safety_facility");

    phone.engine.set_network_state(NetworkState::UNMETERED);
    // (Coming online also starts a run by itself, which may be the one that
    // meets the refusal; this one then finds the queue settled.)
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    let refused = phone.queue.get(id).unwrap();
    assert_eq!(refused.state, ReportState::RejectedByServer);
    assert!(
        refused
            .server_message
            .as_deref()
            .unwrap()
            .contains("/category"),
        "{:?}",
        refused.server_message
    );
    assert_eq!(
        station.copies_of(&id.to_string()),
        0,
        "a refusal stores nothing"
    );

    // The carrier takes it back: a draft again, with the station's reason.
    assert_eq!(phone.queue.retry_rejected(id).unwrap(), ReportState::Draft);
    phone.events.wait_for(
        Duration::from_secs(5),
        "the report back as a draft",
        |e| matches!(e, SyncEvent::ReportState { id: r, state: ReportState::Draft } if *r == id),
    );
    let draft = phone.queue.get(id).unwrap();
    assert_eq!(draft.content_hash, None);
    assert!(draft.server_message.is_some(), "the reason stays readable");
    // The feed brought the retirement: sealing it unchanged is refused on the phone.
    assert!(
        matches!(phone.queue.submit(id), Err(QueueError::Category(_))),
        "an uncorrected report must not be sealed again"
    );

    // Corrected, sealed again, delivered: same id, new content, once.
    phone.queue.set_category(id, "crime_risk").unwrap();
    let receipt = phone.queue.submit(id).unwrap();
    assert_ne!(receipt.content_hash, first_hash);
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    let sent = phone.queue.get(id).unwrap();
    assert_eq!(sent.state, ReportState::Sent);
    assert_eq!(sent.server_message, None);
    let key = id.to_string();
    assert_eq!(station.copies_of(&key), 1);
    assert!(station.is_complete(&key), "the photo arrived too");
    assert_eq!(
        station.query_strings(
            "SELECT category FROM reports WHERE CAST(id AS TEXT) = $1",
            &[&key]
        ),
        vec!["crime_risk".to_owned()]
    );
    assert_eq!(
        station.query_strings(
            "SELECT content_hash FROM reports WHERE CAST(id AS TEXT) = $1",
            &[&key]
        ),
        vec![receipt.content_hash]
    );
}

#[test]
fn a_revoked_device_stops_and_asks_to_reenrol_without_touching_the_queue() {
    let station = Station::start();
    let codes = station.enrolment_codes(2);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    station.revoke(&codes[0].label);
    let ids: Vec<_> = (0..3).map(|n| phone.file_report(n, &[])).collect();
    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::ReEnrolRequired);
    assert!(phone.events.events().contains(&SyncEvent::ReEnrolRequired));
    for id in &ids {
        assert_eq!(phone.queue.get(*id).unwrap().state, ReportState::Queued);
    }
    // Still stopped on the next try, without asking the station again.
    let requests = phone.engine.transfer_stats().requests;
    assert_eq!(
        phone.engine.sync_now(BUDGET).stop,
        StopReason::ReEnrolRequired
    );
    assert_eq!(phone.engine.transfer_stats().requests, requests);

    phone
        .engine
        .enrol_blocking(&codes[1].code)
        .expect("re-enrol");
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    for id in &ids {
        assert_eq!(station.copies_of(&id.to_string()), 1);
    }
}

#[test]
fn coming_online_or_submitting_while_online_syncs_without_being_asked() {
    let station = Station::start();
    let codes = station.enrolment_codes(1);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    let offline = phone.file_report(1, &[]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(phone.queue.get(offline).unwrap().state, ReportState::Queued);

    phone.engine.set_network_state(NetworkState::UNMETERED);
    phone.events.wait_for(
        Duration::from_secs(10),
        "sent after coming online",
        |e| matches!(e, SyncEvent::ReportState { id, state: ReportState::Sent } if *id == offline),
    );
    let online = phone.file_report(2, &[]);
    phone.events.wait_for(
        Duration::from_secs(10),
        "sent after submit",
        |e| matches!(e, SyncEvent::ReportState { id, state: ReportState::Sent } if *id == online),
    );
    assert_eq!(station.copies_of(&online.to_string()), 1);
    // The UI hears the counts change without polling.
    phone.events.wait_for(
        Duration::from_secs(5),
        "counts with nothing unsent",
        |e| matches!(e, SyncEvent::QueueCounts(stats) if stats.sent == 2 && stats.unsent() == 0),
    );
}

#[test]
fn a_station_outage_backs_off_and_the_backoff_survives_an_app_restart() {
    let mut station = Station::start();
    let codes = station.enrolment_codes(1);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    station.kill();
    let id = phone.file_report(1, &[]);
    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(Duration::from_secs(1));
    assert!(
        matches!(
            outcome.stop,
            StopReason::BackingOff { .. } | StopReason::DeadlineReached
        ),
        "{outcome:?}"
    );
    assert_eq!(phone.queue.get(id).unwrap().state, ReportState::Queued);

    // The app is killed and started again: the backoff is still in force, so the
    // restarted app does not hammer the station.
    let phone = phone.restart(&station.url());
    phone.engine.set_network_state(NetworkState::UNMETERED);
    let requests = phone.engine.transfer_stats().requests;
    let outcome = phone.engine.sync_now(Duration::from_millis(10));
    assert!(
        matches!(outcome.stop, StopReason::BackingOff { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        phone.engine.transfer_stats().requests,
        requests,
        "no request during the backoff"
    );

    station.serve();
    // A network change (here offline, then Wi-Fi) is a fresh chance: the backoff is reset.
    phone.engine.set_network_state(NetworkState::OFFLINE);
    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    assert_eq!(station.copies_of(&id.to_string()), 1);
}

#[test]
fn cancel_stops_a_hanging_sync_within_a_second() {
    // A server that accepts connections and never answers: a blackhole.
    let blackhole = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", blackhole.local_addr().unwrap());
    let _keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in blackhole.incoming().take(16) {
            held.push(conn);
        }
    });
    let phone = Phone::open(
        tempfile::tempdir().unwrap(),
        &url,
        None,
        Some("pcd_test".into()),
    );
    phone.engine.set_network_state(NetworkState::OFFLINE);
    let id = phone.file_report(1, &[]);
    phone.engine.set_network_state(NetworkState::UNMETERED);
    std::thread::scope(|s| {
        let started = Instant::now();
        let run = s.spawn(|| phone.engine.sync_now(Duration::from_secs(60)));
        std::thread::sleep(Duration::from_millis(300));
        let cancelled_at = Instant::now();
        phone.engine.cancel();
        let outcome = run.join().unwrap();
        assert!(
            cancelled_at.elapsed() < Duration::from_secs(1),
            "took {:?}",
            cancelled_at.elapsed()
        );
        assert!(
            matches!(outcome.stop, StopReason::Cancelled),
            "{outcome:?} after {:?}",
            started.elapsed()
        );
    });
    // The background run stopped by the same cancel puts the report back at once.
    wait_until(
        Duration::from_secs(1),
        "the report back in the queue",
        || phone.queue.get(id).unwrap().state == ReportState::Queued,
    );

    // A deadline ends a run cleanly too, just before it passes.
    let started = Instant::now();
    let outcome = phone.engine.sync_now(Duration::from_millis(800));
    assert_eq!(outcome.stop, StopReason::DeadlineReached, "{outcome:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(phone.queue.get(id).unwrap().state, ReportState::Queued);
}

#[test]
fn the_stations_review_comes_back_to_the_phone() {
    let station = Station::start();
    let codes = station.enrolment_codes(1);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    let fixed = phone.file_report(1, &[]);
    let refused = phone.file_report(2, &[]);
    phone.engine.set_network_state(NetworkState::UNMETERED);
    assert_eq!(phone.engine.sync_now(BUDGET).stop, StopReason::Drained);
    // The feed starts with the station's category list, stored on the phone.
    assert!(
        phone
            .events
            .events()
            .contains(&SyncEvent::CategoriesUpdated)
    );
    assert_eq!(phone.queue.categories().entries().len(), 6);

    let session = station.supervisor_session("kim");
    station.triage(&session, &fixed.to_string(), "accepted", None);
    station.triage(&session, &fixed.to_string(), "fixed", None);
    station.triage(
        &session,
        &refused.to_string(),
        "rejected",
        Some("duplicate of an earlier report"),
    );
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    assert_eq!(
        phone.queue.get(fixed).unwrap().review_status,
        Some(ReviewStatus::Fixed)
    );
    let rejected = phone.queue.get(refused).unwrap();
    assert_eq!(rejected.review_status, Some(ReviewStatus::Rejected));
    assert_eq!(
        rejected.server_message.as_deref(),
        Some("duplicate of an earlier report"),
        "the carrier reads why"
    );
    assert!(phone.events.events().contains(&SyncEvent::ReviewStatus {
        id: fixed,
        status: ReviewStatus::Fixed
    }));

    // The feed's cursor is kept: a further run reads nothing new and changes nothing.
    let before = phone.queue.get(fixed).unwrap();
    assert_eq!(phone.engine.sync_now(BUDGET).stop, StopReason::Drained);
    assert_eq!(phone.queue.get(fixed).unwrap(), before);
}

#[test]
fn a_reenrol_stop_the_phone_cannot_save_is_surfaced_as_a_storage_error() {
    let station = Station::start();
    let codes = station.enrolment_codes(1);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    station.revoke(&codes[0].label);
    let id = phone.file_report(1, &[]);
    refuse_sync_state_writes(&phone.dir, "reenrol_required");

    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::ReEnrolRequired, "{outcome:?}");
    let events = phone.events.events();
    assert!(events.contains(&SyncEvent::ReEnrolRequired));
    assert!(
        events.iter().any(|e| matches!(e,
            SyncEvent::Error { kind: SyncErrorKind::Storage, message, report: None }
                if message.contains("enrolled again"))),
        "{events:#?}"
    );
    assert_eq!(phone.queue.get(id).unwrap().state, ReportState::Queued);
}

#[test]
fn a_backoff_the_phone_cannot_save_is_surfaced_and_saved_whole_or_not_at_all() {
    // Nothing listens on this port: every attempt fails at once, transiently.
    let url = format!("http://127.0.0.1:{}/", free_port());
    let dir = tempfile::tempdir().unwrap();
    drop(
        ReportQueue::open(
            QueueConfig::new(dir.path()),
            FileSecretStore::in_data_dir(dir.path()),
        )
        .unwrap(),
    );
    // Only the backoff's time is refused; its failure count must not be saved alone.
    refuse_sync_state_writes(&dir, "backoff_not_before_ms");
    let phone = Phone::open(dir, &url, None, Some("pcd_test".into()));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    let id = phone.file_report(1, &[]);
    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(Duration::from_secs(1));
    assert!(
        matches!(
            outcome.stop,
            StopReason::BackingOff { .. } | StopReason::DeadlineReached
        ),
        "{outcome:?}"
    );
    let events = phone.events.events();
    assert!(
        events.iter().any(|e| matches!(e,
            SyncEvent::Error { kind: SyncErrorKind::Storage, message, report: None }
                if message.contains("wait before the next sync attempt"))),
        "{events:#?}"
    );
    let saved: i64 = rusqlite::Connection::open(phone.dir.path().join("queue.db"))
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sync_state WHERE key LIKE 'backoff_%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(saved, 0, "the failure count was not saved without its time");
    // Coming online also started a run in the background, which may still hold
    // the report when `sync_now` returns: wait for it to put the report back.
    let settle = std::time::Instant::now() + Duration::from_secs(10);
    while phone.queue.get(id).unwrap().state == ReportState::Sending
        && std::time::Instant::now() < settle
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(phone.queue.get(id).unwrap().state, ReportState::Queued);
}

/// Makes the phone's database refuse to save the sync state `key`, as a failing
/// disk would, through a trigger added from a second connection.
fn refuse_sync_state_writes(dir: &tempfile::TempDir, key: &str) {
    rusqlite::Connection::open(dir.path().join("queue.db"))
        .unwrap()
        .execute_batch(&format!(
            "CREATE TRIGGER test_refuse_insert BEFORE INSERT ON sync_state \
               WHEN NEW.key = '{key}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;
             CREATE TRIGGER test_refuse_update BEFORE UPDATE ON sync_state \
               WHEN NEW.key = '{key}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
        ))
        .unwrap();
}

/// The sealed JSON a report is sent with, read from the phone's database.
fn sealed_json(phone: &Phone, id: postcso_core::model::ReportId) -> String {
    rusqlite::Connection::open(phone.dir.path().join("queue.db"))
        .unwrap()
        .query_row(
            "SELECT content_json FROM reports WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .unwrap()
}
