//! The review console over HTTP, and the report versions it relies on: the
//! API's `ETag` / `If-Match`; console pages behind the session cookie with
//! their security headers; embedded assets with ETags; sign-in throttled and
//! origin-checked; decisions with the CSRF token and the version, a stale
//! one answered `412` with what changed; the session idle timeout. The
//! browser flows are in `tests/console/` (Playwright).

mod common;

use common::{TestServer, id_of, problem, sample_report, test_config};
use postcso_station::auth::{Role, hash_password};
use postcso_station::config::RateLimit;
use postcso_station::repo::NewUser;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, ETAG, IF_MATCH, IF_NONE_MATCH,
    LOCATION, ORIGIN, SET_COOKIE,
};
use serde_json::{Value, json};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn cookie(token: &str) -> String {
    format!("postcso_session={token}")
}

fn origin(server: &TestServer) -> String {
    server.base.clone()
}

/// The console's CSRF token on a page: the value of the first `csrf` field.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("end")].to_owned()
}

#[tokio::test]
async fn reads_carry_the_version_and_a_stale_if_match_is_refused() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let kim = server.staff(&station, "kim", Role::Supervisor).await;
    let report = sample_report(0);
    let id = id_of(&report);
    assert_eq!(
        server.put_report(&carrier, &id, &report).await.status(),
        201
    );
    let read = server.get_report(&kim, &id).await;
    assert_eq!(read.headers()[ETAG], "\"v1\"");
    let own = server.get_report(&carrier, &id).await;
    assert_eq!(own.headers()[ETAG], "\"v1\"", "the carrier's view too");

    let patch = |tag: Option<&'static str>, body: Value| {
        let mut request = server
            .http
            .patch(server.url(&format!("/v1/reports/{id}")))
            .bearer_auth(&kim)
            .json(&body);
        if let Some(tag) = tag {
            request = request.header(IF_MATCH, tag);
        }
        async move { request.send().await.expect("patch") }
    };
    let accepted = patch(Some("\"v1\""), json!({"status": "accepted"})).await;
    assert_eq!(accepted.status(), 200);
    assert_eq!(accepted.headers()[ETAG], "\"v2\"");
    let stale = patch(
        Some("\"v1\""),
        json!({"status": "rejected", "reason": "중복"}),
    )
    .await;
    let body = problem(stale, 412).await;
    assert_eq!(body["type"], "/problems/stale-version");
    assert!(body["detail"].as_str().expect("detail").contains("\"v2\""));
    let stored = server.report_json(&kim, &id).await;
    assert_eq!(stored["status"], "accepted", "nothing overwritten");
    for odd in ["W/\"v2\"", "\"v2\", \"v3\"", "\"nope\""] {
        let request = server
            .http
            .patch(server.url(&format!("/v1/reports/{id}")))
            .bearer_auth(&kim)
            .header(IF_MATCH, odd)
            .json(&json!({"status": "fixed"}));
        problem(request.send().await.expect("patch"), 412).await;
    }
    assert_eq!(
        patch(Some("*"), json!({"status": "referred"}))
            .await
            .status(),
        200
    );
    let unchecked = patch(None, json!({"status": "fixed"})).await;
    assert_eq!(unchecked.status(), 200, "no If-Match stays allowed");
    assert_eq!(unchecked.headers()[ETAG], "\"v4\"");
}

