//! The queue's in-memory index of its zones, and the place questions it
//! answers offline: which zones hold a point, and which lie near it.
//!
//! The index is built at open and rebuilt after the zones change: a write
//! (`replace_zones`, `upsert_zone`) marks it stale, the sync engine rebuilds
//! it once at the end of a pull that changed zones (so a feed page of many
//! zone deltas costs one rebuild, not one per zone), and any question asked
//! while it is stale rebuilds it first, so answers never lag the database.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use chrono::{DateTime, Utc};

use super::{QueueError, ReportQueue, zones};
use crate::places::{LocalZones, MAX_NEAR_RADIUS_M, ZoneHit, check_point};

/// The current index, swapped whole when rebuilt: a caller keeps the `Arc` it
/// took for as long as it needs it. A question asked while a rebuild runs
/// waits for it (tens of milliseconds for thousands of zones) rather than get
/// an answer from before the last zone write.
#[derive(Debug, Default)]
pub(super) struct ZoneCache {
    current: RwLock<Arc<LocalZones>>,
    stale: AtomicBool,
    rebuilding: Mutex<()>,
}

impl ZoneCache {
    /// A cache holding `zones`.
    pub(super) fn new(zones: LocalZones) -> Self {
        Self {
            current: RwLock::new(Arc::new(zones)),
            stale: AtomicBool::new(false),
            rebuilding: Mutex::new(()),
        }
    }

    /// Marks the index out of date; called after every committed zone write.
    pub(super) fn mark_stale(&self) {
        self.stale.store(true, Ordering::Release);
    }
}

impl ReportQueue {
    /// The zones in force now whose outline holds the point, from local data
    /// only, in the station's order: where the carrier stands. A point outside
    /// every zone gives an empty list; a NaN or out-of-range coordinate is
    /// refused (`QueueError::Location`).
    pub fn zones_at(&self, lat: f64, lon: f64) -> Result<Vec<ZoneHit>, QueueError> {
        self.zones_at_time(lat, lon, Utc::now())
    }

    /// [`ReportQueue::zones_at`] judged at `now` (validity windows).
    pub(crate) fn zones_at_time(
        &self,
        lat: f64,
        lon: f64,
        now: DateTime<Utc>,
    ) -> Result<Vec<ZoneHit>, QueueError> {
        check_point(lat, lon)?;
        Ok(self.local_zones()?.at(lat, lon, now))
    }

    /// The zones in force now within `radius_m` metres of the point, nearest
    /// first, with their distance (0 inside): "what is around me". The radius
    /// must be from 0 to [`MAX_NEAR_RADIUS_M`] (`QueueError::Radius`).
    pub fn zones_near(
        &self,
        lat: f64,
        lon: f64,
        radius_m: f64,
    ) -> Result<Vec<ZoneHit>, QueueError> {
        check_point(lat, lon)?;
        if !(0.0..=MAX_NEAR_RADIUS_M).contains(&radius_m) {
            return Err(QueueError::Radius {
                max: MAX_NEAR_RADIUS_M,
            });
        }
        Ok(self.local_zones()?.near(lat, lon, radius_m, Utc::now()))
    }

    /// The zone index as of the last zone write: rebuilt first if a write
    /// made it stale. Cheap to call (an `Arc` clone) when it is fresh.
    pub fn local_zones(&self) -> Result<Arc<LocalZones>, QueueError> {
        self.refresh_zone_index()?;
        Ok(Arc::clone(
            &self
                .places
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        ))
    }

    /// Rebuilds the index if a zone write made it stale. The sync engine calls
    /// it once after a pull that changed zones.
    pub(crate) fn refresh_zone_index(&self) -> Result<(), QueueError> {
        let _one_at_a_time = self
            .places
            .rebuilding
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Cleared before reading: a write committed after the read below marks
        // it stale again, so no change is ever missed.
        if !self.places.stale.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let built = match self.store.read(zones::load_zones) {
            Ok(list) => LocalZones::new(list),
            Err(e) => {
                self.places.mark_stale();
                return Err(e);
            }
        };
        tracing::debug!(zones = built.len(), "zone index rebuilt");
        *self
            .places
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(built);
        Ok(())
    }
}
