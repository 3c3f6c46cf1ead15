//! [`UploadStore`]: an upload records its progress until it completes, once;
//! completion marks the photo received and, with the last one, the report
//! complete, with its audit row and feed entry; expired uploads are removed,
//! finished ones only after their keep time.

use chrono::{DateTime, Duration, Utc};
use postcso_station::repo::{
    Audience, DeviceStore, FeedStore, NewUpload, RepoError, ReportStore, StationStore,
    StoredReport, UploadCompletion, UploadStore,
};

use crate::{audit_of, delivered, device, feed_for, now, report_events, station};

contract_tests!(
    an_upload_records_progress_until_it_completes_once,
    the_last_photo_completes_the_report_and_a_photo_counts_once,
    a_whole_upload_is_stored_completed_in_one_call,
    expired_uploads_are_removed_and_finished_ones_kept_until_their_keep_time,
);

/// An upload of photo `photo` of `report`, expiring `expires_in` from now.
fn new_upload(report: &StoredReport, photo: usize, id: &str, expires_in: Duration) -> NewUpload {
    NewUpload {
        id: id.to_owned(),
        station_id: report.station_id,
        device_id: report.device_id,
        report_id: report.id,
        sha256: report.photos[photo].sha256.clone(),
        length: report.photos[photo].size,
        created_at: now(),
        expires_at: now() + expires_in,
    }
}

async fn an_upload_records_progress_until_it_completes_once<
    R: StationStore + DeviceStore + ReportStore + UploadStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let dongjak = station(repo, "dongjak").await;
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let report = delivered(repo, &mapo, &carrier, 2).await;
    let new = new_upload(&report, 0, "upload-1", Duration::hours(1));
    let created = repo.create_upload(new.clone()).await.expect("create");
    assert_eq!(
        (
            created.offset,
            created.hash_state.clone(),
            created.completed_at
        ),
        (0, None, None)
    );
    assert_eq!(created.expires_at, new.expires_at);
    assert_eq!(created.length, report.photos[0].size);
    assert_eq!(
        repo.upload(mapo.id, "upload-1").await.expect("read"),
        Some(created.clone())
    );
    assert_eq!(
        repo.upload(dongjak.id, "upload-1").await.expect("read"),
        None
    );

    repo.record_upload_progress(mapo.id, "upload-1", 65_536, Some(vec![7; 16]))
        .await
        .expect("progress");
    let moved = repo
        .upload(mapo.id, "upload-1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        (moved.offset, moved.hash_state),
        (65_536, Some(vec![7; 16]))
    );
    for (station_id, id) in [(mapo.id, "no-such-upload"), (dongjak.id, "upload-1")] {
        assert!(matches!(
            repo.record_upload_progress(station_id, id, 1, None).await,
            Err(RepoError::NotFound("upload"))
        ));
    }

    let at = now();
    let keep_until = at + Duration::hours(24);
    let done = repo
        .complete_upload(mapo.id, "upload-1", at, keep_until)
        .await
        .expect("complete");
    assert_eq!(
        done,
        UploadCompletion {
            newly_received: true,
            report_complete: false
        }
    );
    let finished = repo
        .upload(mapo.id, "upload-1")
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(finished.completed_at, Some(at));
    assert_eq!(finished.offset, finished.length, "every byte is there");
    assert_eq!(finished.hash_state, None);
    assert_eq!(
        finished.expires_at, keep_until,
        "answerable until its keep time"
    );

    let again = repo
        .complete_upload(mapo.id, "upload-1", now(), keep_until)
        .await
        .expect("complete again");
    assert_eq!(
        again,
        UploadCompletion {
            newly_received: false,
            report_complete: false
        }
    );
    assert!(
        matches!(
            repo.record_upload_progress(mapo.id, "upload-1", 1, None)
                .await,
            Err(RepoError::NotFound("upload"))
        ),
        "a finished upload takes no more progress"
    );
    assert!(matches!(
        repo.complete_upload(mapo.id, "no-such-upload", now(), keep_until)
            .await,
        Err(RepoError::NotFound("upload"))
    ));
    let photos: Vec<bool> = repo
        .report(mapo.id, report.id)
        .await
        .expect("read")
        .expect("found")
        .photos
        .iter()
        .map(|p| p.received)
        .collect();
    assert_eq!(photos, [true, false]);
}

