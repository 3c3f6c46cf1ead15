//! Group commit of report PUTs: concurrent PUTs share one transaction and so
//! one WAL fsync.
//!
//! A PUT queues its job and waits for its answer. The first job queued while
//! no drainer runs starts one on the blocking pool; the drainer takes the
//! writer connection, takes every queued job (those that arrived while the
//! previous batch was committing), runs each in its own savepoint of one
//! `BEGIN IMMEDIATE` transaction, commits once, and only then answers every
//! job; it repeats until the queue is empty. A job's `Created` is therefore
//! sent only after the `COMMIT` (with `synchronous = FULL`) returned: a 201
//! still means the report is durably stored. A job that fails rolls back to
//! its savepoint and fails alone; a failed `COMMIT` fails every job of the
//! batch. One drainer at a time means one blocking thread for all queued PUTs,
//! not one per PUT waiting on the writer's lock.

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

/// Jobs queued for the next batch, and whether a drainer is running.
#[derive(Default)]
pub(super) struct PutQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    jobs: Vec<PutJob>,
    draining: bool,
}

impl PutQueue {
    /// Queues a job. True when the caller must start a drainer (none runs).
    pub fn push(&self, job: PutJob) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.jobs.push(job);
        !std::mem::replace(&mut state.draining, true)
    }

    /// Takes up to [`MAX_BATCH`] queued jobs, oldest first. Taking none ends
    /// the drainer, in the same critical section as `push` checks for one, so
    /// a job is never queued with nobody to run it.
    fn take(&self) -> Vec<PutJob> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.jobs.is_empty() {
            state.draining = false;
            Vec::new()
        } else if state.jobs.len() <= MAX_BATCH {
            std::mem::take(&mut state.jobs)
        } else {
            state.jobs.drain(..MAX_BATCH).collect()
        }
    }
}

/// The drainer: runs batches until the queue is empty. `writer` gives the
/// writer connection for one batch at a time, so other writes interleave.
pub(super) fn drain(
    queue: &PutQueue,
    writer: &Mutex<Connection>,
    put: impl Fn(&Connection, &PutJob) -> Result<PutOutcome, RepoError>,
) {
    let _unwind = StopOnPanic(queue);
    loop {
        let mut conn = writer.lock().unwrap_or_else(|p| p.into_inner());
        let jobs = queue.take();
        if jobs.is_empty() {
            return;
        }
        run_batch(&mut conn, jobs, &put);
    }
}

/// Ends the drainer if it panics: the queued jobs are dropped, so their
/// callers get an error instead of waiting for ever, and the next PUT starts
/// a new drainer.
struct StopOnPanic<'a>(&'a PutQueue);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
            state.jobs.clear();
            state.draining = false;
        }
    }
}

/// Runs `jobs` in one transaction on the writer `conn`, then answers each.
/// `put` is the work of one job inside its savepoint.
fn run_batch(
    conn: &mut Connection,
    jobs: Vec<PutJob>,
    put: impl Fn(&Connection, &PutJob) -> Result<PutOutcome, RepoError>,
) {
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
