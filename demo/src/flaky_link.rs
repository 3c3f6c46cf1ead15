//! A TCP relay with outages between the simulated phones and the station.
//!
//! Written by hand because it is small and the demo must run with nothing but
//! cargo: Toxiproxy (used by the fault tests) is a Go program to install, and
//! noxious, its Rust port, has been unmaintained since 2021. During an outage the
//! relay refuses new connections and cuts every open one mid-transfer, as a
//! carrier walking into a basement or a lift would see.
//!
//! Outages are placed by bytes, not by the clock: the storm cuts the link when
//! the phones' uploads pass seeded points of the total they have to send. A clock
//! schedule missed the whole drain on a fast machine (88 phones drained in 2.3 s,
//! before the first outage was due); a byte schedule lands every outage while
//! photos are flowing, whatever the speed of the machine, and the connection
//! that crosses a point is always cut mid-transfer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
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
    /// Bytes relayed from the phones to the station.
    pub bytes_up: AtomicU64,
}

/// Where the outages fall: the uplink byte counts that start one, ascending,
/// and how long each lasts.
#[derive(Debug, Clone, PartialEq)]
pub struct Storm {
    /// `(bytes_up at which the link goes down, outage length)`, ascending.
    outages: Vec<(u64, Duration)>,
}

impl Storm {
    /// Outages seeded by `seed` over an upload of about `total_bytes`: one in each
    /// of `count` equal slices of the first 80 % of it (so the last ones still
    /// fall before the drain ends, even if retries are cheap), each down for
    /// 0.3–1.5 s.
    pub fn over(total_bytes: u64, count: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let span = total_bytes.saturating_mul(4) / 5;
        let slice = (span / count.max(1) as u64).max(1);
        let outages = (0..count as u64)
            .map(|n| {
                let at = n * slice + rng.random_range(0..slice);
                (
                    at.max(1),
                    Duration::from_millis(rng.random_range(300..1_500)),
                )
            })
            .collect();
        Self { outages }
    }

    /// How many outages the storm holds.
    pub fn len(&self) -> usize {
        self.outages.len()
    }
}

