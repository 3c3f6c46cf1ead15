//! The client against a real HTTP server on loopback: retries, timeouts,
//! streamed bodies and what errors show.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::routing::any;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use super::*;

/// Requests the server has seen.
#[derive(Clone, Default)]
struct Seen(Arc<AtomicUsize>);

impl Seen {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// A server that answers 503 to the first `failures` requests, then 200
/// with the length of the body it got.
async fn flaky(failures: usize) -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let router = Router::new()
        .route(
            "/{*path}",
            any(move |State(seen): State<Seen>, body: Bytes| async move {
                let n = seen.0.fetch_add(1, Ordering::SeqCst);
                if n < failures {
                    (AxumStatus::SERVICE_UNAVAILABLE, "busy".to_owned())
                } else {
                    (AxumStatus::OK, body.len().to_string())
                }
            }),
        )
        .with_state(seen.clone());
    (serve(router).await, seen)
}

fn quick() -> EgressConfig {
    EgressConfig {
        connect_timeout: Duration::from_secs(2),
        attempt_timeout: Duration::from_secs(2),
        retry_budget: Duration::from_secs(5),
        max_retries: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        stall_timeout: Duration::from_millis(300),
        allow_http: true,
    }
}

fn url(addr: SocketAddr, path: &str) -> url::Url {
    format!("http://{addr}{path}").parse().expect("url")
}

#[tokio::test]
async fn transient_statuses_are_retried_until_an_answer_comes() {
    let (addr, seen) = flaky(2).await;
    let egress = Egress::new(quick()).expect("client");
    let answer = egress
        .send(OutboundRequest::put(
            url(addr, "/a"),
            Bytes::from_static(b"hello"),
        ))
        .await
        .expect("answer");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.bytes(100).await.expect("body").as_ref(),
        b"5",
        "the body was sent again each time"
    );
    assert_eq!(seen.count(), 3);
}

#[tokio::test]
async fn a_post_is_sent_once_unless_the_caller_says_it_is_safe_to_repeat() {
    let (addr, seen) = flaky(usize::MAX).await;
    let egress = Egress::new(quick()).expect("client");
    let answer = egress
        .send(OutboundRequest::post(url(addr, "/a"), Bytes::new()))
        .await
        .expect("answer");
    assert_eq!(
        answer.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "the last answer is passed on"
    );
    assert_eq!(seen.count(), 1);
    let answer = egress
        .send(OutboundRequest::post(url(addr, "/a"), Bytes::new()).safe_to_repeat(true))
        .await
        .expect("answer");
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.count(), 1 + 4, "the first attempt and three retries");
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported_without_the_query_string() {
    // A port nobody listens on: bind, note it, close.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let egress = Egress::new(quick()).expect("client");
    let started = Instant::now();
    let error = egress
        .send(OutboundRequest::get(url(
            addr,
            "/photos/k?X-Amz-Signature=s3cr3t",
        )))
        .await
        .expect_err("nobody listens");
    let text = error.to_string();
    assert!(matches!(error, EgressError::Transport { .. }), "{text}");
    assert!(
        text.contains("Connection refused") || text.contains("connect"),
        "{text}"
    );
    assert!(text.contains(&format!("http://{addr}/photos/k")), "{text}");
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(
        started.elapsed() >= Duration::from_millis(15),
        "three backoffs waited"
    );
}

#[tokio::test]
async fn a_silent_server_times_out_within_the_budget() {
    let router = Router::new().route(
        "/slow",
        any(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let addr = serve(router).await;
    let egress = Egress::new(EgressConfig {
        attempt_timeout: Duration::from_millis(200),
        retry_budget: Duration::from_millis(500),
        ..quick()
    })
    .expect("client");
    let started = Instant::now();
    let error = egress
        .send(OutboundRequest::get(url(addr, "/slow")))
        .await
        .expect_err("times out");
    assert!(matches!(error, EgressError::TimedOut { .. }), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn plain_http_is_refused_unless_allowed() {
    let (addr, seen) = flaky(0).await;
    let egress = Egress::new(EgressConfig {
        allow_http: false,
        ..quick()
    })
    .expect("client");
    let error = egress
        .send(OutboundRequest::get(url(addr, "/a")))
        .await
        .expect_err("refused");
    assert!(matches!(error, EgressError::PlainHttp(_)), "{error}");
    assert_eq!(seen.count(), 0, "nothing was sent");
}

#[tokio::test]
async fn bodies_stream_both_ways_and_a_collected_one_has_a_limit() {
    let router = Router::new().route(
        "/echo",
        any(|body: Body| async move { Body::from_stream(body.into_data_stream()) }),
    );
    let addr = serve(router).await;
    let egress = Egress::new(quick()).expect("client");
    let chunks: Vec<std::io::Result<Bytes>> = (0..64u8)
        .map(|i| Ok(Bytes::from(vec![i; 16 * 1024])))
        .collect();
    let request = OutboundRequest::new(Method::PUT, url(addr, "/echo")).streamed_body(
        Box::pin(futures_util::stream::iter(chunks)),
        Some(64 * 16 * 1024),
    );
    let answer = egress.send(request).await.expect("answer");
    assert_eq!(answer.status(), StatusCode::OK);
    let mut echoed = Vec::new();
    answer
        .into_reader()
        .read_to_end(&mut echoed)
        .await
        .expect("read");
    assert_eq!(echoed.len(), 64 * 16 * 1024);
    assert!(
        echoed
            .chunks(16 * 1024)
            .enumerate()
            .all(|(i, c)| c.iter().all(|b| usize::from(*b) == i))
    );

    let answer = egress
        .send(OutboundRequest::put(
            url(addr, "/echo"),
            Bytes::from(vec![7; 10_000]),
        ))
        .await
        .expect("answer");
    assert!(matches!(
        answer.bytes(1_000).await,
        Err(EgressError::TooLarge { limit: 1_000, .. })
    ));
}

#[tokio::test]
async fn a_body_that_stalls_ends_in_an_error_instead_of_hanging() {
    let router = Router::new().route(
        "/stall",
        any(|| async {
            let first = futures_util::stream::once(async {
                Ok::<_, std::io::Error>(Bytes::from_static(b"part"))
            });
            Body::from_stream(first.chain(futures_util::stream::pending()))
        }),
    );
    let addr = serve(router).await;
    let egress = Egress::new(quick()).expect("client");
    let answer = egress
        .send(OutboundRequest::get(url(addr, "/stall")))
        .await
        .expect("answer");
    let mut stream = std::pin::pin!(answer.into_stream());
    assert_eq!(
        stream
            .next()
            .await
            .expect("a chunk")
            .expect("data")
            .as_ref(),
        b"part"
    );
    let stalled = stream.next().await.expect("an item").expect_err("stalled");
    assert_eq!(stalled.kind(), std::io::ErrorKind::TimedOut);
    assert!(
        stream.next().await.is_none(),
        "the stream ends after the error"
    );
}

#[test]
fn debug_shows_no_header_value_nor_query() {
    let request = OutboundRequest::get(
        "https://api.example.net/requests.json?api_key=k3y"
            .parse()
            .expect("url"),
    )
    .header(
        header::AUTHORIZATION,
        HeaderValue::from_static("Bearer t0ken"),
    );
    let shown = format!("{request:?}");
    assert!(
        shown.contains("https://api.example.net/requests.json"),
        "{shown}"
    );
    assert!(shown.contains("authorization"), "{shown}");
    assert!(
        !shown.contains("k3y") && !shown.contains("t0ken"),
        "{shown}"
    );
}