#[tokio::test]
async fn console_pages_need_a_session_and_carry_the_security_headers() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let report = sample_report(0);
    let id = id_of(&report);
    assert_eq!(
        server.put_report(&carrier, &id, &report).await.status(),
        201
    );
    server
        .repo
        .add_user(
            station.id,
            NewUser {
                username: "kim".into(),
                role: Role::Supervisor,
                password_hash: hash_password("a long enough test password").expect("hash"),
            },
        )
        .await
        .expect("user");
    let http = no_redirects();

    let anonymous = http.get(server.url("/console/")).send().await.expect("get");
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()[LOCATION], "/console/sign-in?expired=1");

    let form = http
        .get(server.url("/console/sign-in"))
        .send()
        .await
        .expect("form");
    assert_eq!(form.status(), 200);
    let headers = form.headers().clone();
    let csp = headers[CONTENT_SECURITY_POLICY].to_str().expect("csp");
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    let html = form.text().await.expect("html");
    for field in ["name=\"station\"", "name=\"username\"", "name=\"password\""] {
        assert!(html.contains(field), "{field}");
    }
    assert!(html.contains("lang=\"ko\""), "Korean first");
    assert!(!html.contains(" style=\""), "no inline style attributes");
    assert!(!html.contains("<script>"), "no inline script");

    let sign_in = |origin_header: Option<String>, password: &'static str| {
        let mut request = http.post(server.url("/console/sign-in")).form(&[
            ("station", "seodaemun"),
            ("username", "kim"),
            ("password", password),
        ]);
        if let Some(origin_header) = origin_header {
            request = request.header(ORIGIN, origin_header);
        }
        async move { request.send().await.expect("sign in") }
    };
    assert_eq!(
        sign_in(None, "a long enough test password").await.status(),
        403
    );
    assert_eq!(
        sign_in(
            Some("https://evil.example".into()),
            "a long enough test password"
        )
        .await
        .status(),
        403
    );
    let wrong = sign_in(Some(origin(&server)), "wrong password").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.expect("html").contains("맞지 않습니다"));
    let signed_in = sign_in(Some(origin(&server)), "a long enough test password").await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()[LOCATION], "/console/");
    let set = signed_in.headers()[SET_COOKIE].to_str().expect("cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
    let token = set
        .trim_start_matches("postcso_session=")
        .split(';')
        .next()
        .expect("token")
        .to_owned();
    // The console's cookie is the API's session.
    let me = server
        .http
        .get(server.url("/v1/sessions/current"))
        .header(COOKIE, cookie(&token))
        .send()
        .await
        .expect("whoami");
    assert_eq!(me.status(), 200);

    let queue = http
        .get(server.url("/console/?status=all"))
        .header(COOKIE, cookie(&token))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .expect("queue");
    assert_eq!(queue.status(), 200);
    assert_eq!(queue.headers()[CACHE_CONTROL], "no-store");
    assert!(queue.headers().contains_key("server-timing"));
    let html = queue.text().await.expect("html");
    assert!(html.contains(&id), "the report is listed");
    assert!(html.contains("lang=\"en\""), "the browser's language");
    assert!(html.contains("1 reports"));

    let fragment = http
        .get(server.url("/console/queue?status=received&q=010-1234"))
        .header(COOKIE, cookie(&token))
        .header("hx-request", "true")
        .send()
        .await
        .expect("fragment");
    assert_eq!(fragment.status(), 200);
    assert_eq!(
        fragment.headers()["hx-push-url"],
        "/console/?status=received",
        "the search text stays out of the address"
    );

    // A device token is no console session.
    let device = http
        .get(server.url("/console/"))
        .header(COOKIE, cookie(&carrier))
        .send()
        .await
        .expect("device");
    assert_eq!(device.status(), 303);

    // Sign-out needs the form's token.
    let page = http
        .get(server.url(&format!("/console/reports/{id}")))
        .header(COOKIE, cookie(&token))
        .send()
        .await
        .expect("report");
    let csrf = csrf_of(&page.text().await.expect("html"));
    let refused = http
        .post(server.url("/console/sign-out"))
        .header(COOKIE, cookie(&token))
        .header(ORIGIN, origin(&server))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("sign out");
    assert_eq!(refused.status(), 403);
    let out = http
        .post(server.url("/console/sign-out"))
        .header(COOKIE, cookie(&token))
        .header(ORIGIN, origin(&server))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("sign out");
    assert_eq!(out.status(), 303);
    let after = http
        .get(server.url("/console/"))
        .header(COOKIE, cookie(&token))
        .send()
        .await
        .expect("after");
    assert_eq!(after.status(), 303, "the session ended");
}

