//! Helpers shared by the core's integration tests: real photos made in memory,
//! realistic positions, and a filed report.
#![allow(dead_code)]

use chrono::Utc;
use postcso_core::model::{GeoPoint, LocationSource, ReportId};
use postcso_core::photo::PhotoInput;
use postcso_core::secrets::FileSecretStore;
use postcso_core::{QueueConfig, ReportQueue};

/// Opens a queue with default settings in `dir`.
pub fn open(dir: &std::path::Path) -> ReportQueue {
    ReportQueue::open(QueueConfig::new(dir), FileSecretStore::in_data_dir(dir)).expect("open queue")
}

/// A real PNG of `w`×`h` pixels whose content depends on `seed`, so that each seed
/// gives a different photo (and a different content hash).
pub fn png_bytes(w: u32, h: u32, seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("png header");
        let mut data = Vec::with_capacity((w * h * 3) as usize);
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        for y in 0..h {
            for x in 0..w {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = (state >> 59) as u8;
                data.push(((x * 255 / w.max(1)) as u8).wrapping_add(noise));
                data.push(((y * 255 / h.max(1)) as u8).wrapping_add((seed % 200) as u8));
                data.push(noise.wrapping_mul(7));
            }
        }
        writer.write_image_data(&data).expect("png data");
    }
    out
}

/// A good GPS fix near Seodaemun Police Station, offset a little by `seed`.
pub fn seodaemun_fix(seed: u64) -> GeoPoint {
    let jitter = (seed % 1000) as f64 * 1e-5;
    GeoPoint::new(
        37.5658 + jitter,
        126.9386 - jitter,
        Some(6.5),
        Some(38.0),
        Utc::now(),
        LocationSource::Gps,
    )
    .expect("valid fix")
}

/// Files a complete report (category, note, position, one photo) and submits it.
pub fn file_report(queue: &ReportQueue, seed: u64) -> ReportId {
    let id = queue.create_draft().expect("draft");
    queue.set_category(id, "safety_facility").expect("category");
    queue
        .set_note(id, "가로등이 꺼져 있음 — street light out")
        .expect("note");
    queue
        .set_location(id, seodaemun_fix(seed))
        .expect("location");
    let photo = png_bytes(64, 48, seed);
    queue
        .attach_photo(id, PhotoInput::Bytes(&photo))
        .expect("photo");
    queue.submit(id).expect("submit");
    id
}
