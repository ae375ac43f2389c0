//! Board detections kept between runs of `calibrate`, one file per camera in `OUT/detections/`.
//!
//! Finding the board in every frame is most of a calibration's time (minutes per camera for long
//! videos); the solve takes seconds. So each camera's detections are written as soon as they are
//! found, and a later run with the same output folder reuses them when nothing they depend on has
//! changed: the input files (path, size, modification time), the board, the frame step and this
//! program's version. An interrupted run thus resumes with the cameras it had finished, and
//! calibrating again with other solver options (`--up`, `--world`, `--lens`) skips detection.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use yakumo_core::fsutil::write_atomic;

use super::views::CameraViews;

/// Folder inside the output folder that holds the detections.
pub const DETECTIONS_DIR: &str = "detections";

/// What a camera's detections depend on, taken before detecting (a file changed meanwhile then
/// counts as changed at the next run).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// `yakumo-ingest` version (the detector may change between versions).
    version: String,
    /// The board as parsed (its `Debug` form: every dimension, not the file's comments).
    board: String,
    /// Every `step`-th frame was searched.
    step: usize,
    /// Input files: path, size in bytes, modification time in nanoseconds since 1970.
    files: Vec<(PathBuf, u64, u128)>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    fingerprint: Fingerprint,
    views: CameraViews,
}

/// The detections of one output folder.
pub struct DetectionStore {
    dir: PathBuf,
    board: String,
    step: usize,
}

impl DetectionStore {
    /// The store in `out/detections/` for detections of `board` (its `Debug` form) at `step`.
    pub fn new(out: &Path, board: String, step: usize) -> DetectionStore {
        DetectionStore {
            dir: out.join(DETECTIONS_DIR),
            board,
            step,
        }
    }

    fn path(&self, camera: &str) -> PathBuf {
        self.dir.join(format!("{camera}.json"))
    }

    /// The fingerprint of detections made now from `files` (their sizes and modification times).
    pub fn fingerprint(&self, files: &[PathBuf]) -> Result<Fingerprint> {
        let files = files
            .iter()
            .map(|path| {
                let meta = std::fs::metadata(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                Ok((path.clone(), meta.len(), modified))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Fingerprint {
            version: env!("CARGO_PKG_VERSION").to_string(),
            board: self.board.clone(),
            step: self.step,
            files,
        })
    }

    /// Camera `camera`'s stored detections, if they were made with `inputs` (the same files as
    /// they are now, board and step); `None` when there are none or they are out of date. A file
    /// that cannot be parsed counts as none (it is replaced after detecting again).
    pub fn load(&self, camera: &str, inputs: &Fingerprint) -> Option<CameraViews> {
        let path = self.path(camera);
        let text = std::fs::read_to_string(&path).ok()?;
        let Ok(entry) = serde_json::from_str::<Entry>(&text) else {
            tracing::warn!("{} cannot be read; detecting again", path.display());
            return None;
        };
        if entry.fingerprint != *inputs || entry.views.name != camera {
            tracing::info!(
                "camera {camera}: inputs, board or step changed since {}; detecting again",
                path.display()
            );
            return None;
        }
        Some(entry.views)
    }

    /// Stores camera `views.name`'s detections, made with `inputs` (written atomically).
    pub fn store(&self, inputs: Fingerprint, views: &CameraViews) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let entry = Entry {
            fingerprint: inputs,
            views: views.clone(),
        };
        let path = self.path(&views.name);
        let text = serde_json::to_string(&entry).context("serialising detections")?;
        write_atomic(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calib::views::View;
    use glam::DVec2;

    fn views(name: &str) -> CameraViews {
        CameraViews {
            name: name.into(),
            width: 64,
            height: 48,
            views: vec![View {
                frame: 3,
                corners: vec![(0, DVec2::new(1.5, 2.25)), (7, DVec2::new(9.0, 4.0))],
                simultaneous: true,
            }],
        }
    }

    #[test]
    fn detections_come_back_until_an_input_changes() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("a.mp4");
        std::fs::write(&input, b"video").unwrap();
        let files = vec![input.clone()];
        let store = DetectionStore::new(&dir.path().join("out"), "board A".into(), 2);
        let inputs = store.fingerprint(&files).unwrap();
        assert!(store.load("a", &inputs).is_none());
        store.store(inputs.clone(), &views("a")).unwrap();
        assert_eq!(store.load("a", &inputs), Some(views("a")));
        // Another board or step: not reused.
        let other_board = DetectionStore::new(&dir.path().join("out"), "board B".into(), 2);
        assert!(
            other_board
                .load("a", &other_board.fingerprint(&files).unwrap())
                .is_none()
        );
        let other_step = DetectionStore::new(&dir.path().join("out"), "board A".into(), 1);
        assert!(
            other_step
                .load("a", &other_step.fingerprint(&files).unwrap())
                .is_none()
        );
        // The input rewritten (another size): not reused.
        std::fs::write(&input, b"another video").unwrap();
        assert!(
            store
                .load("a", &store.fingerprint(&files).unwrap())
                .is_none()
        );
        // A damaged file counts as none.
        std::fs::write(dir.path().join("out/detections/a.json"), b"{").unwrap();
        assert!(store.load("a", &inputs).is_none());
    }
}
