//! A full disk, for real: the station's data dir, or its blob store, on a
//! small tmpfs filled to the last byte. Uploads get `507 Insufficient
//! Storage` with `Retry-After` (the station is fine, it needs space: not a
//! 503), nothing half-stored is left, the offset stays consistent with the
//! part file, and once space is freed the upload resumes and completes.

mod common;
#[path = "support/process.rs"]
mod process;
#[path = "support/tmpfs.rs"]
mod tmpfs;

use common::{blob_on_disk, header_u64, id_of, photo_bytes, report_with_photos, sha256_hex};
use process::{StationProcess, part_file, photos_missing, setup_station, station_dir};
use tmpfs::Tmpfs;

/// Asserts a 507 with a Retry-After (and, but for HEAD, its problem body).
async fn assert_full(response: reqwest::Response, with_body: bool) {
    assert_eq!(response.status(), 507, "insufficient storage");
    assert!(response.headers().contains_key("retry-after"));
    if !with_body {
        return;
    }
    let body: serde_json::Value = response.json().await.expect("problem");
    assert_eq!(body["type"], "/problems/storage-full");
}

/// A station whose blob store is a tmpfs of `size` bytes, with one device.
struct BlobRig {
    blobs: Tmpfs,
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    station: StationProcess,
    token: String,
}

