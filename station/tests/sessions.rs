//! Staff sign-in: argon2id passwords, bearer token and HttpOnly SameSite cookie.

mod common;

use common::{TestServer, problem};
use postcso_station::auth::Role;
use serde_json::{Value, json};

#[tokio::test]
async fn sign_in_returns_a_bearer_token_and_a_strict_http_only_cookie() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.staff(&station, "kim", Role::Supervisor).await;
    assert!(token.starts_with("pcs_"));

    // Stored hashed only.
    let row = common::first_row(
        server.dir.path(),
        "SELECT s.token_hash, u.password_hash FROM sessions s JOIN users u ON u.id = s.user_id",
    );
    let (stored, password_hash) = (row[0].clone(), row[1].clone());
    assert_eq!(stored, postcso_station::auth::hash_secret(&token));
    assert!(password_hash.starts_with("$argon2id$"));

    let response = server
        .http
        .post(server.url("/v1/sessions"))
        .json(&json!({"station": "seodaemun", "username": "kim", "password": "a long enough test password"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_owned();
    let body: Value = response.json().await.expect("json");
    assert!(cookie.starts_with(&format!(
        "postcso_session={}",
        body["token"].as_str().expect("token")
    )));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Strict"));
    assert_eq!(body["role"], "supervisor");
    assert_eq!(body["token_type"], "Bearer");

    // The cookie alone authenticates (browser console), as does the bearer token.
    let cookie_pair = cookie.split(';').next().expect("pair");
    let me = server
        .http
        .get(server.url("/v1/sessions/current"))
        .header("cookie", format!("theme=dark; {cookie_pair}"))
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["username"], "kim");
    let me = server
        .http
        .get(server.url("/v1/sessions/current"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn wrong_password_unknown_user_and_wrong_station_look_the_same() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    server.station("mapo").await;
    server.staff(&station, "kim", Role::Admin).await;
    for (station, username, password) in [
        ("seodaemun", "kim", "not the password at all"),
        ("seodaemun", "park", "a long enough test password"),
        ("mapo", "kim", "a long enough test password"),
        ("nowhere", "kim", "a long enough test password"),
    ] {
        let response = server
            .http
            .post(server.url("/v1/sessions"))
            .json(&json!({"station": station, "username": username, "password": password}))
            .send()
            .await
            .expect("request");
        assert!(response.headers().get("set-cookie").is_none());
        let body = problem(response, 401).await;
        assert_eq!(body["type"], "/problems/invalid-credentials");
    }
    assert_eq!(
        server.count_rows("sessions"),
        1,
        "only the helper's sign-in"
    );
    server.stop().await;
}

#[tokio::test]
async fn device_tokens_cannot_use_staff_endpoints_and_bad_sessions_are_401() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let device = server.device(&station).await;
    let response = server
        .http
        .get(server.url("/v1/sessions/current"))
        .bearer_auth(&device)
        .send()
        .await
        .expect("request");
    problem(response, 403).await;
    let response = server
        .http
        .get(server.url("/v1/sessions/current"))
        .header("cookie", "postcso_session=pcs_forged")
        .send()
        .await
        .expect("request");
    problem(response, 401).await;
    server.stop().await;
}
