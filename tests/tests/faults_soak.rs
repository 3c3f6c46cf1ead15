//! A randomised soak, bounded in time: three phones file sixty reports (a few
//! with a photo) while a seeded RNG toggles TCP faults, outages and 503/429
//! storms every few hundred milliseconds. At the end nothing is lost and
//! nothing is doubled.
//!
//! `POSTCSO_SOAK_SECS` sets the chaos phase (default 30 s, at most what you
//! give it); `POSTCSO_SOAK_SEED` replays a run (the seed is printed first).

use std::time::{Duration, Instant};

use postcso_core::model::ReportId;
use postcso_core::sync::{NetworkState, StopReason};
use postcso_tests::faults::http_stage::Storm;
use postcso_tests::faults::toxiproxy::{Stream, Toxic};
use postcso_tests::faults::{Rig, Rng, assert_exactly_once, seed_from_env, upload_timeouts};
use postcso_tests::phone::fixture_photo;

const PHONES: usize = 3;
const REPORTS_PER_PHONE: u64 = 20;

#[test]
fn a_randomised_soak_loses_and_doubles_nothing() {
    let seed = seed_from_env("POSTCSO_SOAK_SEED", "soak");
    let secs: u64 = std::env::var("POSTCSO_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let mut rng = Rng::new(seed);
    let rig = Rig::with_stage(seed);
    let phones = rig.phones_with(PHONES, upload_timeouts());
    let photo = fixture_photo("npm-exif-0.6.0/test1.jpg");
    let mut filed: Vec<Vec<ReportId>> = vec![Vec::new(); PHONES];
    let mut actions = Vec::new();

    for phone in &phones {
        phone.engine.set_network_state(NetworkState::UNMETERED);
    }
    let chaos_until = Instant::now() + Duration::from_secs(secs);
    let total = PHONES as u64 * REPORTS_PER_PHONE;
    let mut next_report = 0u64;
    while Instant::now() < chaos_until {
        // File the reports spread over the first half of the chaos phase.
        let due = (total as f64
            * (1.0
                - chaos_until
                    .saturating_duration_since(Instant::now())
                    .as_secs_f64()
                    / secs as f64)
            * 2.0)
            .min(total as f64) as u64;
        while next_report < due.max(1).min(total) {
            let p = (next_report % PHONES as u64) as usize;
            let photos = if next_report % 10 == 3 {
                vec![photo.as_path()]
            } else {
                vec![]
            };
            filed[p].push(phones[p].file_report(next_report, &photos));
            next_report += 1;
        }
        // Undo the last fault, then maybe make a new one.
        rig.proxy.clear();
        rig.proxy.enable();
        rig.stage().set(Storm::Calm);
        let action = match rng.below(10) {
            0 => {
                let ms = rng.range(50, 300);
                rig.proxy.add(
                    "latency",
                    Stream::Downstream,
                    Toxic::Latency {
                        ms,
                        jitter_ms: ms / 4,
                    },
                );
                format!("latency {ms} ms")
            }
            1 => {
                let rate = rng.range(16, 256);
                rig.proxy
                    .add("cap", Stream::Upstream, Toxic::Bandwidth { kb_per_s: rate });
                format!("bandwidth {rate} KB/s")
            }
            2 => {
                let after = rng.range(0, 300);
                rig.proxy.add(
                    "reset",
                    Stream::Upstream,
                    Toxic::ResetPeer { after_ms: after },
                );
                format!("reset after {after} ms")
            }
            3 => {
                let bytes = rng.range(10, 3_000);
                let stream = if rng.below(2) == 0 {
                    Stream::Upstream
                } else {
                    Stream::Downstream
                };
                rig.proxy.add("cut", stream, Toxic::LimitData { bytes });
                format!("cut {stream:?} after {bytes} B")
            }
            4 => {
                rig.proxy
                    .add("blackhole", Stream::Upstream, Toxic::Timeout { ms: 0 });
                "blackhole".to_owned()
            }
            5 => {
                rig.proxy
                    .add("half-open", Stream::Downstream, Toxic::Timeout { ms: 0 });
                "half-open".to_owned()
            }
            6 => {
                rig.proxy.disable();
                "outage".to_owned()
            }
            7 => {
                let status = if rng.below(2) == 0 { 503 } else { 429 };
                let count = rng.range(1, 4) as u32;
                rig.stage().set(Storm::Burst {
                    status,
                    count,
                    retry_after: Some(1),
                });
                format!("{count}× {status}")
            }
            8 => {
                let p = rng.below(PHONES as u64) as usize;
                phones[p].engine.set_network_state(NetworkState::OFFLINE);
                phones[p].engine.set_network_state(NetworkState::UNMETERED);
                format!("phone {p} network flap")
            }
            _ => "calm".to_owned(),
        };
        actions.push(action);
        std::thread::sleep(Duration::from_millis(rng.range(200, 800)));
    }
    while next_report < total {
        let p = (next_report % PHONES as u64) as usize;
        filed[p].push(phones[p].file_report(next_report, &[]));
        next_report += 1;
    }
    rig.proxy.clear();
    rig.proxy.enable();
    rig.stage().set(Storm::Calm);
    eprintln!("soak (seed {seed}): {} faults: {actions:?}", actions.len());

    let drain_started = Instant::now();
    for (n, phone) in phones.iter().enumerate() {
        // A network change clears any backoff left from the storms.
        phone.engine.set_network_state(NetworkState::OFFLINE);
        phone.engine.set_network_state(NetworkState::UNMETERED);
        let outcome = phone.engine.sync_now(Duration::from_secs(60));
        assert_eq!(
            outcome.stop,
            StopReason::Drained,
            "phone {n}, seed {seed}: {outcome:?}"
        );
    }
    eprintln!("soak: drained in {:?}", drain_started.elapsed());
    let pairs: Vec<_> = phones
        .iter()
        .zip(&filed)
        .map(|(p, ids)| (p, ids.as_slice()))
        .collect();
    assert_exactly_once(&rig.station, &pairs);
    assert_eq!(
        rig.station.report_count() as u64,
        total,
        "seed {seed}: reports at the station"
    );
}
