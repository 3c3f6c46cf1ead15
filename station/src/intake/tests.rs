//! Intake's rules without HTTP or a database: each rule refuses with its own
//! typed violation and pointer, and a report keeping them all passes.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use postcso_model::{
    CREATED_AT_MAX_AHEAD, CategoryCode, CategoryError, CategoryInfo, CategoryList, CreatedAtError,
    GeoPoint, LocationSource, PhotoManifestEntry, ReportContent, ReportId,
};

use super::manifest;
use super::rules::{check_new, check_shape};
use super::*;

const LIMITS: ManifestLimits = ManifestLimits {
    max_photos: 4,
    max_photo_bytes: 1000,
};

fn photo(seed: u8) -> PhotoManifestEntry {
    PhotoManifestEntry {
        sha256: format!("{seed:02x}").repeat(32),
        size: 500,
        content_type: "image/jpeg".into(),
    }
}

fn report(category: &str, photos: Vec<PhotoManifestEntry>) -> ReportContent {
    let now = Utc::now();
    ReportContent {
        id: ReportId::new(),
        category: CategoryCode::parse(category).expect("test category"),
        note: None,
        location: GeoPoint::new(37.5791, 126.9368, Some(6.0), None, now, LocationSource::Gps)
            .expect("test location"),
        created_at: now.with_timezone(&FixedOffset::east_opt(9 * 3600).expect("offset")),
        photos,
        zones: Vec::new(),
        district: None,
        follow_up_of: None,
    }
}

/// The six built-in categories, with `other` retired.
fn categories() -> CategoryList {
    let entries = CategoryList::default()
        .entries()
        .iter()
        .cloned()
        .map(|c| CategoryInfo {
            retired: c.code.as_str() == "other",
            ..c
        })
        .collect();
    CategoryList::new(entries)
}

fn pointers(violations: &[Violation]) -> Vec<String> {
    violations.iter().map(Violation::pointer).collect()
}

#[test]
fn a_report_keeping_every_rule_passes() {
    let content = report("parcel_theft", vec![photo(1), photo(2)]);
    assert_eq!(check_shape(&content, content.id, LIMITS), vec![]);
    assert_eq!(check_new(&content, &categories(), Utc::now()), vec![]);
}

#[test]
fn the_body_id_must_be_the_path_id() {
    let content = report("parcel_theft", vec![]);
    let violations = check_shape(&content, ReportId::new(), LIMITS);
    assert_eq!(violations, vec![Violation::IdMismatch]);
    assert_eq!(pointers(&violations), ["/id"]);
}

#[test]
fn a_retired_category_is_refused_for_new_reports() {
    let content = report("other", vec![]);
    let violations = check_new(&content, &categories(), Utc::now());
    assert_eq!(
        violations,
        vec![Violation::Category(CategoryError::Retired("other".into()))]
    );
    assert_eq!(pointers(&violations), ["/category"]);
    assert!(violations[0].to_string().contains("retired"));
}

#[test]
fn an_unknown_category_is_refused() {
    let content = report("graffiti", vec![]);
    let violations = check_new(&content, &categories(), Utc::now());
    assert_eq!(
        violations,
        vec![Violation::Category(CategoryError::Unknown(
            "graffiti".into()
        ))]
    );
    assert_eq!(pointers(&violations), ["/category"]);
}

#[test]
fn category_rules_are_not_shape_rules() {
    // A retired category passes the shape check: a retry of a report stored
    // before the retirement must still be recognised as one.
    let content = report("other", vec![]);
    assert_eq!(check_shape(&content, content.id, LIMITS), vec![]);
}

fn created(rfc3339: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(rfc3339).expect("test time")
}

#[test]
fn a_created_at_in_the_year_9999_is_refused_by_the_station_clock() {
    let mut content = report("parcel_theft", vec![]);
    content.created_at = created("9999-01-01T00:00:00+09:00");
    let violations = check_new(&content, &categories(), Utc::now());
    assert_eq!(
        violations,
        vec![Violation::CreatedAt(CreatedAtError::TooFarAhead)]
    );
    assert_eq!(pointers(&violations), ["/created_at"]);
    assert!(violations[0].to_string().contains("clock"));
}

#[test]
fn a_created_at_before_2020_is_refused() {
    let mut content = report("parcel_theft", vec![]);
    content.created_at = created("1970-01-01T09:00:00+09:00");
    let violations = check_new(&content, &categories(), Utc::now());
    assert_eq!(
        violations,
        vec![Violation::CreatedAt(CreatedAtError::TooEarly)]
    );
    assert_eq!(pointers(&violations), ["/created_at"]);
}

