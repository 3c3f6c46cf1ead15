//! Entering and leaving watch areas as the carrier's positions come in.
//!
//! The rule, with hysteresis so GPS jitter at an edge cannot announce an area
//! again and again:
//!
//! - a watch area is **entered** when a fix lies inside it (edge included) and
//!   the fix is good enough: its accuracy radius is at most
//!   [`MAX_ENTER_ACCURACY_M`] (a coarse network fix could be anywhere in a
//!   street block, and "you are entering" must not be said on a guess);
//! - it is **left** only when a fix lies more than [`LEAVE_MARGIN_M`] metres
//!   outside it, or more than the fix's own accuracy radius if that is larger
//!   (a coarse fix can still say the carrier has gone, just not from nearby);
//! - an area that stops being in force while the carrier is inside (retired,
//!   validity ended, outline removed) is left at the next fix.
//!
//! A fix between the edge and the margin changes nothing, so jitter of up to
//! ±10 m around an edge gives one entry and, once the carrier has really
//! walked away, one exit.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::LocalZones;
use crate::model::{GeoPoint, ZoneInfo, ZoneKind};

/// How far outside a watch area (metres) a fix must be before the carrier
/// counts as having left it: larger than the ±5–10 m a phone's GPS wanders
/// while standing still, small enough that "you left" comes within a few
/// steps of really leaving.
pub const LEAVE_MARGIN_M: f64 = 20.0;

/// Fixes with an accuracy radius worse than this (metres) never enter a watch
/// area: cell and Wi-Fi fixes are often 100–1,000 m off.
pub const MAX_ENTER_ACCURACY_M: f64 = 100.0;

/// The queue forgets (without announcing any exit) a set of watch areas that
/// no position has confirmed for this long: by then the carrier's shift has
/// ended, and a new one starts by announcing the areas afresh.
pub const FORGET_INSIDE_AFTER: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// What one position changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PositionUpdate {
    /// Watch areas entered with this fix, in the station's order.
    pub entered: Vec<Arc<ZoneInfo>>,
    /// Watch areas left with this fix (or no longer in force), by code.
    pub left: Vec<Arc<ZoneInfo>>,
    /// The fix was too coarse to enter anything (accuracy worse than
    /// [`MAX_ENTER_ACCURACY_M`]); areas could still be left.
    pub low_accuracy: bool,
}

impl PositionUpdate {
    /// Whether the fix entered or left anything.
    pub fn is_empty(&self) -> bool {
        self.entered.is_empty() && self.left.is_empty()
    }
}

/// The watch areas the carrier is inside, by code, each as it was when last
/// confirmed (so an area the station removes can still be named when left).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inside {
    zones: BTreeMap<String, Arc<ZoneInfo>>,
}

impl Inside {
    /// A set restored from storage.
    pub fn from_zones(zones: impl IntoIterator<Item = ZoneInfo>) -> Self {
        Self {
            zones: zones
                .into_iter()
                .map(|zone| (zone.code.clone(), Arc::new(zone)))
                .collect(),
        }
    }

    /// The areas, by code.
    pub fn zones(&self) -> impl Iterator<Item = &Arc<ZoneInfo>> {
        self.zones.values()
    }

    /// Whether the carrier is inside the area of this code.
    pub fn contains(&self, code: &str) -> bool {
        self.zones.contains_key(code)
    }

