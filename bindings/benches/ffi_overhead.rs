//! The Rust side of the FFI overhead figures: `noop()` and `submit()` called on
//! the FFI object from Rust (no foreign boundary), next to the core's own
//! `ReportQueue::submit()`, so the cost of the FFI layer's own work (id parsing,
//! the closed check, record conversion) is visible. `noop` is also called
//! through its C-ABI scaffolding exactly as a foreign binding does it (clone the
//! object handle, call with a `RustCallStatus`): the Rust half of every foreign
//! call. The Kotlin side of the same calls (through JNA) is measured in
//! `android/`, the Python side in `python/bench/`; BENCHMARKS.md sets them side by side.
//!
//! `cargo bench -p postcso-ffi --bench ffi_overhead`

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use postcso_core::model::{GeoPoint, LocationSource as CoreSource};
use postcso_core::{QueueConfig, ReportQueue};
use std::sync::Arc;

use postcso_core::secrets::FileSecretStore;
use postcso_ffi::{CoreConfig, Location, LocationSource, PostCore};

/// A loopback port nothing listens on; the network is also set offline, so no
/// sync runs during the measurement.
const NOWHERE: &str = "http://127.0.0.1:9/";

// The scaffolding UniFFI generates for `PostCore` (see ios/Sources/PostcsoFFI/postcsoFFI.h).
unsafe extern "C" {
    fn uniffi_postcso_ffi_fn_clone_postcore(
        handle: u64,
        status: &mut uniffi::RustCallStatus,
    ) -> u64;
    fn uniffi_postcso_ffi_fn_method_postcore_noop(handle: u64, status: &mut uniffi::RustCallStatus);
}

fn ready_ffi_draft(core: &PostCore) -> String {
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
    id
}

fn ready_core_draft(queue: &ReportQueue) -> postcso_core::model::ReportId {
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
    id
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let core = PostCore::open(
        CoreConfig {
            data_dir: dir.path().join("ffi").to_string_lossy().into_owned(),
            station_url: NOWHERE.into(),
            credential: None,
        },
        Arc::new(FileSecretStore::new(dir.path().join("secrets"))),
    )
    .expect("open");
    core.set_network_state(postcso_ffi::NetworkState {
        online: false,
        metered: false,
        constrained: false,
    })
    .expect("offline");
    let queue = ReportQueue::open(
        QueueConfig::new(dir.path().join("core")),
        FileSecretStore::in_data_dir(dir.path().join("core")),
    )
    .expect("queue");

    c.bench_function("ffi_object_noop_from_rust", |b| b.iter(|| core.noop()));
    // The handle stays owned by this Arc for the whole bench; each call clones it
    // and the method consumes the clone, as the foreign side does.
    let handle = uniffi::Handle::from_arc(std::sync::Arc::clone(&core)).as_raw();
    c.bench_function("ffi_noop_through_c_abi", |b| {
        b.iter(|| {
            let mut status = uniffi::RustCallStatus::default();
            // SAFETY: `handle` is a live `Arc<PostCore>` handle made above; the
            // clone is consumed by the method call, as in the generated bindings.
            unsafe {
                let clone = uniffi_postcso_ffi_fn_clone_postcore(black_box(handle), &mut status);
                uniffi_postcso_ffi_fn_method_postcore_noop(clone, &mut status);
            }
            assert!(matches!(status.code, uniffi::RustCallStatusCode::Success));
        })
    });
    // SAFETY: releases the reference taken by `from_arc` above.
    drop(unsafe { uniffi::Handle::from_raw_unchecked(handle).into_arc::<PostCore>() });
    c.bench_function("ffi_object_stats_from_rust", |b| {
        b.iter(|| black_box(core.stats().expect("stats")))
    });
    let mut group = c.benchmark_group("submit");
    group.sample_size(200);
    group.bench_function("ffi_object_submit_from_rust", |b| {
        b.iter_batched(
            || ready_ffi_draft(&core),
            |id| black_box(core.submit(id).expect("submit")),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("core_queue_submit", |b| {
        b.iter_batched(
            || ready_core_draft(&queue),
            |id| black_box(queue.submit(id).expect("submit")),
            BatchSize::SmallInput,
        )
    });
    group.finish();
    core.close();
}

criterion_group!(ffi, benches);
criterion_main!(ffi);
