//! What one sync run needs and does for a single report: the run's context
//! (cancellation, deadline, station client, counters), sending a report's
//! metadata, and uploading its photos by tus.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::chunk::ChunkSizer;
use super::client::StationClient;
use super::events::{ListenerSlot, SyncErrorKind, SyncEvent};
use super::failure::Failure;
use super::tus::{self, TusFailure};
use crate::model::ReportId;
use crate::queue::{Delivery, PhotoDelivery, QueueError, ReportQueue};

/// Times a chunk is resent after a checksum mismatch before the run backs off.
const CHECKSUM_RETRIES: u32 = 3;

/// Why a run stopped early, from the engine's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// `cancel()`.
    Cancelled,
    /// The run's deadline passed.
    Deadline,
}

/// What ended the delivery of one report.
#[derive(Debug)]
pub(crate) enum DeliverError {
    /// The station or the network failed.
    Failure(Failure),
    /// The run must stop.
    Stop(Stop),
    /// The phone's own storage failed.
    Local(QueueError),
}

impl From<Failure> for DeliverError {
    fn from(f: Failure) -> Self {
        Self::Failure(f)
    }
}

impl From<QueueError> for DeliverError {
    fn from(e: QueueError) -> Self {
        Self::Local(e)
    }
}

impl From<Stop> for DeliverError {
    fn from(s: Stop) -> Self {
        Self::Stop(s)
    }
}

/// Byte and request counters, for the demo's table and the fault tests.
#[derive(Debug, Default)]
pub struct TransferCounters {
    /// Photo bytes put on the wire, including bytes sent again after a failure.
    photo_bytes_sent: AtomicU64,
    /// Photo bytes sent for offsets that had been sent before (lost in an interruption).
    photo_bytes_resent: AtomicU64,
    /// HTTP requests made.
    requests: AtomicU64,
    /// Per photo being uploaded, the highest offset sent so far in this process.
    high_water: Mutex<HashMap<(ReportId, u32), u64>>,
}

/// A snapshot of [`TransferCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferStats {
    /// Photo bytes put on the wire, including bytes sent again after a failure.
    pub photo_bytes_sent: u64,
    /// Photo bytes sent a second time because an interruption lost them.
    pub photo_bytes_resent: u64,
    /// HTTP requests made.
    pub requests: u64,
}

impl TransferCounters {
    /// Reads the counters.
    pub fn snapshot(&self) -> TransferStats {
        TransferStats {
            photo_bytes_sent: self.photo_bytes_sent.load(Ordering::Relaxed),
            photo_bytes_resent: self.photo_bytes_resent.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }

    /// Counts a request sending bytes `[from, from + len)` of a photo, and how many
    /// of them had already been sent.
    fn photo_chunk(&self, photo: (ReportId, u32), from: u64, len: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.photo_bytes_sent.fetch_add(len, Ordering::Relaxed);
        let mut high = self
            .high_water
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mark = high.entry(photo).or_insert(0);
        let again = (*mark).min(from + len).saturating_sub(from);
        self.photo_bytes_resent.fetch_add(again, Ordering::Relaxed);
        *mark = (*mark).max(from + len);
    }

    /// Forgets a finished photo.
    fn photo_done(&self, photo: (ReportId, u32)) {
        self.high_water
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&photo);
    }
}

/// Everything a run needs.
pub(crate) struct Run {
    pub queue: Arc<ReportQueue>,
    pub client: StationClient,
    pub token: String,
    pub listener: Arc<ListenerSlot>,
    pub stop: CancellationToken,
    pub deadline: Option<Instant>,
    pub backoff: super::backoff::BackoffPolicy,
    /// Reports whose photos may upload at the same time.
    pub uploads_in_flight: usize,
    /// Set when photos must wait (policy), with the reason.
    pub photos_deferred: Option<&'static str>,
    pub chunks: Arc<Mutex<ChunkSizer>>,
    pub counters: Arc<TransferCounters>,
}

impl Run {
    /// Runs `fut` unless the run is cancelled or its deadline passes first.
    pub async fn guard<T>(&self, fut: impl Future<Output = T>) -> Result<T, Stop> {
        let deadline = self.deadline.map(tokio::time::Instant::from_std);
        tokio::select! {
            biased;
            () = self.stop.cancelled() => Err(Stop::Cancelled),
            () = sleep_until_opt(deadline) => Err(Stop::Deadline),
            value = fut => Ok(value),
        }
    }

