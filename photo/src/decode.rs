//! Decoding to 8-bit RGB: JPEG through libjpeg-turbo with DCT-domain downscaling
//! (CMYK and YCCK JPEGs converted to RGB after it), PNG through the `png` crate
//! with alpha flattened onto white.

use std::io::Cursor;

use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat, ScalingFactor};

use super::PhotoError;
use super::orient::Rgb;
use super::sniff;

/// Progressive JPEGs with absurd scan counts make libjpeg re-walk the whole
/// coefficient buffer per scan (a CPU bomb); cameras write about ten scans.
const MAX_PROGRESSIVE_SCANS: u32 = 500;

/// The smallest DCT scaling factor n/8 (n = 1..=7) that keeps the long edge at or
/// above `target_long`; 1 when none does (the image is already small).
///
/// All eighths are used, not only 1/2, 1/4, 1/8: for an 8 MP (2448 px) photo 6/8
/// decodes 44 % fewer pixels than 1/1 and saves ~10 MB of peak memory; the odd
/// factors run libjpeg-turbo's plain-C reduced IDCTs, which measured as fast as
/// decoding at the next power of two and resizing more (`BENCHMARKS.md`).
pub(crate) fn dct_scale(width: u32, height: u32, target_long: u32) -> ScalingFactor {
    let long = width.max(height) as usize;
    (1..8)
        .map(|n| ScalingFactor::new(n, 8))
        .find(|s| s.scale(long) >= target_long as usize)
        .unwrap_or(ScalingFactor::ONE)
}

