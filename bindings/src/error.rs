//! The two error types of the FFI: [`PostError`], which every fallible call
//! returns, and [`ListenerError`], which a foreign listener may return.
//!
//! All mapping from the core's internal errors happens here, in
//! [`PostError::from`] impls, so the foreign API's error contract is readable in
//! one file. Messages come from the core's `Display`, which names fields and
//! report ids but never quotes notes, positions or credentials.

use postcso_core::QueueError;
use postcso_core::sync::EnrolError;

/// Every error a [`crate::PostCore`] call can raise, one variant per thing the app
/// can act on. Flat: the foreign side gets the variant and a readable message.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum PostError {
    /// The core was closed with `close()`; open a new one.
    #[error("the core is closed")]
    Closed,
    /// The id string is not a report id.
    #[error("not a report id: {0}")]
    InvalidId(String),
    /// No report with this id on this device.
    #[error("{0}")]
    NotFound(String),
    /// The operation is not allowed in the report's state (e.g. editing a
    /// submitted report: it is no longer a draft).
    #[error("{0}")]
    NotADraft(String),
    /// The category code was refused.
    #[error("{0}")]
    InvalidCategory(String),
    /// The note was refused (too long, control characters).
    #[error("{0}")]
    InvalidNote(String),
    /// The position was refused: out of range, not finite, (0, 0) or no accuracy.
    #[error("{0}")]
    InvalidLocation(String),
    /// A field needed to submit is not set yet.
    #[error("{0}")]
    MissingField(String),
    /// The report already carries the most photos allowed.
    #[error("{0}")]
    TooManyPhotos(String),
    /// There is no photo at that position.
    #[error("{0}")]
    NoSuchPhoto(String),
    /// The photo could not be taken in (not an image, truncated, too large,
    /// unreadable); the draft is unchanged.
    #[error("{0}")]
    BadPhoto(String),
    /// A stored photo file is missing or damaged on the device.
    #[error("{0}")]
    PhotoFileDamaged(String),
    /// The device storage is full; nothing was changed.
    #[error("{0}")]
    StorageFull(String),
    /// The database is from a newer app version, or damaged and set aside.
    #[error("{0}")]
    DatabaseUnusable(String),
    /// Another local storage failure.
    #[error("{0}")]
    Storage(String),
    /// The station refused the enrolment code (unknown, used or expired).
    #[error("{0}")]
    EnrolmentRefused(String),
    /// The station could not be reached or failed; try again later.
    #[error("{0}")]
    Network(String),
    /// The station no longer accepts this device's credential (revoked): enrol
    /// again. The queue is untouched.
    #[error("the station no longer accepts this device; enrol it again")]
    ReEnrolRequired,
    /// No credential was given yet: enrol first.
    #[error("this device is not enrolled yet")]
    NotEnrolled,
    /// The station URL or configuration is unusable.
    #[error("{0}")]
    InvalidConfig(String),
    // Last: the frozen API adds variants at the end only.
    /// At submit: the draft's creation time is before 2020 or more than a day
    /// ahead of the phone's clock, so the phone's clock was wrong when the draft
    /// was started (or is wrong now). The station would refuse the report, so it
    /// is not queued; the draft is kept. Ask the carrier to check the phone's
    /// date and time.
    #[error("{0}")]
    InvalidCreatedAt(String),
    /// `create_follow_up` of a report that is not queued, sending or sent on
    /// this phone (a draft, withdrawn or refused), or `set_category` on a
    /// follow-up (it keeps its original's category).
    #[error("{0}")]
    InvalidFollowUp(String),
    /// `zones_near` with a radius that is negative, not a number or wider
    /// than 5,000 m.
    #[error("{0}")]
    InvalidRadius(String),
}

