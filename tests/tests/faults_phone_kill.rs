//! The phone's own process killed with SIGKILL mid-sync, as the OS kills an app:
//! a child process (this test binary, re-executed) opens the phone's data dir
//! and syncs through a slow proxy; the parent kills it at random moments, then
//! reopens the same dir and syncs to the end. Every report must arrive exactly
//! once. Replay with `POSTCSO_PHONE_KILL_SEED=<seed printed by the test>`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use postcso_core::model::ReportId;
use postcso_core::sync::{NetworkState, StopReason};
use postcso_tests::faults::toxiproxy::{Stream, Toxic};
use postcso_tests::faults::{
    Rig, Rng, assert_exactly_once, open_engine_with, open_phone_with, seed_from_env,
    short_timeouts, upload_timeouts,
};
use postcso_tests::phone::fixture_photo;

const CHILD_DIR: &str = "POSTCSO_FAULT_CHILD_DIR";
const CHILD_URL: &str = "POSTCSO_FAULT_CHILD_URL";
const CHILD_TOKEN: &str = "POSTCSO_FAULT_CHILD_TOKEN";
const CHILD_UPLOADS: &str = "POSTCSO_FAULT_CHILD_UPLOADS";
const KILLS: usize = 3;

/// The child's body: sync the phone in the given dir until killed. Does nothing
/// unless started by a parent test below.
#[test]
fn phone_child() {
    let (Some(dir), Ok(url), Ok(token)) = (
        std::env::var_os(CHILD_DIR),
        std::env::var(CHILD_URL),
        std::env::var(CHILD_TOKEN),
    ) else {
        return;
    };
    let (_queue, engine) = open_engine_with(
        Path::new(&dir),
        &url,
        Some(token),
        timeouts(std::env::var_os(CHILD_UPLOADS).is_some()),
    );
    engine.set_network_state(NetworkState::UNMETERED);
    loop {
        engine.sync_now(Duration::from_secs(60));
    }
}

/// Timeouts of the phone, parent and child alike.
fn timeouts(photos: bool) -> postcso_core::sync::Timeouts {
    if photos {
        upload_timeouts()
    } else {
        short_timeouts()
    }
}

/// Reports the station holds complete (metadata and every photo).
fn complete_at_station(rig: &Rig) -> i64 {
    rig.station.query_i64(
        "SELECT count(*) FROM reports WHERE CAST(complete AS INTEGER) = 1",
        &[],
    )
}

/// Files `count` reports (with `photos` each, through a capped link when there
/// are any), kills a syncing child process `KILLS` times after `kill_after_ms`
/// (a random range), then syncs to the end in this process.
fn killed_mid_sync(count: u64, photos: &[&Path], kill_after_ms: (u64, u64), seed: u64) {
    let mut rng = Rng::new(seed);
    let with_photos = !photos.is_empty();
    let rig = Rig::start();
    rig.proxy.add(
        "latency",
        Stream::Downstream,
        Toxic::Latency {
            ms: 100,
            jitter_ms: 20,
        },
    );
    if with_photos {
        rig.proxy
            .add("cap", Stream::Upstream, Toxic::Bandwidth { kb_per_s: 128 });
    }
    let phone = rig.phones_with(1, timeouts(with_photos)).pop().unwrap();
    let ids: Vec<ReportId> = (0..count).map(|i| phone.file_report(i, photos)).collect();
    let (dir, token) = phone.close();
    let token = token.expect("enrolled");
    let exe = std::env::current_exe().unwrap();
    let mut kills_mid_run = 0;
    for round in 0..KILLS {
        let mut child = Command::new(&exe);
        child
            .args(["--exact", "phone_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_URL, rig.url())
            .env(CHILD_TOKEN, &token)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if with_photos {
            child.env(CHILD_UPLOADS, "1");
        }
        let mut child = child.spawn().unwrap();
        let before = complete_at_station(&rig);
        std::thread::sleep(Duration::from_millis(
            rng.range(kill_after_ms.0, kill_after_ms.1),
        ));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let after = complete_at_station(&rig);
        let received = rig.station.query_i64(
            "SELECT CAST(coalesce(sum(upload_offset), 0) AS BIGINT) FROM uploads",
            &[],
        );
        eprintln!(
            "kill {round}: {before} reports complete at the station before, {after} at the kill; \
             {received} photo bytes received"
        );
        if (after as usize) < ids.len() && (after > before || received > 0) {
            kills_mid_run += 1;
        }
    }
    assert!(
        kills_mid_run >= 1,
        "no kill landed mid-run (seed {seed}); the test proved nothing"
    );
    let phone = open_phone_with(dir, &rig.url(), Some(token), timeouts(with_photos));
    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(Duration::from_secs(90));
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    assert_exactly_once(&rig.station, &[(&phone, &ids)]);
}

#[test]
fn the_phone_killed_with_sigkill_mid_sync_loses_and_doubles_nothing() {
    let seed = seed_from_env("POSTCSO_PHONE_KILL_SEED", "phone kill");
    killed_mid_sync(20, &[], (300, 1_200), seed);
}

#[test]
fn the_phone_killed_with_sigkill_mid_upload_resumes_its_photos() {
    let seed = seed_from_env("POSTCSO_PHONE_KILL_SEED", "phone kill, photos");
    let photos = [
        fixture_photo("npm-exif-0.6.0/sony-alpha-6000-crop-4000x3000.jpg"),
        fixture_photo("npm-exif-parser-0.1.12/starfish.jpg"),
    ];
    let refs: Vec<&Path> = photos.iter().map(|p| p.as_path()).collect();
    killed_mid_sync(2, &refs, (800, 2_500), seed);
}
