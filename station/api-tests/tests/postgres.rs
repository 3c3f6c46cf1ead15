//! PostgreSQL-only behaviour, against the real server `cargo xtask test`
//! starts: the database going away (unreachable, or connections terminated
//! by the server) answers 503 with Retry-After and leaves nothing
//! half-stored; concurrent migrations; the CLI's `--database-url`.
//!
//! On the SQLite run (no `POSTCSO_TEST_DATABASE_URL`) each test says it is
//! skipped and returns; their SQLite counterparts are in `bad_input.rs` and
//! `ops.rs`.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use common::{
    DATABASE_URL_FILE, TestServer, fresh_postgres_database, id_of, postgres_server_url,
    postgres_sql, problem, report_with_photos, sample_report, skip_unless_postgres, test_config,
};
use postcso_station::repo::postgres::PgRepository;
use postcso_station::repo::{
    Actor, Audience, ChangeBody, FeedStore, NewZone, RepoError, StationId, StationStore, ZoneStore,
};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// A loopback TCP link to the PostgreSQL server that a test can cut (the
/// station then finds the database unreachable: open connections drop, new
/// ones are refused) and restore on the same port.
struct Link {
    addr: SocketAddr,
    target: SocketAddr,
    accept: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Link {
    async fn open(target: SocketAddr) -> Self {
        let mut link = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            target,
            accept: None,
            connections: Arc::default(),
        };
        link.listen().await;
        link
    }

    async fn listen(&mut self) {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket.bind(self.addr).expect("bind link");
        let listener: TcpListener = socket.listen(64).expect("listen");
        self.addr = listener.local_addr().expect("addr");
        let target = self.target;
        let connections = Arc::clone(&self.connections);
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                connections.lock().expect("lock").push(pipe);
            }
        }));
    }

    /// Drops every connection and stops accepting new ones.
    fn cut(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        for pipe in self.connections.lock().expect("lock").drain(..) {
            pipe.abort();
        }
    }

    /// Accepts connections again, on the same port.
    async fn restore(&mut self) {
        // The aborted accept task releases the listener asynchronously.
        for _ in 0..50 {
            if std::net::TcpListener::bind(self.addr).is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.listen().await;
    }
}

/// The test server's address, user and a fresh database on it.
async fn fresh_database() -> (SocketAddr, String, String) {
    let server = postgres_server_url().expect("server url");
    let url = fresh_postgres_database(&server).await;
    let config: tokio_postgres::Config = url.parse().expect("url");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        other => panic!("the test server must be on TCP, not {other:?}"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let addr: SocketAddr = format!("{host}:{port}").parse().expect("ip address");
    let user = config.get_user().unwrap_or("postgres").to_owned();
    (addr, user, url)
}

/// A server whose database traffic goes through a cuttable link.
async fn server_through_link() -> (TestServer, Link, String) {
    let (target, user, direct) = fresh_database().await;
    let link = Link::open(target).await;
    let db = direct.rsplit('/').next().expect("db name").to_owned();
    let via_link = format!("postgres://{user}@{}/{db}", link.addr);
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join(DATABASE_URL_FILE), &via_link).expect("url file");
    let server = TestServer::start_in(dir, test_config()).await;
    (server, link, direct)
}

