//! The `.yk4d` baked clip: per-frame point attributes, quantised, compressed and seekable.
//!
//! # What a frame holds
//! For every point: position (metres, world frame), radius (metres), density (0..1) and an
//! appearance made of a base colour (RGB in the value space of the dataset's encoded images,
//! 0..1) plus a spherical-harmonics residual of degree `D` (0..=3) per channel *without* the DC
//! term. The colour seen from eye position `e` is
//!
//! ```text
//! d         = normalize(position − e)
//! colour(d) = clamp(base + Σ_{i=1..(D+1)²−1} rest[ch][i−1] · Y_i(d), 0, 1)   per channel ch
//! ```
//!
//! with `Y_i` the real harmonics of [`crate::sh`] (graphics ordering). [`crate::sh::shade`] and
//! [`FramePoints::color`] implement it; the trainer's bake and the player must agree with them.
//!
//! # File layout (all little-endian)
//! 1. A 64-byte header ([`ClipInfo`]): magic `YK4D`, version 1, header and index-entry sizes,
//!    frame count, largest point count of any frame, fps (f64), SH degree, the
//!    [`AttributeLayout`] codes and the clip's bounds.
//! 2. The seek index: one 40-byte [`FrameEntry`] per frame (chunk offset u64, compressed length
//!    u32, point count u32, frame bounds 2×3 f32). Chunks follow one another in frame order.
//! 3. One zstd frame per clip frame (with zstd's content size and checksum). Decompressed, a chunk
//!    is struct-of-arrays with every multi-byte column split into byte planes (low bytes of all
//!    points, then high bytes), which is what lets zstd find the redundancy:
//!    - `D` f32: the SH scale of degrees 1..=D;
//!    - positions: u16 per axis, linear in the frame's bounds (error ≤ extent/131070);
//!    - radius: f16 (relative error ≤ 2⁻¹¹); density: u16 linear over 0..1 (error ≤ 1/131070);
//!    - base colour: u8 per channel (error ≤ 1/510);
//!    - SH rest: i8 per coefficient, `[channel][coefficient]` planes, value = q · scale of its
//!      degree, scale = (largest |value| of that degree in the frame) / 127.
//!
//! Point order is preserved. Measured on a 100,000-point frame of smooth synthetic surface data
//! (test `compressed_size_of_a_100k_point_frame`, zstd level 9): SH degree 3 takes 47.2 bytes per
//! point in random order and 37.4 when points are sorted along a 1 cm voxel walk (58 quantised);
//! degree 0 takes 11.4 and 7.8 (13 quantised). Writers should therefore emit points in spatial
//! order when they can.
//!
//! Reading trusts no size from the file: counts are checked against [`MAX_FRAMES`] and
//! [`MAX_POINTS_PER_FRAME`], offsets and lengths against the file length and each other, and a
//! chunk's decompressed size against the size its point count implies before decompressing.

mod header;
mod quant;
mod reader;
mod writer;

use std::path::PathBuf;

pub use header::{
    AttributeLayout, CLIP_MAGIC, CLIP_VERSION, ClipInfo, FrameEntry, HEADER_LEN, INDEX_ENTRY_LEN,
};
pub use reader::ClipReader;
pub use writer::{ClipHeaderParams, ClipWriter, DEFAULT_ZSTD_LEVEL};

use crate::sh;

/// Most frames a clip may have.
pub const MAX_FRAMES: u32 = 1_000_000;
/// Most points a frame may have.
pub const MAX_POINTS_PER_FRAME: u32 = 16_000_000;

/// Errors of clip reading and writing; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The clip file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a valid clip (bad magic or version, sizes that do not fit, damaged chunk).
    #[error("{path}: {message}")]
    Corrupt {
        /// The clip file.
        path: PathBuf,
        /// What is wrong, with the byte offsets or counts involved.
        message: String,
    },
    /// The writer was given parameters or a frame it cannot store.
    #[error("{path}: {message}")]
    InvalidInput {
        /// The clip file being written.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A frame index past the end of the clip.
    #[error("{path}: frame {index} requested but the clip has {count} frames")]
    FrameOutOfRange {
        /// The clip file.
        path: PathBuf,
        /// The requested frame.
        index: usize,
        /// Frames in the clip.
        count: usize,
    },
}