#[tokio::test]
async fn assets_are_embedded_with_etags_and_gzip() {
    let server = TestServer::start().await;
    let http = no_redirects();
    let url = server.url("/console/assets/vendor/leaflet/leaflet.js");
    let first = http
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("asset");
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["content-encoding"], "gzip");
    assert!(
        first.headers()[CONTENT_TYPE]
            .to_str()
            .expect("type")
            .starts_with("text/javascript")
    );
    let etag = first.headers()[ETAG].clone();
    let gzipped = first.bytes().await.expect("body").len();
    assert!(gzipped < 60_000, "{gzipped} bytes");
    let again = http
        .get(&url)
        .header(IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .expect("asset");
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()[ETAG], etag);
    let plain = http.get(&url).send().await.expect("asset");
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(plain.bytes().await.expect("body").len() > 140_000);
    for path in [
        "/console/assets/vendor/htmx/htmx.min.js",
        "/console/assets/vendor/leaflet.markercluster/leaflet.markercluster.js",
        "/console/assets/console/console.js",
        "/console/assets/console/console.css",
    ] {
        assert_eq!(
            http.get(server.url(path))
                .send()
                .await
                .expect("asset")
                .status(),
            200
        );
    }
    let missing = http
        .get(server.url("/console/assets/../Cargo.toml"))
        .send()
        .await
        .expect("asset");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_console_decision_names_its_version_and_a_stale_one_shows_what_changed() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let kim = server.staff(&station, "kim", Role::Supervisor).await;
    let lee = server.staff(&station, "lee", Role::Supervisor).await;
    let inspector = server.staff(&station, "ahn", Role::Inspector).await;
    let report = sample_report(0);
    let id = id_of(&report);
    assert_eq!(
        server.put_report(&carrier, &id, &report).await.status(),
        201
    );
    let http = no_redirects();
    let page = |token: String| {
        let request = http
            .get(server.url(&format!("/console/reports/{id}")))
            .header(COOKIE, cookie(&token));
        async move { request.send().await.expect("page") }
    };
    let kim_page = page(kim.clone()).await.text().await.expect("html");
    let lee_page = page(lee.clone()).await.text().await.expect("html");
    assert!(kim_page.contains("name=\"version\" value=\"1\""));
    assert!(
        kim_page.contains("신고자에게 보이는 메시지"),
        "the carrier's message, named"
    );
    assert!(kim_page.contains("직원만 봅니다"), "internal notes, named");
    let decide = |token: String, csrf: String, fields: Vec<(&'static str, &'static str)>| {
        let mut form: Vec<(&str, String)> = vec![("csrf", csrf)];
        form.extend(fields.into_iter().map(|(k, v)| (k, v.to_owned())));
        let request = http
            .post(server.url(&format!("/console/reports/{id}/decision")))
            .header(COOKIE, cookie(&token))
            .header(ORIGIN, server.base.clone())
            .form(&form);
        async move { request.send().await.expect("decide") }
    };
    let forged = decide(
        kim.clone(),
        csrf_of(&lee_page),
        vec![("version", "1"), ("action", "accept")],
    )
    .await;
    assert_eq!(forged.status(), 403, "another session's token");
    let accepted = decide(
        kim.clone(),
        csrf_of(&kim_page),
        vec![("version", "1"), ("seen_seq", "1"), ("action", "accept")],
    )
    .await;
    assert_eq!(accepted.status(), 303);
    let missing_reason = decide(
        lee.clone(),
        csrf_of(&lee_page),
        vec![("version", "2"), ("action", "reject")],
    )
    .await;
    assert_eq!(missing_reason.status(), 422);
    let stale = decide(
        lee.clone(),
        csrf_of(&lee_page),
        vec![
            ("version", "1"),
            ("seen_seq", "1"),
            ("action", "reject"),
            ("template", "duplicate"),
        ],
    )
    .await;
    assert_eq!(stale.status(), 412);
    let html = stale.text().await.expect("html");
    assert!(
        html.contains("다른 사람이 먼저"),
        "the conflict is explained"
    );
    assert!(
        html.contains("name=\"version\" value=\"2\""),
        "asks again on the new version"
    );
    assert!(
        html.contains("value=\"duplicate\" checked"),
        "the choice is kept"
    );
    assert!(html.contains("kim"), "who changed it");
    let status = server.report_json(&carrier, &id).await;
    assert_eq!(
        status["status"], "accepted",
        "the carrier sees kim's decision"
    );
    let again = decide(
        lee.clone(),
        csrf_of(&lee_page),
        vec![
            ("version", "2"),
            ("action", "reject"),
            ("template", "duplicate"),
        ],
    )
    .await;
    assert_eq!(again.status(), 303);
    let status = server.report_json(&carrier, &id).await;
    assert_eq!(status["status"], "rejected");
    assert_eq!(
        status["status_reason"], "같은 장소에 대한 신고가 이미 접수되어 처리 중입니다.",
        "the carrier gets the Korean wording"
    );
    // An unassigned inspector sees neither the queue nor the report.
    let queue = http
        .get(server.url("/console/"))
        .header(COOKIE, cookie(&inspector))
        .send()
        .await
        .expect("queue");
    assert_eq!(queue.status(), 403);
    assert_eq!(page(inspector).await.status(), 404);
}

#[tokio::test]
async fn an_idle_session_stops_working_and_sign_in_is_throttled() {
    let config = postcso_station::config::ServerConfig {
        session_idle_timeout: chrono::Duration::zero(),
        sign_in_rate: RateLimit::new(1, 2),
        ..test_config()
    };
    let server = TestServer::start_with(config).await;
    let station = server.station("seodaemun").await;
    let kim = server.staff(&station, "kim", Role::Supervisor).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let me = server
        .http
        .get(server.url("/v1/sessions/current"))
        .bearer_auth(&kim)
        .send()
        .await
        .expect("whoami");
    let body = problem(me, 401).await;
    assert!(body["detail"].as_str().expect("detail").contains("unused"));
    let http = no_redirects();
    let attempt = || {
        let request = http
            .post(server.url("/console/sign-in"))
            .header(ORIGIN, server.base.clone())
            .form(&[
                ("station", "seodaemun"),
                ("username", "kim"),
                ("password", "x"),
            ]);
        async move { request.send().await.expect("sign in") }
    };
    // The staff helper used one attempt of the burst of two.
    assert_eq!(attempt().await.status(), 401);
    let throttled = attempt().await;
    assert_eq!(throttled.status(), 429);
    assert!(
        throttled
            .text()
            .await
            .expect("html")
            .contains("시도가 너무 많습니다")
    );
}
