//! Where the carrier is, answered offline from the station's zones.
//!
//! - [`LocalZones`]: the zones the phone holds, indexed in memory (the model's
//!   R-tree, [`crate::model::ZoneIndex`]) for "which zones hold this point" and
//!   "which lie within so many metres", only ever counting zones in force.
//! - [`Inside`]: which watch areas the carrier is in, moved on by each position
//!   with hysteresis so GPS jitter at an edge does not announce an area again
//!   and again.
//!
//! Both are plain data with no I/O; the queue ([`crate::ReportQueue`]) keeps
//! the index fresh when zones change and persists the watch-area state.

mod local;
mod movement;

pub use local::{LocalZones, ZoneHit};
pub use movement::{
    FORGET_INSIDE_AFTER, Inside, LEAVE_MARGIN_M, MAX_ENTER_ACCURACY_M, PositionUpdate,
};

use crate::model::GeoError;

/// The widest search `zones_near` accepts, in metres: enough for "what is
/// around me" on a carrier's round, and small enough that the flat-earth
/// distances of the index stay exact to well under a metre.
pub const MAX_NEAR_RADIUS_M: f64 = 5_000.0;

/// Checks a point given as bare coordinates (not a whole GPS fix): both finite
/// and inside WGS84's ranges. (0, 0) is allowed: it is simply outside every zone.
pub fn check_point(lat: f64, lon: f64) -> Result<(), GeoError> {
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
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_points_are_checked_for_range_and_finiteness() {
        assert!(check_point(37.56, 126.93).is_ok());
        assert!(check_point(0.0, 0.0).is_ok());
        assert_eq!(
            check_point(f64::NAN, 126.9),
            Err(GeoError::NotFinite { field: "lat" })
        );
        assert_eq!(
            check_point(37.5, f64::INFINITY),
            Err(GeoError::NotFinite { field: "lon" })
        );
        assert_eq!(
            check_point(91.0, 126.9),
            Err(GeoError::OutOfRange { field: "lat" })
        );
        assert_eq!(
            check_point(37.5, -180.5),
            Err(GeoError::OutOfRange { field: "lon" })
        );
    }
}
