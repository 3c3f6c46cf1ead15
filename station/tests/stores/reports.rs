//! [`ReportStore`]: a report id is stored once; a retry of the same content by
//! the same device gets the stored report back, anything else under a taken
//! id is a conflict; triage changes a status once, with its audit row and
//! feed entry.

use chrono::Duration;
use postcso_model::{ReportId, ReviewStatus};
use postcso_station::auth::Role;
use postcso_station::repo::{
    AccountStore, Audience, DeviceStore, FeedStore, Placement, PutOutcome, ReportStore,
    StationStore,
};

use crate::{
    acting, audit_of, content, deliver, delivered, device, feed_for, now, placement, report_events,
    station, user,
};

contract_tests!(
    a_report_is_stored_once_and_a_retry_gets_the_same_report,
    a_follow_up_is_listed_under_its_parent_whose_feed_hears_of_it_once,
    a_taken_report_id_is_a_conflict_for_other_content_devices_and_stations,
    triage_changes_a_status_once_with_its_audit_row_and_feed_entry,
);

async fn a_report_is_stored_once_and_a_retry_gets_the_same_report<
    R: StationStore + DeviceStore + ReportStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let (content, hash) = content(2);
    let at = now();
    let PutOutcome::Created(created) = repo
        .put_report(
            mapo.id,
            carrier.id,
            content.clone(),
            hash.clone(),
            placement(),
            at,
        )
        .await
        .expect("put")
    else {
        panic!("the first delivery was not created");
    };
    assert_eq!(created.id, content.id);
    assert_eq!(created.station_id, mapo.id);
    assert_eq!(created.device_id, carrier.id);
    assert_eq!(created.content, content);
    assert_eq!(created.content_hash, hash);
    assert_eq!(created.status, ReviewStatus::Received);
    assert_eq!(created.status_reason, None);
    assert!(!created.complete, "two photos to come");
    assert_eq!(created.received_at, at);
    let manifest: Vec<(u32, bool)> = created
        .photos
        .iter()
        .map(|p| (p.position, p.received))
        .collect();
    assert_eq!(manifest, [(0, false), (1, false)]);
    assert_eq!(
        repo.report(mapo.id, content.id).await.expect("read"),
        Some(created.clone()),
        "what was handed back is what is stored"
    );

    let retry = repo
        .put_report(
            mapo.id,
            carrier.id,
            content.clone(),
            hash,
            Placement::default(),
            at + Duration::minutes(5),
        )
        .await
        .expect("retry");
    assert_eq!(
        retry,
        PutOutcome::Unchanged(created.clone()),
        "received_at and the placement stay the first"
    );
    assert_eq!(created.placement, Some(placement()));

    let without_photos = crate::delivered(repo, &mapo, &carrier, 0).await;
    assert!(without_photos.complete, "nothing to wait for");

    let created_rows = audit_of(repo, &mapo, "report.create").await;
    assert_eq!(
        created_rows.len(),
        2,
        "one per stored report, none for the retry"
    );
    assert_eq!(created_rows[0].target_id, content.id.to_string());
    assert_eq!(created_rows[0].actor_device_id, Some(carrier.id));
    assert_eq!(
        created_rows[0]
            .after
            .as_ref()
            .map(|a| (&a["photos"], &a["status"])),
        Some((&2.into(), &"received".into()))
    );
    let events = report_events(&feed_for(repo, &mapo, Audience::Station).await);
    assert_eq!(
        events,
        [
            ("created".to_owned(), content.id.to_string()),
            ("created".to_owned(), without_photos.id.to_string())
        ]
    );
}

async fn a_follow_up_is_listed_under_its_parent_whose_feed_hears_of_it_once<
    R: StationStore + DeviceStore + ReportStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let parent = delivered(repo, &mapo, &carrier, 1).await;
    let (mut more, _) = content(2);
    more.follow_up_of = Some(parent.id);
    let follow_up = deliver(repo, &mapo, &carrier, more.clone()).await;
    assert_eq!(follow_up.content.follow_up_of, Some(parent.id));

    let retry = repo
        .put_report(
            mapo.id,
            carrier.id,
            more.clone(),
            follow_up.content_hash.clone(),
            placement(),
            now(),
        )
        .await
        .expect("retry");
    assert_eq!(retry, PutOutcome::Unchanged(follow_up.clone()));

    let listed = repo
        .follow_ups(mapo.id, parent.id)
        .await
        .expect("follow-ups");
    assert_eq!(listed.len(), 1, "one follow-up, stored once");
    assert_eq!(listed[0].id, follow_up.id);
    assert_eq!(listed[0].photos, 2);
    assert_eq!(listed[0].received_at, follow_up.received_at);
    assert_eq!(
        listed[0].created_at,
        crate::micros(more.created_at.with_timezone(&chrono::Utc))
    );
    assert!(
        repo.follow_ups(mapo.id, follow_up.id)
            .await
            .expect("none")
            .is_empty()
    );

    let events = report_events(&feed_for(repo, &mapo, Audience::Station).await);
    assert_eq!(
        events,
        [
            ("created".to_owned(), parent.id.to_string()),
            ("created".to_owned(), follow_up.id.to_string()),
            ("follow_up".to_owned(), parent.id.to_string()),
        ],
        "the parent's entry follows the follow-up's own, once"
    );
    let carrier_feed = report_events(&feed_for(repo, &mapo, Audience::Device(carrier.id)).await);
    assert!(
        carrier_feed.iter().all(|(event, _)| event != "follow_up"),
        "the console's entry, not the phone's"
    );
    let rows = audit_of(repo, &mapo, "report.create").await;
    assert_eq!(
        rows[1].after.as_ref().map(|a| a["follow_up_of"].clone()),
        Some(serde_json::json!(parent.id.to_string()))
    );
}

