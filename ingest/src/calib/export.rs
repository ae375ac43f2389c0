//! Writing a calibration: EasyVolcap `intri.yml`/`extri.yml` (through `yakumo_core::calib`),
//! COLMAP `cameras.txt`/`images.txt`, and a JSON dump with the report. All writes are atomic.

use std::io;
use std::path::Path;

use glam::DQuat;
use serde_json::json;
use yakumo_core::Camera;
use yakumo_core::fsutil::write_atomic;

use super::report::CalibrationReport;

/// COLMAP text model: `cameras.txt` (one `OPENCV` camera per input camera) and `images.txt`
/// (world→camera quaternion `QW QX QY QZ` and translation; no 2-D points). COLMAP's pixel
/// convention puts pixel centres at half-integers, so the principal point shifts by +0.5.
pub fn write_colmap(dir: &Path, cams: &[Camera]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut cameras = String::from(
        "# Camera list with one line of data per camera:\n#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n",
    );
    let mut images = String::from(
        "# Image list with two lines of data per image:\n#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n#   POINTS2D[] as (X, Y, POINT3D_ID)\n",
    );
    for (i, c) in cams.iter().enumerate() {
        let id = i + 1;
        let d = c.dist;
        cameras += &format!(
            "{id} OPENCV {} {} {} {} {} {} {} {} {} {}\n",
            c.width,
            c.height,
            c.fx(),
            c.fy(),
            c.cx() + 0.5,
            c.cy() + 0.5,
            d.k1,
            d.k2,
            d.p1,
            d.p2
        );
        let q = DQuat::from_mat3(&c.r).normalize();
        let q = if q.w < 0.0 { -q } else { q };
        images += &format!(
            "{id} {} {} {} {} {} {} {} {id} {}\n\n",
            q.w, q.x, q.y, q.z, c.t.x, c.t.y, c.t.z, c.name
        );
    }
    write_atomic(&dir.join("cameras.txt"), cameras.as_bytes())?;
    write_atomic(&dir.join("images.txt"), images.as_bytes())?;
    // COLMAP's OPENCV model has no k3: say so next to the files when it matters.
    if cams.iter().any(|c| c.dist.k3 != 0.0) {
        write_atomic(
            &dir.join("README.txt"),
            b"COLMAP's OPENCV camera model has no k3; intri.yml holds the full k1 k2 p1 p2 k3 distortion.\n",
        )?;
    }
    Ok(())
}

/// JSON dump of the cameras (K, distortion, R, T, centre) and the report.
pub fn write_json(path: &Path, cams: &[Camera], report: &CalibrationReport) -> io::Result<()> {
    let cameras: Vec<_> = cams
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "width": c.width,
                "height": c.height,
                "K": c.k.transpose().to_cols_array_2d(),
                "dist": c.dist.to_array(),
                "R": c.r.transpose().to_cols_array_2d(),
                "T": c.t.to_array(),
                "centre": c.centre().to_array(),
            })
        })
        .collect();
    let value = json!({ "cameras": cameras, "report": report });
    let text = serde_json::to_string_pretty(&value).map_err(io::Error::other)?;
    write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;

    #[test]
    fn colmap_files_hold_pose_and_opencv_intrinsics() {
        let dir = tempfile::tempdir().unwrap();
        let cam = Camera::look_at(
            "07",
            (640, 480),
            (500.0, 501.0),
            (319.5, 239.5),
            DVec3::new(1.0, 2.0, 3.0),
            DVec3::ZERO,
            DVec3::Z,
        );
        write_colmap(dir.path(), std::slice::from_ref(&cam)).unwrap();
        let cameras = std::fs::read_to_string(dir.path().join("cameras.txt")).unwrap();
        assert!(
            cameras.contains("1 OPENCV 640 480 500 501 320 240 0 0 0 0"),
            "{cameras}"
        );
        let images = std::fs::read_to_string(dir.path().join("images.txt")).unwrap();
        let line = images.lines().find(|l| l.ends_with(" 07")).unwrap();
        let v: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .take(7)
            .map(|x| x.parse().unwrap())
            .collect();
        let q = DQuat::from_xyzw(v[1], v[2], v[3], v[0]);
        let r = glam::DMat3::from_quat(q);
        assert!((r * DVec3::new(1.0, 2.0, 3.0) + DVec3::new(v[4], v[5], v[6])).length() < 1e-9);
        assert!(!dir.path().join("README.txt").exists());
    }
}
