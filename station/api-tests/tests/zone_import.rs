//! `POST /v1/zones/import` and `GET /v1/zones/export`: an import is all or
//! nothing (existing codes updated with their devices kept, new ones added,
//! one delta per changed zone), every bad file is refused whole with each
//! fault placed and nothing changed, and an export imports back unchanged.

mod common;

// Shared with the station's own zone CLI tests.
#[path = "../../tests/support/zone_files.rs"]
mod zone_files;

use chrono::Utc;
use common::{TestServer, problem};
use postcso_station::auth::Role;
use postcso_station::repo::{Actor, Station};
use postcso_station::zones::jurisdiction::from_district;
use serde_json::{Value, json};
use zone_files::{bad_files, beat, collection, good_file};

/// The largest file the API reads, as the station defines it.
const LIMIT: usize = postcso_station::zones::import::MAX_IMPORT_BYTES;

struct Setup {
    server: TestServer,
    station: Station,
    admin: String,
    supervisor: String,
    carrier: String,
}

async fn setup() -> Setup {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let admin = server.staff(&station, "park", Role::Admin).await;
    let supervisor = server.staff(&station, "kim", Role::Supervisor).await;
    Setup {
        server,
        station,
        admin,
        supervisor,
        carrier,
    }
}

impl Setup {
    async fn import(&self, token: &str, body: String, content_type: &str) -> reqwest::Response {
        self.server
            .http
            .post(self.server.url("/v1/zones/import"))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("import")
    }

    async fn export(&self, token: &str) -> reqwest::Response {
        self.server
            .http
            .get(self.server.url("/v1/zones/export"))
            .bearer_auth(token)
            .send()
            .await
            .expect("export")
    }

    async fn json(&self, token: &str, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .server
            .http
            .request(method, self.server.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("json")
    }

    /// Every zone, feed entry and audit row: what a refused import must not change.
    async fn snapshot(&self) -> (Value, i64, i64) {
        let zones = self
            .json(&self.admin, reqwest::Method::GET, "/v1/zones", Value::Null)
            .await;
        (
            zones,
            self.server.count_rows("changes"),
            self.server.count_rows("audit_log"),
        )
    }

    /// The carrier's feed from `cursor`, and the cursor after it.
    async fn feed_after(&self, cursor: &str) -> (Vec<Value>, String) {
        let page = self
            .json(
                &self.carrier,
                reqwest::Method::GET,
                &format!("/v1/changes?limit=500&cursor={cursor}"),
                Value::Null,
            )
            .await;
        (
            page["changes"].as_array().expect("changes").clone(),
            page["cursor"].as_str().expect("cursor").to_owned(),
        )
    }
}

#[tokio::test]
async fn an_import_adds_and_updates_and_an_export_imports_back_unchanged() {
    let s = setup().await;
    let device = s
        .server
        .repo
        .list_devices(s.station.id)
        .await
        .expect("devices")[0]
        .id;
    let post = reqwest::Method::POST;
    s.json(
        &s.admin,
        post.clone(),
        "/v1/zones",
        json!({"code": "route-1", "name": "1구역", "devices": [device]}),
    )
    .await;
    s.json(
        &s.admin,
        post.clone(),
        "/v1/zones",
        json!({"code": "gone", "name": "옛 구역"}),
    )
    .await;
    s.json(&s.admin, post.clone(), "/v1/zones/gone/retire", json!({}))
        .await;
    let (_, cursor) = s.feed_after("").await;

    // Who may: admins import; supervisors and phones may not.
    let file = good_file("route-1").to_string();
    for token in [&s.supervisor, &s.carrier] {
        problem(
            s.import(token, file.clone(), "application/geo+json").await,
            403,
        )
        .await;
    }
    let response = s.import(&s.admin, file, "application/geo+json").await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("report");
    assert_eq!(
        (
            &report["added"],
            &report["updated"],
            &report["unchanged"],
            &report["rings_rewound"]
        ),
        (&json!(3), &json!(1), &json!(0), &json!(1))
    );
    assert_eq!(
        report["zones"],
        json!([
            {"code": "route-1", "outcome": "updated", "rings_rewound": 0},
            {"code": "yeonhui-alley", "outcome": "added", "rings_rewound": 1},
            {"code": "no-outline", "outcome": "added", "rings_rewound": 0},
            {"code": "two-blocks", "outcome": "added", "rings_rewound": 0},
        ])
    );
    let zones = s
        .json(&s.admin, reqwest::Method::GET, "/v1/zones", Value::Null)
        .await;
    let route = &zones[0];
    assert_eq!(route["name"], "새 이름");
    assert_eq!(route["name_en"], "New name");
    assert_eq!(route["devices"], json!([device]), "devices kept");
    let alley = &zones[2];
    assert_eq!(alley["theme"], "women_living_alone");
    assert_eq!(alley["valid_from"], "2026-11-30T15:00:00Z");
    assert_eq!(zones[3]["area"], Value::Null);
    assert_eq!(zones[4]["area"]["type"], "MultiPolygon");

    // The phone hears of exactly the four zones that changed.
    let (entries, cursor) = s.feed_after(&cursor).await;
    let codes: Vec<&str> = entries
        .iter()
        .map(|e| {
            assert_eq!(e["kind"], "zone");
            e["zone"]["code"].as_str().expect("code")
        })
        .collect();
    assert_eq!(
        codes,
        ["route-1", "yeonhui-alley", "no-outline", "two-blocks"]
    );
    assert_eq!(entries[0]["zone"]["assigned"], true);
    let rows = s.server.audit_rows(&s.admin, "zone.add").await;
    assert_eq!(rows.len(), 5, "two by hand, three imported");
    assert_eq!(s.server.audit_rows(&s.admin, "zone.update").await.len(), 1);
    assert!(
        !json!(rows).to_string().contains("126.93"),
        "no coordinates"
    );

    // The export: the zones in force, GeoJSON, readable by supervisors too.
    problem(s.export(&s.carrier).await, 403).await;
    let response = s.export(&s.supervisor).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().expect("type"),
        "application/geo+json"
    );
    let exported = response.text().await.expect("text");
    let parsed: Value = serde_json::from_str(&exported).expect("json");
    assert_eq!(parsed["type"], "FeatureCollection");
    assert!(parsed.get("attribution").is_none(), "no embedded data here");
    let features = parsed["features"].as_array().expect("features");
    assert_eq!(features.len(), 4, "the retired zone is left out");
    assert_eq!(
        features[1]["properties"],
        json!({
            "code": "yeonhui-alley", "kind": "watch_area", "theme": "women_living_alone",
            "name_ko": "연희동 골목", "name_en": "Yeonhui alley",
            "guidance": "Look for broken door locks and dark entrances.",
            "valid_from": "2026-11-30T15:00:00Z", "valid_until": "2027-05-31T15:00:00Z"
        })
    );
    assert_eq!(features[2]["geometry"], Value::Null);

