//! tus 1.0.0 uploads at /v1/uploads: every status code path, creation with
//! upload, checksums, expiry, termination, manifest checks, and a client that
//! hangs up half-way through a PATCH.

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{
    TestServer, Tus, blob_on_disk, header_u64, id_of, location, part_file, photo_bytes, problem,
    report_with_photos, sha256_hex, test_config, upload_metadata,
};
use postcso_station::auth::Role;
use postcso_station::repo::Station;
use serde_json::Value;
use sha2::Digest;

/// A server, a station, a device, and a stored report listing `photos`.
async fn setup(server: &TestServer, photos: &[&[u8]]) -> (String, String) {
    let station = server.station("seodaemun").await;
    setup_at(server, &station, photos).await
}

/// A new device at `station` and a stored report of it listing `photos`.
async fn setup_at(server: &TestServer, station: &Station, photos: &[&[u8]]) -> (String, String) {
    let token = server.device(station).await;
    let report = report_with_photos(photos);
    let id = id_of(&report);
    assert_eq!(server.put_report(&token, &id, &report).await.status(), 201);
    (token, id)
}

/// [`setup`] for one photo, plus the device's tus client and a created upload
/// of the photo: the client, the report id and the upload's path.
async fn started_upload<'a>(server: &'a TestServer, photo: &[u8]) -> (Tus<'a>, String, String) {
    let (token, id) = setup(server, &[photo]).await;
    let tus = Tus::new(server, token);
    let path = tus.create_for(&id, photo).await;
    (tus, id, path)
}

/// Asserts that the data dir holds `photo` as a blob, byte for byte.
fn assert_blob(dir: &std::path::Path, photo: &[u8]) {
    assert_eq!(blob_on_disk(dir, &sha256_hex(photo)).expect("blob"), photo);
}

/// Sends a PATCH by hand that announces `announced` body bytes at `offset`,
/// sends only `sent`, waits a moment, and hangs up.
async fn hang_up_mid_patch(
    tus: &Tus<'_>,
    path: &str,
    offset: usize,
    checksum: Option<String>,
    announced: usize,
    sent: &[u8],
) {
    use tokio::io::AsyncWriteExt;
    let addr = tus.server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let token = &tus.token;
    let checksum = checksum
        .map(|c| format!("Upload-Checksum: {c}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n{checksum}\
         Content-Type: application/offset+octet-stream\r\nContent-Length: {announced}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(sent).await.expect("part of the body");
    stream.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(stream);
}

#[tokio::test]
async fn options_advertises_version_extensions_checksums_and_max_size_without_auth() {
    let server = TestServer::start().await;
    let response = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/v1/uploads"))
        .send()
        .await
        .expect("options");
    assert_eq!(response.status(), 204);
    let h = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(h("tus-version"), "1.0.0");
    assert_eq!(h("tus-resumable"), "1.0.0");
    let extensions: Vec<String> = h("tus-extension").split(',').map(str::to_owned).collect();
    for ext in [
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    ] {
        assert!(extensions.iter().any(|e| e == ext), "{ext}");
    }
    assert_eq!(h("tus-checksum-algorithm"), "sha1,sha256");
    assert_eq!(h("tus-max-size"), (25 * 1024 * 1024).to_string());
    server.stop().await;
}

#[tokio::test]
async fn requests_without_or_with_another_tus_resumable_get_412_with_tus_version() {
    let server = TestServer::start().await;
    let photo = photo_bytes(1000, 1);
    let (tus, _, path) = started_upload(&server, &photo).await;
    for version in [None, Some("0.2.2")] {
        for method in ["POST", "HEAD", "PATCH", "DELETE"] {
            let url = if method == "POST" {
                server.url("/v1/uploads")
            } else {
                server.url(&path)
            };
            let mut request = server
                .http
                .request(method.parse().expect("method"), url)
                .bearer_auth(&tus.token)
                .header("Upload-Offset", "0")
                .header("Upload-Length", "1000")
                .header("Content-Type", "application/offset+octet-stream");
            if let Some(v) = version {
                request = request.header("Tus-Resumable", v);
            }
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), 412, "{method} {version:?}");
            assert_eq!(
                response.headers().get("tus-version").expect("Tus-Version"),
                "1.0.0"
            );
        }
    }
    // Nothing moved.
    assert_eq!(header_u64(&tus.head(&path).await, "upload-offset"), 0);
    server.stop().await;
}

