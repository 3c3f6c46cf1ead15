//! `POST /v1/reports/{id}/merge`: a supervisor merges a duplicate into the
//! report already being handled, on the version read (`If-Match`), with
//! typed problems for what cannot be merged; the merged report's carrier
//! reads the status and the message in its changes feed, and the kept
//! report lists the merged report's photos as related photos.

mod common;

use common::{TestServer, Tus, id_of, photo_bytes, problem, report_with_photos, sample_report};
use postcso_station::auth::Role;
use serde_json::{Value, json};

const MESSAGE: &str = "이미 처리 중인 신고에 병합되었습니다.";

async fn merge(
    server: &TestServer,
    token: &str,
    id: &str,
    body: Value,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut request = server
        .http
        .post(server.url(&format!("/v1/reports/{id}/merge")))
        .bearer_auth(token)
        .json(&body);
    if let Some(tag) = if_match {
        request = request.header("If-Match", tag);
    }
    request.send().await.expect("merge")
}

async fn etag_of(server: &TestServer, token: &str, id: &str) -> String {
    let response = server.get_report(token, id).await;
    assert_eq!(response.status(), 200);
    response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_owned()
}

#[tokio::test]
async fn a_supervisor_merges_a_duplicate_and_its_carrier_is_told() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let first = server.device(&station).await;
    let second = server.device(&station).await;
    let kim = server.staff(&station, "kim", Role::Supervisor).await;
    let kept = sample_report(0);
    let kept_id = id_of(&kept);
    assert_eq!(
        server.put_report(&first, &kept_id, &kept).await.status(),
        201
    );
    let photo = photo_bytes(20_000, 7);
    let dup = report_with_photos(&[&photo]);
    let dup_id = id_of(&dup);
    assert_eq!(
        server.put_report(&second, &dup_id, &dup).await.status(),
        201
    );
    Tus::new(&server, second.clone())
        .upload(&dup_id, &photo, 8192)
        .await;
    let kept_tag = etag_of(&server, &kim, &kept_id).await;

    // Decided on an old version: 412, nothing changed.
    let stale = merge(
        &server,
        &kim,
        &dup_id,
        json!({"into": kept_id}),
        Some("\"v1\""),
    )
    .await;
    let body = problem(stale, 412).await;
    assert_eq!(body["type"], "/problems/stale-version");
    assert_eq!(
        server.report_json(&kim, &dup_id).await["status"],
        "received"
    );

    let tag = etag_of(&server, &kim, &dup_id).await;
    let response = merge(&server, &kim, &dup_id, json!({"into": kept_id}), Some(&tag)).await;
    assert_eq!(response.status(), 200);
    let new_tag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_owned();
    assert_ne!(new_tag, tag);
    let merged: Value = response.json().await.expect("json");
    assert_eq!(merged["status"], "merged");
    assert_eq!(merged["merged_into"], kept_id.as_str());
    assert_eq!(merged["status_reason"], MESSAGE);

    // The kept report gains the photo as related; its own content and version stay.
    let kept_now = server.report_json(&kim, &kept_id).await;
    assert_eq!(kept_now["status"], "received");
    assert_eq!(kept_now["photos"].as_array().expect("photos").len(), 0);
    assert_eq!(kept_now["merged_into"], Value::Null);
    let related = kept_now["related_photos"].as_array().expect("related");
    assert_eq!(related.len(), 1);
    assert_eq!(related[0]["report_id"], dup_id.as_str());
    assert_eq!(related[0]["received"], true);
    assert_eq!(etag_of(&server, &kim, &kept_id).await, kept_tag);
    let served = server
        .http
        .get(server.url(&format!("/v1/reports/{dup_id}/photos/0")))
        .bearer_auth(&kim)
        .send()
        .await
        .expect("photo");
    assert_eq!(served.status(), 200);

    // The duplicate's carrier reads the status and the message in its feed.
    let feed: Value = server
        .http
        .get(server.url("/v1/changes?limit=100"))
        .bearer_auth(&second)
        .send()
        .await
        .expect("feed")
        .json()
        .await
        .expect("json");
    let last = feed["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .rfind(|c| c["report_id"] == dup_id.as_str())
        .expect("an entry");
    assert_eq!(last["kind"], "report_status");
    assert_eq!(last["status"], "merged");
    assert_eq!(last["reason"], MESSAGE);
    // And reading it back: the status and message, never the pointer.
    let own: Value = server.report_json(&second, &dup_id).await;
    assert_eq!(own["status"], "merged");
    assert!(own.get("merged_into").is_none());

    // Audited on both reports.
    let admin = server.staff(&station, "park", Role::Admin).await;
    let merge_rows = server.audit_rows(&admin, "report.merge").await;
    assert_eq!(merge_rows.len(), 1);
    assert_eq!(merge_rows[0]["target_id"], dup_id.as_str());
    let merged_in = server.audit_rows(&admin, "report.merged_in").await;
    assert_eq!(merged_in.len(), 1);
    assert_eq!(merged_in[0]["target_id"], kept_id.as_str());

    // Repeating the merge changes nothing; a message of one's own is kept.
    let again = merge(&server, &kim, &dup_id, json!({"into": kept_id}), None).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["etag"].to_str().expect("etag"), new_tag);
    let third = sample_report(0);
    let third_id = id_of(&third);
    assert_eq!(
        server.put_report(&first, &third_id, &third).await.status(),
        201
    );
    let own_words = merge(
        &server,
        &kim,
        &third_id,
        json!({"into": kept_id, "reason": "  같은 가로등입니다  "}),
        None,
    )
    .await;
    let body: Value = own_words.json().await.expect("json");
    assert_eq!(body["status_reason"], "같은 가로등입니다");
}

