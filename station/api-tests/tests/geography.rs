//! Where reports are, over HTTP: every report is placed on arrival (its
//! district, the station's zones, outside the jurisdiction flagged but never
//! refused, the distance to the jurisdiction's line when near), shown next to
//! what the phone saw; follow-ups name a report of the same device and the
//! parent lists them; `GET /v1/reports/{id}/nearby` finds duplicates across
//! carriers, for supervisors, admins and the assigned inspector only.

mod common;

use chrono::Utc;
use common::{TestServer, id_of, problem, sample_report};
use postcso_station::auth::Role;
use postcso_station::geo::Districts;
use postcso_station::repo::{Actor, NewZone, Station};
use serde_json::{Value, json};

/// Hongik University, in 마포구, just across the line from 서대문구.
const HONGIK: (f64, f64) = (37.5509, 126.9250);
/// Yonsei University, inside 서대문구, far from its line.
const YONSEI: (f64, f64) = (37.5658, 126.9386);

/// Makes `code`'s district a jurisdiction zone of the station, as
/// `district-<code>`.
async fn jurisdiction(server: &TestServer, station: &Station, code: &str) {
    let district = Districts::seoul().by_code(code).expect("a Seoul district");
    let zone = NewZone {
        code: format!("district-{code}"),
        kind: postcso_model::ZoneKind::Jurisdiction,
        name: district.name_ko.clone(),
        area: Some(district.area.clone()),
        ..NewZone::default()
    };
    server
        .repo
        .add_zone(station.id, zone, Actor::console(), Utc::now())
        .await
        .expect("add the jurisdiction zone");
}

/// A sample report at (`lat`, `lon`) of `category`.
fn report_at((lat, lon): (f64, f64), category: &str, photos: usize) -> Value {
    let mut report = sample_report(photos);
    report["location"]["lat"] = json!(lat);
    report["location"]["lon"] = json!(lon);
    report["category"] = json!(category);
    report
}

/// PUTs a report and asserts it was stored for the first time.
async fn stored(server: &TestServer, token: &str, report: &Value) -> String {
    let id = id_of(report);
    let response = server.put_report(token, &id, report).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    id
}

#[tokio::test]
async fn a_report_across_the_line_is_stored_flagged_and_shown_next_to_what_the_phone_saw() {
    let server = TestServer::start().await;
    let seodaemun = server.station("seodaemun").await;
    jurisdiction(&server, &seodaemun, "11410").await;
    let carrier = server.device(&seodaemun).await;
    let supervisor = server.staff(&seodaemun, "kim", Role::Supervisor).await;

    let mut across = report_at(HONGIK, "crime_risk", 0);
    across["zones"] = json!(["yeonhui-dark-alley"]);
    let across_id = stored(&server, &carrier, &across).await;
    let view = server.report_json(&supervisor, &across_id).await;
    let place = &view["geography"]["station"];
    assert_eq!(
        place["district"],
        json!({ "code": "11440", "name": "마포구" })
    );
    assert_eq!(place["outside_jurisdiction"], true);
    assert_eq!(place["zones"], json!([]));
    assert_eq!(
        view["geography"]["phone"],
        json!({ "zones": ["yeonhui-dark-alley"], "district": null }),
        "what the phone saw, as it sealed it"
    );
    assert!(
        place.get("boundary_distance_m").is_none(),
        "Hongik is more than 50 m from the line: {place}"
    );

    let mut inside = report_at(YONSEI, "crime_risk", 0);
    inside["zones"] = json!(["district-11410"]);
    inside["district"] = json!("district-11410");
    let inside_id = stored(&server, &carrier, &inside).await;
    let view = server.report_json(&supervisor, &inside_id).await;
    let place = &view["geography"]["station"];
    assert_eq!(place["district"]["code"], "11410");
    assert_eq!(place["district"]["name"], "서대문구");
    assert_eq!(place["outside_jurisdiction"], false);
    assert_eq!(place["zones"], json!(["district-11410"]));
    assert_eq!(view["geography"]["phone"]["district"], "district-11410");
    assert_eq!(view["follow_up_of"], Value::Null);
    assert_eq!(view["follow_ups"], json!([]));

    // A vertex of the (simplified) outline, ~5.5 m north: near the line,
    // whichever side the simplified polygon puts it on.
    let outline = Districts::seoul()
        .by_code("11410")
        .expect("서대문구")
        .area
        .clone();
    let vertex = outline.polygons().next().expect("a polygon")[0][0];
    let on_the_line = stored(
        &server,
        &carrier,
        &report_at((vertex[1] + 0.00005, vertex[0]), "crime_risk", 0),
    )
    .await;
    let view = server.report_json(&supervisor, &on_the_line).await;
    let distance = view["geography"]["station"]["boundary_distance_m"]
        .as_f64()
        .expect("near the line");
    assert!((0.0..=5.6).contains(&distance), "{distance}");

    // The carrier reads only the status; placement is for staff.
    let own = server.report_json(&carrier, &across_id).await;
    assert!(own.get("geography").is_none(), "{own}");
    server.stop().await;
}

