//! The client: pooled connections, timeouts, retries.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::error::chain;
use super::request::WireBody;
use super::retry::{backoff, is_transient_status};
use super::{EgressError, OutboundRequest, OutboundResponse, tls};

/// Limits for outbound calls. One set per use (object storage, a referral
/// endpoint), since each has its own patience.
#[derive(Debug, Clone)]
pub struct EgressConfig {
    /// How long opening a TCP connection may take.
    pub connect_timeout: Duration,
    /// How long one attempt may take until the response head (a request
    /// body is sent within it).
    pub attempt_timeout: Duration,
    /// How long all attempts of one request, and the waits between them,
    /// may take together.
    pub retry_budget: Duration,
    /// Attempts after the first, for requests safe to repeat.
    pub max_retries: u32,
    /// The first wait before a retry; doubled each time up to
    /// `max_backoff`, with jitter.
    pub initial_backoff: Duration,
    /// The longest wait before a retry.
    pub max_backoff: Duration,
    /// How long a response body may stop arriving before reading it fails.
    pub stall_timeout: Duration,
    /// Whether plain `http://` URLs may be called (a test server on loopback).
    pub allow_http: bool,
}

impl Default for EgressConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(20),
            retry_budget: Duration::from_secs(20),
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            stall_timeout: Duration::from_secs(20),
            allow_http: false,
        }
    }
}

/// An outbound HTTP(S) client; cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct Egress {
    client: Client<HttpsConnector<HttpConnector>, WireBody>,
    config: Arc<EgressConfig>,
}

impl fmt::Debug for Egress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Egress")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Egress {
    /// A client with these limits. Connections open on first use.
    pub fn new(config: EgressConfig) -> Result<Self, EgressError> {
        let connector = tls::connector(&config)?;
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Ok(Self {
            client,
            config: Arc::new(config),
        })
    }

    /// The limits this client applies.
    pub fn config(&self) -> &EgressConfig {
        &self.config
    }

    /// Sends `request`, retrying transient failures while the request is
    /// safe to repeat and the retry budget lasts. Any status is an answer:
    /// the caller decides what a 404 or a 403 means. A transient status
    /// (503 and the like) still standing after the last retry is returned as
    /// the answer, for the caller to pass on.
    pub async fn send(
        &self,
        mut request: OutboundRequest,
    ) -> Result<OutboundResponse, EgressError> {
        let url = request.redacted_url();
        match request.url().scheme() {
            "https" => {}
            "http" if self.config.allow_http => {}
            "http" => return Err(EgressError::PlainHttp(url)),
            other => {
                return Err(EgressError::InvalidRequest {
                    url,
                    reason: format!("unsupported scheme {other}"),
                });
            }
        }
        let started = Instant::now();
        let budget_ends = started + self.config.retry_budget;
        let repeatable = request.can_repeat();
        let mut retry = 0;
        loop {
            let remaining = budget_ends.saturating_duration_since(Instant::now());
            let limit = self.config.attempt_timeout.min(remaining);
            let attempt = self.client.request(request.attempt()?);
            let failure = match tokio::time::timeout(limit, attempt).await {
                Ok(Ok(response)) => {
                    let status = response.status();
                    let answer =
                        OutboundResponse::new(response, url.clone(), self.config.stall_timeout);
                    if !(repeatable && is_transient_status(status)) {
                        return Ok(answer);
                    }
                    match self.wait_before_retry(retry, budget_ends) {
                        Some(wait) => {
                            tracing::debug!(url = %url, status = status.as_u16(), retry, "transient status; retrying");
                            drop(answer);
                            tokio::time::sleep(wait).await;
                            retry += 1;
                            continue;
                        }
                        None => return Ok(answer),
                    }
                }
                Ok(Err(e)) => EgressError::Transport {
                    url: url.clone(),
                    reason: chain(&e),
                },
                Err(_) => EgressError::TimedOut {
                    url: url.clone(),
                    after: started.elapsed(),
                },
            };
            let wait = if repeatable {
                self.wait_before_retry(retry, budget_ends)
            } else {
                None
            };
            let Some(wait) = wait else {
                return Err(failure);
            };
            tracing::debug!(url = %url, error = %failure, retry, "transient failure; retrying");
            tokio::time::sleep(wait).await;
            retry += 1;
        }
    }

    /// The wait before retry number `retry`, or `None` when retries are used
    /// up or the wait would end past the budget.
    fn wait_before_retry(&self, retry: u32, budget_ends: Instant) -> Option<Duration> {
        if retry >= self.config.max_retries {
            return None;
        }
        let wait = backoff(retry, self.config.initial_backoff, self.config.max_backoff);
        (Instant::now() + wait < budget_ends).then_some(wait)
    }
}