    /// Runs a queue operation on the blocking pool: SQLite commits fsync.
    pub async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ReportQueue) -> Result<T, QueueError> + Send + 'static,
    ) -> Result<T, QueueError> {
        let queue = Arc::clone(&self.queue);
        tokio::task::spawn_blocking(move || f(&queue))
            .await
            .unwrap_or_else(|_| {
                Err(QueueError::Storage(
                    std::io::Error::other("queue task aborted").into(),
                ))
            })
    }

    /// Time left before the deadline.
    pub fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    pub fn emit(&self, event: SyncEvent) {
        self.listener.emit(event);
    }

    fn count_request(&self) {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts delivering a queued report: marks it `sending` and has the station
    /// store its metadata (unless it already did in an earlier attempt).
    pub async fn send_metadata(&self, id: ReportId) -> Result<Delivery, DeliverError> {
        let delivery = self.db(move |q| q.begin_delivery(id)).await?;
        self.emit(SyncEvent::ReportState {
            id,
            state: crate::model::ReportState::Sending,
        });
        if !delivery.metadata_acked {
            self.count_request();
            self.guard(
                self.client
                    .put_report(&self.token, id, &delivery.content_json),
            )
            .await??;
            self.db(move |q| q.record_metadata_acked(id)).await?;
        }
        Ok(delivery)
    }

    /// Uploads the photos of a report whose metadata the station has, in order.
    pub async fn send_photos(&self, delivery: &Delivery) -> Result<(), DeliverError> {
        for photo in delivery.photos.iter().filter(|p| !p.completed) {
            self.upload_photo(delivery, photo).await?;
        }
        Ok(())
    }

    /// Uploads one photo by tus, resuming from the station's offset.
    ///
    /// A small state machine: with no upload resource, create one carrying the
    /// first chunk; with a resource but an unknown offset (after a restart or an
    /// offset disagreement), ask the station with HEAD; with both, PATCH the next
    /// chunk. Every confirmed offset is persisted before the next chunk goes, so an
    /// interruption costs at most the chunk in flight.
    async fn upload_photo(
        &self,
        delivery: &Delivery,
        photo: &PhotoDelivery,
    ) -> Result<(), DeliverError> {
        let id = delivery.id;
        let position = photo.position;
        let sha = photo.sha256.clone();
        let bytes = self.db(move |q| q.photo_bytes(&sha)).await?;
        let total = bytes.len() as u64;
        let already_confirmed = delivery.photo_bytes_confirmed() - photo.confirmed_offset;
        let mut upload = photo
            .upload_url
            .as_deref()
            .and_then(|u| self.client.url(u).ok());
        let mut offset: Option<u64> = None;
        let mut checksum_failures = 0;
        loop {
            match (&upload, offset) {
                (None, _) => {
                    let len = self.chunk_len(total, 0);
                    let started = self.sent((id, position), 0, len);
                    let created = tus::create(
                        &self.client,
                        &self.token,
                        id,
                        &photo.sha256,
                        total,
                        &bytes[..len],
                    );
                    match self.guard(created).await? {
                        Ok((url, state)) => {
                            let at = state.offset.min(total);
                            self.measured(len, started);
                            self.record(id, position, Some(url.as_str()), at, at == total)
                                .await?;
                            self.progress(delivery, already_confirmed + at);
                            upload = Some(url);
                            offset = Some(at);
                        }
                        Err(TusFailure::ChecksumMismatch)
                            if checksum_failures < CHECKSUM_RETRIES =>
                        {
                            checksum_failures += 1;
                        }
                        Err(other) => {
                            self.lost_chunk(len, &other);
                            return Err(tus_failure(other));
                        }
                    }
                }
                (Some(_), Some(at)) if at >= total => {
                    self.counters.photo_done((id, position));
                    return Ok(());
                }
                (Some(url), None) => {
                    self.count_request();
                    match self
                        .guard(tus::head(&self.client, &self.token, url))
                        .await?
                    {
                        Ok(state) => {
                            let at = state.offset.min(total);
                            self.record(id, position, Some(url.as_str()), at, at == total)
                                .await?;
                            offset = Some(at);
                        }
                        Err(TusFailure::Gone) => {
                            self.record(id, position, None, 0, false).await?;
                            upload = None;
                        }
                        Err(other) => return Err(tus_failure(other)),
                    }
                }
                (Some(url), Some(at)) => {
                    let len = self.chunk_len(total, at);
                    let chunk = &bytes[at as usize..at as usize + len];
                    let started = self.sent((id, position), at, len);
                    match self
                        .guard(tus::patch(&self.client, &self.token, url, at, chunk))
                        .await?
                    {
                        Ok(state) => {
                            let new_at = state.offset.min(total);
                            self.measured(len, started);
                            self.record(id, position, Some(url.as_str()), new_at, new_at == total)
                                .await?;
                            self.progress(delivery, already_confirmed + new_at);
                            offset = Some(new_at);
                        }
                        Err(TusFailure::OffsetMismatch | TusFailure::Busy) => {
                            // Ask where the station is; after a busy answer, give
                            // the earlier request a moment to finish.
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            offset = None;
                        }
                        Err(TusFailure::FileDiscarded) if checksum_failures < CHECKSUM_RETRIES => {
                            // The whole file did not match and the station discarded it.
                            checksum_failures += 1;
                            self.record(id, position, None, 0, false).await?;
                            upload = None;
                            offset = None;
                        }
                        Err(TusFailure::ChecksumMismatch)
                            if checksum_failures < CHECKSUM_RETRIES =>
                        {
                            checksum_failures += 1;
                        }
                        Err(TusFailure::Gone) => {
                            self.record(id, position, None, 0, false).await?;
                            upload = None;
                            offset = None;
                        }
                        Err(other) => {
                            self.lost_chunk(len, &other);
                            return Err(tus_failure(other));
                        }
                    }
                }
            }
        }
    }

    fn chunk_len(&self, total: u64, offset: u64) -> usize {
        let size = self
            .chunks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next(self.time_left());
        (total - offset).min(size as u64) as usize
    }

    /// Counts a request carrying bytes `[from, from + len)` of a photo and returns
    /// when it started.
    fn sent(&self, photo: (ReportId, u32), from: u64, len: usize) -> Instant {
        self.counters.photo_chunk(photo, from, len as u64);
        Instant::now()
    }

    /// Tells the chunk sizer that the link lost a chunk in flight.
    fn lost_chunk(&self, len: usize, failure: &TusFailure) {
        if matches!(failure, TusFailure::Other(Failure::Transient { .. })) {
            self.chunks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .record_loss(len);
        }
    }

    /// Feeds a finished chunk's timing to the chunk sizer.
    fn measured(&self, sent: usize, started: Instant) {
        self.chunks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .record(sent, started.elapsed());
    }

    async fn record(
        &self,
        id: ReportId,
        position: u32,
        url: Option<&str>,
        offset: u64,
        completed: bool,
    ) -> Result<(), QueueError> {
        let url = url.map(str::to_owned);
        self.db(move |q| q.record_upload(id, position, url.as_deref(), offset, completed))
            .await
    }

    fn progress(&self, delivery: &Delivery, confirmed: u64) {
        self.emit(SyncEvent::UploadProgress {
            id: delivery.id,
            bytes_sent: confirmed,
            bytes_total: delivery.photo_bytes_total(),
        });
    }

    /// Reports a local failure that does not stop the run.
    pub fn local_error(&self, id: Option<ReportId>, e: &QueueError) {
        let kind = match e {
            QueueError::PhotoFile(_) => SyncErrorKind::LocalPhoto,
            _ => SyncErrorKind::Storage,
        };
        self.emit(SyncEvent::Error {
            kind,
            message: e.to_string(),
            report: id,
        });
    }
}

fn tus_failure(f: TusFailure) -> DeliverError {
    match f {
        TusFailure::Other(failure) => DeliverError::Failure(failure),
        TusFailure::Gone => DeliverError::Failure(Failure::Transient {
            reason: "upload vanished at the station".to_owned(),
            retry_after: None,
        }),
        TusFailure::OffsetMismatch => DeliverError::Failure(Failure::Transient {
            reason: "upload offset disagreed with the station".to_owned(),
            retry_after: None,
        }),
        TusFailure::Busy => DeliverError::Failure(Failure::Transient {
            reason: "upload busy at the station".to_owned(),
            retry_after: None,
        }),
        TusFailure::ChecksumMismatch | TusFailure::FileDiscarded => {
            DeliverError::Failure(Failure::Transient {
                reason: "photo chunks kept arriving damaged".to_owned(),
                retry_after: None,
            })
        }
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
