//! COLMAP's text model (`cameras.txt`, `images.txt`) as a rig calibration: one camera per image.
//!
//! COLMAP puts pixel centres at half-integers, Yakumo at integers, so principal points differ by
//! ½ px between the two. Camera models read: `SIMPLE_PINHOLE`, `PINHOLE`, `SIMPLE_RADIAL`,
//! `RADIAL`, `OPENCV` and `FULL_OPENCV` without its rational terms (`k4 k5 k6` zero); the others
//! (fisheye, thin-prism, rational) have no exact equivalent in the OpenCV `k1 k2 p1 p2 k3` model
//! and are refused by name. Written: `OPENCV`, or `FULL_OPENCV` for cameras with a `k3`.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use glam::{DMat3, DQuat, DVec3};

use crate::calib::CalibError;
use crate::camera::{Camera, Distortion, intrinsic_matrix};
use crate::fsutil::write_atomic;
use crate::opencv_yaml::ReadError;

/// File name of COLMAP's camera list.
pub const CAMERAS_FILE: &str = "cameras.txt";
/// File name of COLMAP's image list.
pub const IMAGES_FILE: &str = "images.txt";

/// Writes `dir/cameras.txt` (one camera per input camera) and `dir/images.txt` (world→camera
/// quaternion `QW QX QY QZ` and translation, image named after the camera, no 2-D points).
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
        let (fx, fy, cx, cy) = (c.fx(), c.fy(), c.cx() + 0.5, c.cy() + 0.5);
        let (w, h) = (c.width, c.height);
        cameras += &if d.k3 == 0.0 {
            format!(
                "{id} OPENCV {w} {h} {fx} {fy} {cx} {cy} {} {} {} {}\n",
                d.k1, d.k2, d.p1, d.p2
            )
        } else {
            format!(
                "{id} FULL_OPENCV {w} {h} {fx} {fy} {cx} {cy} {} {} {} {} {} 0 0 0\n",
                d.k1, d.k2, d.p1, d.p2, d.k3
            )
        };
        let q = DQuat::from_mat3(&c.r).normalize();
        let q = if q.w < 0.0 { -q } else { q };
        images += &format!(
            "{id} {} {} {} {} {} {} {} {id} {}\n\n",
            q.w, q.x, q.y, q.z, c.t.x, c.t.y, c.t.z, c.name
        );
    }
    write_atomic(&dir.join(CAMERAS_FILE), cameras.as_bytes())?;
    write_atomic(&dir.join(IMAGES_FILE), images.as_bytes())
}

/// Whether `dir` holds a COLMAP text model.
pub fn is_colmap(dir: &Path) -> bool {
    dir.join(CAMERAS_FILE).is_file() && dir.join(IMAGES_FILE).is_file()
}

/// Reads `dir/cameras.txt` and `dir/images.txt` into one camera per image, sorted by name. A
/// camera is named after its image: the image's folder when the name has one (`00/000000.jpg`,
/// EasyVolcap's layout, is camera `00`), else the file name without extension.
pub fn read_colmap(dir: &Path) -> Result<Vec<Camera>, CalibError> {
    let cameras_path = dir.join(CAMERAS_FILE);
    let images_path = dir.join(IMAGES_FILE);
    let intrinsics = read_cameras(&cameras_path)?;
    let text = read(&images_path)?;
    let invalid = |line: usize, message: String| CalibError::Invalid {
        path: images_path.clone(),
        line: Some(line),
        message,
    };
    let mut cams: Vec<Camera> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // The next line lists the image's 2-D points (possibly none); it is not used here.
        lines.next();
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 10 {
            return Err(invalid(
                i + 1,
                format!(
                    "an image line needs IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME, found {} fields",
                    fields.len()
                ),
            ));
        }
        let number = |k: usize| {
            fields[k]
                .parse::<f64>()
                .map_err(|_| invalid(i + 1, format!("`{}` is not a number", fields[k])))
        };
        let q = DQuat::from_xyzw(number(2)?, number(3)?, number(4)?, number(1)?);
        if !(0.5..2.0).contains(&q.length()) {
            return Err(invalid(
                i + 1,
                format!("quaternion of length {:.3}", q.length()),
            ));
        }
        let t = DVec3::new(number(5)?, number(6)?, number(7)?);
        let camera_id = fields[8];
        let Some(intr) = intrinsics.get(camera_id) else {
            return Err(invalid(
                i + 1,
                format!("camera {camera_id} is not in {}", cameras_path.display()),
            ));
        };
        let image = fields[9..].join(" ");
        let name = camera_name(&image);
        if let Some(other) = cams.iter().find(|c| c.name == name) {
            return Err(invalid(
                i + 1,
                format!(
                    "image {image} gives camera name {name}, which an earlier image ({}) has already: one image per camera is expected",
                    other.name
                ),
            ));
        }
        cams.push(Camera {
            name,
            r: DMat3::from_quat(q.normalize()),
            t,
            ..intr.clone()
        });
    }
    if cams.is_empty() {
        return Err(CalibError::Invalid {
            path: images_path,
            line: None,
            message: "no images".into(),
        });
    }
    cams.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cams)
}

