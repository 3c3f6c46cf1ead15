//! Geography on the phone, offline: which zones hold a point or lie near it,
//! watch areas entered and left as the carrier moves, this phone's earlier
//! reports at a draft's place, and follow-ups. The records and the
//! [`PostCore`] methods that return them.
//!
//! Every answer comes from the zones and reports on the phone; nothing here
//! touches the network. Positions cross in only (never back out), and no
//! `Debug` of these records holds one.

use std::sync::Arc;
use std::time::SystemTime;

use chrono::Utc;
use postcso_core::model::{self, GeoPoint};
use postcso_core::{places, queue};

use crate::convert::report_id;
use crate::core::PostCore;
use crate::error::PostError;
use crate::types::{Location, ReportState, ReviewStatus};

/// What a zone is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ZoneKind {
    /// A delivery route or police beat; carriers are assigned to it.
    Beat,
    /// An area the police asked carriers to watch; `theme` says why.
    WatchArea,
    /// The station's district.
    Jurisdiction,
}

/// A zone without its outline: what the app needs to name it and explain it
/// ("you are entering 연희동 dark-alley watch area: check street lights").
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ZoneInfo {
    /// Stable code, e.g. `yeonhui-dark-alley`.
    pub code: String,
    /// What the zone is for.
    pub kind: ZoneKind,
    /// Why a watch area is watched, e.g. `dark_alley`, `women_living_alone`.
    pub theme: Option<String>,
    /// Korean name (shown first).
    pub name: String,
    /// English name, when the station gave one.
    pub name_en: Option<String>,
    /// What to look for there.
    pub guidance: Option<String>,
    /// In force from this instant; always when absent.
    pub valid_from: Option<SystemTime>,
    /// In force until this instant (exclusive); forever when absent.
    pub valid_until: Option<SystemTime>,
    /// The station assigned this device to the zone (its carrier's beat).
    pub assigned: bool,
    /// Retired (only ever seen in `PositionUpdate.left`).
    pub retired: bool,
}

/// A zone at or near a point.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ZoneHit {
    /// The zone.
    pub zone: ZoneInfo,
    /// Metres from the point to the zone's outline; 0 inside or on the edge.
    pub distance_m: f64,
}

/// What one position changed (see `update_position`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PositionUpdate {
    /// Watch areas entered with this position: announce each.
    pub entered: Vec<ZoneInfo>,
    /// Watch areas left with this position (or retired, or expired, while
    /// the carrier was inside).
    pub left: Vec<ZoneInfo>,
    /// The position was too coarse (accuracy worse than 100 m) to enter an
    /// area; areas can still be left.
    pub low_accuracy: bool,
}

/// One of this phone's earlier reports at a draft's place (see `nearby_reports`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NearbyReport {
    /// The earlier report; pass it to `create_follow_up`.
    pub id: String,
    /// Queued, sending or sent.
    pub state: ReportState,
    /// When it was started ("you reported this place on 3 December").
    pub created_at: SystemTime,
    /// Metres from the draft's position.
    pub distance_m: f64,
    /// How many photos it carries.
    pub photo_count: u32,
    /// The station's review, once it has one.
    pub review_status: Option<ReviewStatus>,
}

#[uniffi::export]
impl PostCore {
    /// The zones in force now whose outline holds the point, in the station's
    /// order, from the phone's own copy: works offline. Outside every zone:
    /// an empty list. A NaN or out-of-range coordinate raises `InvalidLocation`.
    pub fn zones_at(&self, lat: f64, lon: f64) -> Result<Vec<ZoneHit>, PostError> {
        let hits = self.get_open()?.queue.zones_at(lat, lon)?;
        Ok(hits.iter().map(Into::into).collect())
    }

