//! Every kind of bad input gets a clear problem+json, and nothing is stored.

mod common;

use common::{TestServer, id_of, problem, sample_report};
use serde_json::Value;

struct Setup {
    server: TestServer,
    token: String,
}

async fn setup() -> Setup {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    Setup { server, token }
}

impl Setup {
    async fn put_raw(
        &self,
        id: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> reqwest::Response {
        let mut request = self
            .server
            .http
            .put(self.server.url(&format!("/v1/reports/{id}")))
            .bearer_auth(&self.token)
            .body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        request.send().await.expect("request")
    }

    /// PUTs `body` and expects 422 with exactly the given pointers.
    async fn expect_invalid(&self, body: &Value, pointers: &[&str]) -> Value {
        let id = body["id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| id_of(&sample_report(0)));
        let problem = problem(self.server.put_report(&self.token, &id, body).await, 422).await;
        assert_eq!(problem["type"], "/problems/validation");
        let got: Vec<&str> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["pointer"].as_str())
            .collect();
        assert_eq!(got, pointers, "{problem}");
        problem
    }

    async fn assert_nothing_stored(self) {
        assert_eq!(self.server.count_rows("reports"), 0);
        assert_eq!(self.server.count_rows("report_photos"), 0);
        self.server.stop().await;
    }
}

#[tokio::test]
async fn malformed_json_is_400() {
    let s = setup().await;
    let id = id_of(&sample_report(0));
    for body in [&b"{\"id\": "[..], b"not json", b"", b"{\"id\":1} trailing"] {
        let p = problem(
            s.put_raw(&id, Some("application/json"), body.to_vec())
                .await,
            400,
        )
        .await;
        assert_eq!(p["type"], "/problems/malformed-json");
    }
    s.assert_nothing_stored().await;
}

#[tokio::test]
async fn invalid_utf8_is_400() {
    let s = setup().await;
    let report = sample_report(0);
    let mut bytes = serde_json::to_vec(&report).expect("bytes");
    let at = bytes.len() - 2;
    bytes.insert(at, 0xff);
    let p = problem(
        s.put_raw(&id_of(&report), Some("application/json"), bytes)
            .await,
        400,
    )
    .await;
    assert_eq!(p["type"], "/problems/invalid-utf8");
    s.assert_nothing_stored().await;
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_415() {
    let s = setup().await;
    let report = sample_report(0);
    let body = serde_json::to_vec(&report).expect("bytes");
    for ct in [
        Some("text/plain"),
        None,
        Some("application/json; charset=latin1"),
        Some("multipart/form-data"),
    ] {
        let p = problem(s.put_raw(&id_of(&report), ct, body.clone()).await, 415).await;
        assert_eq!(p["type"], "/problems/unsupported-media-type");
    }
    // Parameters and +json types are fine.
    let ok = s
        .put_raw(
            &id_of(&report),
            Some("application/json; charset=UTF-8"),
            body,
        )
        .await;
    assert_eq!(ok.status(), 201);
    s.server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let s = setup().await;
    let mut report = sample_report(0);
    report["padding"] = Value::from("x".repeat(70 * 1024));
    let body = serde_json::to_vec(&report).expect("bytes");
    let p = problem(
        s.put_raw(&id_of(&report), Some("application/json"), body)
            .await,
        413,
    )
    .await;
    assert_eq!(p["type"], "/problems/payload-too-large");

    // Also when sent chunked, without a Content-Length to refuse it early.
    let mut report = sample_report(0);
    report["padding"] = Value::from("y".repeat(70 * 1024));
    let bytes = serde_json::to_vec(&report).expect("bytes");
    let path = format!("/v1/reports/{}", id_of(&report));
    let response = chunked_put(&s.server.base, &path, &s.token, &bytes).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("application/problem+json"), "{response}");
    s.assert_nothing_stored().await;
}

/// Sends a PUT with `Transfer-Encoding: chunked` over a raw socket and returns
/// the raw response. Write errors are ignored: the server may answer and close
/// before the whole body is sent.
async fn chunked_put(base: &str, path: &str, token: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let mut wire = head.into_bytes();
    for chunk in body.chunks(8 * 1024) {
        wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        wire.extend_from_slice(chunk);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    let _ = stream.write_all(&wire).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn ids_that_are_not_uuids_are_400_and_mismatched_ids_422() {
    let s = setup().await;
    let report = sample_report(0);
    for bad in ["not-a-uuid", "123", "0190f5c2-7b1e-7cc4-9a4e-1f2d3c4b5a6"] {
        let p = problem(s.server.put_report(&s.token, bad, &report).await, 400).await;
        assert_eq!(p["type"], "/problems/invalid-id");
        let p = problem(s.server.get_report(&s.token, bad).await, 400).await;
        assert_eq!(p["type"], "/problems/invalid-id");
    }
    let other_id = id_of(&sample_report(0));
    let p = problem(s.server.put_report(&s.token, &other_id, &report).await, 422).await;
    assert_eq!(p["errors"][0]["pointer"], "/id");
    let mut bad_body_id = report.clone();
    bad_body_id["id"] = Value::from("nope");
    let p = problem(
        s.server
            .put_report(&s.token, &id_of(&report), &bad_body_id)
            .await,
        422,
    )
    .await;
    assert_eq!(p["errors"][0]["pointer"], "/id");
    s.assert_nothing_stored().await;
}

#[tokio::test]
async fn validation_errors_point_at_the_field_with_the_cores_rules() {
    let s = setup().await;
    let base = sample_report(1);

    let mut r = base.clone();
    r["location"]["lat"] = Value::from(91.0);
    let p = s.expect_invalid(&r, &["/location/lat"]).await;
    assert_eq!(p["errors"][0]["detail"], "lat is out of range");

    let mut r = base.clone();
    r["location"]["lon"] = Value::from(-181.0);
    s.expect_invalid(&r, &["/location/lon"]).await;

    let mut r = base.clone();
    r["location"]["lat"] = Value::from(0.0);
    r["location"]["lon"] = Value::from(0.0);
    s.expect_invalid(&r, &["/location"]).await;

    let mut r = base.clone();
    r["location"]
        .as_object_mut()
        .expect("object")
        .remove("accuracy_m");
    s.expect_invalid(&r, &["/location/accuracy_m"]).await;

    let mut r = base.clone();
    r["location"]["accuracy_m"] = Value::from(-3.0);
    s.expect_invalid(&r, &["/location/accuracy_m"]).await;

    let mut r = base.clone();
    r["location"]["lat"] = Value::from("37.5");
    s.expect_invalid(&r, &["/location/lat"]).await;

    let mut r = base.clone();
    r["location"]
        .as_object_mut()
        .expect("object")
        .remove("fix_time");
    s.expect_invalid(&r, &["/location/fix_time"]).await;

    let mut r = base.clone();
    r["note"] = Value::from("dark\u{0007}alley");
    let p = s.expect_invalid(&r, &["/note"]).await;
    assert!(
        !p.to_string().contains("dark"),
        "the note is not echoed: {p}"
    );

    let mut r = base.clone();
    r["note"] = Value::from("가".repeat(2001));
    s.expect_invalid(&r, &["/note"]).await;

    let mut r = base.clone();
    r["category"] = Value::from("Crime Risk");
    s.expect_invalid(&r, &["/category"]).await;

    let mut r = base.clone();
    r["category"] = Value::from("graffiti");
    let p = s.expect_invalid(&r, &["/category"]).await;
    assert!(
        p["errors"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("not in the station")
    );

    let mut r = base.clone();
    r.as_object_mut().expect("object").remove("created_at");
    s.expect_invalid(&r, &["/created_at"]).await;

    let mut r = base.clone();
    r["photos"][0]["size"] = Value::from("big");
    s.expect_invalid(&r, &["/photos/0/size"]).await;

    // Manifest rules: several errors at once, each pointed at.
    let mut r = base.clone();
    r["photos"] = serde_json::json!([
        {"sha256": "ABC", "size": 0, "content_type": "image/png"},
        {"sha256": "aa".repeat(32), "size": 10, "content_type": "image/jpeg"},
        {"sha256": "aa".repeat(32), "size": 10, "content_type": "image/jpeg"},
    ]);
    s.expect_invalid(
        &r,
        &[
            "/photos/0/sha256",
            "/photos/0/size",
            "/photos/0/content_type",
            "/photos/2/sha256",
        ],
    )
    .await;

    let mut r = base.clone();
    r["photos"] = Value::Array(
        (0..5)
            .map(|i| serde_json::json!({"sha256": format!("{i:064x}"), "size": 10, "content_type": "image/jpeg"}))
            .collect(),
    );
    s.expect_invalid(&r, &["/photos"]).await;

    s.assert_nothing_stored().await;
}

#[tokio::test]
async fn a_created_at_only_a_wrong_phone_clock_can_give_is_422_at_created_at() {
    let s = setup().await;
    let base = sample_report(1);

    let mut r = base.clone();
    r["created_at"] = Value::from("9999-01-01T00:00:00+09:00");
    let p = s.expect_invalid(&r, &["/created_at"]).await;
    let detail = p["errors"][0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("more than 24 hours in the future"), "{p}");
    assert!(detail.contains("clock"), "{p}");
    assert_eq!(p["detail"], format!("/created_at: {detail}"));

    // A clock reset to 1970, and the last second before 2020.
    for before in ["1970-01-01T09:00:00+09:00", "2019-12-31T23:59:59Z"] {
        let mut r = base.clone();
        r["created_at"] = Value::from(before);
        let p = s.expect_invalid(&r, &["/created_at"]).await;
        assert!(
            p["errors"][0]["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("before 2020-01-01"),
            "{p}"
        );
    }

    // Two days ahead of the station's clock: refused like the year 9999.
    let mut r = base.clone();
    let ahead = chrono::Utc::now() + chrono::Duration::hours(48);
    r["created_at"] = Value::from(ahead.to_rfc3339());
    s.expect_invalid(&r, &["/created_at"]).await;

    // With an unknown category too, both are pointed at, in body order.
    let mut r = base.clone();
    r["category"] = Value::from("graffiti");
    r["created_at"] = Value::from("9999-01-01T00:00:00Z");
    s.expect_invalid(&r, &["/category", "/created_at"]).await;

    s.assert_nothing_stored().await;
}

#[tokio::test]
async fn a_created_at_a_few_hours_ahead_of_the_station_is_clock_skew_and_stored() {
    let s = setup().await;
    let mut r = sample_report(0);
    let ahead = chrono::Utc::now() + chrono::Duration::hours(23);
    r["created_at"] = Value::from(ahead.to_rfc3339());
    let response = s.server.put_report(&s.token, &id_of(&r), &r).await;
    assert_eq!(response.status(), 201);
    s.server.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let s = setup().await;
    let p = problem(
        s.server
            .http
            .get(s.server.url("/v1/nothing"))
            .send()
            .await
            .expect("request"),
        404,
    )
    .await;
    assert_eq!(p["type"], "/problems/not-found");
    let p = problem(
        s.server
            .http
            .delete(
                s.server
                    .url(&format!("/v1/reports/{}", id_of(&sample_report(0)))),
            )
            .bearer_auth(&s.token)
            .send()
            .await
            .expect("request"),
        405,
    )
    .await;
    assert_eq!(p["type"], "/problems/method-not-allowed");
    s.assert_nothing_stored().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_stays_locked_gets_503_with_retry_after_and_nothing_stored() {
    if common::skip_on_postgres("holds SQLite's file lock; see postgres.rs for PostgreSQL") {
        return;
    }
    let s = setup().await;
    // Another process-like writer holds the write lock past the busy timeout.
    let blocker = rusqlite::Connection::open(s.server.dir.path().join("station.db")).expect("db");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let report = sample_report(1);
    let response = s
        .server
        .put_report(&s.token, &id_of(&report), &report)
        .await;
    assert!(response.headers().get("retry-after").is_some());
    let p = problem(response, 503).await;
    assert_eq!(p["type"], "/problems/unavailable");
    blocker.execute_batch("ROLLBACK").expect("unlock");
    drop(blocker);
    // Once the lock is gone the same PUT goes through: the retry is safe.
    assert_eq!(
        s.server
            .put_report(&s.token, &id_of(&report), &report)
            .await
            .status(),
        201
    );
    assert_eq!(s.server.count_rows("reports"), 1);
    s.server.stop().await;
}
