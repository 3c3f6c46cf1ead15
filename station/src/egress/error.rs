//! Why an outbound request failed, with the URL shown redacted.

use std::time::Duration;

use super::RedactedUrl;

/// Why an outbound request got no usable answer. Every variant that names a
/// URL names it redacted ([`RedactedUrl`]).
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    /// The client could not be built (TLS set-up).
    #[error("cannot set up the outbound HTTP client: {0}")]
    Setup(String),
    /// A plain `http://` URL where only `https://` is allowed.
    #[error("refusing plain http for {0}: only https is allowed")]
    PlainHttp(RedactedUrl),
    /// The request cannot be sent as built (a URL that is not HTTP, a bad header).
    #[error("cannot send a request to {url}: {reason}")]
    InvalidRequest {
        /// Where it was going.
        url: RedactedUrl,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection, or the connection failed before a response head came.
    #[error("{url}: {reason}")]
    Transport {
        /// Where it was going.
        url: RedactedUrl,
        /// What the transport said (connection refused, reset, TLS).
        reason: String,
    },
    /// No response head within the attempt's timeout or the retry budget.
    #[error("{url}: no answer within {after:?}")]
    TimedOut {
        /// Where it was going.
        url: RedactedUrl,
        /// How long it waited in all.
        after: Duration,
    },
    /// The response body could not be read (cut, stalled).
    #[error("{url}: reading the response body: {reason}")]
    Body {
        /// Where it came from.
        url: RedactedUrl,
        /// What went wrong.
        reason: String,
    },
    /// The response body is larger than the caller accepts.
    #[error("{url}: the response body is larger than {limit} bytes")]
    TooLarge {
        /// Where it came from.
        url: RedactedUrl,
        /// The caller's limit.
        limit: usize,
    },
}

/// An error and its sources on one line: hyper's own `Display` says only
/// "client error (Connect)"; the cause is in the chain.
pub(super) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