/// The running relay.
pub struct FlakyLink {
    /// Where the phones connect.
    pub addr: SocketAddr,
    /// Counters.
    pub stats: Arc<LinkStats>,
    tasks: Vec<JoinHandle<()>>,
    down: watch::Sender<bool>,
    /// Uplink byte count of the next outage; `u64::MAX` when none is due.
    next_cut: Arc<AtomicU64>,
    /// Wakes the storm when a relay passes `next_cut`.
    crossed: Arc<Notify>,
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
        let next_cut = Arc::new(AtomicU64::new(u64::MAX));
        let crossed = Arc::new(Notify::new());
        let relay = Relay {
            upstream,
            uplink_bytes_per_sec: uplink_bytes_per_sec.max(1),
            stats: Arc::clone(&stats),
            next_cut: Arc::clone(&next_cut),
            down: down.clone(),
            crossed: Arc::clone(&crossed),
        };
        let tasks = vec![tokio::spawn(accept(listener, Arc::new(relay), down_rx))];
        Ok(Self {
            addr,
            stats,
            tasks,
            down,
            next_cut,
            crossed,
        })
    }

    /// Starts the outages of `storm`, counted from the bytes relayed so far.
    pub fn storm(&mut self, storm: Storm) {
        self.tasks.push(tokio::spawn(weather(
            storm,
            self.down.clone(),
            Arc::clone(&self.stats),
            Arc::clone(&self.next_cut),
            Arc::clone(&self.crossed),
        )));
    }

    /// Ends the outages: the link stays up from now on.
    pub fn calm(&mut self) {
        for task in self.tasks.drain(1..) {
            task.abort();
        }
        self.next_cut.store(u64::MAX, Ordering::SeqCst);
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

/// Plays a storm: arms the next cut point, waits for a relay to cross it (the
/// relay takes the link down itself, in the same step, so its own connection
/// is cut mid-transfer), keeps the link down for the outage, then arms the next.
async fn weather(
    storm: Storm,
    down: watch::Sender<bool>,
    stats: Arc<LinkStats>,
    next_cut: Arc<AtomicU64>,
    crossed: Arc<Notify>,
) {
    let base = stats.bytes_up.load(Ordering::SeqCst);
    for (at, length) in storm.outages {
        let point = base.saturating_add(at);
        next_cut.store(point, Ordering::SeqCst);
        // The relays may have passed the point before it was armed; then the
        // storm trips it itself. Otherwise the relay that crosses it does and
        // wakes the storm (`notify_one` keeps the wake if it comes first).
        let passed_before_armed =
            stats.bytes_up.load(Ordering::SeqCst) >= point && trip(&next_cut, &down, &stats);
        if !passed_before_armed {
            crossed.notified().await;
        }
        tokio::time::sleep(length).await;
        let _ = down.send(false);
    }
}

/// Takes the link down once for the armed cut point (whichever relay or the
/// storm gets here first wins; the others see `u64::MAX`).
fn trip(next_cut: &AtomicU64, down: &watch::Sender<bool>, stats: &LinkStats) -> bool {
    let armed = next_cut.load(Ordering::SeqCst);
    if armed == u64::MAX
        || next_cut
            .compare_exchange(armed, u64::MAX, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
    {
        return false;
    }
    stats.outages.fetch_add(1, Ordering::Relaxed);
    // `send` fails only when no relay is listening, which changes nothing.
    let _ = down.send(true);
    true
}

/// Where and how fast to relay.
struct Relay {
    upstream: SocketAddr,
    uplink_bytes_per_sec: u64,
    stats: Arc<LinkStats>,
    next_cut: Arc<AtomicU64>,
    down: watch::Sender<bool>,
    crossed: Arc<Notify>,
}

impl Relay {
    /// Counts `n` uplink bytes and trips the armed outage when they cross it.
    fn relayed(&self, n: usize) {
        let total = self.stats.bytes_up.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        if total >= self.next_cut.load(Ordering::SeqCst)
            && trip(&self.next_cut, &self.down, &self.stats)
        {
            self.crossed.notify_one();
        }
    }
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
    let up = throttled_copy(&mut phone_read, &mut station_write, &relay);
    let back = tokio::io::copy(&mut station_read, &mut phone_write);
    tokio::select! {
        _ = async { tokio::join!(up, back) } => {}
        _ = down.wait_for(|is_down| *is_down) => {
            // Dropping both sides mid-transfer: the phone sees the connection die.
            relay.stats.cut.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Copies `from` to `to` no faster than the relay's uplink rate, counting bytes.
async fn throttled_copy(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    relay: &Relay,
) -> std::io::Result<()> {
    let rate = relay.uplink_bytes_per_sec;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        to.write_all(&buf[..n]).await?;
        relay.relayed(n);
        tokio::time::sleep(Duration::from_micros(n as u64 * 1_000_000 / rate)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storm_spreads_its_outages_over_the_first_four_fifths_of_the_upload() {
        let storm = Storm::over(10_000_000, 5, 7);
        assert_eq!(storm.len(), 5);
        let points: Vec<u64> = storm.outages.iter().map(|(at, _)| *at).collect();
        assert!(points.windows(2).all(|w| w[0] < w[1]), "{points:?}");
        for (n, at) in points.iter().enumerate() {
            let slice = 8_000_000 / 5;
            assert!(
                (n as u64 * slice..(n as u64 + 1) * slice).contains(at),
                "{points:?}"
            );
        }
        assert_eq!(
            Storm::over(10_000_000, 5, 7),
            storm,
            "the seed replays the storm"
        );
        assert_ne!(Storm::over(10_000_000, 5, 8), storm);
    }

    /// A real relay over loopback: pushing bytes through it trips each outage,
    /// cuts the connection carrying them, and the link comes back up.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn crossing_a_cut_point_takes_the_link_down_and_cuts_the_connection() {
        let sink = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let upstream = sink.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = sink.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while matches!(conn.read(&mut buf).await, Ok(n) if n > 0) {}
                });
            }
        });
        let mut link = FlakyLink::start(upstream, 50_000_000).await.expect("link");
        link.storm(Storm {
            outages: vec![(100_000, Duration::from_millis(200))],
        });
        let mut phone = TcpStream::connect(link.addr).await.expect("connect");
        let chunk = vec![7u8; 16 * 1024];
        let mut cut = false;
        for _ in 0..200 {
            if phone.write_all(&chunk).await.is_err() {
                cut = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(cut, "the connection carrying the crossing bytes is cut");
        assert_eq!(link.stats.outages.load(Ordering::Relaxed), 1);
        assert_eq!(link.stats.cut.load(Ordering::Relaxed), 1);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let mut again = TcpStream::connect(link.addr).await.expect("connect");
        again.write_all(&chunk).await.expect("the link is back up");
        link.calm();
    }
}
