//! Latency histograms and the summary a run prints: requests per second,
//! p50/p99/max, errors, bytes per second, and what the server cost.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::procstat::ProcSample;

/// Latencies of one kind of request, in microseconds, up to one minute.
pub struct Latencies {
    histogram: Histogram<u64>,
    /// Requests that failed (transport error or an unexpected status).
    pub errors: u64,
    /// Payload bytes that requests carried successfully.
    pub bytes: u64,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    /// An empty histogram with 3 significant digits.
    pub fn new() -> Self {
        // 1 µs to 60 s at 3 significant figures cannot be an invalid range.
        let histogram = Histogram::new_with_bounds(1, 60_000_000, 3)
            .unwrap_or_else(|_| unreachable!("static histogram bounds are valid"));
        Self {
            histogram,
            errors: 0,
            bytes: 0,
        }
    }

    /// Records one successful request that took `elapsed`.
    pub fn record(&mut self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.histogram.saturating_record(micros.max(1));
    }

    /// Successful requests recorded.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Adds another worker's latencies.
    pub fn merge(&mut self, other: &Self) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.histogram.add(&other.histogram);
        self.errors += other.errors;
        self.bytes += other.bytes;
    }

    /// The summary over `elapsed` wall time.
    pub fn summary(&self, elapsed: Duration) -> Summary {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let ms = |us: u64| us as f64 / 1000.0;
        Summary {
            requests: self.count(),
            errors: self.errors,
            seconds: secs,
            per_second: self.count() as f64 / secs,
            p50_ms: ms(self.histogram.value_at_quantile(0.50)),
            p99_ms: ms(self.histogram.value_at_quantile(0.99)),
            max_ms: ms(self.histogram.max()),
            mb_per_second: self.bytes as f64 / 1e6 / secs,
        }
    }
}

/// What a run measured, printed for people and as JSON for scripts.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Successful requests (or uploads).
    pub requests: u64,
    /// Failed ones.
    pub errors: u64,
    /// Wall time measured.
    pub seconds: f64,
    /// Successful requests per second.
    pub per_second: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Payload megabytes (10^6) per second.
    pub mb_per_second: f64,
}

/// What the server process cost during the measured window.
#[derive(Debug, Clone, Serialize)]
pub struct ServerCost {
    /// Peak RSS of the process's life so far (`VmHWM`), MiB.
    pub peak_rss_mib: f64,
    /// CPU seconds used in the window.
    pub cpu_seconds: f64,
    /// CPU seconds per wall second (1.0 = one core busy).
    pub cores: f64,
}

impl ServerCost {
    /// From samples taken before and after a window of `elapsed`.
    pub fn between(before: ProcSample, after: ProcSample, elapsed: Duration) -> Self {
        let cpu = after.cpu.saturating_sub(before.cpu).as_secs_f64();
        Self {
            peak_rss_mib: after.peak_rss_kib as f64 / 1024.0,
            cpu_seconds: cpu,
            cores: cpu / elapsed.as_secs_f64().max(1e-9),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reads_the_histogram() {
        let mut a = Latencies::new();
        for ms in 1..=100 {
            a.record(Duration::from_millis(ms));
        }
        a.bytes = 2_000_000;
        let mut b = Latencies::new();
        b.errors = 3;
        a.merge(&b);
        let s = a.summary(Duration::from_secs(2));
        assert_eq!(s.requests, 100);
        assert_eq!(s.errors, 3);
        assert!((s.per_second - 50.0).abs() < 1e-9);
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{}", s.p50_ms);
        assert!((s.p99_ms - 99.0).abs() < 0.1, "{}", s.p99_ms);
        assert!((s.max_ms - 100.0).abs() < 0.1, "{}", s.max_ms);
        assert!((s.mb_per_second - 1.0).abs() < 1e-9);
    }
}
