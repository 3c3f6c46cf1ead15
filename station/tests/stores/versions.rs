//! Report versions: every change of a report moves its version (a decision,
//! a photo's arrival), nothing else does, and a decision made on a version
//! that is no longer current is refused with nothing written.

use chrono::Duration;
use postcso_model::ReviewStatus;
use postcso_station::auth::Role;
use postcso_station::repo::{
    AccountStore, DeviceStore, FeedStore, NewUpload, RepoError, ReportStore, StationStore,
    UploadStore,
};

use crate::{acting, audit_of, delivered, device, now, station, user};

contract_tests!(
    every_change_moves_the_version_and_reads_do_not,
    a_stale_decision_is_refused_and_writes_nothing,
);

async fn every_change_moves_the_version_and_reads_do_not<
    R: StationStore + AccountStore + DeviceStore + ReportStore + UploadStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let report = delivered(repo, &mapo, &carrier, 1).await;
    assert_eq!(report.version, 1, "a new report");
    let (station_id, id) = (mapo.id, report.id);
    let read = || async move {
        repo.report(station_id, id)
            .await
            .expect("read")
            .expect("stored")
    };
    assert_eq!(read().await.version, 1, "reads change nothing");

    let upload = NewUpload {
        id: "whole".into(),
        station_id: mapo.id,
        device_id: carrier.id,
        report_id: report.id,
        sha256: report.photos[0].sha256.clone(),
        length: report.photos[0].size,
        created_at: now(),
        expires_at: now() + Duration::hours(1),
    };
    repo.create_completed_upload(upload, now(), now() + Duration::hours(24))
        .await
        .expect("photo");
    let with_photo = read().await;
    assert!(with_photo.complete);
    assert!(with_photo.version > 1, "a photo's arrival is a change");

    let change = repo
        .set_report_status(
            mapo.id,
            report.id,
            ReviewStatus::Accepted,
            None,
            Some(with_photo.version),
            acting(&kim),
            now(),
        )
        .await
        .expect("decide")
        .expect("found");
    assert!(change.changed);
    assert_eq!(change.report.version, with_photo.version + 1);
    assert_eq!(read().await.version, with_photo.version + 1);

    let same = repo
        .set_report_status(
            mapo.id,
            report.id,
            ReviewStatus::Accepted,
            None,
            Some(with_photo.version + 1),
            acting(&kim),
            now(),
        )
        .await
        .expect("same again")
        .expect("found");
    assert!(!same.changed);
    assert_eq!(
        read().await.version,
        with_photo.version + 1,
        "a no-op changes nothing"
    );
}

async fn a_stale_decision_is_refused_and_writes_nothing<
    R: StationStore + AccountStore + DeviceStore + ReportStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let lee = user(repo, &mapo, "lee", Role::Supervisor).await;
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let report = delivered(repo, &mapo, &carrier, 0).await;
    // Both read version 1; kim decides first.
    repo.set_report_status(
        mapo.id,
        report.id,
        ReviewStatus::Accepted,
        None,
        Some(1),
        acting(&kim),
        now(),
    )
    .await
    .expect("kim")
    .expect("found");
    let lee_late = repo
        .set_report_status(
            mapo.id,
            report.id,
            ReviewStatus::Rejected,
            Some("중복 신고".into()),
            Some(1),
            acting(&lee),
            now(),
        )
        .await;
    assert_eq!(lee_late, Err(RepoError::Stale { current: 2 }));
    let stored = repo
        .report(mapo.id, report.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        stored.status,
        ReviewStatus::Accepted,
        "kim's decision stands"
    );
    assert_eq!(stored.version, 2);
    assert_eq!(
        audit_of(repo, &mapo, "report.status").await.len(),
        1,
        "no audit row for the refused decision"
    );
    // Even a decision equal to the current state is refused when stale: the
    // decider did not see what it decides on.
    let same_but_stale = repo
        .set_report_status(
            mapo.id,
            report.id,
            ReviewStatus::Accepted,
            None,
            Some(1),
            acting(&lee),
            now(),
        )
        .await;
    assert_eq!(same_but_stale, Err(RepoError::Stale { current: 2 }));
    // A client that names no version is not checked (API compatibility).
    let unchecked = repo
        .set_report_status(
            mapo.id,
            report.id,
            ReviewStatus::Rejected,
            Some("중복 신고".into()),
            None,
            acting(&lee),
            now(),
        )
        .await
        .expect("unchecked")
        .expect("found");
    assert!(unchecked.changed);
    assert_eq!(unchecked.report.version, 3);
}
