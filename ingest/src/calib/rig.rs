//! Whole-rig calibration: intrinsics and lens model per camera, the camera graph, then one
//! bundle adjustment over every camera and board pose (with richer lens models where the rig's
//! evidence supports them); finally the world frame.

use std::collections::{BTreeMap, HashMap};

use glam::{DMat3, DVec2, DVec3};
use rayon::prelude::*;
use yakumo_core::Camera;

use super::bundle::{BaCamera, BaObservation, BundleProblem, SolveOptions};
use super::error::CalibError;
use super::graph::{PosesByFrame, initial_board_poses, initial_camera_poses};
use super::intrinsics::{
    IntrinsicCalibration, calibrate_intrinsics, outlier_limit, poses_with_known_intrinsics,
};
use super::lens::{RigViews, enrich_lenses};
use super::noise::weigh_views;
use super::pose::Pose;
use super::projection::{Intrinsics, LensModel};
use super::report::{BoardPoseReport, CalibrationReport, CameraReport, reach};
use super::views::{CameraViews, View};
use crate::board::Board;

/// Which frame becomes the world.
#[derive(Clone, Debug, PartialEq)]
pub enum WorldFrame {
    /// The board's pose in the earliest frame in which any camera saw it (metres, board axes).
    FirstBoard,
    /// The named camera's frame.
    Camera(String),
}

/// How to calibrate.
#[derive(Clone, Debug)]
pub struct RigOptions {
    /// Stop after the intrinsics (poses are left at the identity).
    pub intrinsics_only: bool,
    /// Known intrinsics by camera name; these are kept fixed.
    pub fixed_intrinsics: HashMap<String, Intrinsics>,
    /// The world frame.
    pub world: WorldFrame,
    /// World axis that should point up (along the cameras' mean up direction), if any.
    pub up: Option<DVec3>,
    /// Lens model of every camera whose intrinsics are estimated; `None` chooses each camera's
    /// by the evidence (see [`super::lens`]).
    pub lens: Option<LensModel>,
}

impl Default for RigOptions {
    fn default() -> Self {
        RigOptions {
            intrinsics_only: false,
            fixed_intrinsics: HashMap::new(),
            world: WorldFrame::FirstBoard,
            up: None,
            lens: None,
        }
    }
}

/// Calibrated cameras and the report.
#[derive(Clone, Debug)]
pub struct RigCalibration {
    /// Cameras in input order (world→camera poses in metres).
    pub cameras: Vec<Camera>,
    /// What happened.
    pub report: CalibrationReport,
}

