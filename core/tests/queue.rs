//! The report queue through its public API, on real SQLite files and real photo files.

mod common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use common::{file_report, open, png_bytes, seodaemun_fix};
use postcso_core::model::{
    CategoryCode, CategoryError, CategoryInfo, CategoryList, GeoPoint, LocationSource, ReportId,
    ReportState,
};
use postcso_core::photo::{BlobError, PhotoError, PhotoInput};
use postcso_core::secrets::FileSecretStore;
use postcso_core::{QueueConfig, QueueError, ReportQueue};

#[test]
fn a_draft_is_saved_on_every_change_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let fix = seodaemun_fix(1);
    let id = {
        let q = open(dir.path());
        let id = q.create_draft().unwrap();
        q.set_category(id, "parcel_theft").unwrap();
        q.set_note(id, "  택배 도난  ").unwrap();
        q.set_location(id, fix).unwrap();
        q.attach_photo(id, PhotoInput::Bytes(&png_bytes(40, 30, 1)))
            .unwrap();
        id
    };
    let q = open(dir.path());
    let r = q.get(id).unwrap();
    assert_eq!(r.state, ReportState::Draft);
    assert_eq!(r.category.as_deref(), Some("parcel_theft"));
    assert_eq!(r.note.as_deref(), Some("택배 도난"));
    assert_eq!(r.location, Some(fix));
    assert_eq!(r.photos.len(), 1);
    assert!(r.content_hash.is_none());
}

#[test]
fn submit_needs_a_category_and_a_location_and_leaves_the_draft_alone_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let id = q.create_draft().unwrap();
    assert!(matches!(q.submit(id), Err(QueueError::Missing("category"))));
    q.set_category(id, "crime_risk").unwrap();
    assert!(matches!(q.submit(id), Err(QueueError::Missing("location"))));
    assert_eq!(q.get(id).unwrap().state, ReportState::Draft);
    q.set_location(id, seodaemun_fix(2)).unwrap();
    let receipt = q.submit(id).unwrap();
    assert_eq!(receipt.content_hash.len(), 64);
    let r = q.get(id).unwrap();
    assert_eq!(r.state, ReportState::Queued);
    assert_eq!(
        r.content_hash.as_deref(),
        Some(receipt.content_hash.as_str())
    );
}

#[test]
fn a_queued_report_is_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let id = file_report(&q, 3);
    let before = q.get(id).unwrap();
    for attempt in [
        q.set_note(id, "changed").map(|_| ()),
        q.set_category(id, "other").map(|_| ()),
        q.set_location(id, seodaemun_fix(99)).map(|_| ()),
        q.attach_photo(id, PhotoInput::Bytes(&png_bytes(20, 20, 77)))
            .map(|_| ()),
        q.remove_photo(id, 0),
        q.delete_draft(id),
        q.submit(id).map(|_| ()),
    ] {
        match attempt {
            Err(QueueError::IllegalTransition(t)) => assert_eq!(t.from, ReportState::Queued),
            other => panic!("expected an illegal transition, got {other:?}"),
        }
    }
    assert_eq!(q.get(id).unwrap(), before);
}

#[test]
fn a_queued_report_can_be_withdrawn_once() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let id = file_report(&q, 4);
    q.withdraw(id).unwrap();
    assert_eq!(q.get(id).unwrap().state, ReportState::Withdrawn);
    assert!(matches!(
        q.withdraw(id),
        Err(QueueError::IllegalTransition(_))
    ));
    let draft = q.create_draft().unwrap();
    assert!(matches!(
        q.withdraw(draft),
        Err(QueueError::IllegalTransition(_))
    ));
    let missing = postcso_core::model::ReportId::new();
    assert!(matches!(q.withdraw(missing), Err(QueueError::NotFound(m)) if m == missing));
}

#[test]
fn a_bad_photo_never_damages_the_draft() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let id = q.create_draft().unwrap();
    q.set_category(id, "traffic_risk").unwrap();
    q.attach_photo(id, PhotoInput::Bytes(&png_bytes(50, 40, 5)))
        .unwrap();
    let before = q.get(id).unwrap();
    let mut truncated = png_bytes(50, 40, 6);
    truncated.truncate(truncated.len() / 2);
    let bad_inputs: [(&[u8], &str); 3] = [
        (&[], "empty"),
        (b"not a photo at all", "garbage"),
        (&truncated, "truncated"),
    ];
    for (bytes, what) in bad_inputs {
        let err = q.attach_photo(id, PhotoInput::Bytes(bytes)).unwrap_err();
        assert!(matches!(err, QueueError::Photo(_)), "{what}: {err:?}");
        assert_eq!(q.get(id).unwrap(), before, "{what} changed the draft");
    }
    let err = q.attach_photo(id, PhotoInput::Bytes(&[])).unwrap_err();
    assert!(matches!(err, QueueError::Photo(PhotoError::Empty)));
}

