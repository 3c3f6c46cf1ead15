//! Delivery progress: what the sync engine has already got the station to store,
//! persisted with each step so that an interrupted sync resumes, never restarts.
//!
//! These are the queue's hooks for [`crate::sync`]; the app does not call them.

use rusqlite::{OptionalExtension, params};

use super::{QueueError, ReportQueue, rows, set_state};
use crate::model::{ReportEvent, ReportId, ReportState};

/// A sealed report as the sync engine delivers it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Delivery {
    /// The report.
    pub id: ReportId,
    /// The canonical JSON sealed at submit: the exact `PUT` body.
    pub content_json: String,
    /// Whether the station already stored the metadata.
    pub metadata_acked: bool,
    /// Each photo with its upload progress, in order.
    pub photos: Vec<PhotoDelivery>,
}

/// Upload progress of one photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PhotoDelivery {
    /// Position in the report.
    pub position: u32,
    /// SHA-256 of the photo file.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The tus upload resource, once the station made one.
    pub upload_url: Option<String>,
    /// The last offset the station confirmed.
    pub confirmed_offset: u64,
    /// The station has every byte and the hash matched.
    pub completed: bool,
}

impl Delivery {
    /// Bytes still to upload, for progress events.
    pub fn photo_bytes_total(&self) -> u64 {
        self.photos.iter().map(|p| p.size).sum()
    }

    /// Bytes the station already confirmed.
    pub fn photo_bytes_confirmed(&self) -> u64 {
        self.photos
            .iter()
            .map(|p| {
                if p.completed {
                    p.size
                } else {
                    p.confirmed_offset
                }
            })
            .sum()
    }
}

impl ReportQueue {
    /// Queued reports, oldest first: the order they must reach the station in.
    pub(crate) fn queued_in_order(&self) -> Result<Vec<ReportId>, QueueError> {
        self.store.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT id FROM reports WHERE state = 'queued' ORDER BY created_at_ms, id",
            )?;
            let ids = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ids.iter().filter_map(|s| ReportId::parse(s).ok()).collect())
        })
    }

    /// Moves a queued report to `sending` and counts the attempt.
    pub(crate) fn begin_delivery(&self, id: ReportId) -> Result<Delivery, QueueError> {
        self.store.write(|tx| {
            let from = rows::load_state(tx, id)?.ok_or(QueueError::NotFound(id))?;
            let to = from.apply(ReportEvent::StartSending)?;
            set_state(tx, id, to)?;
            tx.execute(
                "INSERT INTO deliveries (report_id, attempts) VALUES (?1, 1) \
                 ON CONFLICT (report_id) DO UPDATE SET attempts = attempts + 1",
                [id.to_string()],
            )?;
            load_delivery(tx, id)
        })
    }

    /// Whether the station already stored this report's metadata, so that a run
    /// holding photos back can leave the report alone.
    pub(crate) fn metadata_acked(&self, id: ReportId) -> Result<bool, QueueError> {
        self.store.read(|tx| delivery_acked(tx, id))
    }

    /// Records that the station stored the metadata.
    pub(crate) fn record_metadata_acked(&self, id: ReportId) -> Result<(), QueueError> {
        self.store.write(|tx| {
            tx.execute(
                "UPDATE deliveries SET metadata_acked = 1, last_error = NULL WHERE report_id = ?1",
                [id.to_string()],
            )?;
            Ok(())
        })
    }

    /// Records a photo's upload resource and the offset the station confirmed.
    pub(crate) fn record_upload(
        &self,
        id: ReportId,
        position: u32,
        upload_url: Option<&str>,
        confirmed_offset: u64,
        completed: bool,
    ) -> Result<(), QueueError> {
        self.store.write(|tx| {
            tx.execute(
                "INSERT INTO photo_uploads (report_id, position, upload_url, confirmed_offset, completed) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (report_id, position) DO UPDATE SET upload_url = ?3, \
                 confirmed_offset = ?4, completed = ?5",
                params![id.to_string(), position, upload_url, confirmed_offset as i64, completed],
            )?;
            Ok(())
        })
    }

    /// Ends an attempt: `sent` when everything arrived, otherwise back to `queued`
    /// with the reason, keeping every bit of progress.
    pub(crate) fn end_delivery(
        &self,
        id: ReportId,
        outcome: Result<(), &str>,
    ) -> Result<ReportState, QueueError> {
        self.store.write(|tx| {
            let from = rows::load_state(tx, id)?.ok_or(QueueError::NotFound(id))?;
            let (event, reason) = match outcome {
                Ok(()) => (ReportEvent::Acknowledged, None),
                Err(reason) => (ReportEvent::SendFailed, Some(reason)),
            };
            let to = from.apply(event)?;
            set_state(tx, id, to)?;
            tx.execute(
                "UPDATE deliveries SET last_error = ?2 WHERE report_id = ?1",
                params![id.to_string(), reason],
            )?;
            Ok(to)
        })
    }

    /// Takes back a report the station refused for good (`rejected_by_server`) so
    /// the carrier can correct it and send it again under the same id, which stays
    /// the idempotency key. Returns the state the report is now in:
    ///
    /// - [`ReportState::Draft`] when the station never stored the report (it
    ///   refused the metadata, e.g. a retired category): the seal is broken, the
    ///   report is editable again with the station's message kept for the carrier
    ///   to read, and `submit` re-validates and re-seals it. The station keeps
    ///   nothing of a refused `PUT`, so the corrected content is new to it.
    /// - [`ReportState::Queued`] when the station already stored the metadata and
    ///   refused a photo: under this id its content is fixed at the station (other
    ///   content would be a conflict), so the report goes again as sealed, as the
    ///   lifecycle's `Retry` says, e.g. after the station fixed its configuration.
    ///
    /// Any other state is an [`QueueError::IllegalTransition`], decided by the
    /// lifecycle's `Retry` and `Reopen` rules.
    pub fn retry_rejected(&self, id: ReportId) -> Result<ReportState, QueueError> {
        let to = self.store.write(|tx| -> Result<ReportState, QueueError> {
            let from = rows::load_state(tx, id)?.ok_or(QueueError::NotFound(id))?;
            if delivery_acked(tx, id)? {
                let to = from.apply(ReportEvent::Retry)?;
                set_state(tx, id, to)?;
                return Ok(to);
            }
            let to = from.apply(ReportEvent::Reopen)?;
            reopen(tx, id, to)?;
            Ok(to)
        })?;
        self.observers.notify(match to {
            ReportState::Draft => super::QueueChange::Reopened(id),
            _ => super::QueueChange::Queued(id),
        });
        Ok(to)
    }

    /// Reads a value of the sync engine's persisted state.
    pub(crate) fn sync_value(&self, key: &str) -> Result<Option<String>, QueueError> {
        self.store.read(|tx| -> Result<_, QueueError> {
            Ok(tx
                .query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?)
        })
    }

    /// Writes (or, with `None`, clears) a value of the sync engine's persisted state.
    pub(crate) fn set_sync_value(&self, key: &str, value: Option<&str>) -> Result<(), QueueError> {
        self.set_sync_values(&[(key, value)])
    }

    /// Writes (or clears) several values of the sync engine's state in one
    /// transaction, for values that only make sense together (a backoff's failure
    /// count and its time).
    pub(crate) fn set_sync_values(
        &self,
        values: &[(&str, Option<&str>)],
    ) -> Result<(), QueueError> {
        self.store.write(|tx| {
            for (key, value) in values {
                match value {
                    Some(v) => tx.execute(
                        "INSERT INTO sync_state (key, value) VALUES (?1, ?2) \
                         ON CONFLICT (key) DO UPDATE SET value = ?2",
                        params![key, v],
                    )?,
                    None => tx.execute("DELETE FROM sync_state WHERE key = ?1", [key])?,
                };
            }
            Ok(())
        })
    }

    /// Reads a stored photo's bytes, checking them against their hash first.
    pub(crate) fn photo_bytes(&self, sha256: &str) -> Result<Vec<u8>, QueueError> {
        Ok(self.photos.read_verified(sha256)?)
    }
}

