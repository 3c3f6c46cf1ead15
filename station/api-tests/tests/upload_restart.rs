//! Offsets survive a crash: the real binary takes half a photo, is killed with
//! SIGKILL, restarts, and the upload resumes at the durable offset. On the
//! PostgreSQL run the processes get the test database via
//! `POSTCSO_DATABASE_URL`.

mod common;
#[path = "support/process.rs"]
mod process;

use common::{blob_on_disk, header_u64, id_of, photo_bytes, report_with_photos, sha256_hex};
use postcso_harness::StationDir;
use process::{StationProcess, setup_station, station_dir};

/// A stopped-and-started station needs the same data dir, token and upload.
struct Rig {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    station: StationDir,
    server: StationProcess,
    token: String,
    id: String,
    photo: Vec<u8>,
    path: String,
}

/// A station with one device, one stored report of a 1 MB photo, and an
/// upload of it created (nothing sent yet).
async fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let station = station_dir(&data)
        .with_test_database()
        .await
        .expect("test database");
    let code = setup_station(&station).await;
    let server = StationProcess::start(&station, &[], &[]).await;
    let token = server.enrol(&code).await;
    let photo = photo_bytes(1_000_000, 3);
    let report = report_with_photos(&[&photo]);
    let id = id_of(&report);
    server.put_report(&token, &id, &report).await;
    let path = server.create_upload(&token, &id, &photo).await;
    Rig {
        _dir: dir,
        data,
        station,
        server,
        token,
        id,
        photo,
        path,
    }
}

/// PATCHes `bytes` at `offset` of the upload.
async fn patch(rig: &Rig, offset: usize, bytes: &[u8]) -> reqwest::Response {
    rig.server.patch(&rig.token, &rig.path, offset, bytes).await
}

/// HEADs the upload.
async fn head(rig: &Rig) -> reqwest::Response {
    rig.server.head(&rig.token, &rig.path).await
}

/// SIGKILLs the server: no shutdown, no chance to flush anything more.
async fn kill(server: &mut StationProcess) {
    server.server.kill().await.expect("SIGKILL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_resumes_at_its_durable_offset_after_sigkill() {
    let mut rig = rig().await;
    let photo = rig.photo.clone();
    let half = 500_000;
    assert_eq!(patch(&rig, 0, &photo[..half]).await.status(), 204);
    kill(&mut rig.server).await;

    rig.server = StationProcess::start(&rig.station, &["--max-upload-size", "2000000"], &[]).await;
    let options = rig
        .server
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/uploads", rig.server.base),
        )
        .send()
        .await
        .expect("options");
    assert_eq!(header_u64(&options, "tus-max-size"), 2_000_000);
    let head = head(&rig).await;
    assert_eq!(head.status(), 200);
    assert_eq!(header_u64(&head, "upload-offset"), half as u64);
    let response = patch(&rig, half, &photo[half..]).await;
    assert_eq!(response.status(), 204);
    assert_eq!(header_u64(&response, "upload-offset"), photo.len() as u64);
    let status = rig.server.report(&rig.token, &rig.id).await;
    assert_eq!(status["complete"], true);
    kill(&mut rig.server).await;
    assert_eq!(
        blob_on_disk(&rig.data, &sha256_hex(&photo)).expect("blob"),
        photo
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_progress_checkpoint_only_moves_the_offset_back() {
    // Progress records are committed without their own fsync, so a power cut
    // can lose the last ones while the part file keeps the bytes. Simulate
    // that: 600 KB acknowledged, then the database set back to an older
    // checkpoint (200 KB, no saved hasher state) while the server is down.
    let mut rig = rig().await;
    let photo = rig.photo.clone();
    let response = patch(&rig, 0, &photo[..600_000]).await;
    assert_eq!(response.status(), 204);
    kill(&mut rig.server).await;
    let upload_id = rig.path.trim_start_matches("/v1/uploads/").to_owned();
    let (_, changed) = common::db_sql(
        &rig.data,
        &format!(
            "UPDATE uploads SET upload_offset = 200000, hash_state = NULL WHERE id = '{upload_id}'"
        ),
    )
    .expect("set the checkpoint back");
    assert_eq!(changed, 1);
    rig.server = StationProcess::start(&rig.station, &[], &[]).await;

    // The client, told 600,000 before the crash, is refused and learns 200,000.
    let stale = patch(&rig, 600_000, &photo[600_000..]).await;
    assert_eq!(stale.status(), 409);
    let offset = header_u64(&head(&rig).await, "upload-offset");
    assert_eq!(offset, 200_000, "the older checkpoint is the truth");
    let resumed = patch(&rig, 200_000, &photo[200_000..]).await;
    assert_eq!(resumed.status(), 204);
    assert_eq!(header_u64(&resumed, "upload-offset"), photo.len() as u64);
    kill(&mut rig.server).await;
    assert_eq!(
        blob_on_disk(&rig.data, &sha256_hex(&photo)).expect("blob"),
        photo,
        "the bytes past the checkpoint were cut off and sent again, not doubled"
    );
}
