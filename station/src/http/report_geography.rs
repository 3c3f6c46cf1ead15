//! How a report's place and follow-ups read in the staff view: where the
//! station found it on arrival next to what the phone saw at submit, the
//! report a follow-up adds to, and a report's follow-ups.

use chrono::{DateTime, Utc};
use postcso_model::ReportContent;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::repo::{FollowUp, Placement};

/// A district (시군구) of the station's embedded boundaries.
#[derive(Debug, Serialize, ToSchema)]
pub struct DistrictView {
    /// The 5-digit 시군구 code, e.g. `11410`.
    #[schema(example = "11410")]
    pub code: String,
    /// Its Korean name, e.g. `서대문구`.
    #[schema(example = "서대문구")]
    pub name: String,
}

/// Where the station found the report when it arrived.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationPlaceView {
    /// The district the position is in; null outside every known district.
    pub district: Option<DistrictView>,
    /// Codes of the station's zones holding the position (in force at the
    /// report's `created_at`), in the order they were added.
    pub zones: Vec<String>,
    /// True when the station has jurisdiction zones and the position is in
    /// none of them. Flagged for the supervisor; the report was stored anyway.
    pub outside_jurisdiction: bool,
    /// Metres to the jurisdiction's line (0.1 m), present only within 50 m:
    /// district outlines are simplified, so the report may be on either side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundary_distance_m: Option<f64>,
}

/// What the phone saw at submit, sealed in the report's content.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhonePlaceView {
    /// Codes of the zones the phone found the position in (`content.zones`).
    pub zones: Vec<String>,
    /// The jurisdiction zone the phone found it in (`content.district`);
    /// null when it found none.
    pub district: Option<String>,
}

/// The station's placement and the phone's, side by side.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeographyView {
    /// Where the station found it; null for a report stored before the
    /// station placed reports, until its startup backfill reaches it.
    pub station: Option<StationPlaceView>,
    /// What the phone saw.
    pub phone: PhonePlaceView,
}

impl GeographyView {
    /// The view of a stored placement and the content's own record.
    pub fn new(placement: Option<&Placement>, content: &ReportContent) -> Self {
        Self {
            station: placement.map(|p| StationPlaceView {
                district: p.district.as_ref().map(|d| DistrictView {
                    code: d.code.clone(),
                    name: d.name.clone(),
                }),
                zones: p.zones.clone(),
                outside_jurisdiction: p.outside_jurisdiction,
                boundary_distance_m: p.boundary_distance_m,
            }),
            phone: PhonePlaceView {
                zones: content.zones.clone(),
                district: content.district.clone(),
            },
        }
    }
}

/// A follow-up as its parent lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpView {
    /// The follow-up report's id.
    pub id: Uuid,
    /// Its `created_at` (the phone's clock), in UTC.
    pub created_at: DateTime<Utc>,
    /// When the station stored it.
    pub received_at: DateTime<Utc>,
    /// Photos in its manifest.
    pub photos: u32,
}

impl From<FollowUp> for FollowUpView {
    fn from(f: FollowUp) -> Self {
        Self {
            id: f.id.as_uuid(),
            created_at: f.created_at,
            received_at: f.received_at,
            photos: f.photos,
        }
    }
}
