//! The HTTP client the engine talks to the station with: reqwest over rustls,
//! with connect, read and idle timeouts, and the device credential.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Client, Response, Url};

use super::failure::Failure;
use crate::model::{ReportId, routes};

/// Largest error body read to build a message; the rest is dropped unread.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// Network timeouts. Connect and read timeouts catch a blackholed or half-open
/// connection within seconds instead of waiting for TCP to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP and TLS connection.
    pub connect: Duration,
    /// Longest silence while waiting for bytes of a response.
    pub read: Duration,
    /// How long an idle pooled connection is kept for reuse.
    pub idle: Duration,
    /// Floor of each request's total deadline; uploads get more in proportion to
    /// their size (see [`Timeouts::for_upload`]).
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(20),
            idle: Duration::from_secs(60),
            request: Duration::from_secs(30),
        }
    }
}

impl Timeouts {
    /// A total deadline for a request carrying `bytes`, assuming the link moves at
    /// least 16 KB/s (a weak 3G signal), so slow but live uploads are not cut.
    pub fn for_upload(&self, bytes: usize) -> Duration {
        self.request + Duration::from_millis((bytes as u64).saturating_mul(1000) / (16 * 1024))
    }
}

/// The station's address and an HTTP client bound to it.
#[derive(Clone)]
pub(crate) struct StationClient {
    http: Client,
    /// For requests carrying photo bytes: no read timeout, because reqwest counts
    /// it from the start of the request, so a chunk still uploading on a slow link
    /// would time out; the size-based deadline of [`Timeouts::for_upload`] bounds
    /// these instead.
    upload_http: Client,
    base: Url,
    timeouts: Timeouts,
}

impl std::fmt::Debug for StationClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StationClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The station URL does not parse or is not http(s).
    #[error("station URL is invalid: {0}")]
    InvalidUrl(String),
    /// The TLS stack could not be set up.
    #[error("HTTP client could not be built: {0}")]
    Build(String),
}

impl StationClient {
    /// Builds a client for the station at `base` (e.g. `https://station.example/`).
    pub fn new(base: &str, timeouts: Timeouts) -> Result<Self, ClientError> {
        let mut base = Url::parse(base).map_err(|e| ClientError::InvalidUrl(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::InvalidUrl(format!(
                "scheme `{}` is not http(s)",
                base.scheme()
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let builder = || {
            Client::builder()
                .connect_timeout(timeouts.connect)
                .pool_idle_timeout(timeouts.idle)
                .tcp_keepalive(Duration::from_secs(30))
                .user_agent(concat!("postcso-core/", env!("CARGO_PKG_VERSION")))
        };
        let build_error = |e: reqwest::Error| ClientError::Build(e.to_string());
        let http = builder()
            .read_timeout(timeouts.read)
            .build()
            .map_err(build_error)?;
        let upload_http = builder().build().map_err(build_error)?;
        Ok(Self {
            http,
            upload_http,
            base,
            timeouts,
        })
    }

    /// The timeouts in force.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Resolves a path or a `Location` header against the station's base URL.
    pub fn url(&self, path: &str) -> Result<Url, Failure> {
        self.base.join(path).map_err(|_| Failure::Permanent {
            status: 0,
            problem: None,
            message: "the station sent an unusable address".to_owned(),
        })
    }

    /// A request with the device credential (none when `token` is empty).
    pub fn request(
        &self,
        method: reqwest::Method,
        url: Url,
        token: &str,
    ) -> reqwest::RequestBuilder {
        with_credential(self.http.request(method, url), token)
    }

    /// A request carrying photo bytes, bounded by its size-based deadline rather
    /// than a read timeout.
    pub fn upload_request(
        &self,
        method: reqwest::Method,
        url: Url,
        token: &str,
    ) -> reqwest::RequestBuilder {
        with_credential(self.upload_http.request(method, url), token)
    }

    /// `PUT /v1/reports/{id}` with the sealed JSON. Ok(true) when newly stored,
    /// Ok(false) when the station already had it (a retry).
    pub async fn put_report(&self, token: &str, id: ReportId, json: &str) -> Result<bool, Failure> {
        let url = self.url(routes::relative(&routes::report(id)))?;
        let response = self
            .request(reqwest::Method::PUT, url, token)
            .header(CONTENT_TYPE, "application/json")
            .timeout(self.timeouts.request)
            .body(json.to_owned())
            .send()
            .await
            .map_err(|e| Failure::from_transport(&e))?;
        match response.status().as_u16() {
            201 => Ok(true),
            200 => Ok(false),
            _ => Err(failure_of(response).await),
        }
    }

    /// `GET` a JSON document (used for the changes feed).
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        url: Url,
    ) -> Result<T, Failure> {
        let response = self
            .request(reqwest::Method::GET, url, token)
            .timeout(self.timeouts.request)
            .send()
            .await
            .map_err(|e| Failure::from_transport(&e))?;
        if !response.status().is_success() {
            return Err(failure_of(response).await);
        }
        response
            .json::<T>()
            .await
            .map_err(|e| Failure::from_transport(&e))
    }
}

/// Adds `Authorization: Bearer` (marked sensitive, so it never shows in logs).
fn with_credential(request: reqwest::RequestBuilder, token: &str) -> reqwest::RequestBuilder {
    if token.is_empty() {
        return request;
    }
    let mut auth = HeaderValue::from_str(&format!("Bearer {token}"))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
    auth.set_sensitive(true);
    request.header(AUTHORIZATION, auth)
}

/// Reads a bounded part of an error response and classifies it.
pub(crate) async fn failure_of(mut response: Response) -> Failure {
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    Failure::from_response(status, &headers, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised_and_checked() {
        let c = StationClient::new("http://127.0.0.1:8080/station", Timeouts::default()).unwrap();
        assert_eq!(
            c.url("v1/uploads").unwrap().as_str(),
            "http://127.0.0.1:8080/station/v1/uploads"
        );
        assert_eq!(
            c.url("/v1/uploads/abc").unwrap().as_str(),
            "http://127.0.0.1:8080/v1/uploads/abc"
        );
        assert!(matches!(
            StationClient::new("ftp://x", Timeouts::default()),
            Err(ClientError::InvalidUrl(_))
        ));
        assert!(matches!(
            StationClient::new("not a url", Timeouts::default()),
            Err(ClientError::InvalidUrl(_))
        ));
    }

    #[test]
    fn upload_deadlines_grow_with_size() {
        let t = Timeouts::default();
        assert_eq!(t.for_upload(0), t.request);
        assert_eq!(
            t.for_upload(16 * 1024 * 10),
            t.request + Duration::from_secs(10)
        );
    }
}
