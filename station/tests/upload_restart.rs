//! Offsets survive a crash: the real binary takes half a photo, is killed with
//! SIGKILL, restarts, and the upload resumes at the durable offset. On the
//! PostgreSQL run the processes get the test database via
//! `POSTCSO_DATABASE_URL`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{
    blob_on_disk, header_u64, id_of, photo_bytes, report_with_photos, sha256_hex, upload_metadata,
};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_postcso-station");

/// The server child process, killed if the test fails half-way.
struct Server {
    child: std::process::Child,
    base: String,
}

impl Server {
    fn start(data: &Path, extra: &[&str]) -> Self {
        let mut cmd = command(data);
        let mut child = cmd
            .args(["serve", "--data-dir"])
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read stdout");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening line")
            .to_owned();
        Self { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary, with the data dir's test database (if on PostgreSQL) in its
/// environment.
fn command(data: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("POSTCSO_DATA_DIR")
        .env_remove("POSTCSO_DATABASE_URL");
    if let Ok(url) = std::fs::read_to_string(data.join(common::DATABASE_URL_FILE)) {
        cmd.env("POSTCSO_DATABASE_URL", url.trim());
    }
    cmd
}

fn cli(data: &Path, args: &[&str]) {
    let out = command(data).args(args).output().expect("run");
    assert!(out.status.success(), "{args:?}: {out:?}");
}

/// A stopped-and-started station needs the same data dir, token and upload.
struct Rig {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    http: reqwest::Client,
    server: Server,
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
    let d = data.to_str().expect("path");
    std::fs::create_dir_all(&data).expect("data dir");
    common::test_database_url(&data).await;
    cli(
        &data,
        &[
            "station",
            "create",
            "--data-dir",
            d,
            "--slug",
            "seodaemun",
            "--name",
            "S",
        ],
    );
    let csv = dir.path().join("codes.csv");
    cli(
        &data,
        &[
            "enrol",
            "--data-dir",
            d,
            "--station",
            "seodaemun",
            "--count",
            "1",
            "--out",
            csv.to_str().expect("path"),
        ],
    );
    let code = std::fs::read_to_string(&csv)
        .expect("csv")
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').nth(1))
        .expect("code")
        .to_owned();

    let http = reqwest::Client::new();
    let server = Server::start(&data, &[]);
    let enrolled: Value = http
        .post(format!("{}/v1/devices/enrol", server.base))
        .json(&serde_json::json!({ "code": code }))
        .send()
        .await
        .expect("enrol")
        .json()
        .await
        .expect("json");
    let token = enrolled["token"].as_str().expect("token").to_owned();
    let photo = photo_bytes(1_000_000, 3);
    let report = report_with_photos(&[&photo]);
    let id = id_of(&report);
    let put = http
        .put(format!("{}/v1/reports/{id}", server.base))
        .bearer_auth(&token)
        .json(&report)
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 201);
    let created = http
        .post(format!("{}/v1/uploads", server.base))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", photo.len().to_string())
        .header("Upload-Metadata", upload_metadata(&id, &sha256_hex(&photo)))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let path = common::location(&created);
    Rig {
        _dir: dir,
        data,
        http,
        server,
        token,
        id,
        photo,
        path,
    }
}

/// PATCHes `bytes` at `offset`.
async fn patch(rig: &Rig, offset: usize, bytes: &[u8]) -> reqwest::Response {
    rig.http
        .patch(format!("{}{}", rig.server.base, rig.path))
        .bearer_auth(&rig.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .expect("patch")
}

/// HEADs the upload.
async fn head(rig: &Rig) -> reqwest::Response {
    rig.http
        .head(format!("{}{}", rig.server.base, rig.path))
        .bearer_auth(&rig.token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("head")
}

/// SIGKILLs the server: no shutdown, no chance to flush anything more.
fn kill(server: &mut Server) {
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("wait");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_resumes_at_its_durable_offset_after_sigkill() {
    let mut rig = rig().await;
    let photo = rig.photo.clone();
    let half = 500_000;
    assert_eq!(patch(&rig, 0, &photo[..half]).await.status(), 204);
    kill(&mut rig.server);

    rig.server = Server::start(&rig.data, &["--max-upload-size", "2000000"]);
    let options = rig
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
    let status: Value = rig
        .http
        .get(format!("{}/v1/reports/{}", rig.server.base, rig.id))
        .bearer_auth(&rig.token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(status["complete"], true);
    kill(&mut rig.server);
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
    kill(&mut rig.server);
    let upload_id = rig.path.trim_start_matches("/v1/uploads/").to_owned();
    let (_, changed) = common::db_sql(
        &rig.data,
        &format!(
            "UPDATE uploads SET upload_offset = 200000, hash_state = NULL WHERE id = '{upload_id}'"
        ),
    )
    .expect("set the checkpoint back");
    assert_eq!(changed, 1);
    rig.server = Server::start(&rig.data, &[]);

    // The client, told 600,000 before the crash, is refused and learns 200,000.
    let stale = patch(&rig, 600_000, &photo[600_000..]).await;
    assert_eq!(stale.status(), 409);
    let offset = header_u64(&head(&rig).await, "upload-offset");
    assert_eq!(offset, 200_000, "the older checkpoint is the truth");
    let resumed = patch(&rig, 200_000, &photo[200_000..]).await;
    assert_eq!(resumed.status(), 204);
    assert_eq!(header_u64(&resumed, "upload-offset"), photo.len() as u64);
    kill(&mut rig.server);
    assert_eq!(
        blob_on_disk(&rig.data, &sha256_hex(&photo)).expect("blob"),
        photo,
        "the bytes past the checkpoint were cut off and sent again, not doubled"
    );
}
