//! Placing a report on arrival: the district of the embedded boundaries and
//! what the station's zones say (see [`super::zones`]), as one [`Placement`].

use chrono::{DateTime, Utc};

use super::Districts;
use super::zones::ZoneCache;
use crate::repo::{PlacedDistrict, Placement, RepoError, Repository, StationId};

/// Places reports for every station: the embedded districts, and each
/// station's zones cached until they change. One per process, in the app state.
pub struct Geography {
    districts: &'static Districts,
    zones: ZoneCache,
}

impl Geography {
    /// Places with Seoul's embedded districts.
    pub fn seoul() -> Self {
        Self {
            districts: Districts::seoul(),
            zones: ZoneCache::default(),
        }
    }

    /// Where a report of `station` at (`lat`, `lon`) created at `at` is:
    /// its district, and the station's zones in force at `at`.
    pub async fn place(
        &self,
        repo: &dyn Repository,
        station: StationId,
        lat: f64,
        lon: f64,
        at: DateTime<Utc>,
    ) -> Result<Placement, RepoError> {
        let zones = self
            .zones
            .zones_of(repo, station)
            .await?
            .place(lat, lon, at);
        let district = self.districts.at(lat, lon).map(|d| PlacedDistrict {
            code: d.code.clone(),
            name: d.name_ko.clone(),
        });
        Ok(Placement {
            district,
            zones: zones.zones,
            outside_jurisdiction: zones.outside_jurisdiction,
            boundary_distance_m: zones.boundary_distance_m,
        })
    }
}
