//! How noisy each view's corners are, so that the solvers trust sharp views more than blurred ones.
//!
//! Corners found in a sharp, well-lit view of the board are several times more precise than those
//! of a view smeared by motion or seen at a grazing angle (measured on the synthetic rig's 720p
//! board videos: per-view RMS from 0.08 to 0.9 px in one camera). Least squares with equal weights
//! lets the few blurred views dominate the estimate of what the data constrain least (the outer
//! distortion, the principal point). So the noise variance of every view (one camera's corners of
//! one board pose) is estimated from its residuals at the solution, and each corner weighted by its
//! inverse: the maximum-likelihood estimate when the noise is Gaussian with a variance per view.

use super::bundle::BundleProblem;

/// Degrees of freedom of the prior that pulls each view's variance towards the typical one: a view
/// with few corners has a noisy variance estimate (20 residual components give ±32 %), and a
/// weight from it alone would over-trust views that are sharp by chance.
const PRIOR_DOF: f64 = 20.0;

/// Highest weight a view may get relative to a typical view.
const MAX_WEIGHT: f64 = 4.0;

/// Sets every observation's weight to the inverse of its view's estimated noise variance, relative
/// to the median view's, from the residuals of `problem` as it stands (solve it first). Returns
/// the weights' range `(min, max)` for the log.
pub fn weigh_views(problem: &mut BundleProblem) -> (f64, f64) {
    let cameras = problem.cameras.len();
    let view_of = |camera: usize, board: usize| board * cameras + camera;
    let views = problem.boards.len() * cameras;
    let mut sum_sq = vec![0.0; views];
    let mut count = vec![0usize; views];
    let mut cameras_per_board = vec![0usize; problem.boards.len()];
    let errors = problem.errors();
    for (o, e) in problem.observations.iter().zip(&errors) {
        let v = view_of(o.camera, o.board);
        if count[v] == 0 {
            cameras_per_board[o.board] += 1;
        }
        sum_sq[v] += e * e;
        count[v] += 1;
    }
    // Variance per residual component, with the degrees of freedom the board pose took from the
    // view (its six parameters shared among the cameras that saw it).
    let mut variance = vec![0.0; views];
    let mut dof = vec![0.0; views];
    for v in 0..views {
        if count[v] == 0 {
            continue;
        }
        let board = v / cameras;
        let d = (2 * count[v]) as f64 - 6.0 / cameras_per_board[board] as f64;
        dof[v] = d.max(1.0);
        variance[v] = sum_sq[v] / dof[v];
    }
    let mut seen: Vec<f64> = (0..views)
        .filter(|&v| count[v] > 0)
        .map(|v| variance[v])
        .collect();
    if seen.is_empty() {
        return (1.0, 1.0);
    }
    let mid = seen.len() / 2;
    let typical = *seen.select_nth_unstable_by(mid, f64::total_cmp).1;
    if typical <= 0.0 {
        return (1.0, 1.0);
    }
    let weight: Vec<f64> = (0..views)
        .map(|v| {
            let shrunk = (dof[v] * variance[v] + PRIOR_DOF * typical) / (dof[v] + PRIOR_DOF);
            (typical / shrunk).min(MAX_WEIGHT)
        })
        .collect();
    let mut range = (f64::INFINITY, 0.0f64);
    for o in &mut problem.observations {
        o.weight = weight[view_of(o.camera, o.board)];
        range = (range.0.min(o.weight), range.1.max(o.weight));
    }
    range
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calib::bundle::{BaCamera, BaObservation, SolveOptions};
    use crate::calib::pose::Pose;
    use crate::calib::projection::{Intrinsics, LensModel};
    use glam::{DVec2, DVec3};
    use rand::{Rng, SeedableRng};

    /// One camera, 30 board poses of a 9 × 6 grid; every third view's corners carry 1 px of noise,
    /// the others 0.1 px. Corners outside the 1280×720 image are left out.
    fn problem(seed: u64) -> (BundleProblem, Intrinsics) {
        let truth = Intrinsics([900.0, 900.0, 640.0, 360.0, -0.1, 0.02, 0.0, 0.0, 0.0]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut normal = move || {
            let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let mut p = BundleProblem {
            cameras: vec![BaCamera {
                intrinsics: LensModel::Pinhole.restrict(truth),
                pose: Pose::IDENTITY,
                fix_pose: true,
                fix_intrinsics: false,
                lens: LensModel::Radial2,
            }],
            ..BundleProblem::default()
        };
        for b in 0..30 {
            let s = b as f64;
            let pose = Pose {
                r: yakumo_core::camera::rodrigues_to_rotation(DVec3::new(
                    0.5 * (s * 1.3).sin(),
                    0.5 * (s * 0.7).cos(),
                    0.3 * s,
                )),
                t: DVec3::new(
                    0.35 * (s * 2.1).sin(),
                    0.2 * (s * 1.7).cos(),
                    0.9 + 0.2 * (s * 0.9).sin(),
                ),
            };
            let sigma = if b % 3 == 0 { 1.0 } else { 0.1 };
            for i in 0..54 {
                let point = DVec3::new(
                    (i % 9) as f64 * 0.04 - 0.16,
                    (i / 9) as f64 * 0.04 - 0.1,
                    0.0,
                );
                let px = truth.project(pose.apply(point)).expect("in front");
                if !(0.0..1279.0).contains(&px.x) || !(0.0..719.0).contains(&px.y) {
                    continue;
                }
                p.observations.push(BaObservation {
                    camera: 0,
                    board: b,
                    point,
                    pixel: px + DVec2::new(normal(), normal()) * sigma,
                    weight: 1.0,
                });
            }
            p.boards.push(pose);
        }
        (p, truth)
    }

    #[test]
    fn blurred_views_get_about_the_inverse_of_their_noise_variance() {
        let (mut p, _) = problem(3);
        p.solve(SolveOptions::default());
        weigh_views(&mut p);
        let mut sharp = Vec::new();
        for o in &p.observations {
            if o.board % 3 == 0 {
                // (0.1 / 1)² relative to the sharp views, shrunk a little towards 1.
                assert!(
                    o.weight < 0.03,
                    "blurred view {} weight {}",
                    o.board,
                    o.weight
                );
            } else {
                // A view's variance from a few dozen corners is itself uncertain.
                assert!(
                    (0.5..=2.0).contains(&o.weight),
                    "sharp view {} weight {}",
                    o.board,
                    o.weight
                );
                sharp.push(o.weight);
            }
        }
        let mean = sharp.iter().sum::<f64>() / sharp.len() as f64;
        assert!(
            (0.9..=1.15).contains(&mean),
            "mean weight of the sharp views {mean}"
        );
    }

    #[test]
    fn weighting_makes_the_distortion_more_precise() {
        // Over several captures, since one capture's errors are one draw: with a third of the
        // views 10 × noisier, maximum likelihood has about 1/20 of the equal weights' variance.
        let (mut equal_sq, mut weighted_sq) = (0.0, 0.0);
        for seed in 0..12 {
            let (mut p, truth) = problem(seed);
            p.solve(SolveOptions::default());
            let equal = p.cameras[0].intrinsics.0[5] - truth.0[5];
            weigh_views(&mut p);
            p.solve(SolveOptions::default());
            let weighted = p.cameras[0].intrinsics.0[5] - truth.0[5];
            println!("seed {seed}: k2 error {equal:.5} with equal weights, {weighted:.5} weighted");
            equal_sq += equal * equal;
            weighted_sq += weighted * weighted;
        }
        assert!(
            weighted_sq < 0.3 * equal_sq,
            "k2 squared error {weighted_sq:.3e} weighted against {equal_sq:.3e}"
        );
    }
}
