//! The fault-test harness: a real TCP fault proxy (Toxiproxy) and an HTTP fault
//! stage between the phone core and a real station process, a phone with short
//! timeouts, and the exactly-once check every fault test ends with.
//!
//! - [`toxiproxy`]: the Toxiproxy server and its proxies and toxics.
//! - [`http_stage`]: 503 and 429 storms with `Retry-After`, and a request log.
//! - here: [`fault_phone`], [`assert_exactly_once`], a seeded [`Rng`], [`wait_until`].

pub mod http_stage;
pub mod shared_link;
pub mod toxiproxy;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postcso_core::model::{ReportId, ReportState};
use postcso_core::secrets::FileSecretStore;
use postcso_core::sync::{
    BackoffPolicy, NetworkState, SyncConfig, SyncEngine, SyncErrorKind, SyncEvent, SyncListener,
    Timeouts,
};
use postcso_core::{QueueConfig, ReportQueue};
use sha2::{Digest, Sha256};

use self::http_stage::HttpStage;
use self::toxiproxy::{Proxy, Toxiproxy};
use crate::phone::{Phone, Recorder};
use crate::station::Station;

/// Timeouts short enough that a blackhole is noticed within the test's patience:
/// a read timeout of 2 s instead of 20 s.
pub fn short_timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        read: Duration::from_secs(2),
        idle: Duration::from_secs(10),
        request: Duration::from_secs(8),
    }
}

/// Backoff scaled down for tests: the first retry within 200 ms, never more than
/// 1 s, and a `Retry-After` honoured up to 10 s.
pub fn quick_backoff() -> BackoffPolicy {
    BackoffPolicy {
        base: Duration::from_millis(200),
        cap: Duration::from_secs(1),
        max_retry_after: Duration::from_secs(10),
    }
}

/// The engine settings fault tests use: short timeouts, quick backoff.
pub fn fault_config(url: &str, token: Option<String>) -> SyncConfig {
    let mut config = SyncConfig::new(url, token);
    config.timeouts = short_timeouts();
    config.backoff = quick_backoff();
    config
}

/// Timeouts for photo-upload tests through a capped link: the engine's uploads
/// carry no read timeout (reqwest would count it from the request's start), so
/// the size-based request deadline is what must outlast a chunk on a slow link;
/// the longer read timeout covers the metadata and feed requests in between.
pub fn upload_timeouts() -> Timeouts {
    Timeouts {
        read: Duration::from_secs(15),
        request: Duration::from_secs(20),
        ..short_timeouts()
    }
}

/// A phone whose engine talks to `url` (the proxy) with [`fault_config`],
/// enrolled with `code` through that same address.
pub fn fault_phone(url: &str, code: &str) -> Phone {
    fault_phone_with(url, code, short_timeouts())
}

/// [`fault_phone`] with other timeouts.
pub fn fault_phone_with(url: &str, code: &str, timeouts: Timeouts) -> Phone {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut phone = open_phone_with(dir, url, None, timeouts);
    let token = phone.engine.enrol_blocking(code).expect("enrol").token;
    phone.token = Some(token);
    phone
}

/// Opens (or reopens, after a kill) the phone in `dir` with [`fault_config`].
pub fn open_phone(dir: tempfile::TempDir, url: &str, token: Option<String>) -> Phone {
    open_phone_with(dir, url, token, short_timeouts())
}

/// [`open_phone`] with other timeouts.
pub fn open_phone_with(
    dir: tempfile::TempDir,
    url: &str,
    token: Option<String>,
    timeouts: Timeouts,
) -> Phone {
    let (queue, engine) = open_engine_with(dir.path(), url, token.clone(), timeouts);
    let events = Arc::new(Recorder::default());
    engine.set_listener(Some(events.clone() as Arc<dyn SyncListener>));
    Phone {
        queue,
        engine,
        events,
        dir,
        token,
    }
}

/// The queue in `dir` and an engine with [`fault_config`] over it: the phone
/// core without the test's bookkeeping, for a child process.
pub fn open_engine(
    dir: &std::path::Path,
    url: &str,
    token: Option<String>,
) -> (Arc<ReportQueue>, SyncEngine) {
    open_engine_with(dir, url, token, short_timeouts())
}

/// [`open_engine`] with other timeouts.
pub fn open_engine_with(
    dir: &std::path::Path,
    url: &str,
    token: Option<String>,
    timeouts: Timeouts,
) -> (Arc<ReportQueue>, SyncEngine) {
    let queue = Arc::new(
        ReportQueue::open(QueueConfig::new(dir), FileSecretStore::in_data_dir(dir))
            .expect("open queue"),
    );
    let mut config = fault_config(url, token);
    config.timeouts = timeouts;
    let engine = SyncEngine::start(Arc::clone(&queue), config).expect("engine");
    (queue, engine)
}

/// A station, a Toxiproxy server and a proxy in front of the station, optionally
/// with an HTTP fault stage behind the proxy:
/// phone → Toxiproxy → [HTTP stage →] station.
pub struct Rig {
    /// The real station process.
    pub station: Station,
    /// The Toxiproxy server.
    pub toxiproxy: Toxiproxy,
    /// The proxy the phones talk to.
    pub proxy: Proxy,
    /// The HTTP stage, when asked for.
    pub stage: Option<HttpStage>,
}

impl Rig {
    /// phone → Toxiproxy → station.
    pub fn start() -> Self {
        let station = Station::start();
        let toxiproxy = Toxiproxy::start();
        let proxy = toxiproxy.proxy("station", station.port());
        Self {
            station,
            toxiproxy,
            proxy,
            stage: None,
        }
    }

