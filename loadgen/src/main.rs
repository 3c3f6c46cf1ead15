//! `loadgen`: drives a real `postcso-station` with simulated devices and
//! measures it, and compares its tus uploads with `@tus/server`.
//!
//! See `BENCHMARKS.md` for the commands behind every published figure.

mod disk;
mod error;
mod procstat;
mod progress;
mod puts;
mod report;
mod station;
mod stats;
mod tus;
mod tusnode;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use error::LoadError;
use station::{Station, StationOptions};
use tus::{Payload, Scenario, Target, TusResult};

const EXIT_CODES: &str = "Exit codes: 0 the run finished without a failed request; \
1 setup failed (station, Node, enrolment); 2 usage error; 3 the run finished but some requests failed.";

/// Load generator for the POST-CSO station.
#[derive(Debug, Parser)]
#[command(version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// N simulated devices PUT new reports, at a set rate (--rate) or as fast as answered.
    #[command(after_help = EXIT_CODES)]
    Puts(PutsArgs),
    /// tus photo uploads: serial, 8 at a time, or one large file; against the
    /// station, @tus/server, or both in the same run.
    #[command(after_help = EXIT_CODES)]
    Tus(TusArgs),
}

#[derive(Debug, Args)]
struct StationArgs {
    /// The postcso-station binary (default: next to this one).
    #[arg(long, value_name = "PATH")]
    station_bin: Option<PathBuf>,
    /// Data dir of the station (default: a fresh temporary one).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The PostgreSQL database of every station command (default: the data
    /// dir's SQLite file).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Load a station already serving `--data-dir` at this URL instead of starting one.
    #[arg(long, value_name = "URL", requires = "data_dir")]
    url: Option<String>,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct PutsArgs {
    /// Simulated devices, each with its own token and connection.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    devices: u32,
    /// Time measured (e.g. `20s`, `1m`).
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Time loaded before measuring.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Offered load, PUTs per second over all devices (paced, latency counted
    /// from when each PUT was due); without it each device sends as fast as it
    /// is answered.
    #[arg(long, value_name = "PUTS_PER_S")]
    rate: Option<f64>,
    /// Photos listed in each report's manifest (their bytes are not sent).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=10))]
    manifest_photos: u32,
    #[command(flatten)]
    station: StationArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenarios {
    Serial,
    Parallel8,
    Large,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Against {
    Station,
    TusNode,
    Both,
}

#[derive(Debug, Args)]
struct TusArgs {
    /// Which upload pattern.
    #[arg(long, value_enum, default_value = "all")]
    scenario: Scenarios,
    /// Which server(s); `both` runs them one after the other on the same payloads.
    #[arg(long, value_enum, default_value = "both")]
    against: Against,
    /// Uploads measured per scenario (default: 500 serial, 1000 parallel8, 3 large).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    uploads: Option<u32>,
    /// Unmeasured uploads first (default: a tenth of the measured, none for large).
    #[arg(long)]
    warmup: Option<u32>,
    /// Times each scenario is run against each server, alternating servers, so
    /// a slow moment of a shared machine does not decide a ratio alone.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// The Node binary for @tus/server.
    #[arg(long, default_value = "node")]
    node: String,
    /// The @tus/server runner script.
    #[arg(long, value_name = "PATH")]
    tus_node_script: Option<PathBuf>,
    #[command(flatten)]
    station: StationArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Puts(args) => puts(args).await,
        Command::Tus(args) => tus_cmd(args).await,
    };
    match outcome {
        Ok(0) => ExitCode::SUCCESS,
        Ok(errors) => {
            eprintln!("loadgen: {errors} requests failed");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::from(1)
        }
    }
}

fn station_options(args: &StationArgs, max_upload_size: u64) -> Result<StationOptions, LoadError> {
    Ok(StationOptions {
        binary: args
            .station_bin
            .clone()
            .map_or_else(postcso_harness::binary_beside_current_exe, Ok)?,
        data_dir: args.data_dir.clone(),
        database_url: args.database_url.clone(),
        url: args.url.clone(),
        max_upload_size,
    })
}

fn note(quiet: bool, message: std::fmt::Arguments) {
    if !quiet {
        eprintln!("loadgen: {message}");
    }
}

/// Runs `loadgen puts`; the number of failed requests.
async fn puts(args: PutsArgs) -> Result<u64, LoadError> {
    let quiet = args.station.quiet;
    let mut station = Station::start(station_options(&args.station, 25 * 1024 * 1024)?).await?;
    note(quiet, format_args!("station at {}", station.url()));
    let devices = station.enrol(args.devices as usize).await?;
    note(
        quiet,
        format_args!(
            "{} devices enrolled; {} warm-up, then {} measured",
            devices.len(),
            humantime::format_duration(args.warmup),
            humantime::format_duration(args.duration)
        ),
    );
    let options = puts::PutsOptions {
        warmup: args.warmup,
        duration: args.duration,
        manifest_photos: args.manifest_photos as usize,
        rate: args.rate.filter(|r| *r > 0.0),
        progress: !quiet,
    };
    let fsync = disk::probe(station.data_dir(), FSYNC_SAMPLES).await?;
    let mut result = puts::run(station.url(), station.pid(), &devices, &options).await?;
    result.disk_fsync = Some(fsync);
    station.stop().await?;
    let errors = result.puts.errors;
    if args.station.json {
        print_json(&result)?;
    } else {
        let s = &result.puts;
        let offered = result
            .offered_rate
            .map_or_else(|| "closed loop".to_owned(), |r| format!("offered {r:.0}/s"));
        println!(
            "PUT /v1/reports: {} devices, {offered}, {:.1} s: {:.0} PUT/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} ok, {} errors",
            result.devices,
            s.seconds,
            s.per_second,
            s.p50_ms,
            s.p99_ms,
            s.max_ms,
            s.requests,
            s.errors
        );
        if let Some(c) = &result.server {
            println!(
                "server: peak RSS {:.1} MiB, CPU {:.2} s ({:.2} cores)",
                c.peak_rss_mib, c.cpu_seconds, c.cores
            );
        }
        if let Some(f) = &result.disk_fsync {
            print_fsync(f);
        }
    }
    Ok(errors)
}

/// Durable 4 KiB writes timed before each run.
const FSYNC_SAMPLES: u32 = 200;

fn print_fsync(f: &disk::FsyncProbe) {
    println!(
        "disk: 4 KiB write + fdatasync p50 {:.2} ms, p99 {:.2} ms ({} samples, before the run)",
        f.p50_ms, f.p99_ms, f.samples
    );
}

fn print_json(value: &impl Serialize) -> Result<(), LoadError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| LoadError::Setup(format!("cannot print JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// Results of `loadgen tus`, with the ratios station / @tus/server.
#[derive(Debug, Serialize)]
struct TusReport {
    disk_fsync: Option<disk::FsyncProbe>,
    results: Vec<TusResult>,
    ratios: Vec<Ratio>,
}

/// Station throughput over @tus/server's in one scenario: per round and
/// their median.
#[derive(Debug, Serialize)]
struct Ratio {
    scenario: Scenario,
    station_over_tus_node: f64,
    per_round: Vec<f64>,
}

/// Runs `loadgen tus`; the number of failed uploads.
async fn tus_cmd(args: TusArgs) -> Result<u64, LoadError> {
    let quiet = args.station.quiet;
    let scenarios: Vec<Scenario> = match args.scenario {
        Scenarios::Serial => vec![Scenario::Serial],
        Scenarios::Parallel8 => vec![Scenario::Parallel8],
        Scenarios::Large => vec![Scenario::Large],
        Scenarios::All => vec![Scenario::Serial, Scenario::Parallel8, Scenario::Large],
    };
    let want_station = args.against != Against::TusNode;
    let want_node = args.against != Against::Station;
    let mut station = if want_station {
        let max = Scenario::Large.size() as u64 * 2;
        let station = Station::start(station_options(&args.station, max)?).await?;
        note(quiet, format_args!("station at {}", station.url()));
        Some(station)
    } else {
        None
    };
    let node = if want_node {
        let script = args
            .tus_node_script
            .clone()
            .unwrap_or_else(tusnode::default_script);
        let node = tusnode::TusNode::start(&args.node, &script).await?;
        note(quiet, format_args!("@tus/server at {}", node.endpoint()));
        Some(node)
    } else {
        None
    };
    let fsync = match &station {
        Some(s) => Some(disk::probe(s.data_dir(), FSYNC_SAMPLES).await?),
        None => None,
    };
    if let (Some(f), false) = (&fsync, args.station.json) {
        print_fsync(f);
    }
    let setup = reqwest::Client::new();
    let device = match &station {
        Some(s) => s.enrol(1).await?.into_iter().next(),
        None => None,
    };
    let mut results = Vec::new();
    let runs = scenarios
        .iter()
        .flat_map(|s| (1..=args.rounds).map(move |round| (*s, round)));
    for (scenario, round) in runs {
        let measured = args
            .uploads
            .map_or(scenario.default_uploads(), |n| n as usize);
        let warm = args.warmup.map_or(
            if scenario == Scenario::Large {
                0
            } else {
                measured / 10
            },
            |n| n as usize,
        );
        note(
            quiet,
            format_args!(
                "{scenario:?} round {round}: preparing {} uploads of {} bytes",
                warm + measured,
                scenario.size()
            ),
        );
        let mut payloads = Vec::with_capacity(warm + measured);
        let mut rng = rand::rng();
        for _ in 0..warm + measured {
            let (bytes, sha256) = tus::random_photo(scenario.size());
            let entry = report::photo_entry(sha256.clone(), bytes.len() as u64);
            let content = report::new_report(&mut rng, vec![entry])?;
            if let (Some(s), Some(d)) = (&station, &device) {
                s.put_report(&setup, d, &content).await?;
            }
            payloads.push(Payload {
                bytes,
                sha256,
                report_id: content.id.to_string(),
            });
        }
        let measured_payloads = payloads.split_off(warm);
        let warmup_payloads = payloads;
        let mut targets = Vec::new();
        if let (Some(s), Some(d)) = (&station, &device) {
            targets.push(Target {
                name: "station",
                endpoint: endpoint(&format!("{}/v1/uploads", s.url()))?,
                auth: Some(format!("Bearer {}", d.token)),
                pid: s.pid(),
            });
        }
        if let Some(n) = &node {
            targets.push(Target {
                name: "tus-node",
                endpoint: endpoint(&n.endpoint())?,
                auth: None,
                pid: n.pid(),
            });
        }
        // Even rounds go the other way round, so neither server always runs
        // on a disk still busy with the other's writes.
        if round % 2 == 0 {
            targets.reverse();
        }
        for target in &targets {
            note(quiet, format_args!("{scenario:?} against {}", target.name));
            let mut result = tus::run(
                target,
                scenario,
                warmup_payloads.clone(),
                measured_payloads.clone(),
                !quiet,
            )
            .await?;
            result.round = round;
            if !args.station.json {
                print_tus(&result);
            }
            results.push(result);
        }
    }
    if let Some(s) = station.as_mut() {
        s.stop().await?;
    }
    let ratios = ratios(&results);
    let errors = results.iter().map(|r| r.uploads.errors).sum();
    if args.station.json {
        print_json(&TusReport {
            disk_fsync: fsync,
            results,
            ratios,
        })?;
    } else {
        for r in &ratios {
            let rounds: Vec<String> = r.per_round.iter().map(|x| format!("{x:.2}")).collect();
            println!(
                "ratio {:?}: station / @tus/server = {:.2}x (median of rounds: {})",
                r.scenario,
                r.station_over_tus_node,
                rounds.join(", ")
            );
        }
    }
    Ok(errors)
}

fn endpoint(url: &str) -> Result<reqwest::Url, LoadError> {
    reqwest::Url::parse(url).map_err(|e| LoadError::Setup(format!("bad URL {url}: {e}")))
}

fn print_tus(r: &TusResult) {
    let s = &r.uploads;
    println!(
        "tus {:?} round {} {:>8}: {:.1} uploads/s, {:.1} MB/s, per upload p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} ok, {} errors",
        r.scenario,
        r.round,
        r.server,
        s.per_second,
        s.mb_per_second,
        s.p50_ms,
        s.p99_ms,
        s.max_ms,
        s.requests,
        s.errors
    );
    if let Some(c) = &r.server_cost {
        println!(
            "    server: peak RSS {:.1} MiB, CPU {:.2} s ({:.2} cores)",
            c.peak_rss_mib, c.cpu_seconds, c.cores
        );
    }
}

/// Station MB/s over @tus/server's, per scenario where both ran: the median
/// of the rounds' ratios.
fn ratios(results: &[TusResult]) -> Vec<Ratio> {
    let mut out: Vec<Ratio> = Vec::new();
    for ours in results.iter().filter(|r| r.server == "station") {
        let Some(theirs) = results.iter().find(|r| {
            r.server == "tus-node" && r.scenario == ours.scenario && r.round == ours.round
        }) else {
            continue;
        };
        if theirs.uploads.mb_per_second <= 0.0 {
            continue;
        }
        let ratio = ours.uploads.mb_per_second / theirs.uploads.mb_per_second;
        match out.iter_mut().find(|r| r.scenario == ours.scenario) {
            Some(r) => r.per_round.push(ratio),
            None => out.push(Ratio {
                scenario: ours.scenario,
                station_over_tus_node: 0.0,
                per_round: vec![ratio],
            }),
        }
    }
    for r in &mut out {
        r.station_over_tus_node = median(&r.per_round);
    }
    out
}

/// The middle value (mean of the two middle ones for an even count).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
