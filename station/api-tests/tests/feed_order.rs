//! The changes feed under concurrent writers, on whichever backend the run
//! tests: a reader polling while many deliveries commit at once must see
//! every entry exactly once, numbered without gaps, and never find a number
//! that skips one which commits later.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;
use common::{TestServer, sample_report};
use postcso_model::{ReportContent, content_hash};
use postcso_station::auth::hash_secret;
use postcso_station::repo::{Audience, ChangeBody, PutOutcome, Repository};

const WRITERS: usize = 8;
const PER_WRITER: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_polling_reader_sees_every_concurrent_entry_once_in_order() {
    let server = TestServer::start().await;
    let station = server.station("seodaemun").await;
    let token = server.device(&station).await;
    let device = server
        .repo
        .device_by_token_hash(&hash_secret(&token))
        .await
        .expect("lookup")
        .expect("device");
    let repo: Arc<dyn Repository> = Arc::clone(&server.repo);
    let before = repo
        .changes(station.id, Audience::Station, 0, 1000)
        .await
        .expect("feed");
    let start = before.last().map_or(0, |c| c.seq);
    // Enrolling the device left audit rows of its own; count from after them.
    let audit_start = repo
        .audit_entries(station.id, 0, 1000)
        .await
        .expect("audit")
        .last()
        .map_or(0, |e| e.seq);

    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let repo = Arc::clone(&repo);
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..PER_WRITER {
                let content: ReportContent =
                    serde_json::from_value(sample_report(1)).expect("content");
                let hash = content_hash(&content);
                let id = content.id;
                let outcome = repo
                    .put_report(
                        station.id,
                        device.id,
                        content,
                        hash,
                        postcso_station::repo::Placement::default(),
                        Utc::now(),
                    )
                    .await
                    .expect("put");
                assert!(matches!(outcome, PutOutcome::Created(_)));
                ids.push(id);
            }
            ids
        }));
    }

    // Two readers poll with small pages while the writers run (on PostgreSQL
    // each read may number new entries); every page must continue exactly
    // where that reader's cursor stood.
    let total = WRITERS * PER_WRITER;
    let mut readers = Vec::new();
    for _ in 0..2 {
        let repo = Arc::clone(&repo);
        readers.push(tokio::spawn(async move {
            let mut cursor = start;
            let mut seen = Vec::new();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while seen.len() < total {
                assert!(std::time::Instant::now() < deadline, "feed stalled");
                let page = repo
                    .changes(station.id, Audience::Station, cursor, 7)
                    .await
                    .expect("feed");
                for change in page {
                    assert_eq!(
                        change.seq,
                        cursor + 1,
                        "the feed skipped or repeated an entry"
                    );
                    cursor = change.seq;
                    match change.body {
                        ChangeBody::Report { report_id, .. } => seen.push(report_id),
                        other => panic!("unexpected entry {other:?}"),
                    }
                }
                tokio::task::yield_now().await;
            }
            (cursor, seen)
        }));
    }
    let mut written = BTreeSet::new();
    for writer in writers {
        written.extend(writer.await.expect("writer"));
    }
    let mut views = Vec::new();
    for reader in readers {
        views.push(reader.await.expect("reader"));
    }
    let (cursor, seen) = views[0].clone();
    assert_eq!(views[1], views[0], "both readers see the same feed");
    let seen_set: BTreeSet<_> = seen.iter().copied().collect();
    assert_eq!(seen.len(), total, "each entry once");
    assert_eq!(
        seen_set, written,
        "the feed lists exactly the stored reports"
    );
    // Nothing more is left behind the cursor.
    let rest = repo
        .changes(station.id, Audience::Station, cursor, 100)
        .await
        .expect("feed");
    assert!(rest.is_empty());
    // And the audit log numbers the same writes without gaps either.
    let audit = repo
        .audit_entries(station.id, audit_start, 1000)
        .await
        .expect("audit");
    assert_eq!(audit.len(), total);
    for (i, entry) in audit.iter().enumerate() {
        assert_eq!(entry.seq, audit_start + 1 + i as u64);
        assert_eq!(entry.action, "report.create");
    }
    server.stop().await;
}
