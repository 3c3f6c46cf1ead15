//! `postcso-demo`: the main job (`cargo xtask demo`). An embedded station, a
//! fleet of simulated carriers filing reports with real photos offline, then
//! syncing through a link with outages; a live progress line and a closing table.
//!
//! Its own crate, so the station server does not link the phone core: each
//! simulated carrier is a real `postcso-core` queue and sync engine.

mod flaky_link;
mod fleet;
mod places;
mod tally;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Parser;
use tokio::net::TcpListener;

use flaky_link::{FlakyLink, Storm};
use fleet::{Alerts, Phone};
use places::Places;
use postcso_station::auth::{hash_secret, new_enrolment_code, normalise_enrolment_code};
use postcso_station::config::{RateLimit, ServerConfig};
use postcso_station::exit::{CliError, Exit};
use postcso_station::repo::sqlite::SqliteRepository;
use postcso_station::repo::{Actor, DeviceStore, NewEnrolmentCode, StationStore, ZoneStore};
use postcso_station::server::{DB_FILE, open_state, serve};
use tally::Tally;

/// The POST-CSO demo: an embedded station and a fleet of simulated carriers
/// filing reports offline, then syncing them through a link with outages.
#[derive(Debug, Parser)]
#[command(
    name = "postcso-demo",
    version,
    after_help = "Exit status: 0 when every report arrived exactly once, 1 when any was lost or \
                  duplicated or the demo failed, 2 on a usage error, 6 on an I/O error."
)]
pub struct DemoArgs {
    /// Simulated carriers (the Seodaemun programme has 88).
    #[arg(long, default_value_t = 88, value_parser = clap::value_parser!(u32).range(1..=2000))]
    pub carriers: u32,
    /// Reports each carrier files, each with one real photo.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub reports: u32,
    /// Each phone's upload speed in kilobits per second (a street-level 4G uplink).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(8..))]
    pub uplink_kbps: u64,
    /// Keep the link up (no outages).
    #[arg(long)]
    pub no_outages: bool,
    /// Seed of the outage pattern (printed; reuse it to replay a run).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Give up waiting for delivery after this many seconds.
    #[arg(long, default_value_t = 100)]
    pub timeout_secs: u64,
    /// Where to keep the station and the phones (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// After the table, keep the station running for a look, until Ctrl-C.
    #[arg(long)]
    pub keep_running: bool,
}

fn main() -> std::process::ExitCode {
    let args = DemoArgs::parse();
    postcso_station::telemetry::init(false, "warn");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(Exit::Failure as u8);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            std::process::ExitCode::from(e.exit as u8)
        }
    }
}

