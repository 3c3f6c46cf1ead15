//! Place questions over 10,000 zones of realistic shape (Seoul's districts cut
//! and smoothed, see `seoul/mod.rs`): the index build, `zones_at` latency
//! percentiles from a timing loop over random points in Seoul, the same
//! points answered by a linear scan in the same run (and checked equal), the
//! index's memory, then criterion means, and `nearby_reports` over a queue of
//! 10,000 reports.
//!
//! `cargo bench -p postcso-core --bench places` (`POSTCSO_SEOUL_GU` may point
//! at another copy of `seoul-gu.geojson`).

mod seoul;

/// Counts live heap bytes, to measure exactly what the index holds.
#[global_allocator]
static HEAP: counting::Counting = counting::Counting;

mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    static LIVE: AtomicUsize = AtomicUsize::new(0);

    /// The system allocator, counting.
    pub struct Counting;

    /// Heap bytes allocated and not yet freed.
    pub fn live() -> usize {
        LIVE.load(Ordering::Relaxed)
    }

    // SAFETY: every call goes straight to the system allocator.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            // SAFETY: same contract as ours.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            // SAFETY: same contract as ours.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            // SAFETY: same contract as ours.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            // SAFETY: same contract as ours.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}

use std::hint::black_box;
use std::time::Instant;

use chrono::Utc;
use criterion::{BatchSize, Criterion};
use geo::{BoundingRect, Intersects, MultiPolygon, Point, Rect};
use postcso_core::model::{GeoPoint, LocationSource, ZoneInfo};
use postcso_core::places::LocalZones;
use postcso_core::secrets::FileSecretStore;
use postcso_core::{QueueConfig, ReportQueue};
use seoul::Districts;

/// Points timed for the percentiles.
const POINTS: usize = 100_000;
/// Points the (much slower) linear scan answers.
const SCAN_POINTS: usize = 10_000;
/// Reports in the queue for `nearby_reports`.
const REPORTS: usize = 10_000;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks harness=false benches to list tests.
    }
    let districts = Districts::load();
    let t = Instant::now();
    let zones = seoul::zones(&districts);
    let (min, median, max, mean) = seoul::vertex_stats(&zones);
    let invalid = zones
        .iter()
        .filter(|z| z.area.as_ref().is_some_and(|a| a.validate().is_err()))
        .count();
    println!(
        "{} zones made in {:.1} s; positions per zone min {min}, median {median}, max {max}, mean {mean:.0}; {invalid} fail ZoneArea::validate",
        zones.len(),
        t.elapsed().as_secs_f64()
    );

    let (index, build_ms) = build_times(&zones);
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = queue_with(&dir, &zones);
    let points = districts.random_points(POINTS, 7);
    let lookups = zones_at_times(&queue, &points);
    let scan = LinearScan::new(&zones);
    let scans = scan_times(&scan, &queue, &points[..SCAN_POINTS]);
    println!(
        "linear scan / index, same points: {:.0}x at p50, {:.0}x at p99, {:.0}x in the mean",
        scans.p(0.50) / lookups.p(0.50),
        scans.p(0.99) / lookups.p(0.99),
        scans.mean() / lookups.mean()
    );
    println!(
        "index build {:.1} ms median of 10 (max {:.1} ms)",
        build_ms.p(0.5),
        build_ms.p(1.0)
    );

    let mut c = Criterion::default().configure_from_args();
    c.bench_function("places/build_index_10000", |b| {
        b.iter_batched(
            || zones.clone(),
            |z| LocalZones::new(black_box(z)),
            BatchSize::LargeInput,
        )
    });
    let mut i = 0;
    c.bench_function("places/zones_at_10000", |b| {
        b.iter(|| {
            i = (i + 1) % points.len();
            let (lat, lon) = points[i];
            black_box(queue.zones_at(lat, lon).expect("zones_at"))
        })
    });
    c.bench_function("places/linear_scan_10000", |b| {
        b.iter(|| {
            i = (i + 1) % SCAN_POINTS;
            let (lat, lon) = points[i];
            black_box(scan.at(lat, lon))
        })
    });
    c.bench_function("places/zones_near_100m_10000", |b| {
        b.iter(|| {
            i = (i + 1) % points.len();
            let (lat, lon) = points[i];
            black_box(queue.zones_near(lat, lon, 100.0).expect("zones_near"))
        })
    });
    drop(index);
    nearby(&mut c, &districts);
    c.final_summary();
}