#[tokio::test]
async fn a_photo_uploaded_in_pieces_arrives_identical_and_completes_the_report() {
    let server = TestServer::start().await;
    let first = photo_bytes(300_000, 1);
    let second = photo_bytes(120_001, 2);
    let (token, id) = setup(&server, &[&first, &second]).await;
    let tus = Tus::new(&server, token.clone());

    let path = tus.create_for(&id, &first).await;
    assert!(path.starts_with("/v1/uploads/"));
    let head = tus.head(&path).await;
    assert_eq!(head.status(), 200);
    assert_eq!(header_u64(&head, "upload-offset"), 0);
    assert_eq!(header_u64(&head, "upload-length"), 300_000);
    assert!(head.headers().get("upload-expires").is_some());
    assert_eq!(head.headers().get("cache-control").expect("cc"), "no-store");
    let meta = head
        .headers()
        .get("upload-metadata")
        .and_then(|v| v.to_str().ok())
        .expect("metadata echoed");
    assert_eq!(meta, upload_metadata(&id, &sha256_hex(&first)));

    let response = tus.patch_accepted(&path, 0, &first[..100_000]).await;
    assert_eq!(header_u64(&response, "upload-offset"), 100_000);
    assert!(response.headers().get("upload-expires").is_some());
    let response = tus.patch_accepted(&path, 100_000, &first[100_000..]).await;
    assert_eq!(header_u64(&response, "upload-offset"), 300_000);

    // One of two photos: not complete yet.
    let status = server.report_json(&token, &id).await;
    assert_eq!(status["complete"], false);
    assert_eq!(status["photos_missing"], 1);

    tus.upload(&id, &second, 50_000).await;
    let status = server.report_json(&token, &id).await;
    assert_eq!(status["complete"], true);
    assert_eq!(status["photos_missing"], 0);

    // A finished upload keeps answering HEAD with offset == length.
    let head = tus.head(&path).await;
    assert_eq!(head.status(), 200);
    assert_eq!(header_u64(&head, "upload-offset"), 300_000);
    assert_eq!(header_u64(&head, "upload-length"), 300_000);
    // An empty PATCH at the end is harmless; a wrong offset is not.
    tus.patch_accepted(&path, 300_000, &[]).await;
    assert_eq!(tus.patch(&path, 0, b"x", None).await.status(), 409);

    let dir = server.stop_keeping_dir().await;
    assert_blob(dir.path(), &first);
    assert_blob(dir.path(), &second);
    assert!(!part_file(dir.path(), &path).exists(), "part file moved");
}

#[tokio::test]
async fn creation_with_upload_takes_the_whole_photo_in_the_post() {
    let server = TestServer::start().await;
    let photo = photo_bytes(70_000, 3);
    let (token, id) = setup(&server, &[&photo]).await;
    let sha1 = format!("sha1 {}", STANDARD.encode(sha1::Sha1::digest(&photo)));
    let response = Tus::new(&server, token.clone())
        .create_with_upload(&id, &photo, &photo, Some(sha1))
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(header_u64(&response, "upload-offset"), 70_000);
    assert!(location(&response).starts_with("/v1/uploads/"));
    let status = server.report_json(&token, &id).await;
    assert_eq!(status["complete"], true);

    // Part of the photo in the POST, the rest by PATCH.
    let photo2 = photo_bytes(50_000, 4);
    let station = server.repo.station_by_slug("seodaemun").await.expect("db");
    let (token2, id2) = setup_at(&server, &station.expect("station"), &[&photo2]).await;
    let tus = Tus::new(&server, token2);
    let response = tus
        .create_with_upload(&id2, &photo2, &photo2[..20_000], None)
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(header_u64(&response, "upload-offset"), 20_000);
    let path = location(&response);
    tus.patch_accepted(&path, 20_000, &photo2[20_000..]).await;
    let dir = server.stop_keeping_dir().await;
    assert_blob(dir.path(), &photo2);
}

