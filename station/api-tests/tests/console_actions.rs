//! The review console's merge, bulk and inspection forms over HTTP: each
//! needs the session's CSRF token and the station's own `Origin` (a forged
//! one writes nothing), each names the version it was made on, and a stale
//! one is answered `412` without writing. The browser flows are in
//! `tests/console/` (Playwright).

mod common;

use common::{TestServer, id_of, sample_report};
use postcso_station::auth::Role;
use reqwest::header::{COOKIE, LOCATION, ORIGIN};
use serde_json::Value;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn cookie(token: &str) -> String {
    format!("postcso_session={token}")
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("end")].to_owned()
}

#[tokio::test]
async fn merge_bulk_and_assignment_forms_are_guarded_and_versioned() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let kim = server.staff(&station, "kim", Role::Supervisor).await;
    server.staff(&station, "ahn", Role::Inspector).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let report = sample_report(0);
        let id = id_of(&report);
        assert_eq!(
            server.put_report(&carrier, &id, &report).await.status(),
            201
        );
        ids.push(id);
    }
    let (a, b, c) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    let http = no_redirects();
    let compare = http
        .get(server.url(&format!("/console/reports/{b}/duplicates/{a}")))
        .header(COOKIE, cookie(&kim))
        .send()
        .await
        .expect("compare");
    assert_eq!(compare.status(), 200);
    let html = compare.text().await.expect("html");
    assert!(
        html.contains("이미 처리 중인 신고에 병합되었습니다."),
        "what the carrier reads"
    );
    let csrf = csrf_of(&html);
    let post = |path: String, origin: &str, form: Vec<(&str, String)>| {
        let request = http
            .post(server.url(&path))
            .header(COOKIE, cookie(&kim))
            .header(ORIGIN, origin.to_owned())
            .form(&form);
        async move { request.send().await.expect("post") }
    };
    let merge_form = |csrf: &str, version: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("into", a.clone()),
            ("version", version.to_owned()),
            ("left", b.clone()),
            ("right", a.clone()),
        ]
    };
    let merge_path = format!("/console/reports/{b}/merge");
    let base = server.base.clone();
    // Forged token, foreign origin: refused, nothing merged.
    assert_eq!(
        post(merge_path.clone(), &base, merge_form("forged", "1"))
            .await
            .status(),
        403
    );
    assert_eq!(
        post(
            merge_path.clone(),
            "https://evil.example",
            merge_form(&csrf, "1")
        )
        .await
        .status(),
        403
    );
    // On a version the report is no longer at: 412, the comparison again.
    let stale = post(merge_path.clone(), &base, merge_form(&csrf, "7")).await;
    assert_eq!(stale.status(), 412);
    assert!(stale.text().await.expect("html").contains("merge-error"));
    assert_eq!(server.report_json(&kim, &b).await["status"], "received");
    // On the version shown: merged, then the kept report's page.
    let merged = post(merge_path, &base, merge_form(&csrf, "1")).await;
    assert_eq!(merged.status(), 303);
    assert_eq!(
        merged.headers()[LOCATION].to_str().expect("location"),
        format!("/console/reports/{a}?merged=1")
    );
    assert_eq!(
        server.report_json(&kim, &b).await["merged_into"],
        a.as_str()
    );

    // Bulk: one decision per request, JSON answers, stale ones skipped.
    let bulk = |csrf: &str, id: &str, version: &str| {
        post(
            "/console/bulk/accept".into(),
            &base,
            vec![
                ("csrf", csrf.to_owned()),
                ("id", id.to_owned()),
                ("version", version.to_owned()),
            ],
        )
    };
    assert_eq!(bulk("forged", &c, "1").await.status(), 403);
    let skipped = bulk(&csrf, &c, "9").await;
    assert_eq!(skipped.status(), 412);
    let body: Value = skipped.json().await.expect("json");
    assert_eq!(body["outcome"], "skipped");
    let accepted = bulk(&csrf, &c, "1").await;
    assert_eq!(accepted.status(), 200);
    let body: Value = accepted.json().await.expect("json");
    assert_eq!(body["outcome"], "accepted");
    assert_eq!(body["status"], "accepted");
    assert_eq!(server.report_json(&kim, &c).await["status"], "accepted");

    // Assigning an inspection: the token, the version, an inspector of the station.
    let assign = |csrf: &str, version: &str, inspector: &str| {
        post(
            format!("/console/reports/{a}/inspection"),
            &base,
            vec![
                ("csrf", csrf.to_owned()),
                ("version", version.to_owned()),
                ("inspector", inspector.to_owned()),
            ],
        )
    };
    assert_eq!(assign("forged", "1", "ahn").await.status(), 403);
    assert_eq!(
        assign(&csrf, "1", "kim").await.status(),
        422,
        "not an inspector"
    );
    assert_eq!(assign(&csrf, "5", "ahn").await.status(), 412);
    assert_eq!(server.report_json(&kim, &a).await["status"], "received");
    assert_eq!(assign(&csrf, "1", "ahn").await.status(), 303);
    assert_eq!(server.report_json(&kim, &a).await["status"], "inspecting");

    // The API's assignment takes If-Match too: b was merged (version 2).
    let stale_api = server
        .http
        .post(server.url(&format!("/v1/reports/{b}/inspection")))
        .bearer_auth(&kim)
        .header("If-Match", "\"v1\"")
        .json(&serde_json::json!({"inspector": "ahn"}))
        .send()
        .await
        .expect("assign");
    assert_eq!(stale_api.status(), 412);
    assert_eq!(server.report_json(&kim, &b).await["status"], "merged");
}
