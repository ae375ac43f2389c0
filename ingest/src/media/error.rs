//! The error type of the media layer: every variant names the file it concerns.

use std::path::PathBuf;

/// What went wrong while probing, decoding or encoding a media file.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// GStreamer itself could not be initialised.
    #[error("GStreamer could not be initialised: {0}")]
    Init(String),
    /// A GStreamer element needed for the job is not installed.
    #[error("GStreamer element `{element}` is not available (install the plugin that provides it)")]
    MissingElement {
        /// Factory name of the element, e.g. `x264enc`.
        element: String,
    },
    /// The input file does not exist.
    #[error("{}: no such file", path.display())]
    NotFound {
        /// The file that was asked for.
        path: PathBuf,
    },
    /// A filesystem operation on the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// GStreamer cannot read the file as media at all (unknown format, damaged header...).
    #[error("{}: not a readable media file ({reason})", path.display())]
    Unreadable {
        /// The file concerned.
        path: PathBuf,
        /// What GStreamer reported.
        reason: String,
    },
    /// The file is readable media but holds no video stream.
    #[error("{}: no video stream found ({reason})", path.display())]
    NoVideo {
        /// The file concerned.
        path: PathBuf,
        /// Why GStreamer found no video.
        reason: String,
    },
    /// A pipeline element reported an error.
    #[error("{}: element `{element}` failed: {message}{}", path.display(), debug_suffix(.debug))]
    Pipeline {
        /// The file being read or written.
        path: PathBuf,
        /// Name of the element that posted the error.
        element: String,
        /// GStreamer's error message.
        message: String,
        /// GStreamer's debug details, if any.
        debug: Option<String>,
    },
    /// Decoding stopped early: the frames before `frame` were delivered, then the stream broke.
    #[error(
        "{}: stream broken after {frame} decoded frame(s), at {at_seconds:.3} s: {reason}",
        path.display()
    )]
    Truncated {
        /// The file concerned.
        path: PathBuf,
        /// Index of the first frame that could not be decoded (= number of frames delivered).
        frame: u64,
        /// Stream time at which decoding broke, in seconds.
        at_seconds: f64,
        /// What GStreamer reported.
        reason: String,
    },
    /// The caller passed something unusable (odd frame size, wrong buffer length...).
    #[error("{}: {message}", path.display())]
    InvalidInput {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A pipeline did not finish in reasonable time.
    #[error("{}: timed out after {seconds} s while {doing}", path.display())]
    Timeout {
        /// The file concerned.
        path: PathBuf,
        /// How long was waited.
        seconds: u64,
        /// What was being waited for.
        doing: &'static str,
    },
}

fn debug_suffix(debug: &Option<String>) -> String {
    debug
        .as_ref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default()
}
