//! Forward-only schema migrations, tracked in `PRAGMA user_version`.
//!
//! Each migration is a `.sql` file compiled into the binary and applied in its own
//! transaction together with the version bump, so a crash leaves the database at
//! the previous version, never in between. A database newer than this binary is
//! refused rather than guessed at.

use rusqlite::Connection;

use crate::repo::RepoError;

/// The migrations in order; the version after applying entry `i` is `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_uploads_changes_audit.sql"),
    include_str!("migrations/0003_zones_inspections.sql"),
    include_str!("migrations/0004_zone_details.sql"),
    include_str!("migrations/0005_report_geography.sql"),
    include_str!("migrations/0006_report_version.sql"),
    include_str!("migrations/0007_report_merges.sql"),
    include_str!("migrations/0008_agencies_referrals.sql"),
];

/// The schema version this binary writes.
pub const LATEST_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database up to [`LATEST_VERSION`].
pub fn migrate(conn: &mut Connection) -> Result<u32, RepoError> {
    let current: u32 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(super::map_err)?;
    if current > LATEST_VERSION {
        return Err(RepoError::Storage(format!(
            "database schema version {current} is newer than this binary's {LATEST_VERSION}; \
             upgrade postcso-station"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as u32 + 1;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
            .map_err(super::map_err)?;
        tx.execute_batch(sql)
            .map_err(|e| RepoError::Storage(format!("migration {version} failed: {e}")))?;
        tx.pragma_update(None, "user_version", version)
            .map_err(super::map_err)?;
        tx.commit().map_err(super::map_err)?;
        tracing::info!(version, "applied schema migration");
    }
    Ok(LATEST_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        assert_eq!(migrate(&mut conn).expect("first run"), LATEST_VERSION);
        assert_eq!(migrate(&mut conn).expect("second run"), LATEST_VERSION);
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, LATEST_VERSION);
    }

    #[test]
    fn version_3_keeps_the_feed_of_a_version_2_database() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        for sql in &MIGRATIONS[..2] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.pragma_update(None, "user_version", 2)
            .expect("set version");
        conn.execute_batch(
            "INSERT INTO stations (id, slug, name, created_at)
                 VALUES ('s1', 'seodaemun', 'S', '2026-11-01T00:00:00.000000Z');
             INSERT INTO changes (station_id, seq, kind, data_json, at)
                 VALUES ('s1', 1, 'categories', '[]', '2026-11-01T00:00:00.000000Z');",
        )
        .expect("v2 rows");
        assert_eq!(migrate(&mut conn).expect("upgrade"), LATEST_VERSION);
        let kept: (i64, String) = conn
            .query_row(
                "SELECT seq, kind FROM changes WHERE station_id = 's1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("row kept");
        assert_eq!(kept, (1, "categories".to_owned()));
        conn.execute(
            "INSERT INTO changes (station_id, seq, kind, data_json, at)
             VALUES ('s1', 2, 'zones', '[]', '2026-11-02T00:00:00.000000Z')",
            [],
        )
        .expect("the new kind is accepted");
        assert!(
            conn.execute(
                "INSERT INTO changes (station_id, seq, kind, at)
                 VALUES ('s1', 3, 'bogus', '2026-11-02T00:00:00.000000Z')",
                [],
            )
            .is_err(),
            "the CHECK constraint survived the rebuild"
        );
    }

    #[test]
    fn version_4_keeps_zones_as_beats_and_the_feed_and_takes_zone_deltas() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.pragma_update(None, "user_version", 3)
            .expect("set version");
        conn.execute_batch(
            "INSERT INTO stations (id, slug, name, created_at)
                 VALUES ('s1', 'seodaemun', 'S', '2026-11-01T00:00:00.000000Z');
             INSERT INTO zones (station_id, code, position, name, area_json, created_at, updated_at)
                 VALUES ('s1', 'r1', 0, 'Route 1', NULL, '2026-11-01T00:00:00.000000Z',
                         '2026-11-01T00:00:00.000000Z');
             INSERT INTO changes (station_id, seq, kind, data_json, at)
                 VALUES ('s1', 1, 'zones', '[]', '2026-11-01T00:00:00.000000Z');",
        )
        .expect("v3 rows");
        assert_eq!(migrate(&mut conn).expect("upgrade"), LATEST_VERSION);
        let zone: (String, Option<String>) = conn
            .query_row(
                "SELECT kind, guidance FROM zones WHERE code = 'r1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("zone kept");
        assert_eq!(zone, ("beat".to_owned(), None));
        let kept: String = conn
            .query_row("SELECT kind FROM changes WHERE seq = 1", [], |r| r.get(0))
            .expect("feed row kept");
        assert_eq!(kept, "zones");
        conn.execute(
            "INSERT INTO changes (station_id, seq, kind, data_json, at)
             VALUES ('s1', 2, 'zone', '{}', '2026-11-02T00:00:00.000000Z')",
            [],
        )
        .expect("the delta kind is accepted");
        assert!(
            conn.execute("UPDATE zones SET kind = 'bikeway' WHERE code = 'r1'", [])
                .is_err(),
            "unknown zone kinds are refused"
        );
    }

    #[test]
    fn refuses_a_newer_database() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1)
            .expect("set version");
        assert!(matches!(migrate(&mut conn), Err(RepoError::Storage(_))));
    }

    #[test]
    fn version_5_indexes_and_dates_earlier_reports_and_keeps_only_valid_parents() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        for sql in &MIGRATIONS[..4] {
            conn.execute_batch(sql).expect("old migration");
        }
        conn.pragma_update(None, "user_version", 4)
            .expect("set version");
        let report = |id: &str, parent: Option<&str>| {
            let parent = parent.map_or(String::new(), |p| format!(r#","follow_up_of":"{p}""#));
            format!(
                r#"INSERT INTO reports (id, station_id, device_id, content_hash, content_json,
                                       category, status, complete, received_at)
                   VALUES ('{id}', 's1', 'd1', 'h', '{{"id":"{id}","category":"crime_risk",
                           "location":{{"lat":37.5658,"lon":126.9386,"accuracy_m":5.0,
                           "fix_time":"2026-12-01T00:00:00Z","source":"gps"}},
                           "created_at":"2026-12-01T09:00:00.123456+09:00","photos":[]{parent}}}',
                           'crime_risk', 'received', 1, '2026-12-01T00:00:01.000000Z');"#
            )
        };
        conn.execute_batch(&format!(
            "INSERT INTO stations (id, slug, name, created_at)
                 VALUES ('s1', 'seodaemun', 'S', '2026-11-01T00:00:00.000000Z');
             INSERT INTO devices (id, station_id, label, token_hash, enrolled_at)
                 VALUES ('d1', 's1', 'carrier-001', 't1', '2026-11-01T00:00:00.000000Z');
             {}{}{}",
            report("r1", None),
            report("r2", Some("r1")),
            report("r3", Some("no-such-report")),
        ))
        .expect("v4 rows");
        assert_eq!(migrate(&mut conn).expect("upgrade"), LATEST_VERSION);
        let row: (f64, f64, String, Option<String>) = conn
            .query_row(
                "SELECT lat, lon, created_at, zones_json FROM reports WHERE id = 'r1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("r1");
        assert_eq!(
            row,
            (
                37.5658,
                126.9386,
                "2026-12-01T00:00:00.123Z".to_owned(),
                None
            ),
            "UTC, and not placed yet (the startup backfill places it)"
        );
        let parents: Vec<(String, Option<String>)> = conn
            .prepare("SELECT id, follow_up_of FROM reports ORDER BY id")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()
            })
            .expect("parents");
        assert_eq!(
            parents,
            [
                ("r1".to_owned(), None),
                ("r2".to_owned(), Some("r1".to_owned())),
                ("r3".to_owned(), None),
            ]
        );
        let in_tree: i64 = conn
            .query_row(
                "SELECT count(*) FROM report_rtree
                 WHERE min_lat <= 37.5659 AND max_lat >= 37.5657
                   AND min_lon <= 126.9387 AND max_lon >= 126.9385
                   AND min_t <= (unixepoch('2026-12-02') - 1577836800) / 86400000.0
                   AND max_t >= (unixepoch('2026-11-30') - 1577836800) / 86400000.0",
                [],
                |r| r.get(0),
            )
            .expect("tree");
        assert_eq!(in_tree, 3, "every earlier report is in the R*Tree");
        conn.execute(
            "INSERT INTO changes (station_id, seq, kind, event, report_id, at)
             VALUES ('s1', 1, 'report', 'follow_up', 'r1', '2026-12-01T00:00:02.000000Z')",
            [],
        )
        .expect("the new event is accepted");
    }
}
