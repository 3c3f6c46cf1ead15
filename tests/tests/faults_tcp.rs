//! TCP faults between the phone core and a real station process, injected by a
//! real Toxiproxy: latency and a bandwidth cap, connections cut after N bytes or
//! reset, a blackhole, a half-open connection (requests arrive, answers do
//! not), the station unreachable, and the station killed with SIGKILL mid-run.
//! Every scenario ends with the same check: each report arrives exactly once and
//! is `sent` on the phone.

use std::time::{Duration, Instant};

use postcso_core::model::{ReportId, ReportState};
use postcso_core::sync::{NetworkState, StopReason, SyncErrorKind, SyncEvent};
use postcso_tests::faults::toxiproxy::{Stream, Toxic};
use postcso_tests::faults::{Rig, assert_exactly_once, network_errors, wait_until};
use postcso_tests::phone::Phone;

const BUDGET: Duration = Duration::from_secs(60);
const PATIENCE: Duration = Duration::from_secs(30);

/// Reports of `phone` the engine has announced as sent.
fn sent(phone: &Phone) -> usize {
    phone
        .events
        .events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                SyncEvent::ReportState {
                    state: ReportState::Sent,
                    ..
                }
            )
        })
        .count()
}

/// Network errors the engine reported while delivering a report (not the pull).
fn report_errors(phone: &Phone) -> usize {
    phone
        .events
        .events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                SyncEvent::Error {
                    kind: SyncErrorKind::Network,
                    report: Some(_),
                    ..
                }
            )
        })
        .count()
}

/// Files `n` reports while offline.
fn file(phone: &Phone, n: u64) -> Vec<ReportId> {
    (0..n).map(|i| phone.file_report(i, &[])).collect()
}

/// A rig whose answers come back 100 ms late, so a test can strike between
/// requests, and one phone with `reports` reports filed offline.
fn slowed_rig(reports: u64) -> (Rig, Phone, Vec<ReportId>) {
    let rig = Rig::start();
    let phone = rig.phones(1).pop().unwrap();
    let ids = file(&phone, reports);
    rig.proxy.add(
        "latency",
        Stream::Downstream,
        Toxic::Latency {
            ms: 100,
            jitter_ms: 0,
        },
    );
    (rig, phone, ids)
}

/// Brings the phone online and syncs to the end on another thread while `faults`
/// runs on this one; asserts the queue drained.
fn sync_while(phone: &Phone, faults: impl FnOnce()) {
    std::thread::scope(|s| {
        let run = s.spawn(|| {
            phone.engine.set_network_state(NetworkState::UNMETERED);
            phone.engine.sync_now(BUDGET)
        });
        faults();
        let outcome = run.join().expect("sync thread");
        assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    });
}

#[test]
fn latency_and_a_bandwidth_cap_slow_delivery_but_lose_nothing() {
    let rig = Rig::start();
    let phone = rig.phones(1).pop().unwrap();
    let ids = file(&phone, 6);
    rig.proxy.add(
        "latency",
        Stream::Downstream,
        Toxic::Latency {
            ms: 200,
            jitter_ms: 50,
        },
    );
    rig.proxy
        .add("cap", Stream::Upstream, Toxic::Bandwidth { kb_per_s: 8 });
    let started = Instant::now();
    sync_while(&phone, || {});
    let took = started.elapsed();
    // Six PUTs and a changes read, each at least 150 ms slower: the toxics acted.
    assert!(took >= Duration::from_millis(7 * 150), "took only {took:?}");
    assert_exactly_once(&rig.station, &[(&phone, &ids)]);
    assert!(
        network_errors(&phone).is_empty(),
        "a slow link is not an error: {:?}",
        network_errors(&phone)
    );
}

/// Cuts every connection after `bytes` on `stream` until two report deliveries
/// failed that way, then lets the queue drain. Returns the reports that were at
/// the station while the phone did not know it.
fn cut_after_n_bytes(stream: Stream, bytes: u64) -> Vec<ReportId> {
    let rig = Rig::start();
    let phone = rig.phones(1).pop().unwrap();
    let ids = file(&phone, 12);
    rig.proxy.add(
        "latency",
        Stream::Downstream,
        Toxic::Latency {
            ms: 50,
            jitter_ms: 0,
        },
    );
    rig.proxy.add("cut", stream, Toxic::LimitData { bytes });
    let mut unacknowledged = Vec::new();
    sync_while(&phone, || {
        wait_until(PATIENCE, "two report deliveries cut", || {
            report_errors(&phone) >= 2
        });
        assert!(sent(&phone) < ids.len(), "the cuts came too late");
        unacknowledged = stored_unacknowledged(&rig, &phone, &ids);
        rig.proxy.remove("cut");
    });
    assert_exactly_once(&rig.station, &[(&phone, &ids)]);
    unacknowledged
}

/// Reports stored at the station that the phone has not seen acknowledged.
fn stored_unacknowledged(rig: &Rig, phone: &Phone, ids: &[ReportId]) -> Vec<ReportId> {
    ids.iter()
        .filter(|id| {
            rig.station.copies_of(&id.to_string()) == 1
                && phone.queue.get(**id).unwrap().state != ReportState::Sent
        })
        .copied()
        .collect()
}

