//! Upgrading databases made by every earlier schema version.
//!
//! `fixtures/schema/v<N>.sqlite` is a queue written by schema version N, holding
//! drafts, queued, sent and withdrawn reports. Each must open under the current
//! app with every report intact, and end with the same schema as a fresh database.
//!
//! When a migration is added, generate the fixture of the version it upgrades from
//! *before* changing anything else: `cargo test -p postcso-core --test migrations
//! -- --ignored generate_schema_fixtures`, and add that version's writer below.

use std::path::PathBuf;

use postcso_core::model::{
    CategoryCode, GeoPoint, LocationSource, Note, PhotoManifestEntry, ReportContent, ReportId,
    ReportState, content_hash,
};
use postcso_core::secrets::FileSecretStore;
use postcso_core::store::{CURRENT_VERSION, upgrade_to};
use postcso_core::{QueueConfig, ReportQueue};
use rusqlite::{Connection, params};

fn fixture(version: u32) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/schema/v{version}.sqlite"))
}

/// One report as a fixture holds it, and as it must come out after the upgrade.
struct Expected {
    id: &'static str,
    state: ReportState,
    category: Option<&'static str>,
    note: Option<&'static str>,
    accuracy_m: Option<f64>,
    photos: usize,
}

const EXPECTED: &[Expected] = &[
    Expected {
        id: "019ad0a0-0000-7000-8000-000000000001",
        state: ReportState::Draft,
        category: None,
        note: None,
        accuracy_m: None,
        photos: 0,
    },
    Expected {
        id: "019ad0a0-0000-7000-8000-000000000002",
        state: ReportState::Draft,
        category: Some("crime_risk"),
        note: Some("골목이 어두움"),
        accuracy_m: Some(7.0),
        photos: 1,
    },
    Expected {
        id: "019ad0a0-0000-7000-8000-000000000003",
        state: ReportState::Queued,
        category: Some("safety_facility"),
        note: Some("비상벨 고장"),
        accuracy_m: Some(5.0),
        photos: 2,
    },
    Expected {
        id: "019ad0a0-0000-7000-8000-000000000004",
        state: ReportState::Queued,
        category: Some("traffic_risk"),
        note: None,
        accuracy_m: Some(80.0),
        photos: 0,
    },
    Expected {
        id: "019ad0a0-0000-7000-8000-000000000005",
        state: ReportState::Sending,
        category: Some("parcel_theft"),
        note: Some("택배 도난"),
        accuracy_m: Some(12.0),
        photos: 1,
    },
    Expected {
        id: "019ad0a0-0000-7000-8000-000000000006",
        state: ReportState::Sent,
        category: Some("resident_anxiety"),
        note: None,
        accuracy_m: Some(9.0),
        photos: 0,
    },
    Expected {
        id: "019ad0a0-0000-7000-8000-000000000007",
        state: ReportState::Withdrawn,
        category: Some("other"),
        note: Some("실수"),
        accuracy_m: Some(15.0),
        photos: 0,
    },
];

#[test]
fn every_earlier_schema_version_has_a_fixture() {
    for version in 1..CURRENT_VERSION {
        assert!(
            fixture(version).exists(),
            "missing fixture for schema v{version}; see this file's header"
        );
    }
}

