//! Where the simulated carriers stand: the Seodaemun station's real district
//! boundary (the embedded Seoul data) and the watch areas the demo imports,
//! and positions drawn inside the district, inside watch areas, on the line
//! with 마포구 and just across it, so the closing table shows all four.

use postcso_core::model::{ZoneArea, ZoneIndex, metres_between};
use postcso_station::geo::Districts;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The station's district: 서대문구.
pub const JURISDICTION: &str = "11410";
/// The neighbour some reports fall in: 마포구.
const ACROSS: &str = "11440";
/// The watch areas the demo station imports (real streets of Seodaemun-gu).
pub const WATCH_AREAS: &str = include_str!("../data/seodaemun-watch-areas.geojson");

/// What kind of place a report was filed from, as the demo chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spot {
    /// Anywhere inside the district.
    Inside,
    /// Inside one of the watch areas.
    WatchArea,
    /// On the district's line with 마포구 (within a few metres).
    OnTheLine,
    /// 60-250 m across the line, in 마포구.
    Across,
}

/// Draws positions; deterministic for a seed.
pub struct Places {
    district: ZoneIndex<()>,
    district_bounds: ([f64; 2], [f64; 2]),
    watch: Vec<ZoneArea>,
    /// The watch areas indexed once, keyed by their place in `watch`.
    watch_index: ZoneIndex<usize>,
    shared_edge: Vec<[f64; 2]>,
    rng: StdRng,
}

impl Places {
    /// The district and watch areas of the demo, with a seed.
    pub fn new(seed: u64) -> Result<Self, String> {
        let seoul = Districts::seoul();
        let home = seoul
            .by_code(JURISDICTION)
            .ok_or("the embedded Seoul data lacks 서대문구")?;
        let across = seoul
            .by_code(ACROSS)
            .ok_or("the embedded Seoul data lacks 마포구")?;
        let bounds = home.area.bounds().ok_or("서대문구 has no outline")?;
        // The line with 마포구: the vertices the two outlines share.
        let theirs: Vec<[f64; 2]> = across
            .area
            .polygons()
            .flatten()
            .flatten()
            .copied()
            .collect();
        let shared_edge: Vec<[f64; 2]> = home
            .area
            .polygons()
            .flatten()
            .flatten()
            .filter(|p| theirs.contains(p))
            .copied()
            .collect();
        if shared_edge.len() < 2 {
            return Err("서대문구 and 마포구 share no line in the embedded data".into());
        }
        let watch = watch_areas()?;
        let watch_index = ZoneIndex::new(watch.iter().enumerate());
        Ok(Self {
            district: ZoneIndex::new([((), &home.area)]),
            district_bounds: (
                [bounds.min().x, bounds.min().y],
                [bounds.max().x, bounds.max().y],
            ),
            watch,
            watch_index,
            shared_edge,
            rng: StdRng::seed_from_u64(seed),
        })
    }

    /// The kind of spot for the `n`th report overall: about one in three in a
    /// watch area, one in twelve on the line, one in fifteen across it.
    /// Spread so that even a small fleet files some of each.
    pub fn spot_for(n: usize) -> Spot {
        match (n * 37) % 60 {
            0..=19 => Spot::WatchArea,
            20..=24 => Spot::OnTheLine,
            25..=28 => Spot::Across,
            _ => Spot::Inside,
        }
    }

