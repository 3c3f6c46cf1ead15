//! What intake refuses, field by field, and why.

use postcso_model::{CategoryError, CreatedAtError};

use crate::repo::RepoError;

/// One rule one field of a delivered report breaks.
///
/// Typed, so callers and tests can tell the rules apart; [`Violation::pointer`]
/// says where in the request body the field is, and `Display` says what is wrong
/// with it, without quoting the field's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// The body's `id` is not the id in the path.
    #[error("the id in the body must equal the id in the path")]
    IdMismatch,
    /// The manifest lists more photos than the station takes.
    #[error("a report may carry at most {max} photos, not {found}")]
    TooManyPhotos {
        /// The station's limit.
        max: usize,
        /// How many the manifest lists.
        found: usize,
    },
    /// A photo's `sha256` is not 64 lowercase hex digits.
    #[error("must be a SHA-256 as 64 lowercase hex digits")]
    PhotoHashMalformed {
        /// Position in the manifest, from 0.
        index: usize,
    },
    /// A photo's `sha256` repeats an earlier entry's.
    #[error("the same photo is listed twice")]
    PhotoListedTwice {
        /// Position of the repeat in the manifest, from 0.
        index: usize,
    },
    /// A photo's `size` is zero or over the station's limit.
    #[error("must be between 1 and {max} bytes")]
    PhotoSize {
        /// Position in the manifest, from 0.
        index: usize,
        /// The station's limit in bytes.
        max: u64,
    },
    /// A photo's `content_type` is not `image/jpeg`.
    #[error("photos are sent as image/jpeg")]
    PhotoContentType {
        /// Position in the manifest, from 0.
        index: usize,
    },
    /// The category is unknown to the station, or retired.
    #[error("{0}")]
    Category(CategoryError),
    /// `created_at` is implausible by the station's clock: the phone's clock
    /// was wrong (see [`postcso_model::check_created_at`]).
    #[error("{0}")]
    CreatedAt(CreatedAtError),
}

impl Violation {
    /// JSON Pointer (RFC 6901) to the field in the request body.
    pub fn pointer(&self) -> String {
        match self {
            Self::IdMismatch => "/id".to_owned(),
            Self::TooManyPhotos { .. } => "/photos".to_owned(),
            Self::PhotoHashMalformed { index } | Self::PhotoListedTwice { index } => {
                format!("/photos/{index}/sha256")
            }
            Self::PhotoSize { index, .. } => format!("/photos/{index}/size"),
            Self::PhotoContentType { index } => format!("/photos/{index}/content_type"),
            Self::Category(_) => "/category".to_owned(),
            Self::CreatedAt(_) => "/created_at".to_owned(),
        }
    }
}

/// Why a delivered report was not stored; the HTTP layer maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Fields break intake rules (422); never empty, in body order.
    #[error("the report breaks intake rules at {}", pointers(.0))]
    Invalid(Vec<Violation>),
    /// A different report is already stored under the id, or the id belongs to
    /// another device or station (409).
    #[error("a different report is already stored under this id")]
    Conflict,
    /// `follow_up_of` names no report this device filed at this station
    /// (422, `unknown-parent`): whether it exists elsewhere is not said.
    #[error("the report a follow-up adds to is not one this device sent to this station")]
    UnknownParent,
    /// The database failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
}

fn pointers(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(Violation::pointer)
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<Vec<Violation>> for IntakeError {
    fn from(violations: Vec<Violation>) -> Self {
        Self::Invalid(violations)
    }
}
