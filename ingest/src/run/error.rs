//! The error type of `yakumo-ingest run`: every variant names the file, directory or camera at
//! fault and says what is wrong.

use std::path::PathBuf;

use crate::media::{MediaError, SyncError};

/// Why a footage-to-dataset run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An input video (or directory) does not exist.
    #[error("{}: no such file or directory", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// A video directory holds no video files.
    #[error("{}: no video files found (looked for {extensions})", dir.display())]
    NoVideos {
        /// The directory searched.
        dir: PathBuf,
        /// The extensions looked for.
        extensions: String,
    },
    /// Two videos would give the same camera name (their file stems are equal).
    #[error("{} and {} both name camera {camera}", first.display(), second.display())]
    DuplicateCamera {
        /// The camera name.
        camera: String,
        /// One video.
        first: PathBuf,
        /// The other video.
        second: PathBuf,
    },
    /// Probing or decoding a video failed.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// Cameras disagree on the frame rate, so there is no common frame numbering.
    #[error("frame rates differ: {details}; re-encode the videos to one rate first")]
    FpsMismatch {
        /// Each camera with its rate.
        details: String,
    },
    /// A video's frame rate is unknown or variable.
    #[error("{}: {reason}", path.display())]
    UnusableRate {
        /// The video.
        path: PathBuf,
        /// What is wrong with its rate.
        reason: String,
    },
    /// The calibration could not be read.
    #[error("calibration in {}: {source}", dir.display())]
    Calibration {
        /// The calibration directory.
        dir: PathBuf,
        /// The underlying error.
        source: yakumo_core::calib::CalibError,
    },
    /// Some video cameras have no calibration.
    #[error(
        "calibration in {} has no camera {} (it has {}); video file names must match the calibrated camera names",
        dir.display(), missing.join(", "), available.join(", ")
    )]
    Uncalibrated {
        /// The calibration directory.
        dir: PathBuf,
        /// Video cameras without calibration.
        missing: Vec<String>,
        /// The cameras the calibration has.
        available: Vec<String>,
    },
    /// A camera's calibrated image size differs from its video's.
    #[error("camera {camera}: calibrated for {calib_size:?} pixels but the video {} is {video_size:?}", video.display())]
    SizeMismatch {
        /// The camera.
        camera: String,
        /// The video.
        video: PathBuf,
        /// (width, height) in the calibration.
        calib_size: (u32, u32),
        /// (width, height) of the video.
        video_size: (u32, u32),
    },
    /// `--size` cannot be applied to a camera's video (different shape, or larger).
    #[error(
        "camera {camera}: --size {}x{} does not suit the video {} ({}x{}): {reason}",
        size.0, size.1, video.display(), video_size.0, video_size.1
    )]
    BadSize {
        /// The camera.
        camera: String,
        /// The video.
        video: PathBuf,
        /// (width, height) of the video.
        video_size: (u32, u32),
        /// (width, height) asked for.
        size: (u32, u32),
        /// What is wrong.
        reason: String,
    },
    /// Audio sync was asked for but a video has no audio.
    #[error("{}: no audio stream, so --sync audio cannot align it (use --sync none or offsets:...)", path.display())]
    NoAudio {
        /// The video.
        path: PathBuf,
    },
    /// GCC-PHAT could not align a camera's audio with the reference camera's.
    #[error("{}: audio sync against the first camera failed: {source}", path.display())]
    AudioSync {
        /// The video.
        path: PathBuf,
        /// The underlying error.
        source: SyncError,
    },
    /// Timestamp sync needs a recording time that a video lacks or that cannot be parsed.
    #[error("{}: {reason} (needed by --sync timestamps)", path.display())]
    NoTimestamp {
        /// The video.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A `--sync`, `--frames` or `--step` value is malformed or does not fit the footage.
    #[error("{0}")]
    Options(String),
    /// A clean plate is missing, unreadable or of the wrong size.
    #[error("{}: {reason}", path.display())]
    Plate {
        /// The plate (or the directory it was looked for in).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A video ended before a frame the dataset needs.
    #[error("{}: the video ended after {decoded} frames but frame {wanted} is needed", path.display())]
    Truncated {
        /// The video.
        path: PathBuf,
        /// Frames decoded.
        decoded: u64,
        /// The source frame that was needed.
        wanted: u64,
    },
    /// A video's stream stops well before its container's stated duration.
    #[error(
        "{}: the video stream stops after {frames} frames ({stream_s:.3} s) but the container says it lasts {container_s:.3} s; the file is truncated or damaged (copy it again, or re-encode the part that decodes)",
        path.display()
    )]
    ShortStream {
        /// The video.
        path: PathBuf,
        /// Frames that decode.
        frames: u64,
        /// Their duration in seconds.
        stream_s: f64,
        /// The container's duration in seconds.
        container_s: f64,
    },
    /// `--out` already holds something other than this dataset.
    #[error("--out {}: {reason}; choose another directory or remove it", path.display())]
    OutputOccupied {
        /// The output directory.
        path: PathBuf,
        /// What is there.
        reason: String,
    },
    /// Writing an output file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl RunError {
    /// An [`RunError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> RunError {
        RunError::Io {
            path: path.into(),
            source,
        }
    }
}
