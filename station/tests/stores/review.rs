//! [`ReviewStore`]: the queue filters by status, category, zone, district,
//! age, text and overdue, within one station, pages without overlap in
//! either order; a report's history is its audit rows, oldest first.

use chrono::Duration;
use postcso_model::{ReportContent, ReviewStatus, content_hash};
use postcso_station::auth::Role;
use postcso_station::repo::review::OverdueRule;
use postcso_station::repo::{
    AccountStore, Device, DeviceStore, FeedStore, NoteStore, PutOutcome, QueueFilter, QueueOrder,
    QueueQuery, ReportStore, ReviewStore, Station, StationStore, StoredReport,
};

use crate::{acting, content, delivered, device, now, station, user};

contract_tests!(
    the_queue_filters_within_the_station,
    the_queue_pages_in_both_orders_without_overlap,
    a_reports_history_is_its_audit_rows_in_order,
);

/// A report with the given note, zones and district (as the phone sealed
/// them and the station placed them; a district other than `seodaemun` is
/// outside the jurisdiction), received `ago` before now.
async fn filed<R: ReportStore + ?Sized>(
    repo: &R,
    station: &Station,
    device: &Device,
    note: &str,
    zones: &[&str],
    district: Option<&str>,
    ago: Duration,
) -> StoredReport {
    let (mut c, _) = content(1);
    c.note = postcso_model::Note::parse(note).expect("note");
    c.zones = zones.iter().map(|z| (*z).to_owned()).collect();
    c.district = district.map(str::to_owned);
    let c: ReportContent = c;
    let hash = content_hash(&c);
    match repo
        .put_report(
            station.id,
            device.id,
            c,
            hash,
            crate::Placement {
                district: district.map(|d| crate::PlacedDistrict {
                    code: d.to_owned(),
                    name: format!("{d}-gu"),
                }),
                zones: zones.iter().map(|z| (*z).to_owned()).collect(),
                outside_jurisdiction: district.is_some_and(|d| d != "seodaemun"),
                boundary_distance_m: None,
            },
            now() - ago,
        )
        .await
        .expect("put")
    {
        PutOutcome::Created(r) => r,
        other => panic!("not created: {other:?}"),
    }
}

fn query(filter: QueueFilter) -> QueueQuery {
    QueueQuery {
        filter,
        limit: 50,
        ..QueueQuery::default()
    }
}

async fn ids<R: ReviewStore + ?Sized>(
    repo: &R,
    station: &Station,
    filter: QueueFilter,
) -> Vec<String> {
    let page = repo
        .review_queue(station.id, &query(filter))
        .await
        .expect("queue");
    assert_eq!(page.total as usize, page.rows.len(), "one page holds all");
    let mut ids: Vec<String> = page.rows.iter().map(|r| r.id.to_string()).collect();
    ids.sort();
    ids
}

fn sorted(reports: &[&StoredReport]) -> Vec<String> {
    let mut ids: Vec<String> = reports.iter().map(|r| r.id.to_string()).collect();
    ids.sort();
    ids
}