/// The baked points of one frame, struct-of-arrays.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FramePoints {
    /// Positions in metres.
    pub positions: Vec<[f32; 3]>,
    /// Disc radii in metres.
    pub radii: Vec<f32>,
    /// Densities (opacity scale), 0..1.
    pub densities: Vec<f32>,
    /// Base colours, 0..1 per channel.
    pub colors: Vec<[f32; 3]>,
    /// SH residual without the DC term, `N × 3 × (coeff_count(D) − 1)` laid out
    /// `[point][channel][coefficient]`.
    pub sh_rest: Vec<f32>,
}

impl FramePoints {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// True when the frame has no points.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// SH rest values per point for degree `sh_degree`: `3 × (coeff_count − 1)`.
    pub fn sh_rest_per_point(sh_degree: u32) -> usize {
        3 * (sh::coeff_count(sh_degree) - 1)
    }

    /// Checks that the columns agree in length with each other and with `sh_degree`, and that the
    /// values can be stored: finite everywhere, radii in `0..=65504` (the f16 range). Densities
    /// and colours outside 0..1 are allowed and clamped when written.
    pub fn validate(&self, sh_degree: u32) -> Result<(), String> {
        if sh_degree > sh::MAX_DEGREE {
            return Err(format!("SH degree {sh_degree} exceeds {}", sh::MAX_DEGREE));
        }
        let n = self.len();
        let per_point = Self::sh_rest_per_point(sh_degree);
        let lengths = [
            ("radii", self.radii.len(), n),
            ("densities", self.densities.len(), n),
            ("colors", self.colors.len(), n),
            ("sh_rest", self.sh_rest.len(), n * per_point),
        ];
        for (name, got, want) in lengths {
            if got != want {
                return Err(format!(
                    "{name} has {got} values, expected {want} for {n} points at SH degree {sh_degree}"
                ));
            }
        }
        fn first_bad(mut values: impl Iterator<Item = f32>) -> Option<usize> {
            values.position(|v| !v.is_finite())
        }
        if let Some(i) = first_bad(self.positions.iter().flatten().copied()) {
            return Err(format!("position of point {} is not finite", i / 3));
        }
        if let Some(i) = self.radii.iter().position(|r| !(0.0..=65504.0).contains(r)) {
            return Err(format!(
                "radius {} of point {i} is outside 0..=65504",
                self.radii[i]
            ));
        }
        if let Some(i) = first_bad(self.densities.iter().copied()) {
            return Err(format!("density of point {i} is not finite"));
        }
        if let Some(i) = first_bad(self.colors.iter().flatten().copied()) {
            return Err(format!("colour of point {} is not finite", i / 3));
        }
        if let Some(i) = first_bad(self.sh_rest.iter().copied()) {
            return Err(format!(
                "SH coefficient of point {} is not finite",
                i / per_point.max(1)
            ));
        }
        Ok(())
    }

    /// The frame as a clip stores it: every attribute quantised and decoded again exactly as
    /// [`ClipWriter`] and [`ClipReader`] do, without the file. It measures what quantisation costs.
    pub fn quantised(&self, sh_degree: u32) -> Result<FramePoints, String> {
        self.validate(sh_degree)?;
        let (bounds_min, bounds_max) = quant::bounds(&self.positions);
        let raw = quant::encode(self, sh_degree, bounds_min, bounds_max);
        let entry = FrameEntry {
            offset: 0,
            compressed_len: 0,
            point_count: self.len() as u32,
            bounds_min,
            bounds_max,
        };
        quant::decode(&raw, &entry, sh_degree)
    }

    /// The colour of point `i` seen from `eye` (see the module documentation).
    ///
    /// # Panics
    /// When `i` is out of range or the frame does not match `sh_degree`.
    pub fn color(&self, i: usize, sh_degree: u32, eye: [f32; 3]) -> [f32; 3] {
        let per_point = Self::sh_rest_per_point(sh_degree);
        let p = self.positions[i];
        let dir = [p[0] - eye[0], p[1] - eye[1], p[2] - eye[2]];
        sh::shade(
            sh_degree,
            self.colors[i],
            &self.sh_rest[i * per_point..(i + 1) * per_point],
            dir,
        )
    }
}

#[cfg(test)]
mod tests;
