//! The carrier's report queue: drafts saved on every change, sealed reports
//! waiting for the network, and their photos on disk.
//!
//! [`ReportQueue`] is `Send + Sync`; Kotlin and Swift call it from their I/O
//! threads. Writes are serialised on one SQLite connection and are durable when
//! they return (see [`crate::store`] for the settings that make that true).

mod delivery;
mod error;
mod follow_up;
mod nearby;
mod observe;
mod places;
mod rows;
mod view;
mod watch;
mod zones;

#[cfg(test)]
mod places_tests;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, FixedOffset, Local, Utc};
use rusqlite::{Transaction, params};

pub(crate) use delivery::{Delivery, PhotoDelivery};
pub use error::QueueError;
pub use follow_up::FollowUpError;
pub use nearby::{NEARBY_RADIUS_M, NEARBY_WINDOW, NearbyReport};
use observe::Observers;
pub use observe::{QueueChange, QueueObserver};
pub use view::{AttachedPhoto, PhotoEntry, QueueStats, Report, ReportSummary, SubmitReceipt};

use crate::model::{
    CREATED_AT_EARLIEST, CategoryCode, CategoryInfo, CategoryList, GeoPoint, GeoPolicy,
    LocationSource, MAX_PHOTOS_DEFAULT, Note, PhotoManifestEntry, ReportContent, ReportEvent,
    ReportId, ReportState, ReviewStatus, content_hash,
};
use crate::photo::{ExifLocation, PhotoInput, PhotoOptions, PhotoStore, process_photo};
use crate::places::LocalZones;
use crate::secrets::{DataKey, SecretStore, Secrets};
use crate::store::{Store, StoreError, StoreOptions};

/// Accuracy given to a position read from a photo's EXIF when the camera did not
/// record one: deliberately worse than the low-accuracy threshold, so the station
/// sees it flagged.
pub const EXIF_DEFAULT_ACCURACY_M: f64 = 100.0;

/// Where the queue lives and how it treats photos and positions.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// The app's private data directory; the queue keeps `queue.db` and `photos/` in it.
    pub data_dir: PathBuf,
    /// Photo processing settings.
    pub photo: PhotoOptions,
    /// Thresholds for position quality flags.
    pub geo: GeoPolicy,
    /// Photos allowed per report.
    pub max_photos: usize,
    /// Database settings; tests use them to simulate a full disk.
    #[doc(hidden)]
    pub store: StoreOptions,
}

impl QueueConfig {
    /// Default settings in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            photo: PhotoOptions::default(),
            geo: GeoPolicy::default(),
            max_photos: MAX_PHOTOS_DEFAULT,
            store: StoreOptions::default(),
        }
    }
}

/// The local report queue.
#[derive(Debug)]
pub struct ReportQueue {
    config: QueueConfig,
    store: Store,
    photos: PhotoStore,
    categories: RwLock<CategoryList>,
    observers: Observers,
    /// The zones indexed for place questions (`places.rs`).
    places: places::ZoneCache,
    /// Which watch areas the carrier is inside (`watch.rs`).
    watch: Mutex<watch::WatchState>,
    /// The app's secret store, shared with the sync engine for the device token.
    secrets: Secrets,
    /// The queue's data key, checked against the database's canary at open.
    #[expect(
        dead_code,
        reason = "the next step of issue 19 encrypts notes, positions and photos with it"
    )]
    key: DataKey,
}

impl ReportQueue {
    /// Opens the queue in `config.data_dir`, creating it on first use, with the
    /// app's secret store (Keystore, Keychain) for its data key.
    ///
    /// The first open makes the data key and writes its canary; later opens
    /// check the key against the canary and fail with [`QueueError::Secrets`]
    /// when it is gone, wrong, or the check is damaged (see
    /// [`crate::secrets::SecretsError`]).
    ///
    /// Reports left in `sending` by a killed process go back to `queued`: the
    /// station is idempotent on the report id, so sending again is safe.
    pub fn open(config: QueueConfig, secrets: Arc<dyn SecretStore>) -> Result<Self, QueueError> {
        std::fs::create_dir_all(&config.data_dir).map_err(StoreError::from)?;
        let store = Store::open(&config.data_dir.join("queue.db"), &config.store)?;
        let secrets = Secrets::new(secrets);
        let key = secrets.unlock(&store)?;
        let photos = PhotoStore::open(&config.data_dir.join("photos"))?;
        let interrupted = store.write(|tx| -> Result<usize, QueueError> {
            Ok(tx.execute(
                "UPDATE reports SET state = 'queued' WHERE state = 'sending'",
                [],
            )?)
        })?;
        if interrupted > 0 {
            tracing::info!(interrupted, "requeued reports interrupted mid-send");
        }
        let categories = store.read(load_categories)?;
        let zones = LocalZones::new(store.read(zones::load_zones)?);
        let watch = store.read(watch::load_watch)?;
        Ok(Self {
            config,
            store,
            photos,
            categories: RwLock::new(categories),
            observers: Observers::default(),
            places: places::ZoneCache::new(zones),
            watch: Mutex::new(watch),
            secrets,
            key,
        })
    }

