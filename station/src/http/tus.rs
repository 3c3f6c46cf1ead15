//! tus 1.0.0 protocol plumbing: header names, the version check every request
//! but OPTIONS must pass, and the headers every response carries.

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, HeaderName};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::problem::{Problem, ProblemType};

/// The only protocol version the station speaks.
pub const VERSION: &str = "1.0.0";
/// Extensions offered in `Tus-Extension`.
pub const EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
/// Media type of PATCH bodies.
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// `Tus-Resumable`
pub static TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
/// `Tus-Version`
pub static TUS_VERSION: HeaderName = HeaderName::from_static("tus-version");
/// `Tus-Extension`
pub static TUS_EXTENSION: HeaderName = HeaderName::from_static("tus-extension");
/// `Tus-Max-Size`
pub static TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
/// `Tus-Checksum-Algorithm`
pub static TUS_CHECKSUM_ALGORITHM: HeaderName = HeaderName::from_static("tus-checksum-algorithm");
/// `Upload-Offset`
pub static UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
/// `Upload-Length`
pub static UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
/// `Upload-Defer-Length` (not supported; refused clearly)
pub static UPLOAD_DEFER_LENGTH: HeaderName = HeaderName::from_static("upload-defer-length");
/// `Upload-Metadata`
pub static UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
/// `Upload-Expires`
pub static UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");
/// `Upload-Checksum`
pub static UPLOAD_CHECKSUM: HeaderName = HeaderName::from_static("upload-checksum");

/// 460 Checksum Mismatch (tus checksum extension).
pub const CHECKSUM_MISMATCH: u16 = 460;

/// Middleware for the upload routes: refuses requests without
/// `Tus-Resumable: 1.0.0` (except OPTIONS) with 412 and `Tus-Version`, and
/// stamps `Tus-Resumable` and `Cache-Control: no-store` on every response.
pub async fn protocol(request: Request, next: Next) -> Response {
    let version_ok = request.method() == Method::OPTIONS
        || request
            .headers()
            .get(&TUS_RESUMABLE)
            .is_some_and(|v| v.as_bytes() == VERSION.as_bytes());
    let mut response = if version_ok {
        next.run(request).await
    } else {
        let mut response = Problem::new(
            StatusCode::PRECONDITION_FAILED,
            ProblemType::TusVersion,
            "Unsupported tus version",
            format!("send Tus-Resumable: {VERSION}; it is the only version this station speaks"),
        )
        .into_response();
        response
            .headers_mut()
            .insert(&TUS_VERSION, HeaderValue::from_static(VERSION));
        response
    };
    let headers = response.headers_mut();
    headers.insert(&TUS_RESUMABLE, HeaderValue::from_static(VERSION));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Reads a non-negative integer header; `Ok(None)` when absent.
pub fn number(headers: &HeaderMap, name: &HeaderName) -> Result<Option<u64>, Problem> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| Problem::bad_request(format!("{name} must be a non-negative integer")))
}

/// Formats an expiry as an RFC 7231 HTTP-date.
pub fn http_date(t: DateTime<Utc>) -> HeaderValue {
    let text = httpdate::fmt_http_date(std::time::SystemTime::from(t));
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether the request carries a body of the tus PATCH media type.
pub fn is_offset_octet_stream(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(OFFSET_OCTET_STREAM))
}
