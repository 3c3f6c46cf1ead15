//! Serving report photos, full size or as server-made thumbnails, only to
//! callers who may see the report.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use postcso_model::ReportId;
use serde::Deserialize;
use tokio_util::io::ReaderStream;
use utoipa::IntoParams;

use super::AppState;
use super::problem::{Problem, ProblemType};
use crate::auth::Caller;
use crate::auth::policy::may_see_photos;
use crate::blob::BlobError;
use crate::thumbs::ThumbError;

/// Query of a photo read.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PhotoQuery {
    /// `thumb` for a JPEG of at most 320 px on its long edge; absent for the original.
    pub size: Option<String>,
}

impl From<BlobError> for Problem {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::InvalidKey => Problem::not_found("no such photo"),
            BlobError::Full(_)
            | BlobError::Io(_)
            | BlobError::Unavailable(_)
            | BlobError::Config(_) => {
                tracing::error!(error = %e, "blob store error");
                Problem::unavailable()
            }
        }
    }
}

fn jpeg_response(len: u64, etag: &str, body: Body) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    // Photos are sensitive: no shared or persistent caches.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        headers.insert(ETAG, tag);
    }
    response
}

/// `GET /v1/reports/{id}/photos/{n}`
#[utoipa::path(get, path = "/v1/reports/{id}/photos/{n}", tag = "reports",
    params(("id" = String, Path, description = "The report's UUID"),
           ("n" = u32, Path, description = "Position in the manifest, from 0"),
           PhotoQuery),
    security(("device_token" = []), ("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The JPEG (original, or `?size=thumb`)", content_type = "image/jpeg"),
        (status = 400, description = "Unknown `size`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report or photo visible to the caller, or not received yet", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_photo(
    State(state): State<AppState>,
    caller: Caller,
    Path((raw_id, raw_n)): Path<(String, String)>,
    Query(query): Query<PhotoQuery>,
) -> Result<Response, Problem> {
    let not_found = || Problem::not_found("no such photo");
    let thumb = match query.size.as_deref() {
        None | Some("original") => false,
        Some("thumb") => true,
        Some(_) => return Err(Problem::bad_request("size must be `thumb` or absent")),
    };
    let id = ReportId::parse(&raw_id).map_err(|_| not_found())?;
    let n: usize = raw_n.parse().map_err(|_| not_found())?;
    let report = state
        .repo
        .report(caller.station_id(), id)
        .await?
        .ok_or_else(not_found)?;
    let assigned = super::access::assigned_inspector(&state, &caller, &report).await?;
    if !may_see_photos(&caller, &report, assigned) {
        return Err(not_found());
    }
    let photo = report
        .photos
        .get(n)
        .filter(|p| p.received)
        .ok_or_else(|| Problem::not_found("no such photo, or it has not arrived yet"))?;
    if thumb {
        let bytes = match state.thumbs.get(&photo.sha256).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Err(not_found()),
            Err(ThumbError::Undecodable(_)) => {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ProblemType::PhotoNotDecodable,
                    "No thumbnail",
                    "the stored photo cannot be decoded as an image; fetch the original",
                ));
            }
            Err(ThumbError::Blob(e)) => return Err(e.into()),
            Err(ThumbError::Io(e)) => {
                tracing::error!(error = %e, "thumbnail cache error");
                return Err(Problem::internal());
            }
        };
        let len = bytes.len() as u64;
        return Ok(jpeg_response(
            len,
            &format!("{}-thumb", photo.sha256),
            Body::from(bytes),
        ));
    }
    let blob = state
        .blobs
        .open(&photo.sha256)
        .await?
        .ok_or_else(not_found)?;
    let body = Body::from_stream(ReaderStream::new(blob.reader));
    Ok(jpeg_response(blob.len, &photo.sha256, body))
}
