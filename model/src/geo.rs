//! GPS points and their validation.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Where a position came from; the station weighs a manual pin differently from a GPS fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationSource {
    /// The phone's satellite receiver.
    Gps,
    /// Cell or Wi-Fi positioning.
    Network,
    /// A pin the carrier dropped on a map.
    Manual,
    /// Read from a photo's camera EXIF before the metadata was stripped.
    Exif,
}

impl LocationSource {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gps => "gps",
            Self::Network => "network",
            Self::Manual => "manual",
            Self::Exif => "exif",
        }
    }

    /// Parses the wire and database spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "gps" => Self::Gps,
            "network" => Self::Network,
            "manual" => Self::Manual,
            "exif" => Self::Exif,
            _ => return None,
        })
    }
}

/// Why a position was refused. Messages name the field, never the value, so they
/// can be logged without leaking where a report points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GeoError {
    /// A coordinate is NaN or infinite.
    #[error("{field} is not a finite number")]
    NotFinite {
        /// The offending field.
        field: &'static str,
    },
    /// Latitude outside [-90, 90] or longitude outside [-180, 180].
    #[error("{field} is out of range")]
    OutOfRange {
        /// The offending field.
        field: &'static str,
    },
    /// Exactly (0, 0): the classic "no fix" value of broken location stacks.
    #[error("position (0, 0) is a missing fix, not a place in the district")]
    NullIsland,
    /// The accuracy radius is absent.
    #[error("accuracy_m is missing")]
    AccuracyMissing,
    /// The accuracy radius is zero, negative or NaN.
    #[error("accuracy_m must be a positive finite number of metres")]
    AccuracyInvalid,
}

/// A validated WGS84 position with its accuracy, fix time and source.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawGeoPoint", into = "RawGeoPoint")]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
    accuracy_m: f64,
    altitude_m: Option<f64>,
    fix_time: DateTime<Utc>,
    source: LocationSource,
}

/// The unvalidated wire form of [`GeoPoint`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct RawGeoPoint {
    lat: f64,
    lon: f64,
    accuracy_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    altitude_m: Option<f64>,
    fix_time: DateTime<Utc>,
    source: LocationSource,
}

impl TryFrom<RawGeoPoint> for GeoPoint {
    type Error = GeoError;
    fn try_from(r: RawGeoPoint) -> Result<Self, GeoError> {
        GeoPoint::new(
            r.lat,
            r.lon,
            r.accuracy_m,
            r.altitude_m,
            r.fix_time,
            r.source,
        )
    }
}

impl From<GeoPoint> for RawGeoPoint {
    fn from(p: GeoPoint) -> Self {
        Self {
            lat: p.lat,
            lon: p.lon,
            accuracy_m: Some(p.accuracy_m),
            altitude_m: p.altitude_m,
            fix_time: p.fix_time,
            source: p.source,
        }
    }
}

/// Quality warnings on a position that is valid but may mislead the inspector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeoFlags {
    /// The accuracy radius is worse than the policy's threshold.
    pub low_accuracy: bool,
    /// The fix was older than the policy allows when the report was submitted.
    pub stale: bool,
}

/// Thresholds for [`GeoFlags`]; the station may tune them for its district.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPolicy {
    /// Accuracy radius above which a fix is flagged `low_accuracy` (metres).
    pub low_accuracy_m: f64,
    /// Age above which a fix is flagged `stale` at submit.
    pub max_fix_age: Duration,
}

impl Default for GeoPolicy {
    fn default() -> Self {
        Self {
            low_accuracy_m: 50.0,
            max_fix_age: Duration::minutes(2),
        }
    }
}