#[test]
fn requests_cut_after_n_bytes_lose_nothing() {
    // A metadata PUT is about 1 KB with its headers: 2 KB lets the first
    // request of a connection through and cuts a later one mid-way.
    cut_after_n_bytes(Stream::Upstream, 2_000);
}

#[test]
fn answers_cut_after_n_bytes_are_settled_by_idempotent_retries() {
    // The status line is the acknowledgement (the engine does not need the
    // body); 10 bytes cut it mid-way: the station stores the report, the phone
    // never hears so, and the retry must not make a second copy.
    let unacknowledged = cut_after_n_bytes(Stream::Downstream, 10);
    assert!(
        !unacknowledged.is_empty(),
        "no acknowledgement was lost; the test proved nothing"
    );
}

#[test]
fn a_connection_reset_mid_run_is_retried_without_loss() {
    let (rig, phone, ids) = slowed_rig(8);
    sync_while(&phone, || {
        wait_until(PATIENCE, "two reports sent", || sent(&phone) >= 2);
        rig.proxy
            .add("reset", Stream::Upstream, Toxic::ResetPeer { after_ms: 0 });
        wait_until(PATIENCE, "a reset seen", || {
            !network_errors(&phone).is_empty()
        });
        rig.proxy.remove("reset");
    });
    assert!(sent(&phone) >= 2);
    assert_exactly_once(&rig.station, &[(&phone, &ids)]);
}

#[test]
fn a_blackhole_is_detected_by_the_read_timeout_and_the_run_recovers() {
    let (rig, phone, ids) = slowed_rig(6);
    sync_while(&phone, || {
        wait_until(PATIENCE, "one report sent", || sent(&phone) >= 1);
        // Data stops both ways; the connection stays open.
        let holed = Instant::now();
        rig.proxy
            .add("blackhole", Stream::Upstream, Toxic::Timeout { ms: 0 });
        wait_until(PATIENCE, "the blackhole noticed", || {
            !network_errors(&phone).is_empty()
        });
        let noticed = holed.elapsed();
        let errors = network_errors(&phone);
        assert!(
            errors.iter().any(|m| m.contains("timed out")),
            "a blackhole ends in a timeout: {errors:?}"
        );
        // The read timeout is 2 s; the request deadline (8 s) must not be what fired.
        assert!(
            noticed < Duration::from_secs(6),
            "the blackhole took {noticed:?} to notice"
        );
        assert!(sent(&phone) < ids.len());
        rig.proxy.remove("blackhole");
    });
    assert_exactly_once(&rig.station, &[(&phone, &ids)]);
}

#[test]
fn a_half_open_connection_loses_answers_and_the_retry_settles_them() {
    let (rig, phone, ids) = slowed_rig(6);
    let mut unacknowledged = Vec::new();
    sync_while(&phone, || {
        wait_until(PATIENCE, "one report sent", || sent(&phone) >= 1);
        // Requests still reach the station; answers vanish, the socket stays open.
        rig.proxy
            .add("half-open", Stream::Downstream, Toxic::Timeout { ms: 0 });
        wait_until(PATIENCE, "the dead answer noticed", || {
            !network_errors(&phone).is_empty()
        });
        // The station has reports the phone does not know it delivered.
        unacknowledged = stored_unacknowledged(&rig, &phone, &ids);
        rig.proxy.remove("half-open");
    });
    assert!(
        !unacknowledged.is_empty(),
        "the half-open link never swallowed an acknowledgement"
    );
    assert_exactly_once(&rig.station, &[(&phone, &ids)]);
}

#[test]
fn the_station_unreachable_mid_run_then_back() {
    let (rig, phone, ids) = slowed_rig(8);
    sync_while(&phone, || {
        wait_until(PATIENCE, "two reports sent", || sent(&phone) >= 2);
        rig.proxy.disable();
        wait_until(PATIENCE, "the outage noticed", || {
            network_errors(&phone).len() >= 2
        });
        let at_station = rig.station.report_count();
        assert!((at_station as usize) < ids.len());
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            rig.station.report_count(),
            at_station,
            "nothing arrives during the outage"
        );
        rig.proxy.enable();
    });
    assert_exactly_once(&rig.station, &[(&phone, &ids)]);
}

#[test]
fn the_station_killed_with_sigkill_mid_run_and_restarted() {
    let mut rig = Rig::start();
    let phone = rig.phones(1).pop().unwrap();
    let ids = file(&phone, 10);
    rig.proxy.add(
        "latency",
        Stream::Downstream,
        Toxic::Latency {
            ms: 100,
            jitter_ms: 0,
        },
    );
    let mut delivered_before_kill = 0;
    std::thread::scope(|s| {
        let run = s.spawn(|| {
            phone.engine.set_network_state(NetworkState::UNMETERED);
            phone.engine.sync_now(BUDGET)
        });
        wait_until(PATIENCE, "two reports sent", || sent(&phone) >= 2);
        rig.station.kill();
        delivered_before_kill = rig.station.report_count();
        wait_until(PATIENCE, "the dead station noticed", || {
            !network_errors(&phone).is_empty()
        });
        rig.station.serve();
        let outcome = run.join().expect("sync thread");
        assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    });
    assert!(
        (delivered_before_kill as usize) < ids.len(),
        "the kill came after the run"
    );
    assert_exactly_once(&rig.station, &[(&phone, &ids)]);
}
