//! Errors of space carving.

use std::path::PathBuf;

/// Why carving failed.
#[derive(Debug, thiserror::Error)]
pub enum CarveError {
    /// A setting is out of range.
    #[error("invalid carving setting: {0}")]
    BadSetting(String),
    /// The rig has too few cameras for a visual hull.
    #[error("{found} cameras found, space carving needs at least {needed}")]
    TooFewCameras {
        /// Cameras in the calibration.
        found: usize,
        /// Fewest cameras carving accepts.
        needed: usize,
    },
    /// No voxel survived carving.
    #[error(
        "no voxel is inside the visual hull: the masks, the calibration or the carving bounds do not agree"
    )]
    EmptyHull,
    /// The carved region is too large to hold at the requested voxel size.
    #[error(
        "the carved region spans {dims:?} voxels of {voxel} m, too many to hold: the masks are probably wrong (mostly foreground) or the voxel size too small"
    )]
    HullTooLarge {
        /// Voxels along x, y, z.
        dims: [usize; 3],
        /// Voxel edge in metres.
        voxel: f64,
    },
    /// A mask image is missing.
    #[error("missing mask {path} (camera {camera}, frame {frame})")]
    MissingMask {
        /// Where the mask was expected.
        path: PathBuf,
        /// Camera name.
        camera: String,
        /// Frame number.
        frame: u32,
    },
    /// A mask image could not be read or does not fit its camera.
    #[error("bad mask {path}: {reason}")]
    BadMask {
        /// The mask file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The calibration does not match the dataset's image folders.
    #[error("calibration in {dir} does not match the image folders: {reason}")]
    CameraMismatch {
        /// Dataset root.
        dir: PathBuf,
        /// Which names differ.
        reason: String,
    },
    /// Reading the dataset (calibration, manifest, folders) failed.
    #[error("{context}: {source}")]
    Dataset {
        /// What was being read.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The GPU cell test could not be set up or run.
    #[error("GPU carving failed: {0} (use --backend cpu to carve on the CPU)")]
    Gpu(String),
    /// Writing output failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}
