//! Photos are served only to callers who may see the report, full size or as
//! server-made thumbnails.

mod common;

use common::{TestServer, Tus, fixture_photo, id_of, problem, report_with_photos};
use postcso_station::auth::Role;

#[tokio::test]
async fn photos_and_thumbnails_follow_the_access_matrix() {
    let server = TestServer::start().await;
    let seodaemun = server.station("seodaemun").await;
    let mapo = server.station("mapo").await;
    let owner = server.device(&seodaemun).await;
    let other_carrier = server.device(&seodaemun).await;
    let supervisor = server.staff(&seodaemun, "kim", Role::Supervisor).await;
    let inspector = server.staff(&seodaemun, "lee", Role::Inspector).await;
    let admin = server.staff(&seodaemun, "park", Role::Admin).await;
    let other_station_supervisor = server.staff(&mapo, "choi", Role::Supervisor).await;
    let other_station_carrier = server.device(&mapo).await;

    let photo = fixture_photo("npm-exif-0.6.0/evil1.jpg");
    let missing = fixture_photo("npm-exif-0.6.0/test1.jpg");
    let report = report_with_photos(&[&photo, &missing]);
    let id = id_of(&report);
    assert_eq!(server.put_report(&owner, &id, &report).await.status(), 201);
    Tus {
        server: &server,
        token: owner.clone(),
    }
    .upload(&id, &photo, 40_000)
    .await;

    let get = |token: String, path: String| {
        let http = server.http.clone();
        let url = server.url(&path);
        async move { http.get(url).bearer_auth(token).send().await.expect("get") }
    };
    let original = format!("/v1/reports/{id}/photos/0");
    let thumb = format!("/v1/reports/{id}/photos/0?size=thumb");

    for (who, token) in [("owner", &owner), ("supervisor", &supervisor)] {
        let response = get(token.clone(), original.clone()).await;
        assert_eq!(response.status(), 200, "{who}");
        assert_eq!(response.headers()["content-type"], "image/jpeg");
        assert_eq!(response.headers()["cache-control"], "private, no-store");
        assert_eq!(
            response.bytes().await.expect("bytes").as_ref(),
            photo,
            "{who}"
        );

        let response = get(token.clone(), thumb.clone()).await;
        assert_eq!(response.status(), 200, "{who} thumb");
        let bytes = response.bytes().await.expect("thumb");
        let image = image::load_from_memory(&bytes).expect("thumbnail decodes");
        assert_eq!(
            (image.width(), image.height()),
            (320, 240),
            "640x480 → 320x240"
        );
    }
    for (who, token) in [
        ("other carrier", &other_carrier),
        ("inspector", &inspector),
        ("admin", &admin),
        ("other station's supervisor", &other_station_supervisor),
        ("other station's carrier", &other_station_carrier),
    ] {
        problem(get(token.clone(), original.clone()).await, 404).await;
        problem(get(token.clone(), thumb.clone()).await, 404).await;
        let _ = who;
    }
    // Not received yet, out of range, not a UUID, unknown size.
    problem(
        get(supervisor.clone(), format!("/v1/reports/{id}/photos/1")).await,
        404,
    )
    .await;
    problem(
        get(supervisor.clone(), format!("/v1/reports/{id}/photos/9")).await,
        404,
    )
    .await;
    problem(
        get(supervisor.clone(), "/v1/reports/x/photos/0".into()).await,
        404,
    )
    .await;
    problem(
        get(supervisor.clone(), format!("{original}?size=huge")).await,
        400,
    )
    .await;
    let anonymous = server
        .http
        .get(server.url(&original))
        .send()
        .await
        .expect("get");
    problem(anonymous, 401).await;

    // The thumbnail is cached in the data dir.
    let dir = server.stop_keeping_dir().await;
    let cached = std::fs::read_dir(dir.path().join("thumbs"))
        .expect("thumbs")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with("-320.jpg"))
        .count();
    assert_eq!(cached, 1);
}
