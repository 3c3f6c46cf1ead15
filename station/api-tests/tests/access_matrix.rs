//! Walks every authenticated endpoint × caller kind × station and checks the
//! status against one table, denials included. New endpoints add a column.
//!
//! Writes that succeed would change what later rows see, so each write column
//! is sent in a form that stops right after the access check: a body that
//! fails validation (422) or a target that does not exist (404). A 422 or 404
//! therefore means "allowed in"; 401 and 403 are the denials. Reads use real
//! targets.

mod common;

use common::{TestServer, id_of, sample_report};
use postcso_station::auth::Role;
use serde_json::json;

/// Callers, in table order.
const CALLERS: [&str; 8] = [
    "nobody",
    "carrier device (owner)",
    "carrier device (other)",
    "carrier password user",
    "supervisor",
    "inspector (assigned)",
    "inspector (other)",
    "admin",
];

/// The endpoints, in column order.
const COLUMNS: [&str; 26] = [
    "GET own-station report",
    "GET other-station report",
    "PUT new report",
    "GET categories",
    "GET current session",
    "GET own-station photo",
    "GET changes",
    "GET audit",
    "POST categories (invalid)",
    "POST categories/{code}/retire (unknown)",
    "GET zones",
    "POST zones (invalid)",
    "PATCH zones/{code} (unknown)",
    "POST zones/{code}/retire (unknown)",
    "POST zones/import (invalid)",
    "GET zones/export",
    "POST reports/{id}/inspection (not an inspector)",
    "GET inspections",
    "GET inspections/{id}",
    "GET other-station inspections/{id}",
    "PUT inspections/{id}/findings (invalid)",
    "GET reports/{id}/nearby",
    "GET other-station reports/{id}/nearby",
    "POST reports/{id}/merge (into itself)",
    "POST other-station reports/{id}/merge",
    "DELETE current session (last: it signs the caller out)",
];

/// Expected statuses per caller, one column per entry of [`COLUMNS`].
#[rustfmt::skip]
const EXPECTED: [[u16; 26]; 8] = [
    // nobody
    [401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 401],
    // carrier device (owner)
    [200, 404, 201, 200, 403, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403],
    // carrier device (other)
    [404, 404, 201, 200, 403, 404, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403],
    // carrier password user
    [404, 404, 403, 200, 200, 404, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 204],
    // supervisor
    [200, 404, 403, 200, 200, 200, 200, 403, 403, 403, 200, 403, 403, 403, 403, 200, 422, 200, 200, 404, 403, 200, 404, 422, 404, 204],
    // inspector (assigned)
    [200, 404, 403, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200, 404, 422, 200, 404, 403, 403, 204],
    // inspector (other)
    [404, 404, 403, 200, 200, 404, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 404, 404, 404, 404, 404, 403, 403, 204],
    // admin
    [403, 403, 403, 200, 200, 404, 200, 200, 422, 404, 200, 422, 404, 404, 422, 200, 403, 403, 403, 403, 403, 200, 404, 403, 403, 204],
];

