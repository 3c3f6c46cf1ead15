//! Format detection by magic bytes and header-only dimension reading.
//!
//! Both run before any decoder touches the data: the file extension and the
//! platform's MIME type are not trusted, and the pixel count must be known before a
//! decoder allocates memory for it (decompression bombs).

use super::PhotoError;

/// An input format the pipeline decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Jpeg,
    Png,
}

const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Identifies the format from the first bytes.
///
/// JPEG and PNG are accepted; other image formats a phone may hand over are named in
/// [`PhotoError::UnsupportedFormat`]; anything else is [`PhotoError::NotAnImage`].
pub(crate) fn sniff(bytes: &[u8]) -> Result<Format, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.starts_with(JPEG_MAGIC) {
        return Ok(Format::Jpeg);
    }
    if bytes.starts_with(PNG_MAGIC) {
        return Ok(Format::Png);
    }
    // A file cut inside its own signature: at least two bytes agree with the magic.
    if bytes.len() >= 2 && (JPEG_MAGIC.starts_with(bytes) || PNG_MAGIC.starts_with(bytes)) {
        return Err(PhotoError::Truncated);
    }
    if let Some(format) = unsupported_format(bytes) {
        return Err(PhotoError::UnsupportedFormat { format });
    }
    Err(PhotoError::NotAnImage)
}

/// Names image formats we recognise but do not decode.
fn unsupported_format(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Some("gif");
    }
    if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        return Some("webp");
    }
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        return match &b[8..12] {
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"hevm" | b"hevs" => {
                Some("heic")
            }
            b"mif1" | b"msf1" | b"miaf" => Some("heif"),
            b"avif" | b"avis" => Some("avif"),
            _ => None,
        };
    }
    if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        return Some("tiff");
    }
    if b.len() >= 18 && &b[0..2] == b"BM" {
        // The DIB header size distinguishes a real bitmap from text starting with "BM".
        let dib = u32::from_le_bytes([b[14], b[15], b[16], b[17]]);
        if matches!(dib, 12 | 16 | 40 | 52 | 56 | 64 | 108 | 124) {
            return Some("bmp");
        }
    }
    if b.starts_with(&[0xFF, 0x0A]) || b.starts_with(b"\0\0\0\x0cJXL \r\n\x87\n") {
        return Some("jxl");
    }
    None
}