#[tokio::test]
async fn a_station_without_jurisdiction_flags_nothing_and_new_zones_apply_at_once() {
    let server = TestServer::start().await;
    let seodaemun = server.station("seodaemun").await;
    let carrier = server.device(&seodaemun).await;
    let supervisor = server.staff(&seodaemun, "kim", Role::Supervisor).await;

    let before = stored(&server, &carrier, &report_at(HONGIK, "crime_risk", 0)).await;
    let view = server.report_json(&supervisor, &before).await;
    assert_eq!(view["geography"]["station"]["outside_jurisdiction"], false);
    assert_eq!(view["geography"]["station"]["district"]["code"], "11440");

    // The zone index is cached per station; adding a zone rebuilds it.
    jurisdiction(&server, &seodaemun, "11410").await;
    let after = stored(&server, &carrier, &report_at(HONGIK, "crime_risk", 0)).await;
    let view = server.report_json(&supervisor, &after).await;
    assert_eq!(view["geography"]["station"]["outside_jurisdiction"], true);
    let view = server.report_json(&supervisor, &before).await;
    assert_eq!(
        view["geography"]["station"]["outside_jurisdiction"], false,
        "placed on arrival: a later zone does not change a stored report"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_follow_up_names_its_parent_which_lists_it_and_the_console_hears_of_it_once() {
    let server = TestServer::start().await;
    let seodaemun = server.station("seodaemun").await;
    let mapo = server.station("mapo").await;
    let carrier = server.device(&seodaemun).await;
    let colleague = server.device(&seodaemun).await;
    let elsewhere = server.device(&mapo).await;
    let supervisor = server.staff(&seodaemun, "kim", Role::Supervisor).await;

    let parent = stored(&server, &carrier, &sample_report(1)).await;
    let theirs = stored(&server, &colleague, &sample_report(0)).await;
    let away = stored(&server, &elsewhere, &sample_report(0)).await;

    let mut follow_up = sample_report(2);
    follow_up["follow_up_of"] = json!(parent);
    let follow_up_id = stored(&server, &carrier, &follow_up).await;
    let retry = server.put_report(&carrier, &follow_up_id, &follow_up).await;
    assert_eq!(retry.status(), 200, "delivered exactly once");

    let view = server.report_json(&supervisor, &parent).await;
    let listed = view["follow_ups"].as_array().expect("follow-ups");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], follow_up_id.as_str());
    assert_eq!(listed[0]["photos"], 2);
    assert!(listed[0]["created_at"].is_string() && listed[0]["received_at"].is_string());
    let child = server.report_json(&supervisor, &follow_up_id).await;
    assert_eq!(child["follow_up_of"], parent.as_str());

    let feed: Value = server
        .http
        .get(server.url("/v1/changes"))
        .bearer_auth(&supervisor)
        .send()
        .await
        .expect("changes")
        .json()
        .await
        .expect("json");
    let follow_up_entries: Vec<&Value> = feed["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|e| e["event"] == "follow_up")
        .collect();
    assert_eq!(follow_up_entries.len(), 1, "once, not again for the retry");
    assert_eq!(follow_up_entries[0]["report_id"], parent.as_str());
    assert_eq!(
        follow_up_entries[0]["photos_missing"], 1,
        "the parent's state"
    );

    // Another device's report, another station's, one that does not exist,
    // and the report itself: all the same 422, which tells nothing.
    for (label, named) in [
        ("a colleague's", theirs.clone()),
        ("another station's", away.clone()),
        ("none", uuid::Uuid::now_v7().to_string()),
        ("itself", String::new()),
    ] {
        let mut bad = sample_report(0);
        let id = id_of(&bad);
        bad["follow_up_of"] = json!(if named.is_empty() { id.clone() } else { named });
        let body = problem(server.put_report(&carrier, &id, &bad).await, 422).await;
        assert_eq!(body["type"], "/problems/unknown-parent", "{label}");
        assert_eq!(body["errors"][0]["pointer"], "/follow_up_of", "{label}");
    }
    assert_eq!(
        server.count_rows("reports"),
        4,
        "nothing stored for the refusals"
    );
    server.stop().await;
}

#[tokio::test]
async fn nearby_lists_duplicates_across_carriers_for_the_roles_that_may_see_them() {
    let server = TestServer::start().await;
    let seodaemun = server.station("seodaemun").await;
    let mapo = server.station("mapo").await;
    let a = server.device(&seodaemun).await;
    let b = server.device(&seodaemun).await;
    let supervisor = server.staff(&seodaemun, "kim", Role::Supervisor).await;
    let admin = server.staff(&seodaemun, "admin", Role::Admin).await;
    let assigned = server.staff(&seodaemun, "lee", Role::Inspector).await;
    let other_inspector = server.staff(&seodaemun, "park", Role::Inspector).await;
    let carrier_user = server.staff(&seodaemun, "carrier", Role::Carrier).await;
    let away_supervisor = server.staff(&mapo, "choi", Role::Supervisor).await;

    let base = stored(&server, &a, &report_at(YONSEI, "crime_risk", 0)).await;
    // ~20 m north, filed by another carrier, related category, two photos.
    let north = (YONSEI.0 + 20.0 / 110_574.0, YONSEI.1);
    let duplicate = stored(&server, &b, &report_at(north, "resident_anxiety", 2)).await;
    stored(&server, &b, &report_at(north, "traffic_risk", 0)).await;
    let response = server
        .http
        .post(server.url(&format!("/v1/reports/{base}/inspection")))
        .bearer_auth(&supervisor)
        .json(&json!({ "inspector": "lee" }))
        .send()
        .await
        .expect("assign");
    assert_eq!(response.status(), 200);

    let get = |token: Option<String>| {
        let request = server
            .http
            .get(server.url(&format!("/v1/reports/{base}/nearby")));
        async move {
            match token {
                Some(token) => request.bearer_auth(token),
                None => request,
            }
            .send()
            .await
            .expect("nearby")
        }
    };
    let listed: Value = get(Some(supervisor.clone()))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["report_id"], base.as_str());
    assert_eq!(
        (
            &listed["radius_m"],
            &listed["window_days"],
            &listed["limit"]
        ),
        (&json!(50.0), &json!(30), &json!(50))
    );
    let reports = listed["reports"].as_array().expect("reports");
    assert_eq!(reports.len(), 1, "{listed}");
    assert_eq!(reports[0]["id"], duplicate.as_str());
    assert_eq!(reports[0]["distance_m"], 20.0);
    assert_eq!(reports[0]["category"], "resident_anxiety");
    assert_eq!(reports[0]["status"], "received");
    assert_eq!(reports[0]["photos"], 2);
    assert!(reports[0]["created_at"].is_string());
    assert!(reports[0].get("location").is_none() && reports[0].get("note").is_none());

    for (who, token, status) in [
        ("nobody", None, 401),
        ("the filing carrier's phone", Some(a.clone()), 403),
        ("another carrier's phone", Some(b.clone()), 403),
        ("a carrier user", Some(carrier_user), 403),
        ("the supervisor", Some(supervisor.clone()), 200),
        ("an admin", Some(admin), 200),
        ("the assigned inspector", Some(assigned), 200),
        ("another inspector", Some(other_inspector), 404),
        ("another station's supervisor", Some(away_supervisor), 404),
    ] {
        assert_eq!(get(token).await.status(), status, "{who}");
    }
    let unknown = server
        .http
        .get(server.url(&format!("/v1/reports/{}/nearby", uuid::Uuid::now_v7())))
        .bearer_auth(&supervisor)
        .send()
        .await
        .expect("nearby");
    problem(unknown, 404).await;
    let malformed = server
        .http
        .get(server.url("/v1/reports/not-a-uuid/nearby"))
        .bearer_auth(&supervisor)
        .send()
        .await
        .expect("nearby");
    problem(malformed, 400).await;
    server.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_nearby_placement_and_follow_ups() {
    let doc = serde_json::to_value(postcso_station::http::openapi_document()).expect("doc");
    assert!(doc["paths"]["/v1/reports/{id}/nearby"]["get"].is_object());
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("ReportView", "geography"),
        ("ReportView", "follow_up_of"),
        ("ReportView", "follow_ups"),
        ("GeographyView", "station"),
        ("GeographyView", "phone"),
        ("StationPlaceView", "outside_jurisdiction"),
        ("StationPlaceView", "boundary_distance_m"),
        ("NearbyList", "reports"),
        ("NearbyView", "distance_m"),
        ("ReportContent", "follow_up_of"),
    ] {
        // Flattened views are an `allOf` whose own part holds the properties.
        let parts = schemas[schema]["allOf"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![schemas[schema].clone()]);
        assert!(
            parts.iter().any(|p| p["properties"][field].is_object()),
            "{schema}.{field}"
        );
    }
    assert!(
        doc["paths"]["/v1/reports/{id}"]["put"]["responses"]["422"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("unknown-parent"))
    );
}
