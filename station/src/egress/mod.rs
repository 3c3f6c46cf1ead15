//! Outbound HTTP(S): the one client the station uses to call other services
//! (S3-compatible object storage today; referral endpoints such as Open311
//! next), so that every outbound call gets the same limits and the same care
//! with secrets.
//!
//! - [`Egress`] sends an [`OutboundRequest`] and hands back an
//!   [`OutboundResponse`] whose body is read as a stream (or collected up to a
//!   limit). Connections are pooled and kept alive.
//! - A connect timeout, a timeout per attempt up to the response head, and a
//!   budget for all attempts together ([`EgressConfig`]): a phone or a
//!   supervisor is usually waiting on the other end.
//! - Bounded retries with exponential backoff and jitter on transient failures
//!   (refused or reset connections, timeouts, 429, 500, 502, 503, 504), only for
//!   requests that are safe to repeat and whose body can be sent again.
//! - TLS by rustls, trusting the system's roots (where an operator adds a
//!   private CA for an on-premises endpoint), or Mozilla's bundled roots when
//!   the system has none. Plain `http://` only when allowed.
//! - No secrets in `Debug`, errors or logs: URLs are shown without user info
//!   and query string (presigned S3 URLs carry their signature there), header
//!   values never.

mod client;
mod error;
mod redact;
mod request;
mod response;
mod retry;
mod tls;

pub use client::{Egress, EgressConfig};
pub use error::EgressError;
pub use redact::RedactedUrl;
pub use request::{BodyStream, OutboundRequest};
pub use response::OutboundResponse;

pub use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};

#[cfg(test)]
mod tests;
