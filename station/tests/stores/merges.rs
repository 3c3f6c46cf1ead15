//! [`MergeStore`] with the shared rules (`repo::merges`): a duplicate folded
//! into the report being handled becomes `merged`, points at it, carries its
//! carrier's message through the feed, is audited on both reports, and its
//! photos show on the kept report (through chains of merges too) while the
//! kept report itself does not change; refusals write nothing.

use chrono::Duration;
use postcso_model::ReviewStatus;
use postcso_station::auth::Role;
use postcso_station::repo::{
    AccountStore, Audience, ChangeBody, DeviceStore, FeedStore, MergeOutcome, MergeRefusal,
    MergeStore, NewUpload, ReportStore, StationStore, StoredReport, UploadStore,
};

use crate::{acting, audit_of, delivered, device, feed_for, now, station, user};

contract_tests!(
    a_duplicate_is_merged_into_the_kept_report_in_one_step,
    merges_that_break_the_rules_are_refused_and_write_nothing,
    related_photos_follow_chains_and_leave_with_an_unmerge,
);

const MESSAGE: &str = "이미 처리 중인 신고에 병합되었습니다.";

async fn photo_arrives<R: UploadStore + ?Sized>(repo: &R, report: &StoredReport, position: usize) {
    let photo = &report.photos[position];
    let upload = NewUpload {
        id: format!("up-{}-{position}", report.id),
        station_id: report.station_id,
        device_id: report.device_id,
        report_id: report.id,
        sha256: photo.sha256.clone(),
        length: photo.size,
        created_at: now(),
        expires_at: now() + Duration::hours(1),
    };
    repo.create_completed_upload(upload, now(), now() + Duration::hours(24))
        .await
        .expect("photo");
}

fn merged(outcome: MergeOutcome) -> postcso_station::repo::StatusChange {
    match outcome {
        MergeOutcome::Merged(change) => *change,
        MergeOutcome::Refused(why) => panic!("refused: {why:?}"),
    }
}

async fn a_duplicate_is_merged_into_the_kept_report_in_one_step<
    R: StationStore
        + AccountStore
        + DeviceStore
        + ReportStore
        + UploadStore
        + FeedStore
        + MergeStore
        + ?Sized,
