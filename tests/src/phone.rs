//! A simulated phone: the real core (queue and sync engine) in a temp dir,
//! enrolled at a station, with a listener that records every event.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postcso_core::model::{GeoPoint, LocationSource, ReportId};
use postcso_core::photo::PhotoInput;
use postcso_core::secrets::FileSecretStore;
use postcso_core::sync::{SyncConfig, SyncEngine, SyncEvent, SyncListener};
use postcso_core::{QueueConfig, ReportQueue};

/// Records events for assertions.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<SyncEvent>>);

impl SyncListener for Recorder {
    fn on_event(&self, event: SyncEvent) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event);
    }
}

impl Recorder {
    /// Every event so far.
    pub fn events(&self) -> Vec<SyncEvent> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Waits until an event matching `pred` arrived, or panics after `timeout`.
    pub fn wait_for(&self, timeout: Duration, what: &str, pred: impl Fn(&SyncEvent) -> bool) {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if self.events().iter().any(&pred) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no event {what} within {timeout:?}; got {:#?}",
            self.events()
        );
    }
}

/// The core of one carrier's phone.
pub struct Phone {
    /// The report queue.
    pub queue: Arc<ReportQueue>,
    /// The sync engine.
    pub engine: SyncEngine,
    /// Every event the engine emitted.
    pub events: Arc<Recorder>,
    /// The data dir, kept alive with the phone.
    pub dir: tempfile::TempDir,
    /// The device credential, as the platform's keystore would keep it.
    pub token: Option<String>,
}

impl Phone {
    /// A phone pointed at `station_url`, enrolled with `code` when given.
    pub fn new(station_url: &str, code: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::open(dir, station_url, code, None)
    }

    /// Opens (or reopens, after a simulated app kill) a phone in `dir`.
    pub fn open(
        dir: tempfile::TempDir,
        station_url: &str,
        code: Option<&str>,
        token: Option<String>,
    ) -> Self {
        let queue = Arc::new(
            ReportQueue::open(
                QueueConfig::new(dir.path()),
                FileSecretStore::in_data_dir(dir.path()),
            )
            .expect("open queue"),
        );
        let engine = SyncEngine::start(
            Arc::clone(&queue),
            SyncConfig::new(station_url, token.clone()),
        )
        .expect("engine");
        let events = Arc::new(Recorder::default());
        engine.set_listener(Some(events.clone() as Arc<dyn SyncListener>));
        let token = match code {
            Some(code) => Some(engine.enrol_blocking(code).expect("enrol").token),
            None => token,
        };
        Self {
            queue,
            engine,
            events,
            dir,
            token,
        }
    }

    /// Simulates the app being killed and started again: the engine and queue are
    /// dropped and reopened from the same directory with the kept credential.
    pub fn restart(self, station_url: &str) -> Self {
        let (dir, token) = self.close();
        Self::open(dir, station_url, None, token)
    }

    /// Stops the engine and closes the queue, as an app kill would, keeping what
    /// survives it: the data dir and the credential.
    pub fn close(self) -> (tempfile::TempDir, Option<String>) {
        let Self {
            dir,
            engine,
            queue,
            token,
            ..
        } = self;
        drop(engine);
        drop(queue);
        (dir, token)
    }

    /// Files a complete report with `photos` real photos and submits it.
    pub fn file_report(&self, seed: u64, photos: &[&Path]) -> ReportId {
        let q = &self.queue;
        let id = q.create_draft().expect("draft");
        q.set_category(id, "safety_facility").expect("category");
        q.set_note(id, &format!("가로등 고장 #{seed}"))
            .expect("note");
        let jitter = (seed % 1000) as f64 * 1e-5;
        let fix = GeoPoint::new(
            37.5658 + jitter,
            126.9386,
            Some(7.0),
            None,
            chrono::Utc::now(),
            LocationSource::Gps,
        )
        .expect("fix");
        q.set_location(id, fix).expect("location");
        for photo in photos {
            q.attach_photo(id, PhotoInput::Path(photo)).expect("photo");
        }
        // No kick: submitting while online must start a sync by itself.
        q.submit(id).expect("submit");
        id
    }
}

/// A vendored real camera photo.
pub fn fixture_photo(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/photos")
        .join(relative)
}
