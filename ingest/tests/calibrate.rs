//! Calibration on synthetic rigs: board corners projected through known cameras plus noise.
//! Checks the accuracy targets (focal 0.2 %, principal point 1 px, distortion 0.2 px, centres
//! 2 mm, rotations 0.05°, RMS ≤ 0.3 px) and the error paths.

use std::path::Path;

use glam::{DMat3, DVec2, DVec3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use yakumo_core::camera::rodrigues_to_rotation;
use yakumo_core::{Camera, Distortion};
use yakumo_ingest::board::Board;
use yakumo_ingest::calib::{CalibError, CameraViews, LensModel, RigOptions, View, calibrate_rig};

mod common;
use common::Errors;

fn board() -> Board {
    Board::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/boards/charuco-5x7.toml"))
        .unwrap()
}

/// `n` cameras on a ring of radius 1.5 m (a 3 m rig) at alternating heights, looking at the
/// centre, 1280×720.
fn ring(n: usize, dist: Distortion) -> Vec<Camera> {
    (0..n)
        .map(|i| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            let eye = DVec3::new(1.5 * a.cos(), 1.5 * a.sin(), 1.2 + 0.4 * (i % 2) as f64);
            let mut c = Camera::look_at(
                format!("{i:02}"),
                (1280, 720),
                (900.0 + 7.0 * i as f64, 901.0 + 7.0 * i as f64),
                (641.0 - i as f64, 358.5 + 0.5 * i as f64),
                eye,
                DVec3::new(0.0, 0.0, 1.1),
                DVec3::Z,
            );
            c.dist = dist;
            c
        })
        .collect()
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Board poses (board→world) waved around the rig centre, each facing a random camera with up
/// to ~40° of extra tilt; corners every camera sees (front side, inside the image) with
/// Gaussian noise of `sigma` px per axis.
fn observe(
    cams: &[Camera],
    board: &Board,
    frames: usize,
    sigma: f64,
    seed: u64,
) -> Vec<CameraViews> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out: Vec<CameraViews> = cams
        .iter()
        .map(|c| CameraViews {
            name: c.name.clone(),
            width: c.width,
            height: c.height,
            views: Vec::new(),
        })
        .collect();
    let centre = board.size().extend(0.0) / 2.0;
    for f in 0..frames {
        let pos = DVec3::new(
            rng.random_range(-0.8..0.8),
            rng.random_range(-0.8..0.8),
            rng.random_range(0.5..1.7),
        );
        let target = cams[rng.random_range(0..cams.len())].centre();
        // Board z points into the board, so the viewer sits on its −z side.
        let z = (pos - target).normalize();
        let tilt = DVec3::new(
            rng.random_range(-0.7..0.7),
            rng.random_range(-0.7..0.7),
            rng.random_range(-3.2..3.2),
        );
        let x0 = z.cross(DVec3::Z).normalize();
        let y0 = z.cross(x0);
        let r = DMat3::from_cols(x0, y0, z) * rodrigues_to_rotation(tilt);
        let t = pos - r * centre;
        for (c, cam) in cams.iter().enumerate() {
            let facing = (r * DVec3::Z).dot((pos - cam.centre()).normalize());
            if facing < 0.25 {
                continue; // seen from behind or too obliquely
            }
            let corners: Vec<(u32, DVec2)> = board
                .object_points()
                .into_iter()
                .filter_map(|(id, p)| {
                    let px = cam.project(r * p + t)?;
                    let inside = px.x > 5.0
                        && px.y > 5.0
                        && px.x < cam.width as f64 - 6.0
                        && px.y < cam.height as f64 - 6.0;
                    inside.then(|| {
                        (
                            id,
                            px + DVec2::new(normal(&mut rng), normal(&mut rng)) * sigma,
                        )
                    })
                })
                .collect();
            if corners.len() >= 6 {
                out[c].views.push(View {
                    frame: f,
                    corners,
                    simultaneous: true,
                });
            }
        }
    }
    out
}

/// Distance from the true principal point within which 95 % of each camera's corners lie: the
/// distortion curve is compared where the data constrain it.
fn corner_reach(truth: &[Camera], views: &[CameraViews]) -> Vec<f64> {
    truth
        .iter()
        .zip(views)
        .map(|(b, v)| {
            let pp = DVec2::new(b.cx(), b.cy());
            let mut radii: Vec<f64> = v
                .views
                .iter()
                .flat_map(|v| &v.corners)
                .map(|c| (c.1 - pp).length())
                .collect();
            radii.sort_by(f64::total_cmp);
            radii[radii.len() * 95 / 100]
        })
        .collect()
}

