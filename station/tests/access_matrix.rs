//! Walks every authenticated endpoint × caller kind × station and checks the
//! status against one table, denials included. New endpoints add a column.

mod common;

use common::{TestServer, id_of, sample_report};
use postcso_station::auth::Role;

/// Callers, in table order.
const CALLERS: [&str; 7] = [
    "nobody",
    "carrier device (owner)",
    "carrier device (other)",
    "carrier password user",
    "supervisor",
    "inspector",
    "admin",
];

/// Expected statuses per caller:
/// GET own-station report, GET other-station report, PUT new report,
/// GET categories, GET current session.
const EXPECTED: [[u16; 5]; 7] = [
    [401, 401, 401, 401, 401],
    [200, 404, 201, 200, 403],
    [404, 404, 201, 200, 403],
    [404, 404, 403, 200, 200],
    [200, 404, 403, 200, 200],
    [403, 403, 403, 200, 200],
    [403, 403, 403, 200, 200],
];

#[tokio::test]
async fn every_endpoint_role_and_station_gets_the_expected_status() {
    let server = TestServer::start().await;
    let home = server.station("seodaemun").await;
    let away = server.station("mapo").await;

    let owner = server.device(&home).await;
    let home_report = sample_report(1);
    let home_id = id_of(&home_report);
    assert_eq!(
        server
            .put_report(&owner, &home_id, &home_report)
            .await
            .status(),
        201
    );
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

    let tokens: [Option<String>; 7] = [
        None,
        Some(owner),
        Some(server.device(&home).await),
        Some(server.staff(&home, "carrier", Role::Carrier).await),
        Some(server.staff(&home, "supervisor", Role::Supervisor).await),
        Some(server.staff(&home, "inspector", Role::Inspector).await),
        Some(server.staff(&home, "admin", Role::Admin).await),
    ];

    let mut mismatches = Vec::new();
    for ((name, token), expected) in CALLERS.iter().zip(&tokens).zip(EXPECTED) {
        let auth = |request: reqwest::RequestBuilder| match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        let fresh = sample_report(0);
        let requests = [
            auth(
                server
                    .http
                    .get(server.url(&format!("/v1/reports/{home_id}"))),
            ),
            auth(
                server
                    .http
                    .get(server.url(&format!("/v1/reports/{away_id}"))),
            ),
            auth(
                server
                    .http
                    .put(server.url(&format!("/v1/reports/{}", id_of(&fresh))))
                    .json(&fresh),
            ),
            auth(server.http.get(server.url("/v1/categories"))),
            auth(server.http.get(server.url("/v1/sessions/current"))),
        ];
        for (column, (request, want)) in requests.into_iter().zip(expected).enumerate() {
            let got = request.send().await.expect("request").status().as_u16();
            if got != want {
                mismatches.push(format!("{name}, column {column}: got {got}, want {want}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    server.stop().await;
}