    // ... which imports back unchanged, as plain JSON too, writing nothing.
    let before = s.snapshot().await;
    let response = s.import(&s.admin, exported, "application/json").await;
    let report: Value = response.json().await.expect("report");
    assert_eq!(
        (&report["added"], &report["updated"], &report["unchanged"]),
        (&json!(0), &json!(0), &json!(4))
    );
    assert_eq!(s.snapshot().await, before);
    assert!(s.feed_after(&cursor).await.0.is_empty());
    s.server.stop().await;
}

#[tokio::test]
async fn a_jurisdiction_from_the_embedded_districts_exports_with_its_credit() {
    let s = setup().await;
    let made = from_district("11410").expect("Seodaemun");
    s.server
        .repo
        .add_zone(s.station.id, made.zone, Actor::console(), Utc::now())
        .await
        .expect("add");
    let exported = s.export(&s.admin).await.text().await.expect("text");
    let parsed: Value = serde_json::from_str(&exported).expect("json");
    let credit = parsed["attribution"].as_str().expect("attribution");
    assert!(
        credit.contains("CC BY 4.0") && credit.contains("vuski/admdongkor"),
        "{credit}"
    );
    assert_eq!(
        parsed["features"][0]["properties"]["code"],
        "district-11410"
    );
    assert_eq!(
        parsed["features"][0]["properties"]["name_en"],
        "Seodaemun-gu"
    );
    let report: Value = s
        .import(&s.admin, exported, "application/geo+json")
        .await
        .json()
        .await
        .expect("report");
    assert_eq!(report["unchanged"], 1, "{report}");
    s.server.stop().await;
}

