//! The backend under test and a sample report, shared by the station's own
//! tests (the store contract in `stores/`, the zone CLI tests) and, included
//! by path, by the black-box tests in `station/api-tests/`, so that every
//! suite picks its backend the same way.
//!
//! The backend comes from the environment: with `POSTCSO_TEST_DATABASE_URL`
//! set to a PostgreSQL server URL (`postgres://postgres@127.0.0.1:55432/postgres`,
//! as `cargo xtask test` starts it), every data dir gets a fresh database
//! `t_<uuid>` on that server, so tests run in parallel in isolation; without it,
//! the data dir's embedded SQLite file. The data dir remembers its database in
//! [`DATABASE_URL_FILE`], so a restart over the same dir finds it again.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::{FixedOffset, Utc};
use postcso_model::{
    CategoryCode, GeoPoint, LocationSource, Note, PhotoManifestEntry, ReportContent, ReportId,
};
use postcso_station::repo::Repository;
use postcso_station::repo::postgres::PgRepository;
use postcso_station::repo::sqlite::SqliteRepository;
use postcso_station::server::DB_FILE;
use serde_json::Value;

/// A valid report as a phone would send it, as JSON.
pub fn sample_report(photos: usize) -> Value {
    let now = Utc::now();
    let content = ReportContent {
        id: ReportId::new(),
        category: CategoryCode::parse("safety_facility").expect("code"),
        note: Note::parse("가로등이 고장났어요").expect("note"),
        location: GeoPoint::new(37.5791, 126.9368, Some(6.0), None, now, LocationSource::Gps)
            .expect("point"),
        created_at: now.with_timezone(&FixedOffset::east_opt(9 * 3600).expect("offset")),
        photos: (0..photos)
            .map(|i| PhotoManifestEntry {
                sha256: format!("{:064x}", i + 1),
                size: 150_000,
                content_type: "image/jpeg".into(),
            })
            .collect(),
        zones: Vec::new(),
        district: None,
        follow_up_of: None,
    };
    serde_json::to_value(content).expect("to json")
}

/// The id of a sample report.
pub fn id_of(report: &Value) -> String {
    report["id"].as_str().expect("id").to_owned()
}

/// What a raw SQL statement returned: the rows with every value as text, and
/// the affected row count.
pub type SqlOutput = (Vec<Vec<Option<String>>>, u64);

pub use postcso_harness::{DATABASE_URL_FILE, test_postgres_server as postgres_server_url};

/// Whether this run tests the PostgreSQL backend.
pub fn is_postgres() -> bool {
    postgres_server_url().is_some()
}

/// For tests of PostgreSQL behaviour: true, after saying so, when this run
/// is on SQLite and the test should return. `cargo xtask test` runs the
/// suite a second time on PostgreSQL, where they run for real.
pub fn skip_unless_postgres() -> bool {
    if !is_postgres() {
        eprintln!("PostgreSQL-only test, skipped: POSTCSO_TEST_DATABASE_URL is not set");
        return true;
    }
    false
}

/// For tests of SQLite behaviour that has no PostgreSQL counterpart (the
/// database file itself): true, after saying so, when this run is on
/// PostgreSQL and the test should return. PostgreSQL's counterparts live in
/// `tests/postgres.rs`.
pub fn skip_on_postgres(why: &str) -> bool {
    if is_postgres() {
        eprintln!("SQLite-only test, skipped on PostgreSQL: {why}");
        return true;
    }
    false
}

/// Creates a fresh database on the test server and returns its URL.
pub async fn fresh_postgres_database(server_url: &str) -> String {
    postcso_harness::fresh_postgres_database(server_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The database URL a data dir belongs to; a fresh PostgreSQL database is
/// made (and remembered in the dir) when testing PostgreSQL.
pub async fn test_database_url(dir: &std::path::Path) -> Option<String> {
    postcso_harness::test_database_url(dir)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Opens the repository of a data dir on the backend under test.
pub async fn open_test_repo(dir: &std::path::Path) -> Arc<dyn Repository> {
    match test_database_url(dir).await {
        Some(url) => Arc::new(PgRepository::connect(&url).await.expect("open PostgreSQL")),
        None => Arc::new(
            SqliteRepository::open(&dir.join(DB_FILE))
                .await
                .expect("open database"),
        ),
    }
}

/// Runs one SQL statement on PostgreSQL from synchronous code (also inside
/// an async test): on its own thread with its own small runtime. Returns the
/// rows as text, and the affected row count.
pub fn postgres_sql(url: &str, sql: &str) -> Result<SqlOutput, String> {
    let url = url.to_owned();
    let sql = sql.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            let driver = tokio::spawn(connection);
            let messages = client.simple_query(&sql).await.map_err(|e| e.to_string());
            drop(client);
            let _ = driver.await;
            let mut rows = Vec::new();
            let mut affected = 0;
            for message in messages? {
                match message {
                    tokio_postgres::SimpleQueryMessage::Row(row) => rows.push(
                        (0..row.len())
                            .map(|i| row.get(i).map(str::to_owned))
                            .collect(),
                    ),
                    tokio_postgres::SimpleQueryMessage::CommandComplete(n) => affected = n,
                    _ => {}
                }
            }
            Ok((rows, affected))
        })
    })
    .join()
    .map_err(|_| "database thread panicked".to_owned())?
}

/// Runs one SQL statement straight on a data dir's database (bypassing the
/// station), whichever backend it is on. Returns the rows with every value as
/// text, and the affected row count; `Err` carries the database's refusal.
pub fn db_sql(dir: &std::path::Path, sql: &str) -> Result<SqlOutput, String> {
    if let Ok(url) = std::fs::read_to_string(dir.join(DATABASE_URL_FILE)) {
        return postgres_sql(url.trim(), sql);
    }
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).map_err(|e| e.to_string())?;
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let columns = stmt.column_count();
    if columns == 0 {
        let n = stmt.execute([]).map_err(|e| e.to_string())?;
        return Ok((Vec::new(), n as u64));
    }
    let rows = stmt
        .query_map([], |r| {
            (0..columns)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => None,
                        rusqlite::types::ValueRef::Integer(n) => Some(n.to_string()),
                        rusqlite::types::ValueRef::Real(x) => Some(x.to_string()),
                        rusqlite::types::ValueRef::Text(t) => {
                            Some(String::from_utf8_lossy(t).into_owned())
                        }
                        rusqlite::types::ValueRef::Blob(b) => Some(hex::encode(b)),
                    })
                })
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(|e| e.to_string())?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    Ok((rows, 0))
}

/// Rows in a table of a data dir's database, whichever backend.
pub fn count_rows_in(dir: &std::path::Path, table: &str) -> i64 {
    let (rows, _) = db_sql(dir, &format!("SELECT count(*) FROM {table}")).expect("count");
    rows.first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|n| n.parse().ok())
        .expect("a count")
}

/// The text values of the first row a query returns, whichever backend.
pub fn first_row(dir: &std::path::Path, sql: &str) -> Vec<String> {
    let (rows, _) = db_sql(dir, sql).expect("query");
    rows.into_iter()
        .next()
        .expect("a row")
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect()
}
