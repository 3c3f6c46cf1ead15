//! Exports of the station's reports over HTTP (`GET /v1/reports/export.csv`
//! and `.geojson`, and the console's `POST /console/export`): a CSV with a
//! BOM that Excel reads as UTF-8, Korean notes round-tripping, spreadsheet
//! formulas defused, the queue's filters respected, notes and device labels
//! left out when asked, an attachment never cached, roles that may not read
//! every report refused, and every export in the audit log without its
//! contents. The browser flow is in `tests/console/test_exports.py`.

mod common;

use common::{TestServer, id_of, problem, sample_report};
use postcso_station::auth::Role;
use reqwest::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, ORIGIN};
use serde_json::{Value, json};

const BOM: &str = "\u{feff}";
const NOTE: &str = "골목이 어둡고 \"무서워요\", 밤에\n특히";
const FORMULA: &str = "=HYPERLINK(\"http://x\")";

struct Setup {
    server: TestServer,
    kim: String,
    admin: String,
    ids: Vec<String>,
}

/// A station with three reports (one accepted) from one carrier, a
/// supervisor and an admin.
async fn setup() -> Setup {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let kim = server.staff(&station, "kim", Role::Supervisor).await;
    let admin = server.staff(&station, "root", Role::Admin).await;
    let mut ids = Vec::new();
    for (category, note) in [
        ("crime_risk", NOTE),
        ("parcel_theft", FORMULA),
        ("safety_facility", "가로등 고장"),
    ] {
        let mut report = sample_report(1);
        report["category"] = json!(category);
        report["note"] = json!(note);
        let id = id_of(&report);
        assert_eq!(
            server.put_report(&carrier, &id, &report).await.status(),
            201
        );
        ids.push(id);
    }
    let accepted = server
        .http
        .patch(server.url(&format!("/v1/reports/{}", ids[0])))
        .bearer_auth(&kim)
        .json(&json!({"status": "accepted"}))
        .send()
        .await
        .expect("accept");
    assert_eq!(accepted.status(), 200);
    Setup {
        server,
        kim,
        admin,
        ids,
    }
}

