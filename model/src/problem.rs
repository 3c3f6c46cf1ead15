//! The kinds of RFC 9457 problem the station answers with, named once.
//!
//! The station writes a problem's `type` as `/problems/<slug>`; the phone reads
//! it back with [`ProblemType::from_uri`] to tell, say, a report-id conflict
//! from a validation refusal without matching on English text.

/// One kind of problem; its slug is part of the API and never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    /// The request is malformed in a way no other kind names.
    BadRequest,
    /// A tus chunk's `Upload-Checksum` does not match its bytes.
    ChecksumMismatch,
    /// The request contradicts what is stored (a retired category, a taken code, ...).
    Conflict,
    /// The enrolment code is past its expiry.
    EnrolmentCodeExpired,
    /// No such enrolment code.
    EnrolmentCodeInvalid,
    /// The enrolment code was already redeemed.
    EnrolmentCodeUsed,
    /// The caller's role may not do this.
    Forbidden,
    /// The station failed; nothing about the request is wrong.
    Internal,
    /// Staff sign-in with a wrong station, user name or password.
    InvalidCredentials,
    /// A changes-feed cursor this station did not make.
    InvalidCursor,
    /// A path parameter that must be a UUID is not one.
    InvalidId,
    /// The body is not valid UTF-8.
    InvalidUtf8,
    /// The body is not well-formed JSON.
    MalformedJson,
    /// The resource does not take this method.
    MethodNotAllowed,
    /// No such resource, or not one the caller may see.
    NotFound,
    /// A photo upload for a photo its report does not list.
    NotInManifest,
    /// A tus `PATCH` at an offset other than the upload's.
    OffsetMismatch,
    /// The body is larger than the endpoint takes.
    PayloadTooLarge,
    /// An uploaded photo's bytes do not hash to the manifest's SHA-256.
    PhotoHashMismatch,
    /// A stored photo cannot be decoded (for a thumbnail).
    PhotoNotDecodable,
    /// Too many requests; `Retry-After` says when to come back.
    RateLimited,
    /// The report id is taken by different content: the phone must not resend it as is.
    ReportIdConflict,
    /// A decision made on a version of the report that is no longer current
    /// (`If-Match` did not match, 412): read it again and decide again.
    StaleVersion,
    /// The station's storage is full; retry later.
    StorageFull,
    /// A tus request without a supported `Tus-Resumable` version.
    TusVersion,
    /// No credential, or one that is not valid.
    Unauthorized,
    /// A follow-up names a report that is not one its device filed at this
    /// station (or none at all); the phone must not resend it as is.
    UnknownParent,
    /// Storage is unavailable for a moment; retry later.
    Unavailable,
    /// The body's media type is not one the endpoint takes.
    UnsupportedMediaType,
    /// The report was already merged, into another report.
    AlreadyMerged,
    /// A report cannot be merged into itself.
    MergeIntoSelf,
    /// The report to merge into was itself merged; merge into the report it went into.
    MergeTargetMerged,
    /// The report to merge into is not a report of this station.
    MergeTargetUnknown,
    /// The upload expired before it completed; start a new one.
    UploadExpired,
    /// Another request is writing to this upload.
    UploadLocked,
    /// The upload is larger than its photo's manifest size.
    UploadTooLarge,
    /// The body parsed but fields are invalid; `errors` points at each.
    Validation,
}

/// Where problem type URIs live, relative to the station.
const PREFIX: &str = "/problems/";

impl ProblemType {
    /// Every kind, for tests and documentation.
    pub const ALL: &'static [ProblemType] = &[
        Self::BadRequest,
        Self::ChecksumMismatch,
        Self::Conflict,
        Self::EnrolmentCodeExpired,
        Self::EnrolmentCodeInvalid,
        Self::EnrolmentCodeUsed,
        Self::Forbidden,
        Self::Internal,
        Self::InvalidCredentials,
        Self::InvalidCursor,
        Self::InvalidId,
        Self::InvalidUtf8,
        Self::MalformedJson,
        Self::MethodNotAllowed,
        Self::NotFound,
        Self::NotInManifest,
        Self::OffsetMismatch,
        Self::PayloadTooLarge,
        Self::PhotoHashMismatch,
        Self::PhotoNotDecodable,
        Self::RateLimited,
        Self::ReportIdConflict,
        Self::StaleVersion,
        Self::StorageFull,
        Self::TusVersion,
        Self::Unauthorized,
        Self::UnknownParent,
        Self::Unavailable,
        Self::UnsupportedMediaType,
        Self::AlreadyMerged,
        Self::MergeIntoSelf,
        Self::MergeTargetMerged,
        Self::MergeTargetUnknown,
        Self::UploadExpired,
        Self::UploadLocked,
        Self::UploadTooLarge,
        Self::Validation,
    ];

    /// The stable slug, e.g. `validation`.
    pub fn slug(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::ChecksumMismatch => "checksum-mismatch",
            Self::Conflict => "conflict",
            Self::EnrolmentCodeExpired => "enrolment-code-expired",
            Self::EnrolmentCodeInvalid => "enrolment-code-invalid",
            Self::EnrolmentCodeUsed => "enrolment-code-used",
            Self::Forbidden => "forbidden",
            Self::Internal => "internal",
            Self::InvalidCredentials => "invalid-credentials",
            Self::InvalidCursor => "invalid-cursor",
            Self::InvalidId => "invalid-id",
            Self::InvalidUtf8 => "invalid-utf8",
            Self::MalformedJson => "malformed-json",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::NotFound => "not-found",
            Self::NotInManifest => "not-in-manifest",
            Self::OffsetMismatch => "offset-mismatch",
            Self::PayloadTooLarge => "payload-too-large",
            Self::PhotoHashMismatch => "photo-hash-mismatch",
            Self::PhotoNotDecodable => "photo-not-decodable",
            Self::RateLimited => "rate-limited",
            Self::ReportIdConflict => "report-id-conflict",
            Self::StaleVersion => "stale-version",
            Self::StorageFull => "storage-full",
            Self::TusVersion => "tus-version",
            Self::Unauthorized => "unauthorized",
            Self::UnknownParent => "unknown-parent",
            Self::Unavailable => "unavailable",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::AlreadyMerged => "already-merged",
            Self::MergeIntoSelf => "merge-into-self",
            Self::MergeTargetMerged => "merge-target-merged",
            Self::MergeTargetUnknown => "merge-target-unknown",
            Self::UploadExpired => "upload-expired",
            Self::UploadLocked => "upload-locked",
            Self::UploadTooLarge => "upload-too-large",
            Self::Validation => "validation",
        }
    }

    /// The `type` member of the problem document, e.g. `/problems/validation`.
    pub fn uri(self) -> String {
        format!("{PREFIX}{}", self.slug())
    }

    /// The kind a `type` member names, if this build knows it.
    pub fn from_uri(uri: &str) -> Option<Self> {
        let slug = uri.strip_prefix(PREFIX)?;
        Self::ALL.iter().copied().find(|kind| kind.slug() == slug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_uri_and_slugs_are_unique() {
        let mut slugs = std::collections::HashSet::new();
        for &kind in ProblemType::ALL {
            assert_eq!(ProblemType::from_uri(&kind.uri()), Some(kind));
            assert!(slugs.insert(kind.slug()), "{} twice", kind.slug());
        }
        assert_eq!(ProblemType::from_uri("/problems/teleport"), None);
        assert_eq!(ProblemType::from_uri("validation"), None);
    }
}
