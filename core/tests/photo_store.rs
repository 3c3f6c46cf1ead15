//! The phone's photo store: put, verified read, idempotence, tampering and
//! missing files, and the sweep of orphans.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use postcso_core::photo::{
    BlobError, PhotoError, PhotoInput, PhotoOptions, PhotoStore, ProcessedPhoto, process_photo,
};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/photos")
        .join(rel)
}

fn read_fixture(rel: &str) -> Vec<u8> {
    fs::read(fixture(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

fn process(bytes: &[u8]) -> Result<ProcessedPhoto, PhotoError> {
    process_photo(PhotoInput::Bytes(bytes), &PhotoOptions::default())
}

fn stored(store: &PhotoStore, bytes: &[u8]) -> ProcessedPhoto {
    let p = process(bytes).expect("process");
    store.put(&p).expect("put");
    p
}

#[test]
fn store_put_read_and_idempotence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PhotoStore::open(&dir.path().join("data/photos")).expect("open creates dirs");
    let p = stored(&store, &read_fixture("npm-exif-0.6.0/test1.jpg"));
    let path = store.path_of(&p.sha256);
    assert_eq!(
        path,
        dir.path()
            .join("data/photos")
            .join(format!("{}.jpg", p.sha256))
    );
    assert_eq!(fs::read(&path).expect("read"), p.jpeg);
    assert_eq!(
        store.read_verified(&p.sha256).expect("read_verified"),
        p.jpeg
    );
    assert_eq!(
        store.verify(&p.sha256).expect("verify"),
        p.jpeg.len() as u64
    );

    // Same input, same output, same name: a second put is a no-op.
    let mtime = fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");
    std::thread::sleep(Duration::from_millis(20));
    let again = stored(&store, &read_fixture("npm-exif-0.6.0/test1.jpg"));
    assert_eq!(again.sha256, p.sha256, "processing is deterministic");
    assert_eq!(
        fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("mtime"),
        mtime
    );
    assert_eq!(
        fs::read_dir(store.dir()).expect("ls").count(),
        1,
        "no temp file left"
    );
}

#[test]
fn store_missing_and_altered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PhotoStore::open(dir.path()).expect("open");
    let p = stored(&store, &read_fixture("npm-exif-0.6.0/test3.jpg"));

    let mut bytes = fs::read(store.path_of(&p.sha256)).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(store.path_of(&p.sha256), &bytes).expect("flip a bit");
    match store.read_verified(&p.sha256) {
        Err(BlobError::Altered { expected, found }) => {
            assert_eq!(expected, p.sha256);
            assert_ne!(found, p.sha256);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.verify(&p.sha256),
        Err(BlobError::Altered { .. })
    ));

    fs::remove_file(store.path_of(&p.sha256)).expect("rm");
    assert!(
        matches!(store.read_verified(&p.sha256), Err(BlobError::Missing { sha256 }) if sha256 == p.sha256)
    );
    assert!(matches!(
        store.verify(&p.sha256),
        Err(BlobError::Missing { .. })
    ));
}

#[test]
fn store_collects_orphans_and_stale_temp_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PhotoStore::open(dir.path()).expect("open");
    let live = stored(&store, &read_fixture("npm-exif-0.6.0/test1.jpg"));
    let orphan = stored(&store, &read_fixture("npm-exif-0.6.0/test3.jpg"));
    let stale = store.dir().join(format!(".tmp-{}-1-0", orphan.sha256));
    let fresh = store.dir().join(format!(".tmp-{}-1-1", orphan.sha256));
    let other = store.dir().join("README.txt");
    for f in [&stale, &fresh, &other] {
        fs::write(f, b"x").expect("write");
    }
    let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
    fs::File::options()
        .write(true)
        .open(&stale)
        .and_then(|f| f.set_modified(two_hours_ago))
        .expect("age the temp file");

    let live_set: HashSet<String> = [live.sha256.clone()].into();
    assert_eq!(store.collect_orphans(&live_set).expect("gc"), 2);
    assert!(store.path_of(&live.sha256).exists(), "live photo kept");
    assert!(!store.path_of(&orphan.sha256).exists(), "orphan deleted");
    assert!(!stale.exists(), "stale temp file deleted");
    assert!(fresh.exists(), "a write in progress is not disturbed");
    assert!(other.exists(), "foreign files are not touched");
    assert_eq!(store.collect_orphans(&live_set).expect("gc again"), 0);
}
