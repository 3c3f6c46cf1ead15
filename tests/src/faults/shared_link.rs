//! One shared uplink for every connection: a loopback TCP relay whose
//! phone-to-station bytes all draw from a single rate limit, as on a phone's
//! radio link. Toxiproxy's bandwidth toxic limits each connection on its own,
//! so pipelined uploads over several connections would get several links.
//!
//! Written by hand: a token bucket over a byte relay is a few lines, and no
//! maintained crate offers a shared-rate TCP relay.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// The running relay; stops when dropped.
pub struct SharedLink {
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
}

impl SharedLink {
    /// Relays a free loopback port to `127.0.0.1:upstream_port`, all uplink bytes
    /// together no faster than `bytes_per_sec`.
    pub fn start(upstream_port: u16, bytes_per_sec: u64) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("relay runtime");
        let std_listener = StdListener::bind("127.0.0.1:0").expect("bind relay");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("relay addr").port();
        let upstream = SocketAddr::from(([127, 0, 0, 1], upstream_port));
        let bucket = Arc::new(Bucket {
            rate: bytes_per_sec.max(1),
            next_free: Mutex::new(None),
        });
        runtime.spawn(async move {
            let listener = TcpListener::from_std(std_listener).expect("tokio listener");
            while let Ok((inbound, _)) = listener.accept().await {
                tokio::spawn(relay(inbound, upstream, Arc::clone(&bucket)));
            }
        });
        Self {
            port,
            runtime: Some(runtime),
        }
    }

    /// The port phones (or a proxy in front) connect to.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for SharedLink {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// The shared rate: the moment the link is free to carry the next byte.
struct Bucket {
    rate: u64,
    next_free: Mutex<Option<Instant>>,
}

impl Bucket {
    /// Reserves airtime for `n` bytes and returns when they have gone through.
    fn reserve(&self, n: usize) -> Instant {
        let mut next = self
            .next_free
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let start = next.map_or(now, |t| t.max(now));
        let done = start + Duration::from_nanos(n as u64 * 1_000_000_000 / self.rate);
        *next = Some(done);
        done
    }
}

async fn relay(mut inbound: TcpStream, upstream: SocketAddr, bucket: Arc<Bucket>) {
    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (mut phone_read, mut phone_write) = inbound.split();
    let (mut station_read, mut station_write) = outbound.split();
    let up = shaped_copy(&mut phone_read, &mut station_write, &bucket);
    let down = tokio::io::copy(&mut station_read, &mut phone_write);
    let _ = tokio::join!(up, down);
}

async fn shaped_copy(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    bucket: &Bucket,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        tokio::time::sleep_until(bucket.reserve(n)).await;
        to.write_all(&buf[..n]).await?;
    }
}