/// Ten builds of the index from the parsed zones; keeps the last, and prints
/// its memory: `approx_bytes`, and the heap it really holds (counted by the
/// allocator: live bytes after the build, input consumed, minus before).
fn build_times(zones: &[ZoneInfo]) -> (LocalZones, Samples) {
    let mut times = Samples::default();
    let mut last = None;
    for _ in 0..10 {
        drop(last.take());
        let input = zones.to_vec();
        let input_bytes = heap_of(&input);
        let before = counting::live();
        let t = Instant::now();
        let built = LocalZones::new(input);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        let held = (counting::live() + input_bytes).saturating_sub(before);
        last = Some((built, held));
    }
    let (index, held) = last.expect("ten builds");
    println!(
        "index memory: approx_bytes {:.1} MiB; heap held {:.1} MiB (counting allocator)",
        index.approx_bytes() as f64 / 1_048_576.0,
        held as f64 / 1_048_576.0
    );
    (index, times)
}

/// Heap bytes of a zone list, measured by dropping a copy of it.
fn heap_of(zones: &[ZoneInfo]) -> usize {
    let before = counting::live();
    let copy = zones.to_vec();
    let with = counting::live();
    drop(copy);
    with - before
}

/// A queue holding the zones, reopened so its index is built as at app start.
fn queue_with(dir: &tempfile::TempDir, zones: &[ZoneInfo]) -> ReportQueue {
    let queue = ReportQueue::open(
        QueueConfig::new(dir.path()),
        FileSecretStore::in_data_dir(dir.path()),
    )
    .expect("queue");
    let t = Instant::now();
    queue.replace_zones(zones).expect("replace_zones");
    println!(
        "replace_zones (validate + store 10,000): {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    drop(queue);
    let db_bytes = std::fs::metadata(dir.path().join("queue.db")).map_or(0, |m| m.len());
    println!(
        "queue.db with 10,000 zones: {:.0} MB (outlines as GeoJSON text)",
        db_bytes as f64 / 1e6
    );
    let rss_before = rss_kib();
    let t = Instant::now();
    let queue = ReportQueue::open(
        QueueConfig::new(dir.path()),
        FileSecretStore::in_data_dir(dir.path()),
    )
    .expect("reopen");
    println!(
        "open with 10,000 zones (read, parse, index): {:.0} ms, RSS +{:.1} MiB; {} zones indexed",
        t.elapsed().as_secs_f64() * 1e3,
        rss_kib().saturating_sub(rss_before) as f64 / 1024.0,
        queue.local_zones().expect("zones").len()
    );
    queue
}

/// `ReportQueue::zones_at` (the public call, index lock included) timed one
/// call at a time over random points in Seoul.
fn zones_at_times(queue: &ReportQueue, points: &[(f64, f64)]) -> Samples {
    for &(lat, lon) in points.iter().take(10_000) {
        black_box(queue.zones_at(lat, lon).expect("warm-up"));
    }
    let mut times = Samples::default();
    let mut hits = 0usize;
    for &(lat, lon) in points {
        let t = Instant::now();
        let found = queue.zones_at(lat, lon).expect("zones_at");
        times.push(t.elapsed().as_secs_f64() * 1e6);
        hits += found.len();
    }
    times.print("zones_at, index", points.len());
    println!(
        "  {:.2} zones hold a point on average",
        hits as f64 / points.len() as f64
    );
    times
}

/// The same question by testing every zone (bounding box, then exact), timed
/// the same way; every answer is checked against the index's.
fn scan_times(scan: &LinearScan, queue: &ReportQueue, points: &[(f64, f64)]) -> Samples {
    let mut times = Samples::default();
    for &(lat, lon) in points {
        let t = Instant::now();
        let found = scan.at(lat, lon);
        times.push(t.elapsed().as_secs_f64() * 1e6);
        let indexed: Vec<String> = queue
            .zones_at(lat, lon)
            .expect("zones_at")
            .iter()
            .map(|h| h.zone.code.clone())
            .collect();
        assert_eq!(found, indexed, "the index and the scan disagree");
    }
    times.print("zones_at, linear scan", points.len());
    times
}

/// Every zone tested in turn, with its box as a first filter.
struct LinearScan {
    zones: Vec<(String, Rect<f64>, MultiPolygon<f64>)>,
}

impl LinearScan {
    fn new(zones: &[ZoneInfo]) -> Self {
        let zones = zones
            .iter()
            .filter_map(|z| {
                let shape = z.area.as_ref()?.to_geo();
                Some((z.code.clone(), shape.bounding_rect()?, shape))
            })
            .collect();
        Self { zones }
    }

    fn at(&self, lat: f64, lon: f64) -> Vec<String> {
        let p = Point::new(lon, lat);
        self.zones
            .iter()
            .filter(|(_, b, shape)| {
                b.min().x <= lon
                    && lon <= b.max().x
                    && b.min().y <= lat
                    && lat <= b.max().y
                    && shape.intersects(&p)
            })
            .map(|(code, _, _)| code.clone())
            .collect()
    }
}

/// `nearby_reports` for a draft among 10,000 sealed reports spread over
/// Seoul, 20 of them within 30 m.
fn nearby(c: &mut Criterion, districts: &Districts) {
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = ReportQueue::open(
        QueueConfig::new(dir.path()),
        FileSecretStore::in_data_dir(dir.path()),
    )
    .expect("queue");
    let here = districts.random_points(1, 99)[0];
    let mut spots = districts.random_points(REPORTS - 20, 11);
    spots.extend((0..20).map(|i| (here.0 + i as f64 * 1e-5, here.1)));
    let t = Instant::now();
    for &(lat, lon) in &spots {
        let id = queue.create_draft().expect("draft");
        queue.set_category(id, "safety_facility").expect("category");
        queue.set_location(id, fix(lat, lon)).expect("location");
        queue.submit(id).expect("submit");
    }
    println!(
        "{REPORTS} reports filed in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let draft = queue.create_draft().expect("draft");
    queue
        .set_category(draft, "safety_facility")
        .expect("category");
    queue
        .set_location(draft, fix(here.0, here.1))
        .expect("location");
    let found = queue.nearby_reports(draft).expect("nearby");
    println!("nearby_reports finds {} of the 20 within 30 m", found.len());
    c.bench_function("places/nearby_reports_10000", |b| {
        b.iter(|| black_box(queue.nearby_reports(draft).expect("nearby")))
    });
    let db = rusqlite::Connection::open(dir.path().join("queue.db")).expect("db");
    let plan: Vec<String> = db
        .prepare(
            "EXPLAIN QUERY PLAN SELECT r.id FROM reports r INDEXED BY reports_by_place \
             WHERE r.lat BETWEEN 37.5 AND 37.6 AND r.lon BETWEEN 126.9 AND 127.0 \
               AND r.category = 'x' AND r.state IN ('queued', 'sending', 'sent') \
               AND r.follow_up_of IS NULL AND r.id <> 'x' AND r.created_at_ms >= 0",
        )
        .expect("plan")
        .query_map([], |r| r.get::<_, String>(3))
        .expect("plan rows")
        .collect::<Result<_, _>>()
        .expect("plan text");
    println!(
        "nearby_reports query plan (its WHERE clause): {}",
        plan.join("; ")
    );
}

fn fix(lat: f64, lon: f64) -> GeoPoint {
    GeoPoint::new(lat, lon, Some(6.0), None, Utc::now(), LocationSource::Gps).expect("fix")
}

/// The process's resident set size in KiB (Linux; 0 elsewhere).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// Timings of single calls.
#[derive(Default)]
struct Samples(Vec<f64>);

impl Samples {
    fn push(&mut self, v: f64) {
        self.0.push(v);
    }

    /// The `q` quantile (nearest rank).
    fn p(&self, q: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    fn mean(&self) -> f64 {
        self.0.iter().sum::<f64>() / self.0.len() as f64
    }

    fn print(&self, what: &str, n: usize) {
        println!(
            "{what}: {n} points, µs: p50 {:.1}, p90 {:.1}, p99 {:.1}, p99.9 {:.1}, max {:.1}, mean {:.1}",
            self.p(0.50),
            self.p(0.90),
            self.p(0.99),
            self.p(0.999),
            self.p(1.0),
            self.mean()
        );
    }
}
