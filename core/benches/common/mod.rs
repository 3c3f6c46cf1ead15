//! Set-up shared by the queue benchmarks.

use chrono::Utc;
use postcso_core::ReportQueue;
use postcso_core::model::{GeoPoint, LocationSource, ReportId};

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
