//! [`PostCore`]: the one object the apps hold. It owns the report queue and the
//! sync engine for one data directory, and is closed explicitly.
//!
//! Queue calls are synchronous and durable when they return (call them from an
//! I/O thread). `enrol` and `sync_now` are async: their work runs on the core's
//! multi-threaded tokio runtime and the foreign future only awaits its
//! `JoinHandle`, so no UniFFI async runtime is involved. UniFFI never cancels a
//! Rust future when the foreign task is cancelled; `cancel()` is the way to stop
//! a sync, and the platform wrappers call it from their cancellation handlers.

use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use postcso_core::photo::PhotoInput;
use postcso_core::sync::{SyncConfig, SyncEngine};
use postcso_core::{QueueConfig, ReportQueue};

use crate::convert::report_id;
use crate::error::PostError;
use crate::events::{ListenerBridge, StopReason, SyncListener, SyncOutcome};
use crate::secrets::{SecretStore, SecretStoreBridge};
use crate::types::*;

/// The queue and engine of an open core.
pub(crate) struct Open {
    pub(crate) queue: Arc<ReportQueue>,
    engine: SyncEngine,
}

/// The POST-CSO core for one app: drafts, the sealed queue and sync.
///
/// Every method may be called from any thread. After `close()` every method
/// raises [`PostError::Closed`].
#[derive(uniffi::Object)]
pub struct PostCore {
    open: RwLock<Option<Arc<Open>>>,
}

impl std::fmt::Debug for PostCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostCore")
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[uniffi::export]
impl PostCore {
    /// Opens (or creates) the queue in `config.data_dir` and starts the sync
    /// engine, which syncs by itself whenever there is something to send.
    ///
    /// `secrets` is the app's secret store (Keystore, Keychain): the core keeps
    /// its data key and the device token there and nowhere else. A key that is
    /// gone, wrong or whose check is damaged raises `DataKeyLost`,
    /// `DataKeyWrong` or `DataDamaged`; a failing store `SecretsUnavailable` or
    /// `SecretStoreFailed`.
    #[uniffi::constructor]
    pub fn open(config: CoreConfig, secrets: Arc<dyn SecretStore>) -> Result<Arc<Self>, PostError> {
        let secrets = Arc::new(SecretStoreBridge(secrets));
        let queue = Arc::new(ReportQueue::open(
            QueueConfig::new(&config.data_dir),
            secrets,
        )?);
        let engine = SyncEngine::start(
            Arc::clone(&queue),
            SyncConfig::new(config.station_url, config.credential),
        )?;
        tracing::info!("core opened");
        Ok(Arc::new(Self {
            open: RwLock::new(Some(Arc::new(Open { queue, engine }))),
        }))
    }