#[test]
fn databases_from_every_earlier_version_upgrade_without_losing_a_report() {
    let fresh_dir = tempfile::tempdir().unwrap();
    drop(
        ReportQueue::open(
            QueueConfig::new(fresh_dir.path()),
            FileSecretStore::in_data_dir(fresh_dir.path()),
        )
        .unwrap(),
    );
    let fresh_schema = schema_of(&fresh_dir.path().join("queue.db"));

    for version in 1..CURRENT_VERSION {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(fixture(version), dir.path().join("queue.db")).unwrap();
        let queue = ReportQueue::open(
            QueueConfig::new(dir.path()),
            FileSecretStore::in_data_dir(dir.path()),
        )
        .unwrap();
        let listed = queue.list().unwrap();
        assert_eq!(listed.len(), EXPECTED.len(), "v{version}: reports lost");
        for e in EXPECTED {
            let id = ReportId::parse(e.id).unwrap();
            let r = queue.get(id).unwrap();
            // An interrupted send goes back to the queue on open.
            let state = if e.state == ReportState::Sending {
                ReportState::Queued
            } else {
                e.state
            };
            assert_eq!(r.state, state, "v{version} {}", e.id);
            assert_eq!(r.category.as_deref(), e.category, "v{version} {}", e.id);
            assert_eq!(r.note.as_deref(), e.note, "v{version} {}", e.id);
            assert_eq!(
                r.location.map(|l| l.accuracy_m()),
                e.accuracy_m,
                "v{version} {}",
                e.id
            );
            assert_eq!(r.photos.len(), e.photos, "v{version} {}", e.id);
            if state.is_sealed() {
                assert!(r.content_hash.is_some(), "v{version} {}: seal lost", e.id);
                assert_eq!(
                    r.flags.low_accuracy,
                    e.accuracy_m > Some(50.0),
                    "v{version} {}",
                    e.id
                );
            }
        }
        if version >= 4 {
            let zones = queue.zones().unwrap();
            assert_eq!(zones.len(), 1, "v{version}: zone lost");
            assert!(zones[0].area.is_some(), "v{version}: outline lost");
            // The report positions lie inside the zone's outline.
            assert_eq!(queue.zones_at(37.5659, 126.9386).unwrap().len(), 1);
        }
        drop(queue);
        // The upgrade made the data key and its canary.
        assert!(dir.path().join("secrets/postcso.queue_key.1").exists());
        let canaries: i64 = Connection::open(dir.path().join("queue.db"))
            .unwrap()
            .query_row("SELECT count(*) FROM key_canary", [], |r| r.get(0))
            .unwrap();
        assert_eq!(canaries, 1, "v{version}: no key canary");
        assert_eq!(
            schema_of(&dir.path().join("queue.db")),
            fresh_schema,
            "v{version}: schema differs from fresh"
        );
    }
}

fn schema_of(db: &std::path::Path) -> Vec<(String, String, Option<String>)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Fills a database of one schema version with the expected reports.
type FixtureWriter = fn(&Connection);

/// Writes the fixtures. Run by hand when a migration is added (see the header).
#[test]
#[ignore = "writes fixtures; run by hand when adding a migration"]
fn generate_schema_fixtures() {
    let writers: [(u32, FixtureWriter); 6] = [
        (1, write_v1),
        (2, write_v2),
        (3, write_v3),
        (4, write_v4),
        (5, write_v5),
        (6, write_v6),
    ];
    for (version, write) in writers {
        let path = fixture(version);
        // Fixtures already committed stay byte for byte as they are.
        if path.exists() {
            continue;
        }
        let mut conn = Connection::open(&path).unwrap();
        upgrade_to(&mut conn, version).unwrap();
        write(&conn);
        conn.execute_batch("VACUUM").unwrap();
    }
}

