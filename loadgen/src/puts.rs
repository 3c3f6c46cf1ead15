//! The report load: N simulated devices, each PUTting new reports one after
//! another on its own connection (a closed loop), for a fixed time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::Serialize;

use crate::disk::FsyncProbe;
use crate::error::LoadError;
use crate::procstat;
use crate::progress::Progress;
use crate::report::{new_report, phantom_photo};
use crate::stats::{Latencies, ServerCost, Summary};
use postcso_harness::Enrolled;

/// How to load.
#[derive(Debug, Clone)]
pub struct PutsOptions {
    /// Time to run before measuring (connections, caches, page cache).
    pub warmup: Duration,
    /// Time measured.
    pub duration: Duration,
    /// Photos listed in each report's manifest (never uploaded).
    pub manifest_photos: usize,
    /// Offered load in PUTs per second over all devices; `None` sends each
    /// device's next PUT as soon as the last one is answered (closed loop).
    pub rate: Option<f64>,
    /// Print progress each second.
    pub progress: bool,
}

/// What the report load measured.
#[derive(Debug, Clone, Serialize)]
pub struct PutsResult {
    /// Simulated devices.
    pub devices: usize,
    /// Offered PUTs per second (`None`: as fast as answered).
    pub offered_rate: Option<f64>,
    /// Latency and rate of `PUT /v1/reports/{id}` (201s only).
    pub puts: Summary,
    /// Server cost over the measured window, when we started the server.
    pub server: Option<ServerCost>,
    /// Durable-write latency of the station's disk, taken just before the run.
    pub disk_fsync: Option<FsyncProbe>,
}

/// Runs the load against `base` (no trailing slash) with one task per device.
pub async fn run(
    base: &str,
    server_pid: Option<u32>,
    devices: &[Enrolled],
    options: &PutsOptions,
) -> Result<PutsResult, LoadError> {
    let start = Instant::now();
    let measure_from = start + options.warmup;
    let stop_at = measure_from + options.duration;
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(devices.len());
    // With a rate, each device sends every `devices / rate` seconds, devices
    // evenly staggered so the load is smooth.
    let interval = options
        .rate
        .map(|rate| Duration::from_secs_f64(devices.len() as f64 / rate.max(1e-3)));
    for (i, device) in devices.iter().enumerate() {
        let schedule = interval.map(|every| Schedule {
            first: start + every.mul_f64(i as f64 / devices.len() as f64),
            every,
        });
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()?;
        let worker = Worker {
            client,
            url: format!("{base}/v1/reports/"),
            auth: format!("Bearer {}", device.token),
            manifest_photos: options.manifest_photos,
            schedule,
            done: Arc::clone(&done),
            failed: Arc::clone(&failed),
        };
        tasks.push(tokio::spawn(worker.run(measure_from, stop_at)));
    }
    let progress = options
        .progress
        .then(|| Progress::spawn("PUT", Arc::clone(&done), Arc::clone(&failed)));
    tokio::time::sleep_until(measure_from.into()).await;
    let before = server_pid.and_then(procstat::sample);
    let mut all = Latencies::new();
    let mut last_end = measure_from;
    for task in tasks {
        let (latencies, end) = task
            .await
            .map_err(|e| LoadError::process("load task", e.to_string()))??;
        all.merge(&latencies);
        last_end = last_end.max(end);
    }
    let elapsed = last_end - measure_from;
    let after = server_pid.and_then(procstat::sample);
    if let Some(p) = progress {
        p.stop();
    }
    Ok(PutsResult {
        devices: devices.len(),
        offered_rate: options.rate,
        puts: all.summary(elapsed),
        server: before
            .zip(after)
            .map(|(b, a)| ServerCost::between(b, a, elapsed)),
        disk_fsync: None,
    })
}

/// When a paced device sends: at `first`, then every `every`.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    first: Instant,
    every: Duration,
}

struct Worker {
    client: reqwest::Client,
    url: String,
    auth: String,
    manifest_photos: usize,
    schedule: Option<Schedule>,
    done: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl Worker {
    /// PUTs until `stop_at`; records requests started from `measure_from` on.
    /// Returns the latencies and when the last measured request ended.
    ///
    /// A paced device measures each latency from when the request was due, not
    /// from when it went out: a device held up by a slow answer sends late,
    /// and that wait is part of what its carrier would see (no coordinated
    /// omission).
    async fn run(
        self,
        measure_from: Instant,
        stop_at: Instant,
    ) -> Result<(Latencies, Instant), LoadError> {
        let mut rng = rand::rngs::StdRng::from_os_rng();
        let mut latencies = Latencies::new();
        let mut last_end = measure_from;
        let mut due = self.schedule.map(|s| s.first);
        loop {
            if let (Some(at), Some(s)) = (due, self.schedule) {
                tokio::time::sleep_until(at.into()).await;
                due = Some(at + s.every);
            }
            let photos = (0..self.manifest_photos)
                .map(|_| phantom_photo(&mut rng))
                .collect();
            let report = new_report(&mut rng, photos)?;
            let body = report.canonical_json();
            let began = due
                .zip(self.schedule)
                .map_or_else(Instant::now, |(next, s)| next - s.every);
            if began >= stop_at {
                break;
            }
            let sent = self
                .client
                .put(format!("{}{}", self.url, report.id))
                .header(AUTHORIZATION, &self.auth)
                .header(CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await;
            let ok = match sent {
                Ok(response) => {
                    let status = response.status();
                    // Read the body so the connection is reused.
                    let read = response.bytes().await.is_ok();
                    status == StatusCode::CREATED && read
                }
                Err(_) => false,
            };
            let ended = Instant::now();
            let measured = began >= measure_from;
            if ok {
                self.done.fetch_add(1, Ordering::Relaxed);
                if measured {
                    latencies.record(ended - began);
                }
            } else {
                self.failed.fetch_add(1, Ordering::Relaxed);
                if measured {
                    latencies.errors += 1;
                }
            }
            if measured {
                last_end = ended;
            }
        }
        Ok((latencies, last_end))
    }
}
