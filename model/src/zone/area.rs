//! A zone's outline: a GeoJSON `Polygon` or `MultiPolygon` geometry in WGS84
//! (RFC 7946: positions are `[longitude, latitude]`, rings closed, exterior
//! rings counter-clockwise and holes clockwise), validated with `geo` the same
//! way on the phone and the station.

use geo::orient::Direction;
use geo::{BoundingRect, Coord, LineString, MultiPolygon, Orient, Polygon, Rect, Winding};
use serde::{Deserialize, Serialize};

mod checks;

/// Most positions an area may have over all its rings and polygons: a district
/// outline drawn from survey data fits with room to spare, and the limit keeps
/// feed pages and the validator's work bounded.
pub const MAX_AREA_POSITIONS: usize = 10_000;

/// Rings of `[longitude, latitude]` positions: the exterior ring first, then holes.
pub type Rings = Vec<Vec<[f64; 2]>>;

/// A zone's outline, as a GeoJSON geometry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ZoneArea {
    /// One polygon: an exterior ring, optionally followed by holes; each ring
    /// is closed (first position equals last) and has at least four positions.
    Polygon {
        /// Rings in WGS84 degrees.
        coordinates: Rings,
    },
    /// Several polygons that do not overlap, e.g. a district with an island.
    MultiPolygon {
        /// Polygons, each as [`ZoneArea::Polygon`]'s rings.
        coordinates: Vec<Rings>,
    },
}

/// Where in an area a fault is: counted from 0, as in the GeoJSON arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AreaPlace {
    /// The polygon (always 0 for a `Polygon`).
    pub polygon: usize,
    /// The ring: 0 is the exterior, 1.. the holes.
    pub ring: usize,
    /// The position in the ring, where one position is at fault.
    pub position: Option<usize>,
}

impl std::fmt::Display for AreaPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "polygon {} ring {}", self.polygon, self.ring)?;
        if let Some(position) = self.position {
            write!(f, " position {position}")?;
        }
        Ok(())
    }
}

/// Why an area was refused; each names where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneAreaError {
    /// A `MultiPolygon` with no polygons, or a polygon with no rings.
    #[error("the area has no polygon with an exterior ring")]
    Empty,
    /// A polygon without its exterior ring.
    #[error("polygon {0} has no rings")]
    NoRing(usize),
    /// A ring with fewer than four positions.
    #[error("{0}: a ring needs at least 4 positions")]
    RingTooShort(AreaPlace),
    /// A ring whose last position is not its first.
    #[error("{0}: the ring is not closed: its last position must equal its first")]
    RingNotClosed(AreaPlace),
    /// A coordinate that is not a finite number in range.
    #[error("{0}: not a valid [longitude, latitude] in WGS84 degrees")]
    BadPosition(AreaPlace),
    /// A ring that crosses or touches itself (for example a bow tie); the
    /// position is the start of the first edge found crossing another.
    #[error("{0}: the ring crosses itself")]
    SelfIntersection(AreaPlace),
    /// A hole that is not inside its polygon's exterior ring.
    #[error("{0}: the hole is not inside the polygon's exterior ring")]
    HoleOutsideShell(AreaPlace),
    /// Two rings of one polygon that cross or share an edge.
    #[error("{place}: the ring crosses ring {other} of the same polygon")]
    RingsCross {
        /// The first ring.
        place: AreaPlace,
        /// The other ring's index.
        other: usize,
    },
    /// Two polygons of a `MultiPolygon` that overlap or share an edge.
    #[error("polygons {0} and {1} overlap or share an edge")]
    PolygonsOverlap(usize, usize),
    /// More than [`MAX_AREA_POSITIONS`] positions.
    #[error("the area has {0} positions; at most {MAX_AREA_POSITIONS} are allowed")]
    TooLarge(usize),
}

/// What validation changed in an area that it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AreaRepairs {
    /// Rings whose winding was reversed to RFC 7946's (exterior
    /// counter-clockwise, holes clockwise).
    pub rings_rewound: usize,
}

impl ZoneArea {
    /// Each polygon's rings, whichever the geometry type.
    pub fn polygons(&self) -> impl Iterator<Item = &Rings> {
        let many: &[Rings] = match self {
            Self::Polygon { coordinates } => std::slice::from_ref(coordinates),
            Self::MultiPolygon { coordinates } => coordinates,
        };
        many.iter()
    }

    /// How many positions all rings hold together.
    pub fn position_count(&self) -> usize {
        self.polygons().flatten().map(Vec::len).sum()
    }

