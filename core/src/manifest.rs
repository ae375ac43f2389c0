//! The dataset manifest `yakumo.toml`: frame rate, frame range, cameras, sync offsets and
//! calibration quality, plus the version of the tool that wrote the dataset.
//!
//! ```toml
//! tool_version = "0.1.0"
//! fps = 30.0
//! cameras = ["00", "01"]
//! source = "rehearsal take 3"
//!
//! [frames]
//! start = 0
//! count = 150
//! step = 1
//!
//! [sync]
//! method = "audio"
//! offsets_ms = { "00" = 0.0, "01" = -41.5 }
//! confidence = { "01" = 0.93 }
//!
//! [calibration]
//! reprojection_rms_px = 0.31
//! source = "chessboard"
//! ```
//!
//! Unknown keys are ignored, so files written by newer tool versions still load.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::fsutil::write_atomic;

/// File name of the manifest inside a dataset.
pub const MANIFEST_FILE: &str = "yakumo.toml";

/// The dataset manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Version of the Yakumo tool that wrote the dataset.
    pub tool_version: String,
    /// Frames per second of the dataset's frame numbering.
    pub fps: f64,
    /// Camera names, each with `images/<cam>/` and calibration entries.
    pub cameras: Vec<String>,
    /// Free-form description of where the footage came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The frames present in the dataset.
    pub frames: FrameRange,
    /// How the cameras were synchronised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncInfo>,
    /// Quality and origin of the calibration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationInfo>,
}

/// Frame numbers `start, start + step, …` (`count` of them); they name the image files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRange {
    /// First frame number.
    pub start: u32,
    /// Number of frames.
    pub count: u32,
    /// Distance between consecutive frame numbers (default 1).
    #[serde(default = "one")]
    pub step: u32,
}

fn one() -> u32 {
    1
}

impl FrameRange {
    /// The frame numbers in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + use<> {
        let FrameRange { start, count, step } = *self;
        (0..count).map(move |i| start + i * step)
    }

    /// The last frame number, `None` when the range is empty or overflows `u32`.
    pub fn last(&self) -> Option<u32> {
        let steps = self.count.checked_sub(1)?;
        self.start.checked_add(steps.checked_mul(self.step)?)
    }
}

/// Result of synchronising the cameras.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncInfo {
    /// How offsets were found, e.g. `"audio"`, `"timecode"`, `"manual"`.
    pub method: String,
    /// Per camera: milliseconds to add to the camera's timestamps to reach common time.
    #[serde(default)]
    pub offsets_ms: BTreeMap<String, f64>,
    /// Per camera: confidence of its offset in `[0, 1]`.
    #[serde(default)]
    pub confidence: BTreeMap<String, f64>,
    /// Free-form note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Quality and origin of the calibration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationInfo {
    /// Root-mean-square reprojection error in pixels.
    pub reprojection_rms_px: f64,
    /// How the calibration was obtained, e.g. `"chessboard"`, `"imported"`.
    pub source: String,
}