    /// The app's secret store, where the sync engine keeps the device token.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Starts a new draft, saved at once, and returns its id.
    pub fn create_draft(&self) -> Result<ReportId, QueueError> {
        // The id and the clock are read under the writer's lock, so the
        // listing order (creation millisecond, then id) is the order in which
        // drafts were really created, even across threads.
        let id = self.store.write(|tx| -> Result<ReportId, QueueError> {
            let id = ReportId::new();
            let now = Utc::now();
            let created_at = now.with_timezone(&Local).fixed_offset();
            tx.execute(
                "INSERT INTO reports (id, state, created_at, created_at_ms, updated_at_ms) \
                 VALUES (?1, 'draft', ?2, ?3, ?3)",
                params![
                    id.to_string(),
                    created_at.to_rfc3339(),
                    now.timestamp_millis()
                ],
            )?;
            Ok(id)
        })?;
        self.observers.notify(QueueChange::DraftCreated(id));
        Ok(id)
    }

    /// Sets a draft's category, checked against the station's list. A
    /// follow-up keeps its original's category ([`FollowUpError::CategoryFixed`]).
    pub fn set_category(&self, id: ReportId, code: &str) -> Result<(), QueueError> {
        let code = self.read_categories().validate_for_new_report(code)?;
        self.check_category_editable(id)?;
        self.edit_draft(id, "category = ?2", Some(code.as_str()))?;
        self.observers.notify(QueueChange::DraftSaved(id));
        Ok(())
    }

    /// Sets or clears (blank text) a draft's note.
    pub fn set_note(&self, id: ReportId, text: &str) -> Result<(), QueueError> {
        let note = Note::parse(text)?;
        self.edit_draft(id, "note = ?2", note.as_ref().map(Note::as_str))?;
        self.observers.notify(QueueChange::DraftSaved(id));
        Ok(())
    }

    /// Sets a draft's position.
    pub fn set_location(&self, id: ReportId, location: GeoPoint) -> Result<(), QueueError> {
        self.store.write(|tx| {
            let changed = tx.execute(
                "UPDATE reports SET lat = ?2, lon = ?3, accuracy_m = ?4, altitude_m = ?5, fix_time = ?6, \
                 location_source = ?7, updated_at_ms = ?8 WHERE id = ?1 AND state = 'draft'",
                params![
                    id.to_string(),
                    location.lat(),
                    location.lon(),
                    location.accuracy_m(),
                    location.altitude_m(),
                    location.fix_time().to_rfc3339(),
                    location.source().as_str(),
                    Utc::now().timestamp_millis()
                ],
            )?;
            ensure_edited(tx, id, changed)
        })?;
        self.observers.notify(QueueChange::DraftSaved(id));
        Ok(())
    }

