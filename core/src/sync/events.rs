//! What the engine tells the app, so no screen ever has to poll.
//!
//! These types are the stable surface the UniFFI layer mirrors; add variants, do
//! not change existing ones.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::model::{ReportId, ReportState, ReviewStatus};
use crate::queue::QueueStats;

/// Why a sync run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Every queued report was delivered (or refused) and the changes were read.
    Drained,
    /// The time budget ran out; progress is saved and the next run resumes.
    DeadlineReached,
    /// `cancel()` was called.
    Cancelled,
    /// The platform reported no network.
    Offline,
    /// A transient failure; the engine retries after this delay by itself.
    BackingOff {
        /// Time until the next attempt.
        retry_in: Duration,
        /// What failed, without personal data.
        reason: String,
    },
    /// The station no longer accepts this device's credential: re-enrol. The queue
    /// is untouched.
    ReEnrolRequired,
    /// No credential was given yet.
    NotEnrolled,
    /// The local queue failed (storage full, damaged file).
    LocalError(String),
}

/// The result of one sync run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Why it stopped.
    pub stop: StopReason,
    /// Reports the station acknowledged in this run, photos included.
    pub delivered: u32,
    /// Reports the station refused for good in this run.
    pub rejected: u32,
    /// Reports still waiting to be sent.
    pub remaining: u64,
}

/// Error categories a UI can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncErrorKind {
    /// Network or station trouble; retried automatically.
    Network,
    /// The station refused a report; it is kept with the station's message.
    Rejected,
    /// A stored photo file is missing or damaged on the phone.
    LocalPhoto,
    /// The local database failed.
    Storage,
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// A sync run began.
    Started,
    /// A report moved in its lifecycle.
    ReportState {
        /// The report.
        id: ReportId,
        /// Its new state.
        state: ReportState,
    },
    /// Photo bytes the station confirmed for a report, out of its total.
    UploadProgress {
        /// The report.
        id: ReportId,
        /// Bytes confirmed so far.
        bytes_sent: u64,
        /// All photo bytes of the report.
        bytes_total: u64,
    },
    /// Report counts changed.
    QueueCounts(QueueStats),
    /// The station reviewed a report ("accepted", "fixed", ...).
    ReviewStatus {
        /// The report.
        id: ReportId,
        /// Its review status.
        status: ReviewStatus,
    },
    /// The station's category list was updated on the phone.
    CategoriesUpdated,
    /// The station's zones were updated on the phone (`ReportQueue::zones`);
    /// once per feed page that changed any, after the place index
    /// (`ReportQueue::zones_at`) was rebuilt to match.
    ZonesUpdated,
    /// Something failed; see `kind`.
    Error {
        /// What kind of failure.
        kind: SyncErrorKind,
        /// A message without personal data.
        message: String,
        /// The report concerned, if any.
        report: Option<ReportId>,
    },
    /// The device must be enrolled again; nothing is sent until then.
    ReEnrolRequired,
    /// A sync run ended.
    Finished(SyncOutcome),
}

/// Receives events on the engine's threads. Implementations must return quickly
/// and hand work to their own UI thread.
pub trait SyncListener: Send + Sync {
    /// Called for each event, in order.
    fn on_event(&self, event: SyncEvent);
}

/// The registered listener, if any; replacing it is safe at any time.
#[derive(Default)]
pub(crate) struct ListenerSlot(RwLock<Option<Arc<dyn SyncListener>>>);

impl ListenerSlot {
    /// Replaces the listener.
    pub fn set(&self, listener: Option<Arc<dyn SyncListener>>) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = listener;
    }

    /// Delivers an event. A panicking listener is contained: sync must go on.
    pub fn emit(&self, event: SyncEvent) {
        let listener = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(listener) = listener {
            let delivered =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| listener.on_event(event)));
            if delivered.is_err() {
                tracing::error!("sync listener panicked; event dropped");
            }
        }
    }
}
