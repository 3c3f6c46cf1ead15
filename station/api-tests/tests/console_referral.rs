//! The console's referral page over HTTP: the proposed agency preselected,
//! the carrier's note beside the text but never copied into it, the version
//! checked (a stale form comes back `412` with what was typed), the agency's
//! answers recorded once, and only supervisors let in. The browser flow is
//! `tests/console/test_referral.py`.

mod common;

use common::{TestServer, id_of, sample_report};
use postcso_station::auth::Role;
use postcso_station::repo::{Actor, NewRoutingRule, RuleArea};
use reqwest::header::{COOKIE, LOCATION, ORIGIN};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("end")].to_owned()
}

fn field_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("{name} field"));
    let rest = &html[at + marker.len()..];
    rest[..rest.find('"').expect("end")].to_owned()
}

#[tokio::test]
async fn a_supervisor_refers_from_the_console_and_records_the_answer() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let kim = server.staff(&station, "kim", Role::Supervisor).await;
    let inspector = server.staff(&station, "ahn", Role::Inspector).await;
    let text = include_str!("../../data/seodaemun-agencies.toml");
    let (categories, zones) = (
        server
            .repo
            .categories(station.id)
            .await
            .expect("categories"),
        server.repo.zones(station.id).await.expect("zones"),
    );
    let file = postcso_station::agencies::file::read(text, &categories, &zones, |_| None)
        .expect("the Seodaemun file");
    server
        .repo
        .import_agencies(
            station.id,
            file.agencies,
            file.rules,
            Actor::console(),
            chrono::Utc::now(),
        )
        .await
        .expect("import");
    let report = sample_report(0);
    let id = id_of(&report);
    assert_eq!(
        server.put_report(&carrier, &id, &report).await.status(),
        201
    );

    let http = no_redirects();
    let url = server.url(&format!("/console/reports/{id}/referral"));
    let get = |token: &str| {
        let request = http
            .get(&url)
            .header(COOKIE, format!("postcso_session={token}"));
        async move { request.send().await.expect("page") }
    };
    assert_eq!(get(&inspector).await.status(), 403);
    let report_page = http
        .get(server.url(&format!("/console/reports/{id}")))
        .header(COOKIE, format!("postcso_session={kim}"))
        .send()
        .await
        .expect("report page")
        .text()
        .await
        .expect("html");
    assert!(report_page.contains(&format!("href=\"/console/reports/{id}/referral#refer\"")));

    let page = get(&kim).await.text().await.expect("html");
    assert!(
        page.contains("value=\"seodaemun-gu-office\" id=\"agency-seodaemun-gu-office\" checked"),
        "the proposal is preselected"
    );
    assert!(
        page.contains("가로등이 고장났어요"),
        "the carrier's note is shown"
    );
    assert!(
        page.contains("옮겨 적지 않는 한 보내지지 않습니다"),
        "and said not to be sent"
    );
    let textarea = &page[page.find("id=\"referral-text\"").expect("text")..];
    let textarea = &textarea[..textarea.find("</textarea>").expect("end")];
    assert!(!textarea.contains("가로등이 고장났어요"), "never copied in");

    let post = |path: String, token: &str, form: Vec<(&str, String)>| {
        let request = http
            .post(server.url(&path))
            .header(COOKIE, format!("postcso_session={token}"))
            .header(ORIGIN, server.base.clone())
            .form(&form);
        async move { request.send().await.expect("post") }
    };
    let csrf = csrf_of(&page);
    let version = field_value(&page, "version");
    let refer_path = format!("/console/reports/{id}/referral");
    let stale = post(
        refer_path.clone(),
        &kim,
        vec![
            ("csrf", csrf.clone()),
            ("version", "99".into()),
            ("agency", "seodaemun-gu-office".into()),
            ("text", "보안등 교체 요청".into()),
        ],
    )
    .await;
    assert_eq!(stale.status(), 412);
    let html = stale.text().await.expect("html");
    assert!(html.contains("보안등 교체 요청"), "what was typed is kept");
    let referred = post(
        refer_path,
        &kim,
        vec![
            ("csrf", csrf.clone()),
            ("version", version),
            ("agency", "seodaemun-gu-office".into()),
            ("text", "연세로 보안등 2기 소등. 교체 요청.".into()),
        ],
    )
    .await;
    assert_eq!(referred.status(), 303);
    assert!(
        referred.headers()[LOCATION]
            .to_str()
            .expect("text")
            .ends_with("?done=referred")
    );
    assert_eq!(
        server.report_json(&carrier, &id).await["status"],
        "referred"
    );

    let page = get(&kim).await.text().await.expect("html");
    assert!(
        page.contains("id=\"answer-fixed\""),
        "the answer form is there"
    );
    assert!(page.contains("직접 연락할 것"), "a manual referral says so");
    let version = field_value(&page, "version");
    let referral = field_value(&page, "referral");
    let answer = |answer: &str, version: String| {
        post(
            format!("/console/reports/{id}/referral/answer"),
            &kim,
            vec![
                ("csrf", csrf.clone()),
                ("version", version),
                ("referral", referral.clone()),
                ("answer", answer.to_owned()),
                ("note", "보안등 교체".into()),
                ("answered_on", "2026-12-05".into()),
            ],
        )
    };
    let fixed = answer("fixed", version.clone()).await;
    assert_eq!(fixed.status(), 303);
    let status = server.report_json(&carrier, &id).await;
    assert_eq!(status["status"], "fixed");
    assert_eq!(status["status_reason"], "12월 5일 조치 완료: 보안등 교체");
    let page = get(&kim).await.text().await.expect("html");
    assert!(
        !page.contains("id=\"answer-submit\""),
        "closed: no more answers"
    );
    assert!(page.contains("조치 완료"));
    let report_page = http
        .get(server.url(&format!("/console/reports/{id}")))
        .header(COOKIE, format!("postcso_session={kim}"))
        .send()
        .await
        .expect("report page")
        .text()
        .await
        .expect("html");
    assert!(
        report_page.contains("기관 이관") && report_page.contains("기관 회신"),
        "history names the steps"
    );
}

