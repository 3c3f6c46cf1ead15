//! Where the station found a report: its district, the station's zones it
//! falls in, whether it is outside the station's jurisdiction and how near
//! the jurisdiction's line. Computed once, at arrival (`crate::geo`), and
//! stored with the report, so what a supervisor reads does not change when
//! zones change later.
//!
//! Reports stored before this existed have no placement (`zones_json` NULL);
//! the station places them at startup in batches ([`PlaceStore::unplaced_reports`],
//! `crate::geo::backfill`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use serde::{Deserialize, Serialize};

use super::columns::Columns;
use super::{RepoError, StationId};

/// A district (시군구) of the embedded boundaries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedDistrict {
    /// The 5-digit 시군구 code, e.g. `11410`.
    pub code: String,
    /// Its Korean name, e.g. `서대문구`.
    pub name: String,
}

/// Where the station found a report when it arrived.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Placement {
    /// The district the position is in; `None` outside every known district.
    pub district: Option<PlacedDistrict>,
    /// Codes of the station's zones (with outlines, in force at the report's
    /// `created_at`) that hold the position, in the order they were added.
    pub zones: Vec<String>,
    /// True when the station has at least one jurisdiction zone in force and
    /// the position is in none of them: flagged for the supervisor, never refused.
    pub outside_jurisdiction: bool,
    /// Metres from the position to the jurisdiction's line (inside or
    /// outside), to 0.1 m, when within [`NEAR_LINE_M`]: the district outlines
    /// are simplified, so a report this close may be on either side.
    pub boundary_distance_m: Option<f64>,
}

/// How near the jurisdiction's line a report is noted as "near the line".
pub const NEAR_LINE_M: f64 = 50.0;

/// A station's zones' state, cheap to read: it changes whenever a zone is
/// added, changed or retired (each bumps `updated_at`), so a cache keyed by it
/// is rebuilt then and only then. A clock stepping back could hide a change
/// from `last_change` alone; the count still catches additions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ZonesVersion {
    /// How many zones the station has, retired ones included.
    pub count: u64,
    /// The latest `updated_at` among them.
    pub last_change: Option<DateTime<Utc>>,
}

/// A stored report still without a placement: what placing it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct UnplacedReport {
    /// Tenant.
    pub station: StationId,
    /// The report.
    pub id: ReportId,
    /// Latitude of its position.
    pub lat: f64,
    /// Longitude of its position.
    pub lon: f64,
    /// Its `created_at` in UTC: zones are taken as they were then.
    pub created_at: DateTime<Utc>,
}

impl Placement {
    /// The `zones_json` column: never NULL for a placed report (NULL means
    /// "not placed yet").
    pub(crate) fn zones_json(&self) -> Result<String, RepoError> {
        serde_json::to_string(&self.zones)
            .map_err(|e| RepoError::Storage(format!("cannot serialise zone codes: {e}")))
    }
}

/// Rounds a distance to 0.1 m, as it is stored and shown.
pub fn round_decimetre(metres: f64) -> f64 {
    (metres * 10.0).round() / 10.0
}

/// A placement read back from `district_code, district_name, zones_json,
/// outside_jurisdiction, boundary_distance_m` starting at column `at`;
/// `None` for a report not placed yet.
pub(crate) fn placement_from(
    row: &impl Columns,
    at: usize,
) -> Result<Option<Placement>, RepoError> {
    let Some(zones) = row.opt_json::<Vec<String>>(at + 2, "placed zones")? else {
        return Ok(None);
    };
    let district = match (row.opt_text(at)?, row.opt_text(at + 1)?) {
        (Some(code), Some(name)) => Some(PlacedDistrict { code, name }),
        _ => None,
    };
    Ok(Some(Placement {
        district,
        zones,
        outside_jurisdiction: row.opt_flag(at + 3)?.unwrap_or(false),
        boundary_distance_m: row.opt_float(at + 4)?,
    }))
}

/// An unplaced report read back: `station_id, id, lat, lon, created_at`.
pub(crate) fn unplaced_from(row: &impl Columns) -> Result<UnplacedReport, RepoError> {
    Ok(UnplacedReport {
        station: StationId(row.uuid(0)?),
        id: row.report_id(1)?,
        lat: row.float(2)?,
        lon: row.float(3)?,
        created_at: row.time(4)?,
    })
}

/// Reading what placing reports needs, and storing placements of reports
/// stored before the station placed them.
#[async_trait]
pub trait PlaceStore: Send + Sync {
    /// The station's zones' version; see [`ZonesVersion`].
    async fn zones_version(&self, station: StationId) -> Result<ZonesVersion, RepoError>;
    /// Up to `limit` reports of any station without a placement, oldest first.
    async fn unplaced_reports(&self, limit: u32) -> Result<Vec<UnplacedReport>, RepoError>;
    /// Stores placements of reports that have none, in one transaction;
    /// reports placed meanwhile are left as they are. Returns how many were set.
    async fn set_placements(
        &self,
        placements: Vec<(StationId, ReportId, Placement)>,
    ) -> Result<u64, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_kept_to_the_decimetre() {
        assert_eq!(round_decimetre(12.345), 12.3);
        assert_eq!(round_decimetre(12.36), 12.4);
        assert_eq!(round_decimetre(0.04), 0.0);
    }
}