#[test]
fn photos_are_limited_deduplicated_and_reordered_on_removal() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let id = q.create_draft().unwrap();
    let mut hashes = Vec::new();
    for seed in 0..4 {
        let attached = q
            .attach_photo(id, PhotoInput::Bytes(&png_bytes(30, 30, 100 + seed)))
            .unwrap();
        assert_eq!(attached.photo.position as u64, seed);
        hashes.push(attached.photo.sha256);
        if seed == 2 {
            let again = q
                .attach_photo(id, PhotoInput::Bytes(&png_bytes(30, 30, 101)))
                .unwrap();
            assert_eq!(again.photo.position, 1, "the same photo twice is one photo");
        }
    }
    let err = q
        .attach_photo(id, PhotoInput::Bytes(&png_bytes(30, 30, 200)))
        .unwrap_err();
    assert!(matches!(err, QueueError::TooManyPhotos { max: 4 }));
    let again = q
        .attach_photo(id, PhotoInput::Bytes(&png_bytes(30, 30, 100)))
        .expect("a photo the full draft already holds is no error");
    assert_eq!(
        again.photo.position, 0,
        "the full draft kept its four photos"
    );
    q.remove_photo(id, 1).unwrap();
    let order: Vec<String> = q
        .get(id)
        .unwrap()
        .photos
        .into_iter()
        .map(|p| p.sha256)
        .collect();
    assert_eq!(
        order,
        vec![hashes[0].clone(), hashes[2].clone(), hashes[3].clone()]
    );
    assert!(matches!(
        q.remove_photo(id, 3),
        Err(QueueError::NoSuchPhoto(3))
    ));
}

#[test]
fn a_missing_or_altered_photo_file_is_detected_by_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let id = q.create_draft().unwrap();
    q.set_category(id, "other").unwrap();
    q.set_location(id, seodaemun_fix(7)).unwrap();
    let photo = q
        .attach_photo(id, PhotoInput::Bytes(&png_bytes(30, 30, 7)))
        .unwrap()
        .photo;
    let path = q.photo_path(&photo.sha256);

    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        q.submit(id),
        Err(QueueError::PhotoFile(BlobError::Altered { .. }))
    ));

    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        q.submit(id),
        Err(QueueError::PhotoFile(BlobError::Missing { .. }))
    ));
    assert!(matches!(
        q.verify_photos(id),
        Err(QueueError::PhotoFile(BlobError::Missing { .. }))
    ));
    assert_eq!(q.get(id).unwrap().state, ReportState::Draft);
}

#[test]
fn orphaned_photo_files_are_collected_and_live_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let kept = file_report(&q, 8);
    let abandoned = q.create_draft().unwrap();
    let orphan = q
        .attach_photo(abandoned, PhotoInput::Bytes(&png_bytes(30, 30, 9)))
        .unwrap()
        .photo;
    let removed_from = q.create_draft().unwrap();
    let removed = q
        .attach_photo(removed_from, PhotoInput::Bytes(&png_bytes(30, 30, 10)))
        .unwrap()
        .photo;
    q.remove_photo(removed_from, 0).unwrap();
    q.delete_draft(abandoned).unwrap();
    assert!(matches!(q.get(abandoned), Err(QueueError::NotFound(_))));

    assert_eq!(q.collect_orphan_photos().unwrap(), 2);
    assert!(!q.photo_path(&orphan.sha256).exists());
    assert!(!q.photo_path(&removed.sha256).exists());
    q.verify_photos(kept).unwrap();
    assert_eq!(q.collect_orphan_photos().unwrap(), 0);
}

#[test]
fn categories_are_checked_against_the_station_list_which_persists() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let id = q.create_draft().unwrap();
    assert!(matches!(
        q.set_category(id, "abandoned_house"),
        Err(QueueError::Category(CategoryError::Unknown(_)))
    ));
    let mut entries = CategoryList::default().entries().to_vec();
    entries.push(CategoryInfo {
        code: CategoryCode::parse("abandoned_house").unwrap(),
        name_ko: "빈집".into(),
        name_en: "Abandoned house".into(),
        guidance: "Photograph the entrance.".into(),
        retired: false,
    });
    entries[0].retired = true;
    q.replace_categories(CategoryList::new(entries)).unwrap();
    drop(q);
    let q = open(dir.path());
    q.set_category(id, "abandoned_house").unwrap();
    assert!(matches!(
        q.set_category(id, "crime_risk"),
        Err(QueueError::Category(CategoryError::Retired(_)))
    ));
    assert_eq!(q.categories().entries().len(), 7);
}

