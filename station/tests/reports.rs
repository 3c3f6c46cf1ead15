//! Report intake and reading: idempotent PUT, exactly-once under concurrency,
//! who may read what, and tenant isolation.

mod common;

use common::{TestServer, count, id_of, parallel_statuses, problem, sample_report};
use postcso_station::auth::Role;
use serde_json::Value;

#[tokio::test]
async fn put_is_201_then_200_with_the_stored_report_then_409_on_different_content() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let report = sample_report(2);
    let id = id_of(&report);

    let first = server.put_report(&token, &id, &report).await;
    assert_eq!(first.status(), 201);
    assert_eq!(
        first
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some(format!("/v1/reports/{id}").as_str())
    );
    let stored: Value = first.json().await.expect("json");
    assert_eq!(stored["id"], id.as_str());
    assert_eq!(stored["status"], "received");
    assert_eq!(stored["complete"], false, "photos have not arrived yet");
    assert_eq!(stored["content"], report);
    assert_eq!(stored["photos"].as_array().map(Vec::len), Some(2));
    assert_eq!(stored["photos"][0]["received"], false);

    let retry = server.put_report(&token, &id, &report).await;
    assert_eq!(retry.status(), 200);
    let again: Value = retry.json().await.expect("json");
    assert_eq!(again, stored, "a retry returns the stored report unchanged");

    let mut changed = report.clone();
    changed["note"] = Value::from("다른 내용");
    let body = problem(server.put_report(&token, &id, &changed).await, 409).await;
    assert_eq!(body["type"], "/problems/report-id-conflict");

    assert_eq!(server.count_rows("reports"), 1);
    assert_eq!(server.count_rows("report_photos"), 2);
    server.stop().await;
}

#[tokio::test]
async fn a_report_without_photos_is_complete_and_unknown_fields_are_ignored() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let mut report = sample_report(0);
    report["mood"] = Value::from("a field from a newer app");
    report["location"]["floor"] = Value::from(3);
    let id = id_of(&report);
    let response = server.put_report(&token, &id, &report).await;
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.expect("json");
    assert_eq!(stored["complete"], true);
    assert!(stored["content"].get("mood").is_none());
    // The same body with the unknown fields again is the same content.
    assert_eq!(server.put_report(&token, &id, &report).await.status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_puts_of_one_report_store_it_exactly_once() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let report = sample_report(3);
    let id = id_of(&report);
    let statuses = parallel_statuses(20, || {
        server
            .http
            .put(server.url(&format!("/v1/reports/{id}")))
            .bearer_auth(&token)
            .json(&report)
    })
    .await;
    assert_eq!(count(&statuses, 201), 1, "{statuses:?}");
    assert_eq!(count(&statuses, 200), 19, "{statuses:?}");
    assert_eq!(server.count_rows("reports"), 1);
    assert_eq!(server.count_rows("report_photos"), 3);
    server.stop().await;
}

#[tokio::test]
async fn the_filing_carrier_reads_status_only_and_other_carriers_nothing() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let mine = server.device(&station).await;
    let other = server.device(&station).await;
    let report = sample_report(1);
    let id = id_of(&report);
    assert_eq!(server.put_report(&mine, &id, &report).await.status(), 201);

    let response = server.get_report(&mine, &id).await;
    assert_eq!(response.status(), 200);
    let view: Value = response.json().await.expect("json");
    assert_eq!(view["id"], id.as_str());
    assert_eq!(view["status"], "received");
    assert_eq!(view["photos_missing"], 1);
    assert!(view.get("content").is_none(), "status only: {view}");

    problem(server.get_report(&other, &id).await, 404).await;

    // Nor can another carrier overwrite it, even with the same content.
    problem(server.put_report(&other, &id, &report).await, 409).await;
    server.stop().await;
}

#[tokio::test]
async fn supervisors_read_everything_of_their_station_and_nothing_across_stations() {
    let server = TestServer::start().await;
    let seodaemun = server.station("seodaemun").await;
    let mapo = server.station("mapo").await;
    let carrier = server.device(&seodaemun).await;
    let supervisor = server.staff(&seodaemun, "kim", Role::Supervisor).await;
    let foreign_supervisor = server.staff(&mapo, "lee", Role::Supervisor).await;
    let foreign_carrier = server.device(&mapo).await;
    let report = sample_report(2);
    let id = id_of(&report);
    assert_eq!(
        server.put_report(&carrier, &id, &report).await.status(),
        201
    );

    let response = server.get_report(&supervisor, &id).await;
    assert_eq!(response.status(), 200);
    let view: Value = response.json().await.expect("json");
    assert_eq!(view["content"], report);
    assert_eq!(
        view["photos"][1]["received"], false,
        "missing photos are listed"
    );

    problem(server.get_report(&foreign_supervisor, &id).await, 404).await;
    problem(server.get_report(&foreign_carrier, &id).await, 404).await;
    // The same id from another station cannot take or overwrite it.
    problem(server.put_report(&foreign_carrier, &id, &report).await, 409).await;
    assert_eq!(server.count_rows("reports"), 1);
    server.stop().await;
}

#[tokio::test]
async fn roles_that_may_not_read_reports_get_403_and_staff_cannot_file_reports() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let report = sample_report(0);
    let id = id_of(&report);
    assert_eq!(
        server.put_report(&carrier, &id, &report).await.status(),
        201
    );
    // Admins never read reports; inspectors read only those assigned to them
    // (inspections.rs), so an unassigned one is answered as if it did not exist.
    for (name, role, read) in [
        ("admin1", Role::Admin, 403),
        ("inspector1", Role::Inspector, 404),
    ] {
        let token = server.staff(&station, name, role).await;
        problem(server.get_report(&token, &id).await, read).await;
        let fresh = sample_report(0);
        problem(server.put_report(&token, &id_of(&fresh), &fresh).await, 403).await;
    }
    // A password carrier (no device) cannot read device-owned reports.
    let staff_carrier = server.staff(&station, "carrier1", Role::Carrier).await;
    problem(server.get_report(&staff_carrier, &id).await, 404).await;
    server.stop().await;
}

#[tokio::test]
async fn categories_come_from_the_callers_station() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let response = server
        .http
        .get(server.url("/v1/categories"))
        .bearer_auth(&carrier)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let list: Value = response.json().await.expect("json");
    let codes: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "crime_risk",
            "safety_facility",
            "traffic_risk",
            "parcel_theft",
            "resident_anxiety",
            "other"
        ]
    );
    assert!(list[0]["guidance"].as_str().is_some_and(|g| !g.is_empty()));
    server.stop().await;
}
