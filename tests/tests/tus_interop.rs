//! Interop: tus-js-client (npm), an independent tus 1.0.0 implementation run
//! with node, uploads real photos to a real `postcso-station serve` process
//! over loopback, and the bytes arrive identical.
//!
//! The client is pinned in `tests/interop/package-lock.json` and installed by
//! `cargo xtask deps` (also run by `cargo xtask test`). Without it this test
//! fails and says so: it never passes silently.

use std::path::{Path, PathBuf};
use std::process::Command;

use postcso_core::model::ReportId;
use postcso_tests::station::Station;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/photos")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Fails with instructions when node or the pinned client is missing.
fn require_client() {
    let installed = interop_dir().join("node_modules/tus-js-client/package.json");
    assert!(
        installed.is_file(),
        "tus-js-client is not installed in {}; run `cargo xtask deps` (it runs `npm ci` there)",
        interop_dir().display()
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is not on PATH; run `cargo xtask deps` to install it"
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn report(photos: &[&[u8]]) -> Value {
    json!({
        "id": ReportId::new().to_string(),
        "category": "safety_facility",
        "note": "interop",
        "location": {
            "lat": 37.5791, "lon": 126.9368, "accuracy_m": 6.0, "altitude_m": null,
            "fix_time": "2026-05-01T09:00:00Z", "source": "gps"
        },
        "created_at": "2026-05-01T18:00:00+09:00",
        "photos": photos.iter().map(|p| json!({
            "sha256": sha256_hex(p), "size": p.len(), "content_type": "image/jpeg"
        })).collect::<Vec<_>>(),
    })
}

fn upload_with_node(
    station: &Station,
    token: &str,
    file: &Path,
    report_id: &str,
    sha256: &str,
    mode: &str,
) {
    let out = Command::new("node")
        .arg(interop_dir().join("upload.cjs"))
        .arg(format!("{}v1/uploads", station.url()))
        .arg(token)
        .arg(file)
        .arg(report_id)
        .arg(sha256)
        .arg(mode)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "tus-js-client failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).expect("client output");
    assert!(
        result["url"]
            .as_str()
            .is_some_and(|u| u.contains("/v1/uploads/")),
        "{result}"
    );
}

#[test]
fn tus_js_client_uploads_real_photos_that_arrive_byte_identical() {
    require_client();
    let station = Station::start();
    let code = station.enrolment_codes(1).remove(0).code;
    let http = reqwest::blocking::Client::new();
    let enrolled: Value = http
        .post(format!("{}v1/devices/enrol", station.url()))
        .json(&json!({ "code": code }))
        .send()
        .expect("enrol")
        .json()
        .expect("enrol json");
    let token = enrolled["token"].as_str().expect("token").to_owned();

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/photos");
    let big_name = "npm-exif-0.6.0/sony-alpha-6000-crop-4000x3000.jpg";
    let small_name = "npm-exif-parser-0.1.12/starfish.jpg";
    let big = fixture(big_name);
    let small = fixture(small_name);
    let body = report(&[&big, &small]);
    let id = body["id"].as_str().expect("id").to_owned();
    let put = http
        .put(format!("{}v1/reports/{id}", station.url()))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .expect("put");
    assert_eq!(put.status().as_u16(), 201);

    // 2.9 MB in 512 KiB PATCHes; then a photo sent with the creation request.
    upload_with_node(
        &station,
        &token,
        &dir.join(big_name),
        &id,
        &sha256_hex(&big),
        "chunks",
    );
    upload_with_node(
        &station,
        &token,
        &dir.join(small_name),
        &id,
        &sha256_hex(&small),
        "during-creation",
    );

    let status: Value = http
        .get(format!("{}v1/reports/{id}", station.url()))
        .bearer_auth(&token)
        .send()
        .expect("get")
        .json()
        .expect("json");
    assert_eq!(status["complete"], true, "{status}");
    assert_eq!(status["photos_missing"], 0);
    for photo in [&big, &small] {
        let sha = sha256_hex(photo);
        let stored = std::fs::read(station.data_dir().join("blobs").join(&sha[..2]).join(&sha))
            .expect("stored blob");
        assert_eq!(
            sha256_hex(&stored),
            sha,
            "stored bytes hash to the manifest's SHA-256"
        );
        assert_eq!(&stored, photo);
    }
}
