//! Sync and status events for the app, and the foreign listener that receives them.
//!
//! The listener is a foreign trait (`with_foreign`): Kotlin, Swift and Python
//! implement it. [`ListenerBridge`] adapts it to the core's listener and makes
//! sure nothing the foreign code does can break sync: a returned error, an
//! undeclared exception (`UnexpectedUniFFICallbackError`) and a Rust panic are
//! all logged and the event dropped.

use std::sync::Arc;

use crate::error::ListenerError;
use crate::types::{QueueStats, ReportState, ReviewStatus};

/// Why a sync run ended.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum StopReason {
    /// Everything queued was delivered (or refused) and the station's changes read.
    Drained,
    /// The time budget ran out; progress is saved and the next run resumes.
    DeadlineReached,
    /// `cancel()` was called (or the core was closed).
    Cancelled,
    /// The platform reported no network.
    Offline,
    /// A transient failure; the engine retries by itself after `retry_in_ms`.
    BackingOff {
        /// Milliseconds until the next attempt.
        retry_in_ms: u64,
        /// What failed, without personal data.
        reason: String,
    },
    /// The station no longer accepts this device: enrol again.
    ReEnrolRequired,
    /// No credential yet: enrol first.
    NotEnrolled,
    /// The local queue failed (storage full, damaged file).
    LocalError {
        /// What failed.
        message: String,
    },
}

/// The result of one sync run.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncOutcome {
    /// Why it stopped.
    pub stop: StopReason,
    /// Reports the station acknowledged in this run.
    pub delivered: u32,
    /// Reports the station refused for good in this run.
    pub rejected: u32,
    /// Reports still waiting to be sent.
    pub remaining: u64,
}

/// Error categories a UI can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncErrorKind {
    /// Network or station trouble; retried automatically.
    Network,
    /// The station refused a report; it is kept with the station's message.
    Rejected,
    /// A stored photo file is missing or damaged on the device.
    LocalPhoto,
    /// The local database failed.
    Storage,
}

/// One thing that happened, in order. Report ids are strings.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SyncEvent {
    /// A sync run began.
    Started,
    /// A report moved in its lifecycle.
    StateChanged {
        /// The report.
        id: String,
        /// Its new state.
        state: ReportState,
    },
    /// Photo bytes the station confirmed for a report, out of its total.
    UploadProgress {
        /// The report.
        id: String,
        /// Bytes confirmed so far.
        bytes_sent: u64,
        /// All photo bytes of the report.
        bytes_total: u64,
    },
    /// Report counts changed.
    QueueCounts {
        /// The new counts.
        stats: QueueStats,
    },
    /// The station reviewed a report.
    ReviewChanged {
        /// The report.
        id: String,
        /// Its review status.
        status: ReviewStatus,
    },
    /// The station's category list was updated on the device.
    CategoriesUpdated,
    /// The station's zones were updated on the device; read them with `zones()`.
    ZonesUpdated,
    /// Something failed; see `kind`.
    Failure {
        /// What kind of failure.
        kind: SyncErrorKind,
        /// A message without personal data.
        message: String,
        /// The report concerned, if any.
        report_id: Option<String>,
    },
    /// The device must be enrolled again; nothing is sent until then.
    ReEnrolRequired,
    /// A sync run ended.
    Finished {
        /// How it ended.
        outcome: SyncOutcome,
    },
}

/// Receives [`SyncEvent`]s on the engine's threads. Implement it in Kotlin,
/// Swift or Python; return quickly and hand work to the UI thread. A thrown
/// error is logged and the event dropped; sync goes on.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    /// Called for each event, in order.
    fn on_event(&self, event: SyncEvent) -> Result<(), ListenerError>;
}

/// Adapts a foreign [`SyncListener`] to the core's listener.
pub(crate) struct ListenerBridge(pub(crate) Arc<dyn SyncListener>);

impl postcso_core::sync::SyncListener for ListenerBridge {
    fn on_event(&self, event: postcso_core::sync::SyncEvent) {
        // The core also contains panics around this call; we catch here as well so
        // a failure is logged with the FFI's context and never unwinds further.
        let event = SyncEvent::from(event);
        let delivered =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.0.on_event(event)));
        match delivered {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "sync listener failed; event dropped"),
            Err(_) => tracing::error!("sync listener panicked; event dropped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use postcso_core::sync::SyncListener as CoreListener;

    use super::*;

    /// Fails in the three ways a foreign listener can: a declared error, an
    /// undeclared one (as UniFFI hands it over) and a panic.
    struct Failing(AtomicUsize);

    impl SyncListener for Failing {
        fn on_event(&self, _event: SyncEvent) -> Result<(), ListenerError> {
            match self.0.fetch_add(1, Ordering::SeqCst) {
                0 => Err(ListenerError::Failed {
                    reason: "ui gone".into(),
                }),
                1 => Err(uniffi::UnexpectedUniFFICallbackError::new("NullPointerException").into()),
                _ => panic!("listener bug"),
            }
        }
    }

    #[test]
    fn a_failing_listener_is_contained() {
        let failing = Arc::new(Failing(AtomicUsize::new(0)));
        let bridge = ListenerBridge(failing.clone());
        for _ in 0..3 {
            bridge.on_event(postcso_core::sync::SyncEvent::Started);
        }
        assert_eq!(failing.0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn unexpected_callback_errors_keep_their_reason() {
        let e: ListenerError = uniffi::UnexpectedUniFFICallbackError::new("boom").into();
        assert!(matches!(e, ListenerError::Unexpected { ref reason } if reason == "boom"));
    }
}
