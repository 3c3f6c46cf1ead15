//! Test zones laid out in metres around a point in Seodaemun, so tests read
//! as "20 m outside the edge" rather than in degrees.

use crate::model::{ZoneArea, ZoneInfo, ZoneKind};

/// A local flat frame: metres north and east of an origin.
pub(crate) struct Frame {
    lat: f64,
    lon: f64,
}

/// The frame the tests use, with its origin near Seodaemun Police Station.
pub(crate) const METRES: Frame = Frame {
    lat: 37.5658,
    lon: 126.9386,
};

impl Frame {
    /// Degrees of (lat, lon) for a point `north` and `east` metres from the origin,
    /// on the same local projection the index measures with.
    pub(crate) fn at(&self, north: f64, east: f64) -> (f64, f64) {
        let per_lat = 110_574.0;
        let per_lon = 111_320.0 * self.lat.to_radians().cos();
        (self.lat + north / per_lat, self.lon + east / per_lon)
    }
}

/// A square zone of `side` metres whose south-west corner is `(north, east)`
/// metres from the origin, counter-clockwise as RFC 7946 wants.
pub(crate) fn square_zone(code: &str, kind: ZoneKind, corner: (f64, f64), side: f64) -> ZoneInfo {
    let (n, e) = corner;
    let ring: Vec<[f64; 2]> = [
        (n, e),
        (n, e + side),
        (n + side, e + side),
        (n + side, e),
        (n, e),
    ]
    .into_iter()
    .map(|(north, east)| {
        let (lat, lon) = METRES.at(north, east);
        [lon, lat]
    })
    .collect();
    ZoneInfo {
        code: code.to_owned(),
        kind,
        theme: (kind == ZoneKind::WatchArea).then(|| "dark_alley".to_owned()),
        name: format!("{code} 구역"),
        name_en: Some(format!("{code} area")),
        guidance: (kind == ZoneKind::WatchArea).then(|| "check street lights".to_owned()),
        valid_from: None,
        valid_until: None,
        area: Some(ZoneArea::Polygon {
            coordinates: vec![ring],
        }),
        assigned: false,
        retired: false,
    }
}