    /// Processes a photo and appends it to a draft.
    ///
    /// The photo is decoded, oriented, downscaled, re-encoded and stripped of all
    /// metadata before it is stored; a photo that fails any step leaves the draft
    /// as it was. Attaching the same photo twice returns the existing entry.
    pub fn attach_photo(
        &self,
        id: ReportId,
        input: PhotoInput<'_>,
    ) -> Result<AttachedPhoto, QueueError> {
        self.check_editable(id)?;
        let processed = process_photo(input, &self.config.photo)?;
        let max = self.config.max_photos;
        let (photo, has_location) =
            self.store
                .write(|tx| -> Result<(PhotoEntry, bool), QueueError> {
                    let report = rows::load_report(tx, id)?.ok_or(QueueError::NotFound(id))?;
                    report.state.apply(ReportEvent::Edit)?;
                    if let Some(existing) =
                        report.photos.iter().find(|p| p.sha256 == processed.sha256)
                    {
                        return Ok((existing.clone(), report.location.is_some()));
                    }
                    if report.photos.len() >= max {
                        return Err(QueueError::TooManyPhotos { max });
                    }
                    // The file is made durable inside the write lock so that orphan
                    // collection, which holds the same lock, can never delete it between
                    // the write and the row that references it.
                    self.photos.put(&processed)?;
                    let entry = PhotoEntry {
                        position: report.photos.len() as u32,
                        sha256: processed.sha256.clone(),
                        size: processed.jpeg.len() as u64,
                        width: processed.width,
                        height: processed.height,
                    };
                    tx.execute(
                "INSERT INTO report_photos (report_id, position, sha256, size, width, height) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id.to_string(),
                    entry.position,
                    entry.sha256,
                    entry.size as i64,
                    entry.width,
                    entry.height
                ],
            )?;
                    touch(tx, id)?;
                    Ok((entry, report.location.is_some()))
                })?;
        let suggested_location = match (&processed.exif_location, has_location) {
            (Some(exif), false) => location_from_exif(exif),
            _ => None,
        };
        self.observers.notify(QueueChange::DraftSaved(id));
        Ok(AttachedPhoto {
            photo,
            suggested_location,
        })
    }

    /// Removes the photo at `position` from a draft; later photos move up.
    pub fn remove_photo(&self, id: ReportId, position: u32) -> Result<(), QueueError> {
        self.store.write(|tx| {
            let report = rows::load_report(tx, id)?.ok_or(QueueError::NotFound(id))?;
            report.state.apply(ReportEvent::Edit)?;
            if position as usize >= report.photos.len() {
                return Err(QueueError::NoSuchPhoto(position));
            }
            let mut photos = report.photos;
            photos.remove(position as usize);
            rows::rewrite_photos(tx, id, &photos)?;
            touch(tx, id)
        })?;
        self.observers.notify(QueueChange::DraftSaved(id));
        Ok(())
    }

    /// Deletes a draft the carrier abandoned. Sealed reports cannot be deleted.
    pub fn delete_draft(&self, id: ReportId) -> Result<(), QueueError> {
        self.store.write(|tx| {
            let changed = tx.execute(
                "DELETE FROM reports WHERE id = ?1 AND state = 'draft'",
                [id.to_string()],
            )?;
            ensure_edited(tx, id, changed)
        })?;
        self.observers.notify(QueueChange::DraftDeleted(id));
        Ok(())
    }

    /// Seals a draft and queues it for sending.
    ///
    /// Returns only once the sealed report is committed with `synchronous = FULL`
    /// (its photos were fsynced when attached and are re-verified here), so the
    /// report survives a kill or power cut from that moment on. A report reopened
    /// by [`ReportQueue::retry_rejected`] is re-validated and re-sealed under its
    /// id, and the station's earlier refusal message is cleared.
    ///
    /// A draft started under a wrong clock (a `created_at` before 2020 or more
    /// than a day ahead, the rule the station applies too) is re-dated to the
    /// submit time when the phone's clock is plausible by then, so it is never
    /// stranded; while the clock itself reads before 2020 the submit is refused
    /// with [`QueueError::CreatedAt`] and the draft is kept as it was.
    ///
    /// The sealed content records where the report is, as this phone sees it
    /// from its zones at submit: the codes of the zones in force holding the
    /// position, the district (the jurisdiction zone among them), and for a
    /// follow-up the original it adds to; the content hash covers them.
    pub fn submit(&self, id: ReportId) -> Result<SubmitReceipt, QueueError> {
        self.submit_at(id, Utc::now())
    }

    /// [`ReportQueue::submit`] with the phone's clock reading `now`.
    pub(crate) fn submit_at(
        &self,
        id: ReportId,
        now: DateTime<Utc>,
    ) -> Result<SubmitReceipt, QueueError> {
        let categories = self.read_categories().clone();
        let places = self.local_zones()?;
        let receipt = self.store.write(|tx| {
            let draft = rows::load_report(tx, id)?.ok_or(QueueError::NotFound(id))?;
            draft.state.apply(ReportEvent::Submit)?;
            let category = draft
                .category
                .as_deref()
                .ok_or(QueueError::Missing("category"))?;
            let category = categories.validate_for_new_report(category)?;
            let location = draft.location.ok_or(QueueError::Missing("location"))?;
            let created_at = plausible_created_at(tx, id, draft.created_at, now)?;
            if draft.photos.len() > self.config.max_photos {
                return Err(QueueError::TooManyPhotos {
                    max: self.config.max_photos,
                });
            }
            let mut manifest = Vec::with_capacity(draft.photos.len());
            for photo in &draft.photos {
                let size = self.photos.verify(&photo.sha256)?;
                manifest.push(PhotoManifestEntry {
                    sha256: photo.sha256.clone(),
                    size,
                    content_type: "image/jpeg".to_owned(),
                });
            }
            let note = draft
                .note
                .as_deref()
                .map(Note::parse)
                .transpose()?
                .flatten();
            let (zones, district) = places.seal_codes(location.lat(), location.lon(), now);
            let content = ReportContent {
                id,
                category,
                note,
                location,
                created_at,
                photos: manifest,
                zones,
                district,
                follow_up_of: draft.follow_up_of,
            };
            let json = content.canonical_json();
            let hash = content_hash(&content);
            let flags = location.flags(now, &self.config.geo);
            tx.execute(
                "UPDATE reports SET content_json = ?2, content_hash = ?3, flag_low_accuracy = ?4, \
                 flag_stale = ?5, queued_at_ms = ?6, updated_at_ms = ?6, server_message = NULL \
                 WHERE id = ?1 AND state = 'draft'",
                params![
                    id.to_string(),
                    json,
                    hash,
                    flags.low_accuracy,
                    flags.stale,
                    now.timestamp_millis()
                ],
            )?;
            set_state(tx, id, ReportState::Queued)?;
            Ok(SubmitReceipt {
                content_hash: hash,
                flags,
            })
        })?;
        self.observers.notify(QueueChange::Queued(id));
        Ok(receipt)
    }

    /// Takes back a queued report that has not started sending.
    pub fn withdraw(&self, id: ReportId) -> Result<(), QueueError> {
        self.transition(id, ReportEvent::Withdraw)?;
        self.observers.notify(QueueChange::Withdrawn(id));
        Ok(())
    }

    /// Registers an observer of the app's changes (the sync engine does, to start
    /// a sync when a report is submitted).
    pub fn observe(&self, observer: std::sync::Weak<dyn QueueObserver>) {
        self.observers.add(observer);
    }

    /// One report with its photos.
    pub fn get(&self, id: ReportId) -> Result<Report, QueueError> {
        self.store
            .read(|tx| rows::load_report(tx, id))?
            .ok_or(QueueError::NotFound(id))
    }

    /// Every report, oldest first.
    pub fn list(&self) -> Result<Vec<ReportSummary>, QueueError> {
        self.store.read(|tx| rows::list(tx))
    }

    /// Report counts per state.
    pub fn stats(&self) -> Result<QueueStats, QueueError> {
        self.store.read(|tx| {
            let mut stmt =
                tx.prepare_cached("SELECT state, count(*) FROM reports GROUP BY state")?;
            let mut stats = QueueStats::default();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let state: String = row.get(0)?;
                let n = row.get::<_, i64>(1)?.max(0) as u64;
                match ReportState::parse(&state) {
                    Some(ReportState::Draft) => stats.drafts = n,
                    Some(ReportState::Queued) => stats.queued = n,
                    Some(ReportState::Sending) => stats.sending = n,
                    Some(ReportState::Sent) => stats.sent = n,
                    Some(ReportState::Withdrawn) => stats.withdrawn = n,
                    Some(ReportState::RejectedByServer) => stats.rejected_by_server = n,
                    None => {}
                }
            }
            Ok(stats)
        })
    }

    /// Checks every photo file of a report against its hash.
    pub fn verify_photos(&self, id: ReportId) -> Result<(), QueueError> {
        for photo in self.get(id)?.photos {
            self.photos.verify(&photo.sha256)?;
        }
        Ok(())
    }

    /// Where a stored photo's file is, for the app to display it.
    pub fn photo_path(&self, sha256: &str) -> PathBuf {
        self.photos.path_of(sha256)
    }

    /// Deletes photo files no report refers to (from removed photos and deleted
    /// drafts). Returns how many were deleted.
    pub fn collect_orphan_photos(&self) -> Result<usize, QueueError> {
        self.store.write(|tx| {
            let mut stmt = tx.prepare("SELECT DISTINCT sha256 FROM report_photos")?;
            let live: HashSet<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(self.photos.collect_orphans(&live)?)
        })
    }

    /// The category list new reports are checked against.
    pub fn categories(&self) -> CategoryList {
        self.read_categories().clone()
    }

    /// Replaces the category list with the station's, durably, so the phone
    /// validates offline against what the station accepts.
    pub fn replace_categories(&self, list: CategoryList) -> Result<(), QueueError> {
        self.store.write(|tx| -> Result<(), QueueError> {
            tx.execute("DELETE FROM categories", [])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO categories (position, code, name_ko, name_en, guidance, retired) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (i, c) in list.entries().iter().enumerate() {
                insert.execute(params![
                    i as i64,
                    c.code.as_str(),
                    c.name_ko,
                    c.name_en,
                    c.guidance,
                    c.retired
                ])?;
            }
            Ok(())
        })?;
        *self
            .categories
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = list;
        Ok(())
    }

    /// Moves a report through the lifecycle. Used by the sync engine.
    pub(crate) fn transition(
        &self,
        id: ReportId,
        event: ReportEvent,
    ) -> Result<ReportState, QueueError> {
        self.store.write(|tx| {
            let from = rows::load_state(tx, id)?.ok_or(QueueError::NotFound(id))?;
            let to = from.apply(event)?;
            set_state(tx, id, to)?;
            Ok(to)
        })
    }

    /// Records the station's final refusal with its message. Used by the sync engine.
    ///
    /// One transaction: a refused report never shows without the station's reason
    /// (the carrier needs it to correct the report), and a failed write leaves the
    /// report as it was, in `sending`, to go again after the next open.
    pub(crate) fn mark_rejected(&self, id: ReportId, message: &str) -> Result<(), QueueError> {
        self.store.write(|tx| -> Result<(), QueueError> {
            let from = rows::load_state(tx, id)?.ok_or(QueueError::NotFound(id))?;
            let to = from.apply(ReportEvent::Rejected)?;
            set_state(tx, id, to)?;
            tx.execute(
                "UPDATE reports SET server_message = ?2 WHERE id = ?1",
                params![id.to_string(), message],
            )?;
            Ok(())
        })
    }

    /// Records a review status from the station's changes feed. Used by the sync engine.
    /// `reason` is the station's explanation (required for a rejection); it is
    /// kept in the report's server message for the carrier to read.
    pub(crate) fn set_review_status(
        &self,
        id: ReportId,
        status: &ReviewStatus,
        reason: Option<&str>,
    ) -> Result<(), QueueError> {
        self.store.write(|tx| {
            let from = rows::load_state(tx, id)?.ok_or(QueueError::NotFound(id))?;
            from.apply(ReportEvent::ReviewUpdate)?;
            tx.execute(
                "UPDATE reports SET review_status = ?2, server_message = ?3 WHERE id = ?1",
                params![id.to_string(), status.as_str(), reason],
            )?;
            Ok(())
        })
    }

    /// The exact content sealed at submit; the lifecycle tests check the seal
    /// survives an interrupted send. (The sync engine reads it with its delivery.)
    #[cfg(test)]
    pub(crate) fn sealed_content(&self, id: ReportId) -> Result<ReportContent, QueueError> {
        use crate::model::IllegalTransition;
        use rusqlite::OptionalExtension;

        let json: Option<Option<String>> = self.store.read(|tx| -> Result<_, QueueError> {
            Ok(tx
                .query_row(
                    "SELECT content_json FROM reports WHERE id = ?1",
                    [id.to_string()],
                    |r| r.get(0),
                )
                .optional()?)
        })?;
        let json = json.ok_or(QueueError::NotFound(id))?;
        let json = json.ok_or(QueueError::IllegalTransition(IllegalTransition {
            from: ReportState::Draft,
            event: ReportEvent::StartSending,
        }))?;
        serde_json::from_str(&json)
            .map_err(|_| QueueError::Storage(StoreError::SealedContentUnreadable(id)))
    }

    fn read_categories(&self) -> std::sync::RwLockReadGuard<'_, CategoryList> {
        self.categories
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn edit_draft(
        &self,
        id: ReportId,
        assignment: &str,
        value: Option<&str>,
    ) -> Result<(), QueueError> {
        let sql = format!(
            "UPDATE reports SET {assignment}, updated_at_ms = ?3 WHERE id = ?1 AND state = 'draft'"
        );
        self.store.write(|tx| {
            let changed = tx.execute(
                &sql,
                params![id.to_string(), value, Utc::now().timestamp_millis()],
            )?;
            ensure_edited(tx, id, changed)
        })
    }

    /// Refuses early, before the expensive photo processing, when the report is no
    /// longer a draft. A full draft is not refused here: the photo may be one it
    /// already holds, which only its processed hash can tell, and that is no error.
    fn check_editable(&self, id: ReportId) -> Result<(), QueueError> {
        self.get(id)?.state.apply(ReportEvent::Edit)?;
        Ok(())
    }
}

