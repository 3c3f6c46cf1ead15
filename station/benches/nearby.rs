//! Nearby duplicates over a million stored reports, indexed against
//! unindexed, on either backend, in the same run.
//!
//! Loads `--reports` reports of one station spread over Seoul straight
//! through SQL in one transaction (70 % anywhere in Seoul, 30 % around 2,000
//! hot spots, as duplicates cluster; six categories; created over a year; one
//! photo each), then times `repo::nearby` (the station's query: the index's
//! candidates, then the shared rules) on `--queries` random reports, and
//! interleaved with them a plain scan with the same filter (`--scans`
//! reports: SQLite `NOT INDEXED`, PostgreSQL without the grid cells), with
//! the same rules after it. Every scanned report's two answers must agree.
//!
//! ```sh
//! cargo bench -p postcso-station --bench nearby -- --reports 1000000
//! cargo bench -p postcso-station --bench nearby -- --reports 1000000 \
//!     --database-url postgres://postgres@127.0.0.1:55433/nearby_bench
//! ```
//!
//! `--data-dir DIR` keeps the SQLite database for another run; on PostgreSQL
//! the database is reused when it already holds the reports. Figures and
//! the machine are in BENCHMARKS.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use clap::Parser;
use postcso_model::{
    BUILTIN_CATEGORIES, CategoryCode, GeoPoint, LocationSource, Note, PhotoManifestEntry,
    ReportContent, ReportId, ReviewStatus,
};
use postcso_station::geo::Districts;
use postcso_station::repo::postgres::PgRepository;
use postcso_station::repo::sqlite::SqliteRepository;
use postcso_station::repo::{
    NearbyCandidate, NearbyReport, NearbySearch, Repository, StationId, nearby, nearby_from,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

/// The bench station's slug.
const SLUG: &str = "nearby-bench";
/// Devices the reports are spread over.
const DEVICES: usize = 200;
/// Hot spots a share of the reports cluster around.
const HOT_SPOTS: usize = 2_000;
/// Rows per INSERT on PostgreSQL.
const PG_BATCH: usize = 5_000;

#[derive(Debug, Parser)]
struct Args {
    /// Reports to store.
    #[arg(long, default_value_t = 1_000_000)]
    reports: usize,
    /// Indexed nearby queries timed (after 200 untimed warm-up queries).
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    /// Unindexed scans timed, interleaved with the indexed queries.
    #[arg(long, default_value_t = 50)]
    scans: usize,
    /// PostgreSQL database to load and query (else SQLite).
    #[arg(long)]
    database_url: Option<String>,
    /// Directory of the SQLite database (default: a temporary one).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Seed of the generated reports and of the sample queried.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// One generated report: what the loaders write.
struct Row {
    id: Uuid,
    device: Uuid,
    category: &'static str,
    lat: f64,
    lon: f64,
    created_at: DateTime<Utc>,
    content_json: String,
    district: (String, String),
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> Result<(), BoxError> {
    let temp = tempfile::tempdir()?;
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&dir)?;
    let (backend, repo): (&str, Arc<dyn Repository>) = match &args.database_url {
        Some(url) => ("postgresql", Arc::new(PgRepository::connect(url).await?)),
        None => (
            "sqlite",
            Arc::new(SqliteRepository::open(&dir.join("station.db")).await?),
        ),
    };
    let station = match repo.station_by_slug(SLUG).await? {
        Some(s) => s,
        None => repo.create_station(SLUG, "Nearby bench").await?,
    };
    let stored = count_reports(&args, &dir, station.id).await?;
    if stored == 0 {
        let rows = generate(&args);
        let started = Instant::now();
        match &args.database_url {
            Some(url) => load_postgres(url, station.id, &rows).await?,
            None => load_sqlite(&dir, station.id, &rows)?,
        }
        eprintln!(
            "loaded {} reports into {backend} in {:.1} s",
            rows.len(),
            started.elapsed().as_secs_f64()
        );
    } else if stored != args.reports as i64 {
        return Err(format!(
            "the database holds {stored} bench reports, not {}",
            args.reports
        )
        .into());
    } else {
        eprintln!("reusing {stored} reports already stored");
    }

    let ids = sample_ids(&args, &dir, station.id).await?;
    let mut targets = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(report) = repo.report(station.id, ReportId::from(id)).await? {
            targets.push(report);
        }
    }
    let (warm_up, timed) = targets.split_at(targets.len().min(200));
    for report in warm_up {
        nearby(repo.as_ref(), report).await?;
    }
    let scanner = Scanner::open(&args, &dir).await?;
    let every = (args.queries / args.scans.max(1)).max(1);
    let (mut indexed, mut scanned) = (Vec::new(), Vec::new());
    let mut found = 0usize;
    for (i, report) in timed.iter().enumerate() {
        let started = Instant::now();
        let listed = nearby(repo.as_ref(), report).await?;
        indexed.push(started.elapsed());
        found += listed.len();
        if i % every == 0 && scanned.len() < args.scans {
            let search = NearbySearch::around(report);
            let started = Instant::now();
            let candidates = scanner.scan(station.id, &search).await?;
            let by_scan = nearby_from(&search, candidates);
            scanned.push(started.elapsed());
            if !same(&by_scan, &listed) {
                return Err(format!("the scan and the index disagree for {}", report.id).into());
            }
        }
    }
    print_results(backend, &args, &indexed, &scanned, found);
    Ok(())
}

fn same(a: &[NearbyReport], b: &[NearbyReport]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.id == y.id && x.distance_m == y.distance_m)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

fn print_results(
    backend: &str,
    args: &Args,
    indexed: &[Duration],
    scanned: &[Duration],
    found: usize,
) {
    let mut indexed = indexed.to_vec();
    let mut scanned = scanned.to_vec();
    indexed.sort();
    scanned.sort();
    println!(
        "nearby, {backend}, {} reports, {} indexed queries ({:.2} found on average), {} scans",
        args.reports,
        indexed.len(),
        found as f64 / indexed.len().max(1) as f64,
        scanned.len()
    );
    println!("| query | n | p50 ms | p90 ms | p99 ms | max ms |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, times) in [("indexed", &indexed), ("unindexed scan", &scanned)] {
        println!(
            "| {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
            times.len(),
            percentile(times, 50.0),
            percentile(times, 90.0),
            percentile(times, 99.0),
            percentile(times, 100.0),
        );
    }
    println!(
        "scan / index: p50 {:.0}x, p99 {:.0}x",
        percentile(&scanned, 50.0) / percentile(&indexed, 50.0),
        percentile(&scanned, 99.0) / percentile(&indexed, 99.0),
    );
}

/// Reports spread over Seoul, deterministic for a seed.
fn generate(args: &Args) -> Vec<Row> {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let seoul = Districts::seoul();
    let bounds = seoul
        .all()
        .iter()
        .filter_map(|d| d.area.bounds())
        .reduce(|a, b| {
            geo_rect(
                a.min().y.min(b.min().y),
                a.max().y.max(b.max().y),
                a.min().x.min(b.min().x),
                a.max().x.max(b.max().x),
            )
        })
        .expect("Seoul has districts");
    let anywhere = |rng: &mut StdRng| loop {
        let lat = rng.random_range(bounds.min().y..bounds.max().y);
        let lon = rng.random_range(bounds.min().x..bounds.max().x);
        if let Some(d) = seoul.at(lat, lon) {
            return (lat, lon, d.code.clone(), d.name_ko.clone());
        }
    };
    let hot: Vec<(f64, f64)> = (0..HOT_SPOTS)
        .map(|_| {
            let (lat, lon, ..) = anywhere(&mut rng);
            (lat, lon)
        })
        .collect();
    let devices: Vec<Uuid> = (0..DEVICES).map(|_| Uuid::new_v4()).collect();
    let now = Utc::now();
    let offset = FixedOffset::east_opt(9 * 3600).expect("KST");
    let note = Note::parse("가로등이 고장나서 밤에 골목이 어둡습니다").expect("note");
    (0..args.reports)
        .map(|i| {
            let (lat, lon, code, name) = if rng.random_bool(0.3) {
                let (hl, ho) = hot[rng.random_range(0..hot.len())];
                // About 25 m either way (a sum of uniforms is near normal).
                let north: f64 = (0..3).map(|_| rng.random_range(-25.0..25.0)).sum();
                let east: f64 = (0..3).map(|_| rng.random_range(-25.0..25.0)).sum();
                let (lat, lon) = (hl + north / 110_574.0, ho + east / 88_000.0);
                match seoul.at(lat, lon) {
                    Some(d) => (lat, lon, d.code.clone(), d.name_ko.clone()),
                    None => anywhere(&mut rng),
                }
            } else {
                anywhere(&mut rng)
            };
            let category = BUILTIN_CATEGORIES[rng.random_range(0..BUILTIN_CATEGORIES.len())].0;
            let created_at = now - chrono::Duration::seconds(rng.random_range(0..365 * 86_400));
            let id = Uuid::now_v7();
            let content = ReportContent {
                id: ReportId::from(id),
                category: CategoryCode::parse(category).expect("built-in"),
                note: note.clone(),
                location: GeoPoint::new(lat, lon, Some(8.0), None, created_at, LocationSource::Gps)
                    .expect("a point in Seoul"),
                created_at: created_at.with_timezone(&offset),
                photos: vec![PhotoManifestEntry {
                    sha256: format!("{:064x}", i + 1),
                    size: 180_000,
                    content_type: "image/jpeg".into(),
                }],
                zones: Vec::new(),
                district: None,
                follow_up_of: None,
            };
            Row {
                id,
                device: devices[i % DEVICES],
                category,
                lat,
                lon,
                created_at: DateTime::from_timestamp_micros(created_at.timestamp_micros())
                    .expect("time"),
                content_json: content.canonical_json(),
                district: (code, name),
            }
        })
        .collect()
}

fn geo_rect(south: f64, north: f64, west: f64, east: f64) -> geo::Rect<f64> {
    geo::Rect::new(
        geo::Coord { x: west, y: south },
        geo::Coord { x: east, y: north },
    )
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Most reports are open; some were closed or turned down.
fn status(i: usize) -> &'static str {
    match i % 10 {
        0 => "fixed",
        1 => "rejected",
        2 => "accepted",
        _ => "received",
    }
}

fn load_sqlite(dir: &std::path::Path, station: StationId, rows: &[Row]) -> Result<(), BoxError> {
    let mut conn = rusqlite::Connection::open(dir.join("station.db"))?;
    let tx = conn.transaction()?;
    let station = station.to_string();
    let received = ts(Utc::now());
    {
        let mut device = tx.prepare(
            "INSERT OR IGNORE INTO devices (id, station_id, label, token_hash, enrolled_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (i, d) in rows.iter().map(|r| r.device).take(DEVICES).enumerate() {
            device.execute(rusqlite::params![
                d.to_string(),
                station,
                format!("bench-{i:03}"),
                format!("bench-token-{d}"),
                received
            ])?;
        }
        let mut report = tx.prepare(
            "INSERT INTO reports (id, station_id, device_id, content_hash, content_json, category,
                                  status, complete, received_at, lat, lon, created_at, place_seq,
                                  district_code, district_name, zones_json,
                                  outside_jurisdiction)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10, ?11, ?12, ?13, ?14, '[]', 0)",
        )?;
        let mut photo = tx.prepare(
            "INSERT INTO report_photos (report_id, station_id, position, sha256, size, content_type)
             VALUES (?1, ?2, 0, ?3, 180000, 'image/jpeg')",
        )?;
        let mut tree = tx.prepare(
            "INSERT INTO report_rtree (id, min_lat, max_lat, min_lon, max_lon, min_t, max_t)
             VALUES (?1, ?2, ?2, ?3, ?3, ?4, ?4)",
        )?;
        for (i, r) in rows.iter().enumerate() {
            let id = r.id.to_string();
            let seq = i as i64 + 1;
            report.execute(rusqlite::params![
                id,
                station,
                r.device.to_string(),
                format!("{:064x}", i),
                r.content_json,
                r.category,
                status(i),
                received,
                r.lat,
                r.lon,
                ts(r.created_at),
                seq,
                r.district.0,
                r.district.1,
            ])?;
            photo.execute(rusqlite::params![id, station, format!("{:064x}", i + 1)])?;
            // The tree's time unit (`repo::sqlite::nearby::tree_time`, and
            // the migration): thousands of days since 2020. A mismatch would
            // show as the index disagreeing with the scan.
            let t = (r.created_at.timestamp() - 1_577_836_800) as f64 / 86_400_000.0;
            tree.execute(rusqlite::params![seq, r.lat, r.lon, t])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("ANALYZE")?;
    Ok(())
}

async fn pg_client(url: &str) -> Result<tokio_postgres::Client, BoxError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn load_postgres(url: &str, station: StationId, rows: &[Row]) -> Result<(), BoxError> {
    let mut client = pg_client(url).await?;
    let tx = client.transaction().await?;
    let devices: Vec<Uuid> = rows.iter().map(|r| r.device).take(DEVICES).collect();
    let labels: Vec<String> = (0..devices.len())
        .map(|i| format!("bench-{i:03}"))
        .collect();
    let tokens: Vec<String> = devices.iter().map(|d| format!("bench-token-{d}")).collect();
    tx.execute(
        "INSERT INTO devices (id, station_id, label, token_hash, enrolled_at)
         SELECT d, $1, l, t, now() FROM unnest($2::uuid[], $3::text[], $4::text[]) AS x(d, l, t)",
        &[&station.0, &devices, &labels, &tokens],
    )
    .await?;
    let insert = tx
        .prepare(
            "INSERT INTO reports (id, station_id, device_id, content_hash, content_json, category,
                                  status, complete, received_at, lat, lon, created_at, cell,
                                  district_code, district_name, zones_json, outside_jurisdiction)
             SELECT id, $1, device, hash, json, category, status, false, now(), lat, lon, created,
                    floor((lat + 90.0::double precision) * 2000.0::double precision)::bigint
                        * 1000000
                    + floor((lon + 180.0::double precision) * 2000.0::double precision)::bigint,
                    dcode, dname, '[]', false
             FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::float8[], $9::float8[], $10::timestamptz[], $11::text[], $12::text[])
                  AS x(id, device, hash, json, category, status, lat, lon, created, dcode, dname)",
        )
        .await?;
    let photos = tx
        .prepare(
            "INSERT INTO report_photos (report_id, station_id, position, sha256, size, content_type)
             SELECT id, $1, 0, sha, 180000, 'image/jpeg' FROM unnest($2::uuid[], $3::text[])
                  AS x(id, sha)",
        )
        .await?;
    for (n, chunk) in rows.chunks(PG_BATCH).enumerate() {
        let base = n * PG_BATCH;
        let ids: Vec<Uuid> = chunk.iter().map(|r| r.id).collect();
        let devices: Vec<Uuid> = chunk.iter().map(|r| r.device).collect();
        let hashes: Vec<String> = (0..chunk.len())
            .map(|i| format!("{:064x}", base + i))
            .collect();
        let shas: Vec<String> = (0..chunk.len())
            .map(|i| format!("{:064x}", base + i + 1))
            .collect();
        let json: Vec<&str> = chunk.iter().map(|r| r.content_json.as_str()).collect();
        let categories: Vec<&str> = chunk.iter().map(|r| r.category).collect();
        let statuses: Vec<&str> = (0..chunk.len()).map(|i| status(base + i)).collect();
        let lats: Vec<f64> = chunk.iter().map(|r| r.lat).collect();
        let lons: Vec<f64> = chunk.iter().map(|r| r.lon).collect();
        let created: Vec<DateTime<Utc>> = chunk.iter().map(|r| r.created_at).collect();
        let codes: Vec<&str> = chunk.iter().map(|r| r.district.0.as_str()).collect();
        let names: Vec<&str> = chunk.iter().map(|r| r.district.1.as_str()).collect();
        tx.execute(
            &insert,
            &[
                &station.0,
                &ids,
                &devices,
                &hashes,
                &json,
                &categories,
                &statuses,
                &lats,
                &lons,
                &created,
                &codes,
                &names,
            ],
        )
        .await?;
        tx.execute(&photos, &[&station.0, &ids, &shas]).await?;
        if n % 20 == 19 {
            eprintln!("  {} rows", base + chunk.len());
        }
    }
    tx.commit().await?;
    client
        .batch_execute("ANALYZE reports; ANALYZE report_photos")
        .await?;
    Ok(())
}