#[test]
fn position_quality_flags_are_recorded_at_submit() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let id = q.create_draft().unwrap();
    q.set_category(id, "crime_risk").unwrap();
    let old_vague = GeoPoint::new(
        37.56,
        126.94,
        Some(80.0),
        None,
        Utc::now() - Duration::minutes(5),
        LocationSource::Network,
    )
    .unwrap();
    q.set_location(id, old_vague).unwrap();
    let receipt = q.submit(id).unwrap();
    assert!(receipt.flags.low_accuracy && receipt.flags.stale);
    let stored = open(dir.path()).get(id).unwrap().flags;
    assert_eq!(stored, receipt.flags);
}

#[test]
fn a_full_disk_gives_a_clear_error_and_keeps_earlier_state() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let kept: Vec<_> = (0..3).map(|s| file_report(&q, s)).collect();
    let stats_before = q.stats().unwrap();
    drop(q);

    // Re-open with the database capped at its current size plus a few pages.
    let pages: i64 = rusqlite::Connection::open(dir.path().join("queue.db"))
        .unwrap()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let mut config = QueueConfig::new(dir.path());
    config.store.max_page_count = Some(pages as u64 + 2);
    let q = ReportQueue::open(config, FileSecretStore::in_data_dir(dir.path())).unwrap();
    let big_note = "가".repeat(1_900);
    let mut full = None;
    for _ in 0..200 {
        let attempt = q
            .create_draft()
            .and_then(|id| q.set_note(id, &big_note).map(|_| id));
        if let Err(e) = attempt {
            full = Some(e);
            break;
        }
    }
    let err = full.expect("the capped database fills up");
    assert!(matches!(err, QueueError::StorageFull), "{err:?}");
    assert!(err.to_string().contains("storage is full"));
    for id in &kept {
        assert_eq!(q.get(*id).unwrap().state, ReportState::Queued);
        q.verify_photos(*id).unwrap();
    }
    assert_eq!(q.stats().unwrap().queued, stats_before.queued);
}

