//! Resumable photo uploads over tus 1.0.0 at `/v1/uploads`.
//!
//! Handlers translate tus headers and status codes; the storage work (part
//! files, hashing, durability, completion) is in [`crate::upload`].

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_LENGTH, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::AppState;
use super::problem::{Problem, ProblemType};
use super::tus::{
    self, CHECKSUM_MISMATCH, EXTENSIONS, TUS_CHECKSUM_ALGORITHM, TUS_EXTENSION, TUS_MAX_SIZE,
    TUS_VERSION, UPLOAD_CHECKSUM, UPLOAD_DEFER_LENGTH, UPLOAD_EXPIRES, UPLOAD_LENGTH,
    UPLOAD_METADATA, UPLOAD_OFFSET, VERSION,
};
use crate::auth::DeviceCaller;
use crate::repo::Upload;
use crate::upload::checksum::{ALGORITHMS, Checksum};
use crate::upload::metadata::{self, PhotoMetadata};
use crate::upload::{AppendRequest, UploadError, WholeRequest};

impl From<UploadError> for Problem {
    fn from(e: UploadError) -> Self {
        let detail = e.to_string();
        match e {
            UploadError::NotFound => Problem::not_found("no such upload"),
            UploadError::Expired => {
                Problem::gone(ProblemType::UploadExpired, "Upload expired", detail)
            }
            UploadError::ReportNotFound => Problem::not_found(
                "no report of this device with that id; PUT the report before its photos",
            ),
            UploadError::NotInManifest => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemType::NotInManifest,
                "Photo not in the report's manifest",
                detail,
            ),
            UploadError::TooLarge => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ProblemType::UploadTooLarge,
                "Upload too large",
                detail,
            ),
            UploadError::OffsetMismatch { .. } => Problem::conflict(
                ProblemType::OffsetMismatch,
                "Upload-Offset mismatch",
                detail,
            ),
            UploadError::Locked => Problem::new(
                StatusCode::LOCKED,
                ProblemType::UploadLocked,
                "Upload busy",
                detail,
            ),
            UploadError::ChecksumMismatch => Problem::new(
                StatusCode::from_u16(CHECKSUM_MISMATCH).unwrap_or(StatusCode::BAD_REQUEST),
                ProblemType::ChecksumMismatch,
                "Checksum Mismatch",
                "the body does not match Upload-Checksum; nothing was appended",
            ),
            UploadError::IncompleteBody => Problem::bad_request(detail),
            UploadError::HashMismatch => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemType::PhotoHashMismatch,
                "Photo does not match the manifest",
                detail,
            ),
            UploadError::Full => Problem::storage_full(),
            UploadError::Unavailable(why) => {
                tracing::warn!(error = %why, "photo storage unavailable; the client is told to retry");
                Problem::unavailable()
            }
            UploadError::Repo(e) => e.into(),
            UploadError::Io(e) => {
                tracing::error!(error = %e, "upload I/O error");
                Problem::internal()
            }
        }
    }
}

/// Upload ids are 32 lowercase hex digits; anything else cannot exist.
fn check_id(id: &str) -> Result<(), Problem> {
    let ok = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if ok {
        Ok(())
    } else {
        Err(Problem::not_found("no such upload"))
    }
}

fn value(n: u64) -> HeaderValue {
    HeaderValue::from(n)
}

/// `Upload-Offset`, plus `Upload-Expires` while unfinished.
fn progress_headers(upload: &Upload, headers: &mut HeaderMap) {
    headers.insert(&UPLOAD_OFFSET, value(upload.offset));
    if upload.completed_at.is_none() {
        headers.insert(&UPLOAD_EXPIRES, tus::http_date(upload.expires_at));
    }
}

fn checksum(headers: &HeaderMap) -> Result<Option<Checksum>, Problem> {
    headers
        .get(&UPLOAD_CHECKSUM)
        .map(|v| {
            let text = v
                .to_str()
                .map_err(|_| Problem::bad_request("Upload-Checksum is not valid text"))?;
            Checksum::parse(text).map_err(|e| Problem::bad_request(e.to_string()))
        })
        .transpose()
}

fn has_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match length {
        Some(n) => n > 0,
        None => headers.contains_key(axum::http::header::TRANSFER_ENCODING),
    }
}

/// `OPTIONS /v1/uploads`: what this tus server supports.
#[utoipa::path(options, path = "/v1/uploads", tag = "uploads",
    responses((status = 204, description = "Discovery: `Tus-Version: 1.0.0`, `Tus-Extension`, \
        `Tus-Checksum-Algorithm: sha1,sha256`, `Tus-Max-Size` (bytes). No authentication needed.")))]
