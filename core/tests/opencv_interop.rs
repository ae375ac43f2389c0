//! Real OpenCV (Python `cv2.FileStorage`) reads the calibration files we write, and we read the
//! files OpenCV writes. The OpenCV side lives in `opencv_interop.py` beside this file.
//!
//! Needs `python3` with OpenCV (`apt-get install python3-opencv`); set `YAKUMO_SKIP_OPENCV=1` to
//! skip these tests on machines without it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use glam::{DMat3, DVec3};
use yakumo_core::calib::{read_calibration, write_calibration};
use yakumo_core::camera::rotation_to_rodrigues;
use yakumo_core::{Camera, Distortion};

/// One node as printed by `opencv_interop.py`.
#[derive(Debug, PartialEq)]
enum Node {
    Seq(Vec<String>),
    Int(i64),
    Mat {
        rows: usize,
        cols: usize,
        data: Vec<f64>,
    },
}

/// The Python interpreter that can `import cv2`, or `None` when skipping is allowed.
fn python_with_opencv() -> Option<&'static str> {
    static PYTHON: OnceLock<Option<&'static str>> = OnceLock::new();
    *PYTHON.get_or_init(find_python_with_opencv)
}

fn find_python_with_opencv() -> Option<&'static str> {
    let candidates = ["/usr/bin/python3", "python3", "python"];
    let works = |py: &str| {
        Command::new(py)
            .args(["-c", "import cv2"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Some(py) = candidates.into_iter().find(|py| works(py)) {
        return Some(py);
    }
    if std::env::var("YAKUMO_SKIP_OPENCV").as_deref() == Ok("1") {
        eprintln!("SKIPPED: no python3 with OpenCV (YAKUMO_SKIP_OPENCV=1)");
        return None;
    }
    panic!(
        "no python3 with OpenCV found (tried {candidates:?}): install it with \
         `apt-get install python3-opencv`, or set YAKUMO_SKIP_OPENCV=1 to skip this test"
    );
}

/// Runs the helper script and parses its output into `key → node` (Rodrigues checks under
/// `RODRIGUES_<cam>`).
fn run_script(py: &str, mode: &str, arg: &Path) -> BTreeMap<String, Node> {
    // Read at run time (cargo and nextest set it): a binary cached from a checkout elsewhere
    // would otherwise look for the script in that checkout.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let script = manifest_dir.join("tests/opencv_interop.py");
    let out = Command::new(py)
        .arg(&script)
        .arg(mode)
        .arg(arg)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "opencv_interop.py {mode} failed:\n{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut nodes = BTreeMap::new();
    for line in stdout.lines() {
        let mut words = line.split(' ');
        let (kind, key) = (words.next().unwrap(), words.next().unwrap());
        let rest: Vec<&str> = words.collect();
        let reals = |w: &[&str]| {
            w.iter()
                .map(|v| v.parse::<f64>().unwrap())
                .collect::<Vec<_>>()
        };
        let (key, node) = match kind {
            "SEQ" => (
                key.to_string(),
                Node::Seq(rest.iter().map(|s| s.to_string()).collect()),
            ),
            "INT" => (key.to_string(), Node::Int(rest[0].parse().unwrap())),
            "MAT" => {
                let (rows, cols) = (rest[0].parse().unwrap(), rest[1].parse().unwrap());
                (
                    key.to_string(),
                    Node::Mat {
                        rows,
                        cols,
                        data: reals(&rest[2..]),
                    },
                )
            }
            "RODRIGUES" => (
                format!("RODRIGUES_{key}"),
                Node::Mat {
                    rows: 3,
                    cols: 3,
                    data: reals(&rest),
                },
            ),
            other => panic!("unexpected line kind {other} in {line:?}"),
        };
        assert!(
            nodes.insert(key, node).is_none(),
            "key printed twice: {line}"
        );
    }
    nodes
}

fn rows(m: DMat3) -> Vec<f64> {
    m.transpose().to_cols_array().to_vec()
}

#[track_caller]
fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-12 * w.abs().max(1.0),
            "{what}: got {got:?}, want {want:?}"
        );
    }
}

#[track_caller]
fn assert_matrix(nodes: &BTreeMap<String, Node>, key: &str, shape: (usize, usize), want: &[f64]) {
    match nodes.get(key) {
        Some(Node::Mat { rows, cols, data }) => {
            assert_eq!((*rows, *cols), shape, "{key}: shape");
            assert_close(key, data, want);
        }
        other => panic!("{key}: expected a matrix, OpenCV read {other:?}"),
    }
}