/// A manifest that cannot be read; names the file.
#[derive(Debug, Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },
    /// The file is not valid TOML or lacks required fields.
    #[error("{}: {error}", path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// The TOML problem, with its location.
        error: toml::de::Error,
    },
    /// The content is inconsistent.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Manifest {
    /// Reads and validates a manifest file.
    pub fn read(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|error| ManifestError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        let manifest: Manifest = toml::from_str(&text).map_err(|error| ManifestError::Toml {
            path: path.to_path_buf(),
            error,
        })?;
        manifest
            .validate()
            .map_err(|message| ManifestError::Invalid {
                path: path.to_path_buf(),
                message,
            })?;
        Ok(manifest)
    }

    /// Validates, then writes the manifest to `path` atomically.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let invalid = |m: String| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: {m}", path.display()),
            )
        };
        self.validate().map_err(invalid)?;
        let text = toml::to_string_pretty(self).map_err(|e| invalid(e.to_string()))?;
        write_atomic(path, text.as_bytes())
    }

    /// Checks the invariants readers rely on; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.fps.is_finite() && self.fps > 0.0) {
            return Err(format!("fps must be a positive number, found {}", self.fps));
        }
        if self.frames.step == 0 {
            return Err("frames.step must be at least 1".into());
        }
        if self.frames.count == 0 {
            return Err("frames.count must be at least 1".into());
        }
        if self.frames.last().is_none() {
            return Err("frame numbers overflow (start + (count - 1) * step)".into());
        }
        if self.cameras.is_empty() {
            return Err("cameras is empty".into());
        }
        let mut seen = BTreeSet::new();
        if let Some(dup) = self.cameras.iter().find(|c| !seen.insert(c.as_str())) {
            return Err(format!("camera {dup} is listed twice"));
        }
        if let Some(sync) = &self.sync {
            let tables = [
                ("sync.offsets_ms", &sync.offsets_ms),
                ("sync.confidence", &sync.confidence),
            ];
            for (table, values) in tables {
                if let Some(cam) = values.keys().find(|c| !seen.contains(c.as_str())) {
                    return Err(format!(
                        "{table} names camera {cam}, which is not in cameras"
                    ));
                }
                if let Some((cam, v)) = values.iter().find(|(_, v)| !v.is_finite()) {
                    return Err(format!("{table}.{cam} is not a finite number ({v})"));
                }
            }
        }
        if let Some(c) = &self.calibration
            && !(c.reprojection_rms_px.is_finite() && c.reprojection_rms_px >= 0.0)
        {
            return Err(format!(
                "calibration.reprojection_rms_px must be a non-negative number, found {}",
                c.reprojection_rms_px
            ));
        }
        Ok(())
    }

    /// The dataset's frame numbers in order.
    pub fn frames(&self) -> impl Iterator<Item = u32> + use<> {
        self.frames.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            tool_version: "0.1.0".into(),
            fps: 30000.0 / 1001.0,
            cameras: vec!["00".into(), "01".into(), "02".into()],
            source: Some("rehearsal \"take\" 3".into()),
            frames: FrameRange {
                start: 10,
                count: 4,
                step: 2,
            },
            sync: Some(SyncInfo {
                method: "audio".into(),
                offsets_ms: [
                    ("00".into(), 0.0),
                    ("01".into(), -41.5),
                    ("02".into(), 1.0 / 3.0),
                ]
                .into(),
                confidence: [("01".into(), 0.93)].into(),
                note: Some("clap at 2.1 s".into()),
            }),
            calibration: Some(CalibrationInfo {
                reprojection_rms_px: 0.31,
                source: "chessboard".into(),
            }),
        }
    }

    #[test]
    fn write_read_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        let m = sample();
        m.write(&path).unwrap();
        assert_eq!(Manifest::read(&path).unwrap(), m);
        assert_eq!(m.frames().collect::<Vec<_>>(), [10, 12, 14, 16]);

        let minimal = Manifest {
            source: None,
            sync: None,
            calibration: None,
            ..m
        };
        minimal.write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("sync") && !text.contains("calibration"),
            "{text}"
        );
        assert_eq!(Manifest::read(&path).unwrap(), minimal);
    }

    #[test]
    fn reads_hand_written_file_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        let text = "tool_version = \"0.0.9\"\nfps = 25\ncameras = [\"a\", \"b\"]\nfuture_key = 1\n\
                    [frames]\nstart = 0\ncount = 3\n[sync]\nmethod = \"manual\"\n";
        std::fs::write(&path, text).unwrap();
        let m = Manifest::read(&path).unwrap();
        assert_eq!(m.fps, 25.0);
        assert_eq!(
            m.frames,
            FrameRange {
                start: 0,
                count: 3,
                step: 1
            }
        );
        assert_eq!(m.sync.unwrap().offsets_ms.len(), 0);
    }

    #[test]
    fn errors_name_the_file_and_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        let e = Manifest::read(&path).unwrap_err().to_string();
        assert!(
            e.starts_with("cannot read") && e.contains(MANIFEST_FILE),
            "{e}"
        );

        std::fs::write(&path, "tool_version = \"x\"\nfps = \"fast\"\n").unwrap();
        let e = Manifest::read(&path).unwrap_err().to_string();
        assert!(e.contains(MANIFEST_FILE) && e.contains("fps"), "{e}");

        let mut m = sample();
        m.sync.as_mut().unwrap().offsets_ms.insert("07".into(), 3.0);
        let fresh = dir.path().join("fresh.toml");
        let e = m.write(&fresh).unwrap_err().to_string();
        assert!(
            e.contains("fresh.toml: sync.offsets_ms names camera 07"),
            "{e}"
        );
        assert!(!fresh.exists(), "invalid manifest must not be written");

        let text = toml::to_string(&sample())
            .unwrap()
            .replace("step = 2", "step = 0");
        std::fs::write(&path, text).unwrap();
        let e = Manifest::read(&path).unwrap_err().to_string();
        assert!(
            e.contains(MANIFEST_FILE) && e.contains("frames.step must be at least 1"),
            "{e}"
        );

        let mut m = sample();
        m.cameras.push("01".into());
        assert_eq!(m.validate().unwrap_err(), "camera 01 is listed twice");
        let mut m = sample();
        m.frames = FrameRange {
            start: u32::MAX - 1,
            count: 3,
            step: 1,
        };
        assert!(m.validate().unwrap_err().contains("overflow"));
    }
}
