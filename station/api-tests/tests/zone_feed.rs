//! Zones reach phones as deltas: each change is one `zone` entry holding
//! only the zone that changed, so a phone that was offline through many
//! changes catches up in one sync and ends with exactly the station's zones;
//! whole-list `zones` entries an older station wrote still read.

mod common;

use common::{TestServer, db_sql, is_postgres};
use postcso_station::auth::Role;
use serde_json::{Value, json};
use uuid::Uuid;

/// A phone's view of the zones, kept the way the phone keeps it: a `zones`
/// list replaces everything, a `zone` delta adds or replaces one by code.
#[derive(Default)]
struct Phone {
    cursor: String,
    zones: Vec<Value>,
    zone_entries: usize,
}

impl Phone {
    fn apply(&mut self, entry: &Value) {
        match entry["kind"].as_str() {
            Some("zones") => {
                self.zones = entry["zones"].as_array().cloned().unwrap_or_default();
                self.zone_entries += 1;
            }
            Some("zone") => {
                let zone = entry["zone"].clone();
                match self.zones.iter_mut().find(|z| z["code"] == zone["code"]) {
                    Some(held) => *held = zone,
                    None => self.zones.push(zone),
                }
                self.zone_entries += 1;
            }
            _ => {}
        }
    }

    /// One sync: pages of `limit` until the station says there are no more.
    /// Returns the pages read and the entries of this sync.
    async fn sync(&mut self, server: &TestServer, token: &str, limit: u32) -> (usize, Vec<Value>) {
        let mut pages = 0;
        let mut entries = Vec::new();
        loop {
            let page: Value = server
                .http
                .get(server.url(&format!("/v1/changes?limit={limit}&cursor={}", self.cursor)))
                .bearer_auth(token)
                .send()
                .await
                .expect("changes")
                .json()
                .await
                .expect("page");
            pages += 1;
            for entry in page["changes"].as_array().expect("changes") {
                self.apply(entry);
                entries.push(entry.clone());
            }
            self.cursor = page["cursor"].as_str().expect("cursor").to_owned();
            if page["has_more"] != true {
                return (pages, entries);
            }
        }
    }
}

/// What the station holds for `device`, as the phone should see it.
async fn station_view(
    server: &TestServer,
    station: &postcso_station::repo::Station,
    device: Uuid,
) -> Vec<Value> {
    server
        .repo
        .zones(station.id)
        .await
        .expect("zones")
        .iter()
        .map(|z| serde_json::to_value(z.for_device(device)).expect("json"))
        .collect()
}

struct Admin<'a> {
    server: &'a TestServer,
    token: String,
}

