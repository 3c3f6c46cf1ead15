//! A station's zones indexed for placing reports: which zones hold a point
//! at a given time, whether it is outside the jurisdiction, and how far the
//! jurisdiction's line is. Built from the zone list once per change of the
//! list ([`ZoneCache`]), not per report.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use geo::{MultiPolygon, unary_union};
use postcso_model::{ZoneArea, ZoneIndex};

use crate::repo::{
    NEAR_LINE_M, RepoError, Repository, StationId, Zone, ZonesVersion, round_decimetre,
};

/// Whether a zone is one of the station's jurisdiction zones: the line a
/// report is judged inside or outside of.
pub fn is_jurisdiction(z: &Zone) -> bool {
    z.kind == postcso_model::ZoneKind::Jurisdiction
}

/// Whether a zone was in force at `at`: inside its validity and not yet
/// retired then. A zone retired after `at` still counts: it was in force when
/// the carrier was there.
pub fn in_force_at(z: &Zone, at: DateTime<Utc>) -> bool {
    postcso_model::in_force(false, z.valid_from, z.valid_until, at)
        && z.retired_at.is_none_or(|retired| at < retired)
}

/// What a station's zones say about one point at one time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZonePlace {
    /// Codes of the zones holding the point, in the order they were added.
    pub zones: Vec<String>,
    /// The station has jurisdiction zones in force and the point is in none.
    pub outside_jurisdiction: bool,
    /// Metres to the jurisdiction's line, to 0.1 m, when within [`NEAR_LINE_M`].
    pub boundary_distance_m: Option<f64>,
}

/// One zone with an outline, as the index keeps it.
struct Indexed {
    code: String,
    jurisdiction: bool,
    zone: Zone,
}

/// A station's zones with outlines, indexed; the jurisdiction's outline (the
/// union of its zones in force) is built once per set of zones in force.
pub struct StationZones {
    zones: Vec<Indexed>,
    index: ZoneIndex<usize>,
    /// Outline of the jurisdiction per set of jurisdiction zones in force
    /// (nearly always one set), as an index of one entry for `edges_near`.
    lines: Mutex<HashMap<Vec<usize>, Arc<ZoneIndex<()>>>>,
}

impl StationZones {
    /// Indexes the zones that have an outline, retired ones included (a
    /// report filed before a retirement still falls in the zone).
    pub fn new(zones: &[Zone]) -> Self {
        let zones: Vec<Indexed> = zones
            .iter()
            .filter(|z| z.area.is_some())
            .map(|z| Indexed {
                code: z.code.clone(),
                jurisdiction: is_jurisdiction(z),
                zone: z.clone(),
            })
            .collect();
        let index = ZoneIndex::new(
            zones
                .iter()
                .enumerate()
                .filter_map(|(i, z)| z.zone.area.as_ref().map(|area| (i, area))),
        );
        Self {
            zones,
            index,
            lines: Mutex::new(HashMap::new()),
        }
    }

    /// What the zones say about the point at `at`.
    pub fn place(&self, lat: f64, lon: f64, at: DateTime<Utc>) -> ZonePlace {
        let in_force = |i: usize| in_force_at(&self.zones[i].zone, at);
        let holding: Vec<usize> = self
            .index
            .containing(lat, lon)
            .into_iter()
            .copied()
            .filter(|&i| in_force(i))
            .collect();
        let jurisdiction: Vec<usize> = (0..self.zones.len())
            .filter(|&i| self.zones[i].jurisdiction && in_force(i))
            .collect();
        let (outside_jurisdiction, boundary_distance_m) = if jurisdiction.is_empty() {
            (false, None)
        } else {
            let inside = holding.iter().any(|&i| self.zones[i].jurisdiction);
            let line = self.line(jurisdiction);
            let near = line
                .edges_near(lat, lon, NEAR_LINE_M)
                .first()
                .map(|n| round_decimetre(n.distance_m));
            (!inside, near)
        };
        ZonePlace {
            zones: holding
                .into_iter()
                .map(|i| self.zones[i].code.clone())
                .collect(),
            outside_jurisdiction,
            boundary_distance_m,
        }
    }