/// Calibrates every camera of a rig from its board views.
pub fn calibrate_rig(
    board: &Board,
    inputs: &[CameraViews],
    opts: &RigOptions,
) -> Result<RigCalibration, CalibError> {
    let intrinsic: Vec<IntrinsicCalibration> = inputs
        .par_iter()
        .map(|cam| match opts.fixed_intrinsics.get(&cam.name) {
            Some(intr) => poses_with_known_intrinsics(board, cam, *intr),
            None => calibrate_intrinsics(board, cam, opts.lens),
        })
        .collect::<Result<_, _>>()?;
    if opts.intrinsics_only {
        return Ok(intrinsics_only_result(board, inputs, &intrinsic));
    }

    let root = match &opts.world {
        WorldFrame::Camera(name) => inputs
            .iter()
            .position(|c| &c.name == name)
            .ok_or_else(|| CalibError::UnknownCamera(name.clone()))?,
        WorldFrame::FirstBoard => most_connected(&intrinsic),
    };
    // The extrinsics combine only views simultaneous with the other cameras'.
    let poses: PosesByFrame = intrinsic
        .iter()
        .map(|ic| rig_views(ic).map(|(v, p)| (v.frame, *p)).collect())
        .collect();
    let cameras = initial_camera_poses(&poses, root);
    let missing: Vec<String> = cameras
        .iter()
        .zip(inputs)
        .filter(|(p, _)| p.is_none())
        .map(|(_, c)| c.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(CalibError::Disconnected {
            cameras: missing,
            reference: inputs[root].name.clone(),
        });
    }
    let counts: Vec<HashMap<usize, usize>> = intrinsic
        .iter()
        .map(|ic| {
            rig_views(ic)
                .map(|(v, _)| (v.frame, v.corners.len()))
                .collect()
        })
        .collect();
    let boards = initial_board_poses(&poses, &counts, &cameras);

    let frame_index: BTreeMap<usize, usize> =
        boards.keys().enumerate().map(|(i, f)| (*f, i)).collect();
    let mut problem = BundleProblem {
        cameras: intrinsic
            .iter()
            .zip(&cameras)
            .zip(inputs)
            .enumerate()
            .map(|(c, ((ic, pose), input))| BaCamera {
                intrinsics: ic.intrinsics,
                pose: pose.expect("all cameras placed"),
                fix_pose: c == root,
                fix_intrinsics: opts.fixed_intrinsics.contains_key(&input.name),
                lens: ic.lens,
            })
            .collect(),
        boards: boards.values().copied().collect(),
        observations: Vec::new(),
    };
    // Observation list and, for the report, which frame each belongs to.
    let mut frames_of = Vec::new();
    for (c, ic) in intrinsic.iter().enumerate() {
        for (v, _) in rig_views(ic) {
            for (id, px) in &v.corners {
                problem.observations.push(BaObservation {
                    camera: c,
                    board: frame_index[&v.frame],
                    point: board.corner(*id),
                    pixel: *px,
                    weight: 1.0,
                });
                frames_of.push(v.frame);
            }
        }
    }
    let mut summary = problem.solve(SolveOptions::default());
    let limit = outlier_limit(&problem.errors());
    let errors = problem.errors();
    let before = problem.observations.len();
    let mut rejected_per_camera = vec![0usize; inputs.len()];
    let mut k = 0;
    problem.observations.retain(|o| {
        k += 1;
        let keep = errors[k - 1] <= limit;
        if !keep {
            rejected_per_camera[o.camera] += 1;
        }
        keep
    });
    let mut k = 0;
    frames_of.retain(|_| {
        k += 1;
        errors[k - 1] <= limit
    });
    if problem.observations.len() != before {
        let again = problem.solve(SolveOptions::default());
        summary.iterations += again.iterations;
    }
    // Richer lens models where the rig's evidence, stronger than each camera's, supports them.
    if opts.lens.is_none() {
        summary.iterations += enrich_lenses(&mut problem, rig_views_kind(&intrinsic));
    }
    // Sharp views count more than blurred ones (weights from the residuals at this solution).
    let (lightest, heaviest) = weigh_views(&mut problem);
    tracing::debug!("view weights from {lightest:.3} to {heaviest:.2}");
    summary.iterations += problem.solve(SolveOptions::default()).iterations;

    let to_world = world_transform(&problem, &opts.world, root);
    let mut world_poses: Vec<Pose> = problem
        .cameras
        .iter()
        .map(|c| c.pose.compose(&to_world.inverse()))
        .collect();
    if let Some(axis) = opts.up {
        align_up(&mut world_poses, axis);
    }
    let out_cameras = inputs
        .iter()
        .zip(&problem.cameras)
        .zip(&world_poses)
        .map(|((input, ba), pose)| make_camera(input, &ba.intrinsics, pose))
        .collect();

    let errors = problem.errors();
    let report = rig_report(
        board,
        inputs,
        &intrinsic,
        &problem,
        &errors,
        &frames_of,
        &rejected_per_camera,
        root,
        summary.iterations,
    );
    Ok(RigCalibration {
        cameras: out_cameras,
        report,
    })
}

/// A camera's views that the extrinsics may combine with other cameras' (see
/// [`super::views::View::simultaneous`]), with their board poses.
fn rig_views(ic: &IntrinsicCalibration) -> impl Iterator<Item = (&View, &Pose)> {
    ic.views
        .iter()
        .zip(ic.poses.iter().map(|(_, p)| p))
        .filter(|(v, _)| v.simultaneous)
}

/// Whether the rig's board poses come from every view or only from views in which the board
/// stood still (cameras not frame-synchronous).
fn rig_views_kind(intrinsic: &[IntrinsicCalibration]) -> RigViews {
    if intrinsic
        .iter()
        .all(|ic| ic.views.iter().all(|v| v.simultaneous))
    {
        RigViews::Synchronous
    } else {
        RigViews::StillOnly
    }
}

/// The camera sharing the most frames with the others.
fn most_connected(intrinsic: &[IntrinsicCalibration]) -> usize {
    let mut seen: HashMap<usize, usize> = HashMap::new();
    for ic in intrinsic {
        for (v, _) in rig_views(ic) {
            *seen.entry(v.frame).or_default() += 1;
        }
    }
    let score = |ic: &IntrinsicCalibration| {
        rig_views(ic)
            .map(|(v, _)| seen[&v.frame] - 1)
            .sum::<usize>()
    };
    (0..intrinsic.len())
        .max_by_key(|&c| (score(&intrinsic[c]), std::cmp::Reverse(c)))
        .unwrap_or(0)
}

/// Pose mapping the solver's world (the root camera's frame) to the chosen world frame.
fn world_transform(problem: &BundleProblem, world: &WorldFrame, root: usize) -> Pose {
    match world {
        WorldFrame::Camera(_) => problem.cameras[root].pose,
        // Boards are ordered by frame: the first is the earliest board pose.
        WorldFrame::FirstBoard => problem.boards.first().map_or(Pose::IDENTITY, Pose::inverse),
    }
}

/// Rotates the world about its origin so that `axis` points along the cameras' mean up direction.
fn align_up(poses: &mut [Pose], axis: DVec3) {
    let up = poses
        .iter()
        .map(|p| p.r.transpose() * DVec3::NEG_Y)
        .sum::<DVec3>();
    if up.length() < 1e-9 {
        return;
    }
    let q = glam::DQuat::from_rotation_arc(up.normalize(), axis.normalize());
    let rot = DMat3::from_quat(q);
    let m = Pose {
        r: rot,
        t: DVec3::ZERO,
    };
    for p in poses.iter_mut() {
        *p = p.compose(&m.inverse());
    }
}