impl From<QueueError> for PostError {
    fn from(e: QueueError) -> Self {
        let message = e.to_string();
        match e {
            QueueError::NotFound(_) => Self::NotFound(message),
            QueueError::IllegalTransition(_) => Self::NotADraft(message),
            QueueError::Category(_) => Self::InvalidCategory(message),
            QueueError::Note(_) => Self::InvalidNote(message),
            QueueError::Location(_) => Self::InvalidLocation(message),
            QueueError::CreatedAt(_) => Self::InvalidCreatedAt(message),
            QueueError::Missing(_) => Self::MissingField(message),
            QueueError::TooManyPhotos { .. } => Self::TooManyPhotos(message),
            QueueError::NoSuchPhoto(_) => Self::NoSuchPhoto(message),
            QueueError::Photo(_) => Self::BadPhoto(message),
            QueueError::PhotoFile(_) => Self::PhotoFileDamaged(message),
            QueueError::StorageFull => Self::StorageFull(message),
            QueueError::DatabaseTooNew { .. } | QueueError::DatabaseCorrupt { .. } => {
                Self::DatabaseUnusable(message)
            }
            QueueError::Storage(_) => {
                tracing::error!(error = %message, "local storage failure");
                Self::Storage(message)
            }
            QueueError::FollowUp(_) => Self::InvalidFollowUp(message),
            QueueError::Radius { .. } => Self::InvalidRadius(message),
        }
    }
}

impl From<EnrolError> for PostError {
    fn from(e: EnrolError) -> Self {
        let message = e.to_string();
        match e {
            EnrolError::Refused(_) => Self::EnrolmentRefused(message),
            EnrolError::Unreachable(_) => Self::Network(message),
        }
    }
}

impl From<postcso_core::sync::SyncError> for PostError {
    fn from(e: postcso_core::sync::SyncError) -> Self {
        Self::InvalidConfig(e.to_string())
    }
}

/// What a foreign [`crate::SyncListener`] may return. The engine logs it and goes
/// on: a listener can never break sync.
///
/// Not flat: the foreign side constructs and throws it, so it must cross the
/// boundary in both directions.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ListenerError {
    /// The listener failed to handle the event.
    #[error("the listener failed: {reason}")]
    Failed {
        /// The listener's own explanation, without personal data.
        reason: String,
    },
    /// The foreign code threw an exception the interface does not declare
    /// (UniFFI's `UnexpectedUniFFICallbackError`).
    #[error("the listener threw unexpectedly: {reason}")]
    Unexpected {
        /// What the foreign runtime said.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Unexpected { reason: e.reason }
    }
}

#[cfg(test)]
mod tests {
    use postcso_core::model::{CreatedAtError, GeoError, ReportId};
    use postcso_core::photo::PhotoError;
    use postcso_core::queue::FollowUpError;

    use super::*;

    #[test]
    fn each_queue_error_maps_to_the_variant_the_app_acts_on() {
        let id = ReportId::new();
        assert!(matches!(
            PostError::from(QueueError::NotFound(id)),
            PostError::NotFound(m) if m.contains(&id.to_string())
        ));
        assert!(matches!(
            PostError::from(QueueError::Location(GeoError::OutOfRange { field: "lat" })),
            PostError::InvalidLocation(m) if m.contains("lat")
        ));
        assert!(matches!(
            PostError::from(QueueError::Photo(PhotoError::NotAnImage)),
            PostError::BadPhoto(_)
        ));
        assert!(matches!(
            PostError::from(QueueError::StorageFull),
            PostError::StorageFull(_)
        ));
        assert!(matches!(
            PostError::from(QueueError::Missing("location")),
            PostError::MissingField(_)
        ));
        assert!(matches!(
            PostError::from(QueueError::CreatedAt(CreatedAtError::TooEarly)),
            PostError::InvalidCreatedAt(m) if m.contains("2020") && m.contains("clock")
        ));
        assert!(matches!(
            PostError::from(QueueError::FollowUp(FollowUpError::CategoryFixed)),
            PostError::InvalidFollowUp(_)
        ));
        assert!(matches!(
            PostError::from(QueueError::Radius { max: 5000.0 }),
            PostError::InvalidRadius(m) if m.contains("5000")
        ));
        assert!(matches!(
            PostError::from(EnrolError::Refused("used".into())),
            PostError::EnrolmentRefused(_)
        ));
        assert!(matches!(
            PostError::from(EnrolError::Unreachable("timeout".into())),
            PostError::Network(_)
        ));
    }
}
