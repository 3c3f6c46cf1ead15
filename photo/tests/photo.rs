//! The photo pipeline against real camera files and crafted inputs: every error
//! variant, downscaling, orientation, EXIF GPS, metadata stripping (checked by
//! exiftool and by our own marker walk). The phone's photo store is tested in
//! `core/tests/photo_store.rs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{TimeZone, Utc};
use postcso_photo::{PhotoError, PhotoInput, PhotoOptions, ProcessedPhoto, process_photo};
use turbojpeg::{Image, PixelFormat, Subsamp};

// ---------------------------------------------------------------- helpers

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

/// Deterministic xorshift noise.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];

/// RGB pixels in four solid quadrants: red top-left, green top-right, blue
/// bottom-left, white bottom-right.
fn quadrants(w: usize, h: usize) -> Vec<u8> {
    let mut px = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            px.extend_from_slice(match (x < w / 2, y < h / 2) {
                (true, true) => &RED,
                (false, true) => &GREEN,
                (true, false) => &BLUE,
                (false, false) => &WHITE,
            });
        }
    }
    px
}

fn encode_jpeg(pixels: &[u8], w: usize, h: usize, quality: i32) -> Vec<u8> {
    let image = Image {
        pixels,
        width: w,
        pitch: w * 3,
        height: h,
        format: PixelFormat::RGB,
    };
    turbojpeg::compress(image, quality, Subsamp::Sub2x2)
        .expect("encode")
        .to_vec()
}

fn decode_rgb(jpeg: &[u8]) -> Image<Vec<u8>> {
    turbojpeg::decompress(jpeg, PixelFormat::RGB).expect("decode output")
}

/// Inserts a marker segment right after SOI.
fn insert_segment(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len() + 2).expect("segment too long");
    let mut out = vec![0xFF, 0xD8, 0xFF, marker];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A big-endian TIFF/EXIF block with an optional orientation and an optional GPS
/// position (signed degrees, written as refs N/S, E/W plus magnitudes).
fn exif_block(orientation: Option<u16>, gps: Option<(f64, f64)>) -> Vec<u8> {
    fn entry(out: &mut Vec<u8>, tag: u16, typ: u16, count: u32, value: [u8; 4]) {
        out.extend_from_slice(&tag.to_be_bytes());
        out.extend_from_slice(&typ.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&value);
    }
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const ASCII: u16 = 2;
    const RATIONAL: u16 = 5;
    let n0 = u16::from(orientation.is_some()) + u16::from(gps.is_some());
    let ifd0_len = 2 + 12 * u32::from(n0) + 4;
    let gps_off = 8 + ifd0_len;
    let gps_data = gps_off + 2 + 12 * 4 + 4;
    let mut t = b"MM\0*\0\0\0\x08".to_vec();
    t.extend_from_slice(&n0.to_be_bytes());
    if let Some(o) = orientation {
        let v = o.to_be_bytes();
        entry(&mut t, 0x0112, SHORT, 1, [v[0], v[1], 0, 0]);
    }
    if gps.is_some() {
        entry(&mut t, 0x8825, LONG, 1, gps_off.to_be_bytes());
    }
    t.extend_from_slice(&0u32.to_be_bytes());
    if let Some((lat, lon)) = gps {
        t.extend_from_slice(&4u16.to_be_bytes());
        let lat_ref = if lat < 0.0 { b'S' } else { b'N' };
        let lon_ref = if lon < 0.0 { b'W' } else { b'E' };
        entry(&mut t, 0x0001, ASCII, 2, [lat_ref, 0, 0, 0]);
        entry(&mut t, 0x0002, RATIONAL, 3, gps_data.to_be_bytes());
        entry(&mut t, 0x0003, ASCII, 2, [lon_ref, 0, 0, 0]);
        entry(&mut t, 0x0004, RATIONAL, 3, (gps_data + 24).to_be_bytes());
        t.extend_from_slice(&0u32.to_be_bytes());
        for v in [lat.abs(), lon.abs()] {
            // degrees as micro-degrees, minutes 0/1, seconds 0/1
            for (num, den) in [((v * 1e6).round() as u32, 1_000_000u32), (0, 1), (0, 1)] {
                t.extend_from_slice(&num.to_be_bytes());
                t.extend_from_slice(&den.to_be_bytes());
            }
        }
    }
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&t);
    app1
}

/// The marker segments of a JPEG, walked by hand: every marker up to and including
/// SOS, then the marker that ends the entropy-coded data.
fn jpeg_markers(jpeg: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "no SOI");
    let mut markers = vec![0xD8];
    let mut i = 2;
    loop {
        assert_eq!(jpeg[i], 0xFF, "marker expected at {i}");
        let m = jpeg[i + 1];
        markers.push(m);
        if m == 0xD9 {
            assert_eq!(i + 2, jpeg.len(), "data after EOI");
            return markers;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        i += 2 + len;
        if m == 0xDA {
            // Skip entropy-coded data: 0xFF is followed by 0x00 (stuffing) or RSTn.
            loop {
                if jpeg[i] == 0xFF && jpeg[i + 1] != 0x00 && !(0xD0..=0xD7).contains(&jpeg[i + 1]) {
                    break;
                }
                i += 1;
            }
        }
    }
}

/// Offset of the first top-level segment with `marker` before the first scan.
fn top_level_segment(jpeg: &[u8], marker: u8) -> Option<usize> {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        if jpeg[i + 1] == marker {
            return Some(i);
        }
        if jpeg[i + 1] == 0xDA {
            return None;
        }
        i += 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
    }
    None
}

