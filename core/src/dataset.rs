//! The dataset on disk, in EasyVolcap's layout so the original 4K4D code can read it too:
//!
//! ```text
//! <root>/images/<cam>/<frame:06>.jpg
//! <root>/masks/<cam>/<frame:06>.png
//! <root>/intri.yml  <root>/extri.yml  <root>/yakumo.toml
//! ```

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::calib::{self, CalibError, EXTRI_FILE, INTRI_FILE};
use crate::camera::Camera;
use crate::manifest::{MANIFEST_FILE, Manifest, ManifestError};

/// Paths of a dataset rooted at a directory; no file is touched. Writers use this directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetLayout {
    root: PathBuf,
}

impl DatasetLayout {
    /// The layout of a dataset rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> DatasetLayout {
        DatasetLayout { root: root.into() }
    }

    /// The dataset's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `images/<cam>/`.
    pub fn image_dir(&self, cam: &str) -> PathBuf {
        self.root.join("images").join(cam)
    }

    /// `images/<cam>/<frame:06>.jpg`.
    pub fn image_path(&self, cam: &str, frame: u32) -> PathBuf {
        self.image_dir(cam).join(format!("{frame:06}.jpg"))
    }

    /// `masks/<cam>/`.
    pub fn mask_dir(&self, cam: &str) -> PathBuf {
        self.root.join("masks").join(cam)
    }

    /// `masks/<cam>/<frame:06>.png`.
    pub fn mask_path(&self, cam: &str, frame: u32) -> PathBuf {
        self.mask_dir(cam).join(format!("{frame:06}.png"))
    }

    /// `intri.yml`.
    pub fn intri_path(&self) -> PathBuf {
        self.root.join(INTRI_FILE)
    }

    /// `extri.yml`.
    pub fn extri_path(&self) -> PathBuf {
        self.root.join(EXTRI_FILE)
    }

    /// `yakumo.toml`.
    pub fn manifest_path(&self) -> PathBuf {
        self.root.join(MANIFEST_FILE)
    }
}

