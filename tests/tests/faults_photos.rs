//! Photo uploads (tus) through faults, with real photos, a real station process
//! and a real Toxiproxy: connections reset mid-upload, the station killed with
//! SIGKILL mid-upload. Every report arrives exactly once, every photo is
//! byte-identical at the station (SHA-256), and an interruption costs at most
//! one chunk per upload in flight, counted by the engine and at the proxy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use postcso_core::model::ReportId;
use postcso_core::sync::{NetworkState, StopReason, SyncEvent, SyncPolicy};
use postcso_tests::faults::http_stage::Seen;
use postcso_tests::faults::toxiproxy::{Stream, Toxic};
use postcso_tests::faults::{
    Rig, assert_exactly_once, network_errors, upload_timeouts, wait_until,
};
use postcso_tests::phone::{Phone, fixture_photo};

const BUDGET: Duration = Duration::from_secs(90);
const PATIENCE: Duration = Duration::from_secs(30);
/// The engine uploads the photos of up to this many reports at once
/// (the default `SyncPolicy::uploads_in_flight`); one interruption cuts them all.
const UPLOADS_IN_FLIGHT: u64 = 3;
/// The largest chunk the engine sends before it has measured the link
/// (`FIRST_CHUNK` in core/src/sync/chunk.rs).
const FIRST_CHUNK: u64 = 512 * 1024;
/// Link speed of these tests: slow enough to interrupt uploads mid-chunk.
const KB_PER_S: u64 = 128;

/// Files three reports with one, two and three real photos.
fn file_with_photos(phone: &Phone) -> Vec<ReportId> {
    let photos = [
        fixture_photo("npm-exif-0.6.0/sony-alpha-6000-crop-4000x3000.jpg"),
        fixture_photo("npm-jpeg-exif-1.1.4/IMG_0001.JPG"),
        fixture_photo("npm-exif-parser-0.1.12/starfish.jpg"),
    ];
    let refs: Vec<&Path> = photos.iter().map(PathBuf::as_path).collect();
    (1..=3)
        .map(|n| phone.file_report(n as u64, &refs[..n]))
        .collect()
}

/// Bytes of all photos of `ids`.
fn photo_bytes(phone: &Phone, ids: &[ReportId]) -> u64 {
    ids.iter()
        .flat_map(|id| phone.queue.get(*id).unwrap().photos)
        .map(|p| p.size)
        .sum()
}

/// Chunks confirmed by the station so far.
fn confirmed_chunks(phone: &Phone) -> usize {
    phone
        .events
        .events()
        .iter()
        .filter(|e| matches!(e, SyncEvent::UploadProgress { .. }))
        .count()
}

/// Upload requests carrying photo bytes (creation-with-upload and PATCH).
fn upload_requests(seen: &[Seen]) -> impl Iterator<Item = &Seen> {
    seen.iter().filter(|s| {
        s.path.starts_with("/v1/uploads") && matches!(s.method.as_str(), "POST" | "PATCH")
    })
}

/// Waits for an upload to be under way, then runs `interrupt` and waits until
/// the engine noticed it; `heal` undoes it. Returns when the engine saw it.
fn interrupt_mid_upload(phone: &Phone, interrupt: impl FnOnce(), heal: impl FnOnce()) {
    let chunks = confirmed_chunks(phone);
    let errors = network_errors(phone).len();
    wait_until(PATIENCE, "a chunk confirmed", || {
        confirmed_chunks(phone) > chunks
    });
    // Into the next chunk, which takes about two seconds on this link.
    std::thread::sleep(Duration::from_millis(500));
    interrupt();
    wait_until(PATIENCE, "the interruption noticed", || {
        network_errors(phone).len() > errors
    });
    heal();
}

#[test]
fn photos_survive_resets_mid_upload_and_each_costs_at_most_a_chunk_per_upload() {
    resets_mid_upload(UPLOADS_IN_FLIGHT);
}

#[test]
fn with_one_upload_at_a_time_each_interruption_costs_at_most_one_chunk() {
    resets_mid_upload(1);
}

