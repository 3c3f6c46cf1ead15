//! Queue benchmarks: durable submit without photos, one raw `synchronous=FULL`
//! commit for comparison, and listing a queue of 10,000 reports.
//!
//! `cargo bench -p postcso-core --bench queue`. Percentiles (p50/p99) of the same
//! operations come from `--bench submit_latency`.

use std::hint::black_box;

mod common;

use common::{raw_full_db, ready_draft};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use postcso_core::model::ReportId;
use postcso_core::secrets::FileSecretStore;
use postcso_core::{QueueConfig, ReportQueue};

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = ReportQueue::open(
        QueueConfig::new(dir.path().join("q")),
        FileSecretStore::in_data_dir(dir.path().join("q")),
    )
    .expect("queue");
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
    let big = ReportQueue::open(
        QueueConfig::new(big_dir.path()),
        FileSecretStore::in_data_dir(big_dir.path()),
    )
    .expect("queue");
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
