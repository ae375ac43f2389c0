//! The output dataset directory: refusing to overwrite something else, staging everything in a
//! temporary sibling directory, writing images and masks, and renaming it into place at the end.

use std::io;
use std::path::{Path, PathBuf};

use image::ImageEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{GrayImage, RgbImage};
use yakumo_core::fsutil::write_atomic_with;
use yakumo_core::manifest::{MANIFEST_FILE, Manifest};

use super::RunError;

/// JPEG quality of the dataset images unless chosen ([`super::RunOptions::jpeg_quality`]): at
/// 95 (OpenCV's default) the dataset's own encoding was the largest loss left, 0.4–0.5 dB of
/// the worst image on the synthetic rig, for 1.25 × the bytes (measured 2026-12-07).
pub const JPEG_QUALITY: u8 = 97;

/// Checks that `out` is absent, empty, or an earlier dataset of the same `cameras` (which the
/// run will replace).
pub fn check_out(out: &Path, cameras: &[String]) -> Result<(), RunError> {
    let occupied = |reason: String| RunError::OutputOccupied {
        path: out.to_path_buf(),
        reason,
    };
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(occupied("is a file, not a directory".into()));
    }
    let mut entries = std::fs::read_dir(out).map_err(|e| RunError::io(out, e))?;
    if entries.next().is_none() {
        return Ok(());
    }
    let manifest_path = out.join(MANIFEST_FILE);
    if !manifest_path.is_file() {
        return Err(occupied(format!(
            "is not empty and holds no {MANIFEST_FILE}"
        )));
    }
    let manifest = Manifest::read(&manifest_path)
        .map_err(|e| occupied(format!("holds an unreadable dataset ({e})")))?;
    if manifest.cameras != cameras {
        return Err(occupied(format!(
            "holds a different dataset (cameras {}, this run has {})",
            manifest.cameras.join(", "),
            cameras.join(", ")
        )));
    }
    Ok(())
}

/// A temporary sibling of the output directory, removed on drop unless committed.
pub struct Staging {
    dir: PathBuf,
    out: PathBuf,
    committed: bool,
}

impl Staging {
    /// Creates an empty `.<name>.partial-<pid>` next to `out` (creating `out`'s parent).
    pub fn new(out: &Path) -> Result<Staging, RunError> {
        let dir = sibling(out, "partial")?;
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| RunError::io(&dir, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| RunError::io(&dir, e))?;
        Ok(Staging {
            dir,
            out: out.to_path_buf(),
            committed: false,
        })
    }

    /// The staging directory everything is written into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves the staged dataset to the output path, replacing an earlier one (checked by
    /// [`check_out`]).
    pub fn commit(mut self) -> Result<(), RunError> {
        let out = self.out.clone();
        if out.exists() {
            let old = sibling(&out, "old")?;
            if old.exists() {
                std::fs::remove_dir_all(&old).map_err(|e| RunError::io(&old, e))?;
            }
            std::fs::rename(&out, &old).map_err(|e| RunError::io(&out, e))?;
            if let Err(e) = std::fs::rename(&self.dir, &out) {
                let _ = std::fs::rename(&old, &out);
                return Err(RunError::io(&out, e));
            }
            std::fs::remove_dir_all(&old).map_err(|e| RunError::io(&old, e))?;
        } else {
            std::fs::rename(&self.dir, &out).map_err(|e| RunError::io(&out, e))?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `<parent>/.<name>.<what>-<pid>`.
fn sibling(out: &Path, what: &str) -> Result<PathBuf, RunError> {
    let absolute = std::path::absolute(out).map_err(|e| RunError::io(out, e))?;
    let name = absolute
        .file_name()
        .ok_or_else(|| RunError::OutputOccupied {
            path: out.to_path_buf(),
            reason: "has no directory name".into(),
        })?;
    let parent = absolute.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| RunError::io(parent, e))?;
    Ok(parent.join(format!(
        ".{}.{what}-{}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

/// Writes `image` as a JPEG of `quality` (1–100).
pub fn write_jpeg(path: &Path, image: &RgbImage, quality: u8) -> Result<(), RunError> {
    write_atomic_with(path, |w| {
        JpegEncoder::new_with_quality(w, quality)
            .write_image(
                image,
                image.width(),
                image.height(),
                image::ExtendedColorType::Rgb8,
            )
            .map_err(io::Error::other)
    })
    .map_err(|e| RunError::io(path, e))
}

/// Writes `mask` as an 8-bit grey PNG.
pub fn write_mask(path: &Path, mask: &GrayImage) -> Result<(), RunError> {
    write_atomic_with(path, |w| {
        PngEncoder::new(w)
            .write_image(
                mask,
                mask.width(),
                mask.height(),
                image::ExtendedColorType::L8,
            )
            .map_err(io::Error::other)
    })
    .map_err(|e| RunError::io(path, e))
}