    /// The zones in force now within `radius_m` metres (0 to 5,000) of the
    /// point, nearest first, with their distance. A bad radius raises
    /// `InvalidRadius`, a bad coordinate `InvalidLocation`.
    pub fn zones_near(&self, lat: f64, lon: f64, radius_m: f64) -> Result<Vec<ZoneHit>, PostError> {
        let hits = self.get_open()?.queue.zones_near(lat, lon, radius_m)?;
        Ok(hits.iter().map(Into::into).collect())
    }

    /// Feed every position the app receives: returns the watch areas entered
    /// and left since the last call. Entering needs a position inside the
    /// area with an accuracy of 100 m or better; leaving needs a position more
    /// than 20 m outside (or more than its accuracy, if worse), so GPS jitter
    /// at an edge announces nothing twice. Survives restarts: an area is not
    /// announced again after the app was killed inside it.
    pub fn update_position(&self, location: Location) -> Result<PositionUpdate, PostError> {
        let open = self.get_open()?;
        let fix: GeoPoint = location.try_into()?;
        Ok(open.queue.update_position(&fix)?.into())
    }

    /// This phone's queued or sent reports of the draft's category within
    /// 30 m of its position from the last 14 days, nearest first: offer to
    /// follow one up instead of filing the place twice. Empty while the draft
    /// has no category or position.
    pub fn nearby_reports(&self, id: String) -> Result<Vec<NearbyReport>, PostError> {
        let open = self.get_open()?;
        let found = open.queue.nearby_reports(report_id(&id)?)?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    /// Starts a follow-up of a report already queued or sent (more photos or
    /// a note): a new draft with its category and position, whose sealed
    /// content names the original. Returns the draft's id; edit and `submit`
    /// it like any draft (`set_location` may refine the position; the
    /// category is fixed). A follow-up of a follow-up names the original.
    /// Raises `NotFound` or `InvalidFollowUp` (draft, withdrawn or refused).
    pub fn create_follow_up(&self, parent_id: String) -> Result<String, PostError> {
        let open = self.get_open()?;
        Ok(open
            .queue
            .create_follow_up(report_id(&parent_id)?)?
            .to_string())
    }
}

impl From<model::ZoneKind> for ZoneKind {
    fn from(kind: model::ZoneKind) -> Self {
        match kind {
            model::ZoneKind::Beat => Self::Beat,
            model::ZoneKind::WatchArea => Self::WatchArea,
            model::ZoneKind::Jurisdiction => Self::Jurisdiction,
        }
    }
}

impl From<&model::ZoneInfo> for ZoneInfo {
    fn from(z: &model::ZoneInfo) -> Self {
        Self {
            code: z.code.clone(),
            kind: z.kind.into(),
            theme: z.theme.clone(),
            name: z.name.clone(),
            name_en: z.name_en.clone(),
            guidance: z.guidance.clone(),
            valid_from: z.valid_from.map(Into::into),
            valid_until: z.valid_until.map(Into::into),
            assigned: z.assigned,
            retired: z.retired,
        }
    }
}

impl From<&places::ZoneHit> for ZoneHit {
    fn from(hit: &places::ZoneHit) -> Self {
        Self {
            zone: hit.zone.as_ref().into(),
            distance_m: hit.distance_m,
        }
    }
}

impl From<places::PositionUpdate> for PositionUpdate {
    fn from(update: places::PositionUpdate) -> Self {
        let infos = |zones: Vec<Arc<model::ZoneInfo>>| -> Vec<ZoneInfo> {
            zones.iter().map(|zone| zone.as_ref().into()).collect()
        };
        Self {
            entered: infos(update.entered),
            left: infos(update.left),
            low_accuracy: update.low_accuracy,
        }
    }
}

impl From<queue::NearbyReport> for NearbyReport {
    fn from(r: queue::NearbyReport) -> Self {
        Self {
            id: r.id.to_string(),
            state: r.state.into(),
            created_at: SystemTime::from(r.created_at.with_timezone(&Utc)),
            distance_m: r.distance_m,
            photo_count: r.photo_count,
            review_status: r.review_status.map(Into::into),
        }
    }
}
