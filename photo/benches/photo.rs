//! Time of `process_photo` on real camera JPEGs: the 12 MP benchmark photo (budget:
//! median <= 150 ms on a 2-core machine) and an 8 MP iPhone photo with orientation 6.
//!
//! ```sh
//! cargo bench -p postcso-photo --bench photo
//! ```

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use postcso_photo::{PhotoInput, PhotoOptions, process_photo};

fn fixture(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/photos")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bench(c: &mut Criterion) {
    let opts = PhotoOptions::default();
    let mut group = c.benchmark_group("process_photo");
    group.sample_size(50);
    for (name, rel) in [
        (
            "sony_12mp_4000x3000",
            "npm-exif-0.6.0/sony-alpha-6000-crop-4000x3000.jpg",
        ),
        (
            "iphone6_2448x2448_orient6",
            "npm-jpeg-exif-1.1.4/IMG_0001.JPG",
        ),
    ] {
        let bytes = fixture(rel);
        group.bench_function(name, |b| {
            b.iter(|| process_photo(PhotoInput::Bytes(black_box(&bytes)), &opts).expect("process"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