/// Runs the demo; fails (exit 1) if any report was lost or duplicated.
async fn run(args: DemoArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let temp;
    let root = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir()
                .map_err(|e| io_error("cannot make a temporary directory", e))?;
            temp.path().to_owned()
        }
    };
    let seed = args
        .seed
        .unwrap_or_else(|| Utc::now().timestamp_micros() as u64);
    let carriers = args.carriers as usize;
    let per_carrier = args.reports as usize;
    eprintln!(
        "POST-CSO demo: {carriers} carriers × {per_carrier} reports with photos; uplink {} kbit/s each; outages {} (seed {seed}); data in {}",
        args.uplink_kbps,
        if args.no_outages { "off" } else { "on" },
        root.display()
    );

    let station_dir = root.join("station");
    let (codes, zones) = create_station(&station_dir, carriers).await?;
    let (station_addr, _server) = start_station(&station_dir).await?;
    let mut link = FlakyLink::start(station_addr, args.uplink_kbps * 1000 / 8)
        .await
        .map_err(|e| io_error("cannot start the flaky link", e))?;
    let link_url = format!("http://{}/", link.addr);

    let phones = open_phones(&root.join("phones"), &codes, &link_url, zones).await?;
    eprintln!(
        "enrolled {} phones through the flaky link; each holds the {zones} zones offline",
        phones.len()
    );
    let Filed {
        ids: filed,
        photo_bytes,
        alerts,
    } = file_offline(&phones, per_carrier, seed).await?;
    eprintln!(
        "filed {} reports offline in {:.1}s (photos oriented, downscaled, stripped, sealed; zones and district recorded)",
        filed.len(),
        started.elapsed().as_secs_f64()
    );
    for sample in &alerts.samples {
        eprintln!("  {sample}");
    }

    let sync_started = Instant::now();
    if !args.no_outages {
        // About one outage per 25 phones, at least three.
        let storm = Storm::over(photo_bytes, (carriers / 25).max(3), seed);
        eprintln!(
            "{} outages placed along the {:.1} MB upload",
            storm.len(),
            photo_bytes as f64 / 1e6
        );
        link.storm(storm);
    }
    for phone in phones.iter() {
        phone
            .engine
            .set_network_state(postcso_core::sync::NetworkState::UNMETERED);
    }
    let db = station_dir.join(DB_FILE);
    let deadline = sync_started + Duration::from_secs(args.timeout_secs);
    loop {
        let unsent: u64 = phones.iter().map(|p| p.unsent()).sum();
        let tally = Tally::count(&db, &filed, &phones, &link.stats);
        progress(&tally, unsent, sync_started.elapsed());
        if unsent == 0 && tally.delivered == filed.len() as u64 {
            break;
        }
        if Instant::now() >= deadline {
            eprintln!("\ngave up waiting after {}s", args.timeout_secs);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    link.calm();
    eprintln!();
    let mut tally = Tally::count(&db, &filed, &phones, &link.stats);
    tally.watch_area_alerts = alerts.entered;
    tally.print(
        &mut std::io::stdout(),
        sync_started.elapsed(),
        started.elapsed(),
    );

    if args.keep_running {
        eprintln!(
            "station running at http://{station_addr}/ (data in {}); Ctrl-C to stop",
            station_dir.display()
        );
        postcso_station::server::shutdown_signal().await;
    }
    drop(phones);
    if tally.lost > 0 || tally.duplicated > 0 {
        return Err(CliError::new(
            Exit::Failure,
            format!(
                "{} lost and {} duplicated reports",
                tally.lost, tally.duplicated
            ),
        ));
    }
    Ok(())
}

/// Creates the station for 서대문구 (its real boundary as its jurisdiction,
/// the demo's watch areas imported) and one enrolment code per carrier.
/// Returns the codes and how many zones the station has.
async fn create_station(
    dir: &Path,
    carriers: usize,
) -> Result<(Vec<(String, String)>, usize), CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| io_error("cannot create the station's data dir", e))?;
    let repo = SqliteRepository::open(&dir.join(DB_FILE)).await?;
    let station = repo
        .create_station("seodaemun", "Seodaemun Police Station")
        .await?;
    let jurisdiction = postcso_station::zones::jurisdiction::from_district(places::JURISDICTION)
        .map_err(|e| failure(e.to_string()))?;
    repo.add_zone(station.id, jurisdiction.zone, Actor::console(), Utc::now())
        .await?;
    let prepared = postcso_station::zones::import::prepare(places::WATCH_AREAS)
        .map_err(|e| failure(format!("the demo's watch areas: {e}")))?;
    repo.import_zones(station.id, prepared.zones, Actor::console(), Utc::now())
        .await?;
    let zones = repo.zones(station.id).await?.len();
    let codes: Vec<(String, String)> = (1..=carriers)
        .map(|n| (format!("carrier-{n:03}"), new_enrolment_code()))
        .collect();
    let expires_at = Utc::now() + chrono::Duration::days(1);
    let rows = codes
        .iter()
        .map(|(label, code)| NewEnrolmentCode {
            code_hash: hash_secret(&normalise_enrolment_code(code)),
            label: label.clone(),
            expires_at,
        })
        .collect();
    repo.add_enrolment_codes(station.id, rows).await?;
    Ok((codes, zones))
}