fn read(path: &Path) -> Result<String, CalibError> {
    std::fs::read_to_string(path).map_err(|error| {
        CalibError::Read(ReadError::Io {
            path: PathBuf::from(path),
            error,
        })
    })
}

/// The camera name of image `name` (see [`read_colmap`]).
fn camera_name(image: &str) -> String {
    let path = Path::new(image);
    match path.parent().and_then(Path::file_name) {
        Some(folder) => folder.to_string_lossy().into_owned(),
        None => path
            .file_stem()
            .map_or_else(|| image.to_string(), |s| s.to_string_lossy().into_owned()),
    }
}

/// `cameras.txt` by camera id, as cameras without a pose or name.
fn read_cameras(path: &Path) -> Result<HashMap<String, Camera>, CalibError> {
    let text = read(path)?;
    let mut cameras = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let invalid = |message: String| CalibError::Invalid {
            path: path.to_path_buf(),
            line: Some(i + 1),
            message,
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 4 {
            return Err(invalid(
                "a camera line needs CAMERA_ID MODEL WIDTH HEIGHT PARAMS[]".into(),
            ));
        }
        let size = |k: usize| {
            fields[k]
                .parse::<u32>()
                .map_err(|_| invalid(format!("image size `{}` is not a whole number", fields[k])))
        };
        let (width, height) = (size(2)?, size(3)?);
        let params = fields[4..]
            .iter()
            .map(|p| {
                p.parse::<f64>()
                    .map_err(|_| invalid(format!("`{p}` is not a number")))
            })
            .collect::<Result<Vec<f64>, _>>()?;
        let ((fx, fy, cx, cy), d) = lens(fields[1], &params).map_err(invalid)?;
        if !(fx > 0.0 && fy > 0.0) {
            return Err(invalid(format!("focal length {fx} × {fy} is not positive")));
        }
        cameras.insert(
            fields[0].to_string(),
            Camera {
                name: String::new(),
                width,
                height,
                k: intrinsic_matrix(fx, fy, cx - 0.5, cy - 0.5),
                dist: Distortion::from_array(d),
                r: DMat3::IDENTITY,
                t: DVec3::ZERO,
            },
        );
    }
    Ok(cameras)
}

/// Focal lengths and principal point `(fx, fy, cx, cy)` (COLMAP's pixel convention) and OpenCV
/// distortion `k1 k2 p1 p2 k3`.
type Lens = ((f64, f64, f64, f64), [f64; 5]);