fn errors(est: &[Camera], truth: &[Camera], views: &[CameraViews]) -> Errors {
    let reach = corner_reach(truth, views);
    common::errors(est, truth, |c| reach[c])
}

/// Calibrates an 8-camera ring with lens `dist` and checks the targets. Without true
/// distortion the lens model selection keeps none (a free five-coefficient lens used to fit
/// ≈0.3 px of spurious distortion to the noise).
fn check_rig(dist: Distortion, seed: u64) {
    let board = board();
    let truth = ring(8, dist);
    let views = observe(&truth, &board, 480, 0.2, seed);
    let start = std::time::Instant::now();
    let result = calibrate_rig(&board, &views, &RigOptions::default()).unwrap();
    let e = errors(&result.cameras, &truth, &views);
    println!(
        "8 cameras, {} views, {:.2} s: focal {:.4} %, principal {:.3} px, distortion {:.3} px, centres {:.3} mm, rotations {:.4}°, RMS {:.3} px",
        views.iter().map(|v| v.views.len()).sum::<usize>(),
        start.elapsed().as_secs_f64(),
        e.focal_rel * 100.0,
        e.principal_px,
        e.distortion_px,
        e.centre_m * 1000.0,
        e.rotation_deg,
        result.report.rms_px
    );
    assert!(e.focal_rel < 0.002, "focal");
    assert!(e.principal_px < 1.0, "principal point");
    assert!(e.distortion_px < 0.2, "distortion curve");
    assert!(e.centre_m < 0.002, "camera centres");
    assert!(e.rotation_deg < 0.05, "rotations");
    assert!(result.report.rms_px <= 0.3, "RMS");
    assert_eq!(result.report.cameras.len(), 8);
    // World = the first board pose: its origin is the board corner, so a camera centre's
    // distance to it equals the true one.
    let first = result.report.board_poses[0].frame;
    assert_eq!(
        first,
        views
            .iter()
            .filter_map(|v| v.views.first())
            .map(|v| v.frame)
            .min()
            .unwrap()
    );
}

#[test]
fn recovers_an_eight_camera_rig_without_distortion() {
    check_rig(Distortion::NONE, 1);
}

#[test]
fn recovers_an_eight_camera_rig_with_distortion() {
    check_rig(
        Distortion {
            k1: -0.12,
            k2: 0.05,
            p1: 0.0008,
            p2: -0.0005,
            k3: -0.01,
        },
        2,
    );
}

/// A lens with tangential distortion and no `k2`, as the synthetic rig's lenses often have:
/// every camera keeps `p1 p2` although the `k2` step before them gains nothing and each camera's
/// own evidence for them is weak (a selection that stopped at the first richer model that did
/// not pay, judged camera by camera, left them to the principal point of 5 of the 6 cameras,
/// 2.3 px off).
#[test]
fn keeps_tangential_distortion_without_k2() {
    let board = board();
    let truth = ring(
        6,
        Distortion {
            k1: 0.03,
            p1: 0.0006,
            p2: -0.0007,
            ..Distortion::NONE
        },
    );
    let views = observe(&truth, &board, 300, 0.2, 5);
    let result = calibrate_rig(&board, &views, &RigOptions::default()).unwrap();
    let e = errors(&result.cameras, &truth, &views);
    let lenses: Vec<LensModel> = result.report.cameras.iter().map(|c| c.lens).collect();
    println!(
        "lenses {lenses:?}: principal {:.3} px, distortion {:.3} px, rotations {:.4}°",
        e.principal_px, e.distortion_px, e.rotation_deg
    );
    assert!(
        lenses.iter().all(|l| l.estimates(6) && l.estimates(7)),
        "tangential distortion left out: {lenses:?}"
    );
    assert!(e.principal_px < 1.0, "principal point {}", e.principal_px);
    assert!(e.rotation_deg < 0.05, "rotations {}", e.rotation_deg);
    // What this test is about is the model and the principal point; the curve's own spread at
    // this noise is 0.15–0.35 px over seeds 11–15 (2026-12-06), so it is only bounded loosely.
    assert!(
        e.distortion_px < 0.5,
        "distortion curve {}",
        e.distortion_px
    );
}

