//! The error type of the synthetic rig: every variant says what failed and, for files, where.

use std::path::PathBuf;

/// What went wrong while generating a synthetic capture.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The options are unusable.
    #[error("invalid synth options: {0}")]
    Config(String),
    /// No GPU adapter could be opened.
    #[error(
        "no GPU adapter found ({0}); install a Vulkan driver: on Debian/Ubuntu `apt-get install \
         mesa-vulkan-drivers` gives the lavapipe CPU renderer (select it with \
         VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json), on Windows or macOS update \
         the graphics driver"
    )]
    NoAdapter(String),
    /// The GPU failed while rendering or reading back.
    #[error("GPU error: {0}")]
    Gpu(String),
    /// The background writer threads stopped (one of them panicked).
    #[error("background writer threads stopped unexpectedly")]
    WriterStopped,
    /// Writing an output file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Encoding an image failed.
    #[error("{}: cannot encode image: {source}", path.display())]
    Image {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: image::ImageError,
    },
    /// Encoding a video failed.
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
    /// Writing a dataset file through yakumo-core failed.
    #[error("{}: {message}", path.display())]
    Dataset {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl SynthError {
    /// An I/O error about `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> SynthError {
        SynthError::Io {
            path: path.into(),
            source,
        }
    }

    /// A yakumo-core error about `path`.
    pub fn dataset(path: impl Into<PathBuf>, error: impl std::fmt::Display) -> SynthError {
        SynthError::Dataset {
            path: path.into(),
            message: error.to_string(),
        }
    }
}