#[test]
fn a_database_from_a_newer_app_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let id = file_report(&open(dir.path()), 11);
    let db = dir.path().join("queue.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
            .unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let err = ReportQueue::open(
        QueueConfig::new(dir.path()),
        FileSecretStore::in_data_dir(dir.path()),
    )
    .unwrap_err();
    assert!(
        matches!(err, QueueError::DatabaseTooNew { found: 999, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer than this app"));
    assert_eq!(std::fs::read(&db).unwrap(), before, "the file was modified");
    rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT 1 FROM reports WHERE id = ?1",
            [id.to_string()],
            |_| Ok(()),
        )
        .unwrap();
}

#[test]
fn a_corrupt_database_is_set_aside_not_recreated_over() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("queue.db");
    std::fs::write(
        &db,
        b"this is not an SQLite database, it is a corrupted file....",
    )
    .unwrap();
    let err = ReportQueue::open(
        QueueConfig::new(dir.path()),
        FileSecretStore::in_data_dir(dir.path()),
    )
    .unwrap_err();
    let QueueError::DatabaseCorrupt { set_aside } = err else {
        panic!("expected DatabaseCorrupt, got {err:?}");
    };
    assert!(set_aside.exists());
    assert!(
        !db.exists(),
        "the damaged file must be moved, not left for SQLite to overwrite"
    );
    assert!(
        std::fs::read(&set_aside)
            .unwrap()
            .starts_with(b"this is not")
    );
}

#[test]
fn a_truncated_database_is_set_aside_with_its_wal() {
    let dir = tempfile::tempdir().unwrap();
    {
        let q = open(dir.path());
        for seed in 0..40 {
            let id = q.create_draft().unwrap();
            q.set_note(id, &format!("{seed} {}", "x".repeat(1500)))
                .unwrap();
        }
    }
    let db = dir.path().join("queue.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
            .unwrap();
    }
    let len = std::fs::metadata(&db).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    let err = ReportQueue::open(
        QueueConfig::new(dir.path()),
        FileSecretStore::in_data_dir(dir.path()),
    )
    .unwrap_err();
    assert!(matches!(err, QueueError::DatabaseCorrupt { .. }), "{err:?}");
    // Opening again afterwards starts a fresh, empty queue: explicit, not silent.
    let q = open(dir.path());
    assert_eq!(q.list().unwrap().len(), 0);
}

#[test]
fn the_queue_can_be_used_from_many_threads_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let q = Arc::new(open(dir.path()));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let q = Arc::clone(&q);
            std::thread::spawn(move || {
                (0..5)
                    .map(|i| file_report(&q, t * 100 + i))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let listed: Vec<_> = q.list().unwrap().into_iter().map(|s| s.id).collect();
    ids.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, ids);
    assert_eq!(q.stats().unwrap().queued, 40);
    let mut by_time = listed.clone();
    by_time.sort_by_key(|id| q.get(*id).unwrap().created_at);
    assert_eq!(by_time, listed, "the list is in creation order");
}

#[test]
fn a_camera_gps_position_is_offered_only_when_the_report_has_none() {
    let photo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/photos/npm-jpeg-exif-1.1.4/IMG_0001.JPG");
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let id = q.create_draft().unwrap();
    let attached = q.attach_photo(id, PhotoInput::Path(&photo)).unwrap();
    let offer = attached
        .suggested_location
        .expect("the iPhone photo carries GPS");
    assert_eq!(offer.source(), LocationSource::Exif);
    assert!(offer.accuracy_m() > 0.0);
    // Offered, not applied: the carrier decides.
    assert_eq!(q.get(id).unwrap().location, None);
    q.set_location(id, offer).unwrap();
    q.set_category(id, "other").unwrap();
    q.submit(id).unwrap();

    let other = q.create_draft().unwrap();
    q.set_location(other, seodaemun_fix(12)).unwrap();
    let attached = q.attach_photo(other, PhotoInput::Path(&photo)).unwrap();
    assert_eq!(attached.suggested_location, None);
    // The stored file carries no trace of the camera's position.
    let stored = std::fs::read(q.photo_path(&attached.photo.sha256)).unwrap();
    assert!(
        !stored.windows(4).any(|w| w == b"Exif"),
        "EXIF left in the stored photo"
    );
}

/// Stamps a draft's creation time as `create_draft` would have with the phone's
/// clock showing `created_at`: how a draft started under a wrong clock looks.
fn stamp_created_at(dir: &std::path::Path, id: ReportId, created_at: &str) {
    let at = chrono::DateTime::parse_from_rfc3339(created_at).unwrap();
    let changed = rusqlite::Connection::open(dir.join("queue.db"))
        .unwrap()
        .execute(
            "UPDATE reports SET created_at = ?2, created_at_ms = ?3 WHERE id = ?1",
            rusqlite::params![id.to_string(), at.to_rfc3339(), at.timestamp_millis()],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

#[test]
fn a_draft_started_under_a_wrong_clock_is_re_dated_at_submit() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    for created_at in [
        "1970-01-01T09:00:00+09:00",
        "2019-12-31T23:59:59Z",
        "9999-01-01T00:00:00+09:00",
    ] {
        let id = q.create_draft().unwrap();
        q.set_category(id, "crime_risk").unwrap();
        q.set_location(id, seodaemun_fix(7)).unwrap();
        q.attach_photo(id, PhotoInput::Bytes(&png_bytes(30, 20, 9)))
            .unwrap();
        stamp_created_at(dir.path(), id, created_at);
        let stamped = q.get(id).unwrap().created_at;

        let before = Utc::now();
        q.submit(id).unwrap();
        let report = q.get(id).unwrap();
        assert_eq!(report.state, ReportState::Queued, "{created_at}");
        let sealed = report.created_at;
        assert!(
            sealed.with_timezone(&Utc) >= before - Duration::seconds(1)
                && sealed.with_timezone(&Utc) <= Utc::now(),
            "{created_at}: re-dated to the submit time, got {sealed}"
        );
        assert_eq!(
            sealed.offset(),
            stamped.offset(),
            "the phone's zone is kept"
        );
        postcso_core::model::check_created_at(&sealed, Utc::now()).unwrap();
    }

    // A clock a little fast (23 hours) is skew, not a wrong clock: kept as stamped.
    let id = q.create_draft().unwrap();
    q.set_category(id, "crime_risk").unwrap();
    q.set_location(id, seodaemun_fix(8)).unwrap();
    let ahead =
        chrono::DateTime::parse_from_rfc3339(&(Utc::now() + Duration::hours(23)).to_rfc3339())
            .unwrap();
    stamp_created_at(dir.path(), id, &ahead.to_rfc3339());
    q.submit(id).unwrap();
    let report = q.get(id).unwrap();
    assert_eq!(report.state, ReportState::Queued);
    assert_eq!(report.created_at, ahead);
}
