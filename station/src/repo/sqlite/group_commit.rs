//! Group commit of the hot writes (report PUTs, photo completions): writes
//! queued at the same moment share one transaction and so one WAL fsync.
//!
//! A write queues its job and waits for its answer. The first job queued while
//! no drainer runs starts one on the blocking pool; the drainer takes the
//! writer connection, takes every queued job (those that arrived while the
//! previous batch was committing), runs each in its own savepoint of one
//! `BEGIN IMMEDIATE` transaction, commits once, and only then answers every
//! job; it repeats until the queue is empty. A job's answer is therefore sent
//! only after the `COMMIT` (with `synchronous = FULL`) returned: a 201 or 204
//! still means the write is durably stored. A job that fails rolls back to its
//! savepoint and fails alone; a failed `COMMIT` fails every job of the batch.
//! One drainer at a time means one blocking thread for all queued writes, not
//! one per write waiting on the writer's lock.

use std::sync::Mutex;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

use super::map_err;
use crate::repo::RepoError;

/// Most jobs committed in one transaction, so one batch's latency stays bounded.
const MAX_BATCH: usize = 256;

/// One write waiting for the writer.
pub(super) trait Job: Send {
    /// Does the job's writes inside its savepoint; true when they succeeded
    /// and the savepoint is to be kept.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch's `COMMIT` returned: the job's own
    /// result if it succeeded, its error otherwise.
    fn answer(self: Box<Self>, committed: Result<(), RepoError>);
}

/// A closure's job: its result is kept until the batch is committed.
struct Pending<T, F> {
    work: Option<F>,
    result: Option<Result<T, RepoError>>,
    reply: oneshot::Sender<Result<T, RepoError>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, RepoError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = work(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, committed: Result<(), RepoError>) {
        let Pending { result, reply, .. } = *self;
        let answer = committed.and_then(|()| {
            result.unwrap_or_else(|| Err(RepoError::Storage("a queued write never ran".into())))
        });
        let _ = reply.send(answer);
    }
}

/// Wraps `work` as a job, and the receiver its answer arrives on.
pub(super) fn job<T, F>(work: F) -> (Box<dyn Job>, oneshot::Receiver<Result<T, RepoError>>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, RepoError> + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    let job = Pending {
        work: Some(work),
        result: None,
        reply,
    };
    (Box::new(job), answer)
}

/// Jobs queued for the next batch, and whether a drainer is running.
#[derive(Default)]
pub(super) struct WriteQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    jobs: Vec<Box<dyn Job>>,
    draining: bool,
}

impl WriteQueue {
    /// Queues a job. True when the caller must start a drainer (none runs).
    pub fn push(&self, job: Box<dyn Job>) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.jobs.push(job);
        !std::mem::replace(&mut state.draining, true)
    }

    /// Takes up to [`MAX_BATCH`] queued jobs, oldest first. Taking none ends
    /// the drainer, in the same critical section as `push` checks for one, so
    /// a job is never queued with nobody to run it.
    fn take(&self) -> Vec<Box<dyn Job>> {
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

/// The drainer: runs batches until the queue is empty, taking the writer
/// connection for one batch at a time, so other writes interleave.
pub(super) fn drain(queue: &WriteQueue, writer: &Mutex<Connection>) {
    let _unwind = StopOnPanic(queue);
    loop {
        let mut conn = writer.lock().unwrap_or_else(|p| p.into_inner());
        let jobs = queue.take();
        if jobs.is_empty() {
            return;
        }
        run_batch(&mut conn, jobs);
    }
}

/// Ends the drainer if it panics: the queued jobs are dropped, so their
/// callers get an error instead of waiting for ever, and the next write
/// starts a new drainer.
struct StopOnPanic<'a>(&'a WriteQueue);

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
fn run_batch(conn: &mut Connection, mut jobs: Vec<Box<dyn Job>>) {
    metrics::histogram!("sqlite_write_batch_size").record(jobs.len() as f64);
    let committed = (|| -> Result<(), RepoError> {
        let mut tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(map_err)?;
        for job in &mut jobs {
            let sp = tx.savepoint().map_err(map_err)?;
            if job.run(&sp) {
                sp.commit().map_err(map_err)?;
            }
            // Dropping an uncommitted savepoint rolls back to it.
        }
        tx.commit().map_err(map_err)
    })();
    for job in jobs {
        job.answer(committed.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(n: i64, fail: bool) -> impl FnOnce(&Connection) -> Result<i64, RepoError> {
        move |conn| {
            conn.execute("INSERT INTO t (n) VALUES (?1)", [n])
                .map_err(map_err)?;
            if fail {
                return Err(RepoError::Storage(format!("job {n} failed")));
            }
            Ok(n)
        }
    }

    #[test]
    fn a_failing_job_is_rolled_back_alone_and_every_job_gets_its_own_answer() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .expect("table");
        let writer = Mutex::new(conn);
        let queue = WriteQueue::default();
        let mut answers = Vec::new();
        for (n, fail) in [(1, false), (2, true), (3, false)] {
            let (job, answer) = job(insert(n, fail));
            let first = answers.is_empty();
            assert_eq!(
                queue.push(job),
                first,
                "only the first push starts a drainer"
            );
            answers.push(answer);
        }
        drain(&queue, &writer);
        let got: Vec<Result<i64, RepoError>> = answers
            .into_iter()
            .map(|mut a| a.try_recv().expect("answered"))
            .collect();
        assert!(matches!(got[0], Ok(1)));
        assert!(matches!(&got[1], Err(RepoError::Storage(m)) if m == "job 2 failed"));
        assert!(matches!(got[2], Ok(3)));
        let conn = writer.lock().expect("lock");
        let rows: Vec<i64> = conn
            .prepare("SELECT n FROM t ORDER BY n")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("rows");
        assert_eq!(rows, vec![1, 3], "the failed job's insert was rolled back");
        let (job, _answer) = job(insert(4, false));
        assert!(queue.push(job), "an emptied queue needs a new drainer");
    }
}
