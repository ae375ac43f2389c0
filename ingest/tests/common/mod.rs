//! Helpers shared by the calibration tests: running `yakumo-ingest calibrate` on a synthetic
//! capture, and comparing a calibrated rig with the truth.

// Each test binary that includes this module uses a part of it.
#![allow(dead_code)]

use glam::{DMat3, DVec2, DVec3};
use yakumo_core::Camera;

/// Rigid transform (Kabsch) taking the estimated camera centres onto the true ones.
pub fn align(est: &[Camera], truth: &[Camera]) -> (DMat3, DVec3) {
    let n = est.len() as f64;
    let ce = est.iter().map(Camera::centre).sum::<DVec3>() / n;
    let ct = truth.iter().map(Camera::centre).sum::<DVec3>() / n;
    let mut h = nalgebra::Matrix3::<f64>::zeros();
    for (e, t) in est.iter().zip(truth) {
        let (a, b) = (e.centre() - ce, t.centre() - ct);
        h += nalgebra::Vector3::new(b.x, b.y, b.z)
            * nalgebra::Vector3::new(a.x, a.y, a.z).transpose();
    }
    let svd = h.svd(true, true);
    let (u, vt) = (svd.u.unwrap(), svd.v_t.unwrap());
    let mut d = nalgebra::Matrix3::identity();
    d[(2, 2)] = (u * vt).determinant().signum();
    let r = u * d * vt;
    let r = DMat3::from_cols_array(&[
        r[(0, 0)],
        r[(1, 0)],
        r[(2, 0)],
        r[(0, 1)],
        r[(1, 1)],
        r[(2, 1)],
        r[(0, 2)],
        r[(1, 2)],
        r[(2, 2)],
    ]);
    (r, ct - r * ce)
}

/// The largest error over the cameras of each calibrated quantity.
#[derive(Clone, Copy, Debug, Default)]
pub struct Errors {
    /// Relative focal length error (fx and fy).
    pub focal_rel: f64,
    /// Principal point error, pixels.
    pub principal_px: f64,
    /// Largest difference of the lens's displacement field, pixels (see [`errors`]).
    pub distortion_px: f64,
    /// Camera centre error after the best rigid alignment, metres.
    pub centre_m: f64,
    /// Rotation error after that alignment, degrees.
    pub rotation_deg: f64,
}

/// Compares estimated cameras with the truth (same order). The distortion curve, the
/// displacement in pixels that each lens model applies to an ideal image point, is compared on
/// a grid over the image, out to `reach(camera index)` pixels from the true principal point
/// (`f64::INFINITY` for the whole image).
pub fn errors(est: &[Camera], truth: &[Camera], reach: impl Fn(usize) -> f64) -> Errors {
    let (ra, ta) = align(est, truth);
    let mut e = Errors::default();
    for (c, (a, b)) in est.iter().zip(truth).enumerate() {
        let pp = DVec2::new(b.cx(), b.cy());
        e.focal_rel = e
            .focal_rel
            .max((a.fx() / b.fx() - 1.0).abs())
            .max((a.fy() / b.fy() - 1.0).abs());
        e.principal_px = e
            .principal_px
            .max(DVec2::new(a.cx() - b.cx(), a.cy() - b.cy()).length());
        let (w, h) = (b.width as f64 - 1.0, b.height as f64 - 1.0);
        let steps = 24;
        for gy in 0..=steps {
            for gx in 0..=steps {
                let px = DVec2::new(gx as f64 * w, gy as f64 * h) / steps as f64;
                if (px - pp).length() > reach(c) {
                    continue;
                }
                let n = b.dist.undistort(b.pixel_to_normalised(px));
                let shift_true = (b.dist.distort(n) - n) * b.fx();
                let shift_est = (a.dist.distort(n) - n) * a.fx();
                e.distortion_px = e.distortion_px.max((shift_true - shift_est).length());
            }
        }
        e.centre_m = e.centre_m.max((ra * a.centre() + ta - b.centre()).length());
        let r_est_world = a.r * ra.transpose();
        let angle =
            yakumo_core::camera::rotation_to_rodrigues(r_est_world * b.r.transpose()).length();
        e.rotation_deg = e.rotation_deg.max(angle.to_degrees());
    }
    e
}

/// Per camera (the report's order), how far from the true principal point the board was seen,
/// pixels: the `reach` of `calibrate`'s JSON report (a fraction of the distance to the farthest
/// image corner). The lens beyond is extrapolated.
pub fn board_reach_px(report: &serde_json::Value, truth: &[Camera]) -> Vec<f64> {
    let cameras = report["cameras"]
        .as_array()
        .expect("the report lists the cameras");
    assert_eq!(cameras.len(), truth.len());
    cameras
        .iter()
        .zip(truth)
        .map(|(c, cam)| {
            let pp = DVec2::new(cam.cx(), cam.cy());
            let (w, h) = (cam.width as f64 - 1.0, cam.height as f64 - 1.0);
            // The farthest image corner from a principal point inside the image.
            let farthest = pp.x.max(w - pp.x).hypot(pp.y.max(h - pp.y));
            c["reach"].as_f64().expect("each camera's reach") * farthest
        })
        .collect()
}

/// Runs `yakumo-ingest calibrate --json` on the board videos of the synthetic capture in `dir`
/// (`dir/calib`), writing to `out`; returns the JSON report and the seconds it took.
pub fn calibrate_board_videos(
    dir: &std::path::Path,
    out: &std::path::Path,
) -> (serde_json::Value, f64) {
    let t = std::time::Instant::now();
    let report = run_calibrate(&[
        "--board".as_ref(),
        dir.join("calib/board.toml").as_os_str(),
        "--input".as_ref(),
        dir.join("calib").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    (report, t.elapsed().as_secs_f64())
}

/// Runs `yakumo-ingest calibrate ARGS` (logging errors only).
fn calibrate_output(args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_yakumo-ingest"))
        .arg("calibrate")
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run yakumo-ingest calibrate")
}

/// Runs `yakumo-ingest calibrate --json ARGS`, asserts that it succeeds, and returns the report
/// it prints.
pub fn run_calibrate(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let output = calibrate_output(&[&["--json".as_ref()], args].concat());
    assert!(
        output.status.success(),
        "calibrate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("calibrate --json prints the report")
}

/// Runs `yakumo-ingest calibrate ARGS`, asserts that it fails, and returns what it printed on
/// standard error.
pub fn calibrate_error(args: &[&std::ffi::OsStr]) -> String {
    let output = calibrate_output(args);
    assert!(!output.status.success(), "calibrate succeeded on bad input");
    String::from_utf8_lossy(&output.stderr).into_owned()
}