fn count(url: &str, sql: &str) -> i64 {
    let (rows, _) = postgres_sql(url, sql).expect("query");
    rows[0][0]
        .as_deref()
        .expect("value")
        .parse()
        .expect("number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_gets_503_with_retry_after_and_nothing_half_stored() {
    if skip_unless_postgres() {
        return;
    }
    let (server, mut link, direct) = server_through_link().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let first = sample_report(0);
    assert_eq!(
        server
            .put_report(&token, &id_of(&first), &first)
            .await
            .status(),
        201
    );

    link.cut();
    let report = report_with_photos(&[b"one photo"]);
    let response = server.put_report(&token, &id_of(&report), &report).await;
    assert!(response.headers().get("retry-after").is_some());
    let p = problem(response, 503).await;
    assert_eq!(p["type"], "/problems/unavailable");
    let ready = server
        .http
        .get(server.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 503);
    assert_eq!(count(&direct, "SELECT count(*) FROM reports"), 1);
    assert_eq!(count(&direct, "SELECT count(*) FROM report_photos"), 0);

    link.restore().await;
    // The same PUT goes through once the database is back: the retry is safe.
    let mut status = 0;
    for _ in 0..50 {
        status = server
            .put_report(&token, &id_of(&report), &report)
            .await
            .status()
            .as_u16();
        if status != 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 201);
    assert_eq!(count(&direct, "SELECT count(*) FROM reports"), 2);
    assert_eq!(count(&direct, "SELECT count(*) FROM report_photos"), 1);
    assert_eq!(
        count(
            &direct,
            "SELECT count(*) FROM changes WHERE kind = 'report'"
        ),
        2
    );
    // Besides the device's enrolment rows, one audit row per stored report.
    assert_eq!(
        count(
            &direct,
            "SELECT count(*) FROM audit_log WHERE action = 'report.create'"
        ),
        2
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutting_the_database_mid_delivery_leaves_every_report_whole() {
    if skip_unless_postgres() {
        return;
    }
    let (server, mut link, direct) = server_through_link().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let reports: Vec<_> = (0..40).map(|_| sample_report(2)).collect();
    let mut tasks = Vec::new();
    for report in &reports {
        let request = server
            .http
            .put(server.url(&format!("/v1/reports/{}", id_of(report))))
            .bearer_auth(&token)
            .json(report);
        tasks.push(tokio::spawn(async move {
            request.send().await.expect("request").status().as_u16()
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    link.cut();
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("task") {
            201 => {}
            503 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(refused > 0, "the cut must hit deliveries in flight");
    link.restore().await;

    // Whatever committed is whole: each stored report has its manifest, its
    // feed entry and its audit row, and nothing else exists.
    let whole = "SELECT count(*) FROM reports r
                 WHERE (SELECT count(*) FROM report_photos p WHERE p.report_id = r.id) = 2
                   AND (SELECT count(*) FROM changes c WHERE c.report_id = r.id) = 1
                   AND (SELECT count(*) FROM audit_log a WHERE a.target_id = r.id::text) = 1";
    let stored = count(&direct, "SELECT count(*) FROM reports");
    assert_eq!(count(&direct, whole), stored);
    assert_eq!(
        count(&direct, "SELECT count(*) FROM report_photos"),
        2 * stored
    );

    // Every delivery retried until answered lands exactly once.
    for report in &reports {
        let mut status = 0;
        for _ in 0..50 {
            status = server
                .put_report(&token, &id_of(report), report)
                .await
                .status()
                .as_u16();
            if status != 503 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(status == 200 || status == 201, "status {status}");
    }
    assert_eq!(count(&direct, "SELECT count(*) FROM reports"), 40);
    assert_eq!(count(&direct, whole), 40);
    // The feed stays gapless across the outage: 1 (categories) + 40, each once.
    let feed = server
        .repo
        .changes(station.id, Audience::Station, 0, 1000)
        .await
        .expect("feed");
    let seqs: Vec<u64> = feed.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=41).collect::<Vec<u64>>());
    let audit = server
        .repo
        .audit_entries(station.id, 0, 1000)
        .await
        .expect("audit");
    // The device's enrolment (code, redemption), then one row per report,
    // numbered without gaps.
    assert_eq!(audit.len(), 42);
    assert!(audit.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1));
    assert_eq!(
        audit.iter().filter(|e| e.action == "report.create").count(),
        40
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_terminated_by_the_server_are_replaced() {
    if skip_unless_postgres() {
        return;
    }
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let url = std::fs::read_to_string(server.dir.path().join(DATABASE_URL_FILE)).expect("url");
    let db = url.trim().rsplit('/').next().expect("db").to_owned();
    let admin = postgres_server_url().expect("server");
    let (rows, _) = postgres_sql(
        &admin,
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{db}'"
        ),
    )
    .expect("terminate");
    assert_ne!(
        rows[0][0].as_deref(),
        Some("0"),
        "the station had connections"
    );
    // At most a 503 with Retry-After while the pool notices, then service.
    let report = sample_report(1);
    let mut delivered = false;
    for _ in 0..20 {
        let response = server.put_report(&token, &id_of(&report), &report).await;
        match response.status().as_u16() {
            201 => {
                delivered = true;
                break;
            }
            503 => assert!(response.headers().get("retry-after").is_some()),
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(delivered);
    assert_eq!(server.count_rows("reports"), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stations_starting_together_migrate_once() {
    if skip_unless_postgres() {
        return;
    }
    let (_, _, url) = fresh_database().await;
    let opened = futures_join(&url).await;
    assert!(opened.iter().all(Result::is_ok), "{opened:?}");
    assert_eq!(
        count(&url, "SELECT count(*) FROM schema_migrations"),
        i64::from(postcso_station::repo::postgres::LATEST_VERSION)
    );
}

async fn futures_join(url: &str) -> Vec<Result<(), String>> {
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let url = url.to_owned();
            tokio::spawn(async move {
                PgRepository::connect(&url)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    results
}

#[tokio::test]
async fn the_cli_works_on_a_database_url() {
    if skip_unless_postgres() {
        return;
    }
    let (_, _, url) = fresh_database().await;
    let dir = tempfile::tempdir().expect("dir");
    let run = |args: &[&str]| {
        std::process::Command::new(postcso_harness::blocking::station_binary())
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--database-url")
            .arg(&url)
            .env_remove("POSTCSO_DATA_DIR")
            .env_remove("POSTCSO_DATABASE_URL")
            .output()
            .expect("run")
    };
    let created = run(&["station", "create", "--slug", "mapo", "--name", "Mapo"]);
    assert!(created.status.success(), "{created:?}");
    let again = run(&["station", "create", "--slug", "mapo", "--name", "Mapo"]);
    assert!(
        !again.status.success(),
        "a second station with the slug is refused"
    );
    let listed = run(&["station", "list"]);
    assert!(listed.status.success(), "{listed:?}");
    assert!(String::from_utf8_lossy(&listed.stdout).starts_with("mapo\t"));
    assert!(
        !dir.path().join("station.db").exists(),
        "no SQLite file when a database URL is given"
    );
    assert_eq!(count(&url, "SELECT count(*) FROM categories"), 6);
    let zone = run(&[
        "zone",
        "add",
        "--station",
        "mapo",
        "--code",
        "route-1",
        "--name",
        "Route 1",
    ]);
    assert!(zone.status.success(), "{zone:?}");
    let zones = run(&["zone", "list", "--station", "mapo"]);
    assert!(
        String::from_utf8_lossy(&zones.stdout).starts_with("route-1\tRoute 1\t"),
        "{zones:?}"
    );
    assert_eq!(
        count(
            &url,
            "SELECT count(*) FROM audit_log
             WHERE action = 'zone.add' AND actor_username = 'console'"
        ),
        1
    );
}

#[tokio::test]
async fn a_refused_database_url_fails_fast_with_a_clear_error() {
    // Needs no server, so it runs on the SQLite run too.
    // A port nobody listens on.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = probe.local_addr().expect("addr").port();
    drop(probe);
    let result = PgRepository::connect(&format!("postgres://postgres@127.0.0.1:{port}/x")).await;
    assert!(
        matches!(result, Err(RepoError::Unavailable(_))),
        "{:?}",
        result.err()
    );
}

#[tokio::test]
async fn the_audit_log_only_accepts_its_numbers() {
    if skip_unless_postgres() {
        return;
    }
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let report = sample_report(0);
    assert_eq!(
        server
            .put_report(&token, &id_of(&report), &report)
            .await
            .status(),
        201
    );
    let dir = server.dir.path();
    // Unnumbered until the log is read (the enrolment's code and redemption,
    // then the report); reading numbers them in order.
    assert_eq!(common::count_rows_in(dir, "audit_log WHERE seq IS NULL"), 3);
    let entries = server
        .repo
        .audit_entries(station.id, 0, 10)
        .await
        .expect("audit");
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.seq, e.action.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (1, "enrolment_code.create"),
            (2, "enrolment_code.redeem"),
            (3, "report.create")
        ]
    );
    assert_eq!(common::count_rows_in(dir, "audit_log WHERE seq IS NULL"), 0);
    // Once numbered, nothing changes: not the number, not the content.
    for sql in [
        "UPDATE audit_log SET seq = seq + 1000",
        "UPDATE audit_log SET seq = NULL",
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        assert!(common::db_sql(dir, sql).is_err(), "{sql} must be refused");
    }
    assert_eq!(common::count_rows_in(dir, "audit_log"), 3);
    server.stop().await;
}

#[tokio::test]
async fn a_version_1_database_keeps_its_feed_through_migration_2() {
    if skip_unless_postgres() {
        return;
    }
    let (_, _, url) = fresh_database().await;
    // A database as the first PostgreSQL release left it, with a numbered
    // feed entry and audit row.
    postgres_sql(
        &url,
        include_str!("../../src/repo/postgres/migrations/0001_init.sql"),
    )
    .expect("schema v1");
    let station = uuid::Uuid::now_v7();
    postgres_sql(
        &url,
        &format!(
            "CREATE TABLE schema_migrations (
                 version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
             INSERT INTO schema_migrations (version) VALUES (1);
             INSERT INTO stations VALUES ('{station}', 'mapo', 'Mapo', now());
             INSERT INTO station_counters VALUES ('{station}', 1, 1);
             INSERT INTO changes (station_id, seq, kind, data_json, at)
                 VALUES ('{station}', 1, 'categories', '[]', now());
             INSERT INTO audit_log (station_id, seq, at, actor_role, action, target_kind,
                                    target_id)
                 VALUES ('{station}', 1, now(), 'admin', 'user.add', 'user', 'x');"
        ),
    )
    .expect("v1 rows");
    let repo = PgRepository::connect(&url).await.expect("migrate");
    assert_eq!(
        count(&url, "SELECT max(version) FROM schema_migrations"),
        i64::from(postcso_station::repo::postgres::LATEST_VERSION)
    );
    let station = StationId(station);
    let zone = repo
        .add_zone(
            station,
            NewZone {
                code: "route-1".into(),
                name: "Route 1".into(),
                area: None,
                devices: Vec::new(),
                ..NewZone::default()
            },
            Actor::console(),
            chrono::Utc::now(),
        )
        .await
        .expect("add zone");
    // The old entry keeps its number, the new kind follows it.
    let feed = repo
        .changes(station, Audience::Device(uuid::Uuid::now_v7()), 0, 10)
        .await
        .expect("feed");
    assert_eq!(feed.len(), 2, "{feed:?}");
    assert_eq!(feed[0].seq, 1);
    assert!(matches!(feed[0].body, ChangeBody::Categories(_)));
    assert_eq!(feed[1].seq, 2);
    match &feed[1].body {
        ChangeBody::Zone(delta) => {
            assert_eq!(delta["code"], zone.code.as_str());
            assert_eq!(delta["kind"], "beat");
        }
        other => panic!("expected a zone delta, got {other:?}"),
    }
    let audit = repo.audit_entries(station, 0, 10).await.expect("audit");
    assert_eq!(
        audit
            .iter()
            .map(|e| (e.seq, e.action.as_str()))
            .collect::<Vec<_>>(),
        vec![(1, "user.add"), (2, "zone.add")]
    );
    // The new CHECK still refuses kinds and events it does not know.
    assert!(
        postgres_sql(
            &url,
            &format!(
                "INSERT INTO changes (station_id, kind, data_json, at)
                 VALUES ('{}', 'bogus', '[]', now())",
                station.0
            ),
        )
        .is_err()
    );
}

#[tokio::test]
async fn a_version_2_databases_zones_become_beats_through_migration_3() {
    if skip_unless_postgres() {
        return;
    }
    let (_, _, url) = fresh_database().await;
    for sql in [
        include_str!("../../src/repo/postgres/migrations/0001_init.sql"),
        include_str!("../../src/repo/postgres/migrations/0002_zones_inspections.sql"),
    ] {
        postgres_sql(&url, sql).expect("old schema");
    }
    let station = uuid::Uuid::now_v7();
    postgres_sql(
        &url,
        &format!(
            "CREATE TABLE schema_migrations (
                 version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
             INSERT INTO schema_migrations (version) VALUES (1), (2);
             INSERT INTO stations VALUES ('{station}', 'mapo', 'Mapo', now());
             INSERT INTO station_counters VALUES ('{station}', 1, 0);
             INSERT INTO zones (station_id, code, position, name, created_at, updated_at)
                 VALUES ('{station}', 'r1', 0, 'Route 1', now(), now());
             INSERT INTO changes (station_id, seq, kind, data_json, at)
                 VALUES ('{station}', 1, 'zones', '[]', now());"
        ),
    )
    .expect("v2 rows");
    let repo = PgRepository::connect(&url).await.expect("migrate");
    assert_eq!(
        count(&url, "SELECT max(version) FROM schema_migrations"),
        i64::from(postcso_station::repo::postgres::LATEST_VERSION)
    );
    let zones = repo.zones(StationId(station)).await.expect("zones");
    assert_eq!(zones[0].kind, postcso_model::ZoneKind::Beat);
    assert_eq!(
        (zones[0].theme.as_ref(), zones[0].guidance.as_ref()),
        (None, None)
    );
    let feed = repo
        .changes(
            StationId(station),
            Audience::Device(uuid::Uuid::now_v7()),
            0,
            10,
        )
        .await
        .expect("feed");
    assert!(matches!(feed[0].body, ChangeBody::Zones(_)), "{feed:?}");
    // The database keeps the rules too: known kinds, validity in order.
    for sql in [
        "UPDATE zones SET kind = 'bikeway'",
        "UPDATE zones SET valid_from = now(), valid_until = now() - interval '1 day'",
    ] {
        assert!(postgres_sql(&url, sql).is_err(), "{sql} must be refused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_stations_concurrent_zone_changes_queue_and_publish_in_order() {
    if skip_unless_postgres() {
        return;
    }
    let (_, _, url) = fresh_database().await;
    let repo = Arc::new(PgRepository::connect(&url).await.expect("connect"));
    let station = repo.create_station("mapo", "Mapo").await.expect("station");
    // Eight different zones and four attempts at one more code, all at once.
    let codes: Vec<String> = (0..8)
        .map(|i| format!("route-{i}"))
        .chain((0..4).map(|_| "shared".to_owned()))
        .collect();
    let tasks: Vec<_> = codes
        .into_iter()
        .map(|code| {
            let repo = Arc::clone(&repo);
            tokio::spawn(async move {
                repo.add_zone(
                    station.id,
                    NewZone {
                        name: code.clone(),
                        code,
                        area: None,
                        devices: Vec::new(),
                        ..NewZone::default()
                    },
                    Actor::console(),
                    chrono::Utc::now(),
                )
                .await
            })
        })
        .collect();
    let mut added = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => added += 1,
            Err(RepoError::Conflict(_)) => conflicts += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!((added, conflicts), (9, 3));
    let zones = repo.zones(station.id).await.expect("zones");
    assert_eq!(zones.len(), 9);
    assert_eq!(
        count(&url, "SELECT count(DISTINCT position) FROM zones"),
        9,
        "each zone has its own position"
    );
    // The zone deltas come in the order the zones were placed: the changes
    // ran one after another and are numbered in commit order.
    let feed = repo
        .changes(station.id, Audience::Device(uuid::Uuid::now_v7()), 0, 100)
        .await
        .expect("feed");
    let published: Vec<String> = feed
        .iter()
        .filter_map(|c| match &c.body {
            ChangeBody::Zone(zone) => zone["code"].as_str().map(str::to_owned),
            _ => None,
        })
        .collect();
    let placed: Vec<String> = zones.iter().map(|z| z.code.clone()).collect();
    assert_eq!(published, placed);
    let audit = repo.audit_entries(station.id, 0, 100).await.expect("audit");
    assert_eq!(audit.iter().filter(|e| e.action == "zone.add").count(), 9);
}

#[tokio::test]
async fn a_version_3_database_gets_positions_grid_cells_and_valid_parents_from_migration_4() {
    if skip_unless_postgres() {
        return;
    }
    let (_, _, url) = fresh_database().await;
    for sql in [
        include_str!("../../src/repo/postgres/migrations/0001_init.sql"),
        include_str!("../../src/repo/postgres/migrations/0002_zones_inspections.sql"),
        include_str!("../../src/repo/postgres/migrations/0003_zone_details.sql"),
    ] {
        postgres_sql(&url, sql).expect("old schema");
    }
    let (station, device) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let (r1, r2, r3) = (
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
    );
    // Positions on every side of (0, 0) check the grid formula's signs.
    let report = |id: uuid::Uuid, (lat, lon): (f64, f64), parent: Option<uuid::Uuid>| {
        let parent = parent.map_or(String::new(), |p| format!(r#","follow_up_of":"{p}""#));
        format!(
            r#"INSERT INTO reports (id, station_id, device_id, content_hash, content_json,
                                   category, status, complete, received_at)
               VALUES ('{id}', '{station}', '{device}', 'h', '{{"id":"{id}",
                       "category":"crime_risk","location":{{"lat":{lat},"lon":{lon},
                       "accuracy_m":5.0,"fix_time":"2026-12-01T00:00:00Z","source":"gps"}},
                       "created_at":"2026-12-01T09:00:00.123456+09:00","photos":[]{parent}}}',
                       'crime_risk', 'received', true, now());"#
        )
    };
    postgres_sql(
        &url,
        &format!(
            "CREATE TABLE schema_migrations (
                 version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
             INSERT INTO schema_migrations (version) VALUES (1), (2), (3);
             INSERT INTO stations VALUES ('{station}', 'mapo', 'Mapo', now());
             INSERT INTO station_counters VALUES ('{station}', 0, 0);
             INSERT INTO devices VALUES ('{device}', '{station}', 'carrier-001', 't', now());
             {}{}{}",
            report(r1, (37.5658, 126.9386), None),
            report(r2, (-33.8568, -151.2153), Some(r1)),
            report(r3, (0.00049, -0.00001), Some(uuid::Uuid::now_v7())),
        ),
    )
    .expect("v3 rows");
    PgRepository::connect(&url).await.expect("migrate");
    let (rows, _) = postgres_sql(
        &url,
        "SELECT id, lat, lon, created_at = '2026-12-01T00:00:00.123456Z', cell,
                follow_up_of, zones_json IS NULL
         FROM reports ORDER BY id",
    )
    .expect("rows");
    let cell = |lat: f64, lon: f64| {
        (((lat + 90.0) * 2000.0).floor() as i64 * 1_000_000
            + ((lon + 180.0) * 2000.0).floor() as i64)
            .to_string()
    };
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        rows,
        vec![
            vec![
                some(&r1.to_string()),
                some("37.5658"),
                some("126.9386"),
                some("t"),
                some(&cell(37.5658, 126.9386)),
                None,
                some("t"),
            ],
            vec![
                some(&r2.to_string()),
                some("-33.8568"),
                some("-151.2153"),
                some("t"),
                some(&cell(-33.8568, -151.2153)),
                some(&r1.to_string()),
                some("t"),
            ],
            vec![
                some(&r3.to_string()),
                some("0.00049"),
                some("-1e-05"),
                some("t"),
                some(&cell(0.00049, -0.00001)),
                None,
                some("t"),
            ],
        ],
        "positions and UTC times copied, cells as the station computes them, \
         only a valid parent kept, nothing placed yet"
    );
}
