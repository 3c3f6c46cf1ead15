//! Zones: areas of a station's district with a meaning for carriers. Beats
//! (delivery routes), watch areas the police publish (streets where many women
//! live alone, parcel-theft hot spots, school routes, dark alleys) and the
//! station's jurisdiction share one model, so the station publishes them the
//! same way and the phone answers "where am I?" over all of them offline.

mod area;
mod index;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use area::{AreaPlace, AreaRepairs, MAX_AREA_POSITIONS, Rings, ZoneArea, ZoneAreaError};
pub use index::{ZoneIndex, ZoneNear, metres_between};

/// What a zone is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// A delivery route or police beat; carriers are assigned to it.
    #[default]
    Beat,
    /// An area the police asked carriers to watch; its `theme` says why.
    WatchArea,
    /// The station's district: a report outside every jurisdiction zone is
    /// flagged for the supervisor.
    Jurisdiction,
}

impl ZoneKind {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Beat => "beat",
            Self::WatchArea => "watch_area",
            Self::Jurisdiction => "jurisdiction",
        }
    }

    /// Parses the wire and database spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "beat" => Self::Beat,
            "watch_area" => Self::WatchArea,
            "jurisdiction" => Self::Jurisdiction,
            _ => return None,
        })
    }
}

/// Zone codes and watch-area themes: 1-40 lowercase ASCII letters, digits,
/// `-` or `_`, so they read well in URLs, files and logs.
pub fn valid_zone_code(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// One zone as a carrier's phone receives and keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneInfo {
    /// Stable code, e.g. `route-12` or `yeonhui-dark-alley`.
    pub code: String,
    /// What the zone is for; beats when an older station did not say.
    #[serde(default)]
    pub kind: ZoneKind,
    /// Why a watch area is watched, e.g. `women_living_alone`, `dark_alley`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    /// Display name in Korean (the name carriers see first).
    pub name: String,
    /// Display name in English, when the station gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// What carriers should look for there, shown when they enter it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<String>,
    /// In force from this instant; always when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<DateTime<Utc>>,
    /// In force until this instant (exclusive); forever when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    /// The outline, if the station drew one.
    #[serde(default)]
    pub area: Option<ZoneArea>,
    /// Whether this phone is assigned to the zone (its carrier's beat).
    #[serde(default)]
    pub assigned: bool,
    /// Retired zones are kept so old references still resolve.
    #[serde(default)]
    pub retired: bool,
}

impl ZoneInfo {
    /// Whether the zone applies at `now`: not retired and inside its validity.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        in_force(self.retired, self.valid_from, self.valid_until, now)
    }
}

/// The validity rule of every zone, on both sides: not retired, and `now` in
/// `[valid_from, valid_until)` with absent ends open.
pub fn in_force(
    retired: bool,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    !retired
        && valid_from.is_none_or(|from| from <= now)
        && valid_until.is_none_or(|until| now < until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_from_an_older_station_reads_as_a_beat_in_force() {
        let zone: ZoneInfo = serde_json::from_value(serde_json::json!({
            "code": "route-1", "name": "1구역", "area": null, "assigned": true, "retired": false
        }))
        .expect("parses");
        assert_eq!(zone.kind, ZoneKind::Beat);
        assert!(zone.in_force(Utc::now()));
        let wire = serde_json::to_value(&zone).expect("writes");
        assert!(
            wire.get("valid_from").is_none(),
            "absent fields stay absent"
        );
    }

    #[test]
    fn validity_is_half_open_and_retirement_ends_it() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
        let (from, until) = (t("2026-12-01T00:00:00Z"), t("2027-01-01T00:00:00Z"));
        assert!(!in_force(
            false,
            Some(from),
            Some(until),
            t("2026-11-30T23:59:59Z")
        ));
        assert!(in_force(false, Some(from), Some(until), from));
        assert!(!in_force(false, Some(from), Some(until), until));
        assert!(!in_force(true, None, None, from));
        for kind in [ZoneKind::Beat, ZoneKind::WatchArea, ZoneKind::Jurisdiction] {
            assert_eq!(ZoneKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).expect("writes"),
                serde_json::Value::from(kind.as_str())
            );
        }
    }

    #[test]
    fn codes_are_short_lowercase_slugs() {
        assert!(valid_zone_code("yeonhui-dark_alley-2"));
        assert!(!valid_zone_code("Yeonhui"));
        assert!(!valid_zone_code(""));
        assert!(!valid_zone_code(&"a".repeat(41)));
        assert!(!valid_zone_code("연희"));
    }
}