async fn the_last_photo_completes_the_report_and_a_photo_counts_once<
    R: StationStore + DeviceStore + ReportStore + UploadStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let report = delivered(repo, &mapo, &carrier, 2).await;
    let keep = now() + Duration::hours(24);
    for (id, photo) in [("first", 0), ("same-photo-again", 0), ("second", 1)] {
        repo.create_upload(new_upload(&report, photo, id, Duration::hours(1)))
            .await
            .expect("create");
    }
    let complete = |id: &'static str| repo.complete_upload(mapo.id, id, now(), keep);
    assert_eq!(
        complete("first").await.expect("first"),
        UploadCompletion {
            newly_received: true,
            report_complete: false
        }
    );
    assert_eq!(
        complete("same-photo-again").await.expect("duplicate"),
        UploadCompletion {
            newly_received: false,
            report_complete: false
        },
        "the photo had already arrived"
    );
    assert_eq!(
        complete("second").await.expect("second"),
        UploadCompletion {
            newly_received: true,
            report_complete: true
        }
    );
    let stored = repo
        .report(mapo.id, report.id)
        .await
        .expect("read")
        .expect("found");
    assert!(stored.complete);
    assert!(stored.photos.iter().all(|p| p.received));

    let received = audit_of(repo, &mapo, "report.photo_received").await;
    assert_eq!(received.len(), 2, "one per photo, none for the duplicate");
    assert_eq!(received[1].actor_device_id, Some(carrier.id));
    assert_eq!(
        received[1]
            .after
            .as_ref()
            .map(|a| (&a["complete"], &a["upload_id"])),
        Some((&true.into(), &"second".into()))
    );
    let id = report.id.to_string();
    assert_eq!(
        report_events(&feed_for(repo, &mapo, Audience::Station).await),
        [
            ("created".to_owned(), id.clone()),
            ("photo".to_owned(), id.clone()),
            ("complete".to_owned(), id.clone())
        ]
    );
    assert_eq!(
        report_events(&feed_for(repo, &mapo, Audience::Device(carrier.id)).await),
        [("complete".to_owned(), id)],
        "the carrier hears only that its report is complete"
    );
}

async fn a_whole_upload_is_stored_completed_in_one_call<
    R: StationStore + DeviceStore + ReportStore + UploadStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let report = delivered(repo, &mapo, &carrier, 1).await;
    let at = now();
    let (upload, done) = repo
        .create_completed_upload(
            new_upload(&report, 0, "whole", Duration::hours(1)),
            at,
            at + Duration::hours(24),
        )
        .await
        .expect("create completed");
    assert_eq!(
        done,
        UploadCompletion {
            newly_received: true,
            report_complete: true
        }
    );
    assert_eq!(upload.completed_at, Some(at));
    assert_eq!(upload.offset, upload.length);
    assert_eq!(
        repo.upload(mapo.id, "whole").await.expect("read"),
        Some(upload)
    );
    assert!(
        repo.report(mapo.id, report.id)
            .await
            .expect("read")
            .expect("found")
            .complete
    );
    assert_eq!(
        audit_of(repo, &mapo, "report.photo_received").await.len(),
        1
    );

    let duplicate = new_upload(&report, 0, "whole", Duration::hours(1));
    assert!(
        repo.create_completed_upload(duplicate, now(), now())
            .await
            .is_err(),
        "an upload id is stored once"
    );
    assert_eq!(
        audit_of(repo, &mapo, "report.photo_received").await.len(),
        1
    );
}

async fn expired_uploads_are_removed_and_finished_ones_kept_until_their_keep_time<
    R: StationStore + DeviceStore + ReportStore + UploadStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let report = delivered(repo, &mapo, &carrier, 3).await;
    let start = now();
    for (id, photo, expires_in) in [
        ("lapsed", 0, Duration::seconds(-1)),
        ("open", 1, Duration::hours(1)),
        ("finished", 2, Duration::minutes(10)),
    ] {
        repo.create_upload(new_upload(&report, photo, id, expires_in))
            .await
            .expect("create");
    }
    repo.complete_upload(mapo.id, "finished", start, start + Duration::hours(2))
        .await
        .expect("complete");
    let mut ids: Vec<String> = repo
        .all_uploads()
        .await
        .expect("all")
        .into_iter()
        .map(|u| u.id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["finished", "lapsed", "open"]);

    let removed_at = |at: DateTime<Utc>| repo.remove_expired_uploads(at);
    assert_eq!(removed_at(start).await.expect("sweep"), ["lapsed"]);
    assert_eq!(
        removed_at(start).await.expect("sweep again"),
        Vec::<String>::new()
    );
    assert_eq!(
        removed_at(start + Duration::minutes(90))
            .await
            .expect("sweep"),
        ["open"]
    );
    assert!(
        repo.upload(mapo.id, "finished")
            .await
            .expect("read")
            .is_some(),
        "kept past its unfinished expiry"
    );
    assert_eq!(
        removed_at(start + Duration::hours(3)).await.expect("sweep"),
        ["finished"]
    );
    assert!(repo.all_uploads().await.expect("all").is_empty());

    repo.create_upload(new_upload(&report, 0, "terminated", Duration::hours(1)))
        .await
        .expect("create");
    assert!(
        repo.delete_upload(mapo.id, "terminated")
            .await
            .expect("delete")
    );
    assert!(
        !repo
            .delete_upload(mapo.id, "terminated")
            .await
            .expect("delete again")
    );
    assert_eq!(
        repo.upload(mapo.id, "terminated").await.expect("read"),
        None
    );
}
