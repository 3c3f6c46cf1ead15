//! Zones: the parts of a station's district (delivery routes, beats) its admin
//! manages. The station publishes them through the changes feed; the phone
//! keeps them so a carrier sees its own beat offline.
//!
//! The area is a GeoJSON `Polygon` geometry (RFC 7946: positions are
//! `[longitude, latitude]`, rings closed), validated the same way on both sides.

use serde::{Deserialize, Serialize};

/// Most positions an area may have over all its rings; a beat outline needs
/// far fewer, and the limit keeps feed pages small.
pub const MAX_AREA_POSITIONS: usize = 2000;

/// A zone's outline, as a GeoJSON geometry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ZoneArea {
    /// An exterior ring, optionally followed by holes; each ring is closed
    /// (first position equals last) and has at least four positions.
    Polygon {
        /// Rings of `[longitude, latitude]` positions in WGS84 degrees.
        coordinates: Vec<Vec<[f64; 2]>>,
    },
}

/// Why an area was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneAreaError {
    /// No rings at all.
    #[error("a polygon needs at least its exterior ring")]
    NoRing,
    /// A ring with fewer than four positions.
    #[error("ring {0} has fewer than 4 positions")]
    RingTooShort(usize),
    /// A ring whose last position is not its first.
    #[error("ring {0} is not closed: its last position must equal its first")]
    RingNotClosed(usize),
    /// A coordinate that is not a finite number in range.
    #[error("ring {ring} position {position} is not a valid [longitude, latitude]")]
    BadPosition {
        /// The ring.
        ring: usize,
        /// The position within it.
        position: usize,
    },
    /// More than [`MAX_AREA_POSITIONS`] positions.
    #[error("an area may have at most {MAX_AREA_POSITIONS} positions")]
    TooLarge,
}

impl ZoneArea {
    /// Checks the outline: rings present, closed, long enough, positions valid.
    pub fn validate(&self) -> Result<(), ZoneAreaError> {
        let Self::Polygon { coordinates } = self;
        if coordinates.is_empty() {
            return Err(ZoneAreaError::NoRing);
        }
        let total: usize = coordinates.iter().map(Vec::len).sum();
        if total > MAX_AREA_POSITIONS {
            return Err(ZoneAreaError::TooLarge);
        }
        for (ring_index, ring) in coordinates.iter().enumerate() {
            if ring.len() < 4 {
                return Err(ZoneAreaError::RingTooShort(ring_index));
            }
            for (position, [lon, lat]) in ring.iter().enumerate() {
                let ok = lon.is_finite()
                    && lat.is_finite()
                    && (-180.0..=180.0).contains(lon)
                    && (-90.0..=90.0).contains(lat);
                if !ok {
                    return Err(ZoneAreaError::BadPosition {
                        ring: ring_index,
                        position,
                    });
                }
            }
            if ring.first() != ring.last() {
                return Err(ZoneAreaError::RingNotClosed(ring_index));
            }
        }
        Ok(())
    }
}

/// One zone as a carrier's phone receives and keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneInfo {
    /// Stable code, e.g. `route-12`.
    pub code: String,
    /// Display name.
    pub name: String,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Vec<[f64; 2]> {
        vec![
            [126.93, 37.56],
            [126.94, 37.56],
            [126.94, 37.57],
            [126.93, 37.57],
            [126.93, 37.56],
        ]
    }

    #[test]
    fn a_closed_ring_is_valid_and_reads_as_geojson() {
        let area: ZoneArea = serde_json::from_value(serde_json::json!({
            "type": "Polygon", "coordinates": [square()]
        }))
        .unwrap();
        assert_eq!(area.validate(), Ok(()));
    }

    #[test]
    fn open_short_empty_and_out_of_range_rings_are_refused() {
        let mut open = square();
        open.pop();
        open.push([126.95, 37.58]);
        let poly = |rings| ZoneArea::Polygon { coordinates: rings };
        assert_eq!(
            poly(vec![open]).validate(),
            Err(ZoneAreaError::RingNotClosed(0))
        );
        assert_eq!(
            poly(vec![square()[..3].to_vec()]).validate(),
            Err(ZoneAreaError::RingTooShort(0))
        );
        assert_eq!(poly(vec![]).validate(), Err(ZoneAreaError::NoRing));
        let mut far = square();
        far[2] = [200.0, 37.57];
        assert_eq!(
            poly(vec![square(), far]).validate(),
            Err(ZoneAreaError::BadPosition {
                ring: 1,
                position: 2
            })
        );
        let mut nan = square();
        nan[1] = [f64::NAN, 37.0];
        assert!(poly(vec![nan]).validate().is_err());
        let big = vec![square(); MAX_AREA_POSITIONS / 5 + 1];
        assert_eq!(poly(big).validate(), Err(ZoneAreaError::TooLarge));
    }

    #[test]
    fn other_geometry_types_do_not_parse() {
        let point = serde_json::json!({"type": "Point", "coordinates": [126.9, 37.5]});
        assert!(serde_json::from_value::<ZoneArea>(point).is_err());
    }
}
