//! The push half of a run: every queued report, in creation order, to the station.
//!
//! Metadata goes strictly in creation order, one `PUT` after the other, and the
//! next report's `PUT` goes while earlier photos are still uploading. Photo
//! uploads of up to `SyncPolicy::uploads_in_flight` reports overlap, so the link stays busy
//! during each request's round trip instead of idling (on a 50 ms link a lone
//! upload of a 250 KB photo spends a third of its time waiting).
//!
//! # Refused reports do not block the queue
//! A report the station refuses for good (a 4xx validation error or a conflict)
//! becomes `rejected_by_server` with the station's message, and the run goes on
//! with the reports behind it. Holding the whole queue behind one report the
//! station will never take would strand every later report of the carrier; the
//! refused one stays on the phone, visible, and `retry_rejected` gives it back to
//! the carrier to correct and submit again (or re-queues it as sealed when the
//! station already stored its content).
//! A transient failure, by contrast, stops the run (in-flight uploads are cut,
//! keeping their confirmed offsets) and keeps the order: the same report goes
//! first next time.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::engine::settle;
use super::events::{StopReason, SyncErrorKind, SyncEvent, SyncOutcome};
use super::failure::Failure;
use super::pass::{DeliverError, Run, Stop};
use crate::model::{ProblemType, ReportId, ReportState};
use crate::queue::QueueError;

type Upload = (ReportId, Result<(), DeliverError>);

/// Delivers every queued report; `Err` carries why the run must stop.
pub(crate) async fn push(run: &Arc<Run>, outcome: &mut SyncOutcome) -> Result<(), StopReason> {
    let ids = run
        .db(|q| q.queued_in_order())
        .await
        .map_err(|e| StopReason::LocalError(e.to_string()))?;
    let mut uploads: JoinSet<Upload> = JoinSet::new();
    let mut failure: Option<(ReportId, DeliverError)> = None;
    for id in ids {
        if failure.is_some() {
            break;
        }
        if run.photos_deferred.is_some()
            && run.db(move |q| q.metadata_acked(id)).await.unwrap_or(false)
        {
            // Nothing this run may send for it: leave it queued, untouched.
            continue;
        }
        match run.send_metadata(id).await {
            Ok(delivery) if delivery.photos.iter().all(|p| p.completed) => {
                finish(run, (id, Ok(())), outcome, &mut failure).await;
            }
            Ok(_) if run.photos_deferred.is_some() => {
                requeue(run, id, run.photos_deferred.unwrap_or("photos deferred")).await;
            }
            Ok(delivery) => {
                // The metadata went while earlier uploads were still busy; now
                // wait for an upload slot.
                while failure.is_none() && uploads.len() >= run.uploads_in_flight.max(1) {
                    if let Some(Ok(done)) = uploads.join_next().await {
                        finish(run, done, outcome, &mut failure).await;
                    }
                }
                if failure.is_some() {
                    requeue(run, delivery.id, "run stopped").await;
                    break;
                }
                let task_run = Arc::clone(run);
                uploads.spawn(async move {
                    let result = task_run.send_photos(&delivery).await;
                    (delivery.id, result)
                });
            }
            Err(e) => finish(run, (id, Err(e)), outcome, &mut failure).await,
        }
    }
    if failure.is_some() {
        // Cut the other uploads short; their confirmed offsets are saved.
        run.stop.cancel();
    }
    while let Some(joined) = uploads.join_next().await {
        if let Ok(done) = joined {
            finish(run, done, outcome, &mut failure).await;
        }
    }
    match failure {
        Some((id, e)) => Err(settle(run, Some(id), e).await),
        None => Ok(()),
    }
}

/// Settles one report's attempt. The first failure that must stop the run is
/// kept in `failure`; the others only put their report back in the queue.
async fn finish(
    run: &Run,
    (id, result): Upload,
    outcome: &mut SyncOutcome,
    failure: &mut Option<(ReportId, DeliverError)>,
) {
    match result {
        Ok(()) => match run.db(move |q| q.end_delivery(id, Ok(()))).await {
            Ok(state) => {
                run.emit(SyncEvent::ReportState { id, state });
                outcome.delivered += 1;
            }
            Err(e) => {
                // The station has it; the report stays `sending` until the queue
                // reopens, then goes again and the station answers 200.
                tracing::error!(report_id = %id, error = %e, "could not record a delivery");
                run.local_error(Some(id), &e);
            }
        },
        Err(DeliverError::Failure(Failure::Permanent {
            status,
            problem,
            message,
        })) => {
            // The kind and status only: the message may echo the carrier's note.
            tracing::warn!(
                report_id = %id,
                status,
                problem = problem.map(ProblemType::slug),
                "the station refused the report for good"
            );
            let stored = message.clone();
            match run.db(move |q| q.mark_rejected(id, &stored)).await {
                Ok(()) => {
                    outcome.rejected += 1;
                    run.emit(SyncEvent::ReportState {
                        id,
                        state: ReportState::RejectedByServer,
                    });
                    run.emit(SyncEvent::Error {
                        kind: SyncErrorKind::Rejected,
                        message,
                        report: Some(id),
                    });
                }
                Err(e) => {
                    // Nothing was written (one transaction): the report stays
                    // `sending` until the queue reopens, then goes again.
                    tracing::error!(report_id = %id, error = %e, "could not record a refusal");
                    run.local_error(Some(id), &e);
                }
            }
        }
        Err(DeliverError::Local(e @ (QueueError::PhotoFile(_) | QueueError::NotFound(_)))) => {
            // This report cannot go (a photo file is damaged, or it was withdrawn
            // meanwhile); the ones behind it can.
            run.local_error(Some(id), &e);
            requeue(run, id, "stored photo unreadable").await;
        }
        Err(e) => {
            let reason = match &e {
                DeliverError::Stop(Stop::Cancelled) => "cancelled",
                DeliverError::Stop(Stop::Deadline) => "out of time",
                _ => "delivery interrupted",
            };
            requeue(run, id, reason).await;
            // An upload cut short by our own abort is not the cause.
            if failure.is_none() {
                *failure = Some((id, e));
            }
        }
    }
}

/// Puts a report back in the queue after an unfinished attempt, keeping progress.
async fn requeue(run: &Run, id: ReportId, reason: &'static str) {
    match run.db(move |q| q.end_delivery(id, Err(reason))).await {
        Ok(state) => run.emit(SyncEvent::ReportState { id, state }),
        // It stays `sending` until the queue reopens, which puts it back.
        Err(e) => tracing::warn!(report_id = %id, error = %e, "could not requeue a report"),
    }
}