/// How a libjpeg-turbo message is to be taken. TurboJPEG 3 reports warnings as
/// failures too, after having decoded the whole image, and keeps the first message.
enum JpegIssue {
    /// Data missing at the end ("Premature end of JPEG file"): the rest would be grey.
    Truncated,
    /// Harmless oddities real cameras produce; the pixels are complete.
    Benign,
    /// JPEG variants libjpeg-turbo's 8-bit API does not read, by name.
    Unsupported(&'static str),
    /// Anything else: damaged entropy data, bad tables, ...
    Corrupt,
}

fn classify(message: &str) -> JpegIssue {
    let m = message.to_ascii_lowercase();
    if m.contains("premature end of jpeg file") || m.contains("premature end of data segment") {
        JpegIssue::Truncated
    } else if m.contains("extraneous bytes before marker")
        || m.contains("unknown jfif revision")
        || m.contains("unknown adobe color transform")
        || m.contains("invalid sos parameters for sequential jpeg")
        || m.contains("bad icc marker")
    {
        JpegIssue::Benign
    } else if m.contains("could not determine colorspace")
        || m.contains("unsupported color conversion")
    {
        // Two, or five and more, colour components: no known colour space.
        JpegIssue::Unsupported("jpeg-unknown-colorspace")
    } else if m.contains("unsupported jpeg data precision") {
        JpegIssue::Unsupported("jpeg-12bit")
    } else {
        JpegIssue::Corrupt
    }
}

fn jpeg_error(e: turbojpeg::Error) -> PhotoError {
    match e {
        turbojpeg::Error::TurboJpegError(msg) => match classify(&msg) {
            JpegIssue::Truncated => PhotoError::Truncated,
            JpegIssue::Unsupported(format) => PhotoError::UnsupportedFormat { format },
            JpegIssue::Benign | JpegIssue::Corrupt => {
                tracing::debug!(decoder = %msg, "JPEG rejected");
                PhotoError::Corrupt
            }
        },
        turbojpeg::Error::Null => PhotoError::Internal {
            stage: "jpeg decoder",
        },
        other => {
            tracing::debug!(decoder = %other, "JPEG rejected");
            PhotoError::Corrupt
        }
    }
}

/// A decoded JPEG with the dimensions it has at full size.
pub(crate) struct DecodedJpeg {
    pub(crate) image: Rgb,
    pub(crate) full_width: u32,
    pub(crate) full_height: u32,
}

/// Decodes a JPEG at the smallest DCT scale whose long edge is still at least
/// `target_long`, so a 12 MP photo is never expanded to 36 MB of RGB.
/// `max_pixels` is checked against libjpeg's own reading of the header too.
pub(crate) fn decode_jpeg(
    bytes: &[u8],
    target_long: u32,
    max_pixels: u64,
) -> Result<DecodedJpeg, PhotoError> {
    let mut dec = Decompressor::new().map_err(|_| PhotoError::Internal {
        stage: "jpeg decoder",
    })?;
    dec.set_scan_limit(MAX_PROGRESSIVE_SCANS)
        .map_err(|_| PhotoError::Internal {
            stage: "jpeg decoder",
        })?;
    let header = dec.read_header(bytes).map_err(jpeg_error)?;
    let (full_width, full_height) = (
        u32::try_from(header.width).map_err(|_| PhotoError::Corrupt)?,
        u32::try_from(header.height).map_err(|_| PhotoError::Corrupt)?,
    );
    let pixels = u64::from(full_width) * u64::from(full_height);
    if pixels > max_pixels {
        return Err(PhotoError::TooManyPixels {
            pixels,
            limit: max_pixels,
        });
    }
    // libjpeg-turbo reads CMYK and YCCK JPEGs only into CMYK pixels (converting
    // YCCK itself); they become RGB after the (DCT-scaled) decode.
    let cmyk = matches!(header.colorspace, Colorspace::CMYK | Colorspace::YCCK);
    let (format, channels) = if cmyk {
        (PixelFormat::CMYK, 4)
    } else {
        (PixelFormat::RGB, 3)
    };
    let scale = if header.is_lossless {
        ScalingFactor::ONE
    } else {
        dct_scale(full_width, full_height, target_long)
    };
    dec.set_scaling_factor(scale)
        .map_err(|_| PhotoError::Internal {
            stage: "jpeg decoder",
        })?;
    let scaled = header.scaled(scale);
    let len = scaled
        .width
        .checked_mul(scaled.height)
        .and_then(|n| n.checked_mul(channels))
        .ok_or(PhotoError::Corrupt)?;
    let mut pixels = vec![0u8; len];
    let out = Image {
        pixels: pixels.as_mut_slice(),
        width: scaled.width,
        pitch: scaled.width * channels,
        height: scaled.height,
        format,
    };
    if let Err(e) = dec.decompress(bytes, out) {
        // A warning still produced a complete image; only benign ones are accepted.
        match &e {
            turbojpeg::Error::TurboJpegError(msg) if matches!(classify(msg), JpegIssue::Benign) => {
                tracing::debug!(decoder = %msg, "JPEG decoded with a benign warning");
            }
            _ => return Err(jpeg_error(e)),
        }
    }
    let adobe = if cmyk {
        let adobe = sniff::adobe_transform(bytes);
        cmyk_to_rgb_in_place(&mut pixels, adobe.is_some());
        adobe
    } else {
        None
    };
    tracing::debug!(
        full_width,
        full_height,
        scale = %scale,
        colorspace = ?header.colorspace,
        adobe_transform = ?adobe,
        "JPEG decoded"
    );
    Ok(DecodedJpeg {
        image: Rgb {
            width: u32::try_from(scaled.width).map_err(|_| PhotoError::Corrupt)?,
            height: u32::try_from(scaled.height).map_err(|_| PhotoError::Corrupt)?,
            pixels,
        },
        full_width,
        full_height,
    })
}

/// Turns 4-byte CMYK pixels into 3-byte RGB in place (the buffer shrinks to 3/4,
/// so no second full-size buffer is needed).
///
/// `inverted` is Adobe's convention, which Photoshop and nearly every CMYK JPEG
/// follow and libjpeg passes through as stored: 0 means full ink. We take it to
/// apply exactly when the file has an Adobe APP14 marker, as Pillow does;
/// without one, 0 means no ink.
///
/// The conversion is the naive one, R = 255 (1 - C)(1 - K) with C and K the ink
/// amounts in 0..=1 (G from M, B from Y), without colour management: the ICC
/// profile a print CMYK file depends on is dropped with the rest of the metadata.
/// Colours come out somewhat brighter and more saturated than Photoshop shows
/// them, which is acceptable for an evidence photo.
fn cmyk_to_rgb_in_place(px: &mut Vec<u8>, inverted: bool) {
    // For a u8, x ^ 0xFF == 255 - x: turns ink amounts into "no ink" amounts.
    let flip = if inverted { 0 } else { 0xFF };
    let n = px.len() / 4;
    for i in 0..n {
        // Pixel i is read whole before bytes 3i..3i+3 are written; 3i + 3 <= 4i + 4,
        // so a write never reaches a pixel that is still to be read.
        let s = 4 * i;
        let [c, m, y, k] = [px[s], px[s + 1], px[s + 2], px[s + 3]].map(|v| v ^ flip);
        let k = u32::from(k);
        let mul = |v: u8| ((u32::from(v) * k + 127) / 255) as u8;
        let d = 3 * i;
        px[d] = mul(c);
        px[d + 1] = mul(m);
        px[d + 2] = mul(y);
    }
    px.truncate(3 * n);
}

fn png_error(e: png::DecodingError) -> PhotoError {
    match e {
        png::DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Truncated
        }
        png::DecodingError::LimitsExceeded => PhotoError::Internal {
            stage: "png decoder limits",
        },
        other => {
            let msg = other.to_string();
            // The streaming decoder reports a short input as a format error.
            if msg.contains("end of") || msg.contains("EOF") || msg.contains("truncated") {
                PhotoError::Truncated
            } else {
                tracing::debug!(decoder = %msg, "PNG rejected");
                PhotoError::Corrupt
            }
        }
    }
}

