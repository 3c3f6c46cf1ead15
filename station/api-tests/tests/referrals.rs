//! Referral over HTTP: admins manage agencies and routing rules (API keys
//! are write-only), supervisors refer reports (the proposed agency by
//! default, another as an audited override) on the version they saw, and
//! record the agency's answers; the carrier's phone reads each step in its
//! feed. Carriers, inspectors and admins cannot refer.

mod common;

use common::{TestServer, id_of, problem, sample_report};
use postcso_station::auth::Role;
use serde_json::{Value, json};

const KEY: &str = "open311-key-9c1d-never-shown";

struct Setup {
    server: TestServer,
    admin: String,
    supervisor: String,
    carrier: String,
}

async fn send(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut request = server
        .http
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    request.send().await.expect("request")
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let code = response.status().as_u16();
    let text = response.text().await.expect("body");
    assert_eq!(code, status, "{text}");
    serde_json::from_str(&text).expect("json")
}

/// A station with the Seodaemun agencies (the 구청 by Open311 with a key,
/// the police station manual) and rules, and a report filed by a carrier.
async fn setup() -> (Setup, String) {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let admin = server.staff(&station, "park", Role::Admin).await;
    let supervisor = server.staff(&station, "kim", Role::Supervisor).await;
    let carrier = server.device(&station).await;
    let post = reqwest::Method::POST;
    let gu = json!({
        "code": "seodaemun-gu-office", "name_ko": "서대문구청", "name_en": "Seodaemun-gu Office",
        "kind": "district_office", "send_method": "manual",
    });
    json_of(
        send(
            &server,
            post.clone(),
            "/v1/agencies",
            &admin,
            Some(gu),
            None,
        )
        .await,
        201,
    )
    .await;
    let police = json!({
        "code": "seodaemun-police", "name_ko": "서대문경찰서", "name_en": "Seodaemun Police Station",
        "kind": "police", "send_method": "open311", "endpoint": "https://open311.example/v2",
        "format": "json", "api_key": KEY, "service_codes": {"crime_risk": "7"},
    });
    let added = json_of(
        send(
            &server,
            post.clone(),
            "/v1/agencies",
            &admin,
            Some(police),
            None,
        )
        .await,
        201,
    )
    .await;
    assert_eq!(added["open311"]["api_key_set"], true);
    assert!(!added.to_string().contains(KEY));
    for rule in [
        json!({"category": "safety_facility", "district": "11410", "agency": "seodaemun-gu-office"}),
        json!({"category": "crime_risk", "agency": "seodaemun-police"}),
    ] {
        json_of(
            send(
                &server,
                post.clone(),
                "/v1/routing-rules",
                &admin,
                Some(rule),
                None,
            )
            .await,
            201,
        )
        .await;
    }
    let report = sample_report(0);
    let id = id_of(&report);
    assert_eq!(
        server.put_report(&carrier, &id, &report).await.status(),
        201
    );
    (
        Setup {
            server,
            admin,
            supervisor,
            carrier,
        },
        id,
    )
}

