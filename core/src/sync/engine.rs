//! The sync engine: owns a small tokio runtime, watches the triggers (network
//! back, report submitted, backoff elapsed, the OS's background window) and runs
//! one sync at a time.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::backoff::BackoffPolicy;
use super::chunk::ChunkSizer;
use super::client::{ClientError, StationClient, Timeouts};
use super::enrol::{EnrolError, Enrolment};
use super::events::{
    ListenerSlot, StopReason, SyncErrorKind, SyncEvent, SyncListener, SyncOutcome,
};
use super::failure::Failure;
use super::network::{NetworkState, SyncPolicy, photos_deferred};
use super::pass::{DeliverError, Run, Stop, TransferCounters, TransferStats};
use super::push::push;
use crate::model::ReportState;
use crate::queue::{QueueChange, QueueError, QueueObserver, ReportQueue};
use crate::secrets::{SecretStoreError, SecretsError};

const FAILURES_KEY: &str = "backoff_failures";
const NOT_BEFORE_KEY: &str = "backoff_not_before_ms";
const REENROL_KEY: &str = "reenrol_required";

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The station's base URL, e.g. `https://seodaemun.station.example/`.
    pub station_url: String,
    /// A device credential the app keeps itself (Bitwarden's model). `None`:
    /// the one in the queue's secret store, saved there by `enrol` or
    /// `set_credential`. `Some`: used, and saved to the secret store when it
    /// differs from the stored one.
    pub credential: Option<String>,
    /// Network timeouts.
    pub timeouts: Timeouts,
    /// Retry timing after transient failures.
    pub backoff: BackoffPolicy,
    /// Data and battery policy.
    pub policy: SyncPolicy,
    /// Worker threads of the engine's runtime: two are plenty for one phone.
    pub worker_threads: usize,
}

impl SyncConfig {
    /// Defaults for the station at `station_url`.
    pub fn new(station_url: impl Into<String>, credential: Option<String>) -> Self {
        Self {
            station_url: station_url.into(),
            credential,
            timeouts: Timeouts::default(),
            backoff: BackoffPolicy::default(),
            policy: SyncPolicy::default(),
            worker_threads: 2,
        }
    }
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The station URL or HTTP client is unusable.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The runtime's threads could not be started.
    #[error("could not start the sync runtime: {0}")]
    Runtime(std::io::Error),
    /// The device token could not be read from or saved to the secret store.
    #[error(transparent)]
    Secrets(#[from] SecretStoreError),
}

/// Mutable inputs from the platform.
#[derive(Debug, Clone)]
struct Inputs {
    credential: Option<String>,
    network: NetworkState,
    policy: SyncPolicy,
    battery_low: bool,
    /// Cancels the run in progress; replaced after each `cancel()`.
    current_run: CancellationToken,
}

/// State shared by the engine's handle, its driver task and its runs.
struct Shared {
    queue: Arc<ReportQueue>,
    client: StationClient,
    backoff: BackoffPolicy,
    inputs: Mutex<Inputs>,
    listener: Arc<ListenerSlot>,
    counters: Arc<TransferCounters>,
    chunks: Arc<Mutex<ChunkSizer>>,
    /// Wakes the driver: network back, report submitted, credential replaced.
    wake: Notify,
    /// One run at a time.
    run_lock: tokio::sync::Mutex<()>,
    /// Set by the driver when a transient failure asked for a retry later.
    shutdown: CancellationToken,
}

/// The sync engine. Create one per opened queue; drop it to stop.
///
/// Every method may be called from any thread. The engine runs on its own
/// multi-threaded tokio runtime, so callers need no runtime of their own.
pub struct SyncEngine {
    shared: Arc<Shared>,
    runtime: Option<Runtime>,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("client", &self.shared.client)
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    /// Builds the engine and starts its background driver, which syncs by itself
    /// whenever the network is up and there is something to send.
    ///
    /// The device credential is `config.credential` when given (saved to the
    /// queue's secret store if it differs from the stored one), else the one
    /// stored there.
    pub fn start(queue: Arc<ReportQueue>, config: SyncConfig) -> Result<Self, SyncError> {
        let client = StationClient::new(&config.station_url, config.timeouts)?;
        let credential = resolve_credential(&queue, config.credential)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads.max(1))
            .max_blocking_threads(4)
            .thread_name("postcso-sync")
            .enable_all()
            .build()
            .map_err(SyncError::Runtime)?;
        let shared = Arc::new(Shared {
            queue,
            client,
            backoff: config.backoff,
            inputs: Mutex::new(Inputs {
                credential,
                network: NetworkState::default(),
                policy: config.policy,
                battery_low: false,
                current_run: CancellationToken::new(),
            }),
            listener: Arc::new(ListenerSlot::default()),
            counters: Arc::new(TransferCounters::default()),
            chunks: Arc::new(Mutex::new(ChunkSizer::default())),
            wake: Notify::new(),
            run_lock: tokio::sync::Mutex::new(()),
            shutdown: CancellationToken::new(),
        });
        let observer: Arc<dyn QueueObserver> = shared.clone();
        shared.queue.observe(Arc::downgrade(&observer));
        runtime.spawn(drive(Arc::clone(&shared)));
        let engine = Self {
            shared,
            runtime: Some(runtime),
        };
        engine.kick();
        Ok(engine)
    }

