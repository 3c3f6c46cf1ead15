//! 10,000 zones of realistic shape over Seoul for the place benchmarks, made
//! at bench time from the station's district outlines
//! (`station/data/seoul-gu.geojson`, read from disk: the core never embeds it).
//!
//! How: two grids of irregular quadrilaterals (every grid node moved by up to
//! 30 % of a cell in a seeded random direction, so the cells still tile) are
//! cut along the 25 district boundaries with `geo`'s boolean operations; each
//! piece is smoothed with Chaikin's corner cutting until it has a few hundred
//! vertices. One grid (cells of ~320 m) gives the beats, the other (~400 m,
//! offset) the watch areas, and the 25 districts themselves are the
//! jurisdictions, so a point in Seoul typically lies in one beat, one watch
//! area and one district, as on a real phone, and bounding boxes overlap. The
//! smoothing leaves gaps of a few metres between neighbours, as real zones
//! drawn by hand have.

use geo::{
    Area, BooleanOps, BoundingRect, ChaikinSmoothing, Contains, Coord, LineString, MultiPolygon,
    Point, Polygon, Rect,
};
use postcso_core::model::{ZoneArea, ZoneInfo, ZoneKind};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// How many zones the benchmarks index.
pub const ZONES: usize = 10_000;

/// Fewest vertices a smoothed piece is given (each Chaikin pass doubles them).
const MIN_VERTICES: usize = 200;

/// Seoul's districts as `geo` polygons, with their codes.
pub struct Districts {
    /// (`sgg_code`, outline) for each of the 25 districts.
    pub list: Vec<(String, MultiPolygon<f64>)>,
    /// The box around them all.
    pub bounds: Rect<f64>,
}

impl Districts {
    /// Reads the GeoJSON FeatureCollection at `path` (`$POSTCSO_SEOUL_GU`, or
    /// the station's copy in this repository).
    pub fn load() -> Self {
        let path = std::env::var_os("POSTCSO_SEOUL_GU").map_or_else(
            || {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../station/data/seoul-gu.geojson")
            },
            Into::into,
        );
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (set POSTCSO_SEOUL_GU)", path.display()));
        let doc: serde_json::Value = serde_json::from_str(&text).expect("GeoJSON");
        let list: Vec<(String, MultiPolygon<f64>)> = doc["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| {
                let code = f["properties"]["sgg_code"].as_str().expect("sgg_code");
                let area: ZoneArea =
                    serde_json::from_value(f["geometry"].clone()).expect("geometry");
                (format!("gu-{code}"), area.to_geo())
            })
            .collect();
        let bounds = list
            .iter()
            .filter_map(|(_, g)| g.bounding_rect())
            .reduce(|a, b| {
                Rect::new(
                    Coord {
                        x: a.min().x.min(b.min().x),
                        y: a.min().y.min(b.min().y),
                    },
                    Coord {
                        x: a.max().x.max(b.max().x),
                        y: a.max().y.max(b.max().y),
                    },
                )
            })
            .expect("districts");
        Self { list, bounds }
    }

    /// Whether the point (lon, lat) lies in Seoul.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let p = Point::new(lon, lat);
        self.list.iter().any(|(_, g)| g.contains(&p))
    }

    /// `n` random points inside Seoul, seeded.
    pub fn random_points(&self, n: usize, seed: u64) -> Vec<(f64, f64)> {
        let mut rng = StdRng::seed_from_u64(seed);
        let (min, max) = (self.bounds.min(), self.bounds.max());
        let mut points = Vec::with_capacity(n);
        while points.len() < n {
            let lon = rng.random_range(min.x..max.x);
            let lat = rng.random_range(min.y..max.y);
            if self.contains(lon, lat) {
                points.push((lat, lon));
            }
        }
        points
    }
}

/// The benchmark's zones: the 25 districts, then beats and watch areas cut
/// from the two grids, exactly [`ZONES`] in all.
pub fn zones(districts: &Districts) -> Vec<ZoneInfo> {
    let mut out: Vec<ZoneInfo> = districts
        .list
        .iter()
        .map(|(code, shape)| zone(code.clone(), ZoneKind::Jurisdiction, shape))
        .collect();
    let mut rng = StdRng::seed_from_u64(16);
    let mut pieces = Vec::new();
    for (kind, cell_m, offset) in [
        (ZoneKind::Beat, 320.0, 0.0),
        (ZoneKind::WatchArea, 400.0, 0.37),
    ] {
        for (i, piece) in grid_pieces(districts, cell_m, offset, &mut rng)
            .into_iter()
            .enumerate()
        {
            let prefix = if kind == ZoneKind::Beat {
                "beat"
            } else {
                "watch"
            };
            pieces.push(zone(
                format!("{prefix}-{i}"),
                kind,
                &MultiPolygon::new(vec![piece]),
            ));
        }
    }
    assert!(
        pieces.len() + out.len() >= ZONES,
        "only {} pieces; make the cells smaller",
        pieces.len()
    );
    // Drop a random few to land on exactly ZONES: small holes, as real coverage has.
    pieces.shuffle(&mut rng);
    pieces.truncate(ZONES - out.len());
    pieces.sort_by(|a, b| a.code.cmp(&b.code));
    out.extend(pieces);
    out
}

