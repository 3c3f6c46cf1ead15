//! Fuzz entry points over every parser that reads bytes from outside the
//! process, one function per `cargo fuzz` target (`fuzz_targets/`).
//!
//! Each function feeds the bytes to the real parser and then checks what must
//! hold for whatever it accepted (a round trip, an invariant of the result).
//! Refusing input is always fine; a panic, an abort, a hang or a broken
//! invariant is a finding. Each returns whether the parser accepted the input,
//! so the replay can check that the seeds meant to be valid still reach the
//! checks behind the parser. Being plain functions, they also replay the checked-in
//! corpora and every past finding as ordinary tests on stable
//! (`tests/replay.rs`), so a fixed crash stays fixed without a nightly compiler.

use chrono::{TimeZone, Utc};
use postcso_model::{CategoryList, ReportContent, ZoneIndex};
use postcso_photo::{PhotoInput, PhotoOptions, process_photo, sha256_hex};
use postcso_station::http::body::parse_json;
use postcso_station::http::{decode_cursor, encode_cursor};
use postcso_station::intake::{ManifestLimits, check_new, check_shape};
use postcso_station::upload::checksum::Checksum;
use postcso_station::upload::metadata;
use postcso_station::zones::import::prepare;

/// Output size for the photo target: small, so each run stays fast.
const PHOTO_LONG_EDGE: u32 = 256;

/// The photo pipeline (sniffing, EXIF, JPEG and PNG decoding, resize, orient,
/// encode) on any bytes a camera or gallery could hand over. The limits are
/// smaller than the phone's so that one input cannot take seconds; the checks
/// that enforce them are the same code.
pub fn photo(data: &[u8]) -> bool {
    let options = PhotoOptions {
        max_long_edge: PHOTO_LONG_EDGE,
        max_input_bytes: 4 * 1024 * 1024,
        max_input_pixels: 16 * 1000 * 1000,
        ..PhotoOptions::default()
    };
    let Ok(out) = process_photo(PhotoInput::Bytes(data), &options) else {
        return false;
    };
    assert!(
        out.width.max(out.height) <= PHOTO_LONG_EDGE,
        "not downscaled"
    );
    assert!(out.width > 0 && out.height > 0, "empty output");
    assert_eq!(out.sha256, sha256_hex(&out.jpeg), "hash of other bytes");
    // Our own output is a plain JPEG: it must go through again.
    let again = process_photo(PhotoInput::Bytes(&out.jpeg), &options);
    assert!(again.is_ok(), "own output refused: {again:?}");
    true
}

/// A report's JSON as the station reads it at `PUT /v1/reports/{id}`, then
/// the intake rules. Accepted content must survive its canonical form.
pub fn report_content(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(content) = parse_json::<ReportContent>(text) else {
        return false;
    };
    let limits = ManifestLimits {
        max_photos: 10,
        max_photo_bytes: 20 * 1024 * 1024,
    };
    let _ = check_shape(&content, content.id, limits);
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).single();
    if let Some(now) = now {
        let _ = check_new(&content, &CategoryList::default(), now);
    }
    let canonical = content.canonical_json();
    let back = parse_json::<ReportContent>(&canonical);
    assert!(
        back.as_ref().is_ok_and(|b| b.canonical_json() == canonical),
        "canonical form does not round-trip: {back:?}"
    );
    true
}

/// The tus headers of a photo upload: `Upload-Metadata` (split at the first
/// newline) and `Upload-Checksum` (the rest), as `POST`/`PATCH` read them.
pub fn tus_headers(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let (meta, checksum) = text.split_once('\n').unwrap_or((text, ""));
    let mut accepted = false;
    if let Ok(parsed) = metadata::parse(meta) {
        accepted = true;
        let echoed = metadata::encode(&parsed);
        assert_eq!(
            metadata::parse(&echoed).as_ref(),
            Ok(&parsed),
            "the echoed metadata reads differently"
        );
    }
    if let Ok(mut sum) = Checksum::parse(checksum) {
        sum.update(data);
        let _ = sum.matches();
    } else {
        accepted = false;
    }
    accepted
}

/// A GeoJSON zone file as `zone import` and `POST /v1/zones/import` read it.
/// Every zone accepted must index and answer point queries.
pub fn zone_import(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(prepared) = prepare(text) else {
        return false;
    };
    assert_eq!(prepared.zones.len(), prepared.rings_rewound.len());
    let areas: Vec<_> = prepared
        .zones
        .iter()
        .enumerate()
        .filter_map(|(i, zone)| zone.area.as_ref().map(|area| (i, area)))
        .collect();
    for (_, area) in &areas {
        assert!(area.validate().is_ok(), "an accepted area fails validation");
    }
    let index = ZoneIndex::new(areas.iter().map(|(i, area)| (*i, *area)));
    for (_, area) in &areas {
        if let Some(bounds) = area.bounds() {
            let centre = bounds.center();
            let _ = index.containing(centre.y, centre.x);
        }
    }
    true
}

/// The changes feed's `cursor` query parameter.
pub fn changes_cursor(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Some(seq) = decode_cursor(text) else {
        return false;
    };
    assert_eq!(decode_cursor(&encode_cursor(seq)), Some(seq));
    true
}