impl Admin<'_> {
    async fn send(&self, method: reqwest::Method, path: &str, body: Value) {
        let response = self
            .server
            .http
            .request(method, self.server.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
}

fn square(dx: f64) -> Value {
    let (w, e) = (126.93 + dx, 126.94 + dx);
    json!({"type": "Polygon", "coordinates": [[[w, 37.56], [e, 37.56], [e, 37.57], [w, 37.57], [w, 37.56]]]})
}

#[tokio::test]
async fn a_phone_offline_through_thirty_zone_changes_catches_up_in_one_sync() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let device = server.repo.list_devices(station.id).await.expect("devices")[0].id;
    let admin = Admin {
        server: &server,
        token: server.staff(&station, "park", Role::Admin).await,
    };
    let mut phone = Phone::default();
    phone.sync(&server, &token, 100).await;
    assert!(phone.zones.is_empty());

    // Offline: thirty changes of every sort.
    let (post, patch) = (reqwest::Method::POST, reqwest::Method::PATCH);
    for i in 0..10 {
        let body = json!({"code": format!("route-{i}"), "name": format!("{i}구역"), "area": square(i as f64 * 0.01)});
        admin.send(post.clone(), "/v1/zones", body).await; // 10 adds
    }
    for i in 0..10 {
        let body = if i % 2 == 0 {
            json!({"devices": [device]})
        } else {
            json!({"name_en": format!("Route {i}"), "guidance": "Check the lights"})
        };
        admin
            .send(patch.clone(), &format!("/v1/zones/route-{i}"), body)
            .await; // 10 updates
    }
    for i in 5..10 {
        admin
            .send(
                post.clone(),
                &format!("/v1/zones/route-{i}/retire"),
                json!({}),
            )
            .await; // 5 retirements
    }
    let file = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "route-0", "name_ko": "영구역"}, "geometry": square(0.0)},
        {"type": "Feature", "properties": {"code": "route-1", "name_ko": "1구역", "name_en": "Route 1",
                                           "guidance": "Check the lights"}, "geometry": square(0.01)},
        {"type": "Feature", "properties": {"code": "route-2", "name_ko": "이구역"}, "geometry": square(0.02)},
        {"type": "Feature", "properties": {"code": "alley-1", "kind": "watch_area", "theme": "dark_alley",
                                           "name_ko": "골목 1"}, "geometry": square(0.2)},
        {"type": "Feature", "properties": {"code": "alley-2", "kind": "watch_area", "theme": "school_route",
                                           "name_ko": "골목 2"}, "geometry": square(0.3)},
        {"type": "Feature", "properties": {"code": "alley-3", "kind": "watch_area", "theme": "parcel_theft_hotspot",
                                           "name_ko": "골목 3"}, "geometry": square(0.4)},
    ]});
    let response = server
        .http
        .post(server.url("/v1/zones/import"))
        .bearer_auth(&admin.token)
        .header("content-type", "application/geo+json")
        .body(file.to_string())
        .send()
        .await
        .expect("import");
    let report: Value = response.json().await.expect("report");
    // route-1 is unchanged; two renames and three new watch areas.
    assert_eq!(
        (&report["updated"], &report["added"], &report["unchanged"]),
        (&json!(2), &json!(3), &json!(1))
    );

    // Back online: one sync, in pages of 8, brings it all.
    let (pages, entries) = phone.sync(&server, &token, 8).await;
    assert_eq!(pages, 4, "30 entries in pages of 8");
    assert_eq!(entries.len(), 30);
    assert_eq!(phone.zone_entries, 30, "one entry per change, nothing else");
    assert!(entries.iter().all(|e| e["kind"] == "zone"));
    assert_eq!(phone.zones, station_view(&server, &station, device).await);
    assert_eq!(phone.zones.len(), 13);
    let route = |code: &str| {
        phone
            .zones
            .iter()
            .find(|z| z["code"] == code)
            .expect(code)
            .clone()
    };
    assert_eq!(route("route-0")["assigned"], true);
    assert_eq!(route("route-0")["name"], "영구역");
    assert_eq!(route("route-1")["assigned"], false);
    assert_eq!(route("route-8")["retired"], true);
    assert_eq!(
        route("route-8")["assigned"],
        true,
        "assigned before it was retired"
    );
    assert_eq!(route("alley-2")["theme"], "school_route");

    // Nothing more waits.
    let (_, more) = phone.sync(&server, &token, 8).await;
    assert!(more.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_zone_change_is_a_delta_of_that_zone_alone() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let device = server.repo.list_devices(station.id).await.expect("devices")[0].id;
    let admin = Admin {
        server: &server,
        token: server.staff(&station, "park", Role::Admin).await,
    };
    for i in 0..5 {
        let body = json!({"code": format!("route-{i}"), "name": format!("{i}구역"), "area": square(i as f64 * 0.01)});
        admin.send(reqwest::Method::POST, "/v1/zones", body).await;
    }
    let mut phone = Phone::default();
    phone.sync(&server, &token, 100).await;
    assert_eq!(phone.zones.len(), 5);

    admin
        .send(
            reqwest::Method::PATCH,
            "/v1/zones/route-3",
            json!({"guidance": "Parcels left at doors", "devices": [device]}),
        )
        .await;
    let (_, entries) = phone.sync(&server, &token, 100).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["kind"], "zone");
    let zone = &entries[0]["zone"];
    assert_eq!(zone["code"], "route-3");
    assert_eq!(zone["guidance"], "Parcels left at doors");
    assert_eq!(zone["assigned"], true);
    assert!(
        !entries[0].to_string().contains("route-2"),
        "no other zone rides along"
    );
    assert_eq!(phone.zones, station_view(&server, &station, device).await);
    server.stop().await;
}

#[tokio::test]
async fn whole_zone_lists_an_older_station_wrote_still_read() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let device = server.repo.list_devices(station.id).await.expect("devices")[0].id;
    let admin = server.staff(&station, "park", Role::Admin).await;
    // A list as the station stored it before zone details and deltas.
    let list = json!([{
        "code": "old-route", "name": "옛 구역", "area": null, "devices": [device],
        "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-01T00:00:00Z",
        "retired_at": null
    }])
    .to_string();
    let sql = if is_postgres() {
        format!(
            "INSERT INTO changes (station_id, kind, data_json, at)
             VALUES ('{}', 'zones', '{list}', now())",
            station.id
        )
    } else {
        format!(
            "INSERT INTO changes (station_id, seq, kind, data_json, at)
             VALUES ('{0}', (SELECT max(seq) + 1 FROM changes WHERE station_id = '{0}'),
                     'zones', '{list}', '2026-11-01T00:00:00.000000Z')",
            station.id
        )
    };
    db_sql(server.dir.path(), &sql).expect("an old entry");
    let response = server
        .http
        .post(server.url("/v1/zones"))
        .bearer_auth(&admin)
        .json(&json!({"code": "new-route", "name": "새 구역"}))
        .send()
        .await
        .expect("add");
    assert_eq!(response.status(), 201);

    let mut phone = Phone::default();
    let (_, entries) = phone.sync(&server, &token, 100).await;
    let kinds: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .filter(|k| k.starts_with("zone"))
        .collect();
    assert_eq!(kinds, ["zones", "zone"]);
    let old = &entries.iter().find(|e| e["kind"] == "zones").expect("list")["zones"][0];
    assert_eq!(old["kind"], "beat", "an old zone reads as a beat");
    assert_eq!(old["assigned"], true);
    assert!(old.get("devices").is_none(), "no device ids on the wire");
    let codes: Vec<&str> = phone
        .zones
        .iter()
        .map(|z| z["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, ["old-route", "new-route"]);
    server.stop().await;
}
