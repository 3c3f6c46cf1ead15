//! Triage by supervisors, with an append-only audit log that admins read and
//! export.

mod common;

use common::{TestServer, id_of, problem, sample_report};
use postcso_station::auth::Role;
use serde_json::{Value, json};

#[tokio::test]
async fn supervisors_triage_and_every_decision_is_audited() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let mapo = server.station("mapo").await;
    let carrier = server.device(&station).await;
    let supervisor = server.staff(&station, "kim", Role::Supervisor).await;
    let admin = server.staff(&station, "park", Role::Admin).await;
    let inspector = server.staff(&station, "lee", Role::Inspector).await;
    let other_supervisor = server.staff(&mapo, "choi", Role::Supervisor).await;
    let other_admin = server.staff(&mapo, "han", Role::Admin).await;
    let report = sample_report(0);
    let id = id_of(&report);
    assert_eq!(
        server.put_report(&carrier, &id, &report).await.status(),
        201
    );

    let patch = |token: &str, body: Value| {
        let request = server
            .http
            .patch(server.url(&format!("/v1/reports/{id}")))
            .bearer_auth(token)
            .json(&body);
        async move { request.send().await.expect("patch") }
    };

    let response = patch(&supervisor, json!({"status": "accepted"})).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "accepted");
    // Same decision again: 200, nothing new audited.
    assert_eq!(
        patch(&supervisor, json!({"status": "accepted"}))
            .await
            .status(),
        200
    );
    let response = patch(
        &supervisor,
        json!({"status": "rejected", "reason": "  사유: 사유지입니다  "}),
    )
    .await;
    assert_eq!(response.status(), 200);

    // Refusals.
    let body = problem(patch(&supervisor, json!({"status": "rejected"})).await, 422).await;
    assert_eq!(body["errors"][0]["pointer"], "/reason");
    let body = problem(patch(&supervisor, json!({"status": "received"})).await, 422).await;
    assert_eq!(body["errors"][0]["pointer"], "/status");
    problem(patch(&supervisor, json!({"status": "archived"})).await, 422).await;
    problem(
        patch(
            &supervisor,
            json!({"status": "fixed", "reason": "x".repeat(501)}),
        )
        .await,
        422,
    )
    .await;
    for token in [&carrier, &admin, &inspector] {
        problem(patch(token, json!({"status": "fixed"})).await, 403).await;
    }
    problem(
        patch(&other_supervisor, json!({"status": "fixed"})).await,
        404,
    )
    .await;

    // The carrier reads the status and the reason.
    let status: Value = server
        .get_report(&carrier, &id)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(status["status"], "rejected");
    assert_eq!(status["status_reason"], "사유: 사유지입니다");

    // The audit log: creation by the device, then two decisions by kim.
    let audit = |token: &str, query: &str| {
        let request = server
            .http
            .get(server.url(&format!("/v1/audit{query}")))
            .bearer_auth(token);
        async move { request.send().await.expect("audit") }
    };
    let page: Value = audit(&admin, "").await.json().await.expect("json");
    let all = page["entries"].as_array().expect("entries");
    // Enrolment, user and sign-in rows come first; the report's follow.
    let entries: Vec<&Value> = all
        .iter()
        .filter(|e| e["target_kind"] == "report")
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, ["report.create", "report.status", "report.status"]);
    assert_eq!(entries[0]["actor_role"], "carrier");
    assert!(entries[0]["actor_device_id"].is_string());
    let last = &entries[2];
    assert_eq!(last["actor_role"], "supervisor");
    assert_eq!(last["actor_username"], "kim");
    assert!(last["actor_user_id"].is_string());
    assert_eq!(last["target_id"], id.as_str());
    assert_eq!(
        last["before"],
        json!({"status": "accepted", "reason": null})
    );
    assert_eq!(last["after"]["status"], "rejected");
    // The log never holds the note or the position.
    let text = page.to_string();
    assert!(!text.contains(report["note"].as_str().expect("note")));
    assert!(!text.contains("37.5791"));
    // Paging.
    let after = entries[0]["seq"].as_u64().expect("seq");
    let page: Value = audit(&admin, &format!("?after={after}&limit=1"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["entries"].as_array().expect("entries").len(), 1);
    assert_eq!(page["entries"][0]["seq"].as_u64(), Some(after + 1));

    // CSV by query or by Accept.
    let csv = audit(&admin, "?format=csv").await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/csv")
    );
    let text = csv.text().await.expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("seq,at,actor_role"));
    assert_eq!(lines.len(), all.len() + 1);
    let by_accept = server
        .http
        .get(server.url("/v1/audit"))
        .bearer_auth(&admin)
        .header("Accept", "text/csv")
        .send()
        .await
        .expect("audit");
    assert_eq!(by_accept.text().await.expect("csv"), text);

    // Only admins, only their station.
    for token in [&supervisor, &inspector] {
        problem(audit(token, "").await, 403).await;
    }
    problem(audit(&carrier, "").await, 403).await;
    let theirs: Value = audit(&other_admin, "").await.json().await.expect("json");
    let theirs = theirs["entries"].as_array().expect("entries");
    assert!(!theirs.is_empty(), "mapo's own sign-ins are audited");
    assert!(theirs.iter().all(|e| e["target_id"] != id.as_str()
        && e["actor_username"] != "kim"
        && e["actor_username"] != "park"));

    // Append-only, enforced by the database itself.
    let dir = server.dir.path();
    assert!(common::count_rows_in(dir, "audit_log") > 0);
    assert!(common::db_sql(dir, "UPDATE audit_log SET action = 'x'").is_err());
    assert!(common::db_sql(dir, "DELETE FROM audit_log").is_err());
    assert!(common::count_rows_in(dir, "audit_log") > 0);
    server.stop().await;
}
