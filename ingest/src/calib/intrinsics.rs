//! One camera's intrinsics from its board views: Zhang's closed form, then Levenberg–Marquardt
//! over `fx fy cx cy k1 k2 p1 p2 k3` and every board pose, with a Huber loss and outlier
//! rejection; finally the lens model (which distortion coefficients to estimate) chosen by the
//! evidence of the residuals.

use glam::{DMat3, DVec2, DVec3};

use super::bundle::{BaCamera, BaObservation, BundleProblem, SolveOptions};
use super::error::CalibError;
use super::lens::select_lens;
use super::noise::weigh_views;
use super::pose::Pose;
use super::projection::{Intrinsics, LensModel};
use super::views::{CameraViews, View};
use super::zhang::{homography, plausible_k, pose_from_homography, zhang_intrinsics};
use crate::board::Board;

/// Views need at least this many corners to count.
pub const MIN_CORNERS: usize = 6;
/// A camera needs at least this many views.
pub const MIN_VIEWS: usize = 4;

/// A camera's calibrated intrinsics with its board poses.
#[derive(Clone, Debug)]
pub struct IntrinsicCalibration {
    /// The intrinsics.
    pub intrinsics: Intrinsics,
    /// The lens coefficients this camera's views support (see [`select_lens`]), or those of the
    /// given intrinsics.
    pub lens: LensModel,
    /// Board→camera pose per used view, with the view's frame index, frames ascending.
    pub poses: Vec<(usize, Pose)>,
    /// The views that were used (outlier corners removed), aligned with `poses`.
    pub views: Vec<View>,
    /// Reprojection RMS over the used corners, pixels.
    pub rms: f64,
    /// Corners rejected as outliers.
    pub rejected_corners: usize,
    /// Frames of views rejected as a whole.
    pub rejected_views: Vec<usize>,
}

/// Calibrates one camera's intrinsics from its views, with lens model `lens` (chosen by the
/// evidence when `None`, see [`select_lens`]).
pub fn calibrate_intrinsics(
    board: &Board,
    cam: &CameraViews,
    lens: Option<LensModel>,
) -> Result<IntrinsicCalibration, CalibError> {
    let views = usable_views(cam)?;
    check_not_mirrored(board, cam, &views)?;
    // Initialise from the fuller views: homographies of a few corners near one edge are poor.
    let init_min = (board.corner_count() / 2).max(MIN_CORNERS);
    let homographies: Vec<(usize, DMat3)> = views
        .iter()
        .enumerate()
        .filter(|(_, v)| v.corners.len() >= init_min)
        .filter_map(|(i, v)| {
            let (plane, image) = plane_and_image(board, v);
            homography(&plane, &image).map(|h| (i, h))
        })
        .collect();
    let hs: Vec<DMat3> = homographies.iter().map(|(_, h)| *h).collect();
    let k = zhang_intrinsics(&hs, cam.width, cam.height)
        .filter(|k| plausible_k(*k, cam.width, cam.height))
        .or_else(|| centred_focal(&hs, cam.width, cam.height))
        .ok_or_else(|| CalibError::Degenerate {
            camera: cam.name.clone(),
        })?;
    let kinv = k.inverse();
    let mut poses = Vec::new();
    let mut kept = Vec::new();
    for v in &views {
        let (plane, image) = plane_and_image(board, v);
        if let Some(p) = homography(&plane, &image).and_then(|h| pose_from_homography(kinv * h)) {
            poses.push(p);
            kept.push(v.clone());
        }
    }
    if kept.len() < MIN_VIEWS {
        return Err(CalibError::TooFewViews {
            camera: cam.name.clone(),
            found: kept.len(),
            needed: MIN_VIEWS,
        });
    }
    let intr = Intrinsics::from_k(k, yakumo_core::Distortion::NONE);
    refine(board, cam, intr, Refine::Estimate(lens), kept, poses)
}

