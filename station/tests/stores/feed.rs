//! [`FeedStore`]: the changes feed is numbered per station from 1 without
//! gaps, the audit log in increasing numbers (per station on PostgreSQL,
//! across stations on SQLite), both in the order of the changes and paged by
//! the last number seen; the feed is cut per audience: phones see the lists and their own reports'
//! status and completeness, supervisors every report event and the
//! categories, other staff the categories only.

use postcso_model::{CategoryCode, CategoryInfo, ReviewStatus};
use postcso_station::auth::Role;
use postcso_station::repo::{
    AccountStore, Actor, Audience, CategoryStore, Change, ChangeBody, DeviceStore, FeedStore,
    NewZone, ReportStore, StationStore, ZoneStore,
};

use crate::{acting, audit, delivered, device, feed_for, now, station, user};

contract_tests!(
    the_feed_is_numbered_in_order_and_cut_per_audience,
    the_audit_log_is_numbered_in_order_and_pages_by_cursor,
);

/// What an entry is about, in short: `categories`, `zone`, or the report event.
fn kind(change: &Change) -> String {
    match &change.body {
        ChangeBody::Categories(_) => "categories".to_owned(),
        ChangeBody::Zones(_) => "zones".to_owned(),
        ChangeBody::Zone(_) => "zone".to_owned(),
        ChangeBody::Report { event, .. } => event.as_str().to_owned(),
    }
}

fn seqs(changes: &[Change]) -> Vec<u64> {
    changes.iter().map(|c| c.seq).collect()
}

async fn the_feed_is_numbered_in_order_and_cut_per_audience<
    R: StationStore
        + CategoryStore
        + DeviceStore
        + ReportStore
        + ZoneStore
        + FeedStore
        + AccountStore
        + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let dongjak = station(repo, "dongjak").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let (a, _) = device(repo, &mapo, "carrier-001").await;
    let (b, _) = device(repo, &mapo, "carrier-002").await;
    let from_a = delivered(repo, &mapo, &a, 0).await;
    delivered(repo, &mapo, &b, 0).await;
    let decided_at = now();
    repo.set_report_status(
        mapo.id,
        from_a.id,
        ReviewStatus::Accepted,
        None,
        None,
        acting(&kim),
        decided_at,
    )
    .await
    .expect("triage");
    let route = NewZone {
        code: "r12".to_owned(),
        name: "Route 12".to_owned(),
        area: None,
        devices: vec![a.id],
        ..NewZone::default()
    };
    repo.add_zone(mapo.id, route, Actor::console(), now())
        .await
        .expect("zone");
    let dumping = CategoryInfo {
        code: CategoryCode::parse("illegal_dumping").expect("code"),
        name_ko: "무단 투기".to_owned(),
        name_en: "Illegal dumping".to_owned(),
        guidance: "Photograph the pile.".to_owned(),
        retired: false,
    };
    repo.add_category(mapo.id, dumping, Actor::console(), now())
        .await
        .expect("category");

    let station_view = feed_for(repo, &mapo, Audience::Station).await;
    assert_eq!(
        station_view.iter().map(kind).collect::<Vec<_>>(),
        ["categories", "created", "created", "status", "categories"]
    );
    assert_eq!(
        seqs(&station_view),
        [1, 2, 3, 4, 6],
        "numbered in order; 5 is the zone list"
    );
    assert_eq!(station_view[3].at, decided_at);
    let ChangeBody::Report {
        report_id,
        device_id,
        status,
        complete,
        photos_missing,
        ..
    } = &station_view[3].body
    else {
        panic!("not a report entry");
    };
    assert_eq!((*report_id, *device_id), (from_a.id, a.id));
    assert_eq!(
        (status, *complete, *photos_missing),
        (&ReviewStatus::Accepted, true, 0)
    );

    let phone_view = feed_for(repo, &mapo, Audience::Device(a.id)).await;
    assert_eq!(
        phone_view.iter().map(kind).collect::<Vec<_>>(),
        ["categories", "status", "zone", "categories"]
    );
    assert_eq!(
        seqs(&phone_view),
        [1, 4, 5, 6],
        "not the other phone's report, nor creations"
    );
    let other_phone = feed_for(repo, &mapo, Audience::Device(b.id)).await;
    assert_eq!(seqs(&other_phone), [1, 5, 6]);
    assert_eq!(
        seqs(&feed_for(repo, &mapo, Audience::CategoriesOnly).await),
        [1, 6]
    );

    let page = repo
        .changes(mapo.id, Audience::Station, 2, 2)
        .await
        .expect("page");
    assert_eq!(seqs(&page), [3, 4], "after the cursor, at most the limit");
    let first = repo
        .changes(mapo.id, Audience::Station, 0, 1)
        .await
        .expect("page");
    assert_eq!(seqs(&first), [1]);
    assert!(
        repo.changes(mapo.id, Audience::Station, 6, 10)
            .await
            .expect("page")
            .is_empty()
    );

    assert_eq!(
        seqs(&feed_for(repo, &dongjak, Audience::Station).await),
        [1],
        "each station counts on its own"
    );
}

async fn the_audit_log_is_numbered_in_order_and_pages_by_cursor<
    R: StationStore + AccountStore + DeviceStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let dongjak = station(repo, "dongjak").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let signed_in_at = now();
    repo.create_session("s-1", &kim, signed_in_at + chrono::Duration::hours(1))
        .await
        .expect("session");
    device(repo, &mapo, "carrier-001").await;
    let lee = user(repo, &dongjak, "lee", Role::Admin).await;

    let rows = audit(repo, &mapo).await;
    let actions: Vec<&str> = rows.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.add",
            "session.create",
            "enrolment_code.create",
            "enrolment_code.redeem"
        ]
    );
    let numbers: Vec<u64> = rows.iter().map(|e| e.seq).collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "in order: {numbers:?}"
    );
    assert!(rows[1].at >= signed_in_at, "written when the session was");
    assert_eq!(
        (
            rows[1].actor_role.as_str(),
            rows[1].actor_username.as_deref()
        ),
        ("supervisor", Some("kim"))
    );

    let page = repo
        .audit_entries(mapo.id, numbers[0], 2)
        .await
        .expect("page");
    assert_eq!(page, rows[1..3], "after the cursor, at most the limit");
    let last = numbers[3];
    assert!(
        repo.audit_entries(mapo.id, last, 10)
            .await
            .expect("page")
            .is_empty()
    );

    let elsewhere = audit(repo, &dongjak).await;
    assert_eq!(elsewhere.len(), 1, "each station reads only its own rows");
    assert_eq!(elsewhere[0].action, "user.add");
    assert_eq!(elsewhere[0].target_id, lee.id.to_string());
}
