//! The geometric checks of an outline, giving the answers of `geo`'s
//! `Validation` for polygons and multipolygons, in time that grows as
//! `n log n` with the number of positions rather than `n²`.
//!
//! `geo` (0.33) tests every edge of a ring against every other: a ring of
//! 10,000 positions (the limit) is 10⁸ tests, seconds on a server and more on
//! a phone, and it ran twice (polygon, then multipolygon). Here each ring's
//! edges go into an R-tree and an edge is only tested against the edges whose
//! boxes meet its own, with `geo`'s exact predicate; hole and polygon
//! relations use `geo`'s `Relate` on prepared geometries, as `geo` does.

use geo::coordinate_position::CoordPos;
use geo::dimensions::Dimensions;
use geo::{
    Intersects, Line, LineString, MultiPolygon, Polygon, PreparedGeometry, Relate,
    RemoveRepeatedPoints,
};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::{AreaPlace, Rings, ZoneAreaError};

type Edge = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// A ring's edges, with an R-tree over their boxes.
struct Edges {
    lines: Vec<Line<f64>>,
    tree: RTree<Edge>,
}

/// The box of an edge, as the R-tree keys it.
fn envelope(line: &Line<f64>) -> AABB<[f64; 2]> {
    AABB::from_corners([line.start.x, line.start.y], [line.end.x, line.end.y])
}

impl Edges {
    fn of(ring: &LineString<f64>) -> Self {
        let lines: Vec<Line<f64>> = ring.lines().collect();
        let boxes = lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let b = envelope(line);
                GeomWithData::new(Rectangle::from_corners(b.lower(), b.upper()), i)
            })
            .collect();
        Self {
            lines,
            tree: RTree::bulk_load(boxes),
        }
    }

    /// The edges whose boxes meet edge `i`'s, by index (a superset of those
    /// that meet it, and of `i` itself).
    fn near(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.tree
            .locate_in_envelope_intersecting(&envelope(&self.lines[i]))
            .map(|edge| edge.data)
    }

    /// `geo`'s self-intersection test: two distinct edges that meet, other
    /// than where one ends and the other begins.
    fn cross_themselves(&self) -> bool {
        (0..self.lines.len()).any(|i| {
            let line = self.lines[i];
            self.near(i).any(|j| {
                let other = self.lines[j];
                i != j
                    && line.intersects(&other)
                    && line.start != other.end
                    && line.end != other.start
            })
        })
    }

    /// The first edge, by its starting position, that meets an edge other
    /// than its neighbours (the last edge neighbours the first): where to
    /// point at once the ring is known to cross itself.
    fn first_crossing(&self) -> Option<usize> {
        let n = self.lines.len();
        (0..n).find(|&i| {
            self.near(i).any(|j| {
                j >= i + 2 && !(i == 0 && j == n - 1) && self.lines[i].intersects(&self.lines[j])
            })
        })
    }
}

/// The checks of one polygon (`index` of the area), in `geo`'s order: per
/// ring (exterior first) too few distinct positions, crossing itself, a
/// position that is not finite; then each hole inside the exterior and
/// touching it at points only, and holes touching each other at points only.
pub(super) fn check_polygon(
    index: usize,
    polygon: &Polygon<f64>,
    rings: &Rings,
) -> Result<(), ZoneAreaError> {
    let place = |ring, position| AreaPlace {
        polygon: index,
        ring,
        position,
    };
    let all = std::iter::once(polygon.exterior()).chain(polygon.interiors());
    for (ring, line) in all.enumerate() {
        if line.0.is_empty() {
            continue;
        }
        if line.remove_repeated_points().0.len() < 4 {
            return Err(ZoneAreaError::RingTooShort(place(ring, None)));
        }
        let edges = Edges::of(line);
        if edges.cross_themselves() {
            let position = rings.get(ring).and(edges.first_crossing());
            return Err(ZoneAreaError::SelfIntersection(place(ring, position)));
        }
        if let Some(at) = line
            .0
            .iter()
            .position(|c| !c.x.is_finite() || !c.y.is_finite())
        {
            return Err(ZoneAreaError::BadPosition(place(ring, Some(at))));
        }
    }
    let holes: Vec<(usize, &LineString<f64>)> = polygon
        .interiors()
        .iter()
        .enumerate()
        .filter(|(_, hole)| !hole.0.is_empty())
        .map(|(i, hole)| (i + 1, hole))
        .collect();
    if holes.is_empty() {
        return Ok(());
    }
    let shell = Polygon::new(polygon.exterior().clone(), vec![]);
    let shell = PreparedGeometry::from(&shell);
    let as_polygons: Vec<Polygon<f64>> = holes
        .iter()
        .map(|(_, hole)| Polygon::new((*hole).clone(), vec![]))
        .collect();
    for (k, (ring, _)) in holes.iter().enumerate() {
        let hole = PreparedGeometry::from(&as_polygons[k]);
        let with_shell = shell.relate(&hole);
        if !with_shell.is_contains() {
            return Err(ZoneAreaError::HoleOutsideShell(place(*ring, None)));
        }
        if with_shell.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional
        {
            return Err(ZoneAreaError::RingsCross {
                place: place(0, None),
                other: *ring,
            });
        }
        for (other, other_polygon) in holes.iter().zip(&as_polygons).skip(k + 1) {
            let matrix = hole.relate(other_polygon);
            if matrix.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional
                || matrix.get(CoordPos::OnBoundary, CoordPos::OnBoundary)
                    == Dimensions::OneDimensional
            {
                return Err(ZoneAreaError::RingsCross {
                    place: place(*ring, None),
                    other: other.0,
                });
            }
        }
    }
    Ok(())
}