    /// The jurisdiction's outline for this set of zones: their union, so a
    /// line two jurisdiction zones share is not a line of the jurisdiction.
    fn line(&self, set: Vec<usize>) -> Arc<ZoneIndex<()>> {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(line) = lines.get(&set) {
            return Arc::clone(line);
        }
        let shapes: Vec<MultiPolygon<f64>> = set
            .iter()
            .filter_map(|&i| self.zones[i].zone.area.as_ref().map(ZoneArea::to_geo))
            .collect();
        let outline = match shapes.as_slice() {
            [one] => ZoneArea::from_geo(one),
            many => ZoneArea::from_geo(&unary_union(many)),
        };
        let line = Arc::new(ZoneIndex::new([((), &outline)]));
        lines.insert(set, Arc::clone(&line));
        line
    }
}

/// Each station's [`StationZones`], kept while the station's
/// [`ZonesVersion`] stays the same: one cheap version query per report, and
/// the index rebuilt only after a zone was added, changed or retired.
#[derive(Default)]
pub struct ZoneCache {
    stations: Mutex<HashMap<StationId, (ZonesVersion, Arc<StationZones>)>>,
}

impl ZoneCache {
    /// The station's zones as they are now.
    pub async fn zones_of(
        &self,
        repo: &dyn Repository,
        station: StationId,
    ) -> Result<Arc<StationZones>, RepoError> {
        let version = repo.zones_version(station).await?;
        if let Some((cached, zones)) = self.lock().get(&station)
            && *cached == version
        {
            return Ok(Arc::clone(zones));
        }
        // Read after the version: a change in between leaves a newer list
        // under an older version, which the next call rebuilds. Never the
        // reverse.
        let zones = Arc::new(StationZones::new(&repo.zones(station).await?));
        self.lock().insert(station, (version, Arc::clone(&zones)));
        metrics::counter!("zone_index_builds_total").increment(1);
        Ok(zones)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<StationId, (ZonesVersion, Arc<StationZones>)>> {
        self.stations.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::Districts;

    fn zone(code: &str, area: Option<ZoneArea>) -> Zone {
        let kind = if code.starts_with("district-") {
            postcso_model::ZoneKind::Jurisdiction
        } else {
            postcso_model::ZoneKind::Beat
        };
        Zone {
            kind,
            name: code.to_owned(),
            area,
            ..Zone::test_beat(code, Vec::new())
        }
    }

    fn district(code: &str) -> ZoneArea {
        Districts::seoul()
            .by_code(code)
            .expect("district")
            .area
            .clone()
    }

    #[test]
    fn a_point_across_the_line_is_outside_and_one_inside_is_not() {
        let zones = StationZones::new(&[zone("district-11410", Some(district("11410")))]);
        let now = Utc::now();
        // Hongik University is in 마포구, outside 서대문구.
        let hongik = zones.place(37.5509, 126.9250, now);
        assert!(hongik.outside_jurisdiction);
        assert!(hongik.zones.is_empty());
        // Yonsei University is inside, far from the line.
        let yonsei = zones.place(37.5658, 126.9386, now);
        assert!(!yonsei.outside_jurisdiction);
        assert_eq!(yonsei.zones, vec!["district-11410".to_owned()]);
        assert_eq!(yonsei.boundary_distance_m, None);
    }

    #[test]
    fn a_station_without_jurisdiction_zones_flags_nothing() {
        let zones = StationZones::new(&[zone("route-1", None)]);
        let place = zones.place(37.5509, 126.9250, Utc::now());
        assert_eq!(place, ZonePlace::default());
    }

    #[test]
    fn zones_count_only_while_in_force_and_shared_lines_are_not_the_jurisdictions() {
        let mut retired = zone("district-11440", Some(district("11440")));
        let now = Utc::now();
        retired.retired_at = Some(now);
        let zones = StationZones::new(&[zone("district-11410", Some(district("11410"))), retired]);
        // Before the retirement the two districts are one jurisdiction: a
        // point of 마포구 is inside and not near any line of it.
        let before = zones.place(37.5509, 126.9250, now - chrono::Duration::days(1));
        assert!(!before.outside_jurisdiction);
        assert_eq!(before.zones, vec!["district-11440".to_owned()]);
        let after = zones.place(37.5509, 126.9250, now);
        assert!(after.outside_jurisdiction);
    }

    #[test]
    fn a_point_on_the_line_is_near_it() {
        let area = district("11410");
        let first = area.polygons().next().expect("polygon")[0][0];
        let zones = StationZones::new(&[zone("district-11410", Some(area))]);
        // A vertex of the outline, moved ~5.5 m north.
        let place = zones.place(first[1] + 0.00005, first[0], Utc::now());
        let distance = place.boundary_distance_m.expect("near the line");
        assert!(distance <= 5.6, "{distance}");
    }
}