async fn count_reports(
    args: &Args,
    dir: &std::path::Path,
    station: StationId,
) -> Result<i64, BoxError> {
    match &args.database_url {
        Some(url) => Ok(pg_client(url)
            .await?
            .query_one(
                "SELECT count(*) FROM reports WHERE station_id = $1",
                &[&station.0],
            )
            .await?
            .get(0)),
        None => Ok(
            rusqlite::Connection::open(dir.join("station.db"))?.query_row(
                "SELECT count(*) FROM reports WHERE station_id = ?1",
                [station.to_string()],
                |r| r.get(0),
            )?,
        ),
    }
}

/// `--queries` + 200 random report ids of the station (the first 200 warm up).
async fn sample_ids(
    args: &Args,
    dir: &std::path::Path,
    station: StationId,
) -> Result<Vec<Uuid>, BoxError> {
    let want = args.queries + 200;
    let seed = args.seed as f64 / 1000.0;
    match &args.database_url {
        Some(url) => {
            let client = pg_client(url).await?;
            client.execute("SELECT setseed($1)", &[&seed]).await?;
            Ok(client
                .query(
                    "SELECT id FROM reports WHERE station_id = $1 ORDER BY random() LIMIT $2",
                    &[&station.0, &(want as i64)],
                )
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect())
        }
        None => {
            // SQLite's random() takes no seed: draw the reports' place_seq here.
            let conn = rusqlite::Connection::open(dir.join("station.db"))?;
            let mut rng = StdRng::seed_from_u64(args.seed ^ 0x5eed);
            let mut stmt =
                conn.prepare("SELECT id FROM reports WHERE station_id = ?1 AND place_seq = ?2")?;
            let mut ids = Vec::with_capacity(want);
            while ids.len() < want {
                let seq = rng.random_range(1..=args.reports as i64);
                let id: Option<String> = stmt
                    .query_row(rusqlite::params![station.to_string(), seq], |r| r.get(0))
                    .ok();
                ids.extend(id.and_then(|s| Uuid::parse_str(&s).ok()));
            }
            Ok(ids)
        }
    }
}

