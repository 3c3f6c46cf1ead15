//! A line on stderr each second during long runs, so a person watching knows
//! the load is alive and roughly how fast it goes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The running progress printer.
pub struct Progress {
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Prints, each second, how many `what`s completed and failed in it.
    pub fn spawn(what: &'static str, done: Arc<AtomicU64>, failed: Arc<AtomicU64>) -> Self {
        let task = tokio::spawn(async move {
            let start = Instant::now();
            let mut ticker = tokio::time::interval(Duration::from_secs(1));
            ticker.tick().await;
            let (mut last_done, mut last_failed) = (0, 0);
            loop {
                ticker.tick().await;
                let d = done.load(Ordering::Relaxed);
                let f = failed.load(Ordering::Relaxed);
                eprintln!(
                    "  {:>4.0} s  {:>7} {what}/s  {:>5} errors/s",
                    start.elapsed().as_secs_f64(),
                    d - last_done,
                    f - last_failed
                );
                (last_done, last_failed) = (d, f);
            }
        });
        Self { task }
    }

    /// Stops printing.
    pub fn stop(self) {
        self.task.abort();
    }
}
