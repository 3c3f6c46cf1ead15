//! EXIF orientation applied to pixels.
//!
//! The output JPEG carries no EXIF, so the camera's "rotate me when showing" flag
//! must be baked into the pixels. It is applied after the downscale: rotating and
//! flipping commute with a resize whose long edge is fixed, so the result equals
//! "orient first, then resize" while moving 4-8 times fewer pixels.

/// The eight EXIF orientations, named by what the viewer must do to show the
/// stored pixels upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Orientation {
    /// 1: stored upright.
    Normal,
    /// 2: mirrored left-right.
    FlipHorizontal,
    /// 3: upside down.
    Rotate180,
    /// 4: mirrored top-bottom.
    FlipVertical,
    /// 5: mirrored along the main diagonal.
    Transpose,
    /// 6: must be turned 90 degrees clockwise (phone held upright, home button down).
    Rotate90,
    /// 7: mirrored along the anti-diagonal.
    Transverse,
    /// 8: must be turned 90 degrees counter-clockwise.
    Rotate270,
}

impl Orientation {
    /// Maps the EXIF `Orientation` value; `None` for values outside 1..=8.
    pub(crate) fn from_exif(v: u32) -> Option<Self> {
        Some(match v {
            1 => Self::Normal,
            2 => Self::FlipHorizontal,
            3 => Self::Rotate180,
            4 => Self::FlipVertical,
            5 => Self::Transpose,
            6 => Self::Rotate90,
            7 => Self::Transverse,
            8 => Self::Rotate270,
            _ => return None,
        })
    }

    /// Whether width and height trade places.
    pub(crate) fn swaps_axes(self) -> bool {
        matches!(
            self,
            Self::Transpose | Self::Rotate90 | Self::Transverse | Self::Rotate270
        )
    }

    /// Where source pixel (x, y) of a `w` x `h` image lands.
    #[inline]
    fn map(self, x: usize, y: usize, w: usize, h: usize) -> (usize, usize) {
        match self {
            Self::Normal => (x, y),
            Self::FlipHorizontal => (w - 1 - x, y),
            Self::Rotate180 => (w - 1 - x, h - 1 - y),
            Self::FlipVertical => (x, h - 1 - y),
            Self::Transpose => (y, x),
            Self::Rotate90 => (h - 1 - y, x),
            Self::Transverse => (h - 1 - y, w - 1 - x),
            Self::Rotate270 => (y, w - 1 - x),
        }
    }
}

/// An 8-bit RGB image, rows packed without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rgb {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) pixels: Vec<u8>,
}

/// Returns the image as the viewer should see it. `Normal` returns the input
/// untouched; the other seven cost one copy of the (already downscaled) image.
pub(crate) fn apply(img: Rgb, orientation: Orientation) -> Rgb {
    if orientation == Orientation::Normal {
        return img;
    }
    let (w, h) = (img.width as usize, img.height as usize);
    debug_assert_eq!(img.pixels.len(), w * h * 3);
    let (dw, dh) = if orientation.swaps_axes() {
        (h, w)
    } else {
        (w, h)
    };
    let mut out = vec![0u8; img.pixels.len()];
    // Tiles keep both the reads and the strided writes of the 90-degree cases in cache.
    const TILE: usize = 64;
    for ty in (0..h).step_by(TILE) {
        for tx in (0..w).step_by(TILE) {
            for y in ty..(ty + TILE).min(h) {
                let row = &img.pixels[y * w * 3..(y + 1) * w * 3];
                for x in tx..(tx + TILE).min(w) {
                    let (dx, dy) = orientation.map(x, y, w, h);
                    let d = (dy * dw + dx) * 3;
                    out[d..d + 3].copy_from_slice(&row[x * 3..x * 3 + 3]);
                }
            }
        }
    }
    Rgb {
        width: dw as u32,
        height: dh as u32,
        pixels: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3x2 image whose pixels are numbered 0..6 in the red channel:
    /// ```text
    /// 0 1 2
    /// 3 4 5
    /// ```
    fn numbered() -> Rgb {
        Rgb {
            width: 3,
            height: 2,
            pixels: (0..6u8).flat_map(|v| [v, 0, 0]).collect(),
        }
    }

    fn reds(img: &Rgb) -> Vec<u8> {
        img.pixels.chunks(3).map(|p| p[0]).collect()
    }

    #[test]
    fn all_eight_orientations() {
        let cases: [(u32, (u32, u32), [u8; 6]); 8] = [
            (1, (3, 2), [0, 1, 2, 3, 4, 5]),
            (2, (3, 2), [2, 1, 0, 5, 4, 3]),
            (3, (3, 2), [5, 4, 3, 2, 1, 0]),
            (4, (3, 2), [3, 4, 5, 0, 1, 2]),
            (5, (2, 3), [0, 3, 1, 4, 2, 5]),
            (6, (2, 3), [3, 0, 4, 1, 5, 2]),
            (7, (2, 3), [5, 2, 4, 1, 3, 0]),
            (8, (2, 3), [2, 5, 1, 4, 0, 3]),
        ];
        for (v, dims, expected) in cases {
            let o = Orientation::from_exif(v).expect("valid");
            let out = apply(numbered(), o);
            assert_eq!((out.width, out.height), dims, "orientation {v}");
            assert_eq!(reds(&out), expected, "orientation {v}");
        }
        assert_eq!(Orientation::from_exif(0), None);
        assert_eq!(Orientation::from_exif(9), None);
    }

    #[test]
    fn larger_than_a_tile() {
        let (w, h) = (130usize, 70usize);
        let pixels: Vec<u8> = (0..w * h)
            .flat_map(|i| [(i % 251) as u8, (i / 251) as u8, 7])
            .collect();
        let img = Rgb {
            width: w as u32,
            height: h as u32,
            pixels,
        };
        // Four quarter turns give the original back.
        let mut r = img.clone();
        for _ in 0..4 {
            r = apply(r, Orientation::Rotate90);
        }
        assert_eq!(r, img);
        // Transpose is its own inverse.
        assert_eq!(
            apply(
                apply(img.clone(), Orientation::Transpose),
                Orientation::Transpose
            ),
            img
        );
    }
}
