//! The photo pipeline: from whatever the camera or gallery hands over to a small,
//! metadata-free JPEG with a content hash.
//!
//! A crate of its own so that whoever takes photos shares one pipeline without
//! linking the rest of the phone core: the phone core (which stores the result
//! until it is uploaded), the station's console (an inspector's tablet camera)
//! and the fuzz targets.
//!
//! # Pipeline
//!
//! 1. **Sniff** the format by magic bytes (module `sniff`): JPEG and PNG are accepted;
//!    HEIC/HEIF/AVIF, GIF, WebP, TIFF, BMP and JPEG XL are recognised and refused
//!    with [`PhotoError::UnsupportedFormat`]. The size limit is checked against the
//!    file's metadata before it is read, and the pixel count against the header
//!    before any decoder allocates (decompression bombs).
//! 2. **Read EXIF** (orientation and GPS) with `kamadak-exif` while it still exists.
//! 3. **Decode**: JPEG (grey, YCbCr, RGB, CMYK and YCCK) with libjpeg-turbo
//!    (`turbojpeg`), at the smallest DCT-domain scale n/8 that leaves the long edge
//!    at or above the target (1/2 for a 12 MP photo, 3/8 for 24 MP, 3/4 for an
//!    8 MP square), then a Lanczos3 resize with `fast_image_resize` to exactly
//!    `max_long_edge`; JPEG variants libjpeg-turbo's 8-bit API does not read
//!    (12-bit, unknown colour spaces) are refused with
//!    [`PhotoError::UnsupportedFormat`] naming them. PNG with the `png` crate
//!    (palette, grey, 16-bit and alpha normalised to RGB on white), box-averaged
//!    by an integer factor while the rows stream in, then the same resize. Images
//!    are never upscaled.
//! 4. **Orient**: the EXIF orientation (all eight values) is baked into the pixels
//!    after the resize, which equals orienting first at a fraction of the cost.
//! 5. **Encode** with libjpeg-turbo at `jpeg_quality`, 4:2:0. Nothing is copied from
//!    the input, so the output carries no EXIF, GPS, maker notes, XMP, IPTC, ICC or
//!    comments; only the JFIF APP0 header.
//!
//! # Why libjpeg-turbo with DCT scaling
//!
//! Figures the pipeline was chosen on, for a 12-megapixel camera JPEG (4000x3000) to
//! 1600 px on a 2-core machine: the `image` crate decoding and resizing with Lanczos3
//! took 789 ms and 121 MB peak RSS; `image` decoding plus `fast_image_resize` 236 ms
//! and 63 MB; `vipsthumbnail` 302 ms and 50 MB; libjpeg-turbo decoding at 1/2 scale
//! plus `fast_image_resize` 76 ms and 29 MB. Decoding at 1/2 scale skips three
//! quarters of the inverse DCT, upsampling and colour conversion work and never
//! materialises the 36 MB full-size RGB buffer. As built here it measures 39 ms in
//! process and 57 ms / 28 MiB peak RSS as a fresh process, against 117 ms / 50 MiB
//! for `vipsthumbnail` on the same real 12 MP photo (`BENCHMARKS.md`, "Photo
//! processing").
//!
//! # Mobile builds
//!
//! `turbojpeg-sys` builds libjpeg-turbo from source with CMake, which works with the
//! Android NDK's CMake toolchain file and with Xcode's toolchains for iOS (the `cmake`
//! crate passes the target's compiler); the SIMD code is NEON on ARM, and `nasm` is
//! only needed when building for x86/x86-64 (emulators, simulators, desktop).
//! `fast_image_resize`, `png`, `kamadak-exif` and `sha2` are pure Rust.
//!
//! # HEIC
//!
//! iPhones (and some Android phones) shoot HEIC. The core does not decode it (no
//! well-kept pure-Rust decoder; libheif would add a large native dependency and
//! HEVC patent questions), and refuses it with `UnsupportedFormat { format: "heic" }`.
//! The platform side converts to JPEG before calling [`process_photo`]:
//!
//! - Android: `ImageDecoder.decodeBitmap` (which applies the orientation) then
//!   `Bitmap.compress(JPEG, 95, ..)`; `Bitmap` carries no EXIF, so read the GPS with
//!   `androidx.exifinterface.ExifInterface` from the HEIC first if it is wanted.
//! - iOS: ImageIO, `CGImageSourceCreateWithURL` then `CGImageDestinationCreateWithURL`
//!   with `UTType.jpeg` and `CGImageDestinationAddImageFromSource`, which carries the
//!   EXIF (orientation and GPS) over into the JPEG.
//!
//! # Colour
//!
//! ICC profiles are dropped with the rest of the metadata and pixels are not
//! converted, so a Display P3 photo is shown as if it were sRGB: slightly less
//! saturated, which is acceptable for an evidence photo of a street corner.
//! CMYK and YCCK JPEGs (Adobe's inverted CMYK when the Adobe APP14 marker is
//! present, plain CMYK otherwise) are turned into RGB with the naive formula
//! R = 255 (1 - C)(1 - K), for the same reason: approximate colours, no ICC.
//!
//! # Privacy
//!
//! Logs (`tracing`) carry sizes, formats and timings only, never pixels or positions.

mod decode;
mod encode;
mod error;
mod exif;
mod orient;
mod resize;
mod sniff;

use std::fs::File;
use std::io::Read;
use std::path::Path;

pub use encode::sha256_hex;
pub use error::PhotoError;
pub use exif::ExifLocation;

use sniff::Format;

