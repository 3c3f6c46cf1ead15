//! Queue benchmarks: durable submit without photos, one raw `synchronous=FULL`
//! commit for comparison, and listing a queue of 10,000 reports.
//!
//! `cargo bench -p postcso-core --bench queue`. Percentiles (p50/p99) of the same
//! operations come from `--bench submit_latency`.

use std::hint::black_box;

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use postcso_core::model::{GeoPoint, LocationSource, ReportId};
use postcso_core::{QueueConfig, ReportQueue};

/// A draft ready to submit: category, note and a fresh GPS fix.
pub fn ready_draft(queue: &ReportQueue) -> ReportId {
    let id = queue.create_draft().expect("draft");
    queue.set_category(id, "safety_facility").expect("category");
    queue
        .set_note(id, "골목 가로등 고장 — street light out")
        .expect("note");
    let fix = GeoPoint::new(
        37.5662,
        126.9312,
        Some(6.0),
        None,
        Utc::now(),
        LocationSource::Gps,
    )
    .expect("fix");
    queue.set_location(id, fix).expect("location");
    id
}

/// An SQLite file with the same durability settings as the queue, for one raw commit.
pub fn raw_full_db(dir: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.join("raw.db")).expect("open");
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .expect("wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("sync");
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", [])
        .expect("table");
    conn
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = ReportQueue::open(QueueConfig::new(dir.path().join("q"))).expect("queue");
    c.bench_function("submit_without_photos", |b| {
        b.iter_batched(
            || ready_draft(&queue),
            |id| queue.submit(id).expect("submit"),
            BatchSize::SmallInput,
        )
    });

    let raw = raw_full_db(dir.path());
    c.bench_function("raw_full_commit", |b| {
        b.iter(|| {
            raw.execute("INSERT INTO t (v) VALUES ('x')", [])
                .expect("insert");
        })
    });

    let big_dir = tempfile::tempdir().expect("tempdir");
    let big = ReportQueue::open(QueueConfig::new(big_dir.path())).expect("queue");
    let conn = rusqlite::Connection::open(big_dir.path().join("queue.db")).expect("open");
    conn.execute_batch("BEGIN").expect("begin");
    for n in 0..10_000i64 {
        let id = ReportId::new().to_string();
        conn.execute(
            "INSERT INTO reports (id, state, category, created_at, created_at_ms, updated_at_ms) \
             VALUES (?1, 'draft', 'crime_risk', '2026-11-29T10:00:00+09:00', ?2, ?2)",
            rusqlite::params![id, 1_764_000_000_000 + n],
        )
        .expect("insert");
        for position in 0..2i64 {
            conn.execute(
                "INSERT INTO report_photos (report_id, position, sha256, size, width, height) \
                 VALUES (?1, ?2, ?3, 250000, 1600, 1200)",
                rusqlite::params![id, position, format!("{:064x}", n * 2 + position)],
            )
            .expect("photo row");
        }
        conn.execute("UPDATE reports SET state = 'queued' WHERE id = ?1", [&id])
            .expect("seal");
    }
    conn.execute_batch("COMMIT").expect("commit");
    // Two photos per report, so the photo count in each row is real work.
    c.bench_function("list_10000_reports", |b| {
        b.iter(|| black_box(big.list().expect("list").len()))
    });
}

criterion_group!(queue_benches, benches);
criterion_main!(queue_benches);