#[tokio::test]
async fn merges_that_cannot_be_made_are_refused_with_typed_problems() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let mapo = server.station("mapo").await;
    let carrier = server.device(&station).await;
    let mapo_carrier = server.device(&mapo).await;
    let kim = server.staff(&station, "kim", Role::Supervisor).await;
    let admin = server.staff(&station, "park", Role::Admin).await;
    let inspector = server.staff(&station, "lee", Role::Inspector).await;
    let choi = server.staff(&mapo, "choi", Role::Supervisor).await;
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
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    let theirs = sample_report(0);
    let theirs_id = id_of(&theirs);
    assert_eq!(
        server
            .put_report(&mapo_carrier, &theirs_id, &theirs)
            .await
            .status(),
        201
    );

    let into = |id: &str| json!({ "into": id });
    let body = problem(merge(&server, &kim, a, into(a), None).await, 422).await;
    assert_eq!(body["type"], "/problems/merge-into-self");
    // Across stations: the other station's report is unknown here, and ours
    // is unknown to the other station's supervisor.
    let body = problem(merge(&server, &kim, a, into(&theirs_id), None).await, 422).await;
    assert_eq!(body["type"], "/problems/merge-target-unknown");
    let body = problem(merge(&server, &kim, &theirs_id, into(a), None).await, 404).await;
    assert_eq!(body["type"], "/problems/not-found");
    problem(merge(&server, &choi, a, into(b), None).await, 404).await;
    let body = problem(
        merge(&server, &kim, a, json!({"into": "not-a-uuid"}), None).await,
        422,
    )
    .await;
    assert_eq!(body["type"], "/problems/validation");
    problem(merge(&server, &kim, "nope", into(b), None).await, 400).await;
    for token in [&carrier, &admin, &inspector] {
        problem(merge(&server, token, a, into(b), None).await, 403).await;
    }
    let body = problem(
        merge(
            &server,
            &kim,
            a,
            json!({"into": b, "reason": "x".repeat(501)}),
            None,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["pointer"], "/reason");

    // b into a; then c into b (merged) and b elsewhere are refused.
    assert_eq!(merge(&server, &kim, b, into(a), None).await.status(), 200);
    let body = problem(merge(&server, &kim, c, into(b), None).await, 409).await;
    assert_eq!(body["type"], "/problems/merge-target-merged");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains(a.as_str())
    );
    let body = problem(merge(&server, &kim, b, into(c), None).await, 409).await;
    assert_eq!(body["type"], "/problems/already-merged");
    // A merge is not a PATCH status.
    let patched = server
        .http
        .patch(server.url(&format!("/v1/reports/{c}")))
        .bearer_auth(&kim)
        .json(&json!({"status": "merged"}))
        .send()
        .await
        .expect("patch");
    let body = problem(patched, 422).await;
    assert_eq!(body["errors"][0]["pointer"], "/status");
    for id in [a, c] {
        assert_eq!(server.report_json(&kim, id).await["status"], "received");
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_merge() {
    let doc = serde_json::to_value(postcso_station::http::openapi_document()).expect("doc");
    let op = &doc["paths"]["/v1/reports/{id}/merge"]["post"];
    assert!(op.is_object(), "merge is documented");
    for status in ["200", "404", "409", "412", "422"] {
        assert!(op["responses"][status].is_object(), "{status}");
    }
    assert!(doc["components"]["schemas"]["MergeRequest"].is_object());
}