fn exiftool_available() -> bool {
    Command::new("exiftool")
        .arg("-ver")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tiny_png_header(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let writer = enc.write_header().expect("png header");
        drop(writer);
    }
    out
}

fn png_bytes(w: u32, h: u32, color: png::ColorType, depth: png::BitDepth, data: &[u8]) -> Vec<u8> {
    png_with(w, h, color, depth, data, |_| {})
}

fn png_with(
    w: u32,
    h: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
    setup: impl FnOnce(&mut png::Encoder<&mut Vec<u8>>),
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(depth);
        setup(&mut enc);
        let mut writer = enc.write_header().expect("png header");
        writer.write_image_data(data).expect("png data");
    }
    out
}

fn pixel(img: &Image<Vec<u8>>, x: usize, y: usize) -> [u8; 3] {
    let i = y * img.pitch + x * 3;
    [img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]]
}

fn near(a: [u8; 3], b: [u8; 3], tol: u8) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= tol)
}

/// The colours near the four corners: top-left, top-right, bottom-left, bottom-right.
fn corners(img: &Image<Vec<u8>>) -> [[u8; 3]; 4] {
    let (w, h) = (img.width, img.height);
    let (dx, dy) = (w / 8, h / 8);
    [
        pixel(img, dx, dy),
        pixel(img, w - 1 - dx, dy),
        pixel(img, dx, h - 1 - dy),
        pixel(img, w - 1 - dx, h - 1 - dy),
    ]
}

fn name(c: [u8; 3]) -> &'static str {
    for (n, v) in [
        ("red", RED),
        ("green", GREEN),
        ("blue", BLUE),
        ("white", WHITE),
    ] {
        if near(c, v, 40) {
            return n;
        }
    }
    "other"
}

mod photo_errors {
    use super::*;

    #[test]
    fn zero_bytes_is_empty() {
        assert!(matches!(process(&[]), Err(PhotoError::Empty)));
        let path = fixture("pypi-piexif-1.1.3/notjpeg.jpg");
        let r = process_photo(PhotoInput::Path(&path), &PhotoOptions::default());
        assert!(matches!(r, Err(PhotoError::Empty)), "{r:?}");
    }

    #[test]
    fn truncated_camera_jpeg_is_truncated_at_every_cut() {
        let full = read_fixture("npm-exif-0.6.0/test1.jpg");
        assert!(process(&full).is_ok());
        // Cuts in the EXIF header, the tables, the scan, and just before EOI.
        let mut cuts: Vec<usize> = (2..full.len()).step_by(499).collect();
        cuts.extend([full.len() - 1, full.len() - 2]);
        for cut in cuts {
            let r = process(&full[..cut]);
            assert!(
                matches!(r, Err(PhotoError::Truncated)),
                "cut at {cut}/{}: {r:?}",
                full.len()
            );
        }
    }

    #[test]
    fn truncated_large_jpeg_is_not_a_half_grey_image() {
        let full = read_fixture("npm-jpeg-exif-1.1.4/IMG_0001.JPG");
        for frac in [0.3, 0.5, 0.9, 0.999] {
            let cut = (full.len() as f64 * frac) as usize;
            let r = process(&full[..cut]);
            assert!(
                matches!(r, Err(PhotoError::Truncated)),
                "cut at {frac}: {r:?}"
            );
        }
    }

    #[test]
    fn truncated_png_is_truncated() {
        let (w, h) = (200u32, 150u32);
        let mut rng = Rng(7);
        let data: Vec<u8> = (0..w * h * 3).map(|_| rng.next() as u8).collect();
        let full = png_bytes(w, h, png::ColorType::Rgb, png::BitDepth::Eight, &data);
        assert!(process(&full).is_ok());
        for cut in [
            3,
            20,
            40,
            full.len() / 4,
            full.len() / 2,
            full.len() - 13,
            full.len() - 1,
        ] {
            let r = process(&full[..cut]);
            assert!(
                matches!(r, Err(PhotoError::Truncated)),
                "cut at {cut}/{}: {r:?}",
                full.len()
            );
        }
    }

    #[test]
    fn random_bytes_are_not_an_image() {
        let mut rng = Rng(0x5eed);
        let mut bytes: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
        bytes[0] = b'x';
        assert!(matches!(process(&bytes), Err(PhotoError::NotAnImage)));
        assert!(matches!(
            process(b"hello, station"),
            Err(PhotoError::NotAnImage)
        ));
    }

