//! Crash test: a child process files reports with photos in a loop and is killed
//! with SIGKILL at random moments. After every kill, each report the child saw
//! acknowledged must be there, sealed, with its photo files intact, and no sealed
//! report may be half-written.
//!
//! Replay a failing run with `POSTCSO_CRASH_SEED=<seed printed by the test>`.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use postcso_core::model::{ReportId, ReportState};
use sha2::{Digest, Sha256};

const CHILD_DIR: &str = "POSTCSO_CRASH_CHILD_DIR";
const CHILD_SEED: &str = "POSTCSO_CRASH_CHILD_SEED";
const KILLS: usize = 60;

/// The child's body. It does nothing unless started by the parent test below.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let base: u64 = std::env::var(CHILD_SEED)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let queue = common::open(std::path::Path::new(&dir));
    let mut out = std::io::stdout().lock();
    for n in 0.. {
        let id = common::file_report(&queue, base + n);
        // Printed only after submit() returned: from here on the report must survive.
        writeln!(out, "ACK {id}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn reports_survive_sigkill_at_random_moments() {
    let seed = std::env::var("POSTCSO_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test seed: {seed} (replay with POSTCSO_CRASH_SEED={seed})");
    let mut rng = XorShift(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acknowledged: HashSet<ReportId> = HashSet::new();
    let mut kills_with_work_in_flight = 0;

    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .env(CHILD_SEED, (round as u64 * 1_000_000).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| {
                    line.strip_prefix("ACK ")
                        .and_then(|id| ReportId::parse(id).ok())
                })
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(40 + rng.next() % 400));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let acked = reader.join().unwrap();
        if !acked.is_empty() {
            kills_with_work_in_flight += 1;
        }
        acknowledged.extend(acked);
        check_queue(dir.path(), &acknowledged, seed, round);
    }
    eprintln!(
        "{KILLS} kills, {kills_with_work_in_flight} after acknowledged work, {} reports acknowledged and intact",
        acknowledged.len()
    );
    assert!(
        kills_with_work_in_flight >= KILLS / 2,
        "the child barely ran; the test proved little"
    );
    assert!(
        acknowledged.len() >= KILLS,
        "too few reports filed to mean anything"
    );
}

/// Every acknowledged report is queued and complete; every sealed report's stored
/// content matches its hash and its photos are on disk.
fn check_queue(dir: &std::path::Path, acknowledged: &HashSet<ReportId>, seed: u64, round: usize) {
    let ctx = format!("seed {seed}, after kill {round}");
    let queue = common::open(dir);
    for id in acknowledged {
        let report = queue
            .get(*id)
            .unwrap_or_else(|e| panic!("{ctx}: acknowledged report {id} lost: {e}"));
        assert_eq!(report.state, ReportState::Queued, "{ctx}: {id}");
        assert_eq!(report.photos.len(), 1, "{ctx}: {id} lost its photo");
        queue
            .verify_photos(*id)
            .unwrap_or_else(|e| panic!("{ctx}: {id}: {e}"));
    }
    for summary in queue.list().unwrap() {
        if summary.state == ReportState::Draft {
            // A draft may be caught at any edit, but whatever it holds must be whole.
            queue
                .verify_photos(summary.id)
                .unwrap_or_else(|e| panic!("{ctx}: draft {}: {e}", summary.id));
        } else {
            queue
                .verify_photos(summary.id)
                .unwrap_or_else(|e| panic!("{ctx}: {}: {e}", summary.id));
            assert_eq!(
                summary.photo_count, 1,
                "{ctx}: sealed report {} is missing photos",
                summary.id
            );
        }
    }
    drop(queue);
    let conn = rusqlite::Connection::open(dir.join("queue.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT id, content_json, content_hash FROM reports WHERE state <> 'draft'")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (id, json, hash) = row.unwrap();
        let (Some(json), Some(hash)) = (json, hash) else {
            panic!("{ctx}: sealed report {id} has no sealed content");
        };
        assert_eq!(
            hex::encode(Sha256::digest(json.as_bytes())),
            hash,
            "{ctx}: {id} content does not match its hash"
        );
    }
}

/// A tiny PRNG so the kill moments are random yet replayable from the seed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