impl GeoPoint {
    /// Validates and builds a position. `accuracy_m` is optional in the signature
    /// because platform location APIs may omit it; a missing one is refused.
    pub fn new(
        lat: f64,
        lon: f64,
        accuracy_m: Option<f64>,
        altitude_m: Option<f64>,
        fix_time: DateTime<Utc>,
        source: LocationSource,
    ) -> Result<Self, GeoError> {
        if !lat.is_finite() {
            return Err(GeoError::NotFinite { field: "lat" });
        }
        if !lon.is_finite() {
            return Err(GeoError::NotFinite { field: "lon" });
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::OutOfRange { field: "lat" });
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(GeoError::OutOfRange { field: "lon" });
        }
        if lat == 0.0 && lon == 0.0 {
            return Err(GeoError::NullIsland);
        }
        let accuracy_m = accuracy_m.ok_or(GeoError::AccuracyMissing)?;
        if !(accuracy_m.is_finite() && accuracy_m > 0.0) {
            return Err(GeoError::AccuracyInvalid);
        }
        if let Some(alt) = altitude_m
            && !alt.is_finite()
        {
            return Err(GeoError::NotFinite {
                field: "altitude_m",
            });
        }
        Ok(Self {
            lat,
            lon,
            accuracy_m,
            altitude_m,
            fix_time,
            source,
        })
    }

    /// Latitude in degrees, WGS84.
    pub fn lat(&self) -> f64 {
        self.lat
    }
    /// Longitude in degrees, WGS84.
    pub fn lon(&self) -> f64 {
        self.lon
    }
    /// Horizontal accuracy radius in metres (68% confidence, as the platforms report it).
    pub fn accuracy_m(&self) -> f64 {
        self.accuracy_m
    }
    /// Altitude in metres above the WGS84 ellipsoid, when the fix has one.
    pub fn altitude_m(&self) -> Option<f64> {
        self.altitude_m
    }
    /// When the fix was taken.
    pub fn fix_time(&self) -> DateTime<Utc> {
        self.fix_time
    }
    /// Where the fix came from.
    pub fn source(&self) -> LocationSource {
        self.source
    }

    /// Quality flags for this fix, judged at `now` (the moment of submit).
    pub fn flags(&self, now: DateTime<Utc>, policy: &GeoPolicy) -> GeoFlags {
        GeoFlags {
            low_accuracy: self.accuracy_m > policy.low_accuracy_m,
            stale: now - self.fix_time > policy.max_fix_age,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64, acc: Option<f64>) -> Result<GeoPoint, GeoError> {
        GeoPoint::new(lat, lon, acc, None, Utc::now(), LocationSource::Gps)
    }

    #[test]
    fn rejects_every_invalid_position_with_its_own_error() {
        assert_eq!(
            at(f64::NAN, 126.9, Some(5.0)),
            Err(GeoError::NotFinite { field: "lat" })
        );
        assert_eq!(
            at(37.5, f64::INFINITY, Some(5.0)),
            Err(GeoError::NotFinite { field: "lon" })
        );
        assert_eq!(
            at(90.01, 126.9, Some(5.0)),
            Err(GeoError::OutOfRange { field: "lat" })
        );
        assert_eq!(
            at(37.5, -180.5, Some(5.0)),
            Err(GeoError::OutOfRange { field: "lon" })
        );
        assert_eq!(at(0.0, 0.0, Some(5.0)), Err(GeoError::NullIsland));
        assert_eq!(at(37.5, 126.9, None), Err(GeoError::AccuracyMissing));
        assert_eq!(at(37.5, 126.9, Some(0.0)), Err(GeoError::AccuracyInvalid));
        assert_eq!(at(37.5, 126.9, Some(-3.0)), Err(GeoError::AccuracyInvalid));
        assert_eq!(
            at(37.5, 126.9, Some(f64::NAN)),
            Err(GeoError::AccuracyInvalid)
        );
    }

    #[test]
    fn accepts_edges_of_the_valid_range() {
        assert!(at(90.0, 180.0, Some(1.0)).is_ok());
        assert!(at(-90.0, -180.0, Some(1.0)).is_ok());
        assert!(
            at(0.0, 126.9, Some(1.0)).is_ok(),
            "only exactly (0,0) is refused"
        );
    }

    #[test]
    fn flags_low_accuracy_and_stale_fixes() {
        let now = Utc::now();
        let policy = GeoPolicy::default();
        let fresh =
            GeoPoint::new(37.56, 126.94, Some(8.0), None, now, LocationSource::Gps).unwrap();
        assert_eq!(fresh.flags(now, &policy), GeoFlags::default());
        let vague = GeoPoint::new(
            37.56,
            126.94,
            Some(120.0),
            None,
            now,
            LocationSource::Network,
        )
        .unwrap();
        assert!(vague.flags(now, &policy).low_accuracy);
        let old_fix = now - Duration::seconds(121);
        let stale =
            GeoPoint::new(37.56, 126.94, Some(8.0), None, old_fix, LocationSource::Gps).unwrap();
        assert!(stale.flags(now, &policy).stale);
        assert!(!stale.flags(old_fix + Duration::seconds(120), &policy).stale);
    }

    #[test]
    fn wire_form_is_validated_on_the_way_in() {
        let bad = r#"{"lat":0.0,"lon":0.0,"accuracy_m":5.0,"fix_time":"2026-11-29T10:00:00Z","source":"gps"}"#;
        assert!(serde_json::from_str::<GeoPoint>(bad).is_err());
        let missing =
            r#"{"lat":37.5,"lon":126.9,"fix_time":"2026-11-29T10:00:00Z","source":"gps"}"#;
        let err = serde_json::from_str::<GeoPoint>(missing)
            .unwrap_err()
            .to_string();
        assert!(err.contains("accuracy_m is missing"), "{err}");
        let good = r#"{"lat":37.5,"lon":126.9,"accuracy_m":5.0,"fix_time":"2026-11-29T10:00:00Z","source":"manual"}"#;
        let p: GeoPoint = serde_json::from_str(good).unwrap();
        assert_eq!(p.source(), LocationSource::Manual);
        let back: GeoPoint = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