/// Width and height as declared by the header, without decoding any pixel.
pub(crate) fn declared_dimensions(format: Format, bytes: &[u8]) -> Result<(u32, u32), PhotoError> {
    match format {
        Format::Jpeg => jpeg_dimensions(bytes),
        Format::Png => png_dimensions(bytes),
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Walks the JPEG marker segments up to the first scan (SOS), handing each
/// segment's marker and payload to `visit`; returns at the SOS. Data ending before
/// the scan is `Truncated`; garbage between segments, or an EOI or second SOI
/// before any scan, is `Corrupt`.
fn walk_jpeg_header<'a>(
    b: &'a [u8],
    mut visit: impl FnMut(u8, &'a [u8]) -> Result<(), PhotoError>,
) -> Result<(), PhotoError> {
    let mut i = 2; // after SOI
    loop {
        // Markers start with 0xFF, optionally padded with more 0xFF fill bytes.
        match b.get(i) {
            None => return Err(PhotoError::Truncated),
            Some(0xFF) => {}
            Some(_) => return Err(PhotoError::Corrupt),
        }
        while b.get(i) == Some(&0xFF) {
            i += 1;
        }
        let marker = *b.get(i).ok_or(PhotoError::Truncated)?;
        i += 1;
        match marker {
            // Stand-alone markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            // A second SOI, or the end before any scan: no image here.
            0xD8 | 0xD9 => return Err(PhotoError::Corrupt),
            _ => {}
        }
        let len = usize::from(be16(b, i).ok_or(PhotoError::Truncated)?);
        if len < 2 {
            return Err(PhotoError::Corrupt);
        }
        let payload = b.get(i + 2..i + len).ok_or(PhotoError::Truncated)?;
        if marker == 0xDA {
            return Ok(());
        }
        visit(marker, payload)?;
        i += len;
    }
}

/// Returns the size from the frame header (SOFn); a scan without a frame header is
/// `Corrupt`.
fn jpeg_dimensions(b: &[u8]) -> Result<(u32, u32), PhotoError> {
    let mut dims = None;
    walk_jpeg_header(b, |marker, payload| {
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof && dims.is_none() {
            // Payload: precision (1), height (2), width (2), components (1).
            if payload.len() < 6 {
                return Err(PhotoError::Corrupt);
            }
            let height = be16(payload, 1).ok_or(PhotoError::Corrupt)?;
            let width = be16(payload, 3).ok_or(PhotoError::Corrupt)?;
            if width == 0 || height == 0 {
                // Height 0 means "defined later by a DNL marker": not used by cameras.
                return Err(PhotoError::Corrupt);
            }
            dims = Some((u32::from(width), u32::from(height)));
        }
        Ok(())
    })?;
    dims.ok_or(PhotoError::Corrupt)
}

/// The colour transform flag of the JPEG's Adobe APP14 segment (0 = CMYK or RGB,
/// 1 = YCbCr, 2 = YCCK), or `None` without one. Read because libjpeg-turbo's API
/// does not say whether the marker is there, and its presence is what tells
/// Photoshop's inverted CMYK from plain CMYK. Recognised as libjpeg does (at least
/// 12 payload bytes starting with "Adobe"; the last one before the scan wins), so
/// both agree on the file. A damaged header gives `None`: the decoder reports it.
pub(crate) fn adobe_transform(b: &[u8]) -> Option<u8> {
    let mut transform = None;
    let walked = walk_jpeg_header(b, |marker, payload| {
        if marker == 0xEE
            && payload.starts_with(b"Adobe")
            && let Some(&t) = payload.get(11)
        {
            transform = Some(t);
        }
        Ok(())
    });
    walked.ok().and(transform)
}

/// Reads the PNG IHDR chunk, which the format requires to come first.
fn png_dimensions(b: &[u8]) -> Result<(u32, u32), PhotoError> {
    // signature (8) + length (4) + "IHDR" (4) + width (4) + height (4)
    if b.len() < 24 {
        return Err(PhotoError::Truncated);
    }
    if &b[12..16] != b"IHDR" {
        return Err(PhotoError::Corrupt);
    }
    let width = be32(b, 16).ok_or(PhotoError::Truncated)?;
    let height = be32(b, 20).ok_or(PhotoError::Truncated)?;
    if width == 0 || height == 0 || width > i32::MAX as u32 || height > i32::MAX as u32 {
        return Err(PhotoError::Corrupt);
    }
    Ok((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsupported(bytes: &[u8]) -> Option<&'static str> {
        match sniff(bytes) {
            Err(PhotoError::UnsupportedFormat { format }) => Some(format),
            _ => None,
        }
    }

    #[test]
    fn recognises_refused_formats() {
        assert_eq!(unsupported(b"GIF89a\x01\x00\x01\x00"), Some("gif"));
        assert_eq!(unsupported(b"RIFF\x24\0\0\0WEBPVP8 "), Some("webp"));
        assert_eq!(
            unsupported(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
            Some("heic")
        );
        assert_eq!(
            unsupported(b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic"),
            Some("heif")
        );
        assert_eq!(
            unsupported(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1"),
            Some("avif")
        );
        assert_eq!(unsupported(b"II*\0\x08\0\0\0"), Some("tiff"));
        assert_eq!(unsupported(b"MM\0*\0\0\0\x08"), Some("tiff"));
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0; 12]);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        assert_eq!(unsupported(&bmp), Some("bmp"));
    }

    #[test]
    fn text_and_video_are_not_images() {
        assert!(matches!(
            sniff(b"BMW is a car brand, not a bitmap"),
            Err(PhotoError::NotAnImage)
        ));
        assert!(matches!(
            sniff(b"\0\0\0\x18ftypisom\0\0\0\0"),
            Err(PhotoError::NotAnImage)
        ));
        assert!(matches!(sniff(b"%PDF-1.7"), Err(PhotoError::NotAnImage)));
        assert!(matches!(sniff(&[0x00]), Err(PhotoError::NotAnImage)));
    }

    #[test]
    fn cut_signature_is_truncated() {
        assert!(matches!(sniff(&[0xFF, 0xD8]), Err(PhotoError::Truncated)));
        assert!(matches!(sniff(b"\x89PNG\r"), Err(PhotoError::Truncated)));
        assert!(matches!(sniff(&[]), Err(PhotoError::Empty)));
    }

    #[test]
    fn jpeg_header_walk() {
        // SOI, APP0 (len 4: 2 payload bytes), fill bytes, SOF0 640x480, SOS.
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0xAA, 0xBB, 0xFF, 0xFF];
        j.extend_from_slice(&[0xC0, 0, 11, 8, 0x01, 0xE0, 0x02, 0x80, 1, 1, 0x11, 0]);
        j.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]);
        assert_eq!(jpeg_dimensions(&j).ok(), Some((640, 480)));
        // A scan without a frame header.
        let no_sof = [0xFF, 0xD8, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0];
        assert!(matches!(jpeg_dimensions(&no_sof), Err(PhotoError::Corrupt)));
        // Cut inside the SOF: truncated, not corrupt.
        assert!(matches!(
            jpeg_dimensions(&j[..14]),
            Err(PhotoError::Truncated)
        ));
        // Garbage where a marker must be.
        let bad = [0xFF, 0xD8, 0xFF, 0xE0, 0, 2, 0x12, 0x34];
        assert!(matches!(jpeg_dimensions(&bad), Err(PhotoError::Corrupt)));
        // Every prefix is handled without panicking.
        for n in 0..j.len() {
            let _ = jpeg_dimensions(&j[..n]);
        }
    }

    #[test]
    fn adobe_marker() {
        // SOI, APP14 "Adobe" (version 100, flags 0, 0, transform 2), SOF0, SOS.
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xEE, 0, 14];
        j.extend_from_slice(b"Adobe\x00\x64\0\0\0\0\x02");
        j.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
        j.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0]);
        assert_eq!(adobe_transform(&j), Some(2));
        // Too short to be Adobe's (libjpeg ignores it too), or another APP14.
        let mut short = vec![0xFF, 0xD8, 0xFF, 0xEE, 0, 9];
        short.extend_from_slice(b"Adobe\x00\x64");
        short.extend_from_slice(&j[18..]);
        assert!(jpeg_dimensions(&short).is_ok());
        assert_eq!(adobe_transform(&short), None);
        let mut other = j.clone();
        other[6] = b'a';
        assert_eq!(adobe_transform(&other), None);
        // Cut inside the marker; or only after the first scan, where libjpeg no
        // longer looks.
        assert_eq!(adobe_transform(&j[..12]), None);
        let mut late = j[..2].to_vec();
        late.extend_from_slice(&j[18..]);
        late.extend_from_slice(&j[2..18]);
        assert_eq!(adobe_transform(&late), None);
        // Every prefix and every one-byte change is handled without panicking.
        for n in 0..j.len() {
            let _ = adobe_transform(&j[..n]);
        }
        for at in 0..j.len() {
            for v in [0x00, 0x02, 0xFF] {
                let mut m = j.clone();
                m[at] = v;
                let _ = adobe_transform(&m);
            }
        }
    }
}
