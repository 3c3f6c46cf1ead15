//! RFC 9457 problem details: every error the API returns.
//!
//! One type with one constructor per kind of failure, so status, title and type
//! URI stay consistent across handlers. `detail` is for the client and may echo
//! what it sent; it is never logged (only type and status are).

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub use postcso_model::ProblemType;

use crate::repo::RepoError;

/// Media type of problem responses.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before retrying when storage is unavailable.
const UNAVAILABLE_RETRY_AFTER_S: u64 = 5;

/// One field at fault in a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) into the request body, e.g. `/location/lat`.
    pub pointer: String,
    /// What is wrong with it.
    pub detail: String,
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// URI reference naming the kind of problem, e.g. `/problems/validation`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the kind of problem; the same for every occurrence.
    pub title: String,
    /// The HTTP status code, repeated for clients that lose it.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// Fields at fault, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    retry_after: Option<u64>,
}

impl Problem {
    /// A problem of the given kind with its status and title.
    pub fn new(
        status: StatusCode,
        kind: ProblemType,
        title: &str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            type_uri: kind.uri(),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// Adds the fields at fault.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Asks the client to retry after `seconds`.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The seconds `Retry-After` will ask for, if any.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The status as a [`StatusCode`].
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 400: the body is not well-formed JSON.
    pub fn malformed_json(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ProblemType::MalformedJson,
            "Malformed JSON",
            detail,
        )
    }

    /// 400: the body is not valid UTF-8.
    pub fn invalid_utf8(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ProblemType::InvalidUtf8,
            "Body is not valid UTF-8",
            detail,
        )
    }

    /// 400: a path parameter that must be a UUID is not one.
    pub fn invalid_id(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ProblemType::InvalidId,
            "Invalid id",
            detail,
        )
    }

    /// 400: the request is unusable for another reason.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ProblemType::BadRequest,
            "Bad request",
            detail,
        )
    }

    /// 401: no or bad credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemType::Unauthorized,
            "Not authenticated",
            detail,
        )
    }

    /// 401: the username or password is wrong (deliberately not saying which).
    pub fn invalid_credentials() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemType::InvalidCredentials,
            "Invalid credentials",
            "the station, username or password is not correct",
        )
    }

    /// 403: authenticated, but the role or kind of caller may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ProblemType::Forbidden,
            "Not allowed",
            detail,
        )
    }

    /// 404: nothing here, or nothing the caller may see.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ProblemType::NotFound,
            "Not found",
            detail,
        )
    }

    /// 405: the path exists but not with this method.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ProblemType::MethodNotAllowed,
            "Method not allowed",
            "this resource does not support the request method",
        )
    }

    /// 409: the id is taken by different content.
    pub fn conflict(kind: ProblemType, title: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, kind, title, detail)
    }

    /// 410: the thing existed but is no longer usable (an expired code).
    pub fn gone(kind: ProblemType, title: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, kind, title, detail)
    }

    /// 413: the body exceeds the endpoint's limit.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemType::PayloadTooLarge,
            "Request body too large",
            format!("the request body exceeds this endpoint's limit of {limit} bytes"),
        )
    }

    /// 415: the body is not JSON by its Content-Type.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemType::UnsupportedMediaType,
            "Unsupported media type",
            detail,
        )
    }

    /// 422: well-formed JSON whose fields break the model's rules.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.pointer, one.detail),
            many => format!("{} fields are invalid", many.len()),
        };
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemType::Validation,
            "Validation failed",
            detail,
        )
        .with_errors(errors)
    }

    /// 429: too many attempts from this client.
    pub fn rate_limited(retry_after_s: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ProblemType::RateLimited,
            "Too many requests",
            "too many attempts from this address; wait and try again",
        )
        .with_retry_after(retry_after_s)
    }

    /// 503: storage is busy or unreachable; the client should retry.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemType::Unavailable,
            "Service unavailable",
            "the station's storage is unavailable; try again shortly",
        )
        .with_retry_after(UNAVAILABLE_RETRY_AFTER_S)
    }

    /// 507: the disk (database or photos) is full; nothing was stored, and the
    /// client should retry once an operator has made room.
    pub fn storage_full() -> Self {
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            ProblemType::StorageFull,
            "Storage full",
            "the station has no space left; nothing was stored; try again later",
        )
        .with_retry_after(60)
    }

    /// 412: the decision was made on a version of the report that is no
    /// longer current (`If-Match`); nothing was changed.
    pub fn stale(current: u64) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            ProblemType::StaleVersion,
            "The report changed",
            format!(
                "the report changed since the version this decision was made on (it is now \"v{current}\"); read it again and decide again"
            ),
        )
    }

    /// 412: an `If-Match` that cannot name the report's current version.
    pub fn stale_unknown(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            ProblemType::StaleVersion,
            "The report changed",
            detail,
        )
    }

    /// 500: a bug; details go to the log, not the client.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemType::Internal,
            "Internal error",
            "the station hit an internal error; it has been logged",
        )
    }
}

impl From<RepoError> for Problem {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound(what) => Problem::not_found(format!("{what} not found")),
            RepoError::Conflict(detail) => {
                Problem::conflict(ProblemType::Conflict, "Conflict", detail)
            }
            RepoError::Unavailable(cause) => {
                tracing::warn!(%cause, "storage unavailable");
                Problem::unavailable()
            }
            RepoError::Full(cause) => {
                tracing::error!(%cause, "database storage full");
                Problem::storage_full()
            }
            RepoError::Stale { current } => Problem::stale(current),
            RepoError::Storage(cause) => {
                tracing::error!(%cause, "storage error");
                Problem::internal()
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