    /// Stops the engine (a sync in flight ends as `Cancelled`) and releases the
    /// listener. Idempotent; afterwards every call raises `Closed`.
    pub fn close(&self) {
        let taken = self
            .open
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(open) = taken {
            open.engine.set_listener(None);
            open.engine.cancel();
            tracing::info!("core closed");
        }
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.open
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    /// Does nothing: the baseline for measuring the cost of crossing the FFI.
    pub fn noop(&self) {}

    /// Starts a new draft, saved at once, and returns its id.
    pub fn create_draft(&self) -> Result<String, PostError> {
        Ok(self.get_open()?.queue.create_draft()?.to_string())
    }

    /// Sets a draft's category, checked against the station's list.
    pub fn set_category(&self, id: String, code: String) -> Result<(), PostError> {
        Ok(self
            .get_open()?
            .queue
            .set_category(report_id(&id)?, &code)?)
    }

    /// Sets a draft's note; blank text clears it.
    pub fn set_note(&self, id: String, text: String) -> Result<(), PostError> {
        Ok(self.get_open()?.queue.set_note(report_id(&id)?, &text)?)
    }

    /// Sets a draft's position; refused with `InvalidLocation` when invalid.
    pub fn set_location(&self, id: String, location: Location) -> Result<(), PostError> {
        let open = self.get_open()?;
        let id = report_id(&id)?;
        Ok(open.queue.set_location(id, location.try_into()?)?)
    }

    /// Processes the JPEG or PNG at `path` (orientation, downscale, re-encode,
    /// metadata stripped) and appends it to a draft. The original file is not
    /// touched; the app may delete it afterwards.
    pub fn attach_photo(&self, id: String, path: String) -> Result<AttachedPhoto, PostError> {
        let open = self.get_open()?;
        let id = report_id(&id)?;
        Ok(open
            .queue
            .attach_photo(id, PhotoInput::Path(Path::new(&path)))?
            .into())
    }

    /// Like `attach_photo`, from bytes in memory (e.g. a photo picker's data).
    pub fn attach_photo_bytes(
        &self,
        id: String,
        bytes: Vec<u8>,
    ) -> Result<AttachedPhoto, PostError> {
        let open = self.get_open()?;
        let id = report_id(&id)?;
        Ok(open
            .queue
            .attach_photo(id, PhotoInput::Bytes(&bytes))?
            .into())
    }

    /// Removes the photo at `position` from a draft; later photos move up.
    pub fn remove_photo(&self, id: String, position: u32) -> Result<(), PostError> {
        Ok(self
            .get_open()?
            .queue
            .remove_photo(report_id(&id)?, position)?)
    }

    /// Deletes an abandoned draft. Sealed reports cannot be deleted.
    pub fn delete_draft(&self, id: String) -> Result<(), PostError> {
        Ok(self.get_open()?.queue.delete_draft(report_id(&id)?)?)
    }

    /// Seals a draft and queues it. Durable when it returns; the engine starts
    /// sending at once if it can.
    pub fn submit(&self, id: String) -> Result<SubmitReceipt, PostError> {
        Ok(self.get_open()?.queue.submit(report_id(&id)?)?.into())
    }

    /// Takes back a queued report that has not started sending.
    pub fn withdraw(&self, id: String) -> Result<(), PostError> {
        Ok(self.get_open()?.queue.withdraw(report_id(&id)?)?)
    }

    /// Takes back a report the station refused for good (`RejectedByServer`) so
    /// the carrier can correct it and send it again under the same id. Returns
    /// its new state: `Draft` when the station never stored it (edit it, then
    /// `submit` re-seals it; `server_message` still says what was wrong), or
    /// `Queued` when the station already holds its content (it goes again as
    /// sealed). Any other state raises `NotADraft`.
    pub fn retry_rejected(&self, id: String) -> Result<ReportState, PostError> {
        Ok(self
            .get_open()?
            .queue
            .retry_rejected(report_id(&id)?)?
            .into())
    }

    /// One report with its photos.
    pub fn get(&self, id: String) -> Result<Report, PostError> {
        Ok(self.get_open()?.queue.get(report_id(&id)?)?.into())
    }

    /// Every report, oldest first.
    pub fn list(&self) -> Result<Vec<ReportSummary>, PostError> {
        Ok(self
            .get_open()?
            .queue
            .list()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Report counts per state.
    pub fn stats(&self) -> Result<QueueStats, PostError> {
        Ok(self.get_open()?.queue.stats()?.into())
    }

    /// The category list new reports are checked against (the station's, once synced).
    pub fn categories(&self) -> Result<Vec<Category>, PostError> {
        Ok(self
            .get_open()?
            .queue
            .categories()
            .entries()
            .iter()
            .map(Into::into)
            .collect())
    }

    /// The station's zones as last synced, the device's own marked `assigned`.
    pub fn zones(&self) -> Result<Vec<Zone>, PostError> {
        Ok(self
            .get_open()?
            .queue
            .zones()?
            .iter()
            .map(Into::into)
            .collect())
    }

    /// Redeems a one-time enrolment code. The credential is in force when this
    /// returns and saved in the app's `SecretStore` for the next `open`. When
    /// the store fails the device is enrolled for this session only (the code is
    /// spent) and this raises `SecretsUnavailable` or `SecretStoreFailed`.
    pub async fn enrol(&self, code: String) -> Result<Enrolment, PostError> {
        let open = self.get_open()?;
        Ok(open.engine.enrol(&code).await?.into())
    }

    /// Replaces the device credential (after re-enrolment elsewhere, or an app
    /// that keeps its own tokens) and syncs. Saved in the `SecretStore`; `None`
    /// deletes it there. When the store fails nothing changes.
    pub fn set_credential(&self, credential: Option<String>) -> Result<(), PostError> {
        Ok(self.get_open()?.engine.set_credential(credential)?)
    }

    /// Connectivity from the platform's monitor. Coming online syncs at once;
    /// going offline stops a run in flight.
    pub fn set_network_state(&self, state: NetworkState) -> Result<(), PostError> {
        self.get_open()?.engine.set_network_state(state.into());
        Ok(())
    }

    /// Data and battery policy.
    pub fn set_policy(&self, policy: SyncPolicy) -> Result<(), PostError> {
        self.get_open()?.engine.set_policy(policy.into());
        Ok(())
    }

    /// The platform's battery-low signal: photo uploads wait while it is set
    /// (unless the policy says otherwise).
    pub fn set_battery_low(&self, low: bool) -> Result<(), PostError> {
        self.get_open()?.engine.set_battery_low(low);
        Ok(())
    }

    /// Syncs until the queue is drained or `budget_ms` milliseconds have passed,
    /// then returns with progress saved: for WorkManager and BGTask windows; give
    /// it a little less than the window. Ordinary stops (drained, deadline,
    /// offline, backing off, cancelled) are outcomes; a revoked or missing
    /// credential and a local storage failure raise `ReEnrolRequired`,
    /// `NotEnrolled` and `Storage`. Cancelling the foreign task does not stop
    /// the run: call `cancel()`.
    pub async fn sync_now(&self, budget_ms: u64) -> Result<SyncOutcome, PostError> {
        let open = self.get_open()?;
        let outcome: SyncOutcome = open
            .engine
            .sync(Duration::from_millis(budget_ms))
            .await
            .into();
        match outcome.stop {
            StopReason::ReEnrolRequired => Err(PostError::ReEnrolRequired),
            StopReason::NotEnrolled => Err(PostError::NotEnrolled),
            StopReason::LocalError { message } => Err(PostError::Storage(message)),
            _ => Ok(outcome),
        }
    }

    /// Stops the sync in progress within a second; progress is kept. A no-op
    /// when nothing runs or the core is closed (close already cancelled).
    pub fn cancel(&self) {
        if let Ok(open) = self.get_open() {
            open.engine.cancel();
        }
    }

    /// Registers the listener for sync and status events, replacing any
    /// earlier one; `None` removes it.
    pub fn set_listener(&self, listener: Option<Arc<dyn SyncListener>>) -> Result<(), PostError> {
        let bridge = listener
            .map(|l| Arc::new(ListenerBridge(l)) as Arc<dyn postcso_core::sync::SyncListener>);
        self.get_open()?.engine.set_listener(bridge);
        Ok(())
    }

    /// Bytes and requests sent since the core was opened.
    pub fn transfer_stats(&self) -> Result<TransferStats, PostError> {
        Ok(self.get_open()?.engine.transfer_stats().into())
    }
}

impl PostCore {
    /// The open queue and engine, or `Closed`.
    pub(crate) fn get_open(&self) -> Result<Arc<Open>, PostError> {
        self.open
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(PostError::Closed)
    }
}