async fn a_taken_report_id_is_a_conflict_for_other_content_devices_and_stations<
    R: StationStore + DeviceStore + ReportStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let dongjak = station(repo, "dongjak").await;
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let (colleague, _) = device(repo, &mapo, "carrier-002").await;
    let (elsewhere, _) = device(repo, &dongjak, "carrier-001").await;
    let stored = delivered(repo, &mapo, &carrier, 1).await;

    let (mut other, _) = content(3);
    other.id = stored.id;
    let other_hash = postcso_model::content_hash(&other);
    let attempts = [
        (mapo.id, carrier.id, other, other_hash),
        (
            mapo.id,
            colleague.id,
            stored.content.clone(),
            stored.content_hash.clone(),
        ),
        (
            dongjak.id,
            elsewhere.id,
            stored.content.clone(),
            stored.content_hash.clone(),
        ),
    ];
    for (station_id, device_id, content, hash) in attempts {
        assert_eq!(
            repo.put_report(station_id, device_id, content, hash, placement(), now())
                .await
                .expect("put"),
            PutOutcome::Conflict
        );
    }
    assert_eq!(
        repo.report(mapo.id, stored.id).await.expect("read"),
        Some(stored.clone()),
        "the stored report is untouched"
    );
    assert_eq!(
        repo.report(dongjak.id, stored.id).await.expect("read"),
        None
    );
    assert_eq!(
        repo.report(mapo.id, ReportId::new()).await.expect("read"),
        None
    );
    assert_eq!(audit_of(repo, &mapo, "report.create").await.len(), 1);
    assert!(audit_of(repo, &dongjak, "report.create").await.is_empty());
    assert_eq!(
        report_events(&feed_for(repo, &mapo, Audience::Station).await).len(),
        1
    );
}

async fn triage_changes_a_status_once_with_its_audit_row_and_feed_entry<
    R: StationStore + AccountStore + DeviceStore + ReportStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let dongjak = station(repo, "dongjak").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let report = delivered(repo, &mapo, &carrier, 0).await;
    let reason = Some("Not on a public road".to_owned());

    let change = repo
        .set_report_status(
            mapo.id,
            report.id,
            ReviewStatus::Rejected,
            reason.clone(),
            None,
            acting(&kim),
            now(),
        )
        .await
        .expect("triage")
        .expect("found");
    assert!(change.changed);
    assert_eq!(change.before, ReviewStatus::Received);
    assert_eq!(change.report.status, ReviewStatus::Rejected);
    assert_eq!(change.report.status_reason, reason);
    assert_eq!(
        repo.report(mapo.id, report.id).await.expect("read"),
        Some(change.report.clone())
    );

    let same = repo
        .set_report_status(
            mapo.id,
            report.id,
            ReviewStatus::Rejected,
            reason.clone(),
            None,
            acting(&kim),
            now(),
        )
        .await
        .expect("same again")
        .expect("found");
    assert!(!same.changed, "the same status and reason change nothing");
    assert_eq!(same.report, change.report);

    let reworded = repo
        .set_report_status(
            mapo.id,
            report.id,
            ReviewStatus::Rejected,
            None,
            None,
            acting(&kim),
            now(),
        )
        .await
        .expect("reason dropped")
        .expect("found");
    assert!(reworded.changed, "a different reason is a change");

    let rows = audit_of(repo, &mapo, "report.status").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].actor_user_id, Some(kim.id));
    assert_eq!(
        rows[0].before.as_ref().map(|b| &b["status"]),
        Some(&"received".into())
    );
    assert_eq!(
        rows[0].after.as_ref().map(|a| (&a["status"], &a["reason"])),
        Some((&"rejected".into(), &"Not on a public road".into()))
    );
    let status_events = |events: Vec<(String, String)>| {
        events
            .into_iter()
            .filter(|(event, _)| event == "status")
            .count()
    };
    assert_eq!(
        status_events(report_events(
            &feed_for(repo, &mapo, Audience::Station).await
        )),
        2
    );
    assert_eq!(
        status_events(report_events(
            &feed_for(repo, &mapo, Audience::Device(carrier.id)).await
        )),
        2,
        "the filing carrier hears of its report's status"
    );

    for (station_id, id) in [(dongjak.id, report.id), (mapo.id, ReportId::new())] {
        assert_eq!(
            repo.set_report_status(
                station_id,
                id,
                ReviewStatus::Accepted,
                None,
                None,
                acting(&kim),
                now()
            )
            .await
            .expect("triage"),
            None
        );
    }
}
