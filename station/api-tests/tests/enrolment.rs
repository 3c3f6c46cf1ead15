//! Device enrolment: codes work once, expire, are rate-limited; revoked
//! devices are refused on their next request.

mod common;

use chrono::{Duration, Utc};
use common::{TestServer, count, id_of, parallel_statuses, problem, sample_report, test_config};
use postcso_station::config::{RateLimit, ServerConfig};
use serde_json::Value;

#[tokio::test]
async fn a_code_enrols_once_and_returns_a_256_bit_token_with_categories() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let code = server.codes(&station, 1, Duration::days(7)).await.remove(0);

    // Typed sloppily: lower case, spaces instead of dashes.
    let typed = code.to_lowercase().replace('-', " ");
    let response = server.enrol(&typed).await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let body: Value = response.json().await.expect("json");
    let token = body["token"].as_str().expect("token");
    assert!(token.starts_with("pcd_"));
    assert_eq!(token.len(), 4 + 43, "32 bytes in unpadded base64url");
    assert_eq!(body["station"]["slug"], "seodaemun");
    assert_eq!(body["label"], "carrier-001");
    assert_eq!(body["categories"].as_array().map(Vec::len), Some(6));
    assert_eq!(body["categories"][0]["code"], "crime_risk");

    // The token is stored only as its hash.
    let stored = common::first_row(server.dir.path(), "SELECT token_hash FROM devices").remove(0);
    assert_ne!(stored, token);
    assert_eq!(stored, postcso_station::auth::hash_secret(token));

    // The device can call the API with it.
    let report = sample_report(0);
    assert_eq!(
        server
            .put_report(token, &id_of(&report), &report)
            .await
            .status(),
        201
    );

    // Second redemption: refused, and no second device.
    let again = problem(server.enrol(&code).await, 409).await;
    assert_eq!(again["type"], "/problems/enrolment-code-used");
    assert_eq!(server.count_rows("devices"), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_redemptions_of_one_code_enrol_exactly_one_device() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let code = server.codes(&station, 1, Duration::days(7)).await.remove(0);
    let statuses = parallel_statuses(10, || {
        server
            .http
            .post(server.url("/v1/devices/enrol"))
            .json(&serde_json::json!({ "code": code }))
    })
    .await;
    assert_eq!(count(&statuses, 201), 1, "{statuses:?}");
    assert_eq!(count(&statuses, 409), 9, "{statuses:?}");
    assert_eq!(server.count_rows("devices"), 1);
    server.stop().await;
}

#[tokio::test]
async fn expired_and_unknown_codes_are_refused() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let expired = server
        .codes(&station, 1, Duration::seconds(-1))
        .await
        .remove(0);
    let body = problem(server.enrol(&expired).await, 410).await;
    assert_eq!(body["type"], "/problems/enrolment-code-expired");

    let body = problem(server.enrol("AAAAA-BBBBB-CCCCC-DDDDD").await, 401).await;
    assert_eq!(body["type"], "/problems/enrolment-code-invalid");

    let body = problem(server.enrol(" - ").await, 422).await;
    assert_eq!(body["errors"][0]["pointer"], "/code");

    let response = server
        .http
        .post(server.url("/v1/devices/enrol"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("request");
    let body = problem(response, 422).await;
    assert_eq!(body["errors"][0]["pointer"], "/code");
    assert_eq!(server.count_rows("devices"), 0);
    server.stop().await;
}

#[tokio::test]
async fn enrolment_is_rate_limited_per_client_address() {
    let server = TestServer::start_with(ServerConfig {
        enrol_rate: RateLimit::new(1, 3),
        ..test_config()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(server.enrol("AAAAA-BBBBB-CCCCC-DDDDD").await.status(), 401);
    }
    let response = server.enrol("AAAAA-BBBBB-CCCCC-DDDDD").await;
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .expect("Retry-After seconds");
    assert!(retry_after >= 1);
    let body = problem(response, 429).await;
    assert_eq!(body["type"], "/problems/rate-limited");
    server.stop().await;
}

#[tokio::test]
async fn a_revoked_device_is_refused_on_its_next_request_and_its_reports_stay() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let report = sample_report(1);
    let id = id_of(&report);
    assert_eq!(server.put_report(&token, &id, &report).await.status(), 201);

    let devices = server.repo.list_devices(station.id).await.expect("devices");
    let (revoked, newly) = server
        .repo
        .revoke_device(station.id, &devices[0].label, Utc::now())
        .await
        .expect("revoke");
    assert!(newly);
    assert!(revoked.revoked_at.is_some());

    let body = problem(server.put_report(&token, &id, &report).await, 401).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("revoked")
    );
    problem(server.get_report(&token, &id).await, 401).await;

    // Revoking again is not an error, and the delivered report is still there.
    let (_, newly) = server
        .repo
        .revoke_device(station.id, &revoked.id.to_string(), Utc::now())
        .await
        .expect("revoke again");
    assert!(!newly);
    assert_eq!(server.count_rows("reports"), 1);
    server.stop().await;
}

#[tokio::test]
async fn requests_without_valid_credentials_get_401_with_www_authenticate() {
    let server = TestServer::start().await;
    let report = sample_report(0);
    let id = id_of(&report);
    for auth in [
        None,
        Some("Bearer pcd_not-a-real-token"),
        Some("Basic dXNlcjpwdw=="),
        Some("Bearer xyz"),
    ] {
        let mut request = server
            .http
            .put(server.url(&format!("/v1/reports/{id}")))
            .json(&report);
        if let Some(value) = auth {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("request");
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
        problem(response, 401).await;
    }
    assert_eq!(server.count_rows("reports"), 0);
    server.stop().await;
}
