//! Loading what carving needs from an EasyVolcap dataset: calibrated cameras checked against the
//! image folders, and each frame's masks.

use std::path::Path;

use rayon::prelude::*;
use yakumo_core::calib;
use yakumo_core::dataset::Dataset;

use super::classify::View;
use super::error::CarveError;
use super::frame::MIN_CAMERAS;
use super::mask::Mask;

/// Mask bytes above this value are foreground.
const MASK_THRESHOLD: u8 = 127;

/// Opens the dataset at `root` for carving: validates it, checks that the calibrated cameras and
/// the folders under `images/` name the same cameras, that there are at least [`MIN_CAMERAS`],
/// and fills image sizes missing from `intri.yml` from each camera's first image.
pub fn open_dataset(root: &Path) -> Result<Dataset, CarveError> {
    let mut dataset = Dataset::open(root).map_err(|e| CarveError::Dataset {
        context: format!("cannot open dataset {}", root.display()),
        source: Box::new(e),
    })?;
    check_image_folders(&dataset)?;
    let found = dataset.cameras().len();
    if found < MIN_CAMERAS {
        return Err(CarveError::TooFewCameras {
            found,
            needed: MIN_CAMERAS,
        });
    }
    let first = dataset.frames().next().unwrap_or(0);
    let layout = dataset.layout().clone();
    calib::fill_image_sizes(dataset.cameras_mut(), |name| {
        image::image_dimensions(layout.image_path(name, first)).ok()
    })
    .map_err(|e| CarveError::Dataset {
        context: format!("dataset {}", root.display()),
        source: Box::new(e),
    })?;
    Ok(dataset)
}

/// Errors when a folder under `images/` has no calibrated camera or the other way round.
fn check_image_folders(dataset: &Dataset) -> Result<(), CarveError> {
    let root = dataset.layout().root();
    let images = root.join("images");
    let entries = std::fs::read_dir(&images).map_err(|e| CarveError::Dataset {
        context: format!("cannot list {}", images.display()),
        source: Box::new(e),
    })?;
    let mut folders: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let names: Vec<&str> = dataset.cameras().iter().map(|c| c.name.as_str()).collect();
    let uncalibrated: Vec<&str> = folders
        .iter()
        .map(String::as_str)
        .filter(|f| !names.contains(f))
        .collect();
    let without_images: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !folders.iter().any(|f| f == n))
        .collect();
    if uncalibrated.is_empty() && without_images.is_empty() {
        return Ok(());
    }
    let mut reason = Vec::new();
    if !uncalibrated.is_empty() {
        reason.push(format!(
            "image folders without a calibrated camera: {}",
            uncalibrated.join(", ")
        ));
    }
    if !without_images.is_empty() {
        reason.push(format!(
            "calibrated cameras without an image folder: {}",
            without_images.join(", ")
        ));
    }
    Err(CarveError::CameraMismatch {
        dir: root.to_owned(),
        reason: reason.join("; "),
    })
}

/// Loads every camera's mask of `frame` (`masks/<cam>/<frame>.png`, or `.jpg`), checking that
/// it exists and matches the camera's image size.
pub fn load_views(dataset: &Dataset, frame: u32) -> Result<Vec<View>, CarveError> {
    dataset
        .cameras()
        .par_iter()
        .map(|camera| {
            let png = dataset.mask_path(&camera.name, frame);
            let jpg = png.with_extension("jpg");
            let path = if !png.is_file() && jpg.is_file() {
                jpg
            } else {
                png
            };
            if !path.is_file() {
                return Err(CarveError::MissingMask {
                    path,
                    camera: camera.name.clone(),
                    frame,
                });
            }
            let bad = |reason: String| CarveError::BadMask {
                path: path.clone(),
                reason,
            };
            let img = image::open(&path)
                .map_err(|e| bad(e.to_string()))?
                .into_luma8();
            if img.dimensions() != (camera.width, camera.height) {
                return Err(bad(format!(
                    "mask is {}×{} but camera {} is {}×{}",
                    img.width(),
                    img.height(),
                    camera.name,
                    camera.width,
                    camera.height
                )));
            }
            let mask = Mask::from_bytes(camera.width, camera.height, img.as_raw(), MASK_THRESHOLD);
            Ok(View {
                camera: camera.clone(),
                mask,
            })
        })
        .collect()
}