    /// Redeems a one-time enrolment code. On success the credential is in force
    /// at once, saved in the queue's secret store for the next `start`, and the
    /// station's categories are stored.
    ///
    /// When the station accepted the code but the token could not be saved
    /// ([`EnrolError::NotSaved`]), the token is in force for this session only
    /// (the code is spent): the app may keep it itself and hand it to
    /// `set_credential` once the store works again.
    pub async fn enrol(&self, code: &str) -> Result<Enrolment, EnrolError> {
        let client = self.shared.client.clone();
        let code = code.to_owned();
        let redeemed = self
            .spawn(async move { super::enrol::enrol(&client, &code).await })
            .ok_or_else(shut_down)?
            .await
            .map_err(|_| shut_down())??;
        self.adopt(redeemed)
    }

    /// The blocking form of [`SyncEngine::enrol`], for a platform thread.
    pub fn enrol_blocking(&self, code: &str) -> Result<Enrolment, EnrolError> {
        let client = self.shared.client.clone();
        let code = code.to_owned();
        let redeemed = self
            .block_on(async move { super::enrol::enrol(&client, &code).await })
            .ok_or_else(shut_down)??;
        self.adopt(redeemed)
    }

    /// Puts a fresh enrolment in force: categories stored, credential saved and set.
    fn adopt(&self, enrolment: Enrolment) -> Result<Enrolment, EnrolError> {
        if !enrolment.categories.is_empty() {
            let list = crate::model::CategoryList::new(enrolment.categories.clone());
            if let Err(e) = self.shared.queue.replace_categories(list) {
                tracing::warn!(error = %e, "could not store the station's categories");
            }
        }
        let saved = self
            .shared
            .queue
            .secrets()
            .set_device_token(Some(&enrolment.token));
        // In force either way: the code is spent, so this session keeps the token.
        self.put_in_force(Some(enrolment.token.clone()));
        match saved {
            Ok(()) => Ok(enrolment),
            Err(e) => {
                tracing::error!(error = %e, "enrolled, but the device token was not saved");
                Err(EnrolError::NotSaved(Box::new(enrolment), e))
            }
        }
    }

    /// Runs `fut` on the engine's runtime; `None` once the engine is shut down.
    fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Option<tokio::task::JoinHandle<T>> {
        self.runtime.as_ref().map(|rt| rt.spawn(fut))
    }