async fn blob_rig(size: u64) -> BlobRig {
    let blobs = Tmpfs::mount(size);
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let station_dir = station_dir(&data);
    let code = setup_station(&station_dir).await;
    let blob_dir = blobs.path().to_str().expect("path").to_owned();
    let station = StationProcess::start(&station_dir, &["--blob-store", &blob_dir], &[]).await;
    let token = station.enrol(&code).await;
    BlobRig {
        blobs,
        _dir: dir,
        data,
        station,
        token,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_data_dir_refuses_bytes_with_507_keeps_the_offset_and_resumes_when_freed() {
    let disk = Tmpfs::mount(8 * 1024 * 1024);
    let data = disk.path().join("data");
    let dir = station_dir(&data);
    let code = setup_station(&dir).await;
    let station = StationProcess::start(&dir, &[], &[]).await;
    let token = station.enrol(&code).await;
    let photo = photo_bytes(1_000_000, 31);
    let report = report_with_photos(&[&photo]);
    let id = id_of(&report);
    station.put_report(&token, &id, &report).await;
    let path = station.create_upload(&token, &id, &photo).await;
    station
        .patch_accepted(&token, &path, 0, &photo[..200_000])
        .await;

    let filler = disk.fill();
    assert_full(
        station
            .patch(&token, &path, 200_000, &photo[200_000..])
            .await,
        true,
    )
    .await;
    // A body small enough to be one write fails at its fsync instead: same answer.
    assert_full(
        station
            .patch(&token, &path, 200_000, &photo[200_000..210_000])
            .await,
        true,
    )
    .await;
    // The database on the same full disk: a new report is refused with the
    // same retryable 507 (SQLITE_FULL), not stored.
    let second = report_with_photos(&[&photo]);
    let second_id = id_of(&second);
    let refused = station
        .http
        .put(station.url(&format!("/v1/reports/{second_id}")))
        .bearer_auth(&token)
        .json(&second)
        .send()
        .await
        .expect("put");
    assert_full(refused, true).await;
    let fetched = station
        .get(&token, &format!("/v1/reports/{second_id}"))
        .await;
    assert_eq!(
        fetched.status(),
        404,
        "nothing of the refused report is stored"
    );

    // Nothing half-stored: the offset is where it was, the part file holds
    // exactly those bytes, no blob, the photo is still missing.
    let head = station.head(&token, &path).await;
    assert_eq!(head.status(), 200);
    assert_eq!(header_u64(&head, "upload-offset"), 200_000);
    assert_eq!(
        std::fs::read(part_file(&data, &path)).expect("part"),
        &photo[..200_000]
    );
    assert!(blob_on_disk(&data, &sha256_hex(&photo)).is_none());
    assert_eq!(photos_missing(&station.report(&token, &id).await), 1);

    std::fs::remove_file(&filler).expect("free the space");
    station
        .patch_accepted(&token, &path, 200_000, &photo[200_000..])
        .await;
    station.put_report(&token, &second_id, &second).await;
    assert_eq!(photos_missing(&station.report(&token, &id).await), 0);
    station.stop().await;
    assert_eq!(
        blob_on_disk(&data, &sha256_hex(&photo)).expect("blob"),
        photo
    );
    assert!(!part_file(&data, &path).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_blob_store_is_507_at_completion_leaves_no_partial_blob_and_completes_when_freed() {
    let BlobRig {
        blobs,
        _dir,
        data,
        station,
        token,
    } = blob_rig(4 * 1024 * 1024).await;
    let photo = photo_bytes(1_000_000, 32);
    let report = report_with_photos(&[&photo]);
    let id = id_of(&report);
    station.put_report(&token, &id, &report).await;
    let path = station.create_upload(&token, &id, &photo).await;
    station
        .patch_accepted(&token, &path, 0, &photo[..600_000])
        .await;

    let filler = blobs.fill();
    assert_full(
        station
            .patch(&token, &path, 600_000, &photo[600_000..])
            .await,
        true,
    )
    .await;

    // No partial blob (nor its temp file) in the store; the upload's bytes
    // are all kept locally; the photo is still missing.
    assert!(
        blobs.files().is_empty(),
        "left in the blob store: {:?}",
        blobs.files()
    );
    assert_eq!(
        std::fs::read(part_file(&data, &path)).expect("part kept"),
        photo
    );
    assert_eq!(photos_missing(&station.report(&token, &id).await), 1);
    // HEAD retries the completion, and says the store is still full.
    assert_full(station.head(&token, &path).await, false).await;

    std::fs::remove_file(&filler).expect("free the space");
    let head = station.head(&token, &path).await;
    assert_eq!(head.status(), 200);
    assert_eq!(header_u64(&head, "upload-offset"), photo.len() as u64);
    assert_eq!(photos_missing(&station.report(&token, &id).await), 0);
    let sha = sha256_hex(&photo);
    let stored = std::fs::read(blobs.path().join(&sha[..2]).join(&sha)).expect("blob");
    assert_eq!(stored, photo);
    assert!(!part_file(&data, &path).exists());
    station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_photo_meeting_a_full_blob_store_is_507_leaves_nothing_and_goes_through_when_freed()
{
    let BlobRig {
        blobs,
        _dir,
        data,
        station,
        token,
    } = blob_rig(2 * 1024 * 1024).await;
    let photo = photo_bytes(400_000, 33);
    let report = report_with_photos(&[&photo]);
    let id = id_of(&report);
    station.put_report(&token, &id, &report).await;

    let filler = blobs.fill();
    let refused = station.post_whole(&token, &id, &photo).await;
    assert!(
        refused.headers().get("location").is_none(),
        "no upload to resume"
    );
    assert_full(refused, true).await;
    assert!(
        blobs.files().is_empty(),
        "left in the blob store: {:?}",
        blobs.files()
    );
    let parts = std::fs::read_dir(data.join("uploads"))
        .expect("uploads")
        .count();
    assert_eq!(parts, 0, "the whole photo never became a part file");
    assert_eq!(photos_missing(&station.report(&token, &id).await), 1);

    std::fs::remove_file(&filler).expect("free the space");
    let sent = station.post_whole(&token, &id, &photo).await;
    assert_eq!(sent.status(), 201);
    assert_eq!(header_u64(&sent, "upload-offset"), photo.len() as u64);
    assert_eq!(photos_missing(&station.report(&token, &id).await), 0);
    let sha = sha256_hex(&photo);
    let stored = std::fs::read(blobs.path().join(&sha[..2]).join(&sha)).expect("blob");
    assert_eq!(stored, photo);
    station.stop().await;
}
