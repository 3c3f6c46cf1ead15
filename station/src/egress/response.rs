//! What came back: status, headers and a body read as it arrives.

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use super::{EgressError, RedactedUrl};

/// An answer whose head has arrived; the body is read by the caller, as a
/// stream ([`OutboundResponse::into_stream`], [`OutboundResponse::into_reader`])
/// or whole up to a limit ([`OutboundResponse::bytes`]). A body that stops
/// arriving for the stall timeout ends with an error instead of hanging the
/// reader.
pub struct OutboundResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Incoming,
    url: RedactedUrl,
    stall_timeout: Duration,
}

/// Status and header names only.
impl fmt::Debug for OutboundResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundResponse")
            .field("url", &self.url)
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl OutboundResponse {
    pub(super) fn new(
        response: http::Response<Incoming>,
        url: RedactedUrl,
        stall_timeout: Duration,
    ) -> Self {
        let (parts, body) = response.into_parts();
        Self {
            status: parts.status,
            headers: parts.headers,
            body,
            url,
            stall_timeout,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The `Content-Length` header, when present and a number.
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
    }

    /// The body as a stream of chunks, ending in an error if it is cut or
    /// stalls.
    pub fn into_stream(self) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
        let stall = self.stall_timeout;
        futures_util::stream::unfold(Some(self.body), move |body| async move {
            let mut body = body?;
            loop {
                match tokio::time::timeout(stall, body.frame()).await {
                    Err(_) => {
                        let error = std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("the body stalled for {stall:?}"),
                        );
                        return Some((Err(error), None));
                    }
                    Ok(None) => return None,
                    Ok(Some(Err(e))) => {
                        return Some((Err(std::io::Error::other(e)), None));
                    }
                    Ok(Some(Ok(frame))) => {
                        // Trailers carry no bytes: skip them.
                        if let Ok(data) = frame.into_data() {
                            return Some((Ok(data), Some(body)));
                        }
                    }
                }
            }
        })
    }

    /// The body as an [`tokio::io::AsyncRead`].
    pub fn into_reader(self) -> impl tokio::io::AsyncRead + Send + 'static {
        tokio_util::io::StreamReader::new(Box::pin(self.into_stream()))
    }

    /// The whole body, refused past `limit` bytes (an error page or an XML
    /// answer, never a photo).
    pub async fn bytes(self, limit: usize) -> Result<Bytes, EgressError> {
        use futures_util::StreamExt;
        let url = self.url.clone();
        let mut collected = BytesMut::new();
        let mut stream = std::pin::pin!(self.into_stream());
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| EgressError::Body {
                url: url.clone(),
                reason: super::error::chain(&e),
            })?;
            if collected.len() + chunk.len() > limit {
                return Err(EgressError::TooLarge { url, limit });
            }
            collected.extend_from_slice(&chunk);
        }
        Ok(collected.freeze())
    }
}
