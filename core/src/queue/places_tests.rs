//! The queue's place features on a real database: zones by point and
//! distance, what a sealed report records, watch areas across restarts,
//! nearby reports and follow-ups.

use crate::secrets::FileSecretStore;
use std::path::Path;

use chrono::{Duration, Utc};

use super::*;
use crate::model::{GeoError, ZoneKind};
use crate::places::testing::{METRES, square_zone};

fn open(dir: &Path) -> ReportQueue {
    ReportQueue::open(QueueConfig::new(dir), FileSecretStore::in_data_dir(dir)).expect("open")
}

/// A good fix `north`/`east` metres from the test origin.
fn fix(north: f64, east: f64) -> GeoPoint {
    let (lat, lon) = METRES.at(north, east);
    GeoPoint::new(lat, lon, Some(6.0), None, Utc::now(), LocationSource::Gps).expect("fix")
}

/// Seodaemun-gu as a 2 km square, a beat and a dark-alley watch area inside it.
fn district_zones() -> Vec<crate::model::ZoneInfo> {
    vec![
        square_zone("beat-7", ZoneKind::Beat, (0.0, 0.0), 300.0),
        square_zone(
            "yeonhui-dark-alley",
            ZoneKind::WatchArea,
            (100.0, 100.0),
            100.0,
        ),
        square_zone(
            "seodaemun-gu",
            ZoneKind::Jurisdiction,
            (-1000.0, -1000.0),
            2000.0,
        ),
    ]
}

/// A queued report of `category` at the position.
fn queued(q: &ReportQueue, category: &str, at: GeoPoint) -> ReportId {
    let id = q.create_draft().expect("draft");
    q.set_category(id, category).expect("category");
    q.set_location(id, at).expect("location");
    q.submit(id).expect("submit");
    id
}

fn codes(hits: &[crate::places::ZoneHit]) -> Vec<&str> {
    hits.iter().map(|h| h.zone.code.as_str()).collect()
}

#[test]
fn zones_at_and_near_answer_from_local_data_and_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let (lat, lon) = METRES.at(150.0, 150.0);
    assert!(q.zones_at(lat, lon).unwrap().is_empty(), "no zones yet");
    q.replace_zones(&district_zones()).unwrap();
    assert_eq!(
        codes(&q.zones_at(lat, lon).unwrap()),
        ["beat-7", "yeonhui-dark-alley", "seodaemun-gu"]
    );
    let (far_lat, far_lon) = METRES.at(5000.0, 5000.0);
    assert!(q.zones_at(far_lat, far_lon).unwrap().is_empty());

    let (lat, lon) = METRES.at(150.0, 330.0); // 30 m east of the beat
    let near = q.zones_near(lat, lon, 50.0).unwrap();
    assert_eq!(codes(&near), ["seodaemun-gu", "beat-7"]);
    assert!((near[1].distance_m - 30.0).abs() < 0.5, "{near:?}");

    assert!(matches!(
        q.zones_at(f64::NAN, lon),
        Err(QueueError::Location(GeoError::NotFinite { field: "lat" }))
    ));
    assert!(matches!(
        q.zones_near(lat, 181.0, 10.0),
        Err(QueueError::Location(GeoError::OutOfRange { field: "lon" }))
    ));
    for radius in [-1.0, f64::NAN, 5_001.0] {
        assert!(matches!(
            q.zones_near(lat, lon, radius),
            Err(QueueError::Radius { .. })
        ));
    }
}

#[test]
fn the_index_follows_zone_writes_and_is_rebuilt_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    q.replace_zones(&district_zones()).unwrap();
    let (lat, lon) = METRES.at(150.0, 150.0);
    assert_eq!(q.zones_at(lat, lon).unwrap().len(), 3);

    let mut retired = square_zone("beat-7", ZoneKind::Beat, (0.0, 0.0), 300.0);
    retired.retired = true;
    q.upsert_zone(&retired).unwrap();
    assert_eq!(
        codes(&q.zones_at(lat, lon).unwrap()),
        ["yeonhui-dark-alley", "seodaemun-gu"]
    );
    q.upsert_zone(&square_zone(
        "school-route",
        ZoneKind::WatchArea,
        (140.0, 140.0),
        20.0,
    ))
    .unwrap();
    drop(q);

    let q = open(dir.path());
    assert_eq!(
        codes(&q.zones_at(lat, lon).unwrap()),
        ["yeonhui-dark-alley", "seodaemun-gu", "school-route"]
    );
    assert_eq!(q.local_zones().unwrap().len(), 4);
}

