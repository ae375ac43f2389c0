//! Finding the inputs: camera videos (named by file stem), clean plates and the calibration.

use std::path::{Path, PathBuf};

use image::RgbImage;
use yakumo_core::Camera;

use super::RunError;

/// File extensions taken as videos when a directory is given.
pub const VIDEO_EXTENSIONS: &[&str] = &["mp4", "mov", "mkv", "avi", "m4v", "webm", "mts", "ts"];
/// File extensions tried for a camera's clean plate.
const PLATE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg"];

/// One camera's video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraVideo {
    /// Camera name: the file stem.
    pub name: String,
    /// The video file.
    pub path: PathBuf,
}

/// The videos named by `paths`: either a single directory (its video files, sorted by name) or
/// a list of files. Missing paths, empty directories and repeated camera names are errors.
pub fn camera_videos(paths: &[PathBuf]) -> Result<Vec<CameraVideo>, RunError> {
    let files = match paths {
        [dir] if dir.is_dir() => {
            let entries = std::fs::read_dir(dir).map_err(|e| RunError::io(dir, e))?;
            let mut files = Vec::new();
            for entry in entries {
                let path = entry.map_err(|e| RunError::io(dir, e))?.path();
                let ext = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_lowercase);
                if path.is_file() && ext.is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.as_str())) {
                    files.push(path);
                }
            }
            if files.is_empty() {
                return Err(RunError::NoVideos {
                    dir: dir.clone(),
                    extensions: VIDEO_EXTENSIONS.join(", "),
                });
            }
            files.sort();
            files
        }
        _ => paths.to_vec(),
    };
    let mut videos: Vec<CameraVideo> = Vec::new();
    for path in files {
        if !path.is_file() {
            return Err(RunError::NotFound { path });
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(other) = videos.iter().find(|v| v.name == name) {
            return Err(RunError::DuplicateCamera {
                camera: name,
                first: other.path.clone(),
                second: path,
            });
        }
        videos.push(CameraVideo { name, path });
    }
    Ok(videos)
}

/// The calibrated cameras of `videos` in video order, read from `dir` (EasyVolcap intri/extri),
/// with unknown image sizes taken from `sizes` and known ones checked against them.
pub fn calibrated_cameras(
    dir: &Path,
    videos: &[CameraVideo],
    sizes: &[(u32, u32)],
) -> Result<Vec<Camera>, RunError> {
    let all =
        yakumo_core::calib::read_calibration(dir).map_err(|source| RunError::Calibration {
            dir: dir.to_path_buf(),
            source,
        })?;
    let missing: Vec<String> = videos
        .iter()
        .filter(|v| !all.iter().any(|c| c.name == v.name))
        .map(|v| v.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(RunError::Uncalibrated {
            dir: dir.to_path_buf(),
            missing,
            available: all.iter().map(|c| c.name.clone()).collect(),
        });
    }
    videos
        .iter()
        .zip(sizes)
        .map(|(video, &size)| {
            let mut cam = all
                .iter()
                .find(|c| c.name == video.name)
                .cloned()
                .expect("checked above");
            if cam.width == 0 || cam.height == 0 {
                (cam.width, cam.height) = size;
            } else if (cam.width, cam.height) != size {
                return Err(RunError::SizeMismatch {
                    camera: cam.name,
                    video: video.path.clone(),
                    calib_size: (cam.width, cam.height),
                    video_size: size,
                });
            }
            Ok(cam)
        })
        .collect()
}

/// Largest relative difference between the aspect ratio of `--size` and a video's.
const ASPECT_TOLERANCE: f64 = 0.01;

/// Checks that every video can be resampled to `size`: non-zero, no larger than the video
/// (resampling only shrinks; enlarging adds no detail), and of the same aspect ratio within
/// [`ASPECT_TOLERANCE`], so that pixels stay (nearly) square.
pub fn check_size(
    videos: &[CameraVideo],
    sizes: &[(u32, u32)],
    size: (u32, u32),
) -> Result<(), RunError> {
    if size.0 == 0 || size.1 == 0 {
        return Err(RunError::Options(format!(
            "--size {}x{}: width and height must be at least 1",
            size.0, size.1
        )));
    }
    let aspect = |(w, h): (u32, u32)| w as f64 / h as f64;
    for (video, &video_size) in videos.iter().zip(sizes) {
        let reason = if size.0 > video_size.0 || size.1 > video_size.1 {
            "it is larger than the video; --size only shrinks".to_string()
        } else if (aspect(size) / aspect(video_size) - 1.0).abs() > ASPECT_TOLERANCE {
            format!(
                "its aspect ratio {:.4} differs from the video's {:.4} by more than {} %",
                aspect(size),
                aspect(video_size),
                ASPECT_TOLERANCE * 100.0
            )
        } else {
            continue;
        };
        return Err(RunError::BadSize {
            camera: video.name.clone(),
            video: video.path.clone(),
            video_size,
            size,
            reason,
        });
    }
    Ok(())
}

/// Loads `dir/<camera>.{png,jpg,jpeg}` and checks it is `size` pixels.
pub fn load_plate(dir: &Path, camera: &str, size: (u32, u32)) -> Result<RgbImage, RunError> {
    let path = PLATE_EXTENSIONS
        .iter()
        .map(|ext| dir.join(format!("{camera}.{ext}")))
        .find(|p| p.is_file())
        .ok_or_else(|| RunError::Plate {
            path: dir.to_path_buf(),
            reason: format!("no clean plate {camera}.png or {camera}.jpg for camera {camera}"),
        })?;
    let plate = image::open(&path)
        .map_err(|e| RunError::Plate {
            path: path.clone(),
            reason: e.to_string(),
        })?
        .to_rgb8();
    if plate.dimensions() != size {
        return Err(RunError::Plate {
            path,
            reason: format!(
                "plate is {:?} pixels but the video is {size:?}",
                plate.dimensions()
            ),
        });
    }
    Ok(plate)
}