/// Whether the station already stored this report's metadata.
fn delivery_acked(conn: &rusqlite::Connection, id: ReportId) -> Result<bool, QueueError> {
    Ok(conn
        .query_row(
            "SELECT metadata_acked FROM deliveries WHERE report_id = ?1",
            [id.to_string()],
            |r| r.get::<_, bool>(0),
        )
        .optional()?
        .unwrap_or(false))
}

/// Turns a refused report the station never stored back into a draft: the seal
/// and what was computed with it go, and so does the delivery progress, which
/// belonged to the old content (a photo removed while it is a draft must not
/// inherit another photo's upload by position). The station's message stays for
/// the carrier to read until the report is submitted again.
fn reopen(
    conn: &rusqlite::Transaction<'_>,
    id: ReportId,
    draft: ReportState,
) -> Result<(), QueueError> {
    let key = id.to_string();
    // The state first: the database refuses changes to sealed content.
    set_state(conn, id, draft)?;
    conn.execute(
        "UPDATE reports SET content_json = NULL, content_hash = NULL, flag_low_accuracy = 0, \
         flag_stale = 0, queued_at_ms = NULL WHERE id = ?1",
        [&key],
    )?;
    conn.execute("DELETE FROM photo_uploads WHERE report_id = ?1", [&key])?;
    conn.execute("DELETE FROM deliveries WHERE report_id = ?1", [&key])?;
    Ok(())
}

fn load_delivery(conn: &rusqlite::Connection, id: ReportId) -> Result<Delivery, QueueError> {
    let key = id.to_string();
    let (content_json, metadata_acked): (Option<String>, Option<bool>) = conn.query_row(
        "SELECT r.content_json, d.metadata_acked FROM reports r \
         LEFT JOIN deliveries d ON d.report_id = r.id WHERE r.id = ?1",
        [&key],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let content_json = content_json.ok_or(QueueError::IllegalTransition(
        crate::model::IllegalTransition {
            from: ReportState::Draft,
            event: ReportEvent::StartSending,
        },
    ))?;
    let mut stmt = conn.prepare_cached(
        "SELECT p.position, p.sha256, p.size, u.upload_url, u.confirmed_offset, u.completed \
         FROM report_photos p LEFT JOIN photo_uploads u \
           ON u.report_id = p.report_id AND u.position = p.position \
         WHERE p.report_id = ?1 ORDER BY p.position",
    )?;
    let photos = stmt
        .query_map([&key], |r| {
            Ok(PhotoDelivery {
                position: r.get(0)?,
                sha256: r.get(1)?,
                size: r.get::<_, i64>(2)?.max(0) as u64,
                upload_url: r.get(3)?,
                confirmed_offset: r.get::<_, Option<i64>>(4)?.unwrap_or(0).max(0) as u64,
                completed: r.get::<_, Option<bool>>(5)?.unwrap_or(false),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Delivery {
        id,
        content_json,
        metadata_acked: metadata_acked.unwrap_or(false),
        photos,
    })
}
