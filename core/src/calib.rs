//! EasyVolcap / EasyMocap calibration files, OpenCV FileStorage YAML:
//!
//! - `intri.yml`: `names` (list of camera names), per camera `K_<cam>` (3×3), `dist_<cam>`
//!   (`1×5` or `5×1`, OpenCV order k1 k2 p1 p2 k3; `D_<cam>` is accepted too) and optionally the
//!   image size `H_<cam>`, `W_<cam>`.
//! - `extri.yml`: per camera `Rot_<cam>` (3×3) and/or `R_<cam>` (Rodrigues 3×1), and `T_<cam>`
//!   (3×1, metres); world→camera, `x_cam = R · x_world + T`.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use glam::{DMat3, DVec3};
use thiserror::Error;

use crate::camera::{Camera, Distortion, rodrigues_to_rotation, rotation_to_rodrigues};
use crate::opencv_yaml::{Document, Matrix, ReadError, Value};

/// File name of the intrinsics inside a dataset.
pub const INTRI_FILE: &str = "intri.yml";
/// File name of the extrinsics inside a dataset.
pub const EXTRI_FILE: &str = "extri.yml";

/// Largest deviation of `RᵀR` from identity accepted for `Rot_<cam>` (allows `dt: f` files).
const ROTATION_TOLERANCE: f64 = 1e-5;

/// A calibration file that cannot be used; every variant names the file or camera at fault.
#[derive(Debug, Error)]
pub enum CalibError {
    /// The file is missing, unreadable or not FileStorage YAML.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The file parses but its content is wrong.
    #[error("{}: {message}", location(path, *line))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Line of the offending entry, when known.
        line: Option<usize>,
        /// What is wrong, naming the camera.
        message: String,
    },
    /// `intri.yml` and `extri.yml` list different cameras.
    #[error("camera {camera} is in {} but not in {}", present.display(), missing.display())]
    Mismatch {
        /// The camera.
        camera: String,
        /// The file that has it.
        present: PathBuf,
        /// The file that lacks it.
        missing: PathBuf,
    },
    /// [`fill_image_sizes`] found no size for a camera.
    #[error("camera {camera}: image size unknown (intri.yml has no H_/W_ and no image was found)")]
    UnknownImageSize {
        /// The camera.
        camera: String,
    },
}

fn location(path: &Path, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("{}:{l}", path.display()),
        None => path.display().to_string(),
    }
}

/// One camera's entries from `intri.yml`.
#[derive(Clone, Debug, PartialEq)]
pub struct Intrinsics {
    /// Camera name.
    pub name: String,
    /// Image width in pixels, 0 when the file has no `W_<cam>`.
    pub width: u32,
    /// Image height in pixels, 0 when the file has no `H_<cam>`.
    pub height: u32,
    /// Intrinsic matrix.
    pub k: DMat3,
    /// Lens distortion (zero when the file has neither `dist_<cam>` nor `D_<cam>`).
    pub dist: Distortion,
}

/// One camera's entries from `extri.yml`.
#[derive(Clone, Debug, PartialEq)]
pub struct Extrinsics {
    /// Camera name.
    pub name: String,
    /// World→camera rotation.
    pub r: DMat3,
    /// World→camera translation in metres.
    pub t: DVec3,
}

/// A parsed file plus its path, for lookups that report errors against it.
struct CalibFile {
    path: PathBuf,
    doc: Document,
}

impl CalibFile {
    fn read(path: &Path) -> Result<CalibFile, CalibError> {
        Ok(CalibFile {
            path: path.to_path_buf(),
            doc: Document::read(path)?,
        })
    }

    fn invalid(&self, key: Option<&str>, message: String) -> CalibError {
        let line = key.and_then(|k| self.doc.line_of(k));
        CalibError::Invalid {
            path: self.path.clone(),
            line,
            message,
        }
    }

