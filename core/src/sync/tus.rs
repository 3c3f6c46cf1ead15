//! A tus 1.0.0 client for photo uploads: creation-with-upload, HEAD to learn the
//! station's offset after an interruption, PATCH to continue, with a SHA-256
//! checksum on every chunk.
//!
//! Written by hand: the Rust tus clients on crates.io are unmaintained or block
//! on `std` I/O, and the protocol subset needed here is four small requests.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{CONTENT_TYPE, HeaderMap, LOCATION};
use reqwest::{Method, StatusCode, Url};
use sha2::{Digest, Sha256};

use super::client::{StationClient, failure_of};
use super::failure::Failure;
use crate::model::{ReportId, routes};

const TUS_RESUMABLE: &str = "Tus-Resumable";
const TUS_VERSION: &str = "1.0.0";
const OFFSET_STREAM: &str = "application/offset+octet-stream";

/// What went wrong with one tus request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TusFailure {
    /// The upload resource is gone (expired or never existed): create a new one.
    Gone,
    /// The station's offset differs from ours: ask it with HEAD and continue there.
    OffsetMismatch,
    /// The station computed another checksum for the chunk (460): nothing was
    /// appended; send the chunk again.
    ChecksumMismatch,
    /// The finished file's hash did not match the manifest (422 on the last PATCH)
    /// and the station discarded the upload: start a new one.
    FileDiscarded,
    /// The previous request on this upload is still finishing at the station (423).
    Busy,
    /// Anything else, classified as for any request.
    Other(Failure),
}

impl From<Failure> for TusFailure {
    fn from(f: Failure) -> Self {
        Self::Other(f)
    }
}

/// The station's view of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UploadState {
    /// Bytes the station has durably stored.
    pub offset: u64,
}

/// Starts an upload of `total` bytes for one photo of `report`, sending `first`
/// in the same request (creation-with-upload), so a photo that fits one chunk
/// takes one request. Returns the upload's address and the station's offset.
pub(crate) async fn create(
    client: &StationClient,
    token: &str,
    report: ReportId,
    sha256: &str,
    total: u64,
    first: &[u8],
) -> Result<(Url, UploadState), TusFailure> {
    let url = client.url(routes::relative(routes::UPLOADS))?;
    let metadata = format!(
        "report_id {},sha256 {}",
        STANDARD.encode(report.to_string()),
        STANDARD.encode(sha256)
    );
    let response = client
        .upload_request(Method::POST, url, token)
        .header(TUS_RESUMABLE, TUS_VERSION)
        .header("Upload-Length", total.to_string())
        .header("Upload-Metadata", metadata)
        .header(CONTENT_TYPE, OFFSET_STREAM)
        .header("Upload-Checksum", checksum(first))
        .timeout(client.timeouts().for_upload(first.len()))
        .body(first.to_vec())
        .send()
        .await
        .map_err(|e| Failure::from_transport(&e))?;
    match response.status().as_u16() {
        201 => {}
        460 => return Err(TusFailure::ChecksumMismatch),
        // Not `Gone`: a refused creation says nothing about an earlier upload.
        _ => return Err(TusFailure::Other(failure_of(response).await)),
    }
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| malformed("creation answer has no Location"))?;
    let url = client.url(location)?;
    // A server without creation-with-upload may ignore the body and report 0.
    let offset = offset_header(response.headers()).unwrap_or(0);
    Ok((url, UploadState { offset }))
}

/// Asks the station how many bytes of the upload it has.
pub(crate) async fn head(
    client: &StationClient,
    token: &str,
    url: &Url,
) -> Result<UploadState, TusFailure> {
    let response = client
        .request(Method::HEAD, url.clone(), token)
        .header(TUS_RESUMABLE, TUS_VERSION)
        .timeout(client.timeouts().request)
        .send()
        .await
        .map_err(|e| Failure::from_transport(&e))?;
    if !response.status().is_success() {
        return Err(classify(response).await);
    }
    let offset = offset_header(response.headers())
        .ok_or_else(|| malformed("HEAD answer has no Upload-Offset"))?;
    Ok(UploadState { offset })
}

/// Sends `chunk` at `offset`. Returns the station's new offset.
pub(crate) async fn patch(
    client: &StationClient,
    token: &str,
    url: &Url,
    offset: u64,
    chunk: &[u8],
) -> Result<UploadState, TusFailure> {
    let response = client
        .upload_request(Method::PATCH, url.clone(), token)
        .header(TUS_RESUMABLE, TUS_VERSION)
        .header("Upload-Offset", offset.to_string())
        .header(CONTENT_TYPE, OFFSET_STREAM)
        .header("Upload-Checksum", checksum(chunk))
        .timeout(client.timeouts().for_upload(chunk.len()))
        .body(chunk.to_vec())
        .send()
        .await
        .map_err(|e| Failure::from_transport(&e))?;
    if response.status() != StatusCode::NO_CONTENT && !response.status().is_success() {
        return Err(classify(response).await);
    }
    let offset = offset_header(response.headers())
        .ok_or_else(|| malformed("PATCH answer has no Upload-Offset"))?;
    Ok(UploadState { offset })
}

/// `Upload-Checksum` value for a chunk: `sha256 <base64 digest>`.
fn checksum(chunk: &[u8]) -> String {
    format!("sha256 {}", STANDARD.encode(Sha256::digest(chunk)))
}

fn offset_header(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("Upload-Offset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn malformed(what: &str) -> TusFailure {
    TusFailure::Other(Failure::Transient {
        reason: format!("malformed upload answer: {what}"),
        retry_after: None,
    })
}

async fn classify(response: reqwest::Response) -> TusFailure {
    match response.status().as_u16() {
        404 | 410 => TusFailure::Gone,
        409 => TusFailure::OffsetMismatch,
        460 => TusFailure::ChecksumMismatch,
        422 => TusFailure::FileDiscarded,
        423 => TusFailure::Busy,
        _ => TusFailure::Other(failure_of(response).await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_sha256_in_base64() {
        // SHA-256("abc"), base64.
        assert_eq!(
            checksum(b"abc"),
            "sha256 ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }
}
