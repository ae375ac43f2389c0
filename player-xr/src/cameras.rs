//! Viewpoints for offscreen rendering and benchmarks: dataset cameras, resized cameras, orbits
//! around a clip, stereo pairs.

use std::path::Path;

use glam::DVec3;
use thiserror::Error;
use yakumo_core::Camera;
use yakumo_core::calib::read_calibration;
use yakumo_core::camera::intrinsic_matrix;

/// Errors choosing a camera.
#[derive(Debug, Error)]
pub enum CameraError {
    /// `--camera` was not `DIR:NAME`.
    #[error("camera {0:?} is not of the form CALIBDIR:NAME")]
    Spec(String),
    /// The calibration could not be read.
    #[error("reading the calibration in {dir}: {message}")]
    Calibration {
        /// The dataset or calibration folder.
        dir: String,
        /// What went wrong.
        message: String,
    },
    /// No camera of that name.
    #[error("{dir} has no camera {name:?} (it has {available})")]
    NotFound {
        /// The calibration folder.
        dir: String,
        /// The requested name.
        name: String,
        /// The names it does have.
        available: String,
    },
    /// A size or range argument could not be parsed.
    #[error("{0}")]
    Parse(String),
}

/// Parses `"WxH"`, e.g. `"1920x1080"`.
pub fn parse_size(s: &str) -> Result<(u32, u32), CameraError> {
    let bad = || CameraError::Parse(format!("size {s:?} is not WIDTHxHEIGHT with both > 0"));
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h) = (
        w.trim().parse::<u32>().map_err(|_| bad())?,
        h.trim().parse::<u32>().map_err(|_| bad())?,
    );
    if w == 0 || h == 0 || w > 16384 || h > 16384 {
        return Err(bad());
    }
    Ok((w, h))
}

/// Parses a frame range `"A..B"` (B exclusive), `"A.."` (to the end) or a single frame `"A"`.
pub fn parse_range(s: &str, count: usize) -> Result<std::ops::Range<usize>, CameraError> {
    let bad = || CameraError::Parse(format!("frame range {s:?} is not A..B within 0..{count}"));
    let num = |t: &str| t.trim().parse::<usize>().map_err(|_| bad());
    let range = match s.split_once("..") {
        Some((a, "")) => num(a)?..count,
        Some((a, b)) => num(a)?..num(b)?,
        None => num(s)?..num(s)? + 1,
    };
    if range.start >= range.end || range.end > count {
        return Err(bad());
    }
    Ok(range)
}

/// Reads the calibration in `dir` (`intri.yml` + `extri.yml`) and returns camera `name`.
pub fn dataset_camera(dir: &Path, name: &str) -> Result<Camera, CameraError> {
    let cams = read_calibration(dir).map_err(|e| CameraError::Calibration {
        dir: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let names: Vec<String> = cams.iter().map(|c| c.name.clone()).collect();
    cams.into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| CameraError::NotFound {
            dir: dir.display().to_string(),
            name: name.to_owned(),
            available: names.join(", "),
        })
}

/// Parses `CALIBDIR:NAME` (split at the last colon, so Windows drive letters work) and loads it.
pub fn camera_from_spec(spec: &str) -> Result<Camera, CameraError> {
    let (dir, name) = spec
        .rsplit_once(':')
        .filter(|(d, n)| !d.is_empty() && !n.is_empty())
        .ok_or_else(|| CameraError::Spec(spec.to_owned()))?;
    dataset_camera(Path::new(dir), name)
}

/// `cam` with its image resampled to `size` (OpenCV pixel-centre convention, per-axis scale).
pub fn resized(cam: &Camera, size: (u32, u32)) -> Camera {
    let sx = size.0 as f64 / cam.width as f64;
    let sy = size.1 as f64 / cam.height as f64;
    let mut c = cam.clone();
    c.width = size.0;
    c.height = size.1;
    c.k = intrinsic_matrix(
        cam.fx() * sx,
        cam.fy() * sy,
        (cam.cx() + 0.5) * sx - 0.5,
        (cam.cy() + 0.5) * sy - 0.5,
    );
    c.k.y_axis.x = cam.skew() * sx;
    c
}

/// `n` cameras on a circle around the box `min..max`, 15° above its equator (with `up` as the
/// world's up), 45° vertical field of view, the box filling the view.
pub fn orbit(n: usize, min: [f32; 3], max: [f32; 3], size: (u32, u32), up: DVec3) -> Vec<Camera> {
    let lo = DVec3::new(min[0] as f64, min[1] as f64, min[2] as f64);
    let hi = DVec3::new(max[0] as f64, max[1] as f64, max[2] as f64);
    let centre = (lo + hi) * 0.5;
    let radius = ((hi - lo).length() * 0.5).max(1e-3);
    let half_fov = 22.5f64.to_radians();
    let dist = radius / half_fov.sin();
    let f = size.1 as f64 * 0.5 / half_fov.tan();
    let up = up.normalize();
    let e1 = up.any_orthonormal_vector();
    let e2 = up.cross(e1);
    let elevation = 15f64.to_radians();
    (0..n)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n as f64;
            let dir = (e1 * a.cos() + e2 * a.sin()) * elevation.cos() + up * elevation.sin();
            Camera::look_at(
                format!("orbit{i:03}"),
                size,
                (f, f),
                ((size.0 as f64 - 1.0) * 0.5, (size.1 as f64 - 1.0) * 0.5),
                centre + dir * dist,
                centre,
                up,
            )
        })
        .collect()
}