pub async fn discover(State(state): State<AppState>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(&TUS_VERSION, HeaderValue::from_static(VERSION));
    headers.insert(&TUS_EXTENSION, HeaderValue::from_static(EXTENSIONS));
    headers.insert(
        &TUS_CHECKSUM_ALGORITHM,
        HeaderValue::from_static(ALGORITHMS),
    );
    headers.insert(&TUS_MAX_SIZE, value(state.uploads.max_size()));
    response
}

/// `POST /v1/uploads`: creation, and creation-with-upload when a body is sent.
#[utoipa::path(post, path = "/v1/uploads", tag = "uploads",
    params(
        ("Tus-Resumable" = String, Header, description = "`1.0.0`"),
        ("Upload-Length" = u64, Header, description = "The photo's size; must equal the manifest's"),
        ("Upload-Metadata" = String, Header, description = "`report_id <base64 UUID>,sha256 <base64 of 64 lowercase hex>`; other keys ignored"),
        ("Upload-Checksum" = Option<String>, Header, description = "`sha1|sha256 <base64>` of the body, for creation-with-upload"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream",
        description = "Optional first bytes of the photo (creation-with-upload). A body that is \
            the whole photo (`Content-Length` = `Upload-Length`, up to 1 MiB) is checked and stored \
            before the answer: 201 means the photo is received; a failed check or a body that \
            breaks off leaves nothing, and the client creates again."),
    security(("device_token" = [])),
    responses(
        (status = 201, description = "Created: `Location: /v1/uploads/{id}`, `Upload-Offset`, `Upload-Expires`"),
        (status = 400, description = "Missing or bad Upload-Length / Upload-Metadata / Upload-Checksum, or Upload-Defer-Length", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid device credential", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a device credential", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The report is not this device's, or not stored yet", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Tus-Resumable missing or not 1.0.0; `Tus-Version` lists 1.0.0", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Upload-Length over Tus-Max-Size", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "A body that is not application/offset+octet-stream", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The manifest lists no photo with this sha256 and exactly Upload-Length bytes; or (completing upload) the SHA-256 does not match", body = Problem, content_type = "application/problem+json"),
        (status = 460, description = "The body does not match Upload-Checksum", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    DeviceCaller(device): DeviceCaller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    if headers.contains_key(&UPLOAD_DEFER_LENGTH) {
        return Err(Problem::bad_request(
            "Upload-Defer-Length is not supported; send Upload-Length",
        ));
    }
    let length = tus::number(&headers, &UPLOAD_LENGTH)?
        .ok_or_else(|| Problem::bad_request("Upload-Length is required"))?;
    if length == 0 {
        return Err(Problem::bad_request("Upload-Length must be at least 1"));
    }
    let meta_text = headers
        .get(&UPLOAD_METADATA)
        .map(|v| v.to_str())
        .transpose()
        .map_err(|_| Problem::bad_request("Upload-Metadata is not valid text"))?
        .unwrap_or_default();
    let meta: PhotoMetadata =
        metadata::parse(meta_text).map_err(|e| Problem::bad_request(e.to_string()))?;
    let with_body = has_body(&headers);
    if with_body && !tus::is_offset_octet_stream(&headers) {
        return Err(Problem::unsupported_media_type(format!(
            "a creation body must be {}",
            tus::OFFSET_OCTET_STREAM
        )));
    }
    let checksum = checksum(&headers)?;
    let content_length = tus::number(&headers, &CONTENT_LENGTH)?;
    if with_body && state.uploads.takes_whole(length, content_length) {
        let upload = state
            .uploads
            .create_whole(
                WholeRequest {
                    station: device.station_id,
                    device: device.id,
                    meta,
                    length,
                    checksum,
                    body,
                },
                Utc::now(),
            )
            .await?;
        return created(&upload);
    }
    let mut upload = state
        .uploads
        .create(device.station_id, device.id, meta, length, Utc::now())
        .await?;
    let location = format!("/v1/uploads/{}", upload.id);
    if with_body {
        let appended = state
            .uploads
            .append(AppendRequest {
                station: device.station_id,
                device: device.id,
                id: upload.id.clone(),
                offset: 0,
                content_length,
                checksum,
                body,
            })
            .await;
        match appended {
            Ok(done) => upload = done,
            Err(e) => {
                // The upload exists: say where, so the client can resume it.
                let mut response = Problem::from(e).into_response();
                if let Ok(v) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert(LOCATION, v);
                }
                return Ok(response);
            }
        }
    }
    created(&upload)
}

/// `201 Created` with the upload's `Location` and progress.
fn created(upload: &Upload) -> Result<Response, Problem> {
    let mut response = StatusCode::CREATED.into_response();
    let out = response.headers_mut();
    progress_headers(upload, out);
    let location = HeaderValue::from_str(&format!("/v1/uploads/{}", upload.id))
        .map_err(|_| Problem::internal())?;
    out.insert(LOCATION, location);
    Ok(response)
}

/// `HEAD /v1/uploads/{id}`: the durable offset.
#[utoipa::path(head, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "Upload id from Location"),
           ("Tus-Resumable" = String, Header, description = "`1.0.0`")),
    security(("device_token" = [])),
    responses(
        (status = 200, description = "`Upload-Offset` (bytes durably stored; equals `Upload-Length` once the photo is received), `Upload-Length`, `Upload-Metadata`, `Upload-Expires` while unfinished, `Cache-Control: no-store`"),
        (status = 404, description = "Unknown, another device's, or already cleaned up"),
        (status = 410, description = "Expired"),
        (status = 412, description = "Tus-Resumable missing or unsupported"),
        (status = 503, description = "Every byte is stored but the photo store (object storage) is unreachable; retry after `Retry-After`"),
        (status = 507, description = "Every byte is stored but the blob store is full; retry after `Retry-After`"),
    ))]
