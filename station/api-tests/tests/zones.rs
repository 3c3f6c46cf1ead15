//! Zones and admin-managed categories: admins change them, carriers' phones
//! hear of it through the changes feed, and every change is audited. Also
//! checks that every other state-changing action leaves an audit row.

mod common;

use chrono::Utc;
use common::{TestServer, id_of, problem, sample_report};
use postcso_station::auth::Role;
use serde_json::{Value, json};

fn square() -> Value {
    json!({"type": "Polygon", "coordinates": [[
        [126.9312, 37.5641], [126.9401, 37.5641], [126.9401, 37.5702],
        [126.9312, 37.5702], [126.9312, 37.5641]
    ]]})
}

/// Every feed entry visible to `token`, from the start.
async fn feed(server: &TestServer, token: &str) -> Vec<Value> {
    let page: Value = server
        .http
        .get(server.url("/v1/changes?limit=500"))
        .bearer_auth(token)
        .send()
        .await
        .expect("feed")
        .json()
        .await
        .expect("json");
    page["changes"].as_array().expect("changes").clone()
}

/// The zones a phone holds after applying `entries` as a phone does: a
/// `zones` list replaces them all, a `zone` delta adds or replaces one by
/// code. `None` when no entry was about zones.
pub fn fold_zones(entries: &[Value]) -> Option<Value> {
    let mut zones: Vec<Value> = Vec::new();
    let mut any = false;
    for entry in entries {
        match entry["kind"].as_str() {
            Some("zones") => {
                zones = entry["zones"].as_array().cloned().unwrap_or_default();
                any = true;
            }
            Some("zone") => {
                let zone = entry["zone"].clone();
                match zones.iter_mut().find(|z| z["code"] == zone["code"]) {
                    Some(held) => *held = zone,
                    None => zones.push(zone),
                }
                any = true;
            }
            _ => {}
        }
    }
    any.then_some(Value::Array(zones))
}

async fn audit(server: &TestServer, admin: &str) -> Vec<Value> {
    let page: Value = server
        .http
        .get(server.url("/v1/audit"))
        .bearer_auth(admin)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    page["entries"].as_array().expect("entries").clone()
}

