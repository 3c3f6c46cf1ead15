//! An HTTP-level fault stage: a small reverse proxy on loopback that answers
//! chosen requests itself (503 or 429 with `Retry-After`) and passes the others
//! to the station untouched. Toxiproxy breaks TCP; this breaks HTTP. It also
//! logs every request it saw, with timestamps, for assertions on retry timing.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;

use super::Rng;

/// What the stage does to the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storm {
    /// Passes everything through.
    Calm,
    /// Answers the next `count` requests with `status`, then passes through again.
    Burst {
        /// 503, 429, …
        status: u16,
        /// How many requests to refuse.
        count: u32,
        /// `Retry-After` in seconds, if sent.
        retry_after: Option<u32>,
    },
    /// Answers each request with `status` with probability `percent`/100.
    Share {
        /// 503, 429, …
        status: u16,
        /// Share refused, 0..=100.
        percent: u32,
        /// `Retry-After` in seconds, if sent.
        retry_after: Option<u32>,
    },
}

/// One request the stage saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// When its head arrived.
    pub arrived: Instant,
    /// When the stage had the answer ready to send.
    pub answered: Instant,
    /// The status returned to the phone.
    pub status: u16,
    /// Whether the stage answered it itself (a fault) instead of the station.
    pub faulted: bool,
    /// `Retry-After` the stage sent, in seconds.
    pub retry_after: Option<u32>,
    /// Request body bytes that arrived (all of them when `complete`).
    pub body_len: usize,
    /// Whether the whole request arrived; a cut one is not forwarded, and its
    /// `status` is 0.
    pub complete: bool,
}

struct Inner {
    upstream: String,
    storm: Mutex<(Storm, Rng)>,
    seen: Mutex<Vec<Seen>>,
    client: reqwest::Client,
}

/// The running stage; stops on drop.
pub struct HttpStage {
    inner: Arc<Inner>,
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
}

impl HttpStage {
    /// Starts a stage on a free loopback port in front of `upstream`
    /// (e.g. `http://127.0.0.1:PORT/`), calm, with `seed` for `Storm::Share`.
    pub fn start(upstream: &str, seed: u64) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("http-fault-stage")
            .build()
            .expect("stage runtime");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("stage client");
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_owned(),
            storm: Mutex::new((Storm::Calm, Rng::new(seed))),
            seen: Mutex::new(Vec::new()),
            client,
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind stage");
        let port = listener.local_addr().expect("stage addr").port();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&inner));
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            inner,
            port,
            runtime: Some(runtime),
        }
    }

    /// `http://127.0.0.1:PORT/`, the address the phone talks to.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Sets what happens to the next requests.
    pub fn set(&self, storm: Storm) {
        self.inner
            .storm
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0 = storm;
    }

    /// Every request seen so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets the log.
    pub fn clear_log(&self) {
        self.inner
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl Drop for HttpStage {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Inner {
    fn log(&self, seen: Seen) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(seen);
    }

    /// Whether to refuse this request, and how.
    fn decide(&self) -> Option<(u16, Option<u32>)> {
        let mut guard = self.storm.lock().unwrap_or_else(PoisonError::into_inner);
        let (storm, rng) = &mut *guard;
        match *storm {
            Storm::Calm => None,
            Storm::Burst {
                status,
                count,
                retry_after,
            } => {
                *storm = if count <= 1 {
                    Storm::Calm
                } else {
                    Storm::Burst {
                        status,
                        count: count - 1,
                        retry_after,
                    }
                };
                (count > 0).then_some((status, retry_after))
            }
            Storm::Share {
                status,
                percent,
                retry_after,
            } => (rng.below(100) < u64::from(percent)).then_some((status, retry_after)),
        }
    }
}

/// Headers that belong to one hop and are not forwarded.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "transfer-encoding" | "te" | "upgrade" | "content-length"
    )
}

async fn handle(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let arrived = Instant::now();
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    // Read the body frame by frame, so the bytes of a request cut mid-way count.
    let mut stream = body.into_data_stream();
    let mut received = Vec::new();
    let mut complete = true;
    while let Some(frame) = stream.next().await {
        match frame {
            Ok(bytes) => received.extend_from_slice(&bytes),
            Err(_) => {
                complete = false;
                break;
            }
        }
    }
    let body = axum::body::Bytes::from(received);
    let mut seen = Seen {
        method: parts.method.to_string(),
        path,
        arrived,
        answered: arrived,
        status: 0,
        faulted: false,
        retry_after: None,
        body_len: body.len(),
        complete,
    };
    let response = if !complete {
        // The client is gone: a truncated request is never forwarded.
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response
    } else if let Some((status, retry_after)) = inner.decide() {
        seen.faulted = true;
        seen.retry_after = retry_after;
        refusal(status, retry_after)
    } else {
        forward(&inner, &parts.method, &seen.path, &parts.headers, body).await
    };
    if complete {
        seen.status = response.status().as_u16();
    }
    seen.answered = Instant::now();
    inner.log(seen);
    response
}

/// The stage's own answer: `status` with a problem document and `Retry-After`.
fn refusal(status: u16, retry_after: Option<u32>) -> Response {
    let mut response = Response::new(Body::from(
        r#"{"type":"about:blank","title":"fault injected by the test stage"}"#,
    ));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

async fn forward(
    inner: &Inner,
    method: &axum::http::Method,
    path: &str,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut request = inner
        .client
        .request(method.clone(), format!("{}{path}", inner.upstream))
        .timeout(Duration::from_secs(60))
        .body(body);
    for (name, value) in headers {
        if !hop_by_hop(name) && name != header::HOST {
            request = request.header(name, value);
        }
    }
    let upstream = match request.send().await {
        Ok(r) => r,
        Err(_) => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            return response;
        }
    };
    let status = upstream.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in upstream.headers() {
        if !hop_by_hop(name) {
            out_headers.append(name, value.clone());
        }
    }
    let bytes = upstream.bytes().await.unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = out_headers;
    response
}