fn make_camera(input: &CameraViews, intr: &Intrinsics, pose: &Pose) -> Camera {
    Camera {
        name: input.name.clone(),
        width: input.width,
        height: input.height,
        k: intr.k(),
        dist: intr.distortion(),
        r: pose.r,
        t: pose.t,
    }
}

/// [`CameraReport::reach`] of a camera's used views.
fn camera_reach(input: &CameraViews, intrinsics: &Intrinsics, views: &[View]) -> f64 {
    let principal = DVec2::new(intrinsics.0[2], intrinsics.0[3]);
    let corners = views.iter().flat_map(|v| v.corners.iter().map(|c| c.1));
    reach(input.width, input.height, principal, corners)
}

fn intrinsics_only_result(
    board: &Board,
    inputs: &[CameraViews],
    intrinsic: &[IntrinsicCalibration],
) -> RigCalibration {
    let cameras = inputs
        .iter()
        .zip(intrinsic)
        .map(|(input, ic)| make_camera(input, &ic.intrinsics, &Pose::IDENTITY))
        .collect();
    let camera_reports: Vec<CameraReport> = inputs
        .iter()
        .zip(intrinsic)
        .map(|(input, ic)| CameraReport {
            name: input.name.clone(),
            views_detected: input.views.len(),
            views_used: ic.views.len(),
            views_simultaneous: 0,
            rms_px: ic.rms,
            lens: ic.lens,
            rejected_corners: ic.rejected_corners,
            rejected_frames: ic.rejected_views.clone(),
            reach: camera_reach(input, &ic.intrinsics, &ic.views),
        })
        .collect();
    let corners: usize = intrinsic
        .iter()
        .flat_map(|ic| &ic.views)
        .map(|v| v.corners.len())
        .sum();
    let sq: f64 = intrinsic
        .iter()
        .map(|ic| ic.rms * ic.rms * ic.views.iter().map(|v| v.corners.len()).sum::<usize>() as f64)
        .sum();
    RigCalibration {
        cameras,
        report: CalibrationReport {
            board: board.name.clone(),
            intrinsics_only: true,
            reference_camera: String::new(),
            rms_px: if corners > 0 {
                (sq / corners as f64).sqrt()
            } else {
                0.0
            },
            corners_used: corners,
            outliers_rejected: intrinsic.iter().map(|ic| ic.rejected_corners).sum(),
            iterations: 0,
            cameras: camera_reports,
            board_poses: Vec::new(),
            sync: None,
        },
    }
}

#[allow(clippy::too_many_arguments)]
fn rig_report(
    board: &Board,
    inputs: &[CameraViews],
    intrinsic: &[IntrinsicCalibration],
    problem: &BundleProblem,
    errors: &[f64],
    frames_of: &[usize],
    rejected_per_camera: &[usize],
    root: usize,
    iterations: usize,
) -> CalibrationReport {
    let mut per_cam = vec![(0usize, 0.0f64); inputs.len()];
    let mut per_frame: BTreeMap<usize, (Vec<usize>, usize, f64)> = BTreeMap::new();
    for ((o, e), f) in problem.observations.iter().zip(errors).zip(frames_of) {
        per_cam[o.camera].0 += 1;
        per_cam[o.camera].1 += e * e;
        let entry = per_frame.entry(*f).or_default();
        if !entry.0.contains(&o.camera) {
            entry.0.push(o.camera);
        }
        entry.1 += 1;
        entry.2 += e * e;
    }
    let rms = |(n, s): (usize, f64)| if n > 0 { (s / n as f64).sqrt() } else { 0.0 };
    let cameras = inputs
        .iter()
        .enumerate()
        .map(|(c, input)| CameraReport {
            name: input.name.clone(),
            views_detected: input.views.len(),
            views_used: intrinsic[c].views.len(),
            views_simultaneous: rig_views(&intrinsic[c]).count(),
            rms_px: rms(per_cam[c]),
            lens: problem.cameras[c].lens,
            rejected_corners: intrinsic[c].rejected_corners + rejected_per_camera[c],
            rejected_frames: intrinsic[c].rejected_views.clone(),
            reach: camera_reach(input, &problem.cameras[c].intrinsics, &intrinsic[c].views),
        })
        .collect();
    let board_poses = per_frame
        .into_iter()
        .map(|(frame, (cams, n, s))| BoardPoseReport {
            frame,
            cameras: cams.len(),
            corners: n,
            rms_px: rms((n, s)),
        })
        .collect();
    CalibrationReport {
        board: board.name.clone(),
        intrinsics_only: false,
        reference_camera: inputs[root].name.clone(),
        rms_px: rms((errors.len(), errors.iter().map(|e| e * e).sum())),
        corners_used: errors.len(),
        outliers_rejected: intrinsic
            .iter()
            .map(|ic| ic.rejected_corners)
            .sum::<usize>()
            + rejected_per_camera.iter().sum::<usize>(),
        iterations,
        cameras,
        board_poses,
        sync: None,
    }
}
