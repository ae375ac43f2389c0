//! Opening a dataset for training: everything that can be wrong with it is found here, before
//! any GPU work starts.

use std::path::{Path, PathBuf};

use yakumo_core::Camera;
use yakumo_core::calib;
use yakumo_core::dataset::Dataset;

/// Fewest training cameras a fit needs (after removing held-out cameras): image-based blending
/// needs source views besides the target.
pub const MIN_TRAIN_CAMERAS: usize = 2;

/// A dataset that cannot be trained on.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The dataset could not be opened.
    #[error("cannot open dataset {}: {source}", root.display())]
    Open {
        /// Dataset root.
        root: PathBuf,
        /// What went wrong.
        source: yakumo_core::dataset::DatasetError,
    },
    /// Too few cameras for the requested split.
    #[error("dataset {}: {found} cameras, {held_out} held out, leaves {} for training but at least {MIN_TRAIN_CAMERAS} are needed", root.display(), found.saturating_sub(*held_out))]
    TooFewCameras {
        /// Dataset root.
        root: PathBuf,
        /// Cameras in the dataset.
        found: usize,
        /// Cameras held out for evaluation.
        held_out: usize,
    },
    /// An image or mask file is missing.
    #[error("missing {kind} {} (camera {camera}, frame {frame})", path.display())]
    MissingFile {
        /// `"image"` or `"mask"`.
        kind: &'static str,
        /// The missing file.
        path: PathBuf,
        /// Camera name.
        camera: String,
        /// Frame number.
        frame: u32,
    },
    /// Calibration that cannot be right.
    #[error("dataset {}: camera {camera}: {reason}", root.display())]
    Calibration {
        /// Dataset root.
        root: PathBuf,
        /// Camera name.
        camera: String,
        /// What is inconsistent.
        reason: String,
    },
    /// An image or mask that cannot be decoded or has the wrong size.
    #[error("{}: {reason}", path.display())]
    BadImage {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A request that does not fit the dataset (frame range, camera names).
    #[error("dataset {}: {reason}", root.display())]
    Selection {
        /// Dataset root.
        root: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A dataset checked for training: calibrated cameras with image sizes, the selected frames, and
/// every image and mask of those frames present.
#[derive(Clone, Debug)]
pub struct TrainDataset {
    /// The opened dataset.
    pub dataset: Dataset,
    /// Selected frame numbers, in order.
    pub frames: Vec<u32>,
}

impl TrainDataset {
    /// Dataset root.
    pub fn root(&self) -> &Path {
        self.dataset.layout().root()
    }

    /// All cameras, sorted by name.
    pub fn cameras(&self) -> &[Camera] {
        self.dataset.cameras()
    }

    /// `masks/<cam>/<frame>.png`, or the `.jpg` beside it when only that exists.
    pub fn mask_path(&self, camera: &str, frame: u32) -> PathBuf {
        let png = self.dataset.mask_path(camera, frame);
        let jpg = png.with_extension("jpg");
        if !png.is_file() && jpg.is_file() {
            jpg
        } else {
            png
        }
    }
}

/// Opens `root` for training on the frames in `frames` (`[a, b)`, default all) with `held_out`
/// cameras set aside, and checks: enough cameras, plausible calibration (finite, positive focal
/// lengths, orthonormal rotations, image sizes that match the files), and every image and mask of
/// the selected frames present.
pub fn open_for_training(
    root: &Path,
    frames: Option<(u32, u32)>,
    held_out: usize,
) -> Result<TrainDataset, DataError> {
    let mut dataset = Dataset::open(root).map_err(|source| DataError::Open {
        root: root.to_owned(),
        source,
    })?;
    let found = dataset.cameras().len();
    if found < held_out + MIN_TRAIN_CAMERAS {
        return Err(DataError::TooFewCameras {
            root: root.to_owned(),
            found,
            held_out,
        });
    }
    let selected: Vec<u32> = dataset
        .frames()
        .filter(|f| frames.is_none_or(|(a, b)| (a..b).contains(f)))
        .collect();
    let Some(&first) = selected.first() else {
        return Err(DataError::Selection {
            root: root.to_owned(),
            reason: format!("no frame lies in the selected range {frames:?}"),
        });
    };
    let layout = dataset.layout().clone();
    calib::fill_image_sizes(dataset.cameras_mut(), |name| {
        image::image_dimensions(layout.image_path(name, first)).ok()
    })
    .map_err(|e| DataError::Selection {
        root: root.to_owned(),
        reason: e.to_string(),
    })?;
    let data = TrainDataset {
        dataset,
        frames: selected,
    };
    for cam in data.cameras() {
        check_camera(root, cam)?;
        let path = data.dataset.image_path(&cam.name, first);
        let size = image::image_dimensions(&path).map_err(|e| DataError::BadImage {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if size != (cam.width, cam.height) {
            return Err(DataError::Calibration {
                root: root.to_owned(),
                camera: cam.name.clone(),
                reason: format!(
                    "calibrated for {}×{} but {} is {}×{}",
                    cam.width,
                    cam.height,
                    path.display(),
                    size.0,
                    size.1
                ),
            });
        }
        for &frame in &data.frames {
            let image = data.dataset.image_path(&cam.name, frame);
            let mask = data.mask_path(&cam.name, frame);
            for (kind, path) in [("image", image), ("mask", mask)] {
                if !path.is_file() {
                    return Err(DataError::MissingFile {
                        kind,
                        path,
                        camera: cam.name.clone(),
                        frame,
                    });
                }
            }
        }
    }
    Ok(data)
}

/// Rejects calibration that cannot describe a real camera.
fn check_camera(root: &Path, cam: &Camera) -> Result<(), DataError> {
    let bad = |reason: String| DataError::Calibration {
        root: root.to_owned(),
        camera: cam.name.clone(),
        reason,
    };
    let k = cam.k.to_cols_array();
    let r = cam.r.to_cols_array();
    let finite = k
        .iter()
        .chain(&r)
        .chain(&cam.t.to_array())
        .all(|v| v.is_finite())
        && cam.dist.to_array().iter().all(|v| v.is_finite());
    if !finite {
        return Err(bad("calibration has non-finite values".into()));
    }
    if !(cam.fx() > 0.0 && cam.fy() > 0.0) {
        return Err(bad(format!(
            "focal lengths fx = {}, fy = {} must be positive",
            cam.fx(),
            cam.fy()
        )));
    }
    let orthogonality = (cam.r * cam.r.transpose() - glam::DMat3::IDENTITY)
        .to_cols_array()
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    if orthogonality > 1e-4 || cam.r.determinant() < 0.0 {
        return Err(bad(format!(
            "rotation is not a proper rotation (|R·Rᵀ − I| = {orthogonality:.2e}, det = {:.3})",
            cam.r.determinant()
        )));
    }
    if cam.width == 0 || cam.height == 0 {
        return Err(bad("image size is unknown".into()));
    }
    Ok(())
}