#[tokio::test]
async fn without_a_rule_nothing_is_preselected_and_a_refusal_is_explained() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let kim = server.staff(&station, "kim", Role::Supervisor).await;
    let text = include_str!("../../data/seodaemun-agencies.toml");
    let (categories, zones) = (
        server
            .repo
            .categories(station.id)
            .await
            .expect("categories"),
        server.repo.zones(station.id).await.expect("zones"),
    );
    let file = postcso_station::agencies::file::read(text, &categories, &zones, |_| None)
        .expect("the Seodaemun file");
    // Agencies without their rules, and one rule for another district.
    let rule = NewRoutingRule {
        priority: None,
        category: None,
        area: RuleArea::District("11440".into()),
        agency_code: "seodaemun-police".into(),
    };
    server
        .repo
        .import_agencies(
            station.id,
            file.agencies,
            Some(vec![rule]),
            Actor::console(),
            chrono::Utc::now(),
        )
        .await
        .expect("import");
    let report = sample_report(0);
    let id = id_of(&report);
    assert_eq!(
        server.put_report(&carrier, &id, &report).await.status(),
        201
    );
    let http = no_redirects();
    let url = server.url(&format!("/console/reports/{id}/referral"));
    let page = http
        .get(&url)
        .header(COOKIE, format!("postcso_session={kim}"))
        .header("Accept-Language", "en")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("No routing rule matches this report"));
    assert!(!page.contains(" checked"), "nothing preselected");
    let refused = http
        .post(&url)
        .header(COOKIE, format!("postcso_session={kim}"))
        .header(ORIGIN, server.base.clone())
        .header("Accept-Language", "en")
        .form(&[
            ("csrf", csrf_of(&page)),
            ("version", field_value(&page, "version")),
            ("agency", "seodaemun-police".into()),
            ("text", "   ".into()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("html");
    assert!(html.contains("Not saved: must not be empty"), "{html}");
    assert!(
        html.contains("value=\"seodaemun-police\" id=\"agency-seodaemun-police\" checked"),
        "the choice is kept"
    );
}