/// Blends a colour channel over a white background.
#[inline]
fn over_white(c: u8, a: u8) -> u8 {
    let (c, a) = (u32::from(c), u32::from(a));
    ((c * a + 255 * (255 - a) + 127) / 255) as u8
}

/// Appends one row of 8-bit samples as RGB.
fn push_rgb(out: &mut Vec<u8>, row: &[u8], color: png::ColorType) {
    use png::ColorType as C;
    match color {
        C::Rgb => out.extend_from_slice(row),
        C::Rgba => {
            for p in row.chunks_exact(4) {
                out.extend_from_slice(&[
                    over_white(p[0], p[3]),
                    over_white(p[1], p[3]),
                    over_white(p[2], p[3]),
                ]);
            }
        }
        C::Grayscale => {
            for &g in row {
                out.extend_from_slice(&[g, g, g]);
            }
        }
        C::GrayscaleAlpha => {
            for p in row.chunks_exact(2) {
                let g = over_white(p[0], p[1]);
                out.extend_from_slice(&[g, g, g]);
            }
        }
        // EXPAND turns palettes into RGB(A); kept for exhaustiveness.
        C::Indexed => {}
    }
}

/// Averages `k` x `k` blocks of RGB rows as they stream in: the PNG counterpart of
/// JPEG DCT scaling. A 20 KB PNG can declare 100 MP of one colour; shrinking while
/// reading keeps memory near the output size instead of 300 MB of RGB.
struct BoxShrink {
    width: usize,
    k: usize,
    out_width: usize,
    sums: Vec<u32>,
    rows_in_block: usize,
    out: Vec<u8>,
}

impl BoxShrink {
    fn new(width: u32, height: u32, k: usize) -> Result<Self, PhotoError> {
        let width = width as usize;
        let out_width = width.div_ceil(k);
        let out_len = out_width
            .checked_mul((height as usize).div_ceil(k))
            .and_then(|n| n.checked_mul(3))
            .ok_or(PhotoError::Corrupt)?;
        Ok(Self {
            width,
            k,
            out_width,
            sums: vec![0; if k > 1 { out_width * 3 } else { 0 }],
            rows_in_block: 0,
            out: Vec::with_capacity(out_len),
        })
    }

