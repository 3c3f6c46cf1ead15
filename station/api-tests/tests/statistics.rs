//! The statistics page and the monthly programme report over HTTP: one page
//! with every figure, its charts as SVG with a title, a description and a
//! table of the same figures (no script needed), the period in the address;
//! the monthly report for print and as CSV with a BOM; only supervisors and
//! admins. The exact figures are checked at the store
//! (`tests/stores/statistics.rs`); the browser flow is in
//! `tests/console/test_statistics.py`.

mod common;

use chrono::Utc;
use common::{TestServer, id_of, sample_report};
use postcso_station::auth::Role;
use reqwest::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE};
use serde_json::json;

async fn page(server: &TestServer, token: &str, path: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(server.url(path))
        .header(COOKIE, format!("postcso_session={token}"))
        .send()
        .await
        .expect("get")
}

/// The text of the element with `id`, up to the next tag.
fn text_of<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &html[at + id.len() + 6..];
    &rest[..rest.find('<').expect("end")]
}

#[tokio::test]
async fn the_statistics_page_draws_every_figure_as_svg_with_its_table() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let kim = server.staff(&station, "kim", Role::Supervisor).await;
    let root = server.staff(&station, "root", Role::Admin).await;
    let postie = server.staff(&station, "postie", Role::Carrier).await;
    let mut ids = Vec::new();
    for category in ["crime_risk", "crime_risk", "parcel_theft"] {
        let mut report = sample_report(0);
        report["category"] = json!(category);
        let id = id_of(&report);
        assert_eq!(
            server.put_report(&carrier, &id, &report).await.status(),
            201
        );
        ids.push(id);
    }
    for (id, status) in [(&ids[0], "accepted"), (&ids[1], "fixed")] {
        let r = server
            .http
            .patch(server.url(&format!("/v1/reports/{id}")))
            .bearer_auth(&kim)
            .json(&json!({ "status": status }))
            .send()
            .await
            .expect("decide");
        assert_eq!(r.status(), 200);
    }

    let response = page(&server, &kim, "/console/statistics").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let html = response.text().await.expect("html");
    assert_eq!(text_of(&html, "stat-received"), "3");
    assert_eq!(text_of(&html, "stat-triaged"), "2");
    assert_eq!(text_of(&html, "stat-fixed"), "1");
    assert_eq!(text_of(&html, "stat-devices"), "1");
    for chart in [
        "by-period",
        "by-category",
        "by-status",
        "by-district",
        "by-zone",
        "participation",
    ] {
        assert!(
            html.contains(&format!(
                "role=\"img\" aria-labelledby=\"{chart}-chart-title {chart}-chart-desc\""
            )),
            "{chart} chart"
        );
        assert!(
            html.contains(&format!("id=\"{chart}-table\"")),
            "{chart} table"
        );
    }
    assert!(
        html.contains("<title>범죄발생 우려지역: 2</title>"),
        "a bar names its figure"
    );
    assert!(
        !html.contains("<script>") && !html.contains(" style="),
        "no inline script or style"
    );
    assert!(html.contains("<option value=\"month\" selected>"));

    let weeks = page(&server, &kim, "/console/statistics?period=week").await;
    let weeks = weeks.text().await.expect("html");
    assert!(weeks.contains("<option value=\"week\" selected>"));
    assert_eq!(text_of(&weeks, "stat-received"), "3");
    let bogus = page(&server, &kim, "/console/statistics?period=fortnight").await;
    assert_eq!(
        bogus.status(),
        200,
        "an unknown period falls back to months"
    );

    let admin = page(&server, &root, "/console/statistics").await;
    assert_eq!(admin.status(), 200, "admins see the figures");
    let refused = page(&server, &postie, "/console/statistics").await;
    assert_eq!(refused.status(), 403);
    let refused = page(&server, &postie, "/console/statistics/monthly.csv").await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn the_monthly_report_prints_and_downloads_as_csv() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let kim = server.staff(&station, "kim", Role::Supervisor).await;
    for _ in 0..2 {
        let report = sample_report(0);
        assert_eq!(
            server
                .put_report(&carrier, &id_of(&report), &report)
                .await
                .status(),
            201
        );
    }
    let month = (Utc::now() + chrono::Duration::hours(9))
        .format("%Y-%m")
        .to_string();

    let response = page(
        &server,
        &kim,
        &format!("/console/statistics/monthly?month={month}"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("html");
    assert!(html.contains("POST-CSO 월간 운영 보고서"), "the heading");
    assert!(
        html.contains("seodaemun police station"),
        "the station's name"
    );
    assert!(html.contains("id=\"monthly-summary\""));
    assert!(html.contains(&format!("monthly.csv?month={month}")));
    assert!(html.contains("data-print"));

    let csv = page(
        &server,
        &kim,
        &format!("/console/statistics/monthly.csv?month={month}"),
    )
    .await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()[CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(csv.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(
        csv.headers()[CONTENT_DISPOSITION],
        format!("attachment; filename=\"postcso-monthly-{month}.csv\"").as_str()
    );
    let text = csv.text().await.expect("text");
    let body = text.strip_prefix('\u{feff}').expect("BOM");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().expect("header").iter().collect::<Vec<_>>(),
        ["section", "code", "name", "value"]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect();
    let find = |section: &str, code: &str| {
        rows.iter()
            .find(|r| r[0] == section && r[1] == code)
            .map(|r| r[3].clone())
            .unwrap_or_else(|| panic!("no {section}/{code} in {rows:?}"))
    };
    assert_eq!(find("month", &month), "");
    assert_eq!(find("summary", "received"), "2");
    assert_eq!(find("summary", "triaged"), "0");
    assert_eq!(
        find("summary", "median_days_to_fix"),
        "",
        "no fix yet: no median"
    );
    assert_eq!(find("category", "safety_facility"), "2");
    assert!(
        rows.iter()
            .any(|r| r[0] == "category" && r[2] == "방범시설물 설치 필요지역"),
        "{rows:?}"
    );
    assert_eq!(find("summary", "devices_active"), "1");

    let bad = page(&server, &kim, "/console/statistics/monthly?month=2026-13").await;
    assert_eq!(bad.status(), 400);
    let empty = page(&server, &kim, "/console/statistics/monthly?month=2021-01").await;
    assert_eq!(empty.status(), 200, "an empty month still prints");
}