/// A dataset that cannot be opened.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// `yakumo.toml` is missing or invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// `intri.yml` / `extri.yml` are missing or invalid.
    #[error(transparent)]
    Calibration(#[from] CalibError),
    /// The parts disagree or files are missing.
    #[error("dataset {}: {message}", root.display())]
    Invalid {
        /// The dataset root.
        root: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// An opened, validated dataset: manifest plus the calibrated cameras it lists.
#[derive(Clone, Debug)]
pub struct Dataset {
    layout: DatasetLayout,
    manifest: Manifest,
    cameras: Vec<Camera>,
}

impl Dataset {
    /// Loads `yakumo.toml`, `intri.yml` and `extri.yml` under `root` and checks that every camera
    /// of the manifest is calibrated and has an image directory holding its first and last frame.
    pub fn open(root: impl Into<PathBuf>) -> Result<Dataset, DatasetError> {
        let layout = DatasetLayout::new(root);
        let manifest = Manifest::read(&layout.manifest_path())?;
        let calibrated = calib::read_calibration(layout.root())?;
        let invalid = |message: String| DatasetError::Invalid {
            root: layout.root.clone(),
            message,
        };
        if let Some(cam) = manifest
            .cameras
            .iter()
            .find(|c| !calibrated.iter().any(|k| k.name == **c))
        {
            return Err(invalid(format!(
                "camera {cam} is listed in {MANIFEST_FILE} but has no calibration in \
                 {INTRI_FILE}/{EXTRI_FILE}"
            )));
        }
        let ends = [
            manifest.frames.start,
            manifest.frames.last().unwrap_or(manifest.frames.start),
        ];
        for cam in &manifest.cameras {
            let dir = layout.image_dir(cam);
            if !dir.is_dir() {
                return Err(invalid(format!(
                    "missing image directory {}",
                    dir.display()
                )));
            }
            if let Some(missing) = ends
                .iter()
                .map(|f| layout.image_path(cam, *f))
                .find(|p| !p.is_file())
            {
                return Err(invalid(format!(
                    "missing {} (frames in {MANIFEST_FILE}: start {}, count {}, step {})",
                    missing.display(),
                    manifest.frames.start,
                    manifest.frames.count,
                    manifest.frames.step
                )));
            }
        }
        let cameras = calibrated
            .into_iter()
            .filter(|c| manifest.cameras.contains(&c.name))
            .collect();
        Ok(Dataset {
            layout,
            manifest,
            cameras,
        })
    }

    /// The dataset's paths.
    pub fn layout(&self) -> &DatasetLayout {
        &self.layout
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest's cameras with their calibration, sorted by name.
    pub fn cameras(&self) -> &[Camera] {
        &self.cameras
    }

    /// Mutable cameras, e.g. for [`calib::fill_image_sizes`] when `intri.yml` has no sizes.
    pub fn cameras_mut(&mut self) -> &mut [Camera] {
        &mut self.cameras
    }

    /// The camera called `name`.
    pub fn camera(&self, name: &str) -> Option<&Camera> {
        self.cameras.iter().find(|c| c.name == name)
    }

    /// The dataset's frame numbers in order.
    pub fn frames(&self) -> impl Iterator<Item = u32> + use<> {
        self.manifest.frames()
    }

    /// `images/<cam>/<frame:06>.jpg`.
    pub fn image_path(&self, cam: &str, frame: u32) -> PathBuf {
        self.layout.image_path(cam, frame)
    }

    /// `masks/<cam>/<frame:06>.png`.
    pub fn mask_path(&self, cam: &str, frame: u32) -> PathBuf {
        self.layout.mask_path(cam, frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::FrameRange;
    use glam::DVec3;

    fn camera(name: &str, x: f64) -> Camera {
        let eye = DVec3::new(x, -3.0, 1.5);
        Camera::look_at(
            name,
            (64, 48),
            (60.0, 60.0),
            (31.5, 23.5),
            eye,
            DVec3::ZERO,
            DVec3::Z,
        )
    }

    /// A complete dataset with cameras 00, 01 (and calibrated-only 99), frames 5, 8, 11.
    fn build(root: &Path) -> DatasetLayout {
        let layout = DatasetLayout::new(root);
        let manifest = Manifest {
            tool_version: "test".into(),
            fps: 30.0,
            cameras: vec!["01".into(), "00".into()],
            source: None,
            frames: FrameRange {
                start: 5,
                count: 3,
                step: 3,
            },
            sync: None,
            calibration: None,
        };
        manifest.write(&layout.manifest_path()).unwrap();
        let cams = [camera("00", -1.0), camera("01", 1.0), camera("99", 0.0)];
        calib::write_calibration(root, &cams).unwrap();
        for cam in ["00", "01"] {
            std::fs::create_dir_all(layout.image_dir(cam)).unwrap();
            for f in manifest.frames() {
                std::fs::write(layout.image_path(cam, f), b"jpeg").unwrap();
            }
        }
        layout
    }

    #[test]
    fn opens_a_complete_dataset() {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path());
        let ds = Dataset::open(dir.path()).unwrap();
        let names: Vec<&str> = ds.cameras().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["00", "01"]);
        assert_eq!(ds.camera("01").unwrap(), &camera("01", 1.0));
        assert!(ds.camera("99").is_none());
        assert_eq!(ds.frames().collect::<Vec<_>>(), [5, 8, 11]);
        assert_eq!(
            ds.image_path("01", 8),
            dir.path().join("images").join("01").join("000008.jpg")
        );
        assert_eq!(
            ds.mask_path("00", 123456),
            dir.path().join("masks").join("00").join("123456.png")
        );
        assert_eq!(ds.layout().intri_path(), dir.path().join("intri.yml"));
        assert_eq!(ds.layout().extri_path(), dir.path().join("extri.yml"));
        assert_eq!(ds.manifest().fps, 30.0);
    }

    #[test]
    fn reports_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let layout = build(dir.path());
        let open_err = || Dataset::open(dir.path()).unwrap_err().to_string();

        std::fs::remove_file(layout.image_path("00", 11)).unwrap();
        let e = open_err();
        assert!(
            e.contains("missing ") && e.contains("000011.jpg") && e.contains("step 3"),
            "{e}"
        );

        std::fs::remove_dir_all(layout.image_dir("00")).unwrap();
        let e = open_err();
        assert!(
            e.contains("missing image directory") && e.contains("00"),
            "{e}"
        );

        calib::write_calibration(dir.path(), &[camera("00", -1.0)]).unwrap();
        let e = open_err();
        assert!(
            e.contains("camera 01 is listed in yakumo.toml but has no calibration"),
            "{e}"
        );

        std::fs::remove_file(layout.extri_path()).unwrap();
        let e = open_err();
        assert!(
            e.starts_with("cannot read") && e.contains("extri.yml"),
            "{e}"
        );

        std::fs::remove_file(layout.manifest_path()).unwrap();
        let e = open_err();
        assert!(
            e.starts_with("cannot read") && e.contains("yakumo.toml"),
            "{e}"
        );
    }
}