    /// Runs `fut` on the engine's runtime and blocks this (non-async) thread for it.
    fn block_on<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.spawn(async move {
            // The receiver is gone only if the caller stopped waiting; nothing to tell.
            let _ = tx.send(fut.await);
        })?;
        rx.recv().ok()
    }

    /// Registers the listener that receives every [`SyncEvent`].
    pub fn set_listener(&self, listener: Option<Arc<dyn SyncListener>>) {
        self.shared.listener.set(listener);
    }

    /// Replaces the device credential (after re-enrolment, or an app that keeps
    /// its own tokens) and clears the "re-enrol" stop, then syncs. The token is
    /// saved in the queue's secret store, `None` deletes it there; when the store
    /// fails nothing changes.
    pub fn set_credential(&self, credential: Option<String>) -> Result<(), QueueError> {
        self.shared
            .queue
            .secrets()
            .set_device_token(credential.as_deref())
            .map_err(SecretsError::from)?;
        self.put_in_force(credential);
        Ok(())
    }

    /// Uses `credential` from now on, clears the "re-enrol" stop and syncs.
    fn put_in_force(&self, credential: Option<String>) {
        self.shared.inputs().credential = credential;
        if let Err(e) = self.shared.queue.set_sync_value(REENROL_KEY, None) {
            // The next run is then refused again and sets it again: nothing lost.
            tracing::warn!(error = %e, "could not clear the re-enrol stop");
        }
        self.kick();
    }

    /// What the platform knows about connectivity. Coming online starts a sync at
    /// once: a queue that waits for the next timer after the network returns is
    /// the classic offline-first bug.
    pub fn set_network_state(&self, state: NetworkState) {
        let was_online = {
            let mut inputs = self.shared.inputs();
            let was = inputs.network.online;
            inputs.network = state;
            was
        };
        if state.online && !was_online {
            self.reset_backoff_for_new_network();
        }
        if state.online {
            self.kick();
        } else {
            // No network: a run in flight can only fail; stop it promptly.
            self.cancel();
        }
    }

    /// Data and battery policy.
    pub fn set_policy(&self, policy: SyncPolicy) {
        self.shared.inputs().policy = policy;
        self.kick();
    }

    /// Whether the battery is low (the platform's battery-low broadcast).
    pub fn set_battery_low(&self, low: bool) {
        self.shared.inputs().battery_low = low;
        if !low {
            self.kick();
        }
    }

    /// Asks for a sync soon, e.g. right after `submit()`. Cheap; does nothing
    /// while offline or backing off.
    pub fn kick(&self) {
        self.shared.wake.notify_one();
    }

    /// Syncs until the queue is drained or `budget` has passed, then returns with
    /// progress saved. For the OS's background windows (WorkManager, BGTask): give
    /// it a little less than the window.
    pub async fn sync(&self, budget: Duration) -> SyncOutcome {
        let deadline = Instant::now() + budget;
        let cancel = self.shared.current_run();
        match self.spawn(run_until(Arc::clone(&self.shared), Some(deadline), cancel)) {
            Some(handle) => handle
                .await
                .unwrap_or_else(|_| stopped(StopReason::Cancelled)),
            None => stopped(StopReason::Cancelled),
        }
    }

    /// The blocking form of [`SyncEngine::sync`], for a platform thread. Do not call
    /// it from inside an async runtime; use `sync` there.
    pub fn sync_now(&self, budget: Duration) -> SyncOutcome {
        let deadline = Instant::now() + budget;
        let cancel = self.shared.current_run();
        self.block_on(run_until(Arc::clone(&self.shared), Some(deadline), cancel))
            .unwrap_or_else(|| stopped(StopReason::Cancelled))
    }

    /// Stops the run in progress within a second; progress is kept. The engine
    /// syncs again on the next trigger.
    pub fn cancel(&self) {
        let mut inputs = self.shared.inputs();
        inputs.current_run.cancel();
        inputs.current_run = CancellationToken::new();
    }

    /// Bytes and requests sent since the engine started.
    pub fn transfer_stats(&self) -> TransferStats {
        self.shared.counters.snapshot()
    }

    /// A new network is a new chance: forget the backoff of the old one, so a
    /// carrier walking into Wi-Fi is not kept waiting by failures on the street.
    ///
    /// A failed write is only logged: the old wait then stands, bounded by the
    /// backoff cap and visible as `BackingOff`, and nothing is lost.
    fn reset_backoff_for_new_network(&self) {
        if let Err(e) = self.shared.queue.set_sync_value(NOT_BEFORE_KEY, None) {
            tracing::warn!(error = %e, "could not forget the backoff on a new network");
        }
    }
}