#[tokio::test]
async fn every_bad_file_is_refused_whole_and_changes_nothing() {
    let s = setup().await;
    let post = reqwest::Method::POST;
    s.json(
        &s.admin,
        post.clone(),
        "/v1/zones",
        json!({"code": "a", "name": "에이"}),
    )
    .await;
    s.json(
        &s.admin,
        post.clone(),
        "/v1/zones",
        json!({"code": "old", "name": "옛"}),
    )
    .await;
    s.json(&s.admin, post, "/v1/zones/old/retire", json!({}))
        .await;
    let before = s.snapshot().await;
    for bad in bad_files("old") {
        let response = s
            .import(&s.admin, bad.text.clone(), "application/geo+json")
            .await;
        let body = problem(response, bad.status).await;
        if bad.status == 422 {
            assert_eq!(body["type"], "/problems/validation", "{}", bad.what);
            let first = &body["errors"][0];
            assert_eq!(first["pointer"], bad.pointer, "{}: {body}", bad.what);
            let detail = first["detail"].as_str().expect("detail");
            assert!(detail.contains(bad.detail), "{}: {detail}", bad.what);
            assert!(
                body["detail"]
                    .as_str()
                    .expect("detail")
                    .contains("nothing was changed"),
                "{body}"
            );
        } else {
            assert_eq!(body["type"], "/problems/malformed-json", "{}", bad.what);
            assert!(
                body["detail"]
                    .as_str()
                    .expect("detail")
                    .contains(bad.detail),
                "{}: {body}",
                bad.what
            );
        }
        assert_eq!(s.snapshot().await, before, "{} changed something", bad.what);
    }

    // Every bad feature is named at once, not only the first.
    let many = collection(vec![
        beat("ok", 0.0),
        json!({"type": "Feature", "properties": {"code": "x", "kind": "lane", "name_ko": "x"},
               "geometry": {"type": "LineString", "coordinates": [[126.9, 37.5], [127.0, 37.6]]}}),
        json!({"type": "Feature", "properties": {"name_ko": "코드 없음"}, "geometry": null}),
    ]);
    let body = problem(
        s.import(&s.admin, many.to_string(), "application/geo+json")
            .await,
        422,
    )
    .await;
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["pointer"].as_str().expect("pointer"))
        .collect();
    assert_eq!(
        pointers,
        ["/features/1/geometry/type", "/features/2/properties/code"]
    );
    assert!(
        body["errors"][1]["detail"]
            .as_str()
            .expect("detail")
            .starts_with("feature 2: "),
        "a feature without a code is named by its index: {body}"
    );

    // Not JSON by media type; and not a collection at all.
    problem(s.import(&s.admin, "{}".into(), "text/plain").await, 415).await;
    let body = problem(
        s.import(
            &s.admin,
            json!({"type": "Polygon"}).to_string(),
            "application/geo+json",
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["pointer"], "/type");
    assert_eq!(s.snapshot().await, before);
    s.server.stop().await;
}

#[tokio::test]
async fn a_file_over_the_limit_is_413_before_it_is_read() {
    let s = setup().await;
    let before = s.snapshot().await;
    // 50 MB announced: refused by its Content-Length, the body never read.
    let head = raw_post(&s, Some(50 * 1024 * 1024), &vec![b' '; 64 * 1024]).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("application/problem+json"), "{head}");
    assert!(head.contains("/problems/payload-too-large"), "{head}");
    // Sent chunked, without a length: refused once the limit is passed.
    let head = raw_post(&s, None, &vec![b' '; LIMIT + 64 * 1024]).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert_eq!(s.snapshot().await, before);
    s.server.stop().await;
}

/// POSTs `body` to the import over a raw socket, announcing `length` (or
/// chunked when `None`), and returns the raw response. Write errors are
/// ignored: the station may answer and close before the body is sent.
async fn raw_post(s: &Setup, length: Option<usize>, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = s.server.base.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let framing = match length {
        Some(n) => format!("Content-Length: {n}"),
        None => "Transfer-Encoding: chunked".to_owned(),
    };
    let head = format!(
        "POST /v1/zones/import HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/geo+json\r\n{framing}\r\nConnection: close\r\n\r\n",
        s.admin
    );
    let mut wire = head.into_bytes();
    match length {
        Some(_) => wire.extend_from_slice(body),
        None => {
            for chunk in body.chunks(64 * 1024) {
                wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                wire.extend_from_slice(chunk);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"0\r\n\r\n");
        }
    }
    // Read while writing: the answer may come (and the connection close)
    // long before the body is through.
    let (mut reader, mut writer) = stream.into_split();
    let reading = tokio::spawn(async move {
        let mut response = Vec::new();
        let _ = reader.read_to_end(&mut response).await;
        response
    });
    let _ = writer.write_all(&wire).await;
    let _ = writer.shutdown().await;
    let response = reading.await.expect("reader");
    String::from_utf8_lossy(&response).into_owned()
}