/// The carrier's feed as `(status, reason)` of its report entries.
async fn carrier_lines(s: &Setup) -> Vec<(String, Option<String>)> {
    let feed = json_of(
        send(
            &s.server,
            reqwest::Method::GET,
            "/v1/changes",
            &s.carrier,
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    feed["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["kind"] == "report_status")
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_owned(),
                c["reason"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_supervisor_refers_with_the_proposal_and_records_fixed_and_the_carrier_hears_both() {
    let (s, id) = setup().await;
    let server = &s.server;
    let path = format!("/v1/reports/{id}/referrals");
    let listed = json_of(
        send(
            server,
            reqwest::Method::GET,
            &path,
            &s.supervisor,
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(listed["proposal"]["agency"]["code"], "seodaemun-gu-office");
    assert_eq!(listed["referrals"], json!([]));

    let text = json!({"text": "연세로 4길 보안등 2기가 꺼져 있습니다. 교체를 요청합니다."});
    let version = server
        .get_report(&s.supervisor, &id)
        .await
        .headers()
        .get("etag")
        .expect("etag")
        .to_str()
        .expect("text")
        .to_owned();
    problem(
        send(
            server,
            reqwest::Method::POST,
            &path,
            &s.supervisor,
            Some(text.clone()),
            Some("\"v99\""),
        )
        .await,
        412,
    )
    .await;
    let referred = send(
        server,
        reqwest::Method::POST,
        &path,
        &s.supervisor,
        Some(text.clone()),
        Some(&version),
    )
    .await;
    let etag = referred
        .headers()
        .get("etag")
        .expect("etag")
        .to_str()
        .expect("text")
        .to_owned();
    let referred = json_of(referred, 201).await;
    assert_ne!(etag, version);
    assert_eq!(referred["report"]["status"], "referred");
    assert_eq!(
        referred["referral"]["agency"]["code"],
        "seodaemun-gu-office"
    );
    assert_eq!(referred["referral"]["delivery"], "manual");
    assert_eq!(referred["referral"]["overridden"], false);
    assert!(
        !referred["referral"]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("가로등이 고장났어요"),
        "the carrier's note is never copied in"
    );
    problem(
        send(
            server,
            reqwest::Method::POST,
            &path,
            &s.supervisor,
            Some(text),
            None,
        )
        .await,
        409,
    )
    .await;

    let referral = referred["referral"]["id"].as_str().expect("id").to_owned();
    let answers = format!("/v1/referrals/{referral}/answers");
    let fixed = json!({"answer": "fixed", "note": "보안등 교체", "answered_on": "2026-12-05"});
    let done = json_of(
        send(
            server,
            reqwest::Method::POST,
            &answers,
            &s.supervisor,
            Some(fixed.clone()),
            Some(&etag),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(done["report"]["status"], "fixed");
    assert!(done["referral"]["closed_at"].is_string());
    problem(
        send(
            server,
            reqwest::Method::POST,
            &answers,
            &s.supervisor,
            Some(fixed),
            None,
        )
        .await,
        409,
    )
    .await;
    let future = json!({"answer": "accepted", "answered_on": "2999-01-01"});
    let body = problem(
        send(
            server,
            reqwest::Method::POST,
            &answers,
            &s.supervisor,
            Some(future),
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["pointer"], "/answered_on");

    assert_eq!(
        carrier_lines(&s).await,
        [
            (
                "referred".to_owned(),
                Some("서대문구청에 이관되었습니다".to_owned())
            ),
            (
                "fixed".to_owned(),
                Some("12월 5일 조치 완료: 보안등 교체".to_owned())
            ),
        ]
    );
    let status = server.report_json(&s.carrier, &id).await;
    assert_eq!(status["status"], "fixed");
    let created = server.audit_rows(&s.admin, "referral.create").await;
    assert_eq!(created[0]["after"]["override"], false);
    assert_eq!(
        server.audit_rows(&s.admin, "referral.answer").await.len(),
        1
    );
}

#[tokio::test]
async fn another_agency_is_an_audited_override_and_open311_waits_to_be_sent() {
    let (s, id) = setup().await;
    let server = &s.server;
    let path = format!("/v1/reports/{id}/referrals");
    let body = json!({"agency": "seodaemun-police", "text": "순찰 강화 요청"});
    let referred = json_of(
        send(
            server,
            reqwest::Method::POST,
            &path,
            &s.supervisor,
            Some(body),
            None,
        )
        .await,
        201,
    )
    .await;
    assert_eq!(referred["referral"]["delivery"], "waiting");
    assert_eq!(referred["referral"]["send_method"], "open311");
    assert_eq!(referred["referral"]["overridden"], true);
    assert_eq!(
        referred["referral"]["proposed_agency"],
        "seodaemun-gu-office"
    );
    let rows = server.audit_rows(&s.admin, "referral.create").await;
    assert_eq!(rows[0]["after"]["override"], true);
    assert_eq!(rows[0]["after"]["proposed_agency"], "seodaemun-gu-office");
    assert_eq!(rows[0]["after"]["agency"], "seodaemun-police");

    // Declined: back to the queue, and it can be referred again.
    let referral = referred["referral"]["id"].as_str().expect("id").to_owned();
    let declined = json_of(
        send(
            server,
            reqwest::Method::POST,
            &format!("/v1/referrals/{referral}/answers"),
            &s.supervisor,
            Some(json!({"answer": "declined", "note": "구청 소관"})),
            None,
        )
        .await,
        201,
    )
    .await;
    assert_eq!(declined["report"]["status"], "accepted");
    let again = json_of(
        send(
            server,
            reqwest::Method::POST,
            &path,
            &s.supervisor,
            Some(json!({"text": "가로등 교체 요청"})),
            None,
        )
        .await,
        201,
    )
    .await;
    assert_eq!(again["referral"]["agency"]["code"], "seodaemun-gu-office");
    let lines = carrier_lines(&s).await;
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1].0, "accepted");
    assert!(
        lines[1]
            .1
            .as_deref()
            .unwrap_or_default()
            .contains("다시 검토")
    );
}

#[tokio::test]
async fn retired_agencies_unknown_ones_and_closed_reports_are_refused() {
    let (s, id) = setup().await;
    let server = &s.server;
    let post = reqwest::Method::POST;
    json_of(
        send(
            server,
            post.clone(),
            "/v1/agencies/seodaemun-police/retire",
            &s.admin,
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    let path = format!("/v1/reports/{id}/referrals");
    for agency in ["seodaemun-police", "nobody"] {
        let body = problem(
            send(
                server,
                post.clone(),
                &path,
                &s.supervisor,
                Some(json!({"agency": agency, "text": "x"})),
                None,
            )
            .await,
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["pointer"], "/agency", "{agency}");
    }
    let body = problem(
        send(
            server,
            post.clone(),
            &path,
            &s.supervisor,
            Some(json!({"text": "  "})),
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["pointer"], "/text");
    let reject = server
        .http
        .patch(server.url(&format!("/v1/reports/{id}")))
        .bearer_auth(&s.supervisor)
        .json(&json!({"status": "rejected", "reason": "중복"}))
        .send()
        .await
        .expect("reject");
    assert_eq!(reject.status(), 200);
    problem(
        send(
            server,
            post,
            &path,
            &s.supervisor,
            Some(json!({"text": "x"})),
            None,
        )
        .await,
        409,
    )
    .await;
    assert!(
        server
            .audit_rows(&s.admin, "referral.create")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn only_supervisors_refer_and_only_admins_manage_agencies_whose_keys_never_come_back() {
    let (s, id) = setup().await;
    let server = &s.server;
    let station = server
        .repo
        .station_by_slug("seodaemun")
        .await
        .expect("read")
        .expect("station");
    let inspector = server.staff(&station, "lee", Role::Inspector).await;
    let carrier_user = server.staff(&station, "oh", Role::Carrier).await;
    let mapo = server.station("mapo").await;
    let mapo_supervisor = server.staff(&mapo, "choi", Role::Supervisor).await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    let path = format!("/v1/reports/{id}/referrals");
    let body = json!({"text": "보안등 교체 요청"});
    for token in [&s.carrier, &inspector, &carrier_user, &s.admin] {
        problem(
            send(server, post.clone(), &path, token, Some(body.clone()), None).await,
            403,
        )
        .await;
        problem(
            send(server, get.clone(), &path, token, None, None).await,
            403,
        )
        .await;
    }
    problem(
        send(
            server,
            post.clone(),
            &path,
            &mapo_supervisor,
            Some(body),
            None,
        )
        .await,
        404,
    )
    .await;
    let fake = format!("/v1/referrals/{}/answers", uuid::Uuid::now_v7());
    problem(
        send(
            server,
            post.clone(),
            &fake,
            &s.carrier,
            Some(json!({"answer": "fixed"})),
            None,
        )
        .await,
        403,
    )
    .await;
    problem(
        send(
            server,
            post.clone(),
            &fake,
            &s.supervisor,
            Some(json!({"answer": "fixed"})),
            None,
        )
        .await,
        404,
    )
    .await;

    let manual = json!({"code": "x", "name_ko": "x", "name_en": "x", "kind": "other", "send_method": "manual"});
    for token in [&s.supervisor, &inspector, &s.carrier] {
        problem(
            send(
                server,
                post.clone(),
                "/v1/agencies",
                token,
                Some(manual.clone()),
                None,
            )
            .await,
            403,
        )
        .await;
        problem(
            send(
                server,
                post.clone(),
                "/v1/routing-rules",
                token,
                Some(json!({"agency": "x"})),
                None,
            )
            .await,
            403,
        )
        .await;
    }
    for token in [&inspector, &s.carrier] {
        problem(
            send(server, get.clone(), "/v1/agencies", token, None, None).await,
            403,
        )
        .await;
    }
    // Keys are write-only: no read, list, update or audit row holds one.
    let list = json_of(
        send(
            server,
            get.clone(),
            "/v1/agencies",
            &s.supervisor,
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    let one = json_of(
        send(
            server,
            get.clone(),
            "/v1/agencies/seodaemun-police",
            &s.admin,
            None,
            None,
        )
        .await,
        200,
    )
    .await;
    let patched = json_of(
        send(
            server,
            reqwest::Method::PATCH,
            "/v1/agencies/seodaemun-police",
            &s.admin,
            Some(json!({"api_key": "another-secret-key", "jurisdiction_id": "sdm"})),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["open311"]["jurisdiction_id"], "sdm");
    let audit = server
        .http
        .get(server.url("/v1/audit?format=csv"))
        .bearer_auth(&s.admin)
        .send()
        .await
        .expect("audit")
        .text()
        .await
        .expect("text");
    for text in [
        list.to_string(),
        one.to_string(),
        patched.to_string(),
        audit,
    ] {
        assert!(
            !text.contains(KEY) && !text.contains("another-secret-key"),
            "{text}"
        );
    }
    let bad = json!({"code": "Bad", "name_ko": "", "name_en": "x", "kind": "bank", "send_method": "email",
                     "emails": ["nope"], "endpoint": "https://x.example"});
    let body = problem(
        send(server, post, "/v1/agencies", &s.admin, Some(bad), None).await,
        422,
    )
    .await;
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    assert_eq!(
        pointers,
        ["/code", "/name_ko", "/kind", "/endpoint", "/emails/0"]
    );
}

#[test]
fn the_openapi_document_describes_agencies_and_referrals() {
    let doc = serde_json::to_value(postcso_station::http::openapi_document()).expect("doc");
    let paths = &doc["paths"];
    for (method, path) in [
        ("get", "/v1/agencies"),
        ("post", "/v1/agencies"),
        ("get", "/v1/agencies/{code}"),
        ("patch", "/v1/agencies/{code}"),
        ("post", "/v1/agencies/{code}/retire"),
        ("get", "/v1/routing-rules"),
        ("post", "/v1/routing-rules"),
        ("delete", "/v1/routing-rules/{id}"),
        ("post", "/v1/reports/{id}/referrals"),
        ("get", "/v1/reports/{id}/referrals"),
        ("post", "/v1/referrals/{id}/answers"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    assert!(
        paths["/v1/reports/{id}/referrals"]["post"]["responses"]["412"].is_object(),
        "stale versions are described"
    );
}