/// Serves the station in-process on a free loopback port.
async fn start_station(dir: &Path) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), CliError> {
    let config = ServerConfig {
        // The whole fleet enrols from one address within seconds.
        enrol_rate: RateLimit::new(100_000, 100_000),
        ..ServerConfig::default()
    };
    let state = open_state(dir, config).await?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| io_error("cannot listen on loopback", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| io_error("cannot read the bound address", e))?;
    let server = tokio::spawn(async move {
        if let Err(e) = serve(listener, state, std::future::pending()).await {
            tracing::error!(error = %e, "station stopped");
        }
    });
    Ok((addr, server))
}

/// Opens and enrols every phone, and lets each fetch the station's zones
/// before it goes offline.
async fn open_phones(
    dir: &Path,
    codes: &[(String, String)],
    url: &str,
    zones: usize,
) -> Result<Arc<Vec<Phone>>, CliError> {
    let mut phones = Vec::with_capacity(codes.len());
    for (label, code) in codes {
        let phone = Phone::open(&dir.join(label), label.clone(), url).map_err(failure)?;
        phone
            .enrol(code, Duration::from_secs(60))
            .await
            .map_err(failure)?;
        phone
            .fetch_zones(zones, Duration::from_secs(60))
            .await
            .map_err(failure)?;
        phones.push(phone);
    }
    Ok(Arc::new(phones))
}

/// What the fleet filed offline.
#[derive(Debug, Default)]
struct Filed {
    /// The reports' ids.
    ids: Vec<String>,
    /// Bytes of their processed photos: what the drain will upload.
    photo_bytes: u64,
    /// What the phones announced on the way.
    alerts: Alerts,
}

/// Files every carrier's reports, on two threads (photo processing is CPU work).
async fn file_offline(
    phones: &Arc<Vec<Phone>>,
    per_carrier: usize,
    seed: u64,
) -> Result<Filed, CliError> {
    let photos = camera_photos();
    let mut workers = Vec::new();
    for worker in 0..2 {
        let phones = Arc::clone(phones);
        let photos = photos.clone();
        workers.push(tokio::task::spawn_blocking(
            move || -> Result<Filed, String> {
                let mut filed = Filed::default();
                let mut places = Places::new(seed ^ worker as u64)?;
                for (n, phone) in phones.iter().enumerate().skip(worker).step_by(2) {
                    let (ids, photo_bytes) = phone.file_reports(
                        per_carrier,
                        &photos,
                        n,
                        &mut places,
                        &mut filed.alerts,
                    )?;
                    filed.ids.extend(ids.iter().map(ToString::to_string));
                    filed.photo_bytes += photo_bytes;
                }
                Ok(filed)
            },
        ));
    }
    let mut all = Filed::default();
    for worker in workers {
        let filed = worker
            .await
            .map_err(|e| failure(e.to_string()))?
            .map_err(failure)?;
        all.ids.extend(filed.ids);
        all.photo_bytes += filed.photo_bytes;
        all.alerts.merge(filed.alerts);
    }
    Ok(all)
}

/// Real camera photos vendored with their licences (tests/fixtures/photos).
fn camera_photos() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/photos");
    [
        "npm-jpeg-exif-1.1.4/IMG_0001.JPG",
        "npm-exif-0.6.0/sony-alpha-6000-crop-4000x3000.jpg",
        "npm-exif-parser-0.1.12/starfish.jpg",
        "npm-exif-0.6.0/test1.jpg",
        "npm-exif-0.6.0/right.jpg",
    ]
    .iter()
    .map(|p| dir.join(p))
    .filter(|p| p.is_file())
    .collect()
}

fn progress(t: &Tally, unsent: u64, elapsed: Duration) {
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r[{:>5.1}s] delivered {:>4}/{:<4} unsent on phones {:>4}  photos {:>6.1} MB  outages {:>3}  connections cut {:>3}   ",
        elapsed.as_secs_f64(),
        t.delivered,
        t.filed,
        unsent,
        t.photo_bytes_sent as f64 / 1e6,
        t.outages,
        t.connections_cut
    );
    let _ = err.flush();
}

fn io_error(what: &str, e: std::io::Error) -> CliError {
    CliError::new(Exit::Io, format!("{what}: {e}"))
}

fn failure(message: String) -> CliError {
    CliError::new(Exit::Failure, message)
}