    /// How many areas the carrier is inside.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether the carrier is inside no area.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// Moves the set on by one fix, judged at `now` (validity windows): returns
    /// the new set and what changed. See the module's rule.
    pub fn step(
        &self,
        zones: &LocalZones,
        fix: &GeoPoint,
        now: DateTime<Utc>,
    ) -> (Inside, PositionUpdate) {
        let (lat, lon) = (fix.lat(), fix.lon());
        let margin = LEAVE_MARGIN_M.max(fix.accuracy_m());
        let near = zones.near(lat, lon, margin, now);
        let mut next = BTreeMap::new();
        let mut update = PositionUpdate {
            low_accuracy: fix.accuracy_m() > MAX_ENTER_ACCURACY_M,
            ..PositionUpdate::default()
        };
        for (code, was) in &self.zones {
            let still = near
                .iter()
                .find(|hit| hit.zone.code == *code && hit.zone.kind == ZoneKind::WatchArea);
            match still {
                Some(hit) => {
                    next.insert(code.clone(), Arc::clone(&hit.zone));
                }
                None => update
                    .left
                    .push(Arc::clone(zones.by_code(code).unwrap_or(was))),
            }
        }
        if !update.low_accuracy {
            for hit in zones.at(lat, lon, now) {
                if hit.zone.kind == ZoneKind::WatchArea && !next.contains_key(&hit.zone.code) {
                    if !self.zones.contains_key(&hit.zone.code) {
                        update.entered.push(Arc::clone(&hit.zone));
                    }
                    next.insert(hit.zone.code.clone(), hit.zone);
                }
            }
        }
        (Inside { zones: next }, update)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::model::LocationSource;
    use crate::places::testing::{METRES, square_zone};

    fn fix(north: f64, east: f64, accuracy: f64) -> GeoPoint {
        let (lat, lon) = METRES.at(north, east);
        GeoPoint::new(
            lat,
            lon,
            Some(accuracy),
            None,
            Utc::now(),
            LocationSource::Gps,
        )
        .expect("valid fix")
    }

    /// A 100 m square watch area whose east edge is at 0 m east.
    fn alley() -> ZoneInfo {
        square_zone(
            "yeonhui-dark-alley",
            ZoneKind::WatchArea,
            (0.0, -100.0),
            100.0,
        )
    }

    /// Walks `path` (metres east, at 50 m north), counting entries and exits.
    fn walk(
        zones: &LocalZones,
        inside: &mut Inside,
        path: impl IntoIterator<Item = f64>,
    ) -> (usize, usize) {
        let (mut entered, mut left) = (0, 0);
        for east in path {
            let (next, update) = inside.step(zones, &fix(50.0, east, 6.0), Utc::now());
            entered += update.entered.len();
            left += update.left.len();
            *inside = next;
        }
        (entered, left)
    }

    #[test]
    fn jitter_at_an_edge_enters_once_and_walking_away_leaves_once() {
        let zones = LocalZones::new(vec![alley()]);
        let mut rng = StdRng::seed_from_u64(16);
        let mut jitter = move || rng.random_range(-10.0..=10.0);
        let mut inside = Inside::default();

        // Walk in from 60 m outside to 30 m inside, then stand at the edge.
        let approach: Vec<f64> = (0..=90).map(|i| 60.0 - i as f64 + jitter()).collect();
        let edge: Vec<f64> = (0..500).map(|_| jitter()).collect();
        let crossings = edge
            .windows(2)
            .filter(|w| (w[0] <= 0.0) != (w[1] <= 0.0))
            .count();
        assert!(
            crossings > 100,
            "the jitter really crosses the edge ({crossings} times)"
        );
        let (entered, left) = walk(&zones, &mut inside, approach.into_iter().chain(edge));
        assert_eq!(
            (entered, left),
            (1, 0),
            "one entry, no exit while at the edge"
        );
        assert!(inside.contains("yeonhui-dark-alley"));

        // Walk out to 30 m outside and linger there, still jittering.
        let out: Vec<f64> = (0..=30).map(|i| i as f64 + jitter()).collect();
        let linger: Vec<f64> = (0..200).map(|_| 30.0 + jitter()).collect();
        let (entered, left) = walk(&zones, &mut inside, out.into_iter().chain(linger));
        assert_eq!((entered, left), (0, 1), "exactly one exit");
        assert!(inside.is_empty());
    }

    #[test]
    fn the_update_names_the_area_and_says_what_to_look_for() {
        let zones = LocalZones::new(vec![alley()]);
        let (_, update) = Inside::default().step(&zones, &fix(50.0, -50.0, 5.0), Utc::now());
        let area = &update.entered[0];
        assert_eq!(area.name, "yeonhui-dark-alley 구역");
        assert_eq!(area.name_en.as_deref(), Some("yeonhui-dark-alley area"));
        assert_eq!(area.theme.as_deref(), Some("dark_alley"));
        assert_eq!(area.guidance.as_deref(), Some("check street lights"));
        assert!(area.area.is_none());
    }

    #[test]
    fn a_coarse_fix_never_enters_but_can_leave_from_far_enough() {
        let zones = LocalZones::new(vec![alley()]);
        let (inside, update) = Inside::default().step(&zones, &fix(50.0, -50.0, 150.0), Utc::now());
        assert!(update.low_accuracy && update.is_empty() && inside.is_empty());

        let (inside, _) = inside.step(&zones, &fix(50.0, -50.0, 8.0), Utc::now());
        assert_eq!(inside.len(), 1);
        // 100 m outside but ±150 m: not sure enough to leave.
        let (inside, update) = inside.step(&zones, &fix(50.0, 100.0, 150.0), Utc::now());
        assert!(update.is_empty() && inside.len() == 1);
        // 400 m outside, ±150 m: gone.
        let (inside, update) = inside.step(&zones, &fix(50.0, 400.0, 150.0), Utc::now());
        assert_eq!(update.left.len(), 1);
        assert!(inside.is_empty());
    }

    #[test]
    fn validity_windows_decide_when_an_area_can_be_entered_and_when_it_ends() {
        let now = Utc::now();
        let mut area = alley();
        area.valid_from = Some(now + Duration::hours(1));
        area.valid_until = Some(now + Duration::hours(3));
        let zones = LocalZones::new(vec![area]);
        let here = fix(50.0, -50.0, 5.0);

        let (inside, update) = Inside::default().step(&zones, &here, now);
        assert!(update.is_empty() && inside.is_empty(), "not yet in force");
        let (inside, update) = inside.step(&zones, &here, now + Duration::hours(2));
        assert_eq!(update.entered.len(), 1, "in force now");
        let (inside, update) = inside.step(&zones, &here, now + Duration::hours(3));
        assert_eq!(update.left.len(), 1, "validity ended while inside");
        assert!(inside.is_empty());
    }

    #[test]
    fn an_area_retired_or_removed_while_inside_is_left_with_its_name() {
        let here = fix(50.0, -50.0, 5.0);
        let other = square_zone("school-route", ZoneKind::WatchArea, (0.0, -100.0), 100.0);
        let zones = LocalZones::new(vec![alley(), other.clone()]);
        let (inside, update) = Inside::default().step(&zones, &here, Utc::now());
        assert_eq!(update.entered.len(), 2);

        let mut retired = alley();
        retired.retired = true;
        let zones = LocalZones::new(vec![retired]);
        let (inside, update) = inside.step(&zones, &here, Utc::now());
        let left: Vec<(&str, bool)> = update
            .left
            .iter()
            .map(|z| (z.code.as_str(), z.retired))
            .collect();
        // Retired: named as the station now has it; removed: as it was entered.
        assert_eq!(
            left,
            [("school-route", false), ("yeonhui-dark-alley", true)]
        );
        assert!(inside.is_empty() && update.entered.is_empty());
    }

    #[test]
    fn beats_and_jurisdictions_are_not_announced() {
        let zones = LocalZones::new(vec![
            square_zone("beat-7", ZoneKind::Beat, (0.0, -100.0), 100.0),
            square_zone("seodaemun-gu", ZoneKind::Jurisdiction, (0.0, -100.0), 100.0),
        ]);
        let (inside, update) = Inside::default().step(&zones, &fix(50.0, -50.0, 5.0), Utc::now());
        assert!(update.is_empty() && inside.is_empty());
    }
}
