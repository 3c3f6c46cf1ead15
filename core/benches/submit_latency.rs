//! Latency percentiles of a durable `submit()` without photos, side by side with a
//! single raw `synchronous=FULL` commit, interleaved in one run so both see the
//! same disk. Prints p50/p90/p99/max and the p99 ratio.
//!
//! `cargo bench -p postcso-core --bench submit_latency`

mod common;

use std::time::Instant;

use common::{raw_full_db, ready_draft};

use postcso_core::secrets::FileSecretStore;
use postcso_core::{QueueConfig, ReportQueue};

const ROUNDS: usize = 2_000;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks harness=false benches to list tests.
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = ReportQueue::open(
        QueueConfig::new(dir.path().join("q")),
        FileSecretStore::in_data_dir(dir.path().join("q")),
    )
    .expect("queue");
    let raw = raw_full_db(dir.path());

    let mut submit = Vec::with_capacity(ROUNDS);
    let mut commit = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let id = ready_draft(&queue);
        let t = Instant::now();
        queue.submit(id).expect("submit");
        submit.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        raw.execute("INSERT INTO t (v) VALUES ('x')", [])
            .expect("insert");
        commit.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let s = summary(&mut submit);
    let c = summary(&mut commit);
    println!("{ROUNDS} rounds, interleaved; milliseconds");
    println!(
        "{:<28} {:>7} {:>7} {:>7} {:>7}",
        "", "p50", "p90", "p99", "max"
    );
    println!(
        "{:<28} {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
        "submit() without photos", s[0], s[1], s[2], s[3]
    );
    println!(
        "{:<28} {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
        "raw synchronous=FULL commit", c[0], c[1], c[2], c[3]
    );
    println!(
        "submit/raw ratio: p50 {:.2}x, p99 {:.2}x",
        s[0] / c[0],
        s[2] / c[2]
    );
}

fn summary(samples: &mut [f64]) -> [f64; 4] {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    [at(0.50), at(0.90), at(0.99), at(1.0)]
}
