//! [`ExportStore`]: an export holds every report of the station that the
//! queue's filter matches, oldest first, with where the station placed it and
//! the filing device's label, at most the limit; recording an export leaves
//! one `report.export` audit row with the filter and count, nothing of the
//! reports themselves.

use chrono::Duration;
use postcso_model::{CategoryCode, Note, ReviewStatus, content_hash};
use postcso_station::auth::Role;
use postcso_station::repo::{
    AccountStore, Actor, DeviceStore, ExportRecord, ExportStore, FeedStore, PutOutcome,
    QueueFilter, ReportStore, StationStore,
};
use serde_json::json;

use crate::{acting, content, device, now, placement, station, user};

contract_tests!(an_export_follows_the_filter_and_is_audited_without_contents);

async fn an_export_follows_the_filter_and_is_audited_without_contents<
    R: StationStore + AccountStore + DeviceStore + ReportStore + ExportStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let other = station(repo, "dongjak").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let (one, _) = device(repo, &mapo, "carrier-001").await;
    let (theirs, _) = device(repo, &other, "carrier-001").await;
    let mut ids = Vec::new();
    for (i, (category, note)) in [
        ("crime_risk", "골목이 어둡습니다"),
        ("parcel_theft", "택배 분실, \"현관\" 앞"),
        ("crime_risk", "=HYPERLINK(\"x\")"),
    ]
    .into_iter()
    .enumerate()
    {
        let (mut c, _) = content(i);
        c.category = CategoryCode::parse(category).expect("category");
        c.note = Note::parse(note).expect("note");
        let hash = content_hash(&c);
        let received = now() - Duration::hours(10 - i as i64);
        match repo
            .put_report(mapo.id, one.id, c, hash, placement(), received)
            .await
            .expect("put")
        {
            PutOutcome::Created(r) => ids.push(r.id),
            other => panic!("not created: {other:?}"),
        }
    }
    let (c, hash) = content(0);
    repo.put_report(other.id, theirs.id, c, hash, placement(), now())
        .await
        .expect("put elsewhere");
    repo.set_report_status(
        mapo.id,
        ids[0],
        ReviewStatus::Accepted,
        None,
        None,
        acting(&kim),
        now(),
    )
    .await
    .expect("accept")
    .expect("found");

    let all = repo
        .export_reports(mapo.id, &QueueFilter::default(), 100)
        .await
        .expect("export");
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        ids,
        "oldest first, this station only"
    );
    let first = &all[0];
    assert_eq!(first.status, ReviewStatus::Accepted);
    assert_eq!(first.device_label, "carrier-001");
    assert_eq!(
        first.content.note.as_ref().map(Note::as_str),
        Some("골목이 어둡습니다")
    );
    let placed = first.placement.as_ref().expect("placed");
    assert_eq!(placed.zones, ["district-11410"]);
    assert_eq!(
        placed.district.as_ref().map(|d| d.name.as_str()),
        Some("서대문구")
    );
    assert_eq!(all[2].content.photos.len(), 2);

    let crime = QueueFilter {
        category: Some("crime_risk".into()),
        ..QueueFilter::default()
    };
    let only = repo
        .export_reports(mapo.id, &crime, 100)
        .await
        .expect("export");
    assert_eq!(
        only.iter().map(|r| r.id).collect::<Vec<_>>(),
        [ids[0], ids[2]]
    );
    let received = QueueFilter {
        statuses: vec![ReviewStatus::Received],
        text: Some("택배".into()),
        ..QueueFilter::default()
    };
    let only = repo
        .export_reports(mapo.id, &received, 100)
        .await
        .expect("export");
    assert_eq!(only.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[1]]);
    let cut = repo
        .export_reports(mapo.id, &QueueFilter::default(), 2)
        .await
        .expect("export");
    assert_eq!(cut.len(), 2, "at most the limit");

    let record = ExportRecord {
        format: "csv",
        filter: json!({"category": "crime_risk", "text": false}),
        count: 2,
        notes: false,
        labels: true,
    };
    repo.record_export(mapo.id, Actor::user(&kim), &record, now())
        .await
        .expect("record");
    let audit = repo.audit_entries(mapo.id, 0, 1000).await.expect("audit");
    let rows: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "report.export")
        .collect();
    assert_eq!(rows.len(), 1);
    let row = rows[0];
    assert_eq!(row.actor_username.as_deref(), Some("kim"));
    assert_eq!(row.target_kind, "station");
    assert_eq!(row.target_id, mapo.id.to_string());
    assert_eq!(
        row.after,
        Some(json!({
            "format": "csv",
            "filter": {"category": "crime_risk", "text": false},
            "count": 2,
            "notes": false,
            "device_labels": true
        }))
    );
    let elsewhere = repo.audit_entries(other.id, 0, 1000).await.expect("audit");
    assert!(elsewhere.iter().all(|e| e.action != "report.export"));
}