async fn get(s: &Setup, token: &str, path: &str) -> reqwest::Response {
    s.server
        .http
        .get(s.server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("export request")
}

/// The CSV's header and rows, after checking it is an uncached attachment
/// starting with the BOM.
async fn csv_of(response: reqwest::Response) -> (Vec<String>, Vec<Vec<String>>) {
    assert_eq!(response.status(), 200);
    let h = response.headers().clone();
    assert_eq!(h[CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(h[CACHE_CONTROL], "no-store");
    let disposition = h[CONTENT_DISPOSITION].to_str().expect("text");
    assert!(
        disposition.starts_with("attachment; filename=\"postcso-reports-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let bytes = response.bytes().await.expect("body");
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte-order mark");
    let text = std::str::from_utf8(&bytes).expect("UTF-8");
    let mut reader = csv::Reader::from_reader(text.strip_prefix(BOM).expect("bom").as_bytes());
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

#[tokio::test]
async fn csv_export_has_a_bom_round_trips_korean_and_follows_the_filter() {
    let s = setup().await;
    let (header, rows) = csv_of(get(&s, &s.kim, "/v1/reports/export.csv").await).await;
    assert_eq!(
        header,
        [
            "id",
            "created_kst",
            "created_utc",
            "received_kst",
            "received_utc",
            "category",
            "category_name",
            "status",
            "district_code",
            "district_name",
            "zones",
            "outside_jurisdiction",
            "lat",
            "lon",
            "accuracy_m",
            "device_label",
            "note",
            "photos"
        ]
    );
    assert_eq!(rows.len(), 3, "the default filter: open reports");
    let ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, s.ids, "oldest first");
    let first = &rows[0];
    assert_eq!(
        first[column(&header, "note")],
        NOTE,
        "Korean, quotes, comma and line break round-trip"
    );
    assert_eq!(first[column(&header, "status")], "accepted");
    assert_eq!(first[column(&header, "category_name")], "범죄발생 우려지역");
    assert_eq!(first[column(&header, "photos")], "1");
    assert_eq!(first[column(&header, "lat")], "37.579100");
    assert_eq!(first[column(&header, "accuracy_m")], "6.0");
    assert!(first[column(&header, "device_label")].starts_with("carrier-"));
    let utc = &first[column(&header, "received_utc")];
    let kst = &first[column(&header, "received_kst")];
    let at = chrono::DateTime::parse_from_rfc3339(utc).expect("utc time");
    assert_eq!(
        at.with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).expect("kst"))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        *kst
    );
    assert_eq!(
        rows[1][column(&header, "note")],
        format!("'{FORMULA}"),
        "a formula is defused"
    );

    let (_, accepted) =
        csv_of(get(&s, &s.kim, "/v1/reports/export.csv?status=accepted").await).await;
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0][0], s.ids[0]);
    let (_, parcels) = csv_of(
        get(
            &s,
            &s.kim,
            "/v1/reports/export.csv?status=all&category=parcel_theft",
        )
        .await,
    )
    .await;
    assert_eq!(parcels.len(), 1);
    assert_eq!(parcels[0][0], s.ids[1]);
    let (_, text) = csv_of(
        get(
            &s,
            &s.kim,
            "/v1/reports/export.csv?q=%EA%B0%80%EB%A1%9C%EB%93%B1",
        )
        .await,
    )
    .await;
    assert_eq!(text.len(), 1, "the text search");
    assert_eq!(text[0][0], s.ids[2]);
    let (_, none) = csv_of(get(&s, &s.kim, "/v1/reports/export.csv?status=fixed").await).await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn notes_and_device_labels_are_left_out_when_asked() {
    let s = setup().await;
    let response = get(
        &s,
        &s.kim,
        "/v1/reports/export.csv?notes=false&device_labels=false",
    )
    .await;
    let (header, rows) = csv_of(response).await;
    assert!(
        !header.iter().any(|h| h == "note" || h == "device_label"),
        "{header:?}"
    );
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .flatten()
            .all(|field| !field.contains("골목") && !field.starts_with("carrier-")),
        "{rows:?}"
    );
    let geo: Value = get(
        &s,
        &s.kim,
        "/v1/reports/export.geojson?notes=false&device_labels=false",
    )
    .await
    .json()
    .await
    .expect("geojson");
    let properties = &geo["features"][0]["properties"];
    assert!(properties.get("note").is_none() && properties.get("device_label").is_none());
    assert_eq!(properties["category"], "crime_risk");
}

#[tokio::test]
async fn geojson_export_is_a_feature_collection_of_the_filtered_points() {
    let s = setup().await;
    let response = get(&s, &s.kim, "/v1/reports/export.geojson?category=crime_risk").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/geo+json");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    assert!(
        response.headers()[CONTENT_DISPOSITION]
            .to_str()
            .expect("text")
            .ends_with(".geojson\"")
    );
    let geo: Value = response.json().await.expect("json");
    assert_eq!(geo["type"], "FeatureCollection");
    let features = geo["features"].as_array().expect("features");
    assert_eq!(features.len(), 1);
    let f = &features[0];
    assert_eq!(f["type"], "Feature");
    assert_eq!(f["id"], s.ids[0]);
    assert_eq!(
        f["geometry"],
        json!({"type": "Point", "coordinates": [126.9368, 37.5791]})
    );
    assert_eq!(f["properties"]["note"], NOTE);
    assert_eq!(f["properties"]["status"], "accepted");
    assert_eq!(f["properties"]["accuracy_m"], 6.0);
    assert_eq!(f["properties"]["photos"], 1);
    assert!(f["properties"]["zones"].is_array());
    assert!(
        f["properties"].get("lat").is_none(),
        "the position is the geometry"
    );
}

