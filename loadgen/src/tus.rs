//! One tus 1.0.0 client for both servers, and the three upload scenarios of
//! the benchmark. Every upload is creation-with-upload (the first chunk rides
//! on the POST) followed by PATCHes, with identical headers and payloads for
//! the station and for `@tus/server`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use rand::RngCore;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use reqwest::{StatusCode, Url};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::LoadError;
use crate::procstat;
use crate::progress::Progress;
use crate::stats::{Latencies, ServerCost, Summary};

/// The benchmark's three upload patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// 250 KB photos, one after another.
    Serial,
    /// 250 KB photos, 8 at a time.
    Parallel8,
    /// One 200 MB upload in 4 MB chunks.
    Large,
}

impl Scenario {
    /// Bytes per upload.
    pub fn size(self) -> usize {
        match self {
            Self::Serial | Self::Parallel8 => 250_000,
            Self::Large => 200_000_000,
        }
    }

    /// Bytes per request.
    pub fn chunk(self) -> usize {
        match self {
            Self::Serial | Self::Parallel8 => self.size(),
            Self::Large => 4 * 1024 * 1024,
        }
    }

    /// Uploads in flight at once.
    pub fn concurrency(self) -> usize {
        match self {
            Self::Parallel8 => 8,
            Self::Serial | Self::Large => 1,
        }
    }

    /// Uploads measured unless `--uploads` says otherwise.
    pub fn default_uploads(self) -> usize {
        match self {
            Self::Serial => 500,
            Self::Parallel8 => 1000,
            Self::Large => 3,
        }
    }
}

/// One photo to upload: its bytes and what the metadata says about them.
#[derive(Clone)]
pub struct Payload {
    /// The bytes.
    pub bytes: Bytes,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// The report whose manifest lists it (the station requires one).
    pub report_id: String,
}

/// Fresh random bytes of `size` (random so no layer can deduplicate or
/// compress them) with their SHA-256.
pub fn random_photo(size: usize) -> (Bytes, String) {
    let mut bytes = vec![0u8; size];
    rand::rng().fill_bytes(&mut bytes);
    let sha256 = hex::encode(Sha256::digest(&bytes));
    (Bytes::from(bytes), sha256)
}

/// A tus server to upload to.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name in the results (`station`, `tus-node`).
    pub name: &'static str,
    /// The creation URL (`…/v1/uploads`, `…/files`).
    pub endpoint: Url,
    /// `Authorization` value, when the server needs one.
    pub auth: Option<String>,
    /// The server process, for its RSS and CPU.
    pub pid: Option<u32>,
}

/// What one scenario measured against one server.
#[derive(Debug, Clone, Serialize)]
pub struct TusResult {
    /// Which server.
    pub server: &'static str,
    /// Which scenario.
    pub scenario: Scenario,
    /// Which round of the scenario (from 1).
    pub round: u32,
    /// Uploads: rate, latency of a whole upload, MB/s.
    pub uploads: Summary,
    /// Server cost over the measured window.
    pub server_cost: Option<ServerCost>,
}

/// Runs `payloads` (after `warmup` of them, unmeasured) against `target`.
pub async fn run(
    target: &Target,
    scenario: Scenario,
    warmup: Vec<Payload>,
    payloads: Vec<Payload>,
    progress: bool,
) -> Result<TusResult, LoadError> {
    let client = Client::new(target)?;
    let concurrency = scenario.concurrency();
    run_all(&client, scenario, warmup, concurrency, None).await?;
    // Start every measured round with no dirty pages left by the one before:
    // a server that never fsyncs leaves its bytes to the kernel's background
    // writeback, which would otherwise slow down whichever server runs next.
    tokio::task::spawn_blocking(rustix::fs::sync)
        .await
        .map_err(|e| LoadError::process("sync", e.to_string()))?;
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let printer =
        progress.then(|| Progress::spawn("upload", Arc::clone(&done), Arc::clone(&failed)));
    let before = target.pid.and_then(procstat::sample);
    let start = Instant::now();
    let latencies = run_all(
        &client,
        scenario,
        payloads,
        concurrency,
        Some((done, failed)),
    )
    .await?;
    let elapsed = start.elapsed();
    let after = target.pid.and_then(procstat::sample);
    if let Some(p) = printer {
        p.stop();
    }
    Ok(TusResult {
        server: target.name,
        scenario,
        round: 1,
        uploads: latencies.summary(elapsed),
        server_cost: before
            .zip(after)
            .map(|(b, a)| ServerCost::between(b, a, elapsed)),
    })
}

type Counters = (Arc<AtomicU64>, Arc<AtomicU64>);

