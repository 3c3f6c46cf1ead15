//! The final downscale to the configured long edge, with a Lanczos3 filter
//! (`fast_image_resize`, SIMD on x86-64 and ARM NEON).
//!
//! It is called through the typed API (`resize_typed` on `U8x3` images), not
//! `Resizer::resize`: that one matches on the pixel type at run time, so it
//! compiles the convolutions of all 13 pixel types, each for every SIMD variant
//! and fixed-point precision. Typed, only RGB is compiled, which took 2.2 MB off
//! the phone library for the same code path and byte-identical output
//! (`BENCHMARKS.md`, "Size of the mobile library").

use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::U8x3;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};

use super::PhotoError;
use super::orient::Rgb;

/// The output size for an image of `width` x `height`: long edge `max_long`, aspect
/// kept (rounded to the nearest pixel), never larger than the input.
pub(crate) fn target_size(width: u32, height: u32, max_long: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= max_long || long == 0 {
        return (width, height);
    }
    let scale = |v: u32| -> u32 {
        let scaled = (u64::from(v) * u64::from(max_long) + u64::from(long) / 2) / u64::from(long);
        // `scaled <= max_long`, so the conversion cannot fail; stay total anyway.
        u32::try_from(scaled).unwrap_or(max_long).max(1)
    };
    if width >= height {
        (max_long, scale(height))
    } else {
        (scale(width), max_long)
    }
}

/// Resizes to exactly `width` x `height`; a no-op when the size already matches.
pub(crate) fn resize(img: Rgb, width: u32, height: u32) -> Result<Rgb, PhotoError> {
    if img.width == width && img.height == height {
        return Ok(img);
    }
    let internal = || PhotoError::Internal { stage: "resize" };
    let len = (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(internal)?;
    let mut pixels = vec![0u8; len];
    let src = TypedImageRef::<U8x3>::from_buffer(img.width, img.height, &img.pixels)
        .map_err(|_| internal())?;
    let mut dst =
        TypedImage::<U8x3>::from_buffer(width, height, &mut pixels).map_err(|_| internal())?;
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize_typed(&src, &mut dst, &options)
        .map_err(|_| internal())?;
    Ok(Rgb {
        width,
        height,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_keeps_aspect_and_never_upscales() {
        assert_eq!(target_size(4000, 3000, 1600), (1600, 1200));
        assert_eq!(target_size(3000, 4000, 1600), (1200, 1600));
        assert_eq!(target_size(6000, 4000, 1600), (1600, 1067));
        assert_eq!(target_size(1278, 720, 1600), (1278, 720));
        assert_eq!(target_size(1600, 1600, 1600), (1600, 1600));
        assert_eq!(target_size(100_000, 1, 1600), (1600, 1));
    }

    #[test]
    fn resize_changes_size_and_keeps_flat_colour() {
        let img = Rgb {
            width: 40,
            height: 30,
            pixels: [10u8, 200, 30].repeat(40 * 30),
        };
        let out = resize(img, 16, 12).expect("resize");
        assert_eq!(
            (out.width, out.height, out.pixels.len()),
            (16, 12, 16 * 12 * 3)
        );
        assert!(out.pixels.chunks(3).all(|p| p == [10, 200, 30]));
    }
}