/// One grid of jittered cells cut by every district it crosses, smoothed.
fn grid_pieces(
    districts: &Districts,
    cell_m: f64,
    offset: f64,
    rng: &mut StdRng,
) -> Vec<Polygon<f64>> {
    let (min, max) = (districts.bounds.min(), districts.bounds.max());
    let lat0 = (min.y + max.y) / 2.0;
    let (dy, dx) = (
        cell_m / 110_574.0,
        cell_m / (111_320.0 * lat0.to_radians().cos()),
    );
    let cols = ((max.x - min.x) / dx).ceil() as usize + 2;
    let rows = ((max.y - min.y) / dy).ceil() as usize + 2;
    // Jittered nodes, shared by neighbouring cells so the cells tile.
    let nodes: Vec<Vec<Coord<f64>>> = (0..=rows)
        .map(|r| {
            (0..=cols)
                .map(|c| Coord {
                    x: min.x + (c as f64 - 1.0 + offset) * dx + rng.random_range(-0.3..0.3) * dx,
                    y: min.y + (r as f64 - 1.0 + offset) * dy + rng.random_range(-0.3..0.3) * dy,
                })
                .collect()
        })
        .collect();
    let mut pieces = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let ring = vec![
                nodes[r][c],
                nodes[r][c + 1],
                nodes[r + 1][c + 1],
                nodes[r + 1][c],
                nodes[r][c],
            ];
            let cell = Polygon::new(LineString::new(ring), vec![]);
            let Some(cell_box) = cell.bounding_rect() else {
                continue;
            };
            for (_, district) in &districts.list {
                let Some(d_box) = district.bounding_rect() else {
                    continue;
                };
                if !boxes_overlap(cell_box, d_box) {
                    continue;
                }
                for piece in cell.intersection(district) {
                    // Slivers along a boundary (under 1 % of a cell) are not zones.
                    if piece.unsigned_area() < 0.01 * dx * dy {
                        continue;
                    }
                    pieces.push(smooth(piece));
                }
            }
        }
    }
    pieces
}

fn boxes_overlap(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// Chaikin passes until the exterior has at least [`MIN_VERTICES`] vertices.
fn smooth(mut piece: Polygon<f64>) -> Polygon<f64> {
    for _ in 0..8 {
        if piece.exterior().0.len() >= MIN_VERTICES {
            break;
        }
        piece = piece.chaikin_smoothing(1);
    }
    piece
}

/// A zone with `shape` as its GeoJSON outline.
fn zone(code: String, kind: ZoneKind, shape: &MultiPolygon<f64>) -> ZoneInfo {
    let rings = |p: &Polygon<f64>| -> Vec<Vec<[f64; 2]>> {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(|ring| ring.0.iter().map(|c| [c.x, c.y]).collect())
            .collect()
    };
    let area = match shape.0.as_slice() {
        [one] => ZoneArea::Polygon {
            coordinates: rings(one),
        },
        many => ZoneArea::MultiPolygon {
            coordinates: many.iter().map(rings).collect(),
        },
    };
    ZoneInfo {
        name: format!("{code} 구역"),
        name_en: Some(format!("{code} area")),
        theme: (kind == ZoneKind::WatchArea).then(|| "dark_alley".to_owned()),
        guidance: (kind == ZoneKind::WatchArea).then(|| "check street lights".to_owned()),
        code,
        kind,
        valid_from: None,
        valid_until: None,
        area: Some(area),
        assigned: false,
        retired: false,
    }
}

/// Positions per zone: (min, median, max, mean).
pub fn vertex_stats(zones: &[ZoneInfo]) -> (usize, usize, usize, f64) {
    let mut counts: Vec<usize> = zones
        .iter()
        .filter_map(|z| z.area.as_ref().map(ZoneArea::position_count))
        .collect();
    counts.sort_unstable();
    let mean = counts.iter().sum::<usize>() as f64 / counts.len().max(1) as f64;
    (
        counts[0],
        counts[counts.len() / 2],
        counts[counts.len() - 1],
        mean,
    )
}