/// Turns "no row changed" into the right error: the report is missing, or sealed.
fn ensure_edited(tx: &Transaction<'_>, id: ReportId, changed: usize) -> Result<(), QueueError> {
    if changed > 0 {
        return Ok(());
    }
    match rows::load_state(tx, id)? {
        None => Err(QueueError::NotFound(id)),
        Some(from) => Err(from
            .apply(ReportEvent::Edit)
            .err()
            .map_or(QueueError::NotFound(id), Into::into)),
    }
}

fn touch(tx: &Transaction<'_>, id: ReportId) -> Result<(), QueueError> {
    tx.execute(
        "UPDATE reports SET updated_at_ms = ?2 WHERE id = ?1",
        params![id.to_string(), Utc::now().timestamp_millis()],
    )?;
    Ok(())
}

/// The `created_at` to seal: the draft's own when it passes the rule the station
/// applies too (`check_created_at`). A draft started under a wrong clock is
/// re-dated to `now` when `now` itself is plausible, since the clock that
/// stamped it gave no information and refusing would strand the draft for good;
/// while the clock still reads before 2020 the submit is refused instead. The
/// draft's offset is kept (the phone's zone, not its clock, was right).
fn plausible_created_at(
    tx: &Transaction<'_>,
    id: ReportId,
    created_at: DateTime<FixedOffset>,
    now: DateTime<Utc>,
) -> Result<DateTime<FixedOffset>, QueueError> {
    let Err(wrong) = crate::model::check_created_at(&created_at, now) else {
        return Ok(created_at);
    };
    if now < CREATED_AT_EARLIEST {
        return Err(wrong.into());
    }
    let redated = now.with_timezone(created_at.offset());
    tx.execute(
        "UPDATE reports SET created_at = ?2, created_at_ms = ?3 WHERE id = ?1 AND state = 'draft'",
        params![
            id.to_string(),
            redated.to_rfc3339(),
            redated.timestamp_millis()
        ],
    )?;
    // No time in the log: only that the draft's stamp was not usable, and why.
    tracing::warn!(report_id = %id, reason = %wrong, "re-dated a draft started under a wrong clock");
    Ok(redated)
}