#[tokio::test]
async fn only_roles_that_read_every_report_may_export() {
    let s = setup().await;
    let station = s
        .server
        .repo
        .list_stations()
        .await
        .expect("stations")
        .remove(0);
    let carrier_user = s.server.staff(&station, "postie", Role::Carrier).await;
    let inspector = s.server.staff(&station, "park", Role::Inspector).await;
    for token in [&carrier_user, &inspector, &s.admin] {
        for path in ["/v1/reports/export.csv", "/v1/reports/export.geojson"] {
            let body = problem(get(&s, token, path).await, 403).await;
            assert_eq!(body["type"], "/problems/forbidden");
        }
    }
    let doc: Value = s
        .server
        .http
        .get(s.server.url("/v1/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    for path in ["/v1/reports/export.csv", "/v1/reports/export.geojson"] {
        let get = &doc["paths"][path]["get"];
        assert!(
            get["responses"].get("403").is_some(),
            "{path} is documented"
        );
        let params: Vec<&str> = get["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(
            params.contains(&"status") && params.contains(&"notes"),
            "{params:?}"
        );
    }
    let device = s.server.device(&station).await;
    let refused = get(&s, &device, "/v1/reports/export.csv").await;
    assert!(
        matches!(refused.status().as_u16(), 401 | 403),
        "{}",
        refused.status()
    );
    let anonymous = s
        .server
        .http
        .get(s.server.url("/v1/reports/export.csv"))
        .send()
        .await
        .expect("get");
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn the_console_export_needs_its_token_and_every_export_is_audited_without_contents() {
    let s = setup().await;
    let http = &s.server.http;
    let cookie = format!("postcso_session={}", s.kim);
    let page = http
        .get(s.server.url("/console/?status=all"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .expect("queue")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("action=\"/console/export\""),
        "the queue offers the export"
    );
    assert!(page.contains("3"), "with the count");
    let at = page.find("name=\"csrf\" value=\"").expect("csrf");
    let rest = &page[at + "name=\"csrf\" value=\"".len()..];
    let token = &rest[..rest.find('"').expect("end")];
    let post = |form: Vec<(&'static str, String)>| {
        http.post(s.server.url("/console/export"))
            .header(COOKIE, &cookie)
            .header(ORIGIN, s.server.base.clone())
            .form(&form)
            .send()
    };
    let forged = post(vec![
        ("csrf", "0".repeat(64)),
        ("format", "csv".into()),
        ("status", "all".into()),
    ])
    .await
    .expect("post");
    assert_eq!(forged.status(), 403);
    let response = post(vec![
        ("csrf", token.to_owned()),
        ("format", "csv".into()),
        ("status", "all".into()),
        ("q", "골목".into()),
        ("omit_labels", "1".into()),
    ])
    .await
    .expect("post");
    let (header, rows) = csv_of(response).await;
    assert!(!header.iter().any(|h| h == "device_label"));
    assert!(header.iter().any(|h| h == "note"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], s.ids[0]);
    let geo = post(vec![
        ("csrf", token.to_owned()),
        ("format", "geojson".into()),
        ("category", "crime_risk".into()),
        ("omit_notes", "1".into()),
    ])
    .await
    .expect("post");
    assert_eq!(geo.status(), 200);
    let geo: Value = geo.json().await.expect("geojson");
    assert_eq!(geo["features"].as_array().map(Vec::len), Some(1));

    get(
        &s,
        &s.kim,
        "/v1/reports/export.csv?status=accepted&notes=false",
    )
    .await;
    let audit = s.server.audit_rows(&s.admin, "report.export").await;
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert!(audit.iter().all(|e| e["actor_username"] == "kim"));
    let console = &audit[0]["after"];
    assert_eq!(console["format"], "csv");
    assert_eq!(console["count"], 1);
    assert_eq!(console["device_labels"], false);
    assert_eq!(console["filter"]["status"], "all");
    assert_eq!(console["filter"]["text"], true, "that there was a search");
    assert_eq!(audit[1]["after"]["format"], "geojson");
    assert_eq!(audit[1]["after"]["filter"]["category"], "crime_risk");
    assert_eq!(audit[2]["after"]["notes"], false);
    let written = serde_json::to_string(&audit).expect("json");
    assert!(
        !written.contains("골목") && !written.contains("HYPERLINK") && !written.contains(&s.ids[0]),
        "no contents, no search text, no report ids: {written}"
    );
}