/// A connection of its own for the unindexed query, opened once.
enum Scanner {
    Postgres(tokio_postgres::Client),
    Sqlite(rusqlite::Connection),
}

impl Scanner {
    async fn open(args: &Args, dir: &std::path::Path) -> Result<Self, BoxError> {
        Ok(match &args.database_url {
            Some(url) => Self::Postgres(pg_client(url).await?),
            None => Self::Sqlite(rusqlite::Connection::open(dir.join("station.db"))?),
        })
    }

    /// The unindexed query: the same filter as the index's candidates, by a
    /// plain scan of the reports.
    async fn scan(
        &self,
        station: StationId,
        search: &NearbySearch,
    ) -> Result<Vec<NearbyCandidate>, BoxError> {
        let categories = search.categories.clone();
        match self {
            Self::Postgres(client) => {
                let rows = client
                    .query(
                        "SELECT r.id, r.category, r.status, r.created_at, r.lat, r.lon,
                            (SELECT count(*) FROM report_photos p
                             WHERE p.station_id = r.station_id AND p.report_id = r.id)
                     FROM reports r
                     WHERE r.station_id = $1 AND r.created_at BETWEEN $2 AND $3
                       AND r.id <> $4 AND r.category = ANY($5)
                       AND r.lat BETWEEN $6 AND $7 AND r.lon BETWEEN $8 AND $9",
                        &[
                            &station.0,
                            &search.from,
                            &search.until,
                            &search.exclude.as_uuid(),
                            &categories,
                            &search.south,
                            &search.north,
                            &search.west,
                            &search.east,
                        ],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| NearbyCandidate {
                        id: ReportId::from(r.get::<_, Uuid>(0)),
                        category: r.get(1),
                        status: ReviewStatus::from(r.get::<_, String>(2)),
                        created_at: r.get(3),
                        lat: r.get(4),
                        lon: r.get(5),
                        photos: u32::try_from(r.get::<_, i64>(6)).unwrap_or(0),
                    })
                    .collect())
            }
            Self::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(
                    "SELECT r.id, r.category, r.status, r.created_at, r.lat, r.lon,
                        (SELECT count(*) FROM report_photos p WHERE p.report_id = r.id)
                 FROM reports AS r NOT INDEXED
                 WHERE r.station_id = ?1 AND r.created_at BETWEEN ?2 AND ?3
                   AND r.id <> ?4 AND r.category IN (SELECT value FROM json_each(?5))
                   AND r.lat BETWEEN ?6 AND ?7 AND r.lon BETWEEN ?8 AND ?9",
                )?;
                let rows = stmt
                    .query_map(
                        rusqlite::params![
                            station.to_string(),
                            ts(search.from),
                            ts(search.until),
                            search.exclude.to_string(),
                            serde_json::to_string(&categories)?,
                            search.south,
                            search.north,
                            search.west,
                            search.east,
                        ],
                        |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, String>(2)?,
                                r.get::<_, String>(3)?,
                                r.get::<_, f64>(4)?,
                                r.get::<_, f64>(5)?,
                                r.get::<_, i64>(6)?,
                            ))
                        },
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                rows.into_iter()
                    .map(|(id, category, status, created, lat, lon, photos)| {
                        Ok(NearbyCandidate {
                            id: ReportId::parse(&id)?,
                            category,
                            status: ReviewStatus::from(status),
                            created_at: DateTime::parse_from_rfc3339(&created)?.with_timezone(&Utc),
                            lat,
                            lon,
                            photos: u32::try_from(photos).unwrap_or(0),
                        })
                    })
                    .collect()
            }
        }
    }
}