#[test]
fn created_at_is_judged_by_the_clock_intake_is_given() {
    let now = created("2026-12-07T09:00:00Z").with_timezone(&Utc);
    let mut content = report("parcel_theft", vec![]);
    content.created_at = (now + CREATED_AT_MAX_AHEAD).fixed_offset();
    assert_eq!(check_new(&content, &categories(), now), vec![]);
    content.created_at += Duration::seconds(1);
    assert_eq!(
        pointers(&check_new(&content, &categories(), now)),
        ["/created_at"]
    );
    // A day later by the station's clock the same report is fine.
    assert_eq!(
        check_new(&content, &categories(), now + Duration::days(1)),
        vec![]
    );
}

#[test]
fn category_and_created_at_are_reported_together_and_are_not_shape_rules() {
    let mut content = report("graffiti", vec![]);
    content.created_at = created("9999-01-01T00:00:00Z");
    assert_eq!(check_shape(&content, content.id, LIMITS), vec![]);
    let violations = check_new(&content, &categories(), Utc::now());
    assert_eq!(pointers(&violations), ["/category", "/created_at"]);
}

#[test]
fn more_photos_than_the_limit_are_refused_at_the_list() {
    let photos: Vec<_> = (1..=5).map(photo).collect();
    let violations = manifest::check(&photos, LIMITS);
    assert_eq!(
        violations,
        vec![Violation::TooManyPhotos { max: 4, found: 5 }]
    );
    assert_eq!(pointers(&violations), ["/photos"]);
    assert_eq!(
        violations[0].to_string(),
        "a report may carry at most 4 photos, not 5"
    );
    assert_eq!(manifest::check(&photos[..4], LIMITS), vec![]);
}

#[test]
fn a_photo_listed_twice_is_refused_at_the_repeat() {
    let photos = vec![photo(1), photo(2), photo(1)];
    let violations = manifest::check(&photos, LIMITS);
    assert_eq!(violations, vec![Violation::PhotoListedTwice { index: 2 }]);
    assert_eq!(pointers(&violations), ["/photos/2/sha256"]);
}

#[test]
fn malformed_hashes_are_refused_and_not_counted_as_repeats() {
    let mut upper = photo(10);
    upper.sha256 = upper.sha256.to_uppercase();
    let mut short = photo(11);
    short.sha256.pop();
    let mut not_hex = photo(12);
    not_hex.sha256 = "zz".repeat(32);
    let photos = vec![upper, short, not_hex.clone(), not_hex];
    let violations = manifest::check(&photos, LIMITS);
    assert_eq!(
        pointers(&violations),
        [
            "/photos/0/sha256",
            "/photos/1/sha256",
            "/photos/2/sha256",
            "/photos/3/sha256"
        ]
    );
    assert!(
        violations
            .iter()
            .all(|v| matches!(v, Violation::PhotoHashMalformed { .. }))
    );
}

#[test]
fn sizes_must_be_between_one_byte_and_the_limit() {
    let mut empty = photo(1);
    empty.size = 0;
    let mut largest = photo(2);
    largest.size = 1000;
    let mut too_large = photo(3);
    too_large.size = 1001;
    let violations = manifest::check(&[empty, largest, too_large], LIMITS);
    assert_eq!(
        violations,
        vec![
            Violation::PhotoSize {
                index: 0,
                max: 1000
            },
            Violation::PhotoSize {
                index: 2,
                max: 1000
            },
        ]
    );
    assert_eq!(pointers(&violations), ["/photos/0/size", "/photos/2/size"]);
}

#[test]
fn photos_travel_as_jpeg_only() {
    let mut png = photo(1);
    png.content_type = "image/png".into();
    let violations = manifest::check(&[png], LIMITS);
    assert_eq!(violations, vec![Violation::PhotoContentType { index: 0 }]);
    assert_eq!(pointers(&violations), ["/photos/0/content_type"]);
}

#[test]
fn every_violation_is_reported_in_body_order() {
    let mut bad = photo(1);
    bad.size = 0;
    bad.content_type = "image/png".into();
    let mut photos: Vec<_> = (1..=5).map(photo).collect();
    photos[0] = bad;
    let content = report("parcel_theft", photos);
    let violations = check_shape(&content, ReportId::new(), LIMITS);
    assert_eq!(
        pointers(&violations),
        ["/id", "/photos", "/photos/0/size", "/photos/0/content_type"]
    );
    let error = IntakeError::from(violations);
    assert_eq!(
        error.to_string(),
        "the report breaks intake rules at /id, /photos, /photos/0/size, /photos/0/content_type"
    );
}

#[test]
fn limits_come_from_the_server_configuration() {
    let config = crate::config::ServerConfig {
        max_photos: 2,
        max_photo_bytes: 77,
        ..Default::default()
    };
    assert_eq!(
        ManifestLimits::from(&config),
        ManifestLimits {
            max_photos: 2,
            max_photo_bytes: 77
        }
    );
}