    /// Checks the outline: every ring closed and long enough, positions in
    /// range, no ring crossing itself or another, holes inside their shell,
    /// polygons not overlapping, at most [`MAX_AREA_POSITIONS`] positions.
    /// Winding is not checked here (see [`ZoneArea::validated`]).
    pub fn validate(&self) -> Result<(), ZoneAreaError> {
        let total = self.position_count();
        if total > MAX_AREA_POSITIONS {
            return Err(ZoneAreaError::TooLarge(total));
        }
        if self.polygons().next().is_none() {
            return Err(ZoneAreaError::Empty);
        }
        for (p, rings) in self.polygons().enumerate() {
            check_rings(p, rings)?;
        }
        let geometry = self.to_geo();
        for ((p, polygon), rings) in geometry.iter().enumerate().zip(self.polygons()) {
            checks::check_polygon(p, polygon, rings)?;
        }
        checks::check_polygons_apart(&geometry)
    }

    /// Validates the outline and returns it with RFC 7946's winding, saying
    /// how many rings had to be turned round: a file drawn clockwise is
    /// repaired, not refused.
    pub fn validated(self) -> Result<(ZoneArea, AreaRepairs), ZoneAreaError> {
        self.validate()?;
        let mut repairs = AreaRepairs::default();
        let rewind = |rings: Rings, repairs: &mut AreaRepairs| -> Rings {
            rings
                .into_iter()
                .enumerate()
                .map(|(i, mut ring)| {
                    let line = line_string(&ring);
                    let wrong = if i == 0 { line.is_cw() } else { line.is_ccw() };
                    if wrong {
                        ring.reverse();
                        repairs.rings_rewound += 1;
                    }
                    ring
                })
                .collect()
        };
        let area = match self {
            Self::Polygon { coordinates } => Self::Polygon {
                coordinates: rewind(coordinates, &mut repairs),
            },
            Self::MultiPolygon { coordinates } => Self::MultiPolygon {
                coordinates: coordinates
                    .into_iter()
                    .map(|rings| rewind(rings, &mut repairs))
                    .collect(),
            },
        };
        debug_assert!({
            let geo = area.to_geo();
            geo.orient(Direction::Default) == geo
        });
        Ok((area, repairs))
    }

    /// The outline as a `geo` geometry (x = longitude, y = latitude), for
    /// point-in-polygon tests and distances.
    pub fn to_geo(&self) -> MultiPolygon<f64> {
        MultiPolygon::new(
            self.polygons()
                .map(|rings| {
                    let mut lines = rings.iter().map(|r| line_string(r));
                    let exterior = lines.next().unwrap_or_else(|| LineString::new(vec![]));
                    Polygon::new(exterior, lines.collect())
                })
                .collect(),
        )
    }

    /// A `geo` geometry as an outline (the inverse of [`ZoneArea::to_geo`]),
    /// e.g. the union of several zones computed with `geo`. Not validated.
    pub fn from_geo(shape: &MultiPolygon<f64>) -> Self {
        let rings = |polygon: &Polygon<f64>| -> Rings {
            std::iter::once(polygon.exterior())
                .chain(polygon.interiors())
                .map(|ring| ring.coords().map(|c| [c.x, c.y]).collect())
                .collect()
        };
        Self::MultiPolygon {
            coordinates: shape.iter().map(rings).collect(),
        }
    }

    /// The smallest longitude/latitude box around the outline, if it has positions.
    pub fn bounds(&self) -> Option<Rect<f64>> {
        self.to_geo().bounding_rect()
    }
}

fn line_string(ring: &[[f64; 2]]) -> LineString<f64> {
    LineString::new(ring.iter().map(|&[x, y]| Coord { x, y }).collect())
}

