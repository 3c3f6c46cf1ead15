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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_resumes_at_its_durable_offset_after_sigkill() {
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
    let patch = |base: String, offset: usize, bytes: Vec<u8>| {
        let request = http
            .patch(format!("{base}{path}"))
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(bytes);
        async move { request.send().await.expect("patch") }
    };
    let half = 500_000;
    let response = patch(server.base.clone(), 0, photo[..half].to_vec()).await;
    assert_eq!(response.status(), 204);

    // SIGKILL: no shutdown, no chance to flush anything more.
    let mut server = server;
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("wait");
    drop(server);

    let server = Server::start(&data, &["--max-upload-size", "2000000"]);
    let options = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/uploads", server.base),
        )
        .send()
        .await
        .expect("options");
    assert_eq!(header_u64(&options, "tus-max-size"), 2_000_000);
    let head = http
        .head(format!("{}{path}", server.base))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), 200);
    assert_eq!(header_u64(&head, "upload-offset"), half as u64);
    let response = patch(server.base.clone(), half, photo[half..].to_vec()).await;
    assert_eq!(response.status(), 204);
    assert_eq!(header_u64(&response, "upload-offset"), photo.len() as u64);
    let status: Value = http
        .get(format!("{}/v1/reports/{id}", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(status["complete"], true);
    drop(server);
    assert_eq!(
        blob_on_disk(&data, &sha256_hex(&photo)).expect("blob"),
        photo
    );
}