/// The first two polygons (in index order) that overlap or share an edge.
pub(super) fn check_polygons_apart(geometry: &MultiPolygon<f64>) -> Result<(), ZoneAreaError> {
    let prepared: Vec<PreparedGeometry<'_, &Polygon<f64>>> =
        geometry.iter().map(PreparedGeometry::from).collect();
    for (a, first) in prepared.iter().enumerate() {
        for (b, second) in prepared.iter().enumerate().skip(a + 1) {
            let matrix = first.relate(second);
            if matrix.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional
                || matrix.get(CoordPos::OnBoundary, CoordPos::OnBoundary)
                    == Dimensions::OneDimensional
            {
                return Err(ZoneAreaError::PolygonsOverlap(a, b));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Validation, coord};

    /// A ring of `n` positions on a circle, closed.
    fn circle(n: usize, wobble: f64) -> Vec<[f64; 2]> {
        let mut ring: Vec<[f64; 2]> = (0..n)
            .map(|i| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                let r = 0.01 * (1.0 + wobble * (i % 2) as f64);
                [126.93 + r * t.cos(), 37.56 + r * t.sin()]
            })
            .collect();
        ring.push(ring[0]);
        ring
    }

    fn polygon(rings: &Rings) -> Polygon<f64> {
        let mut lines = rings
            .iter()
            .map(|r| LineString::new(r.iter().map(|&[x, y]| coord! { x: x, y: y }).collect()));
        let exterior = lines.next().unwrap_or_else(|| LineString::new(vec![]));
        Polygon::new(exterior, lines.collect())
    }

    /// The cases of `geo`'s own validation: ours agrees on each.
    #[test]
    fn the_answers_are_geos() {
        let square =
            |x: f64, y: f64, s: f64| vec![[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]];
        let bow_tie = vec![[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]];
        let spike = vec![
            [0.0, 0.0],
            [2.0, 0.0],
            [2.0, 2.0],
            [1.0, 1.0],
            [3.0, 1.0],
            [0.0, 0.0],
        ];
        let figure_eight = vec![
            [0.0, 0.0],
            [1.0, 1.0],
            [2.0, 0.0],
            [2.0, 2.0],
            [1.0, 1.0],
            [0.0, 2.0],
            [0.0, 0.0],
        ];
        let repeated = vec![[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0]];
        let cases: Vec<Rings> = vec![
            vec![square(0.0, 0.0, 4.0)],
            vec![bow_tie],
            vec![spike],
            vec![figure_eight],
            vec![repeated],
            vec![circle(500, 0.0)],
            vec![circle(500, 0.3)],
            vec![square(0.0, 0.0, 4.0), square(1.0, 1.0, 1.0)],
            vec![square(0.0, 0.0, 4.0), square(5.0, 5.0, 1.0)],
            vec![square(0.0, 0.0, 4.0), square(0.0, 1.0, 1.0)],
            vec![
                square(0.0, 0.0, 4.0),
                square(1.0, 1.0, 1.0),
                square(1.5, 1.5, 1.0),
            ],
            vec![
                square(0.0, 0.0, 4.0),
                square(1.0, 1.0, 1.0),
                square(2.0, 1.0, 1.0),
            ],
            vec![
                square(0.0, 0.0, 4.0),
                square(1.0, 1.0, 1.0),
                square(2.0, 2.0, 1.0),
            ],
        ];
        for rings in cases {
            let p = polygon(&rings);
            assert_eq!(
                check_polygon(0, &p, &rings).is_ok(),
                p.check_validation().is_ok(),
                "{rings:?}"
            );
        }
        for (a, b) in [
            (square(0.0, 0.0, 1.0), square(2.0, 0.0, 1.0)),
            (square(0.0, 0.0, 1.0), square(1.0, 0.0, 1.0)),
            (square(0.0, 0.0, 1.0), square(1.0, 1.0, 1.0)),
            (square(0.0, 0.0, 2.0), square(1.0, 1.0, 2.0)),
        ] {
            let multi =
                MultiPolygon::new(vec![polygon(&vec![a.clone()]), polygon(&vec![b.clone()])]);
            assert_eq!(
                check_polygons_apart(&multi).is_ok(),
                multi.check_validation().is_ok(),
                "{a:?} {b:?}"
            );
        }
    }

    /// Rings and holes of random positions on a small grid (so edges often
    /// cross, touch and overlap): ours and `geo`'s agree on every one.
    #[test]
    fn random_polygons_get_geos_answer() {
        let mut seed: u64 = 0x5eed;
        let mut next = |m: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % m
        };
        let mut ring = |n: u64, at: f64, size: u64| {
            let mut r: Vec<[f64; 2]> = (0..3 + next(n))
                .map(|_| [at + next(size) as f64, at + next(size) as f64])
                .collect();
            r.push(r[0]);
            r
        };
        let (mut valid, mut invalid) = (0, 0);
        for case in 0..600 {
            let mut rings = vec![ring(6, 0.0, 6)];
            if case % 3 == 0 {
                rings.push(ring(3, 1.0, 3));
            }
            let p = polygon(&rings);
            let ours = check_polygon(0, &p, &rings);
            let theirs = p.check_validation();
            assert_eq!(
                ours.is_ok(),
                theirs.is_ok(),
                "{rings:?}: {ours:?} {theirs:?}"
            );
            if ours.is_ok() {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        assert!(
            valid > 50 && invalid > 50,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn a_ring_at_the_limit_is_checked_quickly() {
        let rings = vec![circle(super::super::MAX_AREA_POSITIONS - 1, 0.2)];
        let start = std::time::Instant::now();
        assert_eq!(check_polygon(0, &polygon(&rings), &rings), Ok(()));
        // geo's pairwise test takes seconds here even optimised; this is
        // milliseconds (the bound is loose for slow, unoptimised builds).
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }
}
