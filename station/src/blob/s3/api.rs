//! The S3 operations the blob store uses, each a request signed by
//! `rusty-s3` (a presigned SigV4 URL) and sent by [`crate::egress`]. Any
//! answer but the expected one is the store being away or refusing for now
//! ([`BlobError::Unavailable`], a 503 to the client), with S3's error code
//! when it gave one, never a URL's signature.

use std::time::Duration;

use bytes::Bytes;
use rusty_s3::S3Action;
use rusty_s3::actions::{
    AbortMultipartUpload, CompleteMultipartUpload, CompleteMultipartUploadResponse,
    CreateMultipartUpload, GetObject, HeadObject, PutObject, UploadPart,
};

use super::settings::Settings;
use crate::blob::BlobError;
use crate::egress::{Egress, EgressError, OutboundRequest, OutboundResponse, StatusCode, header};

/// How long a signed URL is good for: it is used at once, and any retry
/// comes within the request timeout; a little slack for clock skew.
const SIGNATURE_TTL: Duration = Duration::from_secs(300);

/// The most of an S3 error or XML answer read (they are a few hundred bytes).
const XML_LIMIT: usize = 64 * 1024;

/// One bucket, its credentials, and the client that reaches it.
pub(super) struct S3Api {
    pub settings: Settings,
    pub egress: Egress,
}

impl S3Api {
    /// HeadObject: the object's size, `None` when there is none.
    pub async fn head(&self, key: &str) -> Result<Option<u64>, BlobError> {
        let url = HeadObject::new(&self.settings.bucket, Some(&self.settings.credentials), key)
            .sign(SIGNATURE_TTL);
        let answer = self.send(OutboundRequest::head(url)).await?;
        match answer.status() {
            StatusCode::OK => answer.content_length().map(Some).ok_or_else(|| {
                BlobError::Unavailable("HEAD answered without a Content-Length".into())
            }),
            StatusCode::NOT_FOUND => Ok(None),
            status => Err(BlobError::Unavailable(format!("HEAD answered {status}"))),
        }
    }

    /// PutObject: the whole object in one request, visible whole or not at all.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let url = PutObject::new(&self.settings.bucket, Some(&self.settings.credentials), key)
            .sign(SIGNATURE_TTL);
        let answer = self.send(OutboundRequest::put(url, bytes)).await?;
        expect_ok("PUT", answer).await.map(drop)
    }

    /// GetObject: the object as a streamed answer, `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<OutboundResponse>, BlobError> {
        let url = GetObject::new(&self.settings.bucket, Some(&self.settings.credentials), key)
            .sign(SIGNATURE_TTL);
        let answer = self.send(OutboundRequest::get(url)).await?;
        if answer.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        expect_ok("GET", answer).await.map(Some)
    }

    /// CreateMultipartUpload: the new upload's id.
    pub async fn create_multipart(&self, key: &str) -> Result<String, BlobError> {
        let url = CreateMultipartUpload::new(
            &self.settings.bucket,
            Some(&self.settings.credentials),
            key,
        )
        .sign(SIGNATURE_TTL);
        // Repeating it at worst leaves an unused upload, which the bucket's
        // lifecycle rule for incomplete uploads removes.
        let request = OutboundRequest::post(url, Bytes::new()).safe_to_repeat(true);
        let answer = expect_ok("CreateMultipartUpload", self.send(request).await?).await?;
        let body = xml_text(answer).await?;
        let created = CreateMultipartUpload::parse_response(&body).map_err(|e| {
            BlobError::Unavailable(format!("CreateMultipartUpload answer not understood: {e}"))
        })?;
        Ok(created.upload_id().to_owned())
    }

    /// UploadPart: one part (numbered from 1); its ETag, for completion.
    pub async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u16,
        bytes: Bytes,
    ) -> Result<String, BlobError> {
        let url = UploadPart::new(
            &self.settings.bucket,
            Some(&self.settings.credentials),
            key,
            number,
            upload_id,
        )
        .sign(SIGNATURE_TTL);
        let answer = self.send(OutboundRequest::put(url, bytes)).await?;
        let answer = expect_ok("UploadPart", answer).await?;
        answer
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| BlobError::Unavailable("UploadPart answered without an ETag".into()))
    }

    /// CompleteMultipartUpload: the parts (ETags in part order) become the
    /// object. S3 may answer 200 and still fail, with an `Error` body.
    pub async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        etags: &[String],
    ) -> Result<(), BlobError> {
        let action = CompleteMultipartUpload::new(
            &self.settings.bucket,
            Some(&self.settings.credentials),
            key,
            upload_id,
            etags.iter().map(String::as_str),
        );
        let url = action.sign(SIGNATURE_TTL);
        let request = OutboundRequest::post(url, Bytes::from(action.body())).safe_to_repeat(true);
        let answer = expect_ok("CompleteMultipartUpload", self.send(request).await?).await?;
        let body = xml_text(answer).await?;
        CompleteMultipartUploadResponse::parse(&body).map_err(|_| {
            BlobError::Unavailable(format!(
                "CompleteMultipartUpload failed: {}",
                error_code(&body).unwrap_or("an answer not understood")
            ))
        })?;
        Ok(())
    }

    /// AbortMultipartUpload: the parts stored so far are dropped.
    pub async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), BlobError> {
        let url = AbortMultipartUpload::new(
            &self.settings.bucket,
            Some(&self.settings.credentials),
            key,
            upload_id,
        )
        .sign(SIGNATURE_TTL);
        let answer = self.send(OutboundRequest::delete(url)).await?;
        if answer.status() == StatusCode::NOT_FOUND {
            return Ok(());
        }
        expect_ok("AbortMultipartUpload", answer).await.map(drop)
    }

    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, BlobError> {
        self.egress.send(request).await.map_err(unavailable)
    }
}

/// Every transport failure is the store being away for now.
pub(super) fn unavailable(e: EgressError) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

/// The answer when it is a success; otherwise [`BlobError::Unavailable`]
/// naming the operation, the status and S3's error code.
async fn expect_ok(
    operation: &str,
    answer: OutboundResponse,
) -> Result<OutboundResponse, BlobError> {
    let status = answer.status();
    if status.is_success() {
        return Ok(answer);
    }
    let body = answer.bytes(XML_LIMIT).await.unwrap_or_default();
    let code = error_code(&String::from_utf8_lossy(&body))
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    Err(BlobError::Unavailable(format!(
        "{operation} answered {status}{code}"
    )))
}

async fn xml_text(answer: OutboundResponse) -> Result<String, BlobError> {
    let body = answer.bytes(XML_LIMIT).await.map_err(unavailable)?;
    String::from_utf8(body.to_vec())
        .map_err(|_| BlobError::Unavailable("an S3 answer that is not UTF-8".into()))
}

/// The `<Code>` of an S3 error document (`AccessDenied`,
/// `SignatureDoesNotMatch`, `NoSuchBucket`): what an operator needs, and
/// never a secret.
fn error_code(body: &str) -> Option<&str> {
    let start = body.find("<Code>")? + "<Code>".len();
    let len = body[start..].find("</Code>")?;
    Some(&body[start..start + len]).filter(|c| c.len() <= 64)
}

#[cfg(test)]
mod tests {
    use super::error_code;

    #[test]
    fn the_error_code_is_read_from_an_s3_error_document() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>x</Message></Error>"#;
        assert_eq!(error_code(body), Some("SignatureDoesNotMatch"));
        assert_eq!(error_code("<html>proxy error</html>"), None);
    }
}