#[test]
fn rejects_gross_outliers() {
    let board = board();
    let truth = ring(4, Distortion::NONE);
    let mut views = observe(&truth, &board, 80, 0.2, 3);
    let mut planted = 0;
    for cam in &mut views {
        for v in cam.views.iter_mut().step_by(7) {
            v.corners[0].1 += DVec2::new(25.0, -18.0);
            planted += 1;
        }
    }
    let result = calibrate_rig(&board, &views, &RigOptions::default()).unwrap();
    assert!(
        result.report.outliers_rejected >= planted,
        "{} < {planted}",
        result.report.outliers_rejected
    );
    assert!(result.report.rms_px < 0.3);
    assert!(errors(&result.cameras, &truth, &views).centre_m < 0.003);
}

#[test]
fn a_forced_lens_model_is_fitted_for_every_camera() {
    let board = board();
    let truth = ring(
        4,
        Distortion {
            k1: -0.1,
            ..Distortion::NONE
        },
    );
    let views = observe(&truth, &board, 120, 0.2, 4);
    let chosen = calibrate_rig(&board, &views, &RigOptions::default()).unwrap();
    let forced = calibrate_rig(
        &board,
        &views,
        &RigOptions {
            lens: Some(LensModel::Pinhole),
            ..RigOptions::default()
        },
    )
    .unwrap();
    for (cam, report) in forced.cameras.iter().zip(&forced.report.cameras) {
        assert_eq!(report.lens, LensModel::Pinhole, "{}", cam.name);
        assert!(cam.dist.is_none(), "{}: {:?}", cam.name, cam.dist);
    }
    // The evidence keeps k1, and leaving it out shows in the residuals.
    assert!(
        chosen
            .report
            .cameras
            .iter()
            .all(|c| c.lens >= LensModel::Radial1)
    );
    assert!(chosen.report.rms_px < 0.3, "RMS {}", chosen.report.rms_px);
    assert!(forced.report.rms_px > 0.5, "RMS {}", forced.report.rms_px);
}

#[test]
fn names_the_camera_that_never_saw_the_board() {
    let board = board();
    let truth = ring(4, Distortion::NONE);
    let mut views = observe(&truth, &board, 40, 0.2, 4);
    views[2].views.clear();
    let err = calibrate_rig(&board, &views, &RigOptions::default()).unwrap_err();
    assert!(matches!(err, CalibError::NoDetections { .. }));
    assert!(err.to_string().contains("camera 02"), "{err}");
}

#[test]
fn reports_cameras_without_shared_views() {
    let board = board();
    let truth = ring(4, Distortion::NONE);
    let mut views = observe(&truth, &board, 120, 0.2, 5);
    // Camera 03 keeps only frames nobody else saw: move its frames out of the others' range.
    for v in &mut views[3].views {
        v.frame += 10_000;
    }
    let err = calibrate_rig(&board, &views, &RigOptions::default()).unwrap_err();
    match &err {
        CalibError::Disconnected { cameras, .. } => assert_eq!(cameras, &vec!["03".to_string()]),
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn detects_mirrored_images() {
    let board = board();
    let truth = ring(4, Distortion::NONE);
    let mut views = observe(&truth, &board, 60, 0.2, 6);
    for v in &mut views[1].views {
        for c in &mut v.corners {
            c.1.x = 1279.0 - c.1.x;
        }
    }
    let err = calibrate_rig(&board, &views, &RigOptions::default()).unwrap_err();
    assert!(matches!(err, CalibError::Mirrored { .. }), "{err}");
    assert!(err.to_string().contains("camera 01"));
}

/// The size the issue asks for: 60 cameras × 300 board frames (run with `--ignored --release`).
#[test]
#[ignore]
fn sixty_cameras_three_hundred_frames_timing() {
    let board = board();
    let truth = ring(
        60,
        Distortion {
            k1: -0.1,
            k2: 0.03,
            p1: 0.0,
            p2: 0.0,
            k3: 0.0,
        },
    );
    let views = observe(&truth, &board, 300, 0.2, 7);
    let start = std::time::Instant::now();
    let result = calibrate_rig(&board, &views, &RigOptions::default()).unwrap();
    let secs = start.elapsed().as_secs_f64();
    let e = errors(&result.cameras, &truth, &views);
    println!(
        "60 cameras × 300 frames: {} views, {} corners, {} iterations, {:.1} s; centres {:.3} mm, rotations {:.4}°, RMS {:.3} px",
        views.iter().map(|v| v.views.len()).sum::<usize>(),
        result.report.corners_used,
        result.report.iterations,
        secs,
        e.centre_m * 1000.0,
        e.rotation_deg,
        result.report.rms_px
    );
    assert!(secs < 120.0);
    assert!(e.centre_m < 0.002 && e.rotation_deg < 0.05);
}
