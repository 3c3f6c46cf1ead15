//! Replays every target's checked-in corpus (`corpus/<target>/`) and every
//! past finding (`regressions/<target>/`) through the same entry points the
//! fuzzer calls, on stable, as ordinary tests. A file whose name starts with
//! `valid-` must also be accepted, so the seeds keep reaching the checks that
//! sit behind each parser.

use std::fs;
use std::path::Path;

/// Runs `entry` over each file of the target's corpus and regressions.
fn replay(target: &str, entry: fn(&[u8]) -> bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    let mut valid = 0;
    for dir in ["corpus", "regressions"] {
        let dir = root.join(dir).join(target);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries
            .map(|e| e.expect("corpus entry").path())
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let data = fs::read(&path).expect("read corpus file");
            let accepted = entry(&data);
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("valid-") {
                assert!(accepted, "{} is meant to be accepted", path.display());
                valid += 1;
            }
            seen += 1;
        }
    }
    assert!(seen > 0, "no corpus for {target}");
    assert!(valid > 0, "no valid- seed for {target}");
}

#[test]
fn photo() {
    replay("photo", postcso_fuzz::photo);
}

#[test]
fn report_content() {
    replay("report_content", postcso_fuzz::report_content);
}

#[test]
fn tus_headers() {
    replay("tus_headers", postcso_fuzz::tus_headers);
}

#[test]
fn zone_import() {
    replay("zone_import", postcso_fuzz::zone_import);
}

#[test]
fn changes_cursor() {
    replay("changes_cursor", postcso_fuzz::changes_cursor);
}
