//! Probes, metrics, the OpenAPI document and graceful shutdown.

mod common;

use common::{TestServer, id_of, sample_report};
use serde_json::Value;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let server = TestServer::start().await;
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let ready = server
        .http
        .get(server.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "ok");

    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let report = sample_report(0);
    assert_eq!(
        server
            .put_report(&token, &id_of(&report), &report)
            .await
            .status(),
        201
    );

    let metrics = server.metrics_text().await;
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(
        metrics.contains(r#"route="/v1/reports/{id}""#),
        "labelled by template: {metrics}"
    );
    assert!(!metrics.contains(&id_of(&report)), "no ids in metrics");
    assert!(metrics.contains("reports_received_total"));
    server.stop().await;
}

#[tokio::test]
async fn readiness_fails_with_503_when_the_database_is_gone() {
    if common::skip_on_postgres("removes the SQLite file; see postgres.rs for PostgreSQL") {
        return;
    }
    let server = TestServer::start().await;
    // Make the database unreadable for new connections: replace the file by a directory.
    let db = server.dir.path().join("station.db");
    std::fs::remove_file(&db).expect("remove db");
    let _ = std::fs::remove_file(server.dir.path().join("station.db-wal"));
    let _ = std::fs::remove_file(server.dir.path().join("station.db-shm"));
    std::fs::create_dir(&db).expect("block path");
    // Readers are pooled: open enough fresh connections to hit the broken path.
    let mut saw_503 = false;
    for _ in 0..12 {
        let response = server
            .http
            .get(server.url("/readyz"))
            .send()
            .await
            .expect("readyz");
        if response.status() == 503 {
            assert!(response.headers().get("retry-after").is_some());
            saw_503 = true;
            break;
        }
    }
    assert!(saw_503, "readiness must notice the database is gone");
    server.stop().await;
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_describes_the_api() {
    let server = TestServer::start().await;
    let response = server
        .http
        .get(server.url("/v1/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.expect("json");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    // Every path the phone and the station name in the shared model is served.
    for path in postcso_model::routes::ALL
        .iter()
        .copied()
        .chain(["/healthz", "/readyz"])
    {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
    assert!(
        doc["paths"]["/v1/reports/{id}"]["put"]["responses"]
            .get("409")
            .is_some()
    );
    assert!(
        doc["paths"]["/v1/sessions/current"]["delete"]["responses"]
            .get("204")
            .is_some(),
        "sign-out is documented"
    );
    assert!(
        doc["components"]["securitySchemes"]
            .get("device_token")
            .is_some()
    );
    assert!(doc["components"]["schemas"].get("Problem").is_some());

    // The documented report schema lists exactly the fields the core puts on
    // the wire (the optional ones set, so that they are written).
    let mut full = sample_report(1);
    full["zones"] = serde_json::json!(["district-11410"]);
    full["district"] = serde_json::json!("district-11410");
    full["follow_up_of"] = full["id"].clone();
    let wire_report: postcso_model::ReportContent =
        serde_json::from_value(full).expect("a full report parses");
    let mut wire: Vec<String> = serde_json::to_value(wire_report)
        .expect("writes")
        .as_object()
        .expect("object")
        .keys()
        .cloned()
        .collect();
    let mut documented: Vec<String> = doc["components"]["schemas"]["ReportContent"]["properties"]
        .as_object()
        .expect("ReportContent schema")
        .keys()
        .cloned()
        .collect();
    wire.sort();
    documented.sort();
    assert_eq!(documented, wire);
    let mut location: Vec<String> = sample_report(0)["location"]
        .as_object()
        .expect("location")
        .keys()
        .cloned()
        .collect();
    location.push("altitude_m".into());
    location.sort();
    let mut documented: Vec<String> = doc["components"]["schemas"]["GeoPoint"]["properties"]
        .as_object()
        .expect("GeoPoint schema")
        .keys()
        .cloned()
        .collect();
    documented.sort();
    assert_eq!(documented, location);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_requests_in_flight_finish() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let report = sample_report(1);
        let http = server.http.clone();
        let url = server.url(&format!("/v1/reports/{}", id_of(&report)));
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            http.put(url)
                .bearer_auth(token)
                .json(&report)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let dir = server.stop_keeping_dir().await;
    let mut accepted = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(201) => accepted += 1,
            Ok(other) => panic!("unexpected status {other}"),
            // Refused after shutdown began: fine, as long as nothing is half-stored.
            Err(_) => {}
        }
    }
    let reports = common::count_rows_in(dir.path(), "reports");
    let photos = common::count_rows_in(dir.path(), "report_photos");
    assert_eq!(reports, accepted, "every 201 is stored, nothing else");
    assert_eq!(photos, reports, "no report without its manifest");
}