async fn the_queue_filters_within_the_station<
    R: StationStore + AccountStore + DeviceStore + ReportStore + ReviewStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let dongjak = station(repo, "dongjak").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let (a, _) = device(repo, &mapo, "carrier-001").await;
    let (b, _) = device(repo, &mapo, "carrier-002").await;
    let (other, _) = device(repo, &dongjak, "carrier-001").await;
    let lamp = filed(
        repo,
        &mapo,
        &a,
        "가로등 고장",
        &["route-1"],
        Some("seodaemun"),
        Duration::hours(1),
    )
    .await;
    let old = filed(
        repo,
        &mapo,
        &a,
        "Dark ALLEY 50%",
        &["route-2"],
        Some("mapo"),
        Duration::days(3),
    )
    .await;
    let older = filed(
        repo,
        &mapo,
        &b,
        "택배 분실",
        &["route-1", "school"],
        None,
        Duration::days(10),
    )
    .await;
    let _elsewhere = filed(
        repo,
        &dongjak,
        &other,
        "가로등 고장",
        &["route-1"],
        None,
        Duration::hours(1),
    )
    .await;
    repo.set_report_status(
        mapo.id,
        older.id,
        ReviewStatus::Accepted,
        None,
        None,
        acting(&kim),
        now(),
    )
    .await
    .expect("accept")
    .expect("found");

    assert_eq!(
        ids(repo, &mapo, QueueFilter::default()).await,
        sorted(&[&lamp, &old, &older])
    );
    let received = QueueFilter {
        statuses: vec![ReviewStatus::Received],
        ..QueueFilter::default()
    };
    assert_eq!(ids(repo, &mapo, received).await, sorted(&[&lamp, &old]));
    let two = QueueFilter {
        statuses: vec![ReviewStatus::Received, ReviewStatus::Accepted],
        ..QueueFilter::default()
    };
    assert_eq!(ids(repo, &mapo, two).await.len(), 3);
    let category = QueueFilter {
        category: Some("safety_facility".into()),
        ..QueueFilter::default()
    };
    assert_eq!(ids(repo, &mapo, category).await.len(), 3);
    let no_category = QueueFilter {
        category: Some("parcel_theft".into()),
        ..QueueFilter::default()
    };
    assert!(ids(repo, &mapo, no_category).await.is_empty());
    let zone = QueueFilter {
        zone: Some("route-1".into()),
        ..QueueFilter::default()
    };
    assert_eq!(ids(repo, &mapo, zone).await, sorted(&[&lamp, &older]));
    let district = QueueFilter {
        district: Some("seodaemun".into()),
        ..QueueFilter::default()
    };
    assert_eq!(ids(repo, &mapo, district).await, sorted(&[&lamp]));
    let across = QueueFilter {
        district: Some("mapo".into()),
        ..QueueFilter::default()
    };
    assert_eq!(ids(repo, &mapo, across).await, sorted(&[&old]));
    let page = repo
        .review_queue(mapo.id, &query(QueueFilter::default()))
        .await
        .expect("queue");
    let flagged: Vec<_> = page
        .rows
        .iter()
        .filter(|r| r.outside_jurisdiction)
        .map(|r| (r.id, r.district_name.clone()))
        .collect();
    assert_eq!(flagged, [(old.id, Some("mapo-gu".to_owned()))]);
    let younger_than_2_days = QueueFilter {
        received_since: Some(now() - Duration::days(2)),
        ..QueueFilter::default()
    };
    assert_eq!(
        ids(repo, &mapo, younger_than_2_days).await,
        sorted(&[&lamp])
    );
    let older_than_2_days = QueueFilter {
        received_before: Some(now() - Duration::days(2)),
        ..QueueFilter::default()
    };
    assert_eq!(
        ids(repo, &mapo, older_than_2_days).await,
        sorted(&[&old, &older])
    );
    for (text, expected) in [
        ("가로등", vec![&lamp]),
        ("alley", vec![&old]),
        ("50%", vec![&old]),
        ("%", vec![&old]),
        ("carrier-002", vec![&older]),
        ("없는 말", vec![]),
    ] {
        let filter = QueueFilter {
            text: Some(text.into()),
            ..QueueFilter::default()
        };
        assert_eq!(
            ids(repo, &mapo, filter).await,
            sorted(&expected),
            "text {text}"
        );
    }
    let id_prefix = QueueFilter {
        text: Some(lamp.id.to_string()[..13].to_uppercase()),
        ..QueueFilter::default()
    };
    assert_eq!(
        ids(repo, &mapo, id_prefix).await,
        sorted(&[&lamp]),
        "id prefix"
    );
    let rule = OverdueRule {
        untriaged_after: Duration::days(2),
        unresolved_after: Duration::days(7),
    };
    let overdue = QueueFilter {
        overdue: Some((rule, now())),
        ..QueueFilter::default()
    };
    assert_eq!(
        ids(repo, &mapo, overdue).await,
        sorted(&[&old, &older]),
        "untriaged after 2 days, and accepted but open after 7"
    );

    let page = repo
        .review_queue(mapo.id, &query(QueueFilter::default()))
        .await
        .expect("queue");
    let row = page.rows.iter().find(|r| r.id == older.id).expect("row");
    assert_eq!(row.device_label, "carrier-002");
    assert_eq!(row.status, ReviewStatus::Accepted);
    assert_eq!(
        (row.photos, row.photos_missing, row.first_photo),
        (1, 1, None)
    );
    assert_eq!(row.version, 2);
    assert_eq!(row.content.zones, ["route-1", "school"]);
    assert!(!row.outside_jurisdiction);
}

async fn the_queue_pages_in_both_orders_without_overlap<
    R: StationStore + DeviceStore + ReportStore + ReviewStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let (a, _) = device(repo, &mapo, "carrier-001").await;
    let mut filed_ids = Vec::new();
    for _ in 0..7 {
        filed_ids.push(delivered(repo, &mapo, &a, 0).await.id.to_string());
    }
    for order in [QueueOrder::Newest, QueueOrder::Oldest] {
        let mut seen = Vec::new();
        for page in 0..3 {
            let q = QueueQuery {
                order,
                offset: page * 3,
                limit: 3,
                ..QueueQuery::default()
            };
            let got = repo.review_queue(mapo.id, &q).await.expect("page");
            assert_eq!(got.total, 7);
            assert_eq!(got.rows.len(), if page < 2 { 3 } else { 1 });
            seen.extend(got.rows.iter().map(|r| (r.received_at, r.id.to_string())));
        }
        let mut in_order = seen.clone();
        in_order.sort();
        if order == QueueOrder::Newest {
            in_order.reverse();
        }
        assert_eq!(seen, in_order, "{order:?}");
        let mut all: Vec<String> = seen.into_iter().map(|(_, id)| id).collect();
        all.sort();
        let mut expected = filed_ids.clone();
        expected.sort();
        assert_eq!(all, expected, "every report once");
    }
}

async fn a_reports_history_is_its_audit_rows_in_order<
    R: StationStore
        + AccountStore
        + DeviceStore
        + ReportStore
        + ReviewStore
        + NoteStore
        + FeedStore
        + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let dongjak = station(repo, "dongjak").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let (a, _) = device(repo, &mapo, "carrier-001").await;
    let report = delivered(repo, &mapo, &a, 0).await;
    let unrelated = delivered(repo, &mapo, &a, 0).await;
    repo.set_report_status(
        mapo.id,
        report.id,
        ReviewStatus::Rejected,
        Some("사진 없음".into()),
        None,
        acting(&kim),
        now(),
    )
    .await
    .expect("reject")
    .expect("found");
    repo.add_note(mapo.id, report.id, &kim, "현장 확인 필요".into(), now())
        .await
        .expect("note");
    let history = repo
        .report_history(mapo.id, report.id)
        .await
        .expect("history");
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["report.create", "report.status", "report.note"]);
    assert!(history.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(history[1].actor_username.as_deref(), Some("kim"));
    assert!(
        !history[2]
            .after
            .as_ref()
            .expect("after")
            .to_string()
            .contains("현장"),
        "the audit row never holds the note's text"
    );
    assert_eq!(
        repo.report_history(mapo.id, unrelated.id)
            .await
            .expect("other")
            .len(),
        1
    );
    assert!(
        repo.report_history(dongjak.id, report.id)
            .await
            .expect("foreign")
            .is_empty(),
        "another station sees none of it"
    );
}
