//! Telling the sync engine (or anyone) that the app changed the queue, so that a
//! submitted report starts a sync at once and counts reach the UI without polling.

use std::sync::{RwLock, Weak};

use crate::model::ReportId;

/// A change the app made to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueChange {
    /// A new draft was started.
    DraftCreated(ReportId),
    /// A draft was edited (saved).
    DraftSaved(ReportId),
    /// A draft was discarded.
    DraftDeleted(ReportId),
    /// A report was sealed and now waits to be sent (submitted, or retried after
    /// the station refused it).
    Queued(ReportId),
    /// A queued report was withdrawn.
    Withdrawn(ReportId),
    /// A report the station refused became a draft again, for the carrier to
    /// correct and submit (`retry_rejected`).
    Reopened(ReportId),
}

impl QueueChange {
    /// Whether report counts per state changed.
    pub fn changes_counts(&self) -> bool {
        !matches!(self, Self::DraftSaved(_))
    }
}

/// Watches the queue. Called on the thread that made the change, after it is
/// committed; implementations must be quick.
pub trait QueueObserver: Send + Sync {
    /// One change, committed.
    fn queue_changed(&self, change: QueueChange);
}

/// The registered observers, held weakly so an observer's owner controls its life.
#[derive(Default)]
pub(crate) struct Observers(RwLock<Vec<Weak<dyn QueueObserver>>>);

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.read().map(|l| l.len()).unwrap_or(0);
        f.debug_struct("Observers").field("count", &n).finish()
    }
}

impl Observers {
    pub fn add(&self, observer: Weak<dyn QueueObserver>) {
        let mut list = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        list.retain(|o| o.strong_count() > 0);
        list.push(observer);
    }

    pub fn notify(&self, change: QueueChange) {
        let live: Vec<_> = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for observer in live {
            observer.queue_changed(change);
        }
    }
}
