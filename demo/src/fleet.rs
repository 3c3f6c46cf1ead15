//! The simulated carriers: each a real `postcso-core` queue and sync engine in
//! its own directory, as on its own phone.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use postcso_core::model::{GeoPoint, LocationSource, ReportId};
use postcso_core::photo::PhotoInput;
use postcso_core::secrets::FileSecretStore;
use postcso_core::sync::{BackoffPolicy, NetworkState, SyncConfig, SyncEngine, Timeouts};
use postcso_core::{QueueConfig, ReportQueue};

use crate::places::Places;

/// What the carriers' phones announced as they walked: watch areas entered,
/// with a few of the messages an app would show.
#[derive(Debug, Default)]
pub struct Alerts {
    /// Watch areas entered, over all phones.
    pub entered: u64,
    /// Watch areas left.
    pub left: u64,
    /// The first few announcements, as an app would word them.
    pub samples: Vec<String>,
}

impl Alerts {
    /// Counts one position update and keeps its first announcements.
    pub fn record(&mut self, carrier: &str, update: &postcso_core::places::PositionUpdate) {
        self.entered += update.entered.len() as u64;
        self.left += update.left.len() as u64;
        for zone in &update.entered {
            if self.samples.len() < 3 {
                self.samples.push(format!(
                    "{carrier}: entering {} ({}): {}",
                    zone.name,
                    zone.theme.as_deref().unwrap_or("watch area"),
                    zone.guidance.as_deref().unwrap_or("")
                ));
            }
        }
    }

    /// Adds another worker's counts.
    pub fn merge(&mut self, other: Alerts) {
        self.entered += other.entered;
        self.left += other.left;
        for sample in other.samples {
            if self.samples.len() < 3 {
                self.samples.push(sample);
            }
        }
    }
}

/// One carrier's phone.
pub struct Phone {
    /// The printed label of its enrolment code.
    pub label: String,
    /// The report queue.
    pub queue: Arc<ReportQueue>,
    /// The sync engine.
    pub engine: SyncEngine,
}

/// Categories and notes the simulated carriers write, in turn.
const REPORTS: &[(&str, &str)] = &[
    (
        "safety_facility",
        "골목 가로등이 꺼져 있음. Street light out in the alley.",
    ),
    (
        "parcel_theft",
        "공동현관 택배 분실 잦음. Parcels often go missing at the entrance.",
    ),
    (
        "crime_risk",
        "빈 공터, 야간 조명 없음. Empty lot, unlit at night.",
    ),
    (
        "traffic_risk",
        "불법주차로 횡단보도 시야 가림. Parked vans hide the crossing.",
    ),
    (
        "resident_anxiety",
        "주민들이 밤길이 무섭다고 함. Residents fear this street at night.",
    ),
    ("other", "시장 뒤편 무단투기. Dumping behind the market."),
];

/// Engine settings for the demo: the real defaults, with the short timeouts and
/// quick backoff that suit a link failing every few seconds.
fn demo_sync_config(station_url: &str) -> SyncConfig {
    let mut config = SyncConfig::new(station_url, None);
    config.worker_threads = 1;
    config.timeouts = Timeouts {
        connect: Duration::from_secs(3),
        read: Duration::from_secs(5),
        idle: Duration::from_secs(30),
        request: Duration::from_secs(15),
    };
    config.backoff = BackoffPolicy {
        base: Duration::from_millis(500),
        cap: Duration::from_secs(4),
        max_retry_after: Duration::from_secs(10),
    };
    config
}

impl Phone {
    /// A phone with an empty queue in `dir`, offline, not yet enrolled. Its
    /// device token and data key are plain files in `dir/secrets`
    /// (`FileSecretStore`): a simulated phone has no Keystore or Keychain.
    pub fn open(dir: &Path, label: String, station_url: &str) -> Result<Self, String> {
        let queue = Arc::new(
            ReportQueue::open(QueueConfig::new(dir), FileSecretStore::in_data_dir(dir))
                .map_err(|e| e.to_string())?,
        );
        let engine = SyncEngine::start(Arc::clone(&queue), demo_sync_config(station_url))
            .map_err(|e| e.to_string())?;
        engine.set_network_state(NetworkState::OFFLINE);
        Ok(Self {
            label,
            queue,
            engine,
        })
    }

    /// Redeems `code`, retrying through outages for up to `patience`.
    pub async fn enrol(&self, code: &str, patience: Duration) -> Result<(), String> {
        let started = std::time::Instant::now();
        loop {
            match self.engine.enrol(code).await {
                Ok(_) => return Ok(()),
                Err(postcso_core::sync::EnrolError::Unreachable(_))
                    if started.elapsed() < patience =>
                {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(e) => return Err(format!("{}: {e}", self.label)),
            }
        }
    }

    /// Fetches the station's zones (district and watch areas) while online,
    /// then goes offline again: from here on the phone answers "where am
    /// I?" from its own copy.
    pub async fn fetch_zones(&self, want: usize, patience: Duration) -> Result<usize, String> {
        self.engine.set_network_state(NetworkState::UNMETERED);
        let started = std::time::Instant::now();
        let mut have = 0;
        while started.elapsed() < patience {
            self.engine.sync(Duration::from_secs(10)).await;
            have = self.queue.zones().map_err(|e| e.to_string())?.len();
            if have >= want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.engine.set_network_state(NetworkState::OFFLINE);
        if have < want {
            return Err(format!("{}: got {have} of {want} zones", self.label));
        }
        Ok(have)
    }

    /// Files `count` reports, each with one real photo, while offline. Before
    /// each, the carrier walks to the spot: the phone is told its position and
    /// says which watch areas it entered, with their guidance.
    pub fn file_reports(
        &self,
        count: usize,
        photos: &[PathBuf],
        seed: usize,
        places: &mut Places,
        alerts: &mut Alerts,
    ) -> Result<(Vec<ReportId>, u64), String> {
        let mut ids = Vec::with_capacity(count);
        let mut photo_bytes = 0;
        for n in 0..count {
            let (category, note) = REPORTS[(seed + n) % REPORTS.len()];
            let q = &self.queue;
            let id = q.create_draft().map_err(|e| e.to_string())?;
            q.set_category(id, category).map_err(|e| e.to_string())?;
            q.set_note(id, note).map_err(|e| e.to_string())?;
            let k = seed * count + n;
            let (lat, lon) = places.draw(Places::spot_for(k));
            let fix = GeoPoint::new(
                lat,
                lon,
                Some(5.0 + (k % 9) as f64),
                None,
                Utc::now(),
                LocationSource::Gps,
            )
            .map_err(|e| e.to_string())?;
            let update = q.update_position(&fix).map_err(|e| e.to_string())?;
            alerts.record(&self.label, &update);
            q.set_location(id, fix).map_err(|e| e.to_string())?;
            if !photos.is_empty() {
                let photo = &photos[(seed + n) % photos.len()];
                let attached = q
                    .attach_photo(id, PhotoInput::Path(photo))
                    .map_err(|e| e.to_string())?;
                photo_bytes += attached.photo.size;
            }
            q.submit(id).map_err(|e| e.to_string())?;
            ids.push(id);
        }
        Ok((ids, photo_bytes))
    }

    /// Reports still to reach the station.
    pub fn unsent(&self) -> u64 {
        self.queue.stats().map(|s| s.unsent()).unwrap_or(u64::MAX)
    }
}