    /// Camera names: the `names` list, or when absent, every `<prefix><cam>` key.
    fn names(&self, prefix: &str) -> Result<Vec<String>, CalibError> {
        let names: Vec<String> = match self.doc.get("names") {
            Some(Value::Seq(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Str(s) => Ok(s.clone()),
                    other => Err(self.invalid(
                        Some("names"),
                        format!(
                            "`names` entry {} is {}; camera names must be strings (quote numeric \
                             names, e.g. \"00\")",
                            i + 1,
                            other.kind()
                        ),
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                let msg = format!("`names` must be a list of strings, found {}", other.kind());
                return Err(self.invalid(Some("names"), msg));
            }
            None => self
                .doc
                .keys()
                .filter_map(|k| k.strip_prefix(prefix))
                .map(String::from)
                .collect(),
        };
        let mut seen = BTreeSet::new();
        for n in &names {
            if !seen.insert(n) {
                return Err(self.invalid(
                    Some("names"),
                    format!("camera {n} is listed twice in `names`"),
                ));
            }
        }
        if names.is_empty() {
            return Err(self.invalid(
                None,
                "no cameras (no `names` list and no camera entries)".into(),
            ));
        }
        Ok(names)
    }

    /// The matrix under `key`, `None` when absent.
    fn matrix(&self, key: &str) -> Result<Option<&Matrix>, CalibError> {
        match self.doc.get(key) {
            None => Ok(None),
            Some(Value::Matrix(m)) => Ok(Some(m)),
            Some(other) => Err(self.invalid(
                Some(key),
                format!("`{key}` must be an !!opencv-matrix, found {}", other.kind()),
            )),
        }
    }

    fn required_matrix(&self, key: &str, cam: &str) -> Result<&Matrix, CalibError> {
        self.matrix(key)?
            .ok_or_else(|| self.invalid(None, format!("camera {cam}: missing `{key}`")))
    }

    fn mat3(&self, key: &str, m: &Matrix) -> Result<DMat3, CalibError> {
        if (m.rows, m.cols) != (3, 3) {
            return Err(self.invalid(
                Some(key),
                format!("`{key}` is {}×{}, expected 3×3", m.rows, m.cols),
            ));
        }
        self.finite(key, m)?;
        Ok(mat3_from_rows(&m.data))
    }

    fn vec3(&self, key: &str, m: &Matrix) -> Result<DVec3, CalibError> {
        if !m.is_vector() || m.data.len() != 3 {
            return Err(self.invalid(
                Some(key),
                format!("`{key}` is {}×{}, expected 3×1", m.rows, m.cols),
            ));
        }
        self.finite(key, m)?;
        Ok(DVec3::from_slice(&m.data))
    }

    fn finite(&self, key: &str, m: &Matrix) -> Result<(), CalibError> {
        if m.data.iter().all(|v| v.is_finite()) {
            Ok(())
        } else {
            Err(self.invalid(Some(key), format!("`{key}` holds a non-finite number")))
        }
    }

    /// An optional positive integer scalar.
    fn size(&self, key: &str) -> Result<Option<u32>, CalibError> {
        let Some(v) = self.doc.get(key) else {
            return Ok(None);
        };
        match v.as_i64().map(u32::try_from) {
            Some(Ok(n)) if n > 0 => Ok(Some(n)),
            _ => Err(self.invalid(Some(key), format!("`{key}` must be a positive integer"))),
        }
    }
}

fn mat3_from_rows(d: &[f64]) -> DMat3 {
    DMat3::from_cols_array(&[d[0], d[3], d[6], d[1], d[4], d[7], d[2], d[5], d[8]])
}

fn mat3_to_rows(m: DMat3) -> Vec<f64> {
    m.transpose().to_cols_array().to_vec()
}

/// Reads `intri.yml`; cameras in the file's `names` order.
pub fn read_intri(path: &Path) -> Result<Vec<Intrinsics>, CalibError> {
    let file = CalibFile::read(path)?;
    let names = file.names("K_")?;
    names
        .into_iter()
        .map(|name| intrinsics(&file, name))
        .collect()
}

fn intrinsics(file: &CalibFile, name: String) -> Result<Intrinsics, CalibError> {
    let k_key = format!("K_{name}");
    let k = file.mat3(&k_key, file.required_matrix(&k_key, &name)?)?;
    // Row-major K = [[fx, s, cx], [0, fy, cy], [0, 0, 1]]; glam stores columns.
    let intrinsic_shape = k.x_axis.y == 0.0
        && k.x_axis.z == 0.0
        && k.y_axis.z == 0.0
        && k.z_axis.z == 1.0
        && k.x_axis.x > 0.0
        && k.y_axis.y > 0.0;
    if !intrinsic_shape {
        return Err(file.invalid(
            Some(&k_key),
            format!("`{k_key}` is not an intrinsic matrix (needs fx, fy > 0 and rows [0 fy cy], [0 0 1])"),
        ));
    }
    let dist_key = [format!("dist_{name}"), format!("D_{name}")]
        .into_iter()
        .find(|key| file.doc.get(key).is_some());
    let dist = match dist_key {
        Some(key) => distortion(file, &key, file.required_matrix(&key, &name)?)?,
        None => Distortion::NONE,
    };
    let (h_key, w_key) = (format!("H_{name}"), format!("W_{name}"));
    let (width, height) = match (file.size(&w_key)?, file.size(&h_key)?) {
        (Some(w), Some(h)) => (w, h),
        (None, None) => (0, 0),
        _ => {
            let msg = format!("camera {name}: `{h_key}` and `{w_key}` must be given together");
            let present = if file.doc.get(&h_key).is_some() {
                &h_key
            } else {
                &w_key
            };
            return Err(file.invalid(Some(present), msg));
        }
    };
    Ok(Intrinsics {
        name,
        width,
        height,
        k,
        dist,
    })
}

/// `k1 k2 p1 p2 [k3 [more]]`; coefficients beyond k3 (rational / thin-prism models) must be zero.
fn distortion(file: &CalibFile, key: &str, m: &Matrix) -> Result<Distortion, CalibError> {
    file.finite(key, m)?;
    let n = m.data.len();
    if !m.is_vector() || n < 4 {
        return Err(file.invalid(
            Some(key),
            format!("`{key}` is {}×{}, expected 1×5", m.rows, m.cols),
        ));
    }
    if m.data[5.min(n)..].iter().any(|c| *c != 0.0) {
        return Err(file.invalid(
            Some(key),
            format!("`{key}` uses coefficients beyond k3 (rational or thin-prism model), which are not supported"),
        ));
    }
    let mut d = [0.0; 5];
    d[..n.min(5)].copy_from_slice(&m.data[..n.min(5)]);
    Ok(Distortion::from_array(d))
}

/// Reads `extri.yml`; cameras in the file's `names` order. `Rot_<cam>` is used when present
/// (and must be a rotation), else the Rodrigues vector `R_<cam>`.
pub fn read_extri(path: &Path) -> Result<Vec<Extrinsics>, CalibError> {
    let file = CalibFile::read(path)?;
    let names = file.names("T_")?;
    names
        .into_iter()
        .map(|name| extrinsics(&file, name))
        .collect()
}

fn extrinsics(file: &CalibFile, name: String) -> Result<Extrinsics, CalibError> {
    let (rot_key, r_key, t_key) = (
        format!("Rot_{name}"),
        format!("R_{name}"),
        format!("T_{name}"),
    );
    let r = match (file.matrix(&rot_key)?, file.matrix(&r_key)?) {
        (Some(m), _) => {
            let r = file.mat3(&rot_key, m)?;
            let err = (r.transpose() * r - DMat3::IDENTITY)
                .to_cols_array()
                .iter()
                .fold(0.0f64, |a, v| a.max(v.abs()));
            if err > ROTATION_TOLERANCE || r.determinant() <= 0.0 {
                return Err(file.invalid(
                    Some(&rot_key),
                    format!(
                        "`{rot_key}` is not a rotation matrix (|RᵀR − I| = {err:.1e}, det = {:.3})",
                        r.determinant()
                    ),
                ));
            }
            r
        }
        (None, Some(m)) => rodrigues_to_rotation(file.vec3(&r_key, m)?),
        (None, None) => {
            return Err(file.invalid(
                None,
                format!("camera {name}: missing both `{rot_key}` and `{r_key}`"),
            ));
        }
    };
    let t = file.vec3(&t_key, file.required_matrix(&t_key, &name)?)?;
    Ok(Extrinsics { name, r, t })
}

/// Reads `dir/intri.yml` and `dir/extri.yml` into cameras sorted by name. Image sizes are 0 when
/// `intri.yml` has no `H_`/`W_` (see [`fill_image_sizes`]). A folder without `intri.yml` that
/// holds a COLMAP text model (`cameras.txt`, `images.txt`) is read as one ([`crate::colmap`]).
pub fn read_calibration(dir: &Path) -> Result<Vec<Camera>, CalibError> {
    let (intri_path, extri_path) = (dir.join(INTRI_FILE), dir.join(EXTRI_FILE));
    if !intri_path.exists() && crate::colmap::is_colmap(dir) {
        return crate::colmap::read_colmap(dir);
    }
    let intri = read_intri(&intri_path)?;
    let extri = read_extri(&extri_path)?;
    if let Some(e) = extri
        .iter()
        .find(|e| !intri.iter().any(|i| i.name == e.name))
    {
        return Err(CalibError::Mismatch {
            camera: e.name.clone(),
            present: extri_path,
            missing: intri_path,
        });
    }
    let mut cams = intri
        .into_iter()
        .map(|i| {
            let Some(e) = extri.iter().find(|e| e.name == i.name) else {
                return Err(CalibError::Mismatch {
                    camera: i.name,
                    present: intri_path.clone(),
                    missing: extri_path.clone(),
                });
            };
            Ok(Camera {
                name: i.name,
                width: i.width,
                height: i.height,
                k: i.k,
                dist: i.dist,
                r: e.r,
                t: e.t,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    cams.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cams)
}

/// Sets the image size of every camera whose size is unknown (0) from `size_of(name)`, e.g. the
/// size of its first image; errors naming the first camera left without a size.
pub fn fill_image_sizes(
    cams: &mut [Camera],
    mut size_of: impl FnMut(&str) -> Option<(u32, u32)>,
) -> Result<(), CalibError> {
    for cam in cams.iter_mut().filter(|c| c.width == 0 || c.height == 0) {
        let (w, h) = size_of(&cam.name)
            .filter(|(w, h)| *w > 0 && *h > 0)
            .ok_or_else(|| CalibError::UnknownImageSize {
                camera: cam.name.clone(),
            })?;
        cam.width = w;
        cam.height = h;
    }
    Ok(())
}

/// Checks that names can serve as FileStorage key suffixes and are unique.
fn check_names(path: &Path, cams: &[Camera]) -> io::Result<Value> {
    let mut seen = BTreeSet::new();
    for cam in cams {
        let ok = !cam.name.is_empty()
            && cam
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let problem = if !ok {
            "camera names may only contain ASCII letters, digits, `_` and `-`"
        } else if !seen.insert(&cam.name) {
            "camera name used twice"
        } else {
            continue;
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: cannot write camera {:?}: {problem}",
                path.display(),
                cam.name
            ),
        ));
    }
    Ok(Value::Seq(
        cams.iter().map(|c| Value::Str(c.name.clone())).collect(),
    ))
}

/// Writes `intri.yml` (names, `K_`, `dist_` 1×5, and `H_`/`W_` for cameras of known size)
/// atomically, cameras in the given order.
pub fn write_intri(path: &Path, cams: &[Camera]) -> io::Result<()> {
    let mut doc = Document::new();
    doc.insert("names", check_names(path, cams)?);
    for cam in cams {
        let name = &cam.name;
        doc.insert(
            format!("K_{name}"),
            Value::Matrix(Matrix {
                rows: 3,
                cols: 3,
                data: mat3_to_rows(cam.k),
            }),
        );
        doc.insert(
            format!("dist_{name}"),
            Value::Matrix(Matrix::row(&cam.dist.to_array())),
        );
        if cam.width > 0 && cam.height > 0 {
            doc.insert(format!("H_{name}"), Value::Int(cam.height.into()));
            doc.insert(format!("W_{name}"), Value::Int(cam.width.into()));
        }
    }
    doc.write(path)
}

/// Writes `extri.yml` (names, `R_` Rodrigues 3×1, `Rot_` 3×3, `T_` 3×1) atomically, cameras in
/// the given order.
pub fn write_extri(path: &Path, cams: &[Camera]) -> io::Result<()> {
    let mut doc = Document::new();
    doc.insert("names", check_names(path, cams)?);
    for cam in cams {
        let name = &cam.name;
        doc.insert(
            format!("R_{name}"),
            Value::Matrix(Matrix::column(&rotation_to_rodrigues(cam.r).to_array())),
        );
        doc.insert(
            format!("Rot_{name}"),
            Value::Matrix(Matrix {
                rows: 3,
                cols: 3,
                data: mat3_to_rows(cam.r),
            }),
        );
        doc.insert(
            format!("T_{name}"),
            Value::Matrix(Matrix::column(&cam.t.to_array())),
        );
    }
    doc.write(path)
}

/// Writes `dir/intri.yml` and `dir/extri.yml`, each atomically.
pub fn write_calibration(dir: &Path, cams: &[Camera]) -> io::Result<()> {
    write_intri(&dir.join(INTRI_FILE), cams)?;
    write_extri(&dir.join(EXTRI_FILE), cams)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::intrinsic_matrix;

    fn rig() -> Vec<Camera> {
        (0..3)
            .map(|i| {
                let a = i as f64 * 2.1 + 0.3;
                let mut c = Camera::look_at(
                    format!("{i:02}"),
                    (1920, 1080),
                    (1500.0 + i as f64 / 3.0, 1499.7),
                    (959.5 + 0.1 * i as f64, 539.25),
                    DVec3::new(3.0 * a.cos(), 3.0 * a.sin(), 1.4 + 0.1 * i as f64),
                    DVec3::new(0.0, 0.0, 0.9),
                    DVec3::Z,
                );
                c.dist = Distortion {
                    k1: -0.1 / 3.0,
                    k2: 0.011,
                    p1: 1e-4,
                    p2: -2e-4,
                    k3: 1e-3 * i as f64,
                };
                c.k.y_axis.x = 0.25 * i as f64;
                c
            })
            .collect()
    }

    #[test]
    fn write_read_round_trip_is_bit_exact() {
        let dir = tempfile::tempdir().unwrap();
        let mut cams = rig();
        cams.reverse(); // read back sorted by name
        write_calibration(dir.path(), &cams).unwrap();
        let back = read_calibration(dir.path()).unwrap();
        cams.reverse();
        assert_eq!(back, cams);
    }

    #[test]
    fn reads_easymocap_style_files() {
        let dir = tempfile::tempdir().unwrap();
        let intri = "%YAML:1.0\n---\nnames:\n  - \"b\"\n  - \"a\"\n\
            K_a: !!opencv-matrix\n  rows: 3\n  cols: 3\n  dt: d\n  data: [ 1000., 0., 320., 0., 1000., 240., 0., 0., 1. ]\n\
            D_a: !!opencv-matrix\n  rows: 5\n  cols: 1\n  dt: d\n  data: [ -0.1, 0.01, 0., 0., 0. ]\n\
            K_b: !!opencv-matrix\n  rows: 3\n  cols: 3\n  dt: f\n  data: [ 500., 0., 320., 0., 500., 240., 0., 0., 1. ]\n\
            H_b: 480\nW_b: 640\n";
        let extri = "%YAML:1.0\n---\n\
            R_a: !!opencv-matrix\n  rows: 3\n  cols: 1\n  dt: d\n  data: [ 0., 0., 1.5707963267948966 ]\n\
            T_a: !!opencv-matrix\n  rows: 3\n  cols: 1\n  dt: d\n  data: [ 0.1, 0.2, 3. ]\n\
            Rot_b: !!opencv-matrix\n  rows: 3\n  cols: 3\n  dt: d\n  data: [ 1., 0., 0., 0., 0., -1., 0., 1., 0. ]\n\
            R_b: !!opencv-matrix\n  rows: 3\n  cols: 1\n  dt: d\n  data: [ 9., 9., 9. ]\n\
            T_b: !!opencv-matrix\n  rows: 1\n  cols: 3\n  dt: d\n  data: [ 0., 0., 2. ]\n";
        std::fs::write(dir.path().join(INTRI_FILE), intri).unwrap();
        std::fs::write(dir.path().join(EXTRI_FILE), extri).unwrap();
        let cams = read_calibration(dir.path()).unwrap();
        assert_eq!(
            cams.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let (a, b) = (&cams[0], &cams[1]);
        assert_eq!(a.k, intrinsic_matrix(1000.0, 1000.0, 320.0, 240.0));
        assert_eq!(a.dist.k1, -0.1);
        assert_eq!((a.width, a.height), (0, 0));
        assert!(
            (a.r * DVec3::X - DVec3::Y).length() < 1e-15,
            "R_ is Rodrigues: 90° about z"
        );
        assert_eq!(a.t, DVec3::new(0.1, 0.2, 3.0));
        assert_eq!((b.width, b.height), (640, 480));
        assert_eq!(b.dist, Distortion::NONE);
        assert_eq!(b.r * DVec3::Y, DVec3::Z, "Rot_ wins over R_");
        assert_eq!(b.t, DVec3::new(0.0, 0.0, 2.0));

        let mut cams = cams;
        fill_image_sizes(&mut cams, |name| (name == "a").then_some((1280, 720))).unwrap();
        assert_eq!(
            (cams[0].width, cams[0].height, cams[1].width),
            (1280, 720, 640)
        );
        cams[0].width = 0;
        let e = fill_image_sizes(&mut cams, |_| None).unwrap_err();
        assert!(
            e.to_string().contains("camera a: image size unknown"),
            "{e}"
        );
    }

    /// Writes valid files, applies `edit` to the text of one, and returns the read error.
    fn error_after(file: &str, edit: impl FnOnce(String) -> String) -> String {
        let dir = tempfile::tempdir().unwrap();
        write_calibration(dir.path(), &rig()).unwrap();
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, edit(text)).unwrap();
        read_calibration(dir.path()).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_camera_and_line() {
        let e = error_after(INTRI_FILE, |t| t.replace("K_01:", "K_x1:"));
        assert!(e.contains("intri.yml: camera 01: missing `K_01`"), "{e}");

        let e = error_after(EXTRI_FILE, |t| t.replace("   - \"02\"\n", ""));
        assert!(
            e.starts_with("camera 02 is in ") && e.contains("intri.yml but not in "),
            "{e}"
        );
        assert!(e.ends_with("extri.yml"), "{e}");

        let e = error_after(EXTRI_FILE, |t| {
            t.replace("T_00: !!opencv-matrix\n   rows: 3", "T_00: !!opencv-matrix\n   rows: 1\n   cols: 1\n   dt: d\n   data: [ 1 ]\nX: !!opencv-matrix\n   rows: 3")
        });
        assert!(
            e.contains("extri.yml:") && e.contains("`T_00` is 1×1, expected 3×1"),
            "{e}"
        );

        // Replace the first element of Rot_01 with 2: no longer orthonormal.
        let e = error_after(EXTRI_FILE, |t| {
            let start = t.find("Rot_01:").unwrap();
            let data = start + t[start..].find("data: [").unwrap() + "data: [".len();
            format!(
                "{} 2.0,{}",
                &t[..data],
                &t[data + t[data..].find(',').unwrap() + 1..]
            )
        });
        assert!(e.contains("`Rot_01` is not a rotation matrix"), "{e}");
        assert!(e.contains("extri.yml:"), "{e}");

        let e = error_after(INTRI_FILE, |t| t.replace("   - \"01\"\n", "   - 1\n"));
        assert!(e.contains("`names` entry 2 is an integer"), "{e}");

        let e = error_after(INTRI_FILE, |t| t.replace("H_02: 1080\n", ""));
        assert!(
            e.contains("`H_02` and `W_02` must be given together"),
            "{e}"
        );

        let e = error_after(INTRI_FILE, |t| {
            t.replace(
                "dist_00: !!opencv-matrix\n   rows: 1\n   cols: 5",
                "dist_00: !!opencv-matrix\n   rows: 1\n   cols: 5\n   bad",
            )
        });
        assert!(
            e.contains("intri.yml:") && e.contains("expected `key: value`"),
            "{e}"
        );

        let dir = tempfile::tempdir().unwrap();
        let e = read_calibration(dir.path()).unwrap_err().to_string();
        assert!(
            e.starts_with("cannot read") && e.contains("intri.yml"),
            "{e}"
        );
    }

    #[test]
    fn rejects_distortion_models_we_cannot_apply() {
        let e = error_after(INTRI_FILE, |t| {
            t.replacen(
                "   cols: 5\n   dt: d\n   data: [",
                "   cols: 8\n   dt: d\n   data: [ 0.0, 0.0, 0.5,",
                1,
            )
        });
        assert!(e.contains("`dist_00` uses coefficients beyond k3"), "{e}");
    }

    #[test]
    fn writer_rejects_unusable_names() {
        let dir = tempfile::tempdir().unwrap();
        let mut cams = rig();
        cams[1].name = "cam 1".into();
        let e = write_calibration(dir.path(), &cams).unwrap_err();
        assert!(
            e.to_string().contains("cannot write camera \"cam 1\""),
            "{e}"
        );
        cams[1].name = "00".into();
        let e = write_calibration(dir.path(), &cams).unwrap_err();
        assert!(e.to_string().contains("camera name used twice"), "{e}");
        assert!(!dir.path().join(INTRI_FILE).exists());
    }
}