/// Limits and output settings of [`process_photo`]; the defaults balance legibility of
/// a street scene against upload size on a patchy mobile connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoOptions {
    /// Long edge of the output in pixels (default 1600: enough to read a sign or a
    /// house number, about 200-400 KB per photo).
    pub max_long_edge: u32,
    /// JPEG quality 1..=100 of the output (default 80).
    pub jpeg_quality: u8,
    /// Inputs larger than this are refused before being read (default 30 MB; a
    /// 50 MP phone JPEG is about 15-25 MB).
    pub max_input_bytes: u64,
    /// Inputs declaring more pixels are refused before decoding (default 100 MP).
    pub max_input_pixels: u64,
}

impl Default for PhotoOptions {
    fn default() -> Self {
        Self {
            max_long_edge: 1600,
            jpeg_quality: 80,
            max_input_bytes: 30 * 1000 * 1000,
            max_input_pixels: 100 * 1000 * 1000,
        }
    }
}

impl PhotoOptions {
    fn validate(&self) -> Result<(), PhotoError> {
        if self.max_long_edge == 0 {
            return Err(PhotoError::InvalidOptions {
                reason: "max_long_edge is 0",
            });
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return Err(PhotoError::InvalidOptions {
                reason: "jpeg_quality is not in 1..=100",
            });
        }
        Ok(())
    }
}

/// Where the photo comes from: a file the camera or picker wrote (read here, after
/// its size is checked) or bytes the platform already holds.
#[derive(Debug, Clone, Copy)]
pub enum PhotoInput<'a> {
    /// A file path; its length is checked before it is read.
    Path(&'a Path),
    /// The encoded image in memory.
    Bytes(&'a [u8]),
}

/// A photo ready to be queued and uploaded: the only form in which photo bytes leave
/// the pipeline.
#[derive(Clone, PartialEq)]
pub struct ProcessedPhoto {
    /// The re-encoded JPEG, without any metadata.
    pub jpeg: Vec<u8>,
    /// Width in pixels, after orientation.
    pub width: u32,
    /// Height in pixels, after orientation.
    pub height: u32,
    /// Lowercase hex SHA-256 of `jpeg`: storage name and manifest identity.
    pub sha256: String,
    /// The camera's GPS fix, read before stripping; `None` when absent or invalid.
    pub exif_location: Option<ExifLocation>,
}

/// Shows sizes and the hash but neither bytes nor the position, so a processed
/// photo can be logged with `{:?}` without leaking where a report points.
impl std::fmt::Debug for ProcessedPhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessedPhoto")
            .field("jpeg_len", &self.jpeg.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("sha256", &self.sha256)
            .field("has_exif_location", &self.exif_location.is_some())
            .finish()
    }
}

/// Reads a file whose size is first checked against `limit` from its metadata, and
/// again while reading (the file may still be growing).
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, PhotoError> {
    let file = File::open(path).map_err(PhotoError::Unreadable)?;
    let len = file.metadata().map_err(PhotoError::Unreadable)?.len();
    if len > limit {
        return Err(PhotoError::TooLarge { bytes: len, limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(PhotoError::Unreadable)?;
    let read = bytes.len() as u64;
    if read > limit {
        return Err(PhotoError::TooLarge { bytes: read, limit });
    }
    Ok(bytes)
}

/// Turns a camera or gallery image into a report photo: downscaled to
/// `opts.max_long_edge`, upright, re-encoded as JPEG without any metadata, hashed.
/// The camera's GPS fix is returned separately so the report flow can use it.
///
/// Never panics, whatever the input; every refusal is a [`PhotoError`].
pub fn process_photo(
    input: PhotoInput<'_>,
    opts: &PhotoOptions,
) -> Result<ProcessedPhoto, PhotoError> {
    opts.validate()?;
    let started = std::time::Instant::now();
    let owned;
    let bytes: &[u8] = match input {
        PhotoInput::Path(path) => {
            owned = read_limited(path, opts.max_input_bytes)?;
            &owned
        }
        PhotoInput::Bytes(bytes) => {
            let len = bytes.len() as u64;
            if len > opts.max_input_bytes {
                return Err(PhotoError::TooLarge {
                    bytes: len,
                    limit: opts.max_input_bytes,
                });
            }
            bytes
        }
    };

    let format = sniff::sniff(bytes)?;
    let (width, height) = sniff::declared_dimensions(format, bytes)?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > opts.max_input_pixels {
        return Err(PhotoError::TooManyPixels {
            pixels,
            limit: opts.max_input_pixels,
        });
    }

    let exif = exif::read_exif(bytes);

    let (image, full_width, full_height) = match format {
        Format::Jpeg => {
            let d = decode::decode_jpeg(bytes, opts.max_long_edge, opts.max_input_pixels)?;
            (d.image, d.full_width, d.full_height)
        }
        Format::Png => decode::decode_png(bytes, opts.max_long_edge)?,
    };
    let (tw, th) = resize::target_size(full_width, full_height, opts.max_long_edge);
    let image = resize::resize(image, tw, th)?;
    let image = orient::apply(image, exif.orientation);
    let jpeg = encode::encode_jpeg(&image, opts.jpeg_quality)?;
    let sha256 = encode::sha256_hex(&jpeg);

    tracing::debug!(
        format = ?format,
        input_bytes = bytes.len(),
        input_width = full_width,
        input_height = full_height,
        width = image.width,
        height = image.height,
        output_bytes = jpeg.len(),
        has_exif_location = exif.location.is_some(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "photo processed"
    );
    Ok(ProcessedPhoto {
        jpeg,
        width: image.width,
        height: image.height,
        sha256,
        exif_location: exif.location,
    })
}
