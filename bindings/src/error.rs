//! The two error types of the FFI: [`PostError`], which every fallible call
//! returns, and [`ListenerError`], which a foreign listener may return.
//!
//! All mapping from the core's internal errors happens here, in
//! [`PostError::from`] impls, so the foreign API's error contract is readable in
//! one file. Messages come from the core's `Display`, which names fields and
//! report ids but never quotes notes, positions or credentials.

use postcso_core::QueueError;
use postcso_core::secrets::{SecretStoreError, SecretsError};
use postcso_core::sync::{EnrolError, SyncError};

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
    /// At open: the `SecretStore` has no data key, but the queue was written with
    /// one. What it protected cannot be read, by design (a restore without the
    /// Keystore or Keychain, a platform that dropped the key): remove the data
    /// directory, open again and enrol again. Nothing was changed.
    #[error("{0}")]
    DataKeyLost(String),
    /// At open: the `SecretStore` holds a different data key than the one the
    /// queue was written with (another install's store). Nothing was changed.
    #[error("{0}")]
    DataKeyWrong(String),
    /// At open: the queue's key check is damaged, so the key cannot be judged.
    /// Nothing was changed; the file is kept for support.
    #[error("{0}")]
    DataDamaged(String),
    /// The `SecretStore` is not available now (e.g. the Keychain before the first
    /// unlock after a reboot): try again later. Nothing was changed.
    #[error("{0}")]
    SecretsUnavailable(String),
    /// The `SecretStore` failed or threw an undeclared exception. Nothing was
    /// changed, except that a device enrolled by `enrol` keeps its credential
    /// for this session.
    #[error("{0}")]
    SecretStoreFailed(String),
}

impl From<SecretStoreError> for PostError {
    fn from(e: SecretStoreError) -> Self {
        let message = e.to_string();
        match e {
            SecretStoreError::Unavailable(_) => Self::SecretsUnavailable(message),
            SecretStoreError::Failed(_) => Self::SecretStoreFailed(message),
        }
    }
}

impl From<SecretsError> for PostError {
    fn from(e: SecretsError) -> Self {
        let message = e.to_string();
        match e {
            SecretsError::KeyLost => Self::DataKeyLost(message),
            SecretsError::KeyWrong => Self::DataKeyWrong(message),
            SecretsError::KeyCheckDamaged(_) => Self::DataDamaged(message),
            SecretsError::Store(e) => e.into(),
            SecretsError::Random(_) => {
                tracing::error!(error = %message, "no randomness for the data key");
                Self::Storage(message)
            }
        }
    }
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
            QueueError::Secrets(e) => e.into(),
        }
    }
}

impl From<EnrolError> for PostError {
    fn from(e: EnrolError) -> Self {
        let message = e.to_string();
        match e {
            EnrolError::Refused(_) => Self::EnrolmentRefused(message),
            EnrolError::Unreachable(_) => Self::Network(message),
            EnrolError::NotSaved(_, e) => match Self::from(e) {
                Self::SecretsUnavailable(_) => Self::SecretsUnavailable(message),
                _ => Self::SecretStoreFailed(message),
            },
        }
    }
}

impl From<SyncError> for PostError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Secrets(e) => e.into(),
            other => Self::InvalidConfig(other.to_string()),
        }
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

    #[test]
    fn each_secrets_error_maps_to_its_own_variant() {
        assert!(matches!(
            PostError::from(QueueError::Secrets(SecretsError::KeyLost)),
            PostError::DataKeyLost(m) if m.contains("enrol again")
        ));
        assert!(matches!(
            PostError::from(QueueError::Secrets(SecretsError::KeyWrong)),
            PostError::DataKeyWrong(_)
        ));
        assert!(matches!(
            PostError::from(QueueError::Secrets(SecretsError::KeyCheckDamaged("x"))),
            PostError::DataDamaged(m) if m.contains("damaged")
        ));
        assert!(matches!(
            PostError::from(QueueError::Secrets(SecretsError::Store(
                SecretStoreError::Unavailable("locked".into())
            ))),
            PostError::SecretsUnavailable(m) if m.contains("locked")
        ));
        assert!(matches!(
            PostError::from(SyncError::Secrets(SecretStoreError::Failed("threw".into()))),
            PostError::SecretStoreFailed(m) if m.contains("threw")
        ));
    }
}