/// Left and right eyes `ipd` metres apart, centred on `cam` (shifted along its x axis).
pub fn stereo_pair(cam: &Camera, ipd: f64) -> [Camera; 2] {
    let eye = |sign: f64, name: &str| {
        let mut c = cam.clone();
        c.name = format!("{}-{name}", cam.name);
        // Centre moves by sign·ipd/2 along the camera x axis: t' = t − sign·ipd/2·e_x.
        c.t.x -= sign * ipd * 0.5;
        c
    };
    [eye(-1.0, "left"), eye(1.0, "right")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ranges_parse() {
        assert_eq!(parse_size("64x48").unwrap(), (64, 48));
        assert!(parse_size("64").is_err() && parse_size("0x3").is_err());
        assert_eq!(parse_range("2..5", 10).unwrap(), 2..5);
        assert_eq!(parse_range("7..", 10).unwrap(), 7..10);
        assert_eq!(parse_range("3", 10).unwrap(), 3..4);
        assert!(parse_range("5..11", 10).is_err() && parse_range("4..4", 10).is_err());
    }

    #[test]
    fn resize_keeps_the_projection_in_relative_coordinates() {
        let cam = Camera::look_at(
            "c",
            (640, 480),
            (500.0, 500.0),
            (319.5, 239.5),
            DVec3::new(0.0, -3.0, 1.0),
            DVec3::ZERO,
            DVec3::Z,
        );
        let small = resized(&cam, (160, 120));
        let p = DVec3::new(0.2, 0.1, 0.3);
        let a = cam.project(p).unwrap();
        let b = small.project(p).unwrap();
        assert!(
            ((a.x + 0.5) / 4.0 - (b.x + 0.5)).abs() < 1e-9
                && ((a.y + 0.5) / 4.0 - (b.y + 0.5)).abs() < 1e-9
        );
    }

    #[test]
    fn orbit_cameras_see_the_centre_and_the_whole_box() {
        let cams = orbit(8, [-1.0, -1.0, 0.0], [1.0, 1.0, 2.0], (64, 48), DVec3::Z);
        assert_eq!(cams.len(), 8);
        for c in &cams {
            let px = c.project(DVec3::new(0.0, 0.0, 1.0)).unwrap();
            assert!((px.x - 31.5).abs() < 1e-6 && (px.y - 23.5).abs() < 1e-6);
            for corner in [DVec3::new(-1.0, -1.0, 0.0), DVec3::new(1.0, 1.0, 2.0)] {
                let q = c.project(corner).unwrap();
                assert!(c.in_image(q), "{} misses {corner}", c.name);
            }
        }
    }

    #[test]
    fn stereo_eyes_are_ipd_apart_along_camera_x() {
        let cam = Camera::look_at(
            "c",
            (64, 48),
            (50.0, 50.0),
            (31.5, 23.5),
            DVec3::new(0.0, -3.0, 1.0),
            DVec3::ZERO,
            DVec3::Z,
        );
        let [l, r] = stereo_pair(&cam, 0.064);
        assert!(((r.centre() - l.centre()).length() - 0.064).abs() < 1e-12);
        let x_axis = cam.r.transpose() * DVec3::X;
        assert!((r.centre() - l.centre()).normalize().dot(x_axis) > 0.999999);
    }
}