impl Drop for SyncEngine {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
        self.cancel();
        if let Some(runtime) = self.runtime.take() {
            // Never blocks, so dropping the engine is safe on any thread, async or not;
            // a queue write in flight finishes on its blocking thread.
            runtime.shutdown_background();
        }
    }
}

impl Shared {
    fn inputs(&self) -> std::sync::MutexGuard<'_, Inputs> {
        self.inputs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The token that `cancel()` will trip next.
    fn current_run(&self) -> CancellationToken {
        self.inputs().current_run.clone()
    }
}

/// The app changed the queue: a newly queued report starts a sync at once (the
/// driver does nothing while offline or backing off), and the UI hears of it.
impl QueueObserver for Shared {
    fn queue_changed(&self, change: QueueChange) {
        match change {
            QueueChange::Queued(id) => {
                self.listener.emit(SyncEvent::ReportState {
                    id,
                    state: ReportState::Queued,
                });
                self.wake.notify_one();
            }
            QueueChange::Withdrawn(id) => self.listener.emit(SyncEvent::ReportState {
                id,
                state: ReportState::Withdrawn,
            }),
            QueueChange::Reopened(id) => self.listener.emit(SyncEvent::ReportState {
                id,
                state: ReportState::Draft,
            }),
            _ => {}
        }
        if change.changes_counts()
            && let Ok(stats) = self.queue.stats()
        {
            self.listener.emit(SyncEvent::QueueCounts(stats));
        }
    }
}

/// The credential at start: the app's own (saved when new), else the stored one.
fn resolve_credential(
    queue: &ReportQueue,
    given: Option<String>,
) -> Result<Option<String>, SecretStoreError> {
    let stored = queue.secrets().device_token()?;
    match given {
        Some(token) => {
            if stored.as_deref() != Some(token.as_str()) {
                queue.secrets().set_device_token(Some(&token))?;
            }
            Ok(Some(token))
        }
        None => Ok(stored),
    }
}

fn shut_down() -> EnrolError {
    EnrolError::Unreachable("the sync engine is shut down".into())
}

fn stopped(stop: StopReason) -> SyncOutcome {
    SyncOutcome {
        stop,
        delivered: 0,
        rejected: 0,
        remaining: 0,
    }
}

/// The background driver: runs when woken, and again when a backoff elapses.
async fn drive(shared: Arc<Shared>) {
    let mut retry_at: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            () = shared.wake.notified() => {}
            () = async {
                match retry_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
        retry_at = None;
        let cancel = shared.current_run();
        let outcome = run_until(Arc::clone(&shared), None, cancel).await;
        match outcome.stop {
            StopReason::BackingOff { retry_in, .. } => {
                retry_at = Some(tokio::time::Instant::now() + retry_in);
            }
            StopReason::Cancelled => {
                // A trigger that came before the cancel must not restart the run
                // the caller just stopped; only a new trigger does. (Consumes a
                // pending wake if there is one; timing out means there was none.)
                let _ = tokio::time::timeout(Duration::ZERO, shared.wake.notified()).await;
            }
            _ => {}
        }
    }
}

/// Runs syncs until drained, stopped or out of time; waits out a backoff when it
/// fits before the deadline. `cancel` is taken when the caller asked, so a
/// `cancel()` also stops a run still waiting for the one before it.
///
/// Every call ends with one `Finished` event, also a call that only waited
/// behind another run until its deadline or a cancel: a caller's listener always
/// hears how its sync ended, however slow the run before it was.
async fn run_until(
    shared: Arc<Shared>,
    deadline: Option<Instant>,
    cancel: CancellationToken,
) -> SyncOutcome {
    let deadline_at = deadline.map(tokio::time::Instant::from_std);
    let _one_at_a_time = tokio::select! {
        guard = shared.run_lock.lock() => guard,
        () = cancel.cancelled() => return finished(&shared, stopped(StopReason::Cancelled)),
        () = async {
            match deadline_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        } => return finished(&shared, stopped(StopReason::DeadlineReached)),
    };
    let mut total = stopped(StopReason::Drained);
    loop {
        let outcome = run_once(&shared, deadline, &cancel).await;
        total.delivered += outcome.delivered;
        total.rejected += outcome.rejected;
        total.remaining = outcome.remaining;
        total.stop = outcome.stop.clone();
        let StopReason::BackingOff { retry_in, .. } = &outcome.stop else {
            break;
        };
        let Some(deadline) = deadline else {
            break; // The driver schedules the retry itself.
        };
        if Instant::now() + *retry_in >= deadline {
            break;
        }
        tokio::select! {
            () = cancel.cancelled() => { total.stop = StopReason::Cancelled; break; }
            () = tokio::time::sleep(*retry_in) => {}
        }
    }
    finished(&shared, total)
}

