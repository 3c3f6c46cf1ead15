//! The changes feed: opaque monotonic cursors, scoped per role and station.

mod common;

use common::{TestServer, Tus, id_of, photo_bytes, problem, report_with_photos, sample_report};
use postcso_station::auth::Role;
use serde_json::{Value, json};

async fn feed(server: &TestServer, token: &str, cursor: Option<&str>, limit: u32) -> Value {
    let mut url = format!("/v1/changes?limit={limit}");
    if let Some(c) = cursor {
        url.push_str(&format!("&cursor={c}"));
    }
    let response = server
        .http
        .get(server.url(&url))
        .bearer_auth(token)
        .send()
        .await
        .expect("changes");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

/// Follows the feed to its end, one page of `limit` at a time.
async fn drain(
    server: &TestServer,
    token: &str,
    cursor: Option<String>,
    limit: u32,
) -> (Vec<Value>, String) {
    let mut cursor = cursor;
    let mut all = Vec::new();
    loop {
        let page = feed(server, token, cursor.as_deref(), limit).await;
        all.extend(page["changes"].as_array().expect("changes").iter().cloned());
        cursor = Some(page["cursor"].as_str().expect("cursor").to_owned());
        if page["has_more"] == false {
            break;
        }
    }
    (all, cursor.expect("cursor"))
}

#[tokio::test]
async fn each_caller_sees_its_own_changes_in_order_and_cursors_move_forward() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let mapo = server.station("mapo").await;
    let carrier = server.device(&station).await;
    let other_carrier = server.device(&station).await;
    let supervisor = server.staff(&station, "kim", Role::Supervisor).await;
    let admin = server.staff(&station, "park", Role::Admin).await;
    let mapo_supervisor = server.staff(&mapo, "choi", Role::Supervisor).await;

    // A new phone's first read: the category list.
    let first = feed(&server, &carrier, None, 100).await;
    assert_eq!(first["has_more"], false);
    let changes = first["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["kind"], "categories");
    assert_eq!(changes[0]["categories"].as_array().expect("list").len(), 6);
    assert_eq!(changes[0]["categories"][0]["code"], "crime_risk");
    let carrier_cursor = first["cursor"].as_str().expect("cursor").to_owned();
    let (_, supervisor_cursor) = drain(&server, &supervisor, None, 100).await;

    // The carrier files two reports (one with a photo), the other carrier one.
    let photo = photo_bytes(5000, 1);
    let with_photo = report_with_photos(&[&photo]);
    let a = id_of(&with_photo);
    assert_eq!(
        server.put_report(&carrier, &a, &with_photo).await.status(),
        201
    );
    let plain = sample_report(0);
    let b = id_of(&plain);
    assert_eq!(server.put_report(&carrier, &b, &plain).await.status(), 201);
    let theirs = sample_report(0);
    let c = id_of(&theirs);
    assert_eq!(
        server
            .put_report(&other_carrier, &c, &theirs)
            .await
            .status(),
        201
    );
    // The photo arrives; the supervisor decides on a and c.
    Tus {
        server: &server,
        token: carrier.clone(),
    }
    .upload(&a, &photo, 5000)
    .await;
    for (id, body) in [
        (&a, json!({"status": "accepted"})),
        (&c, json!({"status": "rejected", "reason": "duplicate"})),
        (&a, json!({"status": "fixed"})),
    ] {
        let response = server
            .http
            .patch(server.url(&format!("/v1/reports/{id}")))
            .bearer_auth(&supervisor)
            .json(&body)
            .send()
            .await
            .expect("triage");
        assert_eq!(response.status(), 200);
    }

    // The carrier: its own reports' completion and status changes only.
    let (mine, next) = drain(&server, &carrier, Some(carrier_cursor.clone()), 1).await;
    assert_eq!(
        mine,
        vec![
            json!({"kind": "report_status", "report_id": a, "status": "received", "complete": true}),
            json!({"kind": "report_status", "report_id": a, "status": "accepted", "complete": true}),
            json!({"kind": "report_status", "report_id": a, "status": "fixed", "complete": true}),
        ]
    );
    assert_ne!(next, carrier_cursor);
    // Nothing new: same cursor back, empty page.
    let again = feed(&server, &carrier, Some(&next), 100).await;
    assert_eq!(again["changes"], json!([]));
    assert_eq!(again["cursor"], next.as_str());
    // The other carrier sees its rejection with the reason, and nothing of a or b.
    let (theirs_seen, _) = drain(&server, &other_carrier, None, 100).await;
    assert_eq!(theirs_seen.len(), 2);
    assert_eq!(theirs_seen[0]["kind"], "categories");
    assert_eq!(
        theirs_seen[1],
        json!({"kind": "report_status", "report_id": c, "status": "rejected",
               "complete": true, "reason": "duplicate"})
    );

    // The supervisor: every report event of the station, in order.
    let (events, _) = drain(&server, &supervisor, Some(supervisor_cursor), 2).await;
    let summary: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            assert_eq!(e["kind"], "report");
            (
                e["report_id"].as_str().expect("id").to_owned(),
                e["event"].as_str().expect("event").to_owned(),
                e["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    let s =
        |id: &str, event: &str, status: &str| (id.to_owned(), event.to_owned(), status.to_owned());
    assert_eq!(
        summary,
        vec![
            s(&a, "created", "received"),
            s(&b, "created", "received"),
            s(&c, "created", "received"),
            s(&a, "complete", "received"),
            s(&a, "status", "accepted"),
            s(&c, "status", "rejected"),
            s(&a, "status", "fixed"),
        ]
    );
    assert_eq!(events[0]["photos_missing"], 1);
    assert_eq!(events[3]["photos_missing"], 0);

    // Admins get the category list only; another station sees none of this.
    let (admin_seen, _) = drain(&server, &admin, None, 100).await;
    assert!(admin_seen.iter().all(|e| e["kind"] == "categories"));
    let (mapo_seen, _) = drain(&server, &mapo_supervisor, None, 100).await;
    assert_eq!(mapo_seen.len(), 1);
    assert_eq!(mapo_seen[0]["kind"], "categories");

    // Garbage cursors are refused; unauthenticated callers too.
    let response = server
        .http
        .get(server.url("/v1/changes?cursor=not-a-cursor"))
        .bearer_auth(&carrier)
        .send()
        .await
        .expect("changes");
    let body = problem(response, 400).await;
    assert_eq!(body["type"], "/problems/invalid-cursor");
    let response = server
        .http
        .get(server.url("/v1/changes"))
        .send()
        .await
        .expect("changes");
    problem(response, 401).await;
    server.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_uploads_photos_triage_changes_and_audit() {
    let doc = serde_json::to_value(postcso_station::http::openapi_document()).expect("doc");
    let paths = &doc["paths"];
    for (path, method) in [
        ("/v1/uploads", "options"),
        ("/v1/uploads", "post"),
        ("/v1/uploads/{id}", "head"),
        ("/v1/uploads/{id}", "patch"),
        ("/v1/uploads/{id}", "delete"),
        ("/v1/reports/{id}", "patch"),
        ("/v1/reports/{id}/photos/{n}", "get"),
        ("/v1/changes", "get"),
        ("/v1/audit", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    let kinds = doc["components"]["schemas"]["FeedEntry"].to_string();
    for kind in ["report_status", "categories", "report"] {
        assert!(kinds.contains(kind), "{kind}");
    }
}
