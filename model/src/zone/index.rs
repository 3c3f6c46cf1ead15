//! Which zones hold a point, and which lie near it: an R-tree (`rstar`) over
//! the zones' bounding boxes picks the candidates, and `geo` decides exactly.
//! The phone answers `zones_at` and watch-area alerts with it offline; the
//! station finds a report's district and zones with the same code.

use geo::{BoundingRect, Coord, Distance, Euclidean, Intersects, MapCoords, MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::ZoneArea;

/// Metres per degree of latitude (WGS84 mean, good to 0.5 % anywhere): enough
/// for "within 30 m" questions, which GPS answers no better.
const METRES_PER_DEGREE_LAT: f64 = 110_574.0;
/// Metres per degree of longitude at the equator; scaled by cos(latitude).
const METRES_PER_DEGREE_LON: f64 = 111_320.0;

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// A zone near a point, with how far its outline is (0 when the point is inside).
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneNear<'a, K> {
    /// The key the zone was indexed under.
    pub key: &'a K,
    /// Metres from the point to the zone; 0 inside or on the edge.
    pub distance_m: f64,
}

/// Zones with outlines, indexed for point queries; build once per zone list.
pub struct ZoneIndex<K> {
    tree: RTree<Entry>,
    zones: Vec<(K, MultiPolygon<f64>)>,
}

impl<K> ZoneIndex<K> {
    /// Indexes each zone's outline under its key (bulk-loaded, so the tree is
    /// packed well). Outlines with no positions are skipped.
    pub fn new<'a>(zones: impl IntoIterator<Item = (K, &'a ZoneArea)>) -> Self {
        let mut entries = Vec::new();
        let mut kept = Vec::new();
        for (key, area) in zones {
            let shape = area.to_geo();
            let Some(bounds) = shape.bounding_rect() else {
                continue;
            };
            let rect = Rectangle::from_corners(
                [bounds.min().x, bounds.min().y],
                [bounds.max().x, bounds.max().y],
            );
            entries.push(GeomWithData::new(rect, kept.len()));
            kept.push((key, shape));
        }
        Self {
            tree: RTree::bulk_load(entries),
            zones: kept,
        }
    }

    /// How many zones are indexed.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// Whether no zone is indexed.
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The zones whose outline holds the point, edges included, in index order.
    /// A point outside every zone gives nothing, never an error.
    pub fn containing(&self, lat: f64, lon: f64) -> Vec<&K> {
        let point = Point::new(lon, lat);
        let mut hits: Vec<usize> = self
            .tree
            .locate_all_at_point(&[lon, lat])
            .map(|entry| entry.data)
            .filter(|&i| self.zones[i].1.intersects(&point))
            .collect();
        hits.sort_unstable();
        hits.into_iter().map(|i| &self.zones[i].0).collect()
    }

    /// The zones within `radius_m` metres of the point, nearest first, with
    /// their distance. Distances are measured on a local flat projection
    /// around the point, exact to well under a metre within a few kilometres.
    pub fn near(&self, lat: f64, lon: f64, radius_m: f64) -> Vec<ZoneNear<'_, K>> {
        self.ranked(lat, lon, radius_m, |local| {
            local
                .iter()
                .map(|polygon| Euclidean.distance(&Point::new(0.0, 0.0), polygon))
                .fold(f64::INFINITY, f64::min)
        })
    }

    /// The zones whose outline (any ring: exterior or hole) passes within
    /// `radius_m` metres of the point, nearest first, with the distance to
    /// that line whether the point is inside or outside: "how close to the
    /// edge", e.g. a report near its station's jurisdiction line, where
    /// simplified outlines put a point on the wrong side.
    pub fn edges_near(&self, lat: f64, lon: f64, radius_m: f64) -> Vec<ZoneNear<'_, K>> {
        self.ranked(lat, lon, radius_m, |local| {
            local
                .iter()
                .flat_map(|polygon| std::iter::once(polygon.exterior()).chain(polygon.interiors()))
                .map(|ring| Euclidean.distance(&Point::new(0.0, 0.0), ring))
                .fold(f64::INFINITY, f64::min)
        })
    }

    /// The zones whose box meets the `radius_m` window around the point and
    /// whose `distance` (given the outline projected to metres around the
    /// point, which is the origin) is within the radius, nearest first.
    fn ranked(
        &self,
        lat: f64,
        lon: f64,
        radius_m: f64,
        distance: impl Fn(&MultiPolygon<f64>) -> f64,
    ) -> Vec<ZoneNear<'_, K>> {
        let radius_m = if radius_m.is_finite() {
            radius_m.max(0.0)
        } else {
            0.0
        };
        let (kx, ky) = metres_per_degree(lat);
        let (dx, dy) = (radius_m / kx, radius_m / ky);
        let window = AABB::from_corners([lon - dx, lat - dy], [lon + dx, lat + dy]);
        let mut found: Vec<(usize, f64)> = self
            .tree
            .locate_in_envelope_intersecting(&window)
            .filter_map(|entry| {
                let local = self.zones[entry.data].1.map_coords(|c| Coord {
                    x: (c.x - lon) * kx,
                    y: (c.y - lat) * ky,
                });
                let d = distance(&local);
                (d <= radius_m).then_some((entry.data, d))
            })
            .collect();
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found
            .into_iter()
            .map(|(i, distance_m)| ZoneNear {
                key: &self.zones[i].0,
                distance_m,
            })
            .collect()
    }

    /// Roughly how many bytes the index holds (outlines and tree), for
    /// telling an app's memory budget what thousands of zones cost.
    pub fn approx_bytes(&self) -> usize {
        let coords: usize = self
            .zones
            .iter()
            .map(|(_, shape)| {
                shape
                    .iter()
                    .map(|p| {
                        p.exterior().0.len()
                            + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()
                    })
                    .sum::<usize>()
            })
            .sum();
        coords * std::mem::size_of::<Coord<f64>>()
            + self.zones.len()
                * (std::mem::size_of::<(K, MultiPolygon<f64>)>() + 2 * std::mem::size_of::<Entry>())
    }
}

