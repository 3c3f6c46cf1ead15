//! The main job until the station exists: one carrier's day on the route, filed
//! offline into a fresh queue with real camera photos, then the queue printed.
//!
//! `cargo xtask demo` runs it; `cargo run -p postcso-core --example field_day -- --help`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use chrono::{Duration, Utc};
use postcso_core::model::{GeoPoint, LocationSource, ReportState};
use postcso_core::photo::PhotoInput;
use postcso_core::secrets::FileSecretStore;
use postcso_core::{QueueConfig, QueueError, ReportQueue};

const HELP: &str = "\
field_day: file a realistic day of POST-CSO reports offline and print the queue

Usage: field_day [--data-dir DIR]

Options:
  --data-dir DIR  where the queue is written (default: a fresh temporary directory)
  -h, --help      print this help

Exit status: 0 on success, 1 if any report could not be filed, 2 on bad usage.";

/// One stop on the route where the carrier files a report.
struct Stop {
    time: &'static str,
    place: &'static str,
    lat: f64,
    lon: f64,
    accuracy_m: f64,
    category: &'static str,
    note: &'static str,
    photos: usize,
    then: Then,
}

/// What the carrier does after writing the report.
#[derive(PartialEq)]
enum Then {
    Submit,
    SubmitThenWithdraw,
    LeaveAsDraft,
}

const ROUTE: &[Stop] = &[
    Stop {
        time: "09:12",
        place: "Yeonhui-ro 11-gil",
        lat: 37.5662,
        lon: 126.9312,
        accuracy_m: 6.0,
        category: "safety_facility",
        note: "골목 가로등 2개 꺼짐. Two street lights out in the alley.",
        photos: 2,
        then: Then::Submit,
    },
    Stop {
        time: "09:47",
        place: "Sinchon-ro station exit 3",
        lat: 37.5552,
        lon: 126.9368,
        accuracy_m: 9.0,
        category: "traffic_risk",
        note: "불법주차로 횡단보도 시야 가림. Parked vans hide the crossing.",
        photos: 1,
        then: Then::Submit,
    },
    Stop {
        time: "10:30",
        place: "Hongje-dong villa block",
        lat: 37.5889,
        lon: 126.9446,
        accuracy_m: 5.0,
        category: "parcel_theft",
        note: "공동현관 앞 택배 분실 잦음. Parcels often taken from the shared entrance.",
        photos: 1,
        then: Then::Submit,
    },
    Stop {
        time: "11:05",
        place: "Bukgajwa-dong stairs",
        lat: 37.5771,
        lon: 126.9133,
        accuracy_m: 4.0,
        category: "crime_risk",
        note: "계단 옆 공터, 야간 조명 없음. Empty lot beside the stairs, unlit at night.",
        photos: 3,
        then: Then::Submit,
    },
    Stop {
        time: "12:40",
        place: "Namgajwa-dong",
        lat: 37.5743,
        lon: 126.9219,
        accuracy_m: 65.0,
        category: "resident_anxiety",
        note: "혼자 사는 주민들이 밤길이 무섭다고 함. Residents living alone say the street scares them at night.",
        photos: 0,
        then: Then::Submit,
    },
    Stop {
        time: "13:15",
        place: "Chungjeong-ro",
        lat: 37.5600,
        lon: 126.9636,
        accuracy_m: 8.0,
        category: "safety_facility",
        note: "비상벨 커버 파손. Emergency bell cover broken.",
        photos: 1,
        then: Then::SubmitThenWithdraw,
    },
    Stop {
        time: "14:02",
        place: "Cheonyeon-dong market",
        lat: 37.5692,
        lon: 126.9575,
        accuracy_m: 7.0,
        category: "other",
        note: "시장 뒤편 쓰레기 무단투기. Dumping behind the market.",
        photos: 1,
        then: Then::Submit,
    },
    Stop {
        time: "15:20",
        place: "Bugahyeon-dong",
        lat: 37.5634,
        lon: 126.9589,
        accuracy_m: 6.0,
        category: "crime_risk",
        note: "",
        photos: 1,
        then: Then::LeaveAsDraft,
    },
];

fn main() -> ExitCode {
    let mut data_dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "--data-dir" => match args.next() {
                Some(dir) => data_dir = Some(PathBuf::from(dir)),
                None => return usage("--data-dir needs a directory"),
            },
            other => return usage(&format!("unknown argument `{other}`")),
        }
    }
    let temp;
    let dir = match data_dir {
        Some(dir) => dir,
        None => {
            temp = match tempfile::tempdir() {
                Ok(t) => t,
                Err(e) => return fail(&format!("cannot make a temporary directory: {e}")),
            };
            temp.path().to_owned()
        }
    };
    match run(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string()),
    }
}

fn usage(msg: &str) -> ExitCode {
    eprintln!("field_day: {msg}\n\n{HELP}");
    ExitCode::from(2)
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("field_day: {msg}");
    ExitCode::FAILURE
}

