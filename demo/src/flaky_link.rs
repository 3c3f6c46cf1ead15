//! A TCP relay with random outages between the simulated phones and the station.
//!
//! Written by hand because it is small and the demo must run with nothing but
//! cargo: Toxiproxy (used by the fault tests) is a Go program to install, and
//! noxious, its Rust port, has been unmaintained since 2021. During an outage the
//! relay refuses new connections and cuts every open one mid-transfer, as a
//! carrier walking into a basement or a lift would see.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the link did, for the demo's progress line and table.
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Outages so far.
    pub outages: AtomicU64,
    /// Connections cut mid-transfer by an outage.
    pub cut: AtomicU64,
    /// Connections refused during an outage.
    pub refused: AtomicU64,
}

/// The running relay.
pub struct FlakyLink {
    /// Where the phones connect.
    pub addr: SocketAddr,
    /// Counters.
    pub stats: Arc<LinkStats>,
    tasks: Vec<JoinHandle<()>>,
    down: watch::Sender<bool>,
}

impl FlakyLink {
    /// Relays `127.0.0.1:<free>` to `upstream`, each connection's uplink capped at
    /// `uplink_bytes_per_sec` (a phone's mobile upload). The link is steady until
    /// [`FlakyLink::storm`].
    pub async fn start(upstream: SocketAddr, uplink_bytes_per_sec: u64) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(LinkStats::default());
        let (down, down_rx) = watch::channel(false);
        let relay = Relay {
            upstream,
            uplink_bytes_per_sec: uplink_bytes_per_sec.max(1),
            stats: Arc::clone(&stats),
        };
        let tasks = vec![tokio::spawn(accept(listener, Arc::new(relay), down_rx))];
        Ok(Self {
            addr,
            stats,
            tasks,
            down,
        })
    }

    /// Starts random outages: down for 0.5–2 s after every 3–8 s up (the first
    /// within 1–2.5 s), following `seed`.
    pub fn storm(&mut self, seed: u64) {
        self.tasks.push(tokio::spawn(weather(
            self.down.clone(),
            Arc::clone(&self.stats),
            seed,
        )));
    }

    /// Ends the outages: the link stays up from now on.
    pub fn calm(&mut self) {
        for task in self.tasks.drain(1..) {
            task.abort();
        }
        let _ = self.down.send(false);
    }
}

impl Drop for FlakyLink {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Toggles outages at random.
async fn weather(down: watch::Sender<bool>, stats: Arc<LinkStats>, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut up = Duration::from_millis(rng.random_range(1_000..2_500));
    loop {
        tokio::time::sleep(up).await;
        up = Duration::from_millis(rng.random_range(3_000..8_000));
        stats.outages.fetch_add(1, Ordering::Relaxed);
        let _ = down.send(true);
        tokio::time::sleep(Duration::from_millis(rng.random_range(500..2_000))).await;
        let _ = down.send(false);
    }
}

/// Where and how fast to relay.
struct Relay {
    upstream: SocketAddr,
    uplink_bytes_per_sec: u64,
    stats: Arc<LinkStats>,
}

async fn accept(listener: TcpListener, relay: Arc<Relay>, down: watch::Receiver<bool>) {
    loop {
        let Ok((inbound, _)) = listener.accept().await else {
            continue;
        };
        if *down.borrow() {
            relay.stats.refused.fetch_add(1, Ordering::Relaxed);
            drop(inbound);
            continue;
        }
        tokio::spawn(relay_one(inbound, Arc::clone(&relay), down.clone()));
    }
}

async fn relay_one(mut inbound: TcpStream, relay: Arc<Relay>, mut down: watch::Receiver<bool>) {
    let Ok(mut outbound) = TcpStream::connect(relay.upstream).await else {
        return;
    };
    let (mut phone_read, mut phone_write) = inbound.split();
    let (mut station_read, mut station_write) = outbound.split();
    let up = throttled_copy(
        &mut phone_read,
        &mut station_write,
        relay.uplink_bytes_per_sec,
    );
    let back = tokio::io::copy(&mut station_read, &mut phone_write);
    tokio::select! {
        _ = async { tokio::join!(up, back) } => {}
        _ = down.wait_for(|is_down| *is_down) => {
            // Dropping both sides mid-transfer: the phone sees the connection die.
            relay.stats.cut.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Copies `from` to `to` no faster than `rate` bytes per second.
async fn throttled_copy(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    rate: u64,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buf[..n]).await?;
        tokio::time::sleep(Duration::from_micros(n as u64 * 1_000_000 / rate)).await;
    }
}
