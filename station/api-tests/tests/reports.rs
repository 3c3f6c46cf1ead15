//! Report intake and reading: idempotent PUT, exactly-once under concurrency,
//! who may read what, and tenant isolation.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{TestServer, count, id_of, parallel_statuses, problem, sample_report};
use postcso_model::{ReportContent, content_hash};
use postcso_station::auth::Role;
use postcso_station::repo::PutOutcome;
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
    // Several rounds: a race between the first deliveries is rare in any one.
    for round in 0..5u8 {
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
        assert_eq!(count(&statuses, 201), 1, "round {round}: {statuses:?}");
        assert_eq!(count(&statuses, 200), 19, "round {round}: {statuses:?}");
        assert_eq!(server.count_rows("reports"), i64::from(round + 1));
        assert_eq!(server.count_rows("report_photos"), 3 * i64::from(round + 1));
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_puts_is_committed_together_and_each_gets_its_own_answer() {
    // Concurrent PUTs share group-committed transactions; a conflict in a
    // batch must fail alone and every report of it must be stored once.
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let contested = sample_report(1);
    let contested_id = id_of(&contested);
    let mut bodies: Vec<(String, Value)> = (0..30)
        .map(|_| {
            let report = sample_report(2);
            (id_of(&report), report)
        })
        .collect();
    for i in 0..10 {
        let mut variant = contested.clone();
        variant["note"] = Value::from(format!("다른 내용 {i}"));
        bodies.push((contested_id.clone(), variant));
    }
    bodies.push((contested_id.clone(), contested));
    let next = AtomicUsize::new(0);
    let statuses = parallel_statuses(bodies.len(), || {
        let (id, body) = &bodies[next.fetch_add(1, Ordering::Relaxed)];
        server
            .http
            .put(server.url(&format!("/v1/reports/{id}")))
            .bearer_auth(&token)
            .json(body)
    })
    .await;
    assert_eq!(count(&statuses[..30], 201), 30, "{statuses:?}");
    let on_contested = &statuses[30..];
    assert_eq!(count(on_contested, 201), 1, "{on_contested:?}");
    assert_eq!(count(on_contested, 409), 10, "{on_contested:?}");
    assert_eq!(server.count_rows("reports"), 31);
    assert_eq!(server.count_rows("report_photos"), 30 * 2 + 1);
    for (id, body) in &bodies[..30] {
        let stored = server.report_json(&token, id).await;
        assert_eq!(stored["id"], body["id"]);
    }
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

#[tokio::test]
async fn a_retry_of_a_report_stored_before_its_category_was_retired_is_still_200() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let admin = server.staff(&station, "kim", Role::Admin).await;
    let mut report = sample_report(0);
    report["category"] = Value::from("other");
    let id = id_of(&report);
    assert_eq!(
        server.put_report(&carrier, &id, &report).await.status(),
        201
    );

    let retired = server
        .http
        .post(server.url("/v1/categories/other/retire"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("retire");
    assert_eq!(retired.status(), 200);

    let retry = server.put_report(&carrier, &id, &report).await;
    assert_eq!(retry.status(), 200);
    let body: Value = retry.json().await.expect("json");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["content"]["category"], "other");

    // New reports, and changed content under the stored id, are refused.
    let mut changed = report.clone();
    changed["note"] = Value::from("changed");
    let p = problem(server.put_report(&carrier, &id, &changed).await, 422).await;
    assert_eq!(p["errors"][0]["pointer"], "/category");
    let mut late = sample_report(0);
    late["category"] = Value::from("other");
    let p = problem(server.put_report(&carrier, &id_of(&late), &late).await, 422).await;
    assert_eq!(p["errors"][0]["pointer"], "/category");
    assert_eq!(server.count_rows("reports"), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_retry_of_a_report_stored_before_the_created_at_rule_is_still_200() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let other_carrier = server.device(&station).await;
    // The device's id, from a report it delivers.
    let first = sample_report(0);
    let response = server.put_report(&carrier, &id_of(&first), &first).await;
    assert_eq!(response.status(), 201);
    let device_id: uuid::Uuid = response.json::<Value>().await.expect("json")["device_id"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("device id");

    // Stored as the station stored it before the rule: straight into the repository.
    let mut report = sample_report(0);
    report["created_at"] = Value::from("9999-01-01T00:00:00+09:00");
    let id = id_of(&report);
    let content: ReportContent = serde_json::from_value(report.clone()).expect("content");
    let stored = server
        .repo
        .put_report(
            station.id,
            device_id,
            content.clone(),
            content_hash(&content),
            postcso_station::repo::Placement::default(),
            chrono::Utc::now(),
        )
        .await
        .expect("store");
    assert!(matches!(stored, PutOutcome::Created(_)));

    let retry = server.put_report(&carrier, &id, &report).await;
    assert_eq!(retry.status(), 200);
    let body: Value = retry.json().await.expect("json");
    assert_eq!(body["content_hash"], content_hash(&content).as_str());

    // Anything else with that created_at is refused at it.
    let mut changed = report.clone();
    changed["note"] = Value::from("changed");
    let p = problem(server.put_report(&carrier, &id, &changed).await, 422).await;
    assert_eq!(p["errors"][0]["pointer"], "/created_at");
    let p = problem(server.put_report(&other_carrier, &id, &report).await, 422).await;
    assert_eq!(p["errors"][0]["pointer"], "/created_at");
    assert_eq!(server.count_rows("reports"), 2);
    server.stop().await;
}