#[tokio::test]
async fn admins_manage_zones_and_each_phone_sees_its_own_assignment() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let mapo = server.station("mapo").await;
    let assigned = server.device(&station).await;
    let unassigned = server.device(&station).await;
    let mapo_device = server.device(&mapo).await;
    let admin = server.staff(&station, "park", Role::Admin).await;
    let supervisor = server.staff(&station, "kim", Role::Supervisor).await;
    let inspector = server.staff(&station, "lee", Role::Inspector).await;
    let mapo_admin = server.staff(&mapo, "han", Role::Admin).await;
    let devices = server.repo.list_devices(station.id).await.expect("devices");
    let first = devices[0].id; // carrier-001: the `assigned` phone
    let mapo_first = server.repo.list_devices(mapo.id).await.expect("devices")[0].id;

    let post = |token: String, path: &str, body: Value| {
        let request = server
            .http
            .post(server.url(path))
            .bearer_auth(token)
            .json(&body);
        async move { request.send().await.expect("post") }
    };
    let zone = json!({
        "code": "route-12", "name": "  Route 12 (Yeonhui-dong) ", "area": square(),
        "devices": [first]
    });

    // Who may add, and what is refused.
    for token in [&supervisor, &inspector, &assigned] {
        problem(post(token.clone(), "/v1/zones", zone.clone()).await, 403).await;
    }
    let mut bad = zone.clone();
    bad["code"] = json!("Route 12");
    assert_eq!(
        problem(post(admin.clone(), "/v1/zones", bad).await, 422).await["errors"][0]["pointer"],
        "/code"
    );
    let mut open = zone.clone();
    open["area"]["coordinates"][0][4] = json!([126.95, 37.58]);
    assert_eq!(
        problem(post(admin.clone(), "/v1/zones", open).await, 422).await["errors"][0]["pointer"],
        "/area/coordinates/0/4"
    );
    let mut point = zone.clone();
    point["area"] = json!({"type": "Point", "coordinates": [126.93, 37.56]});
    problem(post(admin.clone(), "/v1/zones", point).await, 422).await;
    let mut foreign = zone.clone();
    foreign["devices"] = json!([mapo_first]);
    assert_eq!(
        problem(post(admin.clone(), "/v1/zones", foreign).await, 422).await["errors"][0]["pointer"],
        "/devices"
    );
    assert_eq!(server.count_rows("zones"), 0, "refusals store nothing");

    let response = post(admin.clone(), "/v1/zones", zone.clone()).await;
    assert_eq!(response.status(), 201);
    let added: Value = response.json().await.expect("json");
    assert_eq!(added["name"], "Route 12 (Yeonhui-dong)");
    assert_eq!(added["devices"], json!([first]));
    assert_eq!(added["area"], square());
    problem(post(admin.clone(), "/v1/zones", zone.clone()).await, 409).await;
    let second = json!({"code": "route-13", "name": "Route 13"});
    assert_eq!(post(admin.clone(), "/v1/zones", second).await.status(), 201);

    // Listing: admins and supervisors of the station only.
    for token in [&admin, &supervisor] {
        let list: Value = server
            .http
            .get(server.url("/v1/zones"))
            .bearer_auth(token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let codes: Vec<&str> = list
            .as_array()
            .expect("zones")
            .iter()
            .map(|z| z["code"].as_str().expect("code"))
            .collect();
        assert_eq!(codes, ["route-12", "route-13"]);
    }
    let theirs: Value = server
        .http
        .get(server.url("/v1/zones"))
        .bearer_auth(&mapo_admin)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(theirs, json!([]));

    // Each phone gets the latest list, cut to its own assignment.
    let latest_zones = |entries: Vec<Value>| fold_zones(&entries);
    let seen = latest_zones(feed(&server, &assigned).await).expect("zones entry");
    assert_eq!(seen[0]["code"], "route-12");
    assert_eq!(seen[0]["assigned"], true);
    assert_eq!(seen[0]["area"], square());
    assert_eq!(seen[1]["assigned"], false);
    let other = latest_zones(feed(&server, &unassigned).await).expect("zones entry");
    assert_eq!(other[0]["assigned"], false);
    assert!(
        !other.to_string().contains(&first.to_string()),
        "a phone never sees other phones' ids"
    );
    assert_eq!(latest_zones(feed(&server, &mapo_device).await), None);
    assert_eq!(latest_zones(feed(&server, &supervisor).await), None);

    // Updates: reassign to the other phone; a no-op writes nothing.
    let patch = |token: String, code: &str, body: Value| {
        let request = server
            .http
            .patch(server.url(&format!("/v1/zones/{code}")))
            .bearer_auth(token)
            .json(&body);
        async move { request.send().await.expect("patch") }
    };
    let second_device = devices[1].id;
    let response = patch(
        admin.clone(),
        "route-12",
        json!({"devices": [second_device]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let rows = server.count_rows("audit_log");
    let feed_rows = server.count_rows("changes");
    let response = patch(
        admin.clone(),
        "route-12",
        json!({"devices": [second_device]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(server.count_rows("audit_log"), rows);
    assert_eq!(server.count_rows("changes"), feed_rows);
    let seen = latest_zones(feed(&server, &unassigned).await).expect("zones entry");
    assert_eq!(seen[0]["assigned"], true);
    let seen = latest_zones(feed(&server, &assigned).await).expect("zones entry");
    assert_eq!(seen[0]["assigned"], false);
    // `area: null` removes the outline; a missing field keeps it.
    let response = patch(admin.clone(), "route-12", json!({"name": "Route 12"})).await;
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["area"], square());
    let body: Value = patch(admin.clone(), "route-12", json!({"area": null}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["area"], Value::Null);
    problem(
        patch(supervisor.clone(), "route-12", json!({"name": "x"})).await,
        403,
    )
    .await;
    problem(
        patch(admin.clone(), "route-99", json!({"name": "x"})).await,
        404,
    )
    .await;
    problem(
        patch(mapo_admin.clone(), "route-12", json!({"name": "x"})).await,
        404,
    )
    .await;

    // Retiring keeps the zone; phones see it retired.
    problem(
        post(supervisor.clone(), "/v1/zones/route-13/retire", json!({})).await,
        403,
    )
    .await;
    problem(
        post(mapo_admin.clone(), "/v1/zones/route-13/retire", json!({})).await,
        404,
    )
    .await;
    let response = post(admin.clone(), "/v1/zones/route-13/retire", json!({})).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert!(body["retired_at"].is_string());
    let rows = server.count_rows("audit_log");
    assert_eq!(
        post(admin.clone(), "/v1/zones/route-13/retire", json!({}))
            .await
            .status(),
        200
    );
    assert_eq!(
        server.count_rows("audit_log"),
        rows,
        "retiring twice is one change"
    );
    problem(
        patch(admin.clone(), "route-13", json!({"name": "x"})).await,
        409,
    )
    .await;
    problem(
        post(admin.clone(), "/v1/zones/route-99/retire", json!({})).await,
        404,
    )
    .await;
    let seen = latest_zones(feed(&server, &assigned).await).expect("zones entry");
    assert_eq!(seen[1]["code"], "route-13");
    assert_eq!(seen[1]["retired"], true);
    assert_eq!(server.count_rows("zones"), 2, "never deleted");

    // The audit trail: who, what, before and after, and no coordinates.
    let entries = audit(&server, &admin).await;
    let zone_rows: Vec<&Value> = entries
        .iter()
        .filter(|e| e["target_kind"] == "zone")
        .collect();
    let actions: Vec<&str> = zone_rows
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        [
            "zone.add",
            "zone.add",
            "zone.update",
            "zone.update",
            "zone.update",
            "zone.retire"
        ]
    );
    assert!(zone_rows.iter().all(|e| e["actor_username"] == "park"));
    assert_eq!(zone_rows[2]["before"]["devices"], json!([first]));
    assert_eq!(zone_rows[2]["after"]["devices"], json!([second_device]));
    assert_eq!(zone_rows[0]["after"]["area_points"], 5);
    assert!(!json!(entries).to_string().contains("37.5641"));
    server.stop().await;
}

#[tokio::test]
async fn admins_add_and_retire_categories_and_phones_follow() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let admin = server.staff(&station, "park", Role::Admin).await;
    let supervisor = server.staff(&station, "kim", Role::Supervisor).await;
    let post = |token: String, path: &str, body: Value| {
        let request = server
            .http
            .post(server.url(path))
            .bearer_auth(token)
            .json(&body);
        async move { request.send().await.expect("post") }
    };
    let dumping = json!({
        "code": "illegal_dumping", "name_ko": "무단투기", "name_en": "Illegal dumping",
        "guidance": "Rubbish left in alleys. Photograph the pile, not people."
    });

    problem(
        post(supervisor.clone(), "/v1/categories", dumping.clone()).await,
        403,
    )
    .await;
    problem(
        post(carrier.clone(), "/v1/categories", dumping.clone()).await,
        403,
    )
    .await;
    let mut bad = dumping.clone();
    bad["code"] = json!("Illegal Dumping");
    bad["guidance"] = json!("");
    let body = problem(post(admin.clone(), "/v1/categories", bad).await, 422).await;
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["pointer"].as_str().expect("pointer"))
        .collect();
    assert_eq!(pointers, ["/code", "/guidance"]);
    let response = post(admin.clone(), "/v1/categories", dumping.clone()).await;
    assert_eq!(response.status(), 201);
    let list: Value = response.json().await.expect("json");
    assert_eq!(list.as_array().expect("list").len(), 7);
    assert_eq!(list[6]["code"], "illegal_dumping");
    let mut taken = dumping.clone();
    taken["code"] = json!("crime_risk");
    problem(post(admin.clone(), "/v1/categories", taken).await, 409).await;

    // The phone's feed carries the new list, and reports may use it.
    let categories = |entries: Vec<Value>| {
        entries
            .into_iter()
            .rfind(|c| c["kind"] == "categories")
            .map(|c| c["categories"].clone())
            .expect("a categories entry")
    };
    let seen = categories(feed(&server, &carrier).await);
    assert_eq!(seen[6]["name_ko"], "무단투기");
    let mut report = sample_report(0);
    report["category"] = json!("illegal_dumping");
    assert_eq!(
        server
            .put_report(&carrier, &id_of(&report), &report)
            .await
            .status(),
        201
    );

    // Retiring keeps it (old reports still resolve) but refuses new reports.
    problem(
        post(
            supervisor.clone(),
            "/v1/categories/illegal_dumping/retire",
            json!({}),
        )
        .await,
        403,
    )
    .await;
    problem(
        post(admin.clone(), "/v1/categories/graffiti/retire", json!({})).await,
        404,
    )
    .await;
    let response = post(
        admin.clone(),
        "/v1/categories/illegal_dumping/retire",
        json!({}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let rows = server.count_rows("audit_log");
    assert_eq!(
        post(
            admin.clone(),
            "/v1/categories/illegal_dumping/retire",
            json!({})
        )
        .await
        .status(),
        200
    );
    assert_eq!(server.count_rows("audit_log"), rows);
    let seen = categories(feed(&server, &carrier).await);
    assert_eq!(seen[6]["retired"], true);
    let mut late = sample_report(0);
    late["category"] = json!("illegal_dumping");
    let body = problem(server.put_report(&carrier, &id_of(&late), &late).await, 422).await;
    assert_eq!(body["errors"][0]["pointer"], "/category");
    assert_eq!(server.count_rows("categories"), 7, "never deleted");

    let entries = audit(&server, &admin).await;
    let rows: Vec<&Value> = entries
        .iter()
        .filter(|e| e["target_kind"] == "category")
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["action"], "category.add");
    assert_eq!(rows[0]["after"]["name_en"], "Illegal dumping");
    assert_eq!(rows[1]["action"], "category.retire");
    assert_eq!(rows[1]["before"], json!({"retired": false}));
    assert!(rows.iter().all(|e| e["actor_username"] == "park"));
    server.stop().await;
}

#[tokio::test]
async fn enrolment_sign_in_user_and_device_changes_are_audited() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let codes = server.codes(&station, 2, chrono::Duration::days(1)).await;
    assert_eq!(server.enrol(&codes[0]).await.status(), 201);
    let admin = server.staff(&station, "park", Role::Admin).await;
    let device = server.repo.list_devices(station.id).await.expect("devices")[0].clone();
    let (_, revoked) = server
        .repo
        .revoke_device(station.id, &device.label, Utc::now())
        .await
        .expect("revoke");
    assert!(revoked);
    // A second revocation changes nothing and is not audited again.
    server
        .repo
        .revoke_device(station.id, &device.label, Utc::now())
        .await
        .expect("revoke again");

    let entries = audit(&server, &admin).await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        [
            "enrolment_code.create",
            "enrolment_code.create",
            "enrolment_code.redeem",
            "user.add",
            "session.create",
            "device.revoke"
        ]
    );
    let by = |action: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action)
            .expect("row")
            .clone()
    };
    let created = by("enrolment_code.create");
    assert_eq!(created["actor_username"], "console");
    assert_eq!(created["actor_role"], "admin");
    assert_eq!(created["target_id"], "carrier-001");
    let redeemed = by("enrolment_code.redeem");
    assert_eq!(redeemed["actor_role"], "carrier");
    assert_eq!(redeemed["actor_device_id"], device.id.to_string());
    assert_eq!(redeemed["after"]["label"], "carrier-001");
    let user = by("user.add");
    assert_eq!(user["after"], json!({"username": "park", "role": "admin"}));
    let session = by("session.create");
    assert_eq!(session["actor_username"], "park");
    assert_eq!(session["target_id"], user["target_id"]);
    let revoke = by("device.revoke");
    assert_eq!(revoke["before"]["revoked_at"], Value::Null);
    assert!(revoke["after"]["revoked_at"].is_string());
    // No secret ever reaches the log.
    let text = json!(entries).to_string();
    for code in &codes {
        assert!(!text.contains(code.as_str()));
    }
    assert!(!text.contains(&admin));
    server.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_zones_inspections_and_category_admin() {
    let doc = serde_json::to_value(postcso_station::http::openapi_document()).expect("doc");
    let paths = &doc["paths"];
    for (path, method) in [
        ("/v1/zones", "get"),
        ("/v1/zones", "post"),
        ("/v1/zones/{code}", "patch"),
        ("/v1/zones/{code}/retire", "post"),
        ("/v1/zones/import", "post"),
        ("/v1/zones/export", "get"),
        ("/v1/categories", "post"),
        ("/v1/categories/{code}/retire", "post"),
        ("/v1/reports/{id}/inspection", "post"),
        ("/v1/inspections", "get"),
        ("/v1/inspections/{id}", "get"),
        ("/v1/inspections/{id}/findings", "put"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    let kinds = doc["components"]["schemas"]["FeedEntry"].to_string();
    assert!(kinds.contains("\"zones\""));
    assert!(kinds.contains("\"zone\""));
    let view = &doc["components"]["schemas"]["ZoneView"]["properties"];
    for field in [
        "kind",
        "theme",
        "name_en",
        "guidance",
        "valid_from",
        "valid_until",
        "rings_rewound",
    ] {
        assert!(view[field].is_object(), "ZoneView.{field}");
    }
    assert!(doc["components"]["schemas"]["ZoneInfo"].is_object());
}

#[tokio::test]
async fn watch_areas_carry_theme_names_guidance_and_validity_to_the_phones() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let carrier = server.device(&station).await;
    let admin = server.staff(&station, "park", Role::Admin).await;
    let send = |method: reqwest::Method, path: &str, body: Value| {
        let request = server
            .http
            .request(method, server.url(path))
            .bearer_auth(&admin)
            .json(&body);
        async move { request.send().await.expect("request") }
    };
    // Drawn clockwise, as GIS tools often do: rewound, not refused.
    let clockwise = json!({"type": "Polygon", "coordinates": [[
        [126.9312, 37.5641], [126.9312, 37.5702], [126.9401, 37.5702],
        [126.9401, 37.5641], [126.9312, 37.5641]
    ]]});
    let alley = json!({
        "code": "yeonhui-alley", "kind": "watch_area", "theme": "dark_alley",
        "name_ko": "연희동 어두운 골목", "name_en": "Yeonhui dark alley",
        "guidance": "Broken street lights,\nblind corners", "area": clockwise,
        "valid_from": "2026-12-01T00:00:00+09:00", "valid_until": "2027-03-01T00:00:00+09:00"
    });

    // Each field's refusal, at its pointer; nothing stored.
    for (change, pointer) in [
        (json!({"kind": "bikeway"}), "/kind"),
        (json!({"theme": "Dark Alley"}), "/theme"),
        (json!({"name_en": "x\u{7}"}), "/name_en"),
        (json!({"guidance": "가".repeat(501)}), "/guidance"),
        (json!({"guidance": "tab\there"}), "/guidance"),
        (json!({"valid_from": "next week"}), "/valid_from"),
        (
            json!({"valid_until": "2026-11-01T00:00:00Z"}),
            "/valid_until",
        ),
        (json!({"kind": "beat"}), "/theme"),
        (json!({"area": null}), "/area"),
        (json!({"code": "export"}), "/code"),
    ] {
        let mut bad = alley.clone();
        for (k, v) in change.as_object().expect("object") {
            bad[k] = v.clone();
        }
        let body = problem(send(reqwest::Method::POST, "/v1/zones", bad).await, 422).await;
        assert_eq!(body["errors"][0]["pointer"], pointer, "{change}: {body}");
    }
    assert_eq!(server.count_rows("zones"), 0);

    let response = send(reqwest::Method::POST, "/v1/zones", alley.clone()).await;
    assert_eq!(response.status(), 201);
    let added: Value = response.json().await.expect("json");
    assert_eq!(added["rings_rewound"], 1);
    assert_eq!(added["kind"], "watch_area");
    assert_eq!(added["name"], "연희동 어두운 골목", "name_ko is the name");
    assert_eq!(added["valid_from"], "2026-11-30T15:00:00Z");
    assert_eq!(
        added["area"]["coordinates"][0][1],
        json!([126.9401, 37.5641]),
        "counter-clockwise now"
    );

    // The phone gets every field, in a delta of that zone alone.
    let entries = feed(&server, &carrier).await;
    let delta = entries
        .iter()
        .rfind(|c| c["kind"] == "zone")
        .expect("a zone delta");
    let zone = &delta["zone"];
    assert_eq!(zone["code"], "yeonhui-alley");
    assert_eq!(zone["theme"], "dark_alley");
    assert_eq!(zone["name_en"], "Yeonhui dark alley");
    assert_eq!(zone["guidance"], "Broken street lights,\nblind corners");
    assert_eq!(zone["valid_until"], "2027-02-28T15:00:00Z");
    assert_eq!(zone["assigned"], false);
    assert!(
        !entries.iter().any(|c| c["kind"] == "zones"),
        "no whole lists"
    );

    // PATCH: clear the guidance, and a change contradicting the stored dates is a conflict.
    let path = "/v1/zones/yeonhui-alley";
    let patched: Value = send(reqwest::Method::PATCH, path, json!({"guidance": null}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(patched["guidance"], Value::Null);
    assert!(patched.get("rings_rewound").is_none(), "no outline given");
    let body = problem(
        send(
            reqwest::Method::PATCH,
            path,
            json!({"valid_until": "2026-11-01T00:00:00Z"}),
        )
        .await,
        409,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("valid_until")
    );
    let body = problem(
        send(
            reqwest::Method::PATCH,
            path,
            json!({"valid_from": "2027-01-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["pointer"], "/valid_until");
    let rewound: Value = send(
        reqwest::Method::PATCH,
        path,
        json!({"area": alley["area"], "name_en": ""}),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(rewound["rings_rewound"], 1);
    assert_eq!(rewound["name_en"], Value::Null, "an empty name clears it");
    let listed: Value = server
        .http
        .get(server.url("/v1/zones"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(listed[0]["theme"], "dark_alley");
    assert!(listed[0].get("rings_rewound").is_none());
    let rows = audit(&server, &admin).await;
    let update = rows
        .iter()
        .rfind(|e| e["action"] == "zone.update")
        .expect("an update row");
    assert_eq!(update["after"]["area_points"], 5);
    assert!(!json!(rows).to_string().contains("126.9312"));
    server.stop().await;
}

#[test]
fn the_openapi_document_describes_zone_files() {
    let doc = serde_json::to_value(postcso_station::http::openapi_document()).expect("doc");
    let schemas = &doc["components"]["schemas"];
    for name in [
        "ImportReport",
        "ImportedZoneReport",
        "ImportOutcome",
        "ZoneInfo",
        "ZoneView",
    ] {
        assert!(schemas[name].is_object(), "{name} is documented");
    }
    let import = &doc["paths"]["/v1/zones/import"]["post"];
    assert!(import["requestBody"]["content"]["application/geo+json"].is_object());
    for status in ["200", "400", "403", "413", "422"] {
        assert!(import["responses"][status].is_object(), "import {status}");
    }
    let export = &doc["paths"]["/v1/zones/export"]["get"]["responses"]["200"];
    assert!(export["content"]["application/geo+json"].is_object());
}