/// Board poses for every usable view of a camera whose intrinsics are known (`--fix-intrinsics`).
pub fn poses_with_known_intrinsics(
    board: &Board,
    cam: &CameraViews,
    intr: Intrinsics,
) -> Result<IntrinsicCalibration, CalibError> {
    let views = usable_views(cam)?;
    check_not_mirrored(board, cam, &views)?;
    let mut poses = Vec::new();
    let mut kept = Vec::new();
    for v in views {
        let (plane, image) = plane_and_image(board, &v);
        let normalised: Vec<DVec2> = image.iter().map(|p| intr.normalise(*p)).collect();
        if let Some(p) = homography(&plane, &normalised).and_then(pose_from_homography) {
            poses.push(p);
            kept.push(v);
        }
    }
    if kept.is_empty() {
        return Err(CalibError::TooFewViews {
            camera: cam.name.clone(),
            found: 0,
            needed: 1,
        });
    }
    refine(board, cam, intr, Refine::Fixed, kept, poses)
}

fn usable_views(cam: &CameraViews) -> Result<Vec<View>, CalibError> {
    if cam.views.is_empty() {
        return Err(CalibError::NoDetections {
            camera: cam.name.clone(),
        });
    }
    let views: Vec<View> = cam
        .views
        .iter()
        .filter(|v| v.corners.len() >= MIN_CORNERS)
        .cloned()
        .collect();
    if views.len() < MIN_VIEWS {
        return Err(CalibError::TooFewViews {
            camera: cam.name.clone(),
            found: views.len(),
            needed: MIN_VIEWS,
        });
    }
    Ok(views)
}

/// Board-plane coordinates and pixels of a view's corners.
fn plane_and_image(board: &Board, v: &View) -> (Vec<DVec2>, Vec<DVec2>) {
    v.corners
        .iter()
        .map(|(id, px)| (board.corner(*id).truncate(), *px))
        .unzip()
}

/// Seen from the front, the board's x and y axes turn the same way as the image axes. When most
/// views say otherwise the images are mirrored.
fn check_not_mirrored(board: &Board, cam: &CameraViews, views: &[View]) -> Result<(), CalibError> {
    let mut mirrored = 0;
    let mut total = 0;
    for v in views {
        let (plane, image) = plane_and_image(board, v);
        let Some(h) = homography(&plane, &image) else {
            continue;
        };
        // Jacobian of the homography at the centroid of the plane points.
        let c = plane.iter().copied().sum::<DVec2>() / plane.len() as f64;
        let map = |p: DVec2| {
            let q = h * DVec3::new(p.x, p.y, 1.0);
            DVec2::new(q.x / q.z, q.y / q.z)
        };
        let eps = 1e-3;
        let dx = map(c + DVec2::X * eps) - map(c);
        let dy = map(c + DVec2::Y * eps) - map(c);
        total += 1;
        if dx.perp_dot(dy) < 0.0 {
            mirrored += 1;
        }
    }
    if total > 0 && mirrored * 2 > total {
        return Err(CalibError::Mirrored {
            camera: cam.name.clone(),
            mirrored,
            total,
        });
    }
    Ok(())
}

/// Focal length alone, with the principal point at the image centre and square pixels: the
/// fallback when Zhang's five-parameter solution is not plausible (few or weakly tilted views).
fn centred_focal(hs: &[DMat3], width: u32, height: u32) -> Option<DMat3> {
    let (cx, cy) = ((width as f64 - 1.0) / 2.0, (height as f64 - 1.0) / 2.0);
    let shift = DMat3::from_cols(DVec3::X, DVec3::Y, DVec3::new(-cx, -cy, 1.0));
    // With ω = diag(w, w, 1), w = 1/f²: h1ᵀωh2 = 0 and h1ᵀωh1 = h2ᵀωh2, linear in w.
    let (mut num, mut den) = (0.0, 0.0);
    for h in hs {
        let h = shift * *h;
        let (a, b) = (h.x_axis, h.y_axis);
        let rows = [
            (a.x * b.x + a.y * b.y, -a.z * b.z),
            (
                a.x * a.x + a.y * a.y - b.x * b.x - b.y * b.y,
                b.z * b.z - a.z * a.z,
            ),
        ];
        for (coef, rhs) in rows {
            num += coef * rhs;
            den += coef * coef;
        }
    }
    let w = num / den;
    if w.is_nan() || w <= 0.0 {
        return None;
    }
    let f = 1.0 / w.sqrt();
    let k = yakumo_core::camera::intrinsic_matrix(f, f, cx, cy);
    plausible_k(k, width, height).then_some(k)
}

/// What [`refine`] does with the intrinsics.
#[derive(Clone, Copy)]
enum Refine {
    /// Keeps them as given.
    Fixed,
    /// Estimates them with this lens model, or the one the evidence chooses.
    Estimate(Option<LensModel>),
}

