//! Follow-ups: more photos or a note for a report already sealed. A sealed
//! report cannot change (its content hash is what the station deduplicates
//! on), so the carrier's addition is a report of its own that names the
//! original in `follow_up_of`, and travels through the same queue and sync:
//! delivered exactly once, under its own id.

use chrono::{Local, Utc};
use rusqlite::{OptionalExtension, Transaction, params};

use super::observe::QueueChange;
use super::{QueueError, ReportQueue, rows};
use crate::model::{ReportId, ReportState};

/// Why a follow-up could not be made or edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowUpError {
    /// Only a report the station has or will get (queued, sending or sent) can
    /// be followed up: a draft is still editable itself, and a withdrawn or
    /// refused report never reached the station to be added to.
    #[error("report {id} is {}: only a queued or sent report can be followed up", .state.as_str())]
    ParentNotSealed {
        /// The report asked for.
        id: ReportId,
        /// Its state.
        state: ReportState,
    },
    /// A follow-up is about the same problem as its original, so it keeps the
    /// original's category.
    #[error("a follow-up keeps the category of the report it adds to")]
    CategoryFixed,
}

impl ReportQueue {
    /// Starts a follow-up of `parent`: a new draft with the parent's category
    /// and position, whose sealed content will say `follow_up_of = parent`.
    /// Add photos or a note and `submit` it like any draft; its position may
    /// be changed with `set_location` (a better fix of the same place), its
    /// category may not. A follow-up of a follow-up points at the original.
    /// The copied position keeps the parent's fix time, so it is sealed with
    /// the `stale` flag unless the carrier sets a fresh fix: the flag tells
    /// the station the position was not taken for this report.
    ///
    /// Refused with `NotFound` when the parent is not on this phone, and with
    /// [`FollowUpError::ParentNotSealed`] unless it is queued, sending or sent.
    pub fn create_follow_up(&self, parent: ReportId) -> Result<ReportId, QueueError> {
        let id = self.store.write(|tx| -> Result<ReportId, QueueError> {
            let state = rows::load_state(tx, parent)?.ok_or(QueueError::NotFound(parent))?;
            if !matches!(
                state,
                ReportState::Queued | ReportState::Sending | ReportState::Sent
            ) {
                return Err(FollowUpError::ParentNotSealed { id: parent, state }.into());
            }
            let original = follow_up_of(tx, parent)?.unwrap_or(parent);
            let id = ReportId::new();
            let now = Utc::now();
            let created_at = now.with_timezone(&Local).fixed_offset();
            tx.execute(
                "INSERT INTO reports (id, state, category, lat, lon, accuracy_m, altitude_m, fix_time, \
                 location_source, created_at, created_at_ms, updated_at_ms, follow_up_of) \
                 SELECT ?1, 'draft', category, lat, lon, accuracy_m, altitude_m, fix_time, \
                 location_source, ?2, ?3, ?3, ?4 FROM reports WHERE id = ?5",
                params![
                    id.to_string(),
                    created_at.to_rfc3339(),
                    now.timestamp_millis(),
                    original.to_string(),
                    parent.to_string()
                ],
            )?;
            Ok(id)
        })?;
        tracing::info!(report_id = %id, follow_up_of = %parent, "follow-up draft started");
        self.observers.notify(QueueChange::DraftCreated(id));
        Ok(id)
    }

    /// Refuses to change what a follow-up inherits from its original.
    pub(super) fn check_category_editable(&self, id: ReportId) -> Result<(), QueueError> {
        match self.store.read(|tx| follow_up_of(tx, id))? {
            Some(_) => Err(FollowUpError::CategoryFixed.into()),
            None => Ok(()),
        }
    }
}

/// The report `id` follows up, if it is a follow-up.
pub(super) fn follow_up_of(
    tx: &Transaction<'_>,
    id: ReportId,
) -> Result<Option<ReportId>, QueueError> {
    let text: Option<Option<String>> = tx
        .query_row(
            "SELECT follow_up_of FROM reports WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(text.flatten().and_then(|t| ReportId::parse(&t).ok()))
}
