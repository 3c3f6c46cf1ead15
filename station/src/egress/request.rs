//! What to send: method, URL, headers and a body.

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;

use super::{EgressError, RedactedUrl};

/// A request body produced while it is sent (a file, a photo from storage):
/// sent once, so never retried.
pub type BodyStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// The body type the client sends.
pub(super) type WireBody = UnsyncBoxBody<Bytes, std::io::Error>;

enum Body {
    Empty,
    Bytes(Bytes),
    Stream(Option<BodyStream>),
}

/// One outbound request. Safe to repeat by default when its method is
/// idempotent (GET, HEAD, PUT, DELETE) and its body is in memory; see
/// [`OutboundRequest::safe_to_repeat`].
pub struct OutboundRequest {
    method: Method,
    url: url::Url,
    headers: HeaderMap,
    body: Body,
    repeatable: bool,
}

/// Header names only: values may be credentials.
impl fmt::Debug for OutboundRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundRequest")
            .field("method", &self.method)
            .field("url", &self.redacted_url())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl OutboundRequest {
    /// A request with no headers and an empty body.
    pub fn new(method: Method, url: url::Url) -> Self {
        let repeatable = method.is_idempotent();
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: Body::Empty,
            repeatable,
        }
    }

    /// `GET url`.
    pub fn get(url: url::Url) -> Self {
        Self::new(Method::GET, url)
    }

    /// `HEAD url`.
    pub fn head(url: url::Url) -> Self {
        Self::new(Method::HEAD, url)
    }

    /// `PUT url` with a body in memory.
    pub fn put(url: url::Url, body: Bytes) -> Self {
        Self::new(Method::PUT, url).body(body)
    }

    /// `POST url` with a body in memory (not repeated unless
    /// [`OutboundRequest::safe_to_repeat`] says so).
    pub fn post(url: url::Url, body: Bytes) -> Self {
        Self::new(Method::POST, url).body(body)
    }

    /// `DELETE url`.
    pub fn delete(url: url::Url) -> Self {
        Self::new(Method::DELETE, url)
    }

    /// Adds a header. A value marked sensitive is also kept out of HTTP/2
    /// header compression tables; no value is ever shown.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets a body held in memory (it can be sent again on a retry). Its
    /// length becomes the `Content-Length`.
    pub fn body(mut self, body: Bytes) -> Self {
        self.body = Body::Bytes(body);
        self
    }

    /// Sets a body read while it is sent; give its length when known (many
    /// servers, S3 among them, refuse chunked uploads). Never retried.
    pub fn streamed_body(mut self, body: BodyStream, len: Option<u64>) -> Self {
        if let Some(len) = len {
            self.headers
                .insert(http::header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        self.body = Body::Stream(Some(body));
        self
    }

    /// Whether the request may be sent again after a transient failure:
    /// true for a POST the other side treats as idempotent (S3's
    /// CompleteMultipartUpload), false for a PUT it does not.
    pub fn safe_to_repeat(mut self, repeatable: bool) -> Self {
        self.repeatable = repeatable;
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL as it may be shown.
    pub fn redacted_url(&self) -> RedactedUrl {
        RedactedUrl::of(&self.url)
    }

    pub(super) fn url(&self) -> &url::Url {
        &self.url
    }

    /// Whether a failed attempt may be followed by another.
    pub(super) fn can_repeat(&self) -> bool {
        self.repeatable && !matches!(self.body, Body::Stream(_))
    }

    /// The request for one attempt. A streamed body is handed over on the
    /// first attempt; [`OutboundRequest::can_repeat`] keeps there from being
    /// a second.
    pub(super) fn attempt(&mut self) -> Result<http::Request<WireBody>, EgressError> {
        let body: WireBody = match &mut self.body {
            Body::Empty => Empty::new().map_err(|never| match never {}).boxed_unsync(),
            Body::Bytes(bytes) => Full::new(bytes.clone())
                .map_err(|never| match never {})
                .boxed_unsync(),
            Body::Stream(stream) => {
                let stream = stream
                    .take()
                    .ok_or_else(|| self.invalid("a streamed body is sent once"))?;
                StreamBody::new(stream.map_ok(Frame::data)).boxed_unsync()
            }
        };
        let uri: http::Uri = self
            .url
            .as_str()
            .parse()
            .map_err(|e: http::uri::InvalidUri| self.invalid(&e.to_string()))?;
        let mut request = http::Request::builder()
            .method(self.method.clone())
            .uri(uri)
            .body(body)
            .map_err(|e| self.invalid(&e.to_string()))?;
        *request.headers_mut() = self.headers.clone();
        Ok(request)
    }

    fn invalid(&self, reason: &str) -> EgressError {
        EgressError::InvalidRequest {
            url: self.redacted_url(),
            reason: reason.to_owned(),
        }
    }
}