#[test]
fn a_sealed_report_records_its_zones_and_district_in_the_station_bound_json() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    q.replace_zones(&district_zones()).unwrap();
    let inside = queued(&q, "safety_facility", fix(150.0, 150.0));
    let beat_only = queued(&q, "safety_facility", fix(50.0, 50.0));
    let outside = queued(&q, "safety_facility", fix(5000.0, 5000.0));

    let put_body = |id| -> serde_json::Value {
        let delivery = q.begin_delivery(id).expect("delivery");
        serde_json::from_str(&delivery.content_json).expect("json")
    };
    let body = put_body(inside);
    assert_eq!(
        body["zones"],
        serde_json::json!(["beat-7", "yeonhui-dark-alley", "seodaemun-gu"])
    );
    assert_eq!(body["district"], "seodaemun-gu");
    assert!(body.get("follow_up_of").is_none());
    let hash = crate::model::content_hash(&serde_json::from_value(body).unwrap());
    assert_eq!(
        q.get(inside).unwrap().content_hash,
        Some(hash),
        "the hash covers them"
    );

    let body = put_body(beat_only);
    assert_eq!(body["zones"], serde_json::json!(["beat-7", "seodaemun-gu"]));
    let body = put_body(outside);
    assert!(body.get("zones").is_none() && body.get("district").is_none());
}

#[test]
fn watch_areas_inside_survive_a_restart_without_being_announced_again() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    q.replace_zones(&district_zones()).unwrap();
    let update = q.update_position(&fix(150.0, 150.0)).unwrap();
    assert_eq!(update.entered.len(), 1);
    assert_eq!(update.entered[0].code, "yeonhui-dark-alley");
    assert_eq!(
        update.entered[0].guidance.as_deref(),
        Some("check street lights")
    );
    drop(q);

    let q = open(dir.path());
    assert_eq!(q.watch_areas_inside().len(), 1);
    let update = q.update_position(&fix(150.0, 150.0)).unwrap();
    assert!(update.is_empty(), "not announced again after a restart");
    let update = q.update_position(&fix(150.0, 230.0)).unwrap();
    assert_eq!(update.left.len(), 1, "30 m outside: left");
    drop(q);

    let q = open(dir.path());
    assert!(q.watch_areas_inside().is_empty(), "the exit was stored too");
}

#[test]
fn an_area_retired_by_a_sync_while_inside_is_left_at_the_next_fix() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    q.replace_zones(&district_zones()).unwrap();
    assert_eq!(
        q.update_position(&fix(150.0, 150.0)).unwrap().entered.len(),
        1
    );
    let mut retired = square_zone(
        "yeonhui-dark-alley",
        ZoneKind::WatchArea,
        (100.0, 100.0),
        100.0,
    );
    retired.retired = true;
    q.upsert_zone(&retired).unwrap();
    let update = q.update_position(&fix(150.0, 150.0)).unwrap();
    assert_eq!(update.left.len(), 1);
    assert!(update.left[0].retired);
    assert!(update.entered.is_empty());
}

#[test]
fn a_set_unconfirmed_for_a_shift_is_forgotten_silently() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    q.replace_zones(&district_zones()).unwrap();
    let now = Utc::now();
    let here = fix(150.0, 150.0);
    assert_eq!(q.update_position_at(&here, now).unwrap().entered.len(), 1);
    // Next morning, elsewhere: nothing is announced as left...
    let far = fix(900.0, 900.0);
    let update = q
        .update_position_at(&far, now + Duration::hours(13))
        .unwrap();
    assert!(update.is_empty(), "{update:?}");
    // ...and back in the alley it is announced afresh.
    let update = q
        .update_position_at(&here, now + Duration::hours(13) + Duration::minutes(5))
        .unwrap();
    assert_eq!(update.entered.len(), 1);
}