/// Tells the listener how a sync ended, and returns the outcome.
fn finished(shared: &Shared, outcome: SyncOutcome) -> SyncOutcome {
    shared.listener.emit(SyncEvent::Finished(outcome.clone()));
    outcome
}

/// One push-then-pull run.
async fn run_once(
    shared: &Arc<Shared>,
    deadline: Option<Instant>,
    cancel: &CancellationToken,
) -> SyncOutcome {
    let inputs = shared.inputs().clone();
    let mut outcome = stopped(StopReason::Drained);
    let remaining = |shared: &Shared| shared.queue.stats().map(|s| s.unsent()).unwrap_or(0);
    if !inputs.network.online {
        outcome.stop = StopReason::Offline;
        outcome.remaining = remaining(shared);
        return outcome;
    }
    let Some(token) = inputs.credential.clone() else {
        outcome.stop = StopReason::NotEnrolled;
        return outcome;
    };
    if matches!(shared.queue.sync_value(REENROL_KEY), Ok(Some(_))) {
        outcome.stop = StopReason::ReEnrolRequired;
        return outcome;
    }
    if let Some(wait) = backoff_remaining(shared) {
        outcome.stop = StopReason::BackingOff {
            retry_in: wait,
            reason: "waiting after earlier failures".to_owned(),
        };
        outcome.remaining = remaining(shared);
        return outcome;
    }
    shared.listener.emit(SyncEvent::Started);
    let run = Arc::new(Run {
        queue: Arc::clone(&shared.queue),
        client: shared.client.clone(),
        token,
        listener: Arc::clone(&shared.listener),
        // A child token: the run can abort its own uploads without cancelling
        // the caller's token.
        stop: cancel.child_token(),
        deadline,
        backoff: shared.backoff,
        uploads_in_flight: inputs.policy.uploads_in_flight,
        photos_deferred: photos_deferred(inputs.policy, inputs.network, inputs.battery_low),
        chunks: Arc::clone(&shared.chunks),
        counters: Arc::clone(&shared.counters),
    });
    outcome.stop = match push(&run, &mut outcome).await {
        Ok(()) => match run.pull().await {
            Ok(()) => {
                clear_backoff(shared);
                StopReason::Drained
            }
            Err(DeliverError::Failure(Failure::Permanent { status, .. })) => {
                // The push is done; a station without a usable changes feed only
                // means no news this time.
                tracing::warn!(status, "changes feed unavailable");
                clear_backoff(shared);
                StopReason::Drained
            }
            Err(e) => settle(&run, None, e).await,
        },
        Err(stop) => stop,
    };
    outcome.remaining = remaining(shared);
    if let Ok(stats) = shared.queue.stats() {
        run.emit(SyncEvent::QueueCounts(stats));
    }
    outcome
}

