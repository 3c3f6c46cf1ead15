//! `submit()` through the FFI object and the core's own `ReportQueue::submit()`,
//! interleaved round by round in one run so both see the same disk and the same
//! load from other processes; prints percentiles of each and of their difference.
//! Criterion's sequential groups are too exposed to a shared machine's drift for
//! a difference this small.
//!
//! `cargo bench -p postcso-ffi --bench submit_side_by_side`

use std::time::{Instant, SystemTime};

use postcso_core::model::{GeoPoint, LocationSource as CoreSource};
use postcso_core::{QueueConfig, ReportQueue};
use std::sync::Arc;

use postcso_core::secrets::FileSecretStore;
use postcso_ffi::{CoreConfig, Location, LocationSource, NetworkState, PostCore};

const ROUNDS: usize = 2_000;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks harness=false benches to list tests.
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let core = PostCore::open(
        CoreConfig {
            data_dir: dir.path().join("ffi").to_string_lossy().into_owned(),
            station_url: "http://127.0.0.1:9/".into(),
            credential: None,
        },
        Arc::new(FileSecretStore::new(dir.path().join("secrets"))),
    )
    .expect("open");
    core.set_network_state(NetworkState {
        online: false,
        metered: false,
        constrained: false,
    })
    .expect("offline");
    // The same set-up as the FFI object: a queue with a sync engine attached
    // (its observer runs on submit) and the network off.
    let queue = std::sync::Arc::new(
        ReportQueue::open(
            QueueConfig::new(dir.path().join("core")),
            FileSecretStore::in_data_dir(dir.path().join("core")),
        )
        .expect("queue"),
    );
    let engine = postcso_core::sync::SyncEngine::start(
        std::sync::Arc::clone(&queue),
        postcso_core::sync::SyncConfig::new("http://127.0.0.1:9/", None),
    )
    .expect("engine");
    engine.set_network_state(postcso_core::sync::NetworkState::OFFLINE);

    let mut ffi = Vec::with_capacity(ROUNDS);
    let mut rust = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let id = core.create_draft().expect("draft");
        core.set_category(id.clone(), "crime_risk".into())
            .expect("category");
        core.set_location(
            id.clone(),
            Location {
                lat: 37.5658,
                lon: 126.9386,
                accuracy_m: Some(7.0),
                altitude_m: None,
                fix_time: SystemTime::now(),
                source: LocationSource::Gps,
            },
        )
        .expect("location");
        let t = Instant::now();
        core.submit(id).expect("submit");
        ffi.push(t.elapsed().as_secs_f64() * 1e6);

        let id = queue.create_draft().expect("draft");
        queue.set_category(id, "crime_risk").expect("category");
        let fix = GeoPoint::new(
            37.5658,
            126.9386,
            Some(7.0),
            None,
            chrono::Utc::now(),
            CoreSource::Gps,
        )
        .expect("fix");
        queue.set_location(id, fix).expect("location");
        let t = Instant::now();
        queue.submit(id).expect("submit");
        rust.push(t.elapsed().as_secs_f64() * 1e6);
    }
    core.close();
    drop(engine);
    let f = summary(&mut ffi);
    let r = summary(&mut rust);
    println!("{ROUNDS} rounds, interleaved; microseconds");
    println!("{:<36} {:>8} {:>8} {:>8}", "", "p50", "p90", "p99");
    println!(
        "{:<36} {:>8.1} {:>8.1} {:>8.1}",
        "PostCore::submit (FFI object)", f[0], f[1], f[2]
    );
    println!(
        "{:<36} {:>8.1} {:>8.1} {:>8.1}",
        "ReportQueue::submit (core + engine)", r[0], r[1], r[2]
    );
    println!(
        "FFI layer cost at p50: {:.1} us ({:.2}x)",
        f[0] - r[0],
        f[0] / r[0]
    );
}

fn summary(samples: &mut [f64]) -> [f64; 3] {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    [at(0.5), at(0.9), at(0.99)]
}