#[test]
fn nearby_reports_are_own_sealed_originals_of_the_same_category_within_30_m() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    let here = fix(0.0, 0.0);
    let near = queued(&q, "safety_facility", fix(0.0, 12.0));
    let nearer = queued(&q, "safety_facility", fix(5.0, 0.0));
    let _far = queued(&q, "safety_facility", fix(0.0, 35.0));
    let _other_kind = queued(&q, "parcel_theft", fix(0.0, 3.0));
    let withdrawn = queued(&q, "safety_facility", fix(0.0, 2.0));
    q.withdraw(withdrawn).unwrap();
    let other_draft = q.create_draft().unwrap();
    q.set_category(other_draft, "safety_facility").unwrap();
    q.set_location(other_draft, fix(0.0, 1.0)).unwrap();
    let follow_up = q.create_follow_up(near).unwrap();
    q.set_location(follow_up, fix(0.0, 1.0)).unwrap();
    q.submit(follow_up).unwrap();
    q.attach_photo(other_draft, PhotoInput::Bytes(&tiny_png()))
        .unwrap();

    let draft = q.create_draft().unwrap();
    assert!(q.nearby_reports(draft).unwrap().is_empty(), "no place yet");
    q.set_location(draft, here).unwrap();
    assert!(
        q.nearby_reports(draft).unwrap().is_empty(),
        "no category yet"
    );
    q.set_category(draft, "safety_facility").unwrap();

    let found = q.nearby_reports(draft).unwrap();
    let ids: Vec<ReportId> = found.iter().map(|r| r.id).collect();
    assert_eq!(ids, [nearer, near]);
    assert!((found[0].distance_m - 5.0).abs() < 0.2, "{found:?}");
    assert!((found[1].distance_m - 12.0).abs() < 0.2, "{found:?}");
    assert_eq!(found[0].state, ReportState::Queued);
    assert_eq!(found[0].photo_count, 0);

    // Two weeks and a day later, they are too old to offer.
    let later = Utc::now() + Duration::days(15);
    assert!(q.nearby_reports_at(draft, later).unwrap().is_empty());
    assert!(matches!(
        q.nearby_reports(ReportId::new()),
        Err(QueueError::NotFound(_))
    ));
}

#[test]
fn a_follow_up_copies_its_original_and_names_it_in_the_sealed_content() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    q.replace_zones(&district_zones()).unwrap();
    let original = queued(&q, "safety_facility", fix(150.0, 150.0));

    let follow_up = q.create_follow_up(original).unwrap();
    let draft = q.get(follow_up).unwrap();
    assert_eq!(draft.state, ReportState::Draft);
    assert_eq!(draft.category.as_deref(), Some("safety_facility"));
    assert_eq!(draft.location, q.get(original).unwrap().location);
    assert_eq!(draft.follow_up_of, Some(original));
    assert!(matches!(
        q.set_category(follow_up, "parcel_theft"),
        Err(QueueError::FollowUp(FollowUpError::CategoryFixed))
    ));
    q.set_location(follow_up, fix(151.0, 151.0)).unwrap();
    q.set_note(follow_up, "사진 추가").unwrap();
    q.attach_photo(follow_up, PhotoInput::Bytes(&tiny_png()))
        .unwrap();
    q.submit(follow_up).unwrap();
    let content = q.sealed_content(follow_up).unwrap();
    assert_eq!(content.follow_up_of, Some(original));
    assert_eq!(content.category.as_str(), "safety_facility");
    assert_eq!(content.district.as_deref(), Some("seodaemun-gu"));

    // A follow-up of the follow-up points at the original.
    let second = q.create_follow_up(follow_up).unwrap();
    assert_eq!(q.get(second).unwrap().follow_up_of, Some(original));
    let listed = q.list().unwrap();
    assert_eq!(
        listed.iter().find(|r| r.id == second).unwrap().follow_up_of,
        Some(original)
    );
}

#[test]
fn only_reports_queued_or_sent_on_this_phone_can_be_followed_up() {
    let dir = tempfile::tempdir().unwrap();
    let q = open(dir.path());
    assert!(matches!(
        q.create_follow_up(ReportId::new()),
        Err(QueueError::NotFound(_))
    ));
    let draft = q.create_draft().unwrap();
    assert!(matches!(
        q.create_follow_up(draft),
        Err(QueueError::FollowUp(FollowUpError::ParentNotSealed {
            state: ReportState::Draft,
            ..
        }))
    ));
    let withdrawn = queued(&q, "crime_risk", fix(0.0, 0.0));
    q.withdraw(withdrawn).unwrap();
    assert!(matches!(
        q.create_follow_up(withdrawn),
        Err(QueueError::FollowUp(FollowUpError::ParentNotSealed {
            state: ReportState::Withdrawn,
            ..
        }))
    ));
    let sent = queued(&q, "crime_risk", fix(0.0, 0.0));
    q.transition(sent, ReportEvent::StartSending).unwrap();
    q.transition(sent, ReportEvent::Acknowledged).unwrap();
    assert!(q.create_follow_up(sent).is_ok());
    assert_eq!(q.stats().unwrap().drafts, 2, "nothing made by the refusals");
}

fn tiny_png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 8, 8);
    enc.set_color(png::ColorType::Grayscale);
    let mut w = enc.write_header().expect("header");
    w.write_image_data(&[90; 64]).expect("data");
    drop(w);
    out
}