/// The [`Lens`] of a COLMAP camera `model` with `params`; why not, when it has none.
fn lens(model: &str, params: &[f64]) -> Result<Lens, String> {
    let count = |n: usize| {
        if params.len() == n {
            Ok(params)
        } else {
            Err(format!(
                "{model} has {n} parameters, found {}",
                params.len()
            ))
        }
    };
    Ok(match model {
        "SIMPLE_PINHOLE" => {
            let p = count(3)?;
            ((p[0], p[0], p[1], p[2]), [0.0; 5])
        }
        "PINHOLE" => {
            let p = count(4)?;
            ((p[0], p[1], p[2], p[3]), [0.0; 5])
        }
        "SIMPLE_RADIAL" => {
            let p = count(4)?;
            ((p[0], p[0], p[1], p[2]), [p[3], 0.0, 0.0, 0.0, 0.0])
        }
        "RADIAL" => {
            let p = count(5)?;
            ((p[0], p[0], p[1], p[2]), [p[3], p[4], 0.0, 0.0, 0.0])
        }
        "OPENCV" => {
            let p = count(8)?;
            ((p[0], p[1], p[2], p[3]), [p[4], p[5], p[6], p[7], 0.0])
        }
        "FULL_OPENCV" => {
            let p = count(12)?;
            if p[9..].iter().any(|&k| k != 0.0) {
                return Err(
                    "FULL_OPENCV with rational terms (k4 k5 k6 not zero) cannot be read: \
                            Yakumo's lens model is OpenCV's k1 k2 p1 p2 k3"
                        .into(),
                );
            }
            ((p[0], p[1], p[2], p[3]), [p[4], p[5], p[6], p[7], p[8]])
        }
        other => {
            return Err(format!(
                "camera model {other} cannot be read: it has no exact equivalent in the \
                 OpenCV k1 k2 p1 p2 k3 model (supported: SIMPLE_PINHOLE, PINHOLE, \
                 SIMPLE_RADIAL, RADIAL, OPENCV, FULL_OPENCV)"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera(name: &str, eye: DVec3, dist: Distortion) -> Camera {
        let mut c = Camera::look_at(
            name,
            (640, 480),
            (500.0, 501.0),
            (319.25, 239.75),
            eye,
            DVec3::ZERO,
            DVec3::Z,
        );
        c.dist = dist;
        c
    }

    #[test]
    fn written_models_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let cams = vec![
            camera("00", DVec3::new(3.0, 0.0, 1.5), Distortion::NONE),
            camera(
                "01",
                DVec3::new(0.0, 3.0, 1.0),
                Distortion::from_array([-0.1, 0.02, 0.001, -0.002, 0.0]),
            ),
            camera(
                "02",
                DVec3::new(-3.0, 0.5, 2.0),
                Distortion::from_array([-0.3, 0.1, 0.0, 0.0, -0.02]),
            ),
        ];
        write_colmap(dir.path(), &cams).unwrap();
        let text = std::fs::read_to_string(dir.path().join(CAMERAS_FILE)).unwrap();
        assert!(
            text.contains("1 OPENCV 640 480 500 501 319.75 240.25 0 0 0 0"),
            "{text}"
        );
        assert!(
            text.contains("3 FULL_OPENCV"),
            "k3 needs FULL_OPENCV: {text}"
        );
        assert!(is_colmap(dir.path()));
        // Without intri.yml, a dataset's calibration reader takes the COLMAP model.
        let back = crate::calib::read_calibration(dir.path()).unwrap();
        assert_eq!(back.len(), 3);
        for (a, b) in cams.iter().zip(&back) {
            assert_eq!(a.name, b.name);
            assert_eq!((a.width, a.height), (b.width, b.height));
            assert!((a.k - b.k).abs_diff_eq(DMat3::ZERO, 1e-9), "{} K", a.name);
            assert_eq!(a.dist, b.dist);
            assert!(a.r.abs_diff_eq(b.r, 1e-12), "{} R", a.name);
            assert!(a.t.abs_diff_eq(b.t, 1e-12), "{} T", a.name);
        }
    }

    #[test]
    fn reads_colmaps_simpler_models_and_folder_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CAMERAS_FILE),
            "# Camera list\n1 SIMPLE_RADIAL 1920 1080 1500 960 540 -0.05\n2 PINHOLE 1280 720 1000 1001 640 360\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(IMAGES_FILE),
            "# Image list\n\
             1 1 0 0 0 0.1 0.2 0.3 1 cam_a/000000.jpg\n\
             10.5 20.5 -1 30.5 40.5 7\n\
             2 0.7071067811865476 0 0.7071067811865476 0 1 0 0 2 b.png\n\
             \n",
        )
        .unwrap();
        let cams = read_colmap(dir.path()).unwrap();
        let names: Vec<&str> = cams.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["b", "cam_a"]);
        let (b, a) = (&cams[0], &cams[1]);
        assert_eq!(
            (a.fx(), a.fy(), a.cx(), a.cy()),
            (1500.0, 1500.0, 959.5, 539.5)
        );
        assert_eq!(a.dist.k1, -0.05);
        assert_eq!(a.t, DVec3::new(0.1, 0.2, 0.3));
        assert_eq!((b.width, b.height, b.fy()), (1280, 720, 1001.0));
        // 90° about y: the world's z axis is the camera's x axis.
        assert!((b.r * DVec3::Z - DVec3::X).length() < 1e-12);
    }

    /// Writes `cameras.txt` and `images.txt` into a fresh folder and reads them; the error's text.
    fn read_error(cameras: &str, images: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CAMERAS_FILE), cameras).unwrap();
        std::fs::write(dir.path().join(IMAGES_FILE), images).unwrap();
        read_colmap(dir.path()).unwrap_err().to_string()
    }

    #[test]
    fn unreadable_models_are_refused_by_file_line_and_name() {
        const PINHOLE: &str = "1 PINHOLE 640 480 500 500 320 240\n";
        let err = read_error(
            &format!("{PINHOLE}2 OPENCV_FISHEYE 640 480 500 500 320 240 0.1 0 0 0\n"),
            "1 1 0 0 0 0 0 0 1 a.jpg\n\n",
        );
        assert!(
            err.contains("cameras.txt:2") && err.contains("OPENCV_FISHEYE"),
            "{err}"
        );
        let err = read_error(PINHOLE, "1 1 0 0 0 0 0 0 3 a.jpg\n\n");
        assert!(
            err.contains("images.txt:1") && err.contains("camera 3"),
            "{err}"
        );
        let err = read_error(
            PINHOLE,
            "1 1 0 0 0 0 0 0 1 a.jpg\n\n2 1 0 0 0 0 0 1 1 a.png\n\n",
        );
        assert!(
            err.contains("images.txt:3") && err.contains("camera name a"),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CAMERAS_FILE), PINHOLE).unwrap();
        let err = read_colmap(dir.path()).unwrap_err().to_string();
        assert!(err.contains("images.txt"), "{err}");
    }
}
