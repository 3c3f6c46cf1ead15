//! How long the disk takes to make a small write durable right now. The
//! station fsyncs on every acknowledged write, so its figures depend on this
//! more than on anything else; each run reports it beside its results.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::error::LoadError;
use crate::stats::Latencies;

/// `write(4 KiB)` + `fdatasync` latency in the given directory.
#[derive(Debug, Clone, Serialize)]
pub struct FsyncProbe {
    /// Writes timed.
    pub samples: u32,
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// Times `samples` durable 4 KiB appends to a temporary file in `dir`.
pub async fn probe(dir: &Path, samples: u32) -> Result<FsyncProbe, LoadError> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut file = tempfile::tempfile_in(&dir).map_err(|e| LoadError::io(&dir, e))?;
        let block = [0x5au8; 4096];
        let mut latencies = Latencies::new();
        for _ in 0..samples {
            let began = Instant::now();
            file.write_all(&block)
                .and_then(|()| file.sync_data())
                .map_err(|e| LoadError::io(&dir, e))?;
            latencies.record(began.elapsed());
        }
        let s = latencies.summary(std::time::Duration::from_secs(1));
        Ok(FsyncProbe {
            samples,
            p50_ms: s.p50_ms,
            p99_ms: s.p99_ms,
        })
    })
    .await
    .map_err(|e| LoadError::process("fsync probe", e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn probes_a_real_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = probe(dir.path(), 5).await.expect("probe");
        assert_eq!(p.samples, 5);
        assert!(p.p50_ms > 0.0 && p.p99_ms >= p.p50_ms);
    }
}
