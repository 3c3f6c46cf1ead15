//! Inspections: supervisors assign, the assigned inspector reads (with photos)
//! and records findings; carriers see the status change; everything audited.

mod common;

use common::{TestServer, Tus, fixture_photo, id_of, problem, report_with_photos};
use postcso_station::auth::Role;
use serde_json::{Value, json};

#[tokio::test]
async fn a_supervisor_assigns_and_only_the_assigned_inspector_reads_and_records() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let mapo = server.station("mapo").await;
    let carrier = server.device(&station).await;
    let supervisor = server.staff(&station, "kim", Role::Supervisor).await;
    let lee = server.staff(&station, "lee", Role::Inspector).await;
    let yoon = server.staff(&station, "yoon", Role::Inspector).await;
    let admin = server.staff(&station, "park", Role::Admin).await;
    let mapo_supervisor = server.staff(&mapo, "choi", Role::Supervisor).await;
    let _mapo_inspector = server.staff(&mapo, "seo", Role::Inspector).await;

    let photo = fixture_photo("npm-exif-0.6.0/evil1.jpg");
    let report = report_with_photos(&[&photo]);
    let id = id_of(&report);
    assert_eq!(
        server.put_report(&carrier, &id, &report).await.status(),
        201
    );
    Tus::new(&server, carrier.clone())
        .upload(&id, &photo, 40_000)
        .await;

    let send = |request: reqwest::RequestBuilder, token: &str| {
        let request = request.bearer_auth(token);
        async move { request.send().await.expect("request") }
    };
    let assign = |token: String, inspector: &str| {
        let request = server
            .http
            .post(server.url(&format!("/v1/reports/{id}/inspection")))
            .json(&json!({ "inspector": inspector }));
        send(request, &token)
    };
    let photo_url = server.url(&format!("/v1/reports/{id}/photos/0"));
    let detail_url = server.url(&format!("/v1/inspections/{id}"));
    let findings_url = server.url(&format!("/v1/inspections/{id}/findings"));
    let findings = json!({
        "findings": "가로등 2기 소등 확인",
        "outcome": "confirmed",
        "observed_at": chrono::Utc::now().to_rfc3339(),
    });

    // Before any assignment, inspectors see nothing of it.
    problem(server.get_report(&lee, &id).await, 404).await;
    problem(send(server.http.get(&photo_url), &lee).await, 404).await;
    problem(send(server.http.get(&detail_url), &lee).await, 404).await;

    // Who may assign, and to whom.
    for token in [&lee, &admin] {
        problem(assign(token.clone(), "lee").await, 403).await;
    }
    problem(assign(carrier.clone(), "lee").await, 403).await;
    let body = problem(assign(supervisor.clone(), "park").await, 422).await;
    assert_eq!(body["errors"][0]["pointer"], "/inspector");
    problem(assign(supervisor.clone(), "seo").await, 422).await; // mapo's inspector
    problem(assign(mapo_supervisor.clone(), "seo").await, 404).await; // not mapo's report

    let response = assign(supervisor.clone(), "lee").await;
    assert_eq!(response.status(), 200);
    let inspection: Value = response.json().await.expect("json");
    assert_eq!(inspection["inspector"], "lee");
    assert_eq!(inspection["findings"], Value::Null);
    // The carrier sees the status change, on GET and in its feed.
    assert_eq!(
        server.report_json(&carrier, &id).await["status"],
        "inspecting"
    );
    let feed: Value = send(server.http.get(server.url("/v1/changes")), &carrier)
        .await
        .json()
        .await
        .expect("feed");
    let statuses: Vec<&Value> = feed["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["kind"] == "report_status")
        .collect();
    assert_eq!(
        statuses.last().expect("a status entry")["status"],
        "inspecting"
    );
    // Same assignment again writes nothing.
    let audit_rows = server.count_rows("audit_log");
    assert_eq!(assign(supervisor.clone(), "lee").await.status(), 200);
    assert_eq!(server.count_rows("audit_log"), audit_rows);

    // lee reads the report, its photo and the inspection; yoon does not.
    assert_eq!(server.report_json(&lee, &id).await["content"]["id"], id);
    let response = send(server.http.get(&photo_url), &lee).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.expect("bytes").as_ref(), photo);
    let detail: Value = send(server.http.get(&detail_url), &lee)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(detail["report"]["photos"][0]["received"], true);
    problem(server.get_report(&yoon, &id).await, 404).await;
    problem(send(server.http.get(&photo_url), &yoon).await, 404).await;
    problem(send(server.http.get(&detail_url), &yoon).await, 404).await;
    let mine: Value = send(server.http.get(server.url("/v1/inspections")), &lee)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(mine.as_array().expect("list").len(), 1);
    let theirs: Value = send(server.http.get(server.url("/v1/inspections")), &yoon)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(theirs, json!([]));
    let all: Value = send(server.http.get(server.url("/v1/inspections")), &supervisor)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(all.as_array().expect("list").len(), 1);
    problem(
        send(server.http.get(server.url("/v1/inspections")), &admin).await,
        403,
    )
    .await;

    // Recording: only the assigned inspector, valid findings only.
    let record = |token: String, body: Value| {
        let request = server.http.put(&findings_url).json(&body);
        send(request, &token)
    };
    problem(record(yoon.clone(), findings.clone()).await, 404).await;
    problem(record(supervisor.clone(), findings.clone()).await, 403).await;
    let mut empty = findings.clone();
    empty["findings"] = json!("   ");
    assert_eq!(
        problem(record(lee.clone(), empty).await, 422).await["errors"][0]["pointer"],
        "/findings"
    );
    let mut future = findings.clone();
    future["observed_at"] = json!((chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339());
    problem(record(lee.clone(), future).await, 422).await;
    let mut unknown = findings.clone();
    unknown["outcome"] = json!("maybe");
    problem(record(lee.clone(), unknown).await, 422).await;

    let response = record(lee.clone(), findings.clone()).await;
    assert_eq!(response.status(), 200);
    let recorded: Value = response.json().await.expect("json");
    assert_eq!(recorded["findings"]["outcome"], "confirmed");
    assert_eq!(recorded["findings"]["text"], "가로등 2기 소등 확인");
    let detail: Value = send(server.http.get(&detail_url), &supervisor)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(detail["inspection"]["findings"]["outcome"], "confirmed");

    // Supervisors see an `inspected` event; the carrier's feed does not.
    let events: Value = send(server.http.get(server.url("/v1/changes")), &supervisor)
        .await
        .json()
        .await
        .expect("feed");
    let last = events["changes"]
        .as_array()
        .expect("changes")
        .last()
        .cloned();
    assert_eq!(last.expect("entry")["event"], "inspected");
    let carrier_feed: Value = send(server.http.get(server.url("/v1/changes")), &carrier)
        .await
        .json()
        .await
        .expect("feed");
    assert!(
        !carrier_feed.to_string().contains("inspected"),
        "{carrier_feed}"
    );

    // Re-assigning to yoon moves access and clears the findings.
    assert_eq!(assign(supervisor.clone(), "yoon").await.status(), 200);
    problem(server.get_report(&lee, &id).await, 404).await;
    assert_eq!(server.get_report(&yoon, &id).await.status(), 200);
    let detail: Value = send(server.http.get(&detail_url), &yoon)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(detail["inspection"]["findings"], Value::Null);

    // The audit trail: assignment, status, findings (never the text), reassignment.
    let audit: Value = send(server.http.get(server.url("/v1/audit")), &admin)
        .await
        .json()
        .await
        .expect("audit");
    let rows: Vec<&Value> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["target_id"] == id.as_str())
        .collect();
    let actions: Vec<&str> = rows
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .filter(|a| a.starts_with("inspection.") || *a == "report.status")
        .collect();
    assert_eq!(
        actions,
        [
            "inspection.assign",
            "report.status",
            "inspection.record",
            "inspection.assign"
        ]
    );
    let record_row = rows
        .iter()
        .find(|e| e["action"] == "inspection.record")
        .expect("record row");
    assert_eq!(record_row["actor_username"], "lee");
    assert_eq!(record_row["actor_role"], "inspector");
    assert_eq!(record_row["after"]["outcome"], "confirmed");
    assert!(!audit.to_string().contains("가로등 2기"));
    let reassign = rows.last().expect("row");
    assert_eq!(reassign["before"]["inspector"], "lee");
    assert_eq!(reassign["before"]["outcome"], "confirmed");
    assert_eq!(reassign["after"]["inspector"], "yoon");
    server.stop().await;
}