/// Turns what stopped a run into the outcome, persisting backoff or the re-enrol flag.
pub(crate) async fn settle(
    run: &Run,
    id: Option<crate::model::ReportId>,
    e: DeliverError,
) -> StopReason {
    match e {
        DeliverError::Stop(Stop::Cancelled) => StopReason::Cancelled,
        DeliverError::Stop(Stop::Deadline) => StopReason::DeadlineReached,
        DeliverError::Failure(Failure::Unauthorized) => {
            let saved = run.db(|q| q.set_sync_value(REENROL_KEY, Some("1"))).await;
            run.emit(SyncEvent::ReEnrolRequired);
            if let Err(e) = saved {
                not_saved(run, StateNotSaved::ReEnrolStop(e));
            }
            StopReason::ReEnrolRequired
        }
        DeliverError::Failure(Failure::Transient {
            reason,
            retry_after,
        }) => {
            let failures = match run.db(|q| q.sync_value(FAILURES_KEY)).await {
                Ok(stored) => stored.and_then(|v| v.parse::<u32>().ok()).unwrap_or(0),
                Err(e) => {
                    // The wait is then the first one again; the write below says
                    // whether the database is failing for good.
                    tracing::warn!(error = %e, "could not read the backoff failure count");
                    0
                }
            } + 1;
            let retry_in = run.backoff.delay(failures, retry_after, &mut rand::rng());
            let not_before = now_ms() + retry_in.as_millis() as i64;
            let (failures_text, not_before_text) = (failures.to_string(), not_before.to_string());
            let saved = run
                .db(move |q| {
                    q.set_sync_values(&[
                        (FAILURES_KEY, Some(failures_text.as_str())),
                        (NOT_BEFORE_KEY, Some(not_before_text.as_str())),
                    ])
                })
                .await;
            run.emit(SyncEvent::Error {
                kind: SyncErrorKind::Network,
                message: reason.clone(),
                report: id,
            });
            if let Err(e) = saved {
                not_saved(run, StateNotSaved::Backoff(e));
            }
            StopReason::BackingOff { retry_in, reason }
        }
        DeliverError::Failure(Failure::Permanent { message, .. }) => {
            // A permanent answer outside a report's delivery (the changes feed):
            // nothing to reject; report it and stop this run.
            run.emit(SyncEvent::Error {
                kind: SyncErrorKind::Network,
                message: message.clone(),
                report: id,
            });
            StopReason::LocalError(message)
        }
        DeliverError::Local(e) => {
            run.local_error(id, &e);
            StopReason::LocalError(e.to_string())
        }
    }
}

/// Time left in a persisted backoff. A wait longer than the policy allows (the
/// phone's clock jumped back) is not honoured.
fn backoff_remaining(shared: &Shared) -> Option<Duration> {
    let not_before: i64 = shared
        .queue
        .sync_value(NOT_BEFORE_KEY)
        .ok()??
        .parse()
        .ok()?;
    let wait = not_before - now_ms();
    let longest = (shared.backoff.cap.max(shared.backoff.max_retry_after)).as_millis() as i64;
    (wait > 0 && wait <= longest).then(|| Duration::from_millis(wait as u64))
}

/// Forgets the backoff after a run that reached the station. A failed write is
/// only logged: the stale wait delays the next run at most by the backoff cap,
/// shows as `BackingOff`, and the next run that gets through clears it again.
fn clear_backoff(shared: &Shared) {
    if let Err(e) = shared
        .queue
        .set_sync_values(&[(FAILURES_KEY, None), (NOT_BEFORE_KEY, None)])
    {
        tracing::warn!(error = %e, "could not clear the backoff after a good run");
    }
}

/// A decision the engine took from the station's answer but could not save in
/// the queue database. The run that took it still acts on it; a later run, or
/// the app after a restart, does not know it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StateNotSaved {
    /// The station no longer accepts the device, but the stop was not saved: the
    /// engine asks the station again (and is refused again) on the next run.
    #[error("could not save that this device must be enrolled again: {0}")]
    ReEnrolStop(#[source] QueueError),
    /// The wait after a failure was not saved: the next run may come early and
    /// the wait does not grow, so a struggling station gets more requests.
    #[error("could not save the wait before the next sync attempt: {0}")]
    Backoff(#[source] QueueError),
}

/// Logs a decision that could not be saved and tells the app, as a `Storage`
/// error event: the phone is failing to write, which the carrier may be able to
/// fix (free space) before it costs more. The message names no report data.
fn not_saved(run: &Run, e: StateNotSaved) {
    tracing::error!(error = %e, "sync decision not saved");
    run.emit(SyncEvent::Error {
        kind: SyncErrorKind::Storage,
        message: e.to_string(),
        report: None,
    });
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
