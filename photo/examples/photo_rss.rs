//! Processes one photo the way the app does and prints the wall time, the output size
//! and the process's peak RSS, to check the photo pipeline's time and memory budget
//! (median <= 150 ms, peak RSS <= 64 MB for a 12 MP camera JPEG on a 2-core machine).
//!
//! ```sh
//! cargo run --release -p postcso-photo --example photo_rss [PATH] [--iterations N]
//! ```
//!
//! PATH defaults to the 12 MP fixture. With `--iterations N` the photo is processed
//! N times (file read included, as with `PhotoInput::Path`) and the median, p99 and
//! maximum are printed; the peak RSS covers all runs.

use std::path::PathBuf;
use std::time::Instant;

use postcso_photo::{PhotoInput, PhotoOptions, process_photo};

/// Peak resident set size of this process in KiB (`VmHWM`), Linux only.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/photos/npm-exif-0.6.0/sony-alpha-6000-crop-4000x3000.jpg"
    ));
    let mut iterations = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--iterations" {
            iterations = args.next().ok_or("--iterations needs a number")?.parse()?;
        } else {
            path = PathBuf::from(arg);
        }
    }
    let iterations = iterations.max(1);
    let opts = PhotoOptions::default();
    let input_bytes = std::fs::metadata(&path)?.len();

    let mut times_ms = Vec::with_capacity(iterations);
    let mut last = None;
    for _ in 0..iterations {
        let started = Instant::now();
        let photo = process_photo(PhotoInput::Path(&path), &opts)?;
        times_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        last = Some(photo);
    }
    let photo = last.ok_or("no run")?;
    times_ms.sort_by(f64::total_cmp);
    let pick = |q: f64| times_ms[((times_ms.len() - 1) as f64 * q).round() as usize];

    println!("input      {} ({input_bytes} bytes)", path.display());
    println!(
        "output     {}x{}, {} bytes, sha256 {}",
        photo.width,
        photo.height,
        photo.jpeg.len(),
        photo.sha256
    );
    if iterations == 1 {
        println!("elapsed    {:.1} ms", times_ms[0]);
    } else {
        println!(
            "elapsed    runs {iterations}, median {:.1} ms, p99 {:.1} ms, min {:.1} ms, max {:.1} ms",
            pick(0.5),
            pick(0.99),
            times_ms[0],
            times_ms[times_ms.len() - 1]
        );
    }
    match peak_rss_kib() {
        Some(kib) => println!("peak RSS   {kib} KiB ({:.1} MiB)", kib as f64 / 1024.0),
        None => println!("peak RSS   unavailable (no /proc/self/status)"),
    }
    Ok(())
}
