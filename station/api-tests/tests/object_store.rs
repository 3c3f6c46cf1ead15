//! Photo blobs in S3-compatible object storage: the real station binary with
//! `--blob-store s3://photos/seoul` against a real S3 server (s3s-fs) on
//! loopback. Uploads land in the bucket byte-identical (single PUT and
//! multipart), are served with thumbnails, survive the store going down at
//! completion (503, bytes kept, completes once it is back), a client that
//! hangs up mid-upload leaves nothing in the bucket until the upload is done,
//! and SIGTERM during an upload lets it finish into the bucket first. A
//! whole photo in one POST goes straight to the bucket (503 and nothing kept
//! while the store is down, and `/readyz` says so).

mod common;
#[path = "support/process.rs"]
mod process;
#[path = "support/s3.rs"]
mod s3;

use common::{fixture_photo, header_u64, id_of, photo_bytes, report_with_photos, sha256_hex};
use process::{StationProcess, part_file, photos_missing, setup_station, station_dir};
use s3::{S3Server, blob_key};

const BUCKET: &str = "photos";
const PREFIX: &str = "seoul";

/// A station process over a fresh data dir, storing blobs in `s3`.
struct Rig {
    station: StationProcess,
    token: String,
    data: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn start_rig(s3: &S3Server) -> Rig {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let station_dir = station_dir(&data);
    let code = setup_station(&station_dir).await;
    let args = s3.station_args(BUCKET, PREFIX);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let station = StationProcess::start(&station_dir, &args, &S3Server::env()).await;
    let token = station.enrol(&code).await;
    Rig {
        station,
        token,
        data,
        _dir: dir,
    }
}

/// The photo's object in the bucket, if stored.
fn in_bucket(s3: &S3Server, photo: &[u8]) -> Option<Vec<u8>> {
    s3.object(BUCKET, &blob_key(PREFIX, &sha256_hex(photo)))
}

/// Nothing of a photo in the data dir: no local blob, no part file left.
fn no_local_copies(data: &std::path::Path) {
    let blobs = data.join("blobs");
    assert!(
        !blobs.exists() || std::fs::read_dir(&blobs).expect("blobs").count() == 0,
        "with object storage nothing goes to DATA_DIR/blobs"
    );
    let parts = std::fs::read_dir(data.join("uploads"))
        .expect("uploads")
        .count();
    assert_eq!(parts, 0, "finished uploads leave no part files");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_land_in_the_bucket_byte_identical_and_are_served_with_thumbnails() {
    let s3 = S3Server::start(&[BUCKET]).await;
    let rig = start_rig(&s3).await;
    let small = fixture_photo("npm-exif-0.6.0/evil1.jpg");
    // Over the 8 MiB multipart threshold: goes up in parts.
    let big = photo_bytes(9 * 1024 * 1024 + 12_345, 21);
    let report = report_with_photos(&[&small, &big]);
    let id = id_of(&report);
    rig.station.put_report(&rig.token, &id, &report).await;
    rig.station.upload(&rig.token, &id, &small, 40_000).await;
    rig.station
        .upload(&rig.token, &id, &big, 4 * 1024 * 1024)
        .await;

    for photo in [&small, &big] {
        let stored = in_bucket(&s3, photo).expect("the object is in the bucket");
        assert_eq!(sha256_hex(&stored), sha256_hex(photo), "byte-identical");
    }
    assert_eq!(
        s3.files_under(BUCKET, PREFIX).len(),
        2,
        "exactly the two objects under the prefix"
    );
    let big_etag = s3.etag(BUCKET, &blob_key(PREFIX, &sha256_hex(&big))).await;
    assert!(
        big_etag.trim_matches('"').ends_with("-2"),
        "the big photo went up as a 2-part multipart upload: {big_etag}"
    );
    let small_etag = s3
        .etag(BUCKET, &blob_key(PREFIX, &sha256_hex(&small)))
        .await;
    assert!(
        !small_etag.contains('-'),
        "the small one in one PUT: {small_etag}"
    );
    assert!(
        s3.pending_parts().is_empty(),
        "no multipart upload left open"
    );
    assert_eq!(
        photos_missing(&rig.station.report(&rig.token, &id).await),
        0
    );
    no_local_copies(&rig.data);

    let supervisor = rig.station.supervisor().await;
    for (n, photo) in [&small, &big].into_iter().enumerate() {
        let response = rig
            .station
            .get(&supervisor, &format!("/v1/reports/{id}/photos/{n}"))
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(header_u64(&response, "content-length"), photo.len() as u64);
        let served = response.bytes().await.expect("bytes");
        assert_eq!(sha256_hex(&served), sha256_hex(photo), "photo {n} served");
    }
    let thumb = rig
        .station
        .get(
            &supervisor,
            &format!("/v1/reports/{id}/photos/0?size=thumb"),
        )
        .await;
    assert_eq!(thumb.status(), 200);
    let image = image::load_from_memory(&thumb.bytes().await.expect("thumb")).expect("decodes");
    assert_eq!((image.width(), image.height()), (320, 240));

    // A second station process with its own data dir shares the bucket: the
    // same photo is stored once, and both serve it.
    let other = start_rig(&s3).await;
    let report = report_with_photos(&[&small]);
    let other_id = id_of(&report);
    other
        .station
        .put_report(&other.token, &other_id, &report)
        .await;
    other
        .station
        .upload(&other.token, &other_id, &small, 100_000)
        .await;
    assert_eq!(s3.files_under(BUCKET, PREFIX).len(), 2, "deduplicated");
    let served = other
        .station
        .get(&other.token, &format!("/v1/reports/{other_id}/photos/0"))
        .await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.expect("bytes").as_ref(), small);
    rig.station.stop().await;
    other.station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_down_at_completion_is_503_keeps_the_bytes_and_completes_when_back() {
    let mut s3 = S3Server::start(&[BUCKET]).await;
    let rig = start_rig(&s3).await;
    let photo = photo_bytes(700_000, 22);
    let report = report_with_photos(&[&photo]);
    let id = id_of(&report);
    rig.station.put_report(&rig.token, &id, &report).await;
    let path = rig.station.create_upload(&rig.token, &id, &photo).await;
    rig.station
        .patch_accepted(&rig.token, &path, 0, &photo[..500_000])
        .await;

    s3.stop().await;
    let last = rig
        .station
        .patch(&rig.token, &path, 500_000, &photo[500_000..])
        .await;
    assert_eq!(last.status(), 503, "object storage down: retry later");
    assert!(
        last.headers().contains_key("retry-after"),
        "503 says when to retry"
    );
    let body: serde_json::Value = last.json().await.expect("problem");
    assert_eq!(body["type"], "/problems/unavailable");

    // Nothing half-stored: no object, the report still misses its photo, and
    // every byte the phone sent is kept in the part file.
    assert!(s3.files_under(BUCKET, PREFIX).is_empty());
    assert_eq!(
        photos_missing(&rig.station.report(&rig.token, &id).await),
        1
    );
    assert_eq!(
        std::fs::read(part_file(&rig.data, &path)).expect("part file kept"),
        photo
    );
    // While the store is down, HEAD says so too rather than claiming success.
    let head = rig.station.head(&rig.token, &path).await;
    assert_eq!(head.status(), 503);
    assert!(head.headers().contains_key("retry-after"));
    // A retry of the last piece meets the same 503: the kept bytes wait.
    let again = rig
        .station
        .patch(&rig.token, &path, 500_000, &photo[500_000..])
        .await;
    assert_eq!(
        again.status(),
        503,
        "the kept upload is still waiting for the store"
    );

    s3.restart().await;
    let head = rig.station.head(&rig.token, &path).await;
    assert_eq!(head.status(), 200, "completed once the store is back");
    assert_eq!(header_u64(&head, "upload-offset"), photo.len() as u64);
    assert_eq!(
        photos_missing(&rig.station.report(&rig.token, &id).await),
        0
    );
    assert_eq!(in_bucket(&s3, &photo).expect("stored"), photo);
    no_local_copies(&rig.data);
    rig.station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_mid_upload_leaves_nothing_in_the_bucket_and_can_resume() {
    let s3 = S3Server::start(&[BUCKET]).await;
    let rig = start_rig(&s3).await;
    let photo = photo_bytes(300_000, 23);
    let report = report_with_photos(&[&photo]);
    let id = id_of(&report);
    rig.station.put_report(&rig.token, &id, &report).await;
    let path = rig.station.create_upload(&rig.token, &id, &photo).await;

    // Announce the whole photo, send 180,000 bytes, hang up.
    rig.station
        .hang_up_mid_patch(&rig.token, &path, 0, photo.len(), &photo[..180_000])
        .await;
    rig.station
        .wait_for_offset(&rig.token, &path, 180_000)
        .await;
    assert_eq!(
        std::fs::read(part_file(&rig.data, &path)).expect("part"),
        &photo[..180_000],
        "the offset HEAD reports is exactly the bytes kept"
    );
    assert!(
        s3.files_under(BUCKET, PREFIX).is_empty(),
        "nothing half-stored"
    );
    assert_eq!(
        photos_missing(&rig.station.report(&rig.token, &id).await),
        1
    );

    // Send every remaining byte, then hang up before the answer: the server
    // still finishes the upload.
    rig.station
        .hang_up_mid_patch(
            &rig.token,
            &path,
            180_000,
            photo.len() - 180_000,
            &photo[180_000..],
        )
        .await;
    rig.station
        .wait_for_offset(&rig.token, &path, photo.len() as u64)
        .await;
    assert_eq!(in_bucket(&s3, &photo).expect("stored"), photo);
    assert_eq!(
        photos_missing(&rig.station.report(&rig.token, &id).await),
        0
    );
    no_local_copies(&rig.data);
    rig.station.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_an_upload_lets_it_finish_into_the_bucket_before_exiting() {
    let s3 = S3Server::start(&[BUCKET]).await;
    let rig = start_rig(&s3).await;
    let photo = photo_bytes(20 * 1024 * 1024, 24);
    let report = report_with_photos(&[&photo]);
    let id = id_of(&report);
    rig.station.put_report(&rig.token, &id, &report).await;
    let path = rig.station.create_upload(&rig.token, &id, &photo).await;

    // The whole photo in one PATCH; SIGTERM while it is in flight.
    let request = rig
        .station
        .http
        .patch(rig.station.url(&path))
        .bearer_auth(&rig.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(photo.clone());
    let in_flight = tokio::spawn(async move { request.send().await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !in_flight.is_finished(),
        "the PATCH must still be in flight when SIGTERM arrives, or this test shows nothing"
    );
    rig.station.server.terminate().expect("SIGTERM");

    let response = in_flight
        .await
        .expect("task")
        .expect("the request is answered");
    assert_eq!(response.status(), 204, "the request in flight finishes");
    assert_eq!(header_u64(&response, "upload-offset"), photo.len() as u64);
    let mut station = rig.station;
    let exit = station.server.wait().await.expect("wait");
    assert!(exit.success(), "graceful exit: {exit:?}");
    let stored = in_bucket(&s3, &photo).expect("stored before exit");
    assert_eq!(sha256_hex(&stored), sha256_hex(&photo));
    assert!(
        s3.pending_parts().is_empty(),
        "no multipart upload left open"
    );
    no_local_copies(&rig.data);
}

#[test]
fn a_bad_blob_store_is_refused_at_startup_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("dir");
    let out = std::process::Command::new(process::station_binary())
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0", "--blob-store", "gs://bucket/x"])
        .env_remove("POSTCSO_BLOB_STORE")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unsupported blob store"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_photo_in_one_post_goes_straight_to_the_bucket_or_is_refused_with_503() {
    let mut s3 = S3Server::start(&[BUCKET]).await;
    let rig = start_rig(&s3).await;
    let photo = photo_bytes(300_000, 23);
    let report = report_with_photos(&[&photo]);
    let id = id_of(&report);
    rig.station.put_report(&rig.token, &id, &report).await;

    let ready = rig.station.get(&rig.token, "/readyz").await;
    assert_eq!(ready.status(), 200, "ready while the store answers");
    s3.stop().await;
    let ready = rig.station.get(&rig.token, "/readyz").await;
    assert_eq!(
        ready.status(),
        503,
        "not ready while photos cannot be stored"
    );
    let refused = rig.station.post_whole(&rig.token, &id, &photo).await;
    assert_eq!(refused.status(), 503, "object storage down: retry later");
    assert!(refused.headers().contains_key("retry-after"));
    assert!(
        refused.headers().get("location").is_none(),
        "no upload to resume"
    );
    assert_eq!(
        photos_missing(&rig.station.report(&rig.token, &id).await),
        1
    );

    s3.restart().await;
    let ready = rig.station.get(&rig.token, "/readyz").await;
    assert_eq!(ready.status(), 200, "ready again once the store is back");
    let sent = rig.station.post_whole(&rig.token, &id, &photo).await;
    assert_eq!(sent.status(), 201);
    assert_eq!(header_u64(&sent, "upload-offset"), photo.len() as u64);
    assert_eq!(
        photos_missing(&rig.station.report(&rig.token, &id).await),
        0
    );
    assert_eq!(in_bucket(&s3, &photo).expect("stored"), photo);
    no_local_copies(&rig.data);
    rig.station.stop().await;
}