/// Metres per degree of longitude and of latitude at a latitude.
fn metres_per_degree(lat: f64) -> (f64, f64) {
    let kx = METRES_PER_DEGREE_LON * lat.to_radians().cos().abs().max(1e-6);
    (kx, METRES_PER_DEGREE_LAT)
}

/// Metres between two points, on the same local projection as
/// [`ZoneIndex::near`]: for "within 30 m" and "within 50 m" checks.
pub fn metres_between(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (kx, ky) = metres_per_degree((a.0 + b.0) / 2.0);
    ((a.0 - b.0) * ky).hypot((a.1 - b.1) * kx)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A square of `side` degrees with its south-west corner at (lat, lon).
    fn square(lat: f64, lon: f64, side: f64) -> ZoneArea {
        ZoneArea::Polygon {
            coordinates: vec![vec![
                [lon, lat],
                [lon + side, lat],
                [lon + side, lat + side],
                [lon, lat + side],
                [lon, lat],
            ]],
        }
    }

    #[test]
    fn containing_is_exact_not_by_bounding_box() {
        // An L-shaped zone whose box holds the point but whose outline does not.
        let l_shape = ZoneArea::Polygon {
            coordinates: vec![vec![
                [126.90, 37.50],
                [126.92, 37.50],
                [126.92, 37.51],
                [126.91, 37.51],
                [126.91, 37.52],
                [126.90, 37.52],
                [126.90, 37.50],
            ]],
        };
        let other = square(37.515, 126.915, 0.002);
        let index = ZoneIndex::new([("l", &l_shape), ("sq", &other)]);
        assert_eq!(index.containing(37.505, 126.905), vec![&"l"]);
        assert_eq!(index.containing(37.5155, 126.9155), vec![&"sq"]);
        assert!(
            index.containing(37.5190, 126.9190).is_empty(),
            "in the box's corner only"
        );
        assert!(
            index.containing(0.0, 0.0).is_empty(),
            "far away: empty, no error"
        );
        assert_eq!(
            index.containing(37.50, 126.90),
            vec![&"l"],
            "a vertex counts as inside"
        );
    }

    #[test]
    fn near_gives_distances_in_metres_nearest_first() {
        let a = square(37.560, 126.930, 0.001);
        let b = square(37.560, 126.9325, 0.001);
        let index = ZoneIndex::new([("a", &a), ("b", &b)]);
        // 0.0005 degrees of longitude east of a's east edge at 37.56 N is ~44 m.
        let near = index.near(37.5605, 126.9315, 100.0);
        let keys: Vec<_> = near.iter().map(|n| *n.key).collect();
        assert_eq!(keys, vec!["a", "b"]);
        assert!((near[0].distance_m - 44.1).abs() < 0.5, "{:?}", near[0]);
        assert!((near[1].distance_m - 88.2).abs() < 1.0, "{:?}", near[1]);
        assert_eq!(index.near(37.5605, 126.9315, 50.0).len(), 1);
        let inside = index.near(37.5605, 126.9305, 10.0);
        assert_eq!(inside[0].distance_m, 0.0);
        assert!(index.near(37.5605, 126.9315, f64::NAN).is_empty());
    }

    #[test]
    fn edges_near_measures_to_the_outline_from_inside_and_outside() {
        let a = square(37.560, 126.930, 0.001);
        let index = ZoneIndex::new([("a", &a)]);
        // Inside, 0.0001 degrees of latitude (~11.1 m) north of the south edge.
        let inside = index.edges_near(37.5601, 126.9305, 50.0);
        assert_eq!(inside.len(), 1);
        assert!((inside[0].distance_m - 11.06).abs() < 0.1, "{inside:?}");
        // The middle of the square is ~44 m from the east and west edges.
        assert!(index.edges_near(37.5605, 126.9305, 40.0).is_empty());
        assert_eq!(index.edges_near(37.5605, 126.9305, 50.0).len(), 1);
        // Outside, ~44 m east of the east edge: the same as `near`.
        let outside = index.edges_near(37.5605, 126.9315, 50.0);
        let near = index.near(37.5605, 126.9315, 50.0);
        assert!((outside[0].distance_m - near[0].distance_m).abs() < 1e-9);
        assert!(index.edges_near(37.5605, 126.9305, f64::NAN).is_empty());
    }

    #[test]
    fn metres_between_matches_a_known_distance() {
        // One thousandth of a degree of latitude is about 110.6 m.
        let d = metres_between((37.560, 126.93), (37.561, 126.93));
        assert!((d - 110.57).abs() < 0.1, "{d}");
    }
}
