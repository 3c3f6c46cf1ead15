//! The phone's zones indexed in memory: built once per zone list (at open and
//! after zones change), then asked many times a minute without touching SQLite.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::model::{ZoneIndex, ZoneInfo, ZoneKind};

/// A zone found at or near a point.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneHit {
    /// The zone, without its outline (read `ReportQueue::zones` for outlines):
    /// a hit is for naming and explaining the zone, and outlines are large.
    pub zone: Arc<ZoneInfo>,
    /// Metres from the point to the zone's outline; 0 inside or on the edge.
    pub distance_m: f64,
}

/// The station's zones as this phone holds them, with an R-tree over their
/// outlines. Zones without an outline are kept (for names) but never found by
/// place. Immutable: a new zone list builds a new `LocalZones`.
pub struct LocalZones {
    /// Every zone in the station's order, outline dropped (the index holds it).
    zones: Vec<Arc<ZoneInfo>>,
    /// Outlines keyed by position in `zones`.
    index: ZoneIndex<usize>,
}

impl std::fmt::Debug for LocalZones {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalZones")
            .field("zones", &self.zones.len())
            .field("indexed", &self.index.len())
            .finish()
    }
}

impl Default for LocalZones {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl LocalZones {
    /// Indexes the zones' outlines (bulk-loaded R-tree) and keeps the rest of
    /// each zone for answers. Outlines are assumed valid: the queue stores only
    /// outlines that passed `ZoneArea::validate`.
    pub fn new(zones: Vec<ZoneInfo>) -> Self {
        let index = ZoneIndex::new(
            zones
                .iter()
                .enumerate()
                .filter_map(|(i, zone)| zone.area.as_ref().map(|area| (i, area))),
        );
        let zones = zones
            .into_iter()
            .map(|zone| Arc::new(ZoneInfo { area: None, ..zone }))
            .collect();
        Self { zones, index }
    }

    /// How many zones are held, with or without an outline.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether no zone is held.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// Roughly how many bytes the outlines and the tree take (names excluded).
    pub fn approx_bytes(&self) -> usize {
        self.index.approx_bytes()
    }

    /// The zone of this code, if the phone holds it (in force or not).
    pub fn by_code(&self, code: &str) -> Option<&Arc<ZoneInfo>> {
        self.zones.iter().find(|zone| zone.code == code)
    }

    /// Zones in force at `now` whose outline holds the point (edges count as
    /// inside), in the station's order. Outside every zone: empty. The point
    /// must be a checked WGS84 position (`places::check_point`).
    pub fn at(&self, lat: f64, lon: f64, now: DateTime<Utc>) -> Vec<ZoneHit> {
        self.index
            .containing(lat, lon)
            .into_iter()
            .map(|&i| &self.zones[i])
            .filter(|zone| zone.in_force(now))
            .map(|zone| ZoneHit {
                zone: Arc::clone(zone),
                distance_m: 0.0,
            })
            .collect()
    }

    /// Zones in force at `now` within `radius_m` metres of the point, nearest
    /// first (zones holding the point come first, at 0 m).
    pub fn near(&self, lat: f64, lon: f64, radius_m: f64, now: DateTime<Utc>) -> Vec<ZoneHit> {
        self.index
            .near(lat, lon, radius_m)
            .into_iter()
            .map(|near| (&self.zones[*near.key], near.distance_m))
            .filter(|(zone, _)| zone.in_force(now))
            .map(|(zone, distance_m)| ZoneHit {
                zone: Arc::clone(zone),
                distance_m,
            })
            .collect()
    }