/// The checks that need no geometry: ring length, closure, positions in range.
fn check_rings(polygon: usize, rings: &Rings) -> Result<(), ZoneAreaError> {
    if rings.is_empty() {
        return Err(ZoneAreaError::NoRing(polygon));
    }
    for (ring, positions) in rings.iter().enumerate() {
        let place = |position| AreaPlace {
            polygon,
            ring,
            position,
        };
        for (i, [lon, lat]) in positions.iter().enumerate() {
            let ok = lon.is_finite()
                && lat.is_finite()
                && (-180.0..=180.0).contains(lon)
                && (-90.0..=90.0).contains(lat);
            if !ok {
                return Err(ZoneAreaError::BadPosition(place(Some(i))));
            }
        }
        if positions.len() < 4 {
            return Err(ZoneAreaError::RingTooShort(place(None)));
        }
        if positions.first() != positions.last() {
            return Err(ZoneAreaError::RingNotClosed(place(Some(
                positions.len() - 1,
            ))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Vec<[f64; 2]> {
        // Counter-clockwise, as RFC 7946 wants an exterior ring.
        vec![
            [126.93, 37.56],
            [126.94, 37.56],
            [126.94, 37.57],
            [126.93, 37.57],
            [126.93, 37.56],
        ]
    }

    fn poly(rings: Rings) -> ZoneArea {
        ZoneArea::Polygon { coordinates: rings }
    }

    #[test]
    fn a_closed_ring_is_valid_and_reads_as_geojson() {
        let area: ZoneArea = serde_json::from_value(serde_json::json!({
            "type": "Polygon", "coordinates": [square()]
        }))
        .expect("parses");
        assert_eq!(area.validate(), Ok(()));
        let multi: ZoneArea = serde_json::from_value(serde_json::json!({
            "type": "MultiPolygon", "coordinates": [[square()]]
        }))
        .expect("parses");
        assert_eq!(multi.validate(), Ok(()));
    }

    #[test]
    fn an_outline_round_trips_through_geo() {
        let area = poly(vec![square()]);
        let back = ZoneArea::from_geo(&area.to_geo());
        assert_eq!(
            back,
            ZoneArea::MultiPolygon {
                coordinates: vec![vec![square()]]
            }
        );
        assert_eq!(back.validate(), Ok(()));
    }

    #[test]
    fn open_short_empty_and_out_of_range_rings_are_refused_with_their_place() {
        let mut open = square();
        open.pop();
        open.push([126.95, 37.58]);
        let at = |ring, position| AreaPlace {
            polygon: 0,
            ring,
            position,
        };
        assert_eq!(
            poly(vec![open]).validate(),
            Err(ZoneAreaError::RingNotClosed(at(0, Some(4))))
        );
        assert_eq!(
            poly(vec![square()[..3].to_vec()]).validate(),
            Err(ZoneAreaError::RingTooShort(at(0, None)))
        );
        assert_eq!(poly(vec![]).validate(), Err(ZoneAreaError::NoRing(0)));
        assert_eq!(
            ZoneArea::MultiPolygon {
                coordinates: vec![]
            }
            .validate(),
            Err(ZoneAreaError::Empty)
        );
        let mut far = square();
        far[2] = [200.0, 37.57];
        assert_eq!(
            poly(vec![square(), far]).validate(),
            Err(ZoneAreaError::BadPosition(at(1, Some(2))))
        );
        let mut nan = square();
        nan[1] = [f64::NAN, 37.0];
        assert_eq!(
            poly(vec![nan]).validate(),
            Err(ZoneAreaError::BadPosition(at(0, Some(1))))
        );
        let big = vec![square(); MAX_AREA_POSITIONS / 5 + 1];
        assert_eq!(
            poly(big).validate(),
            Err(ZoneAreaError::TooLarge(MAX_AREA_POSITIONS + 5))
        );
    }

    #[test]
    fn a_bow_tie_is_refused_at_its_crossing_edge() {
        let bow_tie = vec![
            [126.93, 37.56],
            [126.94, 37.57],
            [126.94, 37.56],
            [126.93, 37.57],
            [126.93, 37.56],
        ];
        let err = poly(vec![bow_tie]).validate().expect_err("refused");
        assert_eq!(
            err,
            ZoneAreaError::SelfIntersection(AreaPlace {
                polygon: 0,
                ring: 0,
                position: Some(0)
            })
        );
        assert_eq!(
            err.to_string(),
            "polygon 0 ring 0 position 0: the ring crosses itself"
        );
    }

    #[test]
    fn holes_must_lie_inside_and_polygons_must_not_overlap() {
        let outside: Vec<[f64; 2]> = square().iter().rev().map(|[x, y]| [x + 1.0, *y]).collect();
        assert!(matches!(
            poly(vec![square(), outside]).validate(),
            Err(ZoneAreaError::HoleOutsideShell(AreaPlace { ring: 1, .. }))
        ));
        let shifted: Vec<[f64; 2]> = square().iter().map(|[x, y]| [x + 0.005, *y]).collect();
        assert_eq!(
            ZoneArea::MultiPolygon {
                coordinates: vec![vec![square()], vec![shifted]]
            }
            .validate(),
            Err(ZoneAreaError::PolygonsOverlap(0, 1))
        );
    }

    #[test]
    fn a_clockwise_exterior_is_rewound_and_the_repair_counted() {
        let mut clockwise = square();
        clockwise.reverse();
        let hole = vec![
            [126.934, 37.564],
            [126.936, 37.564],
            [126.936, 37.566],
            [126.934, 37.566],
            [126.934, 37.564],
        ];
        let (area, repairs) = poly(vec![clockwise, hole.clone()])
            .validated()
            .expect("valid");
        assert_eq!(repairs.rings_rewound, 2, "exterior and hole both wrong");
        let mut hole_cw = hole;
        hole_cw.reverse();
        assert_eq!(area, poly(vec![square(), hole_cw]));
        let (again, none) = area.clone().validated().expect("valid");
        assert_eq!((again, none.rings_rewound), (area, 0));
    }

    #[test]
    fn other_geometry_types_do_not_parse() {
        let point = serde_json::json!({"type": "Point", "coordinates": [126.9, 37.5]});
        assert!(serde_json::from_value::<ZoneArea>(point).is_err());
        let line = serde_json::json!({"type": "LineString", "coordinates": [[126.9, 37.5], [127.0, 37.6]]});
        assert!(serde_json::from_value::<ZoneArea>(line).is_err());
    }
}