    #[test]
    fn other_image_formats_are_named() {
        let cases: [(&[u8], &str); 5] = [
            (b"GIF89a\x10\x00\x10\x00\x80\x00\x00", "gif"),
            (b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00", "webp"),
            (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"),
            (b"II*\x00\x08\x00\x00\x00\x00\x00", "tiff"),
            (
                b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf",
                "avif",
            ),
        ];
        for (bytes, expected) in cases {
            match process(bytes) {
                Err(PhotoError::UnsupportedFormat { format }) => assert_eq!(format, expected),
                other => panic!("{expected}: {other:?}"),
            }
        }
    }

    #[test]
    fn oversize_input_is_refused_before_reading() {
        let opts = PhotoOptions {
            max_input_bytes: 1000,
            ..PhotoOptions::default()
        };
        let path = fixture("npm-exif-0.6.0/test1.jpg");
        let r = process_photo(PhotoInput::Path(&path), &opts);
        assert!(
            matches!(
                r,
                Err(PhotoError::TooLarge {
                    bytes: 27521,
                    limit: 1000
                })
            ),
            "{r:?}"
        );
        let bytes = read_fixture("npm-exif-0.6.0/test1.jpg");
        let r = process_photo(PhotoInput::Bytes(&bytes), &opts);
        assert!(
            matches!(
                r,
                Err(PhotoError::TooLarge {
                    bytes: 27521,
                    limit: 1000
                })
            ),
            "{r:?}"
        );
    }

    #[test]
    fn header_declaring_20000x20000_is_refused_before_decoding() {
        let expected = |r: Result<ProcessedPhoto, PhotoError>| {
            assert!(
                matches!(
                    r,
                    Err(PhotoError::TooManyPixels {
                        pixels: 400_000_000,
                        limit: 100_000_000
                    })
                ),
                "{r:?}"
            );
        };
        // A 40-odd byte PNG: signature, IHDR 20000x20000, IEND, no pixel data at all.
        let png = tiny_png_header(20_000, 20_000);
        assert!(png.len() < 100);
        expected(process(&png));
        // A JPEG header: SOI, SOF0 20000x20000 with three components, SOS, no data.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8];
        jpeg.extend_from_slice(&20_000u16.to_be_bytes());
        jpeg.extend_from_slice(&20_000u16.to_be_bytes());
        jpeg.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
        assert!(jpeg.len() < 100);
        expected(process(&jpeg));
    }

    #[test]
    fn unreadable_path() {
        let r = process_photo(
            PhotoInput::Path(Path::new("/nonexistent/postcso/photo.jpg")),
            &PhotoOptions::default(),
        );
        match r {
            Err(PhotoError::Unreadable(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
            other => panic!("{other:?}"),
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let r = process_photo(PhotoInput::Path(dir.path()), &PhotoOptions::default());
        assert!(
            matches!(r, Err(PhotoError::Unreadable(_))),
            "a directory: {r:?}"
        );
    }

    #[test]
    fn corrupt_jpeg_and_png() {
        // Bogus Huffman tables in a real camera JPEG.
        let mut jpeg = read_fixture("npm-exif-0.6.0/test1.jpg");
        // The first top-level DHT (the EXIF thumbnail has its own, inside APP1).
        let dht = top_level_segment(&jpeg, 0xC4).expect("DHT");
        for b in &mut jpeg[dht + 5..dht + 21] {
            *b = 0xFF; // 16 code-length counts of 255: impossible table
        }
        let r = process(&jpeg);
        assert!(matches!(r, Err(PhotoError::Corrupt)), "{r:?}");
        // A PNG whose image data fails its CRC.
        let mut png = png_bytes(
            8,
            8,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            &[90; 8 * 8 * 3],
        );
        let idat = png.windows(4).position(|w| w == b"IDAT").expect("IDAT");
        png[idat + 6] ^= 0x55;
        let r = process(&png);
        assert!(matches!(r, Err(PhotoError::Corrupt)), "{r:?}");
    }

    #[test]
    fn invalid_options() {
        let jpeg = read_fixture("npm-exif-0.6.0/test1.jpg");
        for opts in [
            PhotoOptions {
                jpeg_quality: 0,
                ..PhotoOptions::default()
            },
            PhotoOptions {
                jpeg_quality: 101,
                ..PhotoOptions::default()
            },
            PhotoOptions {
                max_long_edge: 0,
                ..PhotoOptions::default()
            },
        ] {
            let r = process_photo(PhotoInput::Bytes(&jpeg), &opts);
            assert!(matches!(r, Err(PhotoError::InvalidOptions { .. })), "{r:?}");
        }
    }

    #[test]
    fn mutated_inputs_never_panic() {
        let base = read_fixture("npm-exif-0.6.0/test3.jpg");
        let png_base = png_bytes(
            16,
            16,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &[128; 16 * 16 * 4],
        );
        let mut rng = Rng(42);
        for round in 0..300 {
            let mut bytes = if round % 3 == 0 {
                png_base.clone()
            } else {
                base.clone()
            };
            for _ in 0..1 + rng.next() % 8 {
                let at = (rng.next() as usize) % bytes.len();
                bytes[at] = rng.next() as u8;
            }
            // Any outcome but a panic is fine; a success must be a valid JPEG.
            if let Ok(p) = process(&bytes) {
                assert!(p.width > 0 && p.height > 0);
                turbojpeg::read_header(&p.jpeg).expect("output decodes");
            }
        }
    }

    #[test]
    fn evil_exif_does_not_hang_or_fail_the_photo() {
        let p = process(&read_fixture("npm-exif-0.6.0/evil1.jpg")).expect("evil1");
        assert_eq!((p.width, p.height), (640, 480));
    }
}

mod photo_size {
    use super::*;

    #[test]
    fn twelve_megapixel_photo_is_downscaled_to_1600() {
        let p = process(&read_fixture(
            "npm-exif-0.6.0/sony-alpha-6000-crop-4000x3000.jpg",
        ))
        .expect("sony");
        assert_eq!((p.width, p.height), (1600, 1200));
        let h = turbojpeg::read_header(&p.jpeg).expect("header");
        assert_eq!(
            (h.width, h.height, h.subsamp),
            (1600, 1200, Subsamp::Sub2x2)
        );
        assert!(p.jpeg.len() <= 400_000, "output {} bytes", p.jpeg.len());
        assert_eq!(p.sha256.len(), 64);
        assert!(
            p.sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn aspect_is_kept_for_landscape_and_portrait() {
        for (w, h, expected) in [(3300, 2200, (1600, 1067)), (2000, 3000, (1067, 1600))] {
            let jpeg = encode_jpeg(&quadrants(w, h), w, h, 90);
            let p = process(&jpeg).expect("process");
            assert_eq!((p.width, p.height), expected, "{w}x{h}");
            assert_eq!(
                corners(&decode_rgb(&p.jpeg)).map(name),
                ["red", "green", "blue", "white"]
            );
        }
        // A PNG goes through the same resize.
        let png = png_bytes(
            2400,
            1800,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            &quadrants(2400, 1800),
        );
        let p = process(&png).expect("png");
        assert_eq!((p.width, p.height), (1600, 1200));
    }

    #[test]
    fn large_png_is_shrunk_while_read_and_keeps_its_layout() {
        // 4000x3000: box-shrunk by 2 while streaming, then resized to 1600x1200.
        let (w, h) = (4000usize, 3000usize);
        let png = png_bytes(
            w as u32,
            h as u32,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            &quadrants(w, h),
        );
        let p = process(&png).expect("png");
        assert_eq!((p.width, p.height), (1600, 1200));
        assert_eq!(
            corners(&decode_rgb(&p.jpeg)).map(name),
            ["red", "green", "blue", "white"]
        );
    }

    #[test]
    fn small_images_are_never_upscaled() {
        let p = process(&read_fixture("npm-exif-parser-0.1.12/starfish.jpg")).expect("starfish");
        assert_eq!((p.width, p.height), (1278, 720));
        let p = process(&read_fixture("npm-exif-0.6.0/test1.jpg")).expect("test1");
        assert_eq!((p.width, p.height), (180, 135));
        let opts = PhotoOptions {
            max_long_edge: 100,
            ..PhotoOptions::default()
        };
        let bytes = read_fixture("npm-exif-0.6.0/test1.jpg");
        let p = process_photo(PhotoInput::Bytes(&bytes), &opts).expect("test1 to 100");
        assert_eq!((p.width, p.height), (100, 75));
    }
}

mod photo_orientation {
    use super::*;

    #[test]
    fn all_eight_orientations_are_applied() {
        // Displayed corners (top-left, top-right, bottom-left, bottom-right) and whether
        // width and height swap, for a source with red/green/blue/white quadrants.
        let expected: [(u16, [&str; 4], bool); 8] = [
            (1, ["red", "green", "blue", "white"], false),
            (2, ["green", "red", "white", "blue"], false),
            (3, ["white", "blue", "green", "red"], false),
            (4, ["blue", "white", "red", "green"], false),
            (5, ["red", "blue", "green", "white"], true),
            (6, ["blue", "red", "white", "green"], true),
            (7, ["white", "green", "blue", "red"], true),
            (8, ["green", "white", "red", "blue"], true),
        ];
        // Small (no resize) and large (DCT 1/2 scale, then resize, then orient).
        for (w, h) in [(96usize, 64usize), (3300, 2200)] {
            let base = encode_jpeg(&quadrants(w, h), w, h, 90);
            for (o, corners_expected, swapped) in expected {
                let jpeg = insert_segment(&base, 0xE1, &exif_block(Some(o), None));
                let p = process(&jpeg).unwrap_or_else(|e| panic!("orientation {o}: {e}"));
                let (ew, eh) = if w > 1600 {
                    (1600, 1067)
                } else {
                    (w as u32, h as u32)
                };
                let dims = if swapped { (eh, ew) } else { (ew, eh) };
                assert_eq!((p.width, p.height), dims, "orientation {o}, {w}x{h}");
                let img = decode_rgb(&p.jpeg);
                assert_eq!((img.width as u32, img.height as u32), dims);
                assert_eq!(
                    corners(&img).map(name),
                    corners_expected,
                    "orientation {o}, {w}x{h}"
                );
            }
        }
    }

    #[test]
    fn real_camera_orientations() {
        // iPhone 6 Plus, orientation 6, square: the dimensions stay, the content turns.
        let p = process(&read_fixture("npm-jpeg-exif-1.1.4/IMG_0001.JPG")).expect("IMG_0001");
        assert_eq!((p.width, p.height), (1600, 1600));
        // Orientation 8, stored 640x480: shown 480x640.
        let p = process(&read_fixture("npm-exif-0.6.0/right.jpg")).expect("right");
        assert_eq!((p.width, p.height), (480, 640));
        // Orientation 4 (mirrored vertically): dimensions unchanged.
        let p = process(&read_fixture("npm-exif-0.6.0/down-mirrored.jpg")).expect("down-mirrored");
        assert_eq!((p.width, p.height), (480, 640));
    }
}

mod photo_exif_gps {
    use super::*;

    fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
        assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
    }

    #[test]
    fn gps_from_real_cameras() {
        // Reference values from `exiftool -n`.
        let p = process(&read_fixture("npm-exif-0.6.0/test1.jpg")).expect("test1");
        let l = p.exif_location.expect("test1 has GPS");
        assert_close(l.lat, 37.885, 1e-9, "lat");
        assert_close(l.lon, -122.6225, 1e-9, "lon (W is negative)");
        assert_close(l.altitude_m.expect("altitude"), 122.0, 1e-9, "altitude");
        assert_eq!(l.accuracy_m, None);
        assert_eq!(l.fix_time, None, "test1 has a time stamp but no date stamp");

        let p = process(&read_fixture("npm-exif-0.6.0/test3.jpg")).expect("test3");
        let l = p.exif_location.expect("test3 has GPS");
        assert_close(l.lat, 37.7763333333333, 1e-9, "lat");
        assert_close(l.lon, -122.419666666667, 1e-9, "lon");
        assert_close(
            l.altitude_m.expect("altitude"),
            15.83334542,
            1e-6,
            "altitude",
        );

        let p = process(&read_fixture("npm-jpeg-exif-1.1.4/IMG_0001.JPG")).expect("IMG_0001");
        let l = p.exif_location.expect("IMG_0001 has GPS");
        assert_close(l.lat, 40.0040861111111, 1e-9, "lat");
        assert_close(l.lon, 116.484780555556, 1e-9, "lon");
        assert_close(
            l.altitude_m.expect("altitude"),
            38.64497041,
            1e-6,
            "altitude",
        );
        assert_close(
            l.accuracy_m.expect("GPSHPositioningError"),
            65.0,
            1e-9,
            "accuracy",
        );
        let expected = Utc
            .with_ymd_and_hms(2016, 3, 24, 6, 49, 47)
            .single()
            .expect("time")
            + chrono::TimeDelta::milliseconds(570);
        assert_eq!(l.fix_time, Some(expected));

        let p = process(&read_fixture("npm-exif-parser-0.1.12/starfish.jpg")).expect("starfish");
        let l = p.exif_location.expect("starfish has GPS");
        assert_close(l.lat, 55.0387558333333, 1e-9, "lat");
        assert_close(l.lon, 8.45719055555556, 1e-9, "lon");

        // No GPS at all.
        let p = process(&read_fixture("pypi-piexif-1.1.3/r_canon.jpg")).expect("r_canon");
        assert_eq!(p.exif_location, None);
    }

    #[test]
    fn gps_southern_and_western_hemispheres_are_negative() {
        let base = encode_jpeg(&quadrants(64, 48), 64, 48, 90);
        for (lat, lon) in [
            (-33.8688, 151.2093),
            (-22.9068, -43.1729),
            (37.5665, 126.978),
        ] {
            let jpeg = insert_segment(&base, 0xE1, &exif_block(Some(1), Some((lat, lon))));
            let l = process(&jpeg).expect("process").exif_location.expect("gps");
            assert_close(l.lat, lat, 1e-6, "lat");
            assert_close(l.lon, lon, 1e-6, "lon");
        }
        // (0, 0) is the "no fix" value of broken location stacks.
        let jpeg = insert_segment(&base, 0xE1, &exif_block(None, Some((0.0, 0.0))));
        assert_eq!(process(&jpeg).expect("process").exif_location, None);
    }
}

mod photo_metadata {
    use super::*;

    /// IMG_0001 (EXIF, GPS, Apple maker notes, thumbnail) with XMP, IPTC, ICC and a
    /// comment added on top.
    fn everything_tagged() -> Vec<u8> {
        let mut jpeg = read_fixture("npm-jpeg-exif-1.1.4/IMG_0001.JPG");
        jpeg = insert_segment(&jpeg, 0xFE, b"carrier 17, Yeonhui-ro 12-3, back door");
        let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:creator>carrier 17</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>";
        jpeg = insert_segment(&jpeg, 0xE1, xmp);
        // Photoshop IRB with an IPTC-NAA record holding a caption (2:120).
        let mut iptc = b"Photoshop 3.0\08BIM\x04\x04\0\0".to_vec();
        let record = b"\x1c\x02\x78\x00\x0asecret loc";
        iptc.extend_from_slice(&(record.len() as u32).to_be_bytes());
        iptc.extend_from_slice(record);
        jpeg = insert_segment(&jpeg, 0xED, &iptc);
        let mut icc = b"ICC_PROFILE\0\x01\x01".to_vec();
        icc.extend_from_slice(&[0u8; 128]);
        jpeg = insert_segment(&jpeg, 0xE2, &icc);
        jpeg
    }

    #[test]
    fn output_has_no_metadata_by_marker_walk() {
        let input = everything_tagged();
        let markers_in = jpeg_markers(&input);
        for m in [0xE1, 0xE2, 0xED, 0xFE] {
            assert!(markers_in.contains(&m), "input should carry marker {m:02X}");
        }
        let p = process(&input).expect("process");
        assert!(p.exif_location.is_some(), "GPS was read before stripping");
        let markers = jpeg_markers(&p.jpeg);
        for m in &markers {
            assert!(
                matches!(m, 0xD8 | 0xE0 | 0xDB | 0xC0 | 0xC4 | 0xDA | 0xD9),
                "unexpected marker {m:02X} in {markers:02X?}"
            );
        }
        assert_eq!(markers.first(), Some(&0xD8));
        assert_eq!(markers.last(), Some(&0xD9));
        // APP0 must be JFIF, nothing else.
        let app0 = p
            .jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xE0])
            .expect("APP0");
        assert_eq!(&p.jpeg[app0 + 4..app0 + 9], b"JFIF\0");
        // And no trace of the texts anywhere in the bytes.
        for needle in [
            &b"Exif"[..],
            b"carrier 17",
            b"secret loc",
            b"ICC_PROFILE",
            b"Apple",
            b"iPhone",
        ] {
            assert!(
                !p.jpeg.windows(needle.len()).any(|w| w == needle),
                "{needle:?} survived"
            );
        }
    }

    #[test]
    fn output_has_no_metadata_by_exiftool() {
        // The independent reader is part of the check: without it the test fails
        // instead of passing silently.
        assert!(
            exiftool_available(),
            "exiftool is not installed; run `cargo xtask deps` (libimage-exiftool-perl)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let input_path = dir.path().join("in.jpg");
        let output_path = dir.path().join("out.jpg");
        fs::write(&input_path, everything_tagged()).expect("write input");
        let p = process_photo(PhotoInput::Path(&input_path), &PhotoOptions::default())
            .expect("process");
        fs::write(&output_path, &p.jpeg).expect("write output");

        let run = |path: &Path| -> serde_json::Map<String, serde_json::Value> {
            let out = Command::new("exiftool")
                .args(["-j", "-G1", "-a"])
                .arg(path)
                .output()
                .expect("exiftool");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            v[0].as_object().expect("object").clone()
        };
        // The input really carries all of it, as exiftool sees it.
        let before = run(&input_path);
        for key in [
            "GPS:GPSLatitude",
            "IFD0:Make",
            "XMP-dc:Creator",
            "IPTC:Caption-Abstract",
            "File:Comment",
        ] {
            assert!(
                before.contains_key(key),
                "input lacks {key}: {:?}",
                before.keys().collect::<Vec<_>>()
            );
        }
        assert!(
            before.keys().any(|k| k.starts_with("Apple:")),
            "input has Apple maker notes"
        );

        let after = run(&output_path);
        let allowed = [
            "SourceFile",
            "ExifTool:",
            "System:",
            "File:",
            "JFIF:",
            "Composite:",
        ];
        for key in after.keys() {
            assert!(
                allowed.iter().any(|a| key.starts_with(a)),
                "output carries {key}"
            );
        }
        for key in [
            "File:Comment",
            "Composite:GPSPosition",
            "Composite:GPSLatitude",
        ] {
            assert!(!after.contains_key(key), "output carries {key}");
        }
        assert_eq!(
            after.get("File:ImageWidth").and_then(|v| v.as_u64()),
            Some(1600)
        );
    }
}

mod photo_png {
    use super::*;

    #[test]
    fn png_colour_types_alpha_and_16_bit() {
        use png::{BitDepth as D, ColorType as C};
        let (w, h) = (32u32, 16u32);
        // RGBA: left half fully transparent black, right half opaque red.
        let rgba: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                if i % w < w / 2 {
                    [0, 0, 0, 0]
                } else {
                    [255, 0, 0, 255]
                }
            })
            .collect();
        let img = decode_rgb(
            &process(&png_bytes(w, h, C::Rgba, D::Eight, &rgba))
                .expect("rgba")
                .jpeg,
        );
        assert!(
            near(pixel(&img, 4, 8), WHITE, 8),
            "transparent becomes white"
        );
        assert!(near(pixel(&img, 28, 8), RED, 30), "opaque red stays red");

        // 16-bit grey: mid-grey.
        let grey16: Vec<u8> = (0..w * h).flat_map(|_| 0x8000u16.to_be_bytes()).collect();
        let img = decode_rgb(
            &process(&png_bytes(w, h, C::Grayscale, D::Sixteen, &grey16))
                .expect("grey16")
                .jpeg,
        );
        assert!(near(pixel(&img, 16, 8), [128, 128, 128], 3));

        // Grey + alpha at half opacity over white: black becomes mid-grey.
        let ga: Vec<u8> = (0..w * h).flat_map(|_| [0u8, 128]).collect();
        let img = decode_rgb(
            &process(&png_bytes(w, h, C::GrayscaleAlpha, D::Eight, &ga))
                .expect("ga")
                .jpeg,
        );
        assert!(near(pixel(&img, 16, 8), [127, 127, 127], 3));

        // Palette with a transparent entry.
        let idx: Vec<u8> = (0..w * h).map(|i| u8::from(i % w >= w / 2)).collect();
        let pal = png_with(w, h, C::Indexed, D::Eight, &idx, |e| {
            e.set_palette(vec![0, 0, 255, 0, 255, 0]);
            e.set_trns(vec![0, 255]);
        });
        let img = decode_rgb(&process(&pal).expect("palette").jpeg);
        assert!(
            near(pixel(&img, 4, 8), WHITE, 8),
            "transparent palette entry becomes white"
        );
        assert!(near(pixel(&img, 28, 8), GREEN, 30));
    }
}

mod photo_cmyk {
    //! CMYK and YCCK JPEGs (print and Photoshop exports) come out as RGB; JPEG
    //! variants the decoder does not read are refused by name.

    use super::*;
    use turbojpeg::{Colorspace, Compressor};

    /// How the CMYK samples of a test JPEG are stored.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Kind {
        /// CMYK without an Adobe marker: 0 means no ink.
        Plain,
        /// Photoshop's CMYK: Adobe APP14 with transform 0, samples inverted.
        AdobeCmyk,
        /// Photoshop's YCCK: Adobe APP14 with transform 2 over inverted CMYK. (YCCK
        /// exists only through that marker: without it libjpeg reads plain CMYK.)
        AdobeYcck,
    }

    const KINDS: [Kind; 3] = [Kind::Plain, Kind::AdobeCmyk, Kind::AdobeYcck];

    /// Ink amounts (C, M, Y, K; 0 = none) for an RGB colour; K = 0 suffices for
    /// the quadrant colours.
    fn ink(rgb: &[u8]) -> [u8; 4] {
        [255 - rgb[0], 255 - rgb[1], 255 - rgb[2], 0]
    }

    /// The red/green/blue/white quadrants as ink amounts, 4 bytes a pixel.
    fn ink_quadrants(w: usize, h: usize) -> Vec<u8> {
        quadrants(w, h).chunks_exact(3).flat_map(ink).collect()
    }

    /// An Adobe APP14 payload: "Adobe", version 100, flags 0 and 0, `transform`.
    fn adobe_app14(transform: u8) -> Vec<u8> {
        let mut p = b"Adobe".to_vec();
        p.extend_from_slice(&100u16.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0, transform]);
        p
    }

    /// Removes every top-level segment with `marker` before the first scan.
    fn remove_segments(jpeg: &[u8], marker: u8) -> Vec<u8> {
        let mut out = jpeg.to_vec();
        while let Some(at) = top_level_segment(&out, marker) {
            let len = usize::from(u16::from_be_bytes([out[at + 2], out[at + 3]]));
            out.drain(at..at + 2 + len);
        }
        out
    }

    /// A `kind` JPEG of `w` x `h` pixels from ink amounts. libjpeg-turbo writes an
    /// Adobe marker of its own for CMYK and YCCK; it is replaced by ours (or
    /// removed) so that the test, not the encoder, decides what the file says.
    fn cmyk_jpeg(ink: &[u8], w: usize, h: usize, kind: Kind) -> Vec<u8> {
        let samples: Vec<u8> = match kind {
            Kind::Plain => ink.to_vec(),
            Kind::AdobeCmyk | Kind::AdobeYcck => ink.iter().map(|v| 255 - v).collect(),
        };
        let (colorspace, subsamp) = match kind {
            Kind::Plain | Kind::AdobeCmyk => (Colorspace::CMYK, Subsamp::None),
            Kind::AdobeYcck => (Colorspace::YCCK, Subsamp::Sub2x2),
        };
        let mut c = Compressor::new().expect("compressor");
        c.set_quality(92).expect("quality");
        c.set_subsamp(subsamp).expect("subsamp");
        c.set_colorspace(colorspace).expect("colorspace");
        let image = Image {
            pixels: samples.as_slice(),
            width: w,
            pitch: w * 4,
            height: h,
            format: PixelFormat::CMYK,
        };
        let encoded = c.compress_to_vec(image).expect("compress CMYK");
        let bare = remove_segments(&encoded, 0xEE);
        let jpeg = match kind {
            Kind::Plain => bare,
            Kind::AdobeCmyk => insert_segment(&bare, 0xEE, &adobe_app14(0)),
            Kind::AdobeYcck => insert_segment(&bare, 0xEE, &adobe_app14(2)),
        };
        let header = turbojpeg::read_header(&jpeg).expect("header");
        assert_eq!(header.colorspace, colorspace, "{kind:?}");
        assert_eq!(
            top_level_segment(&jpeg, 0xEE).is_some(),
            kind != Kind::Plain,
            "{kind:?}"
        );
        jpeg
    }

    fn assert_quadrants(p: &ProcessedPhoto, expected: [[u8; 3]; 4], what: &str) {
        let got = corners(&decode_rgb(&p.jpeg));
        for (g, e) in got.iter().zip(expected) {
            assert!(
                near(*g, e, 16),
                "{what}: corners {got:?}, expected {expected:?}"
            );
        }
    }

    #[test]
    fn cmyk_and_ycck_become_rgb_plain_and_inverted() {
        // Small (decoded at full size) and large (DCT 1/2 scale, then resized).
        for (w, h, dims) in [(96, 64, (96, 64)), (3300, 2200, (1600, 1067))] {
            let ink = ink_quadrants(w, h);
            for kind in KINDS {
                let what = format!("{kind:?} {w}x{h}");
                let p =
                    process(&cmyk_jpeg(&ink, w, h, kind)).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!((p.width, p.height), dims, "{what}");
                assert_quadrants(&p, [RED, GREEN, BLUE, WHITE], &what);
            }
        }
    }

    #[test]
    fn black_ink_darkens() {
        // K alone at half: mid-grey, for every kind.
        let (w, h) = (64, 48);
        let ink: Vec<u8> = (0..w * h).flat_map(|_| [0, 0, 0, 128]).collect();
        for kind in KINDS {
            let p =
                process(&cmyk_jpeg(&ink, w, h, kind)).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            let img = decode_rgb(&p.jpeg);
            let c = pixel(&img, w / 2, h / 2);
            assert!(near(c, [127, 127, 127], 6), "{kind:?}: {c:?}");
        }
    }

    #[test]
    fn adobe_marker_alone_decides_inversion() {
        // The same plain samples, once with an Adobe marker spliced in: now read as
        // inverted, so red (no cyan, no black) turns into (near) black and white
        // into black too. Guards against guessing from the pixels or the colorspace.
        let (w, h) = (96, 64);
        let plain = cmyk_jpeg(&ink_quadrants(w, h), w, h, Kind::Plain);
        let marked = insert_segment(&plain, 0xEE, &adobe_app14(0));
        let p = process(&marked).expect("marked");
        let got = corners(&decode_rgb(&p.jpeg));
        assert!(
            got.iter().all(|c| c.iter().all(|&v| v < 40)),
            "plain samples read as Adobe must come out dark: {got:?}"
        );
    }

    #[test]
    fn cmyk_orientation_with_dct_scaling() {
        // Orientation 6 in an EXIF APP1 ahead of the Adobe marker: displayed corners
        // blue, red, white, green; width and height swap after the 1/2-scale decode.
        let (w, h) = (3300, 2200);
        let ink = ink_quadrants(w, h);
        for kind in [Kind::Plain, Kind::AdobeYcck] {
            let jpeg = insert_segment(
                &cmyk_jpeg(&ink, w, h, kind),
                0xE1,
                &exif_block(Some(6), None),
            );
            let p = process(&jpeg).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert_eq!((p.width, p.height), (1067, 1600), "{kind:?}");
            assert_quadrants(&p, [BLUE, RED, WHITE, GREEN], &format!("{kind:?}"));
        }
    }

    #[test]
    fn cmyk_output_is_a_plain_jpeg_without_metadata() {
        let (w, h) = (96, 64);
        let mut jpeg = cmyk_jpeg(&ink_quadrants(w, h), w, h, Kind::AdobeCmyk);
        jpeg = insert_segment(&jpeg, 0xE1, &exif_block(None, Some((37.5, -122.25))));
        let mut icc = b"ICC_PROFILE\0\x01\x01".to_vec();
        icc.extend_from_slice(&[0u8; 128]);
        jpeg = insert_segment(&jpeg, 0xE2, &icc);
        let p = process(&jpeg).expect("process");
        assert!(p.exif_location.is_some(), "GPS was read before stripping");
        // The Adobe marker is found behind the other segments.
        assert_quadrants(&p, [RED, GREEN, BLUE, WHITE], "tagged");
        let header = turbojpeg::read_header(&p.jpeg).expect("output header");
        assert_eq!(
            (header.colorspace, header.subsamp),
            (Colorspace::YCbCr, Subsamp::Sub2x2)
        );
        let markers = jpeg_markers(&p.jpeg);
        for m in &markers {
            assert!(
                matches!(m, 0xD8 | 0xE0 | 0xDB | 0xC0 | 0xC4 | 0xDA | 0xD9),
                "unexpected marker {m:02X} in {markers:02X?}"
            );
        }
    }

    #[test]
    fn damaged_cmyk_jpegs_are_typed_errors() {
        let (w, h) = (96, 64);
        let ink = ink_quadrants(w, h);
        for kind in KINDS {
            let full = cmyk_jpeg(&ink, w, h, kind);
            // Cuts in the Adobe marker, the tables, the scan, and just before EOI.
            let mut cuts: Vec<usize> = (2..full.len()).step_by(97).collect();
            cuts.extend([10, full.len() / 2, full.len() - 2, full.len() - 1]);
            for cut in cuts {
                let r = process(&full[..cut]);
                assert!(
                    matches!(r, Err(PhotoError::Truncated)),
                    "{kind:?} cut at {cut}/{}: {r:?}",
                    full.len()
                );
            }
            // Impossible Huffman tables.
            let mut bad = full.clone();
            let dht = top_level_segment(&bad, 0xC4).expect("DHT");
            for b in &mut bad[dht + 5..dht + 21] {
                *b = 0xFF;
            }
            let r = process(&bad);
            assert!(matches!(r, Err(PhotoError::Corrupt)), "{kind:?}: {r:?}");
            // An Adobe marker whose length runs past the end of the file.
            let mut cut_marker = full[..2].to_vec();
            cut_marker.extend_from_slice(&[0xFF, 0xEE, 0xFF, 0xF0]);
            cut_marker.extend_from_slice(&adobe_app14(2));
            let r = process(&cut_marker);
            assert!(matches!(r, Err(PhotoError::Truncated)), "{kind:?}: {r:?}");
            // Random damage anywhere: any typed outcome, never a panic; a success
            // is a valid JPEG.
            let mut rng = Rng(0xC0FFEE ^ kind as u64);
            for _ in 0..150 {
                let mut bytes = full.clone();
                for _ in 0..1 + rng.next() % 6 {
                    let at = (rng.next() as usize) % bytes.len();
                    bytes[at] = rng.next() as u8;
                }
                if let Ok(p) = process(&bytes) {
                    turbojpeg::read_header(&p.jpeg).expect("output decodes");
                }
            }
        }
    }

    #[test]
    fn jpegs_we_do_not_read_are_refused_by_name() {
        // 12-bit: a baseline JPEG whose frame header is made extended, precision 12.
        let mut jpeg = encode_jpeg(&quadrants(64, 48), 64, 48, 90);
        let sof = top_level_segment(&jpeg, 0xC0).expect("SOF0");
        jpeg[sof + 1] = 0xC1;
        jpeg[sof + 4] = 12;
        match process(&jpeg) {
            Err(
                e @ PhotoError::UnsupportedFormat {
                    format: "jpeg-12bit",
                },
            ) => {
                let msg = e.to_string();
                assert!(msg.contains("jpeg-12bit"), "{msg}");
                assert!(!msg.contains("convert to JPEG first"), "{msg}");
            }
            other => panic!("12-bit: {other:?}"),
        }
        // Two colour components: no colour space libjpeg knows (header only).
        let mut two = vec![0xFF, 0xD8, 0xFF, 0xC0, 0, 14, 8, 0, 16, 0, 16, 2];
        two.extend_from_slice(&[1, 0x11, 0, 2, 0x11, 0]);
        two.extend_from_slice(&[0xFF, 0xDA, 0, 10, 2, 1, 0, 2, 0, 0, 63, 0]);
        let r = process(&two);
        assert!(
            matches!(
                r,
                Err(PhotoError::UnsupportedFormat {
                    format: "jpeg-unknown-colorspace"
                })
            ),
            "{r:?}"
        );
    }
}