#[tokio::test]
async fn a_wrong_offset_is_409_and_changes_nothing() {
    let server = TestServer::start().await;
    let photo = photo_bytes(10_000, 5);
    let (tus, _, path) = started_upload(&server, &photo).await;
    tus.patch_accepted(&path, 0, &photo[..4000]).await;
    let body = problem(tus.patch(&path, 3000, &photo[3000..], None).await, 409).await;
    assert_eq!(body["type"], "/problems/offset-mismatch");
    problem(tus.patch(&path, 0, &photo, None).await, 409).await;
    assert_eq!(header_u64(&tus.head(&path).await, "upload-offset"), 4000);
    // Missing Upload-Offset is 400, a wrong media type 415.
    let response = server
        .http
        .patch(server.url(&path))
        .bearer_auth(&tus.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(photo[4000..].to_vec())
        .send()
        .await
        .expect("patch");
    problem(response, 400).await;
    let response = server
        .http
        .patch(server.url(&path))
        .bearer_auth(&tus.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "4000")
        .header("Content-Type", "application/octet-stream")
        .body(photo[4000..].to_vec())
        .send()
        .await
        .expect("patch");
    problem(response, 415).await;
    assert_eq!(header_u64(&tus.head(&path).await, "upload-offset"), 4000);
    server.stop().await;
}

#[tokio::test]
async fn checksum_mismatch_is_460_for_sha1_and_sha256_and_appends_nothing() {
    let server = TestServer::start().await;
    let photo = photo_bytes(20_000, 6);
    let (tus, _, path) = started_upload(&server, &photo).await;
    let chunk = &photo[..8000];
    let wrong = &photo[1..8001];
    let sha1 = format!("sha1 {}", STANDARD.encode(sha1::Sha1::digest(wrong)));
    let sha256 = format!("sha256 {}", STANDARD.encode(sha2::Sha256::digest(wrong)));
    for header in [sha1, sha256] {
        let body = problem(tus.patch(&path, 0, chunk, Some(header)).await, 460).await;
        assert_eq!(body["type"], "/problems/checksum-mismatch");
        assert_eq!(header_u64(&tus.head(&path).await, "upload-offset"), 0);
    }
    let dir = server.dir.path().to_owned();
    assert_eq!(
        std::fs::metadata(part_file(&dir, &path))
            .expect("part")
            .len(),
        0,
        "nothing appended"
    );
    // Unknown algorithm or malformed header: 400.
    problem(
        tus.patch(&path, 0, chunk, Some("md5 AAAAAAAAAAAAAAAAAAAAAA==".into()))
            .await,
        400,
    )
    .await;
    problem(tus.patch(&path, 0, chunk, Some("sha1".into())).await, 400).await;
    // The right checksums are accepted.
    let good1 = format!("sha1 {}", STANDARD.encode(sha1::Sha1::digest(chunk)));
    assert_eq!(tus.patch(&path, 0, chunk, Some(good1)).await.status(), 204);
    let rest = &photo[8000..];
    let good256 = format!("sha256 {}", STANDARD.encode(sha2::Sha256::digest(rest)));
    let response = tus.patch(&path, 8000, rest, Some(good256)).await;
    assert_eq!(response.status(), 204);
    assert_eq!(header_u64(&response, "upload-offset"), 20_000);
    server.stop().await;
}

#[tokio::test]
async fn unknown_and_other_devices_uploads_are_404_and_bad_creations_are_refused() {
    let server = TestServer::start().await;
    let photo = photo_bytes(5000, 7);
    let (tus, id, path) = started_upload(&server, &photo).await;
    assert_eq!(
        tus.head("/v1/uploads/0123456789abcdef0123456789abcdef")
            .await
            .status(),
        404
    );
    problem(tus.patch("/v1/uploads/not-an-id", 0, b"x", None).await, 404).await;

    let station = server
        .repo
        .station_by_slug("seodaemun")
        .await
        .expect("db")
        .expect("station");
    let other = Tus::new(&server, server.device(&station).await);
    assert_eq!(other.head(&path).await.status(), 404);
    problem(other.patch(&path, 0, &photo, None).await, 404).await;
    // Another device cannot create uploads for this report either.
    problem(
        other.create(&id, &sha256_hex(&photo), photo.len()).await,
        404,
    )
    .await;

    // Not in the manifest, or not with this length.
    let body = problem(tus.create(&id, &"ab".repeat(32), 5000).await, 422).await;
    assert_eq!(body["type"], "/problems/not-in-manifest");
    problem(tus.create(&id, &sha256_hex(&photo), 4999).await, 422).await;
    // Unknown report.
    problem(
        tus.create(
            "0190f5c2-7b1e-7cc4-9a4e-1f2d3c4b5a69",
            &sha256_hex(&photo),
            5000,
        )
        .await,
        404,
    )
    .await;
    // Bad metadata, missing or deferred length.
    for (name, value) in [
        ("Upload-Metadata", "report_id !!"),
        ("Upload-Metadata", "sha256 YWJj"),
        ("Upload-Length", "-1"),
        ("Upload-Defer-Length", "1"),
    ] {
        let mut request = server
            .http
            .post(server.url("/v1/uploads"))
            .bearer_auth(&tus.token)
            .header("Tus-Resumable", "1.0.0");
        if name != "Upload-Length" {
            request = request.header("Upload-Length", "5000");
        }
        if name != "Upload-Metadata" {
            request = request.header("Upload-Metadata", upload_metadata(&id, &sha256_hex(&photo)));
        }
        let response = request.header(name, value).send().await.expect("post");
        problem(response, 400).await;
    }
    // Staff sessions and anonymous callers cannot upload.
    let staff = Tus::new(
        &server,
        server.staff(&station, "kim", Role::Supervisor).await,
    );
    problem(staff.create(&id, &sha256_hex(&photo), 5000).await, 403).await;
    let anonymous = server
        .http
        .post(server.url("/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "5000")
        .send()
        .await
        .expect("post");
    problem(anonymous, 401).await;
    assert_eq!(server.count_rows("uploads"), 1);
    server.stop().await;
}

#[tokio::test]
async fn too_large_uploads_and_bodies_are_413() {
    let config = postcso_station::config::ServerConfig {
        max_photo_bytes: 10_000,
        ..test_config()
    };
    let server = TestServer::start_with(config).await;
    let photo = photo_bytes(10_000, 8);
    let (token, id) = setup(&server, &[&photo]).await;
    let tus = Tus::new(&server, token);
    let body = problem(tus.create(&id, &sha256_hex(&photo), 10_001).await, 413).await;
    assert_eq!(body["type"], "/problems/upload-too-large");
    let path = tus.create_for(&id, &photo).await;
    tus.patch_accepted(&path, 0, &photo[..6000]).await;
    let mut too_much = photo[6000..].to_vec();
    too_much.push(0);
    problem(tus.patch(&path, 6000, &too_much, None).await, 413).await;
    assert_eq!(header_u64(&tus.head(&path).await, "upload-offset"), 6000);
    tus.patch_accepted(&path, 6000, &photo[6000..]).await;
    server.stop().await;
}

#[tokio::test]
async fn an_upload_whose_hash_is_not_the_manifests_is_rejected_and_discarded() {
    let server = TestServer::start().await;
    let listed = photo_bytes(30_000, 9);
    let (tus, id, path) = started_upload(&server, &listed).await;
    let mut tampered = listed.clone();
    tampered[29_999] ^= 0xff;
    tus.patch_accepted(&path, 0, &tampered[..20_000]).await;
    let body = problem(
        tus.patch(&path, 20_000, &tampered[20_000..], None).await,
        422,
    )
    .await;
    assert_eq!(body["type"], "/problems/photo-hash-mismatch");
    assert_eq!(tus.head(&path).await.status(), 404);
    let status = server.report_json(&tus.token, &id).await;
    assert_eq!(status["complete"], false);
    assert_eq!(server.count_rows("uploads"), 0);
    let dir = server.stop_keeping_dir().await;
    assert!(!part_file(dir.path(), &path).exists());
    assert!(blob_on_disk(dir.path(), &sha256_hex(&tampered)).is_none());
    assert!(blob_on_disk(dir.path(), &sha256_hex(&listed)).is_none());
}

#[tokio::test]
async fn termination_removes_the_upload_and_its_bytes() {
    let server = TestServer::start().await;
    let photo = photo_bytes(9000, 10);
    let (tus, _, path) = started_upload(&server, &photo).await;
    tus.patch_accepted(&path, 0, &photo[..3000]).await;
    let part = part_file(server.dir.path(), &path);
    assert_eq!(std::fs::metadata(&part).expect("part").len(), 3000);
    let delete = |token: String| {
        let url = server.url(&path);
        let http = server.http.clone();
        async move {
            http.delete(url)
                .bearer_auth(token)
                .header("Tus-Resumable", "1.0.0")
                .send()
                .await
                .expect("delete")
        }
    };
    assert_eq!(delete(tus.token.clone()).await.status(), 204);
    assert!(!part.exists());
    assert_eq!(tus.head(&path).await.status(), 404);
    problem(delete(tus.token.clone()).await, 404).await;
    assert_eq!(server.count_rows("uploads"), 0);
    server.stop().await;
}

#[tokio::test]
async fn expired_uploads_answer_410_and_are_cleaned_at_startup_and_periodically() {
    let mut config = test_config();
    config.upload.expiry = chrono::Duration::milliseconds(800);
    config.upload_sweep_interval = Duration::from_secs(3600);
    let server = TestServer::start_with(config.clone()).await;
    let photo = photo_bytes(4000, 11);
    let (tus, id, path) = started_upload(&server, &photo).await;
    let token = tus.token.clone();
    tus.patch_accepted(&path, 0, &photo[..1000]).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(tus.head(&path).await.status(), 410);
    let body = problem(tus.patch(&path, 1000, &photo[1000..], None).await, 410).await;
    assert_eq!(body["type"], "/problems/upload-expired");
    let part = part_file(server.dir.path(), &path);
    assert!(
        part.exists(),
        "not swept yet: the sweep runs every hour here"
    );

    // A restart cleans it up before serving.
    let dir = server.stop_keeping_dir().await;
    let server = TestServer::start_in(dir, config.clone()).await;
    let tus = Tus::new(&server, token.clone());
    assert_eq!(tus.head(&path).await.status(), 404);
    assert!(!part.exists());
    assert_eq!(server.count_rows("uploads"), 0);
    let dir = server.stop_keeping_dir().await;

    // With a short sweep interval, the periodic task cleans it while running.
    config.upload_sweep_interval = Duration::from_millis(100);
    let server = TestServer::start_in(dir, config).await;
    let tus = Tus::new(&server, token);
    let path = tus.create_for(&id, &photo).await;
    let part = part_file(server.dir.path(), &path);
    assert!(part.exists());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    // The sweep deletes the rows, then the part files: wait for both.
    while server.count_rows("uploads") > 0 || part.exists() {
        assert!(std::time::Instant::now() < deadline, "never swept");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(tus.head(&path).await.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn a_second_upload_of_a_received_photo_completes_without_a_duplicate() {
    let server = TestServer::start().await;
    let photo = photo_bytes(12_345, 12);
    let (token, id) = setup(&server, &[&photo]).await;
    let tus = Tus::new(&server, token);
    tus.upload(&id, &photo, 5000).await;
    let again = tus.upload(&id, &photo, 12_345).await;
    let head = tus.head(&again).await;
    assert_eq!(header_u64(&head, "upload-offset"), 12_345);
    let dir = server.stop_keeping_dir().await;
    let shard = dir.path().join("blobs").join(&sha256_hex(&photo)[..2]);
    assert_eq!(std::fs::read_dir(shard).expect("shard").count(), 1);
    let parts = std::fs::read_dir(dir.path().join("uploads"))
        .expect("uploads")
        .count();
    assert_eq!(parts, 0);
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_patch_keeps_exactly_the_bytes_it_sent() {
    let server = TestServer::start().await;
    let photo = photo_bytes(200_000, 13);
    let (tus, _, path) = started_upload(&server, &photo).await;
    tus.patch_accepted(&path, 0, &photo[..50_000]).await;

    // Announce the rest, send only 70,000 bytes of it, and hang up.
    hang_up_mid_patch(&tus, &path, 50_000, None, 150_000, &photo[50_000..120_000]).await;

    // The server records what reached its disk: all 120,000 bytes.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let offset = loop {
        let response = tus.head(&path).await;
        if response.status() == 200 && header_u64(&response, "upload-offset") == 120_000 {
            break 120_000;
        }
        assert!(std::time::Instant::now() < deadline, "offset never settled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let part = part_file(server.dir.path(), &path);
    assert_eq!(
        std::fs::read(&part).expect("part"),
        photo[..offset],
        "the kept bytes are the ones sent"
    );
    tus.patch_accepted(&path, offset, &photo[offset..]).await;
    let dir = server.stop_keeping_dir().await;
    assert_blob(dir.path(), &photo);
}

#[tokio::test]
async fn a_hang_up_with_a_checksum_keeps_nothing_of_that_request() {
    let server = TestServer::start().await;
    let photo = photo_bytes(100_000, 14);
    let (tus, _, path) = started_upload(&server, &photo).await;
    let checksum = format!("sha1 {}", STANDARD.encode(sha1::Sha1::digest(&photo)));
    hang_up_mid_patch(&tus, &path, 0, Some(checksum), 100_000, &photo[..60_000]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(header_u64(&tus.head(&path).await, "upload-offset"), 0);
    // The next request waits for the first to finish, then starts at 0.
    tus.patch_accepted(&path, 0, &photo).await;
    server.stop().await;
}

/// Every file under `dir` (recursively), as paths relative to it.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_name() == ".spares" {
                // Empty files the blob store keeps ready; never a blob.
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.push(rel.display().to_string());
            }
        }
    }
    out
}

/// Asserts that a refused whole-photo creation left nothing: no upload row,
/// no part file, no blob (nor temp file), the photo still missing.
async fn assert_nothing_stored(server: &TestServer, token: &str, id: &str) {
    assert_eq!(server.count_rows("uploads"), 0, "no upload row");
    let dir = server.dir.path();
    assert!(files_under(&dir.join("uploads")).is_empty(), "no part file");
    assert!(
        files_under(&dir.join("blobs")).is_empty(),
        "no blob: {:?}",
        files_under(&dir.join("blobs"))
    );
    let report = server.report_json(token, id).await;
    assert_eq!(report["complete"], false);
}

#[tokio::test]
async fn a_whole_photo_in_the_post_is_received_at_once_without_a_part_file() {
    let server = TestServer::start().await;
    let photo = photo_bytes(250_000, 40);
    let (token, id) = setup(&server, &[&photo]).await;
    let tus = Tus::new(&server, token.clone());
    let sha256 = format!("sha256 {}", STANDARD.encode(sha2::Sha256::digest(&photo)));
    let response = tus
        .create_with_upload(&id, &photo, &photo, Some(sha256))
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(header_u64(&response, "upload-offset"), 250_000);
    assert!(
        !response.headers().contains_key("upload-expires"),
        "a finished upload does not expire"
    );
    let path = location(&response);
    assert_eq!(server.report_json(&token, &id).await["complete"], true);
    // The upload is answerable like any finished one, and PATCHing more is refused.
    let head = tus.head(&path).await;
    assert_eq!(head.status(), 200);
    assert_eq!(header_u64(&head, "upload-offset"), 250_000);
    assert_eq!(header_u64(&head, "upload-length"), 250_000);
    problem(tus.patch(&path, 250_000, b"more", None).await, 413).await;
    assert!(
        files_under(&server.dir.path().join("uploads")).is_empty(),
        "the photo never became a part file"
    );
    // Received once: one feed entry and one audit row for the photo.
    assert_eq!(
        common::first_row(
            server.dir.path(),
            "SELECT count(*) FROM audit_log WHERE action = 'report.photo_received'"
        ),
        vec!["1".to_owned()]
    );
    let dir = server.stop_keeping_dir().await;
    assert_blob(dir.path(), &photo);
}

#[tokio::test]
async fn a_whole_photo_that_fails_a_check_leaves_nothing() {
    let server = TestServer::start().await;
    let listed = photo_bytes(40_000, 41);
    let (token, id) = setup(&server, &[&listed]).await;
    let tus = Tus::new(&server, token.clone());

    // Bytes that are not the manifest's photo: 422, nothing kept.
    let mut tampered = listed.clone();
    tampered[123] ^= 0x01;
    let refused = tus.create_with_upload(&id, &listed, &tampered, None).await;
    assert!(
        refused.headers().get("location").is_none(),
        "no upload exists to resume"
    );
    let body = problem(refused, 422).await;
    assert_eq!(body["type"], "/problems/photo-hash-mismatch");
    assert_nothing_stored(&server, &token, &id).await;

    // A body that does not match Upload-Checksum: 460, nothing kept.
    let wrong = format!("sha1 {}", STANDARD.encode(sha1::Sha1::digest(b"other")));
    let body = problem(
        tus.create_with_upload(&id, &listed, &listed, Some(wrong))
            .await,
        460,
    )
    .await;
    assert_eq!(body["type"], "/problems/checksum-mismatch");
    assert_nothing_stored(&server, &token, &id).await;

    // The right bytes still go through afterwards.
    let ok = tus.create_with_upload(&id, &listed, &listed, None).await;
    assert_eq!(ok.status(), 201);
    assert_eq!(server.report_json(&token, &id).await["complete"], true);
    server.stop().await;
}

/// Opens a raw connection and sends the head of a whole-photo POST of
/// `photo` for `report`, with no body yet: the test decides how much follows.
async fn whole_post_head(
    server: &TestServer,
    token: &str,
    report: &str,
    photo: &[u8],
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/uploads HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nUpload-Length: {len}\r\nUpload-Metadata: {meta}\r\n\
         Content-Type: application/offset+octet-stream\r\nContent-Length: {len}\r\n\r\n",
        len = photo.len(),
        meta = upload_metadata(report, &sha256_hex(photo)),
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_whole_post_leaves_nothing_and_can_send_again() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start().await;
    let photo = photo_bytes(300_000, 42);
    let (token, id) = setup(&server, &[&photo]).await;
    let mut stream = whole_post_head(&server, &token, &id, &photo).await;
    stream.write_all(&photo[..200_000]).await.expect("part");
    stream.flush().await.expect("flush");
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_nothing_stored(&server, &token, &id).await;

    let tus = Tus::new(&server, token.clone());
    let again = tus.create_with_upload(&id, &photo, &photo, None).await;
    assert_eq!(again.status(), 201);
    assert_eq!(server.report_json(&token, &id).await["complete"], true);
    let dir = server.stop_keeping_dir().await;
    assert_blob(dir.path(), &photo);
}

#[tokio::test]
async fn a_whole_post_for_an_unknown_report_is_answered_before_its_body_arrives() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let photo = photo_bytes(300_000, 44);
    let (token, _) = setup(&server, &[&photo]).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let mut stream = whole_post_head(&server, &token, &unknown, &photo).await;
    stream.write_all(&photo[..10_000]).await.expect("part");
    stream.flush().await.expect("flush");
    // The rest of the body never comes: the answer must not wait for it
    // (the read timeout is a minute).
    let mut answer = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut answer))
        .await
        .expect("answered without the body")
        .expect("read");
    assert_eq!(&answer, b"HTTP/1.1 404");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_whole_posts_of_one_photo_receive_it_once() {
    let server = TestServer::start().await;
    let photo = photo_bytes(120_000, 43);
    let (token, id) = setup(&server, &[&photo]).await;
    let tus = Tus::new(&server, token.clone());
    let statuses =
        common::parallel_statuses(8, || tus.creation_with_upload(&id, &photo, &photo)).await;
    assert_eq!(common::count(&statuses, 201), 8, "{statuses:?}");
    assert_eq!(server.report_json(&token, &id).await["complete"], true);
    assert_eq!(
        common::first_row(
            server.dir.path(),
            "SELECT count(*) FROM audit_log WHERE action = 'report.photo_received'"
        ),
        vec!["1".to_owned()],
        "received exactly once"
    );
    let dir = server.stop_keeping_dir().await;
    let shard = dir.path().join("blobs").join(&sha256_hex(&photo)[..2]);
    assert_eq!(std::fs::read_dir(shard).expect("shard").count(), 1);
    assert_blob(dir.path(), &photo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_whole_posts_and_puts_completes_each_report_exactly_once() {
    // Photo completions and report PUTs arriving together share group-committed
    // transactions: each must still be answered for itself, every report must
    // complete once, and a repeated photo must be received once.
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let photos: Vec<Vec<Vec<u8>>> = (0..4u8)
        .map(|r| {
            (0..4u8)
                .map(|p| photo_bytes(20_000, 100 + r * 4 + p))
                .collect()
        })
        .collect();
    let mut ids = Vec::new();
    for report_photos in &photos {
        let refs: Vec<&[u8]> = report_photos.iter().map(Vec::as_slice).collect();
        let report = report_with_photos(&refs);
        let id = id_of(&report);
        assert_eq!(server.put_report(&token, &id, &report).await.status(), 201);
        ids.push(id);
    }
    // Sixteen photos, four of them twice, and eight new reports, all at once.
    enum Request {
        Photo(usize, usize),
        Report(Value),
    }
    let mut requests: Vec<Request> = (0..16).map(|i| Request::Photo(i / 4, i % 4)).collect();
    requests.extend((0..4).map(|r| Request::Photo(r, 3)));
    requests.extend((0..8).map(|_| Request::Report(common::sample_report(1))));
    let tus = Tus::new(&server, token.clone());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let statuses = common::parallel_statuses(requests.len(), || {
        match &requests[next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)] {
            Request::Photo(r, p) => {
                let photo = &photos[*r][*p];
                tus.creation_with_upload(&ids[*r], photo, photo)
            }
            Request::Report(report) => server
                .http
                .put(server.url(&format!("/v1/reports/{}", id_of(report))))
                .bearer_auth(&token)
                .json(report),
        }
    })
    .await;
    assert_eq!(
        common::count(&statuses, 201),
        requests.len(),
        "{statuses:?}"
    );
    for id in &ids {
        let report = server.report_json(&token, id).await;
        assert_eq!(report["complete"], true, "{report}");
    }
    let count = |sql: &str| common::first_row(server.dir.path(), sql);
    assert_eq!(
        count("SELECT count(*) FROM audit_log WHERE action = 'report.photo_received'"),
        vec!["16".to_owned()],
        "each photo received once"
    );
    assert_eq!(
        count("SELECT count(*) FROM changes WHERE event = 'complete'"),
        vec!["4".to_owned()],
        "each report completed once"
    );
    assert_eq!(server.count_rows("reports"), 12);
    let metrics = server.metrics_text().await;
    if !common::is_postgres() {
        assert!(
            metrics.contains("sqlite_write_batch_size"),
            "the batches are measured"
        );
    }
    server.stop().await;
}