fn our_cameras() -> Vec<Camera> {
    ["00", "01", "cam-2"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let f = i as f64;
            let angle = 0.7 + 2.2 * f;
            let mut c = Camera::look_at(
                *name,
                (1920 + 2 * i as u32, 1080 - i as u32),
                (1402.7 + f / 3.0, 1399.9 - f / 7.0),
                (955.123456789 + f, 541.3 - f / 13.0),
                DVec3::new(3.1 * angle.cos(), 2.9 * angle.sin(), 1.2 + f / 9.0),
                DVec3::new(0.01, -0.02, 0.95),
                DVec3::Z,
            );
            c.k.y_axis.x = 0.1 * f; // skew
            c.dist = Distortion {
                k1: -0.21 / 3.0,
                k2: 0.051 + f / 1e3,
                p1: 1.1e-4,
                p2: -3.3e-4,
                k3: 7e-3 * f,
            };
            c
        })
        .collect()
}

#[test]
fn opencv_reads_our_calibration() {
    let Some(py) = python_with_opencv() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cams = our_cameras();
    write_calibration(dir.path(), &cams).unwrap();

    let intri = run_script(py, "dump", &dir.path().join("intri.yml"));
    let extri = run_script(py, "dump", &dir.path().join("extri.yml"));
    let names = Node::Seq(cams.iter().map(|c| c.name.clone()).collect());
    assert_eq!(intri.get("names"), Some(&names));
    assert_eq!(extri.get("names"), Some(&names));
    for c in &cams {
        let n = &c.name;
        assert_matrix(&intri, &format!("K_{n}"), (3, 3), &rows(c.k));
        assert_matrix(&intri, &format!("dist_{n}"), (1, 5), &c.dist.to_array());
        assert_eq!(
            intri.get(&format!("H_{n}")),
            Some(&Node::Int(c.height.into()))
        );
        assert_eq!(
            intri.get(&format!("W_{n}")),
            Some(&Node::Int(c.width.into()))
        );
        assert_matrix(
            &extri,
            &format!("R_{n}"),
            (3, 1),
            &rotation_to_rodrigues(c.r).to_array(),
        );
        assert_matrix(&extri, &format!("Rot_{n}"), (3, 3), &rows(c.r));
        assert_matrix(&extri, &format!("T_{n}"), (3, 1), &c.t.to_array());
        // OpenCV's own Rodrigues of the vector we wrote gives back our rotation.
        assert_matrix(&extri, &format!("RODRIGUES_{n}"), (3, 3), &rows(c.r));
    }
    assert_eq!(
        intri.len(),
        1 + 4 * cams.len(),
        "unexpected extra nodes: {intri:?}"
    );
    assert_eq!(
        extri.len(),
        1 + 4 * cams.len(),
        "unexpected extra nodes: {extri:?}"
    );
}

#[test]
fn we_read_opencv_calibration() {
    let Some(py) = python_with_opencv() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let written = run_script(py, "write", dir.path());
    let cams = read_calibration(dir.path()).unwrap();

    let Some(Node::Seq(names)) = written.get("names") else {
        panic!("no names: {written:?}")
    };
    let got: Vec<&str> = cams.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(got, names.iter().map(String::as_str).collect::<Vec<_>>());
    for c in &cams {
        let n = &c.name;
        let dist_key = if n == "01" {
            format!("D_{n}")
        } else {
            format!("dist_{n}")
        };
        let dist_shape = if n == "01" { (5, 1) } else { (1, 5) };
        let rot_key = if n == "01" {
            format!("RODRIGUES_{n}")
        } else {
            format!("Rot_{n}")
        };
        assert_matrix(&written, &format!("K_{n}"), (3, 3), &rows(c.k));
        assert_matrix(&written, &dist_key, dist_shape, &c.dist.to_array());
        assert_matrix(&written, &rot_key, (3, 3), &rows(c.r));
        assert_matrix(&written, &format!("T_{n}"), (3, 1), &c.t.to_array());
        let size = match (
            written.get(&format!("W_{n}")),
            written.get(&format!("H_{n}")),
        ) {
            (Some(Node::Int(w)), Some(Node::Int(h))) => (*w as u32, *h as u32),
            _ => (0, 0),
        };
        assert_eq!((c.width, c.height), size, "camera {n}");
    }
    assert_eq!(cams[2].width, 0, "camera without H_/W_ has unknown size");
}
