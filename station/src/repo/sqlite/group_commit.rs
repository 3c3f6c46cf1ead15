//! Group commit of report PUTs: concurrent PUTs share one transaction and so
//! one WAL fsync.
//!
//! Each PUT queues its job and then competes for the writer connection on the
//! blocking pool. Whoever gets the writer takes every queued job (its own and
//! those that arrived while the previous batch was committing), runs each in
//! its own savepoint of one `BEGIN IMMEDIATE` transaction, commits once, and
//! only then answers every job. A job's `Created` is therefore sent only
//! after the `COMMIT` (with `synchronous = FULL`) returned: a 201 still means
//! the report is durably stored. A job that fails rolls back to its savepoint
//! and fails alone; a failed `COMMIT` fails every job of the batch.
//! A caller whose job another task already ran finds the queue empty and just
//! waits for its answer.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use postcso_core::model::ReportContent;
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::map_err;
use crate::repo::{PutOutcome, RepoError, StationId};

/// Most jobs committed in one transaction, so one batch's latency stays bounded.
const MAX_BATCH: usize = 256;

/// One report PUT waiting for the writer.
pub(super) struct PutJob {
    pub station: StationId,
    pub device_id: Uuid,
    pub content: ReportContent,
    pub content_hash: String,
    pub content_json: String,
    pub now: DateTime<Utc>,
    pub reply: oneshot::Sender<Result<PutOutcome, RepoError>>,
}

/// Jobs queued for the next batch.
#[derive(Default)]
pub(super) struct PutQueue {
    jobs: Mutex<Vec<PutJob>>,
}

impl PutQueue {
    /// Queues a job; some writer task will run it.
    pub fn push(&self, job: PutJob) {
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(job);
    }

    /// Takes up to [`MAX_BATCH`] queued jobs, oldest first.
    fn take(&self) -> Vec<PutJob> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if jobs.len() <= MAX_BATCH {
            std::mem::take(&mut *jobs)
        } else {
            jobs.drain(..MAX_BATCH).collect()
        }
    }
}

/// Runs the queued jobs (if any are left) in one transaction on the writer
/// `conn`, then answers each. `put` is the work of one job inside its savepoint.
pub(super) fn run_batch(
    conn: &mut Connection,
    queue: &PutQueue,
    put: impl Fn(&Connection, &PutJob) -> Result<PutOutcome, RepoError>,
) {
    let jobs = queue.take();
    if jobs.is_empty() {
        return;
    }
    metrics::histogram!("report_put_batch_size").record(jobs.len() as f64);
    let mut outcomes: Vec<Result<PutOutcome, RepoError>> = Vec::with_capacity(jobs.len());
    let committed = (|| -> Result<(), RepoError> {
        let mut tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(map_err)?;
        for job in &jobs {
            let sp = tx.savepoint().map_err(map_err)?;
            let outcome = put(&sp, job);
            if outcome.is_ok() {
                sp.commit().map_err(map_err)?;
            }
            // Dropping an uncommitted savepoint rolls back to it.
            outcomes.push(outcome);
        }
        tx.commit().map_err(map_err)
    })();
    match committed {
        Ok(()) => {
            for (job, outcome) in jobs.into_iter().zip(outcomes) {
                let _ = job.reply.send(outcome);
            }
        }
        Err(e) => {
            for job in jobs {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}