/// Resets the link twice mid-upload with `in_flight` uploads at a time, and
/// checks every interruption cost at most one chunk per upload in flight.
fn resets_mid_upload(in_flight: u64) {
    let rig = Rig::with_stage(1);
    let phone = rig.phones_with(1, upload_timeouts()).pop().unwrap();
    phone.engine.set_policy(SyncPolicy {
        uploads_in_flight: in_flight as usize,
        ..SyncPolicy::default()
    });
    let ids = file_with_photos(&phone);
    let total = photo_bytes(&phone, &ids);
    rig.proxy.add(
        "cap",
        Stream::Upstream,
        Toxic::Bandwidth { kb_per_s: KB_PER_S },
    );
    let interruptions = 2;
    std::thread::scope(|s| {
        let run = s.spawn(|| {
            phone.engine.set_network_state(NetworkState::UNMETERED);
            phone.engine.sync_now(BUDGET)
        });
        for n in 0..interruptions {
            let name = format!("reset-{n}");
            interrupt_mid_upload(
                &phone,
                || {
                    rig.proxy
                        .add(&name, Stream::Upstream, Toxic::ResetPeer { after_ms: 0 })
                },
                || rig.proxy.remove(&name),
            );
        }
        let outcome = run.join().unwrap();
        assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    });
    assert_exactly_once(&rig.station, &[(&phone, &ids)]);

    let stats = phone.engine.transfer_stats();
    let seen = rig.stage().seen();
    let biggest_chunk = upload_requests(&seen)
        .filter(|s| s.complete)
        .map(|s| s.body_len as u64)
        .max()
        .unwrap_or(0);
    // Bytes that crossed the proxy in upload requests, whole or cut.
    let at_proxy: u64 = upload_requests(&seen).map(|s| s.body_len as u64).sum();
    let errors = network_errors(&phone).len() as u64;
    // Each interruption may cut one chunk of every upload in flight.
    let bound = errors * in_flight * biggest_chunk;
    eprintln!(
        "photos {total} B; engine sent {} B, re-sent {} B; {} B reached the proxy; \
         {errors} interruptions; biggest chunk {biggest_chunk} B; bound {bound} B",
        stats.photo_bytes_sent, stats.photo_bytes_resent, at_proxy
    );
    assert_eq!(
        stats.photo_bytes_sent - stats.photo_bytes_resent,
        total,
        "the engine's own count of first sends is every photo byte once"
    );
    assert!(
        stats.photo_bytes_resent <= bound,
        "re-sent {} B after {errors} interruptions",
        stats.photo_bytes_resent
    );
    assert!(
        at_proxy.saturating_sub(total) <= bound,
        "{} B re-sent through the proxy",
        at_proxy - total
    );
}

#[test]
fn photos_survive_the_station_killed_with_sigkill_mid_upload() {
    let mut rig = Rig::start();
    let phone = rig.phones_with(1, upload_timeouts()).pop().unwrap();
    let ids = file_with_photos(&phone);
    let total = photo_bytes(&phone, &ids);
    rig.proxy.add(
        "cap",
        Stream::Upstream,
        Toxic::Bandwidth { kb_per_s: KB_PER_S },
    );
    std::thread::scope(|s| {
        let run = s.spawn(|| {
            phone.engine.set_network_state(NetworkState::UNMETERED);
            phone.engine.sync_now(BUDGET)
        });
        let station = &mut rig.station;
        let chunks = confirmed_chunks(&phone);
        wait_until(PATIENCE, "a chunk confirmed", || {
            confirmed_chunks(&phone) > chunks
        });
        std::thread::sleep(Duration::from_millis(500));
        station.kill();
        wait_until(PATIENCE, "the dead station noticed", || {
            !network_errors(&phone).is_empty()
        });
        station.serve();
        let outcome = run.join().unwrap();
        assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    });
    assert_exactly_once(&rig.station, &[(&phone, &ids)]);
    let stats = phone.engine.transfer_stats();
    let errors = network_errors(&phone).len() as u64;
    eprintln!(
        "photos {total} B; engine sent {} B, re-sent {} B after {errors} interruptions",
        stats.photo_bytes_sent, stats.photo_bytes_resent
    );
    // No chunk is bigger than the first (512 KiB) or than the biggest photo.
    let biggest_photo = ids
        .iter()
        .flat_map(|id| phone.queue.get(*id).unwrap().photos)
        .map(|p| p.size)
        .max()
        .unwrap_or(0);
    assert_eq!(stats.photo_bytes_sent - stats.photo_bytes_resent, total);
    assert!(
        stats.photo_bytes_resent <= errors * UPLOADS_IN_FLIGHT * FIRST_CHUNK.min(biggest_photo),
        "re-sent {} B",
        stats.photo_bytes_resent
    );
}