/// LM over intrinsics (unless fixed) and board poses; rejects outliers and re-solves.
fn refine(
    board: &Board,
    cam: &CameraViews,
    intr: Intrinsics,
    what: Refine,
    mut views: Vec<View>,
    poses: Vec<Pose>,
) -> Result<IntrinsicCalibration, CalibError> {
    let fix_intrinsics = matches!(what, Refine::Fixed);
    let mut problem = BundleProblem {
        cameras: vec![BaCamera {
            intrinsics: intr,
            pose: Pose::IDENTITY,
            fix_pose: true,
            fix_intrinsics,
            lens: LensModel::Full,
        }],
        boards: poses,
        observations: Vec::new(),
    };
    let mut rejected_corners = 0;
    let mut rejected_views = Vec::new();
    for round in 0..3 {
        problem.observations = observations(board, &views);
        problem.solve(SolveOptions::default());
        let errors = problem.errors();
        let limit = outlier_limit(&errors);
        // Whole views far off (a wrong detection: most of its corners off) go first; then
        // single corners.
        let mut keep_views = vec![true; views.len()];
        let mut offset = 0;
        let mut changed = false;
        for (vi, v) in views.iter_mut().enumerate() {
            let e = &errors[offset..offset + v.corners.len()];
            offset += v.corners.len();
            let mut sorted = e.to_vec();
            sorted.sort_by(f64::total_cmp);
            let before = v.corners.len();
            if sorted[sorted.len() / 2] > limit {
                keep_views[vi] = false;
            } else {
                let mut k = 0;
                v.corners.retain(|_| {
                    k += 1;
                    e[k - 1] <= limit
                });
                rejected_corners += before - v.corners.len();
                keep_views[vi] = v.corners.len() >= MIN_CORNERS;
            }
            changed |= before != v.corners.len() || !keep_views[vi];
        }
        for (v, keep) in views.iter().zip(&keep_views) {
            if !keep {
                rejected_views.push(v.frame);
            }
        }
        let mut it = keep_views.iter();
        views.retain(|_| *it.next().expect("aligned"));
        let mut it = keep_views.iter();
        problem.boards.retain(|_| *it.next().expect("aligned"));
        if !changed || round == 2 {
            break;
        }
    }
    if views.len() < MIN_VIEWS && !fix_intrinsics {
        return Err(CalibError::TooFewViews {
            camera: cam.name.clone(),
            found: views.len(),
            needed: MIN_VIEWS,
        });
    }
    problem.observations = observations(board, &views);
    let lens = match what {
        Refine::Fixed => {
            problem.solve(SolveOptions::default());
            LensModel::of(&intr)
        }
        Refine::Estimate(Some(model)) => {
            let cam = &mut problem.cameras[0];
            (cam.lens, cam.intrinsics) = (model, model.restrict(cam.intrinsics));
            problem.solve(SolveOptions::default());
            model
        }
        Refine::Estimate(None) => select_lens(&mut problem),
    };
    // With the model chosen, sharp views count more than blurred ones.
    weigh_views(&mut problem);
    problem.solve(SolveOptions::default());
    Ok(IntrinsicCalibration {
        intrinsics: problem.cameras[0].intrinsics,
        lens,
        poses: views
            .iter()
            .map(|v| v.frame)
            .zip(problem.boards.iter().copied())
            .collect(),
        rms: problem.rms(),
        views,
        rejected_corners,
        rejected_views,
    })
}

fn observations(board: &Board, views: &[View]) -> Vec<BaObservation> {
    views
        .iter()
        .enumerate()
        .flat_map(|(b, v)| {
            v.corners.iter().map(move |(id, px)| BaObservation {
                camera: 0,
                board: b,
                point: board.corner(*id),
                pixel: *px,
                weight: 1.0,
            })
        })
        .collect()
}

/// Error length beyond which a corner is an outlier: 5 σ of the inliers' noise (estimated from
/// the median error, which is 1.18 σ for 2-D Gaussian noise), and never below 1 px.
pub fn outlier_limit(errors: &[f64]) -> f64 {
    if errors.is_empty() {
        return f64::INFINITY;
    }
    let mut e = errors.to_vec();
    let mid = e.len() / 2;
    let (_, median, _) = e.select_nth_unstable_by(mid, f64::total_cmp);
    (5.0 * *median / 1.1774).max(1.0)
}