#[tokio::test]
async fn every_endpoint_role_and_station_gets_the_expected_status() {
    let server = TestServer::start().await;
    let home = server.station("seodaemun").await;
    let away = server.station("mapo").await;

    let owner = server.device(&home).await;
    let photo = common::fixture_photo("npm-exif-0.6.0/evil1.jpg");
    let home_report = common::report_with_photos(&[&photo]);
    let home_id = id_of(&home_report);
    assert_eq!(
        server
            .put_report(&owner, &home_id, &home_report)
            .await
            .status(),
        201
    );
    common::Tus::new(&server, owner.clone())
        .upload(&home_id, &photo, 40_000)
        .await;
    let away_device = server.device(&away).await;
    let away_report = sample_report(0);
    let away_id = id_of(&away_report);
    assert_eq!(
        server
            .put_report(&away_device, &away_id, &away_report)
            .await
            .status(),
        201
    );

    let supervisor = server.staff(&home, "supervisor", Role::Supervisor).await;
    let assigned = server.staff(&home, "inspector", Role::Inspector).await;
    let other_inspector = server.staff(&home, "inspector2", Role::Inspector).await;
    // Both reports are under inspection, so the other station's is a real target.
    for (token, id, inspector) in [
        (supervisor.clone(), &home_id, "inspector"),
        (
            server
                .staff(&away, "away-supervisor", Role::Supervisor)
                .await,
            &away_id,
            "away-inspector",
        ),
    ] {
        if inspector == "away-inspector" {
            server.staff(&away, inspector, Role::Inspector).await;
        }
        let response = server
            .http
            .post(server.url(&format!("/v1/reports/{id}/inspection")))
            .bearer_auth(token)
            .json(&json!({ "inspector": inspector }))
            .send()
            .await
            .expect("assign");
        assert_eq!(response.status(), 200, "setup: assign {id}");
    }

    let tokens: [Option<String>; 8] = [
        None,
        Some(owner),
        Some(server.device(&home).await),
        Some(server.staff(&home, "carrier", Role::Carrier).await),
        Some(supervisor),
        Some(assigned),
        Some(other_inspector),
        Some(server.staff(&home, "admin", Role::Admin).await),
    ];

    let mut mismatches = Vec::new();
    for ((name, token), expected) in CALLERS.iter().zip(&tokens).zip(EXPECTED) {
        let auth = |request: reqwest::RequestBuilder| match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let get = |path: String| auth(server.http.get(server.url(&path)));
        let post = |path: &str, body: serde_json::Value| {
            auth(server.http.post(server.url(path)).json(&body))
        };
        let fresh = sample_report(0);
        let requests = [
            get(format!("/v1/reports/{home_id}")),
            get(format!("/v1/reports/{away_id}")),
            auth(
                server
                    .http
                    .put(server.url(&format!("/v1/reports/{}", id_of(&fresh))))
                    .json(&fresh),
            ),
            get("/v1/categories".into()),
            get("/v1/sessions/current".into()),
            get(format!("/v1/reports/{home_id}/photos/0")),
            get("/v1/changes".into()),
            get("/v1/audit".into()),
            post(
                "/v1/categories",
                json!({"code": "Bad Code", "name_ko": "", "name_en": "", "guidance": ""}),
            ),
            post("/v1/categories/no_such_code/retire", json!({})),
            get("/v1/zones".into()),
            post("/v1/zones", json!({"code": "Bad Code", "name": ""})),
            auth(
                server
                    .http
                    .patch(server.url("/v1/zones/no-such-zone"))
                    .json(&json!({"name": "x"})),
            ),
            post("/v1/zones/no-such-zone/retire", json!({})),
            post(
                "/v1/zones/import",
                json!({"type": "FeatureCollection", "features": [{"type": "Feature"}]}),
            ),
            get("/v1/zones/export".into()),
            post(
                &format!("/v1/reports/{home_id}/inspection"),
                json!({"inspector": "admin"}),
            ),
            get("/v1/inspections".into()),
            get(format!("/v1/inspections/{home_id}")),
            get(format!("/v1/inspections/{away_id}")),
            auth(
                server
                    .http
                    .put(server.url(&format!("/v1/inspections/{home_id}/findings")))
                    .json(&json!({"findings": "", "outcome": "confirmed",
                                  "observed_at": "2026-11-29T10:00:00Z"})),
            ),
            get(format!("/v1/reports/{home_id}/nearby")),
            get(format!("/v1/reports/{away_id}/nearby")),
            post(
                &format!("/v1/reports/{home_id}/merge"),
                json!({ "into": home_id }),
            ),
            post(
                &format!("/v1/reports/{away_id}/merge"),
                json!({ "into": home_id }),
            ),
            auth(server.http.delete(server.url("/v1/sessions/current"))),
        ];
        for (column, (request, want)) in requests.into_iter().zip(expected).enumerate() {
            let got = request.send().await.expect("request").status().as_u16();
            if got != want {
                mismatches.push(format!(
                    "{name}, {}: got {got}, want {want}",
                    COLUMNS[column]
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    // Nothing in the table may have changed state but the sign-outs of the
    // last column: the write columns stop at validation or lookup.
    assert_eq!(server.count_rows("zones"), 0);
    assert_eq!(server.count_rows("categories"), 12);
    server.stop().await;
}
