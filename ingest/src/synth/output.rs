//! Writing the rig's image outputs atomically: JPEG colour images, PNG masks and plates, and the
//! paths of the truth dataset's EasyVolcap layout.

use super::error::SynthError;
use super::gpu::Frame;
use image::ImageEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use std::io;
use std::path::{Path, PathBuf};
use yakumo_core::fsutil::write_atomic_with;

/// JPEG quality of the truth images: the highest, so that comparisons with the truth measure
/// the errors of what is compared, not of the truth's own compression (q95 cost 0.5 dB there).
pub const JPEG_QUALITY: u8 = 100;

/// `dir/points/<frame:06>.ply`.
pub fn points_path(dir: &Path, frame: usize) -> PathBuf {
    dir.join("points").join(format!("{frame:06}.ply"))
}

fn encode_error(path: &Path, e: io::Error) -> SynthError {
    match e.downcast::<image::ImageError>() {
        Ok(source) => SynthError::Image {
            path: path.to_path_buf(),
            source,
        },
        Err(e) => SynthError::io(path, e),
    }
}

/// Writes the colour of `frame` as a JPEG of [`JPEG_QUALITY`].
pub fn write_jpeg(path: &Path, frame: &Frame) -> Result<(), SynthError> {
    write_atomic_with(path, |w| {
        JpegEncoder::new_with_quality(w, JPEG_QUALITY)
            .write_image(
                &frame.rgb,
                frame.width,
                frame.height,
                image::ExtendedColorType::Rgb8,
            )
            .map_err(io::Error::other)
    })
    .map_err(|e| encode_error(path, e))
}

/// Writes the colour of `frame` as a lossless PNG.
pub fn write_png_rgb(path: &Path, frame: &Frame) -> Result<(), SynthError> {
    write_atomic_with(path, |w| {
        PngEncoder::new(w)
            .write_image(
                &frame.rgb,
                frame.width,
                frame.height,
                image::ExtendedColorType::Rgb8,
            )
            .map_err(io::Error::other)
    })
    .map_err(|e| encode_error(path, e))
}

/// Writes the mask of `frame` as an 8-bit grey PNG (0 or 255).
pub fn write_mask(path: &Path, frame: &Frame) -> Result<(), SynthError> {
    write_atomic_with(path, |w| {
        PngEncoder::new(w)
            .write_image(
                &frame.mask,
                frame.width,
                frame.height,
                image::ExtendedColorType::L8,
            )
            .map_err(io::Error::other)
    })
    .map_err(|e| encode_error(path, e))
}
