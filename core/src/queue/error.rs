//! The queue's error type: one variant per thing a caller can act on.
//!
//! Messages name fields and report ids but never quote notes or positions, so an
//! error can be shown or logged without leaking personal data.

use std::path::PathBuf;

use super::FollowUpError;
use crate::model::{
    CategoryError, CreatedAtError, GeoError, IllegalTransition, NoteError, ReportId,
};
use crate::photo::{BlobError, PhotoError};
use crate::secrets::{SecretsError, UnlockError};
use crate::store::StoreError;

/// Everything that can go wrong in a queue operation. Nothing already saved is
/// lost when one of these is returned.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// No report with this id on this phone.
    #[error("report {0} does not exist on this device")]
    NotFound(ReportId),
    /// The operation is not allowed in the report's current state.
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// The category code was refused.
    #[error("category: {0}")]
    Category(#[from] CategoryError),
    /// The note was refused.
    #[error("note: {0}")]
    Note(#[from] NoteError),
    /// The position was refused.
    #[error("location: {0}")]
    Location(#[from] GeoError),
    /// The draft's creation time is implausible by the phone's clock at submit
    /// (before 2020, or more than a day ahead): the clock was wrong when the
    /// draft was started, or is wrong now. The station would refuse the report
    /// for good, so it is not sealed; the draft is kept as it was.
    #[error("created_at {0}")]
    CreatedAt(#[from] CreatedAtError),
    /// A field needed to submit is not set yet (`category` or `location`).
    #[error("the report has no {0} yet; set it before submitting")]
    Missing(&'static str),
    /// The report already carries the most photos allowed.
    #[error("a report may carry at most {max} photos")]
    TooManyPhotos {
        /// The limit.
        max: usize,
    },
    /// There is no photo at that position in the report.
    #[error("the report has no photo at position {0}")]
    NoSuchPhoto(u32),
    /// The photo could not be taken in; the draft is unchanged.
    #[error("photo: {0}")]
    Photo(#[from] PhotoError),
    /// A stored photo file is missing or no longer matches its hash.
    #[error("stored photo: {0}")]
    PhotoFile(BlobError),
    /// The device storage is full; nothing was changed.
    #[error("the device storage is full; nothing was changed")]
    StorageFull,
    /// The database comes from a newer app version and was left untouched.
    #[error(
        "the report database has schema version {found}, newer than this app supports ({supported}); update the app — the file was left untouched"
    )]
    DatabaseTooNew {
        /// Version found in the file.
        found: u32,
        /// Highest version this build knows.
        supported: u32,
    },
    /// The database file is damaged; it was renamed aside for recovery, not deleted.
    #[error("the report database is damaged; it was set aside as {set_aside}")]
    DatabaseCorrupt {
        /// Where the damaged file now is.
        set_aside: PathBuf,
    },
    /// Another storage failure.
    #[error("storage: {0}")]
    Storage(StoreError),
    /// A search radius that is negative, not a number, or wider than
    /// [`crate::places::MAX_NEAR_RADIUS_M`].
    #[error("radius_m must be a number of metres from 0 to {max}")]
    Radius {
        /// The widest radius accepted.
        max: f64,
    },
    /// A follow-up was asked of a report that cannot take one, or its fixed
    /// category was changed.
    #[error(transparent)]
    FollowUp(#[from] FollowUpError),
    /// The data key is gone, wrong or its check damaged, or the app's secret
    /// store failed; see [`SecretsError`] for which.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
}

impl From<StoreError> for QueueError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Full => Self::StorageFull,
            StoreError::TooNew { found, supported } => Self::DatabaseTooNew { found, supported },
            StoreError::Corrupt { set_aside, .. } => Self::DatabaseCorrupt { set_aside },
            other => Self::Storage(other),
        }
    }
}

impl From<UnlockError> for QueueError {
    fn from(e: UnlockError) -> Self {
        match e {
            UnlockError::Secrets(e) => e.into(),
            UnlockError::Store(e) => e.into(),
        }
    }
}

impl From<rusqlite::Error> for QueueError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl From<BlobError> for QueueError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::StorageFull => Self::StorageFull,
            other => Self::PhotoFile(other),
        }
    }
}
