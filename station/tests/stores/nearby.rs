//! [`NearbyStore`] with the shared rules (`repo::nearby`): through each
//! backend's index, the reports of the same station within 50 m, of the same
//! or a related category, created within 30 days either side, closed ones
//! included, nearest first, with their distance, status and photo count.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use postcso_model::{
    CategoryCode, GeoPoint, LocationSource, ReportContent, ReviewStatus, metres_between,
};
use postcso_station::repo::{
    Actor, DeviceStore, NearbyStore, ReportStore, StationStore, StoredReport, nearby,
};

use crate::{content, deliver, device, now, station};

contract_tests!(
    nearby_lists_close_related_recent_reports_of_the_station_nearest_first,
    a_report_alone_has_no_nearby_reports,
);

/// Yonsei University's main gate, in 서대문구.
const BASE: (f64, f64) = (37.5658, 126.9386);

/// A report `north` and `east` metres from [`BASE`], of `category`, created
/// `days` days after `at`, with `photos` photos.
fn report_at(
    north: f64,
    east: f64,
    category: &str,
    at: DateTime<Utc>,
    days: i64,
    photos: usize,
) -> ReportContent {
    let (mut content, _) = content(photos);
    let per_lat = metres_between(BASE, (BASE.0 + 1.0, BASE.1));
    let per_lon = metres_between(BASE, (BASE.0, BASE.1 + 1.0));
    content.location = GeoPoint::new(
        BASE.0 + north / per_lat,
        BASE.1 + east / per_lon,
        Some(5.0),
        None,
        at,
        LocationSource::Gps,
    )
    .expect("point");
    content.category = CategoryCode::parse(category).expect("category");
    let created = at + Duration::days(days);
    content.created_at = created.with_timezone(&FixedOffset::east_opt(9 * 3600).expect("offset"));
    content
}

async fn nearby_lists_close_related_recent_reports_of_the_station_nearest_first<
    R: StationStore + DeviceStore + ReportStore + NearbyStore + ?Sized,
>(
    repo: &R,
) {
    let seodaemun = station(repo, "seodaemun").await;
    let mapo = station(repo, "mapo").await;
    let (a, _) = device(repo, &seodaemun, "carrier-001").await;
    let (b, _) = device(repo, &seodaemun, "carrier-002").await;
    let (elsewhere, _) = device(repo, &mapo, "carrier-001").await;
    let at = now() - Duration::days(40);
    let home = &seodaemun;
    let put = |device, content| async move { deliver(repo, home, device, content).await };

    let base = put(&a, report_at(0.0, 0.0, "crime_risk", at, 0, 1)).await;
    let fear = put(&b, report_at(10.0, 0.0, "resident_anxiety", at, -29, 2)).await;
    let fixed = put(&a, report_at(0.0, 30.0, "crime_risk", at, 29, 0)).await;
    let light = put(&b, report_at(-34.6, -34.6, "safety_facility", at, 0, 1)).await;
    // Outside the rules: too far, unrelated, too old, too new, another station.
    put(&a, report_at(-50.5, 0.0, "crime_risk", at, 0, 0)).await;
    put(&b, report_at(5.0, 0.0, "traffic_risk", at, 0, 0)).await;
    let old = put(&a, report_at(5.0, 0.0, "crime_risk", at, -31, 0)).await;
    put(&a, report_at(0.0, 5.0, "parcel_theft", at, 31, 0)).await;
    deliver(
        repo,
        &mapo,
        &elsewhere,
        report_at(1.0, 0.0, "crime_risk", at, 0, 0),
    )
    .await;
    repo.set_report_status(
        seodaemun.id,
        fixed.id,
        ReviewStatus::Fixed,
        None,
        None,
        Actor::console(),
        now(),
    )
    .await
    .expect("close")
    .expect("found");

    let found = nearby(repo, &base).await.expect("nearby");
    let listed: Vec<(String, f64, String, String, u32)> = found
        .iter()
        .map(|r| {
            (
                r.id.to_string(),
                r.distance_m,
                r.category.clone(),
                r.status.as_str().to_owned(),
                r.photos,
            )
        })
        .collect();
    let row = |r: &StoredReport, distance: f64, status: &str, photos: u32| {
        (
            r.id.to_string(),
            distance,
            r.content.category.as_str().to_owned(),
            status.to_owned(),
            photos,
        )
    };
    assert_eq!(
        listed,
        vec![
            row(&fear, 10.0, "received", 2),
            row(&fixed, 30.0, "fixed", 0),
            row(&light, 48.9, "received", 1),
        ]
    );
    assert_eq!(
        found[0].created_at,
        crate::micros(fear.content.created_at.with_timezone(&Utc))
    );

    // The window is the report's own: 29 days before the base report, the
    // resident-anxiety one has the 31-day-old crime-risk report 5 m away
    // within its 30 days, and not the one 29 days after the base.
    let around_fear = nearby(repo, &fear).await.expect("nearby");
    let seen: Vec<_> = around_fear.iter().map(|r| (r.id, r.distance_m)).collect();
    assert_eq!(seen, vec![(old.id, 5.0), (base.id, 10.0)]);
}

async fn a_report_alone_has_no_nearby_reports<
    R: StationStore + DeviceStore + ReportStore + NearbyStore + ?Sized,
>(
    repo: &R,
) {
    let seodaemun = station(repo, "seodaemun").await;
    let (a, _) = device(repo, &seodaemun, "carrier-001").await;
    let alone = deliver(
        repo,
        &seodaemun,
        &a,
        report_at(0.0, 0.0, "other", now(), 0, 0),
    )
    .await;
    assert!(nearby(repo, &alone).await.expect("nearby").is_empty());
}