pub async fn head(
    State(state): State<AppState>,
    DeviceCaller(device): DeviceCaller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    check_id(&id)?;
    let upload = state
        .uploads
        .status(device.station_id, device.id, &id)
        .await?;
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    progress_headers(&upload, headers);
    headers.insert(&UPLOAD_LENGTH, value(upload.length));
    let meta = metadata::encode(&PhotoMetadata {
        report_id: upload.report_id,
        sha256: upload.sha256.clone(),
    });
    if let Ok(v) = HeaderValue::from_str(&meta) {
        headers.insert(&UPLOAD_METADATA, v);
    }
    Ok(response)
}

/// `PATCH /v1/uploads/{id}`: appends bytes at `Upload-Offset`.
#[utoipa::path(patch, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "Upload id from Location"),
           ("Tus-Resumable" = String, Header, description = "`1.0.0`"),
           ("Upload-Offset" = u64, Header, description = "Must equal the stored offset"),
           ("Upload-Checksum" = Option<String>, Header, description = "`sha1|sha256 <base64>` of this body")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    security(("device_token" = [])),
    responses(
        (status = 204, description = "Appended: the new `Upload-Offset`, and `Upload-Expires` while unfinished. When the last byte arrived and matched the manifest's SHA-256, the photo is received."),
        (status = 400, description = "Missing Upload-Offset, bad Upload-Checksum, or a checksummed body that ended early (nothing kept)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or another device's upload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Upload-Offset differs from the stored offset; HEAD to learn it", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Tus-Resumable missing or unsupported", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "More bytes than Upload-Length", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Content-Type is not application/offset+octet-stream", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The whole upload's SHA-256 is not the manifest's: the upload is discarded; create a new one", body = Problem, content_type = "application/problem+json"),
        (status = 423, description = "Another request on this upload is still running; retry", body = Problem, content_type = "application/problem+json"),
        (status = 460, description = "The body does not match Upload-Checksum; nothing was appended", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Photo storage (object store) unreachable; the bytes are kept; retry after `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "Storage full; nothing past the last durable offset is kept; retry after `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch(
    State(state): State<AppState>,
    DeviceCaller(device): DeviceCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    check_id(&id)?;
    if !tus::is_offset_octet_stream(&headers) {
        return Err(Problem::unsupported_media_type(format!(
            "PATCH bodies must be {}",
            tus::OFFSET_OCTET_STREAM
        )));
    }
    let offset = tus::number(&headers, &UPLOAD_OFFSET)?
        .ok_or_else(|| Problem::bad_request("Upload-Offset is required"))?;
    let checksum = checksum(&headers)?;
    let upload = state
        .uploads
        .append(AppendRequest {
            station: device.station_id,
            device: device.id,
            id,
            offset,
            content_length: tus::number(&headers, &CONTENT_LENGTH)?,
            checksum,
            body,
        })
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    progress_headers(&upload, response.headers_mut());
    Ok(response)
}

/// `DELETE /v1/uploads/{id}`: termination.
#[utoipa::path(delete, path = "/v1/uploads/{id}", tag = "uploads",
    params(("id" = String, Path, description = "Upload id from Location"),
           ("Tus-Resumable" = String, Header, description = "`1.0.0`")),
    security(("device_token" = [])),
    responses(
        (status = 204, description = "Terminated: the upload and its bytes are gone (a photo it already delivered stays received)"),
        (status = 404, description = "Unknown or another device's upload", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Tus-Resumable missing or unsupported", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn terminate(
    State(state): State<AppState>,
    DeviceCaller(device): DeviceCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    check_id(&id)?;
    state
        .uploads
        .terminate(device.station_id, device.id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