    /// phone → Toxiproxy → HTTP stage → station; `seed` drives the stage's
    /// random refusals.
    pub fn with_stage(seed: u64) -> Self {
        let station = Station::start();
        let stage = HttpStage::start(&station.url(), seed);
        let stage_port = stage
            .url()
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("stage port");
        let toxiproxy = Toxiproxy::start();
        let proxy = toxiproxy.proxy("station", stage_port);
        Self {
            station,
            toxiproxy,
            proxy,
            stage: Some(stage),
        }
    }

    /// The address phones sync with: the proxy.
    pub fn url(&self) -> String {
        self.proxy.url()
    }

    /// The HTTP stage; panics when the rig has none.
    pub fn stage(&self) -> &HttpStage {
        self.stage.as_ref().expect("a rig with an HTTP stage")
    }

    /// `n` phones enrolled through the proxy, offline so nothing moves until the
    /// test says so.
    pub fn phones(&self, n: usize) -> Vec<Phone> {
        self.phones_with(n, short_timeouts())
    }

    /// [`Rig::phones`] with other timeouts.
    pub fn phones_with(&self, n: usize, timeouts: Timeouts) -> Vec<Phone> {
        self.station
            .enrolment_codes(n)
            .iter()
            .map(|code| {
                let phone = fault_phone_with(&self.url(), &code.code, timeouts);
                phone.engine.set_network_state(NetworkState::OFFLINE);
                phone
            })
            .collect()
    }
}

/// Simulates an app restart with [`fault_config`]: engine and queue dropped and
/// reopened from the same dir, talking to `url`.
pub fn restart_phone(phone: Phone, url: &str) -> Phone {
    let (dir, token) = phone.close();
    open_phone(dir, url, token)
}

/// Where the station keeps a photo blob: `DATA_DIR/blobs/ab/abcdef…`.
pub fn station_blob(station: &Station, sha256: &str) -> PathBuf {
    station
        .data_dir()
        .join("blobs")
        .join(&sha256[..2])
        .join(sha256)
}

/// SHA-256 of a file, lowercase hex.
pub fn file_sha256(path: &std::path::Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    hex::encode(Sha256::digest(bytes))
}

/// The check every fault test ends with: each report each phone filed is at the
/// station exactly once and `sent` on the phone, the station holds no others,
/// the changes feed announced each report once, and each photo is at the station
/// byte for byte (SHA-256 of the stored blob equals the phone's processed file).
pub fn assert_exactly_once(station: &Station, filed: &[(&Phone, &[ReportId])]) {
    let has_changes = station.is_postgres()
        || station.query_i64(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'changes'",
            &[],
        ) == 1;
    let mut total = 0;
    let mut lost = Vec::new();
    let mut duplicated = Vec::new();
    for (phone, ids) in filed {
        for id in *ids {
            total += 1;
            let key = id.to_string();
            match station.copies_of(&key) {
                1 => {}
                0 => lost.push(key.clone()),
                n => duplicated.push(format!("{key} ×{n}")),
            }
            if has_changes {
                let created = station.query_i64(
                    "SELECT count(*) FROM changes
                     WHERE CAST(report_id AS TEXT) = $1 AND event = 'created'",
                    &[&key],
                );
                if created > 1 {
                    duplicated.push(format!("{key}: {created} 'created' changes"));
                }
            }
            let report = phone.queue.get(*id).expect("report on the phone");
            assert_eq!(
                report.state,
                ReportState::Sent,
                "{id} is not sent on the phone"
            );
            for photo in &report.photos {
                let at_station = station_blob(station, &photo.sha256);
                assert!(
                    at_station.is_file(),
                    "{id}: photo {} ({}) missing at the station",
                    photo.position,
                    photo.sha256
                );
                assert_eq!(
                    file_sha256(&at_station),
                    file_sha256(&phone.queue.photo_path(&photo.sha256)),
                    "{id}: photo {} differs between phone and station",
                    photo.position
                );
                assert_eq!(file_sha256(&at_station), photo.sha256);
                let received = station.query_i64(
                    "SELECT count(*) FROM report_photos
                     WHERE CAST(report_id AS TEXT) = $1 AND CAST(position AS TEXT) = $2
                       AND received_at IS NOT NULL",
                    &[&key, &photo.position.to_string()],
                );
                assert!(
                    received == 1,
                    "{id}: the station does not count photo {} as received",
                    photo.position
                );
            }
        }
    }
    assert!(lost.is_empty(), "lost reports: {lost:?}");
    assert!(duplicated.is_empty(), "duplicated: {duplicated:?}");
    assert_eq!(
        station.report_count(),
        total,
        "the station holds reports nobody filed"
    );
}

/// Polls `cond` every 10 ms until it holds; panics naming `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(
            started.elapsed() < timeout,
            "not within {timeout:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A seed from `var` when set, else from the clock; printed so a failure can be
/// replayed.
pub fn seed_from_env(var: &str, test: &str) -> u64 {
    let seed = std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("{test}: seed {seed} (replay with {var}={seed})");
    seed
}

/// A small seeded PRNG (SplitMix64): random yet replayable from the seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// From `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo)
    }
}

/// Network errors the engine has reported, with their messages.
pub fn network_errors(phone: &Phone) -> Vec<String> {
    phone
        .events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            SyncEvent::Error {
                kind: SyncErrorKind::Network,
                message,
                ..
            } => Some(message),
            _ => None,
        })
        .collect()
}