>(
    repo: &R,
) {
    let home = station(repo, "seodaemun").await;
    let kim = user(repo, &home, "kim", Role::Supervisor).await;
    let (first, _) = device(repo, &home, "carrier-001").await;
    let (second, _) = device(repo, &home, "carrier-002").await;
    let kept = delivered(repo, &home, &first, 1).await;
    let dup = delivered(repo, &home, &second, 2).await;
    photo_arrives(repo, &dup, 1).await;
    let dup = repo
        .report(home.id, dup.id)
        .await
        .expect("read")
        .expect("dup");
    let kept_before = repo
        .report(home.id, kept.id)
        .await
        .expect("read")
        .expect("kept");

    let change = merged(
        repo.merge_report(
            home.id,
            dup.id,
            kept.id,
            MESSAGE.into(),
            Some(dup.version),
            acting(&kim),
            now(),
        )
        .await
        .expect("merge"),
    );
    assert!(change.changed);
    assert_eq!(change.before, ReviewStatus::Received);
    assert_eq!(change.report.status, ReviewStatus::Merged);
    assert_eq!(change.report.merged_into, Some(kept.id));
    assert_eq!(change.report.status_reason.as_deref(), Some(MESSAGE));
    assert_eq!(change.report.version, dup.version + 1);
    let stored = repo
        .report(home.id, dup.id)
        .await
        .expect("read")
        .expect("dup");
    assert_eq!(stored, change.report);
    // The kept report is untouched: content, status, version.
    let kept_after = repo
        .report(home.id, kept.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(kept_after, kept_before);
    // Its page gains the duplicate's photos, in order, with arrival state.
    let related = repo
        .related_photos(home.id, kept.id)
        .await
        .expect("related");
    let seen: Vec<(String, u32, bool)> = related
        .iter()
        .map(|r| (r.from.to_string(), r.photo.position, r.photo.received))
        .collect();
    assert_eq!(
        seen,
        vec![
            (dup.id.to_string(), 0, false),
            (dup.id.to_string(), 1, true)
        ]
    );
    assert!(
        repo.related_photos(home.id, dup.id)
            .await
            .expect("none")
            .is_empty()
    );

    // Audited on both reports.
    let merge_rows = audit_of(repo, &home, "report.merge").await;
    assert_eq!(merge_rows.len(), 1);
    assert_eq!(merge_rows[0].target_id, dup.id.to_string());
    assert_eq!(merge_rows[0].actor_username.as_deref(), Some("kim"));
    assert_eq!(
        merge_rows[0].after.as_ref().expect("after")["merged_into"],
        kept.id.to_string()
    );
    assert_eq!(
        merge_rows[0].before.as_ref().expect("before")["status"],
        "received"
    );
    let merged_in = audit_of(repo, &home, "report.merged_in").await;
    assert_eq!(merged_in.len(), 1);
    assert_eq!(merged_in[0].target_id, kept.id.to_string());
    assert_eq!(
        merged_in[0].after.as_ref().expect("after")["merged"],
        dup.id.to_string()
    );

    // The duplicate's carrier hears of it with the message; the other carrier does not.
    let heard: Vec<(ReviewStatus, Option<String>)> =
        feed_for(repo, &home, Audience::Device(second.id))
            .await
            .into_iter()
            .filter_map(|c| match c.body {
                ChangeBody::Report {
                    report_id,
                    status,
                    reason,
                    ..
                } if report_id == dup.id => Some((status, reason)),
                _ => None,
            })
            .collect();
    assert_eq!(
        heard.last(),
        Some(&(ReviewStatus::Merged, Some(MESSAGE.to_owned())))
    );
    let other = feed_for(repo, &home, Audience::Device(first.id)).await;
    assert!(!other.iter().any(|c| matches!(
        &c.body,
        ChangeBody::Report {
            status: ReviewStatus::Merged,
            ..
        }
    )));

    // The same merge again (no version named) changes nothing.
    let again = merged(
        repo.merge_report(
            home.id,
            dup.id,
            kept.id,
            MESSAGE.into(),
            None,
            acting(&kim),
            now(),
        )
        .await
        .expect("again"),
    );
    assert!(!again.changed);
    assert_eq!(again.report.version, change.report.version);
    assert_eq!(audit_of(repo, &home, "report.merge").await.len(), 1);
}

async fn merges_that_break_the_rules_are_refused_and_write_nothing<
    R: StationStore + AccountStore + DeviceStore + ReportStore + FeedStore + MergeStore + ?Sized,
>(
    repo: &R,
) {
    let home = station(repo, "seodaemun").await;
    let mapo = station(repo, "mapo").await;
    let kim = user(repo, &home, "kim", Role::Supervisor).await;
    let (carrier, _) = device(repo, &home, "carrier-001").await;
    let (elsewhere, _) = device(repo, &mapo, "carrier-001").await;
    let a = delivered(repo, &home, &carrier, 0).await;
    let b = delivered(repo, &home, &carrier, 0).await;
    let c = delivered(repo, &home, &carrier, 0).await;
    let theirs = delivered(repo, &mapo, &elsewhere, 0).await;
    let attempt = |id, into, seen| {
        let actor = acting(&kim);
        async move {
            match repo
                .merge_report(home.id, id, into, MESSAGE.into(), seen, actor, now())
                .await
                .expect("merge call")
            {
                MergeOutcome::Refused(why) => Err(why),
                MergeOutcome::Merged(change) => Ok(*change),
            }
        }
    };
    assert_eq!(
        attempt(a.id, a.id, None).await,
        Err(MergeRefusal::IntoItself)
    );
    assert_eq!(
        attempt(a.id, theirs.id, None).await,
        Err(MergeRefusal::TargetUnknown),
        "another station's report is not one to merge into"
    );
    assert_eq!(
        attempt(theirs.id, a.id, None).await,
        Err(MergeRefusal::NotFound),
        "nor one to merge"
    );
    assert_eq!(
        attempt(a.id, b.id, Some(a.version + 1)).await,
        Err(MergeRefusal::Stale { current: a.version })
    );
    assert!(audit_of(repo, &home, "report.merge").await.is_empty());
    let untouched = repo.report(home.id, a.id).await.expect("read").expect("a");
    assert_eq!(untouched.status, ReviewStatus::Received);
    assert_eq!(untouched.version, a.version);

    attempt(b.id, a.id, Some(b.version))
        .await
        .expect("b into a");
    match attempt(c.id, b.id, None).await {
        Err(MergeRefusal::TargetMerged(next)) => assert_eq!(next, a.id, "says where b went"),
        other => panic!("merged into a merged report: {other:?}"),
    }
    assert_eq!(
        attempt(b.id, c.id, None).await,
        Err(MergeRefusal::AlreadyMerged(a.id))
    );
    assert_eq!(audit_of(repo, &home, "report.merge").await.len(), 1);
    assert_eq!(
        repo.report(home.id, c.id)
            .await
            .expect("read")
            .expect("c")
            .status,
        ReviewStatus::Received
    );
}

async fn related_photos_follow_chains_and_leave_with_an_unmerge<
    R: StationStore + AccountStore + DeviceStore + ReportStore + MergeStore + ?Sized,
>(
    repo: &R,
) {
    let home = station(repo, "seodaemun").await;
    let kim = user(repo, &home, "kim", Role::Supervisor).await;
    let (carrier, _) = device(repo, &home, "carrier-001").await;
    let a = delivered(repo, &home, &carrier, 1).await;
    let b = delivered(repo, &home, &carrier, 1).await;
    let c = delivered(repo, &home, &carrier, 1).await;
    let merge = |id, into| {
        let actor = acting(&kim);
        async move {
            merged(
                repo.merge_report(home.id, id, into, MESSAGE.into(), None, actor, now())
                    .await
                    .expect("merge"),
            )
        }
    };
    merge(a.id, b.id).await;
    // b, which holds a, goes into c: c shows both.
    merge(b.id, c.id).await;
    let from = |list: Vec<postcso_station::repo::RelatedPhoto>| {
        let mut ids: Vec<String> = list.into_iter().map(|r| r.from.to_string()).collect();
        ids.sort();
        ids
    };
    let mut both = vec![a.id.to_string(), b.id.to_string()];
    both.sort();
    assert_eq!(
        from(repo.related_photos(home.id, c.id).await.expect("c")),
        both
    );
    // A later decision takes b out of its merge: c keeps nothing of b's line,
    // and b shows a's photos again.
    let back = repo
        .set_report_status(
            home.id,
            b.id,
            ReviewStatus::Accepted,
            None,
            None,
            acting(&kim),
            now(),
        )
        .await
        .expect("decide")
        .expect("found");
    assert_eq!(back.report.merged_into, None);
    assert!(
        repo.related_photos(home.id, c.id)
            .await
            .expect("c")
            .is_empty()
    );
    assert_eq!(
        from(repo.related_photos(home.id, b.id).await.expect("b")),
        vec![a.id.to_string()]
    );
}
