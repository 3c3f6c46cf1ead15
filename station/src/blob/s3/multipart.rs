//! A photo above the multipart threshold goes up in parts: read from its
//! part file one part at a time, at most [`PARTS_IN_FLIGHT`] parts sent at
//! once, completed in part order, or aborted on any failure so that no
//! parts are left behind (the object is visible only once completed).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;

use super::api::S3Api;
use crate::blob::BlobError;

/// Parts of one multipart upload in flight at once.
pub(super) const PARTS_IN_FLIGHT: usize = 4;

/// Uploads `source` to `key` in parts of `part_size` bytes.
pub(super) async fn upload(
    api: &Arc<S3Api>,
    key: &str,
    source: tokio::fs::File,
    part_size: usize,
) -> Result<(), BlobError> {
    let upload_id = api.create_multipart(key).await?;
    let outcome = match send_parts(api, key, &upload_id, source, part_size).await {
        Ok(etags) => api.complete_multipart(key, &upload_id, &etags).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &outcome {
        tracing::warn!(error = %e, "multipart upload failed; aborting it");
        if let Err(abort) = api.abort_multipart(key, &upload_id).await {
            tracing::warn!(error = %abort, "could not abort a failed multipart upload");
        }
    }
    outcome
}

/// Sends every part; their ETags in part order. On the first failure the
/// parts still in flight are cancelled.
async fn send_parts(
    api: &Arc<S3Api>,
    key: &str,
    upload_id: &str,
    mut source: tokio::fs::File,
    part_size: usize,
) -> Result<Vec<String>, BlobError> {
    let mut in_flight = JoinSet::new();
    let mut etags: Vec<Option<String>> = Vec::new();
    loop {
        let part = read_part(&mut source, part_size).await?;
        if part.is_empty() {
            break;
        }
        let index = etags.len();
        let number = u16::try_from(index + 1)
            .ok()
            .filter(|n| *n <= 10_000)
            .ok_or_else(|| BlobError::Unavailable("more than 10,000 parts".into()))?;
        etags.push(None);
        while in_flight.len() >= PARTS_IN_FLIGHT {
            record(&mut etags, in_flight.join_next().await)?;
        }
        let (api, key, upload_id) = (Arc::clone(api), key.to_owned(), upload_id.to_owned());
        in_flight.spawn(async move {
            let etag = api.upload_part(&key, &upload_id, number, part).await?;
            Ok::<_, BlobError>((index, etag))
        });
    }
    while !in_flight.is_empty() {
        record(&mut etags, in_flight.join_next().await)?;
    }
    etags
        .into_iter()
        .map(|e| e.ok_or_else(|| BlobError::Unavailable("a part went missing".into())))
        .collect()
}

/// A part's task as it ended: its index and ETag, or why not.
type PartDone = Result<Result<(usize, String), BlobError>, tokio::task::JoinError>;

/// Files a finished part's ETag in its place.
fn record(etags: &mut [Option<String>], joined: Option<PartDone>) -> Result<(), BlobError> {
    match joined {
        Some(Ok(Ok((index, etag)))) => {
            etags[index] = Some(etag);
            Ok(())
        }
        Some(Ok(Err(e))) => Err(e),
        Some(Err(e)) => Err(BlobError::Io(std::io::Error::other(e))),
        None => Ok(()),
    }
}

/// Up to `part_size` bytes from `source`; empty at its end.
async fn read_part(source: &mut tokio::fs::File, part_size: usize) -> Result<Bytes, BlobError> {
    let mut part = BytesMut::with_capacity(part_size);
    while part.len() < part_size {
        let mut limited = (&mut *source).take((part_size - part.len()) as u64);
        if limited.read_buf(&mut part).await? == 0 {
            break;
        }
    }
    Ok(part.freeze())
}