    /// Takes one full-width RGB row.
    fn push(&mut self, rgb: &[u8]) {
        if self.k == 1 {
            self.out.extend_from_slice(rgb);
            return;
        }
        for (x, px) in rgb.chunks_exact(3).enumerate() {
            let s = &mut self.sums[(x / self.k) * 3..(x / self.k) * 3 + 3];
            s[0] += u32::from(px[0]);
            s[1] += u32::from(px[1]);
            s[2] += u32::from(px[2]);
        }
        self.rows_in_block += 1;
        if self.rows_in_block == self.k {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.rows_in_block == 0 {
            return;
        }
        for bx in 0..self.out_width {
            let cols = self.k.min(self.width - bx * self.k);
            let n = (cols * self.rows_in_block) as u32;
            for c in 0..3 {
                let sum = &mut self.sums[bx * 3 + c];
                self.out.push(((*sum + n / 2) / n) as u8);
                *sum = 0;
            }
        }
        self.rows_in_block = 0;
    }

    fn finish(mut self) -> Vec<u8> {
        self.flush();
        self.out
    }
}

/// Decodes a PNG of any colour type and bit depth to 8-bit RGB, transparent areas
/// shown on white (what a viewer on a light background shows). Large images are
/// box-shrunk by the largest integer factor that keeps the long edge at or above
/// `target_long`, while reading; returns the image and the full-size dimensions.
pub(crate) fn decode_png(bytes: &[u8], target_long: u32) -> Result<(Rgb, u32, u32), PhotoError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    let mut reader = decoder.read_info().map_err(png_error)?;
    let (color, depth) = reader.output_color_type();
    if depth != png::BitDepth::Eight || color == png::ColorType::Indexed {
        return Err(PhotoError::Corrupt);
    }
    let info = reader.info();
    let (width, height, interlaced) = (info.width, info.height, info.interlaced);
    let k = (width.max(height) / target_long.max(1)).max(1) as usize;
    let mut shrink = BoxShrink::new(width, height, k)?;
    let mut rgb_row = Vec::with_capacity(width as usize * 3);
    let mut rows = 0usize;
    let mut take = |row: &[u8], shrink: &mut BoxShrink| {
        rgb_row.clear();
        push_rgb(&mut rgb_row, row, color);
        if rgb_row.len() == width as usize * 3 {
            shrink.push(&rgb_row);
            rows += 1;
        }
    };
    if interlaced {
        // Adam7 rows arrive pass by pass; let the decoder assemble the frame.
        let size = reader.output_buffer_size().ok_or(PhotoError::Corrupt)?;
        let mut frame = vec![0u8; size];
        let info = reader.next_frame(&mut frame).map_err(png_error)?;
        for row in frame.chunks_exact(info.line_size).take(height as usize) {
            take(row, &mut shrink);
        }
    } else {
        while let Some(row) = reader.next_row().map_err(png_error)? {
            take(row.data(), &mut shrink);
        }
    }
    if rows != height as usize {
        return Err(PhotoError::Truncated);
    }
    // Read on to IEND: a file cut after its pixel data is still an incomplete file.
    reader.finish().map_err(png_error)?;
    let image = Rgb {
        width: width.div_ceil(k as u32),
        height: height.div_ceil(k as u32),
        pixels: shrink.finish(),
    };
    Ok((image, width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_scale_keeps_long_edge_at_target() {
        let pick = |w, h, t| {
            let s = dct_scale(w, h, t);
            (s.num(), s.denom())
        };
        assert_eq!(pick(4000, 3000, 1600), (1, 2)); // 2000 >= 1600, 3/8: 1500 < 1600
        assert_eq!(pick(3000, 4000, 1600), (1, 2));
        assert_eq!(pick(6000, 4000, 1600), (3, 8)); // 2250; 2/8: 1500
        assert_eq!(pick(6400, 4800, 1600), (1, 4)); // exactly 1600
        assert_eq!(pick(13000, 9000, 1600), (1, 8)); // 1625
        assert_eq!(pick(2448, 2448, 1600), (3, 4)); // 1836; 5/8: 1530
        assert_eq!(pick(3000, 2000, 1600), (5, 8)); // 1875; 4/8: 1500
        assert_eq!(pick(1700, 1000, 1600), (1, 1)); // 7/8: 1488
        assert_eq!(pick(800, 600, 1600), (1, 1));
    }

    #[test]
    fn warnings_are_classified() {
        assert!(matches!(
            classify("Premature end of JPEG file"),
            JpegIssue::Truncated
        ));
        assert!(matches!(
            classify("Corrupt JPEG data: 12 extraneous bytes before marker 0xd9"),
            JpegIssue::Benign
        ));
        assert!(matches!(
            classify("Corrupt JPEG data: bad Huffman code"),
            JpegIssue::Corrupt
        ));
        assert!(matches!(
            classify("Bogus marker length"),
            JpegIssue::Corrupt
        ));
        assert!(matches!(
            classify("Unsupported JPEG data precision 12"),
            JpegIssue::Unsupported("jpeg-12bit")
        ));
        assert!(matches!(
            classify("Could not determine colorspace of JPEG image"),
            JpegIssue::Unsupported("jpeg-unknown-colorspace")
        ));
    }

    #[test]
    fn cmyk_to_rgb_plain_and_inverted() {
        // Ink amounts (0 = none): white, black, red, green, blue, half-grey via K.
        let plain: [[u8; 4]; 6] = [
            [0, 0, 0, 0],
            [0, 0, 0, 255],
            [0, 255, 255, 0],
            [255, 0, 255, 0],
            [255, 255, 0, 0],
            [0, 0, 0, 128],
        ];
        let rgb = [
            255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 127, 127, 127,
        ];
        let mut px: Vec<u8> = plain.concat();
        cmyk_to_rgb_in_place(&mut px, false);
        assert_eq!(px, rgb);
        let mut px: Vec<u8> = plain.concat().iter().map(|v| 255 - v).collect();
        cmyk_to_rgb_in_place(&mut px, true);
        assert_eq!(px, rgb);
        // C 40 %, K 50 %: R = 255 * 0.6 * 0.5.
        let mut px = vec![102, 0, 0, 128];
        cmyk_to_rgb_in_place(&mut px, false);
        assert_eq!(px, [76, 127, 127]);
    }

    #[test]
    fn box_shrink_averages_blocks_and_edges() {
        // 5x3 image, k = 2: output 3x2; the last column and row are partial blocks.
        let rows: Vec<Vec<u8>> = (0..3u8)
            .map(|y| (0..5u8).flat_map(|x| [10 * x + y, 0, 255]).collect())
            .collect();
        let mut s = BoxShrink::new(5, 3, 2).expect("new");
        for r in &rows {
            s.push(r);
        }
        let out = s.finish();
        let reds: Vec<u8> = out.chunks(3).map(|p| p[0]).collect();
        // Block (0,0): x 0-1, y 0-1 -> (0+1+10+11)/4 = 5.5 -> 6; last column x = 4 only.
        assert_eq!(reds, [6, 26, 41, 7, 27, 42]);
        assert!(out.chunks(3).all(|p| p[1] == 0 && p[2] == 255));
    }

    #[test]
    fn alpha_flattens_onto_white() {
        assert_eq!(over_white(0, 0), 255);
        assert_eq!(over_white(0, 255), 0);
        assert_eq!(over_white(200, 255), 200);
        assert_eq!(over_white(0, 128), 127);
    }
}
