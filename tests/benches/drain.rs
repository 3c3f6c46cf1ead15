//! Sync benchmark: drain 100 queued reports of 3 real photos each through a
//! 20 Mbit/s link with a 50 ms round trip, to a real station: Toxiproxy adds
//! 25 ms each way, and a shared-rate relay caps every connection's uplink bytes
//! together at 20 Mbit/s (Toxiproxy's own bandwidth toxic is per connection).
//!
//! Prints goodput against the link's capacity, the core's CPU time per MB sent,
//! and HTTP requests per report. `cargo bench -p postcso-tests --bench drain`
//! (needs `cargo xtask deps` once, for Toxiproxy).

use std::time::{Duration, Instant};

use postcso_core::sync::{NetworkState, StopReason};
use postcso_tests::faults::shared_link::SharedLink;
use postcso_tests::faults::toxiproxy::{Stream, Toxic, Toxiproxy};
use postcso_tests::faults::{fault_phone_with, upload_timeouts};
use postcso_tests::phone::fixture_photo;
use postcso_tests::station::Station;

const REPORTS: u64 = 100;
/// 20 Mbit/s.
const RATE_BYTES_PER_S: u64 = 2_500_000;
/// Each direction, so the round trip is 50 ms.
const ONE_WAY_MS: u64 = 25;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks harness=false benches to list tests.
    }
    let reports: u64 = std::env::var("POSTCSO_DRAIN_REPORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(REPORTS);
    let station = Station::start();
    let link = SharedLink::start(station.port(), RATE_BYTES_PER_S);
    let toxiproxy = Toxiproxy::start();
    let proxy = toxiproxy.proxy("station", link.port());
    let code = station.enrolment_codes(1).remove(0).code;
    let phone = fault_phone_with(&proxy.url(), &code, upload_timeouts());
    phone.engine.set_network_state(NetworkState::OFFLINE);
    let photos = [
        fixture_photo("npm-exif-0.6.0/sony-alpha-6000-crop-4000x3000.jpg"),
        fixture_photo("npm-exif-parser-0.1.12/starfish.jpg"),
        fixture_photo("npm-jpeg-exif-1.1.4/IMG_0001.JPG"),
    ];
    let refs: Vec<&std::path::Path> = photos.iter().map(|p| p.as_path()).collect();
    let ids: Vec<_> = (0..reports).map(|n| phone.file_report(n, &refs)).collect();
    let payload: u64 = ids
        .iter()
        .map(|id| {
            phone
                .queue
                .get(*id)
                .expect("report")
                .photos
                .iter()
                .map(|p| p.size)
                .sum::<u64>()
        })
        .sum();

    for stream in [Stream::Upstream, Stream::Downstream] {
        proxy.add(
            &format!("latency_{stream:?}"),
            stream,
            Toxic::Latency {
                ms: ONE_WAY_MS,
                jitter_ms: 0,
            },
        );
    }
    let requests_before = phone.engine.transfer_stats().requests;
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    phone.engine.set_network_state(NetworkState::UNMETERED);
    let outcome = phone.engine.sync_now(Duration::from_secs(600));
    let elapsed = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    assert_eq!(outcome.stop, StopReason::Drained, "{outcome:?}");
    for id in &ids {
        assert_eq!(station.copies_of(&id.to_string()), 1);
        assert!(station.is_complete(&id.to_string()));
    }
    let stats = phone.engine.transfer_stats();
    let capacity = RATE_BYTES_PER_S as f64;
    let goodput = payload as f64 / elapsed.as_secs_f64();
    println!(
        "drained {reports} reports × 3 photos ({:.1} MB of photos) in {:.2} s",
        payload as f64 / 1e6,
        elapsed.as_secs_f64()
    );
    println!(
        "link: {} Mbit/s shared uplink, {} ms RTT",
        RATE_BYTES_PER_S * 8 / 1_000_000,
        ONE_WAY_MS * 2
    );
    println!(
        "goodput: {:.2} MB/s = {:.1}% of the link's capacity",
        goodput / 1e6,
        100.0 * goodput / capacity
    );
    println!(
        "core CPU time: {:.2} s, {:.1} ms per MB sent",
        cpu,
        1000.0 * cpu / (payload as f64 / 1e6)
    );
    println!(
        "HTTP requests: {} ({:.2} per report), photo bytes re-sent: {}",
        stats.requests - requests_before,
        (stats.requests - requests_before) as f64 / reports as f64,
        stats.photo_bytes_resent
    );
}

/// User plus system CPU time of this process (the phone core; the station and
/// Toxiproxy are other processes), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the whole line are the 12th and 13th after the name.
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    ticks / 100.0
}