fn set_state(tx: &Transaction<'_>, id: ReportId, state: ReportState) -> Result<(), QueueError> {
    tx.execute(
        "UPDATE reports SET state = ?2, updated_at_ms = ?3 WHERE id = ?1",
        params![
            id.to_string(),
            state.as_str(),
            Utc::now().timestamp_millis()
        ],
    )?;
    Ok(())
}

fn load_categories(tx: &Transaction<'_>) -> Result<CategoryList, QueueError> {
    let mut stmt = tx.prepare(
        "SELECT code, name_ko, name_en, guidance, retired FROM categories ORDER BY position",
    )?;
    let entries = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })?
        .collect::<Result<Vec<(String, String, String, String, bool)>, _>>()?;
    if entries.is_empty() {
        return Ok(CategoryList::default());
    }
    let entries = entries
        .into_iter()
        .filter_map(|(code, name_ko, name_en, guidance, retired)| {
            Some(CategoryInfo {
                code: CategoryCode::parse(&code).ok()?,
                name_ko,
                name_en,
                guidance,
                retired,
            })
        })
        .collect();
    Ok(CategoryList::new(entries))
}

/// Turns a camera's EXIF position into an offer, if it is a valid position.
fn location_from_exif(exif: &ExifLocation) -> Option<GeoPoint> {
    let fix_time: DateTime<Utc> = exif.fix_time.unwrap_or_else(Utc::now);
    GeoPoint::new(
        exif.lat,
        exif.lon,
        Some(exif.accuracy_m.unwrap_or(EXIF_DEFAULT_ACCURACY_M)),
        exif.altitude_m,
        fix_time,
        LocationSource::Exif,
    )
    .ok()
}