/// Version 6 remembered the watch areas the carrier is inside (and added
/// follow-ups, which the fixture's reports are not).
fn write_v6(conn: &Connection) {
    write_v5(conn);
    conn.execute(
        "INSERT INTO watch_inside (code, zone_json, entered_at_ms) VALUES ('yeonhui-dark-alley', ?1, 1763630000000)",
        [r#"{"code":"yeonhui-dark-alley","kind":"watch_area","theme":"dark_alley","name":"연희동 어두운 골목","area":null,"assigned":false,"retired":false}"#],
    )
    .unwrap();
}

/// Version 5 kept each zone whole as JSON (kind, names, guidance, validity).
fn write_v5(conn: &Connection) {
    write_v4(conn);
    conn.execute(
        "UPDATE zones SET zone_json = ?1 WHERE code = 'yeonhui-dark-alley'",
        [r#"{"code":"yeonhui-dark-alley","kind":"watch_area","theme":"dark_alley","name":"연희동 어두운 골목","name_en":"Yeonhui-dong dark alleys","guidance":"가로등을 확인하세요","area":null,"assigned":false,"retired":false}"#],
    )
    .unwrap();
}

/// Version 4 added the station's zones (code, name, outline, assignment).
fn write_v4(conn: &Connection) {
    write_v3(conn);
    conn.execute(
        "INSERT INTO zones (position, code, name, area_json, assigned, retired) VALUES (0, 'yeonhui-dark-alley', '연희동 어두운 골목', ?1, 1, 0)",
        [ZONE_AREA],
    )
    .unwrap();
}

/// The outline of the fixtures' zone: a square around the reports' positions.
const ZONE_AREA: &str = r#"{"type":"Polygon","coordinates":[[[126.938,37.565],[126.940,37.565],[126.940,37.567],[126.938,37.567],[126.938,37.565]]]}"#;

/// Version 3 added delivery progress and the sync state (feed cursor).
fn write_v3(conn: &Connection) {
    write_v2(conn);
    conn.execute(
        "INSERT INTO deliveries (report_id, metadata_acked, attempts) VALUES (?1, 1, 2)",
        params!["019ad0a0-0000-7000-8000-000000000005"],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO photo_uploads (report_id, position, upload_url, confirmed_offset) \
         VALUES (?1, 0, 'http://127.0.0.1:1/v1/uploads/abc', 4096)",
        params!["019ad0a0-0000-7000-8000-000000000005"],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO sync_state (key, value) VALUES ('changes_cursor', 'djE6Mw')",
        [],
    )
    .unwrap();
}

/// Version 2 added position flags and the cached category list.
fn write_v2(conn: &Connection) {
    write_v1(conn);
    conn.execute(
        "UPDATE reports SET flag_low_accuracy = 1 WHERE state <> 'draft' AND accuracy_m > 50.0",
        [],
    )
    .unwrap();
    for (i, (code, ko, en, guidance)) in postcso_core::model::BUILTIN_CATEGORIES.iter().enumerate()
    {
        conn.execute(
            "INSERT INTO categories (position, code, name_ko, name_en, guidance, retired) VALUES (?1, ?2, ?3, ?4, ?5, 0)",
            params![i as i64, code, ko, en, guidance],
        )
        .unwrap();
    }
}

fn write_v1(conn: &Connection) {
    let fix_time = chrono::DateTime::parse_from_rfc3339("2026-11-20T09:12:00Z")
        .unwrap()
        .to_utc();
    for (n, e) in EXPECTED.iter().enumerate() {
        let created_at = format!("2026-11-20T18:{:02}:00+09:00", 10 + n);
        let created_ms = chrono::DateTime::parse_from_rfc3339(&created_at)
            .unwrap()
            .timestamp_millis();
        let location = e.accuracy_m.map(|acc| {
            GeoPoint::new(
                37.5658 + n as f64 * 1e-4,
                126.9386,
                Some(acc),
                None,
                fix_time,
                LocationSource::Gps,
            )
            .unwrap()
        });
        let photos: Vec<PhotoManifestEntry> = (0..e.photos)
            .map(|i| PhotoManifestEntry {
                sha256: format!("{:064x}", n * 10 + i),
                size: 200_000 + i as u64,
                content_type: "image/jpeg".into(),
            })
            .collect();
        let sealed = e.state.is_sealed().then(|| {
            let content = ReportContent {
                id: ReportId::parse(e.id).unwrap(),
                category: CategoryCode::parse(e.category.unwrap()).unwrap(),
                note: e.note.and_then(|t| Note::parse(t).unwrap()),
                location: location.unwrap(),
                created_at: chrono::DateTime::parse_from_rfc3339(&created_at).unwrap(),
                photos: photos.clone(),
                zones: Vec::new(),
                district: None,
                follow_up_of: None,
            };
            (content.canonical_json(), content_hash(&content))
        });
        conn.execute(
            "INSERT INTO reports (id, state, category, note, lat, lon, accuracy_m, fix_time, location_source, \
             created_at, created_at_ms, updated_at_ms, queued_at_ms, content_json, content_hash, review_status) \
             VALUES (?1, 'draft', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13, ?14)",
            params![
                e.id,
                e.category,
                e.note,
                location.map(|l| l.lat()),
                location.map(|l| l.lon()),
                e.accuracy_m,
                location.map(|l| l.fix_time().to_rfc3339()),
                location.map(|l| l.source().as_str()),
                created_at,
                created_ms,
                e.state.is_sealed().then_some(created_ms + 60_000),
                sealed.as_ref().map(|s| s.0.clone()),
                sealed.as_ref().map(|s| s.1.clone()),
                (e.state == ReportState::Sent).then_some("accepted"),
            ],
        )
        .unwrap();
        for (i, p) in photos.iter().enumerate() {
            conn.execute(
                "INSERT INTO report_photos (report_id, position, sha256, size, width, height) VALUES (?1, ?2, ?3, ?4, 1600, 1200)",
                params![e.id, i as i64, p.sha256, p.size as i64],
            )
            .unwrap();
        }
        conn.execute(
            "UPDATE reports SET state = ?2 WHERE id = ?1",
            params![e.id, e.state.as_str()],
        )
        .unwrap();
    }
}