    /// What a report at the point records when sealed: the codes of the zones
    /// in force holding it (every kind) and its district, the first
    /// jurisdiction zone among them (`None` outside every jurisdiction).
    pub fn seal_codes(
        &self,
        lat: f64,
        lon: f64,
        now: DateTime<Utc>,
    ) -> (Vec<String>, Option<String>) {
        let hits = self.at(lat, lon, now);
        let district = hits
            .iter()
            .find(|hit| hit.zone.kind == ZoneKind::Jurisdiction)
            .map(|hit| hit.zone.code.clone());
        let codes = hits.into_iter().map(|hit| hit.zone.code.clone()).collect();
        (codes, district)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::places::testing::{METRES, square_zone};

    #[test]
    fn a_point_is_answered_exactly_and_only_by_zones_in_force() {
        let now = Utc::now();
        let beat = square_zone("beat-1", ZoneKind::Beat, (0.0, 0.0), 200.0);
        let mut retired = square_zone("watch-old", ZoneKind::WatchArea, (50.0, 50.0), 50.0);
        retired.retired = true;
        let mut later = square_zone("watch-later", ZoneKind::WatchArea, (50.0, 50.0), 50.0);
        later.valid_from = Some(now + Duration::days(1));
        let gu = square_zone(
            "seodaemun-gu",
            ZoneKind::Jurisdiction,
            (-500.0, -500.0),
            2000.0,
        );
        let mut no_outline = square_zone("beat-2", ZoneKind::Beat, (0.0, 0.0), 200.0);
        no_outline.area = None;
        let zones = LocalZones::new(vec![beat, retired, later, gu, no_outline]);
        assert_eq!(zones.len(), 5);

        let codes = |hits: Vec<ZoneHit>| -> Vec<String> {
            hits.into_iter().map(|h| h.zone.code.clone()).collect()
        };
        let (lat, lon) = METRES.at(60.0, 60.0);
        assert_eq!(codes(zones.at(lat, lon, now)), ["beat-1", "seodaemun-gu"]);
        assert_eq!(
            codes(zones.at(lat, lon, now + Duration::days(2))),
            ["beat-1", "watch-later", "seodaemun-gu"],
            "in force once valid_from has passed"
        );
        let (lat, lon) = METRES.at(1000.0, 1000.0);
        assert_eq!(codes(zones.at(lat, lon, now)), ["seodaemun-gu"]);
        assert!(zones.at(0.0, 0.0, now).is_empty(), "outside everything");
        assert!(
            zones
                .at(lat, lon, now)
                .iter()
                .all(|h| h.zone.area.is_none())
        );

        let (lat, lon) = METRES.at(60.0, 60.0);
        assert_eq!(
            zones.seal_codes(lat, lon, now),
            (
                vec!["beat-1".to_owned(), "seodaemun-gu".to_owned()],
                Some("seodaemun-gu".to_owned())
            )
        );
        let (lat, lon) = METRES.at(5000.0, 5000.0);
        assert_eq!(zones.seal_codes(lat, lon, now), (vec![], None));
    }

    #[test]
    fn near_gives_metres_nearest_first_and_skips_zones_not_in_force() {
        let now = Utc::now();
        let a = square_zone("a", ZoneKind::WatchArea, (0.0, 0.0), 100.0);
        let b = square_zone("b", ZoneKind::WatchArea, (0.0, 160.0), 100.0);
        let mut c = square_zone("c", ZoneKind::WatchArea, (0.0, 130.0), 10.0);
        c.valid_until = Some(now - Duration::seconds(1));
        let zones = LocalZones::new(vec![a, b, c]);
        // 30 m east of a's east edge, 30 m west of b's west edge... b is 60 m from a.
        let (lat, lon) = METRES.at(50.0, 140.0);
        let hits = zones.near(lat, lon, 100.0, now);
        let found: Vec<(&str, f64)> = hits
            .iter()
            .map(|h| (h.zone.code.as_str(), h.distance_m))
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, "b");
        assert!((found[0].1 - 20.0).abs() < 0.5, "{found:?}");
        assert_eq!(found[1].0, "a");
        assert!((found[1].1 - 40.0).abs() < 0.5, "{found:?}");
        assert_eq!(zones.near(lat, lon, 30.0, now).len(), 1);
    }
}
