//! HTTP-level faults: storms of 503 and 429 answers with `Retry-After`, from a
//! fault stage in front of a real station process. The engine must wait at
//! least the `Retry-After` before its next request (measured from the stage's
//! own timestamps), and every report must still arrive exactly once.

use std::time::Duration;

use postcso_core::model::ReportId;
use postcso_core::sync::{NetworkState, StopReason};
use postcso_tests::faults::http_stage::{Seen, Storm};
use postcso_tests::faults::{Rig, assert_exactly_once};

const BUDGET: Duration = Duration::from_secs(60);

/// Runs `storm` over a phone's queue of `reports` and checks the waits.
fn weather(storm: Storm, reports: u64, seed: u64) -> Vec<Seen> {
    let rig = Rig::with_stage(seed);
    let phone = rig.phones(1).pop().unwrap();
    let ids: Vec<ReportId> = (0..reports).map(|i| phone.file_report(i, &[])).collect();
    rig.stage().clear_log();
    rig.stage().set(storm);
    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(BUDGET);
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    assert_exactly_once(&rig.station, &[(&phone, &ids)]);
    let seen = rig.stage().seen();
    assert_retry_after_honoured(&seen);
    seen
}

/// After every refusal carrying `Retry-After: n`, the next request arrived no
/// sooner than n seconds after the refusal was answered.
fn assert_retry_after_honoured(seen: &[Seen]) {
    for pair in seen.windows(2) {
        let (refused, next) = (&pair[0], &pair[1]);
        let Some(secs) = refused.retry_after else {
            continue;
        };
        let waited = next.arrived.saturating_duration_since(refused.answered);
        // 10 ms of slack for the engine's millisecond rounding.
        assert!(
            waited + Duration::from_millis(10) >= Duration::from_secs(u64::from(secs)),
            "{} {} came {waited:?} after a {} with Retry-After: {secs}",
            next.method,
            next.path,
            refused.status
        );
    }
}

fn refused(seen: &[Seen], status: u16) -> usize {
    seen.iter()
        .filter(|s| s.faulted && s.status == status)
        .count()
}

#[test]
fn a_503_storm_with_retry_after_is_waited_out() {
    let seen = weather(
        Storm::Burst {
            status: 503,
            count: 3,
            retry_after: Some(1),
        },
        4,
        1,
    );
    assert_eq!(refused(&seen, 503), 3, "{seen:#?}");
}

#[test]
fn a_429_storm_with_retry_after_is_waited_out() {
    // A fixed seed by default, so the storm is the same on every run.
    let seed = std::env::var("POSTCSO_STORM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(42);
    eprintln!("429 storm: seed {seed} (POSTCSO_STORM_SEED={seed})");
    let seen = weather(
        Storm::Share {
            status: 429,
            percent: 40,
            retry_after: Some(1),
        },
        5,
        seed,
    );
    assert!(
        refused(&seen, 429) >= 2,
        "the storm was too weak: {seen:#?}"
    );
}

#[test]
fn a_503_storm_without_retry_after_still_drains() {
    // The backoff alone spaces the retries; nothing is lost or doubled.
    let seen = weather(
        Storm::Burst {
            status: 503,
            count: 5,
            retry_after: None,
        },
        3,
        2,
    );
    assert_eq!(refused(&seen, 503), 5);
}