    /// A `(lat, lon)` of the given kind.
    pub fn draw(&mut self, spot: Spot) -> (f64, f64) {
        match spot {
            Spot::Inside => self.inside_district(),
            Spot::WatchArea => {
                let which = self.rng.random_range(0..self.watch.len());
                let b = self.watch[which]
                    .bounds()
                    .map(|r| ([r.min().x, r.min().y], [r.max().x, r.max().y]));
                let Some((lo, hi)) = b else {
                    return self.inside_district();
                };
                for _ in 0..1000 {
                    let (lat, lon) = self.within(lo, hi);
                    if self.watch_index.containing(lat, lon).contains(&&which) {
                        return (lat, lon);
                    }
                }
                self.inside_district()
            }
            Spot::OnTheLine => {
                let (lat, lon) = self.on_the_edge();
                // A metre or two either side: a GPS fix at the line.
                let jitter = 0.00002;
                (
                    lat + self.rng.random_range(-jitter..jitter),
                    lon + self.rng.random_range(-jitter..jitter),
                )
            }
            Spot::Across => {
                for _ in 0..1000 {
                    let (lat, lon) = self.on_the_edge();
                    let step = self.rng.random_range(0.0006..0.0025);
                    let angle: f64 = self.rng.random_range(0.0..std::f64::consts::TAU);
                    let (lat, lon) = (lat + step * angle.sin(), lon + step * angle.cos());
                    let d = metres_between((lat, lon), self.nearest_edge_point(lat, lon));
                    if self.district.containing(lat, lon).is_empty()
                        && d > 50.0
                        && Districts::seoul().at(lat, lon).map(|d| d.code.as_str()) == Some(ACROSS)
                    {
                        return (lat, lon);
                    }
                }
                self.on_the_edge()
            }
        }
    }

    fn inside_district(&mut self) -> (f64, f64) {
        let (lo, hi) = self.district_bounds;
        for _ in 0..10_000 {
            let (lat, lon) = self.within(lo, hi);
            if !self.district.containing(lat, lon).is_empty() {
                return (lat, lon);
            }
        }
        // Yonsei University: certainly inside.
        (37.5658, 126.9386)
    }

    fn within(&mut self, lo: [f64; 2], hi: [f64; 2]) -> (f64, f64) {
        (
            self.rng.random_range(lo[1]..hi[1]),
            self.rng.random_range(lo[0]..hi[0]),
        )
    }

    /// A point on a segment of the shared line.
    fn on_the_edge(&mut self) -> (f64, f64) {
        let i = self.rng.random_range(0..self.shared_edge.len() - 1);
        let (a, b) = (self.shared_edge[i], self.shared_edge[i + 1]);
        let t: f64 = self.rng.random_range(0.0..1.0);
        (a[1] + t * (b[1] - a[1]), a[0] + t * (b[0] - a[0]))
    }

    fn nearest_edge_point(&self, lat: f64, lon: f64) -> (f64, f64) {
        self.shared_edge
            .iter()
            .map(|p| (p[1], p[0]))
            .min_by(|a, b| {
                metres_between(*a, (lat, lon)).total_cmp(&metres_between(*b, (lat, lon)))
            })
            .unwrap_or((lat, lon))
    }
}

/// The watch areas' outlines from the demo's GeoJSON file.
fn watch_areas() -> Result<Vec<ZoneArea>, String> {
    #[derive(serde::Deserialize)]
    struct Collection {
        features: Vec<Feature>,
    }
    #[derive(serde::Deserialize)]
    struct Feature {
        geometry: ZoneArea,
    }
    let parsed: Collection = serde_json::from_str(WATCH_AREAS)
        .map_err(|e| format!("the demo's watch areas do not parse: {e}"))?;
    Ok(parsed.features.into_iter().map(|f| f.geometry).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_spot_lands_where_it_says() {
        let mut places = Places::new(7).expect("demo data");
        let seoul = Districts::seoul();
        for _ in 0..50 {
            let (lat, lon) = places.draw(Spot::Inside);
            assert_eq!(
                seoul.at(lat, lon).map(|d| d.code.as_str()),
                Some(JURISDICTION)
            );
            let (lat, lon) = places.draw(Spot::Across);
            assert_eq!(seoul.at(lat, lon).map(|d| d.code.as_str()), Some(ACROSS));
            let (lat, lon) = places.draw(Spot::WatchArea);
            let index = ZoneIndex::new(places.watch.iter().map(|a| ((), a)));
            assert!(!index.containing(lat, lon).is_empty());
            // On the line: within a few metres of both districts.
            let (lat, lon) = places.draw(Spot::OnTheLine);
            for code in [JURISDICTION, ACROSS] {
                let district = seoul.by_code(code).expect("district");
                let index = ZoneIndex::new([((), &district.area)]);
                assert_eq!(index.near(lat, lon, 5.0).len(), 1, "{code} at {lat},{lon}");
            }
        }
    }
}