fn run(dir: &Path) -> Result<(), QueueError> {
    let photos = camera_photos();
    println!("POST-CSO field day — offline, queue in {}", dir.display());
    println!(
        "camera photos: {} real JPEGs from tests/fixtures/photos\n",
        photos.len()
    );
    let queue = ReportQueue::open(QueueConfig::new(dir), FileSecretStore::in_data_dir(dir))?;
    let mut photo_ms = Vec::new();
    let mut submit_ms = Vec::new();
    let mut next_photo = 0;
    for stop in ROUTE {
        println!("  {}  {:<26} {}", stop.time, stop.place, stop.category);
        let id = queue.create_draft()?;
        queue.set_category(id, stop.category)?;
        queue.set_note(id, stop.note)?;
        for _ in 0..stop.photos.min(photos.len()) {
            let path = &photos[next_photo % photos.len()];
            next_photo += 1;
            let started = Instant::now();
            let attached = queue.attach_photo(id, PhotoInput::Path(path))?;
            photo_ms.push(started.elapsed().as_secs_f64() * 1e3);
            let input_kb = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) / 1024;
            println!(
                "         photo {:<40} {:>5} KB -> {}x{} {:>6.1} KB, metadata stripped",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
                input_kb,
                attached.photo.width,
                attached.photo.height,
                attached.photo.size as f64 / 1024.0
            );
            if let Some(offer) = attached.suggested_location {
                println!(
                    "         (the camera's EXIF holds a position, offered with source `{}`, ±{:.0} m)",
                    offer.source().as_str(),
                    offer.accuracy_m()
                );
            }
        }
        // The GPS fix arrives after the photos, as it does when the carrier shoots first.
        let fix_time = Utc::now() - Duration::seconds(20);
        let fix = GeoPoint::new(
            stop.lat,
            stop.lon,
            Some(stop.accuracy_m),
            None,
            fix_time,
            LocationSource::Gps,
        )?;
        queue.set_location(id, fix)?;
        if stop.then != Then::LeaveAsDraft {
            let started = Instant::now();
            queue.submit(id)?;
            submit_ms.push(started.elapsed().as_secs_f64() * 1e3);
        }
        if stop.then == Then::SubmitThenWithdraw {
            queue.withdraw(id)?;
        }
    }

    println!("\nThe queue (no network: everything waits on the phone)\n");
    println!(
        "  {:<36}  {:<18} {:<17} {:>6}  {:<22}  sealed",
        "report id", "state", "category", "photos", "flags"
    );
    for summary in queue.list()? {
        let report = queue.get(summary.id)?;
        let mut flags = Vec::new();
        if report.flags.low_accuracy {
            flags.push("low_accuracy");
        }
        if report.flags.stale {
            flags.push("stale");
        }
        let sealed = report
            .content_hash
            .as_deref()
            .map_or("—".to_owned(), |h| format!("{}…", &h[..12]));
        println!(
            "  {}  {:<18} {:<17} {:>6}  {:<22}  {}",
            summary.id,
            state_label(summary.state),
            summary.category.as_deref().unwrap_or("—"),
            summary.photo_count,
            if flags.is_empty() {
                "—".to_owned()
            } else {
                flags.join(",")
            },
            sealed
        );
        queue.verify_photos(summary.id)?;
    }
    let stats = queue.stats()?;
    let photo_bytes: u64 = queue
        .list()?
        .iter()
        .map(|s| {
            queue
                .get(s.id)
                .map(|r| r.photos.iter().map(|p| p.size).sum::<u64>())
        })
        .sum::<Result<u64, _>>()?;
    println!(
        "\n{} queued, {} draft, {} withdrawn; {} unsent; {:.0} KB of processed photos, every file verified against its hash",
        stats.queued,
        stats.drafts,
        stats.withdrawn,
        stats.unsent(),
        photo_bytes as f64 / 1024.0
    );
    if !photo_ms.is_empty() {
        println!(
            "photo intake: {} photos, mean {:.1} ms each (decode, orient, downscale, re-encode, strip, fsync)",
            photo_ms.len(),
            photo_ms.iter().sum::<f64>() / photo_ms.len() as f64
        );
    }
    println!(
        "durable submit: mean {:.2} ms (WAL, synchronous=FULL)",
        submit_ms.iter().sum::<f64>() / submit_ms.len().max(1) as f64
    );
    Ok(())
}

fn state_label(state: ReportState) -> &'static str {
    state.as_str()
}

/// Real camera photos vendored with their licences (see tests/fixtures/photos/LICENSES.md):
/// an iPhone 6 Plus shot with GPS, a 12-megapixel Sony crop, and smaller cameras.
const CAMERA_PHOTOS: &[&str] = &[
    "npm-jpeg-exif-1.1.4/IMG_0001.JPG",
    "npm-exif-0.6.0/sony-alpha-6000-crop-4000x3000.jpg",
    "npm-exif-parser-0.1.12/starfish.jpg",
    "pypi-piexif-1.1.3/r_canon.jpg",
    "npm-exif-0.6.0/test1.jpg",
    "npm-exif-0.6.0/right.jpg",
];

/// The vendored photos that are present, in route order.
fn camera_photos() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/photos");
    CAMERA_PHOTOS
        .iter()
        .map(|p| dir.join(p))
        .filter(|p| p.is_file())
        .collect()
}
