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

/// Signs `username` in again: the new session's bearer token, and its
/// cookie as a `name=value` pair.
async fn sign_in(server: &TestServer, username: &str) -> (String, String) {
    let response = server
        .http
        .post(server.url("/v1/sessions"))
        .json(&json!({"station": "seodaemun", "username": username,
                      "password": "a long enough test password"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("cookie")
        .to_owned();
    let body: Value = response.json().await.expect("json");
    (body["token"].as_str().expect("token").to_owned(), cookie)
}

/// `DELETE /v1/sessions/current` with one auth header, or none.
async fn sign_out(server: &TestServer, auth: Option<(&str, &str)>) -> reqwest::Response {
    let request = server.http.delete(server.url("/v1/sessions/current"));
    match auth {
        Some((name, value)) => request.header(name, value),
        None => request,
    }
    .send()
    .await
    .expect("request")
}

async fn current_status(server: &TestServer, auth: (&str, &str)) -> u16 {
    server
        .http
        .get(server.url("/v1/sessions/current"))
        .header(auth.0, auth.1)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn signing_out_ends_only_that_session_clears_the_cookie_and_is_audited() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let tablet = server.staff(&station, "kim", Role::Admin).await;
    let (browser_token, browser_cookie) = sign_in(&server, "kim").await;
    let tablet_auth = format!("Bearer {tablet}");

    // The tablet signs out with its bearer token.
    let response = sign_out(&server, Some(("authorization", &tablet_auth))).await;
    assert_eq!(response.status(), 204);
    let cleared = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a clearing cookie");
    assert!(cleared.starts_with("postcso_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(cleared.contains("HttpOnly"), "{cleared}");
    assert_eq!(
        current_status(&server, ("authorization", &tablet_auth)).await,
        401
    );
    // Signing out again is refused: the session is gone.
    let again = sign_out(&server, Some(("authorization", &tablet_auth))).await;
    problem(again, 401).await;

    // The same user's browser session still works, and signs out by cookie.
    assert_eq!(
        current_status(&server, ("cookie", &browser_cookie)).await,
        200
    );
    let response = sign_out(&server, Some(("cookie", &browser_cookie))).await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        current_status(&server, ("cookie", &browser_cookie)).await,
        401
    );
    let browser_auth = format!("Bearer {browser_token}");
    assert_eq!(
        current_status(&server, ("authorization", &browser_auth)).await,
        401
    );

    // Both sign-outs are in the audit log, as the user, and no token is.
    let (admin, _) = sign_in(&server, "kim").await;
    let ended = server.audit_rows(&admin, "session.end").await;
    assert_eq!(ended.len(), 2, "{ended:#?}");
    for row in &ended {
        assert_eq!(row["actor_username"], "kim");
        assert_eq!(row["actor_role"], "admin");
        assert!(row["before"]["expires_at"].is_string());
        assert!(row["after"]["ended_at"].is_string());
    }
    let text = server.audit_rows(&admin, "session.create").await;
    let text = format!("{text:?}{ended:?}");
    assert!(!text.contains(&tablet) && !text.contains(&browser_token));
    server.stop().await;
}

#[tokio::test]
async fn a_device_cannot_sign_out_and_nobody_signs_out_without_a_session() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let device = server.device(&station).await;
    let device_auth = format!("Bearer {device}");
    problem(
        sign_out(&server, Some(("authorization", &device_auth))).await,
        403,
    )
    .await;
    problem(sign_out(&server, None).await, 401).await;
    // The device still works: a refused sign-out ends nothing.
    let report = common::sample_report(0);
    let id = common::id_of(&report);
    assert_eq!(server.put_report(&device, &id, &report).await.status(), 201);
    server.stop().await;
}

#[tokio::test]
async fn a_disabled_user_is_signed_out_everywhere_and_cannot_sign_in_again() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let tablet = server.staff(&station, "kim", Role::Supervisor).await;
    let (_, browser_cookie) = sign_in(&server, "kim").await;
    let admin = server.staff(&station, "park", Role::Admin).await;
    let tablet_auth = format!("Bearer {tablet}");
    assert_eq!(
        current_status(&server, ("authorization", &tablet_auth)).await,
        200
    );

    let done = server
        .repo
        .disable_user(station.id, "kim", chrono::Utc::now())
        .await
        .expect("disable");
    assert!(done.newly);
    assert_eq!(done.sessions_ended, 2);
    assert_eq!(
        current_status(&server, ("authorization", &tablet_auth)).await,
        401
    );
    assert_eq!(
        current_status(&server, ("cookie", &browser_cookie)).await,
        401
    );
    let refused = server
        .http
        .post(server.url("/v1/sessions"))
        .json(&json!({"station": "seodaemun", "username": "kim",
                      "password": "a long enough test password"}))
        .send()
        .await
        .expect("request");
    let body = problem(refused, 401).await;
    assert_eq!(body["type"], "/problems/invalid-credentials");

    // Others are untouched; a second disable changes nothing.
    let admin_auth = format!("Bearer {admin}");
    assert_eq!(
        current_status(&server, ("authorization", &admin_auth)).await,
        200
    );
    let again = server
        .repo
        .disable_user(station.id, "kim", chrono::Utc::now())
        .await
        .expect("disable again");
    assert!(!again.newly);
    assert_eq!(again.sessions_ended, 0);
    let listed = server.repo.list_users(station.id).await.expect("list");
    let states: Vec<(&str, bool)> = listed
        .iter()
        .map(|s| (s.user.username.as_str(), s.disabled_at.is_some()))
        .collect();
    assert_eq!(states, [("kim", true), ("park", false)]);
    let unknown = server
        .repo
        .disable_user(station.id, "nobody", chrono::Utc::now())
        .await;
    assert!(matches!(
        unknown,
        Err(postcso_station::repo::RepoError::NotFound(_))
    ));

    // One audit row, by the console, with how many sessions it ended.
    let rows = server.audit_rows(&admin, "user.disable").await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["actor_username"], "console");
    assert_eq!(rows[0]["before"]["disabled_at"], Value::Null);
    assert_eq!(rows[0]["after"]["username"], "kim");
    assert_eq!(rows[0]["after"]["sessions_ended"], 2);
    server.stop().await;
}