/// Uploads every payload with `concurrency` workers taking the next one in turn.
async fn run_all(
    client: &Client,
    scenario: Scenario,
    payloads: Vec<Payload>,
    concurrency: usize,
    counters: Option<Counters>,
) -> Result<Latencies, LoadError> {
    let payloads = Arc::new(payloads);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let client = client.clone();
        let payloads = Arc::clone(&payloads);
        let next = Arc::clone(&next);
        let counters = counters.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Latencies::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(payload) = payloads.get(i) else {
                    break;
                };
                let began = Instant::now();
                let outcome = client.upload(payload, scenario.chunk()).await;
                match outcome {
                    Ok(()) => {
                        latencies.record(began.elapsed());
                        latencies.bytes += payload.bytes.len() as u64;
                        if let Some((done, _)) = &counters {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) => {
                        latencies.errors += 1;
                        if latencies.errors == 1 {
                            eprintln!("loadgen: upload failed: {e}");
                        }
                        if let Some((_, failed)) = &counters {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Latencies::new();
    for worker in workers {
        let latencies = worker
            .await
            .map_err(|e| LoadError::process("upload task", e.to_string()))?;
        all.merge(&latencies);
    }
    Ok(all)
}

/// The tus client: one connection pool per target, shared by its workers.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    endpoint: Url,
}

/// Why one upload failed.
#[derive(Debug, thiserror::Error)]
enum UploadError {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("{request} answered {status}: {body}")]
    Status {
        request: &'static str,
        status: StatusCode,
        body: String,
    },
    #[error("{0}")]
    Protocol(&'static str),
}

impl Client {
    fn new(target: &Target) -> Result<Self, LoadError> {
        let mut headers = HeaderMap::new();
        headers.insert("tus-resumable", HeaderValue::from_static("1.0.0"));
        if let Some(auth) = &target.auth {
            let value = HeaderValue::from_str(auth)
                .map_err(|_| LoadError::Setup("the device token is not a header value".into()))?;
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .pool_max_idle_per_host(16)
            .build()?;
        Ok(Self {
            http,
            endpoint: target.endpoint.clone(),
        })
    }

    /// Creation-with-upload of the first chunk, then PATCHes until done.
    async fn upload(&self, payload: &Payload, chunk: usize) -> Result<(), UploadError> {
        let total = payload.bytes.len();
        let first = payload.bytes.slice(..chunk.min(total));
        let metadata = format!(
            "report_id {},sha256 {},filename {}",
            STANDARD.encode(&payload.report_id),
            STANDARD.encode(&payload.sha256),
            STANDARD.encode("photo.jpg"),
        );
        let response = self
            .http
            .post(self.endpoint.clone())
            .header("upload-length", total)
            .header("upload-metadata", metadata)
            .header(CONTENT_TYPE, "application/offset+octet-stream")
            .body(first)
            .send()
            .await?;
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.bytes().await?;
        if status != StatusCode::CREATED {
            return Err(UploadError::Status {
                request: "POST",
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| self.endpoint.join(v).ok())
            .ok_or(UploadError::Protocol("no usable Location"))?;
        let mut offset = upload_offset(&headers)?;
        while offset < total {
            let end = (offset + chunk).min(total);
            let response = self
                .http
                .patch(location.clone())
                .header("upload-offset", offset)
                .header(CONTENT_TYPE, "application/offset+octet-stream")
                .body(payload.bytes.slice(offset..end))
                .send()
                .await?;
            let (status, headers) = (response.status(), response.headers().clone());
            let body = response.bytes().await?;
            if status != StatusCode::NO_CONTENT {
                return Err(UploadError::Status {
                    request: "PATCH",
                    status,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
            }
            let new_offset = upload_offset(&headers)?;
            if new_offset <= offset {
                return Err(UploadError::Protocol("Upload-Offset did not advance"));
            }
            offset = new_offset;
        }
        if offset != total {
            return Err(UploadError::Protocol("Upload-Offset beyond Upload-Length"));
        }
        Ok(())
    }
}

fn upload_offset(headers: &HeaderMap) -> Result<usize, UploadError> {
    headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or(UploadError::Protocol("no Upload-Offset"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_photos_differ_and_hash_right() {
        let (a, ha) = random_photo(1000);
        let (b, hb) = random_photo(1000);
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert_eq!(ha, hex::encode(Sha256::digest(&a)));
    }

    #[test]
    fn scenarios_match_the_benchmark() {
        assert_eq!(Scenario::Large.size() / Scenario::Large.chunk(), 47);
        assert_eq!(Scenario::Parallel8.concurrency(), 8);
        assert_eq!(Scenario::Serial.chunk(), Scenario::Serial.size());
    }
}
