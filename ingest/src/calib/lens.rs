//! Which lens distortion coefficients to estimate, decided by the evidence of the residuals.
//!
//! OpenCV's five coefficients `k1 k2 p1 p2 k3`, all fitted freely to board views that seldom
//! reach the image corners, trade against each other and against the principal point: `k2` and
//! `k3` come out several times their true values, `p1 p2` move the principal point by pixels,
//! and a lens without distortion gets some fitted to the noise. So each camera's [`LensModel`]
//! (nested models, simplest first) is chosen by the Bayesian information criterion `BIC = n·ln(RSS/n) + k·ln(n)`: `n` residual
//! components, `RSS` their sum of squares, `k` lens coefficients estimated (the poses, focal
//! lengths and principal points are common to every choice). A richer model thus has to lower
//! the residual sum of squares by about `ln(n)` noise variances per added coefficient, which
//! noise alone does with a probability below 1 % for the thousands of residuals of a
//! calibration.
//!
//! The choice is made in three steps, the last two upwards only: per camera from its own views
//! ([`select_lens`]); then over the solved rig for every camera at once, where evidence too weak
//! in each camera adds up (a likelihood-ratio test at 99 %, since BIC's `ln(n)` per coefficient
//! asks for about 5 σ of evidence at a rig's tens of thousands of residuals); then per camera
//! within the rig ([`enrich_lenses`]), where the board poses that other cameras saw too separate
//! the principal point from the tangential distortion far better than one camera's views can.
//! Both rig steps also ask that the board poses share the gain ([`RigViews::sigmas`],
//! `CONSISTENCY_SIGMAS`). The
//! choice is made with every corner weighted alike; the noise weights of [`super::noise`] come
//! after it.

use super::bundle::{BaCamera, BaObservation, BundleProblem, SolveOptions};
use super::pose::Pose;
use super::projection::LensModel;

/// Lens coefficients estimated over the cameras whose intrinsics are free.
fn lens_coefficients(problem: &BundleProblem) -> usize {
    problem
        .cameras
        .iter()
        .filter(|c| !c.fix_intrinsics)
        .map(|c| c.lens.coefficients())
        .sum()
}

/// The 99 % quantile of the χ² distribution with `k` degrees of freedom (Wilson–Hilferty;
/// within 0.5 % of the exact value from `k` = 1 on): what `k` added coefficients must lower the
/// residual sum of squares by, in noise variances, before noise alone is an unlikely cause.
fn chi2_99(k: usize) -> f64 {
    let k = k as f64;
    let a = 2.0 / (9.0 * k);
    k * (1.0 - a + Z_99 * a.sqrt()).powi(3)
}

/// The fit of a problem for the likelihood-ratio test: its `n` residual components, their sum of
/// squares, that sum per board pose, and the lens coefficients it estimated.
#[derive(Clone, Debug)]
struct Fit {
    n: f64,
    rss: f64,
    per_board: Vec<f64>,
    coefficients: usize,
}

/// One-sided 99 % point of the normal distribution.
const Z_99: f64 = 2.326_347_874;

/// How many standard deviations the per-pose consistency of a camera's lens gain within the rig
/// must reach ([`enrich_lenses`]). The statistic would be about normal for independent poses,
/// but board views share errors (blur, an unsynchronised rig's moving boards), so the
/// conventional 5 σ of a discovery under an uncertain error model is asked. Measured
/// 2026-12-06: spurious gains 1.4–3.5 (captures without distortion at 640×480, one
/// unsynchronised), real ones 6.4–9.4 (720p videos, synthetic rigs).
const CONSISTENCY_SIGMAS: f64 = 5.0;

/// Which views a rig's board poses come from, which sets how consistently the poses must share
/// a rig-wide lens gain (the first step of [`enrich_lenses`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RigViews {
    /// Every view: the cameras recorded frame-synchronously (or the images are taken as
    /// simultaneous), so each pose's errors are its own corners' noise.
    Synchronous,
    /// Only views in which the board stood still (cameras not frame-synchronous): a board still
    /// settling is seen slightly differently by each camera, an error that all corners of a pose
    /// share and that lens coefficients can partly absorb.
    StillOnly,
}

impl RigViews {
    /// Standard deviations the per-pose consistency of a rig-wide gain must reach: 3 σ (a chance
    /// of about 0.1 % under noise) where the poses' errors are independent, 5 σ where they
    /// share the board's motion. Measured 2026-12-06 on synthetic captures (docs/BENCHMARKS.md):
    /// real tangential distortion at 640×480 gives 3.6–4.8 (1280×720: 6.4–7.1), spurious gains
    /// of synchronous captures without distortion at most 1.4, those of an unsynchronised one
    /// up to 4.0.
    pub fn sigmas(self) -> f64 {
        match self {
            RigViews::Synchronous => 3.0,
            RigViews::StillOnly => 5.0,
        }
    }
}

impl Fit {
    fn of(problem: &BundleProblem) -> Fit {
        let n = 2.0 * problem.observations.len() as f64;
        let mut per_board = vec![0.0; problem.boards.len()];
        let errors = problem.weighted_errors();
        for (o, e) in problem.observations.iter().zip(&errors) {
            per_board[o.board] += e * e;
        }
        Fit {
            n,
            rss: per_board.iter().sum(),
            per_board,
            coefficients: lens_coefficients(problem),
        }
    }

    /// `n·ln(RSS/n)`: minus twice the log-likelihood under Gaussian noise, up to a constant.
    fn deviance(&self) -> f64 {
        self.n * (self.rss / self.n).max(f64::MIN_POSITIVE).ln()
    }

    /// The Bayesian information criterion, counting the lens coefficients of the cameras whose
    /// intrinsics are estimated.
    fn bic(&self) -> f64 {
        self.deviance() + self.coefficients as f64 * self.n.max(1.0).ln()
    }

    /// By how much `self`, a richer fit of the same problem, beats `simpler`: the drop of the
    /// deviance (in noise variances) less the 99 % χ² quantile of the added coefficients.
    /// Positive when noise alone would explain the drop less than 1 % of the time.
    fn margin_over(&self, simpler: &Fit) -> f64 {
        match self.coefficients.saturating_sub(simpler.coefficients) {
            0 => f64::NEG_INFINITY,
            k => simpler.deviance() - self.deviance() - chi2_99(k),
        }
    }

    /// How consistently the board poses share the drop of `self` over `simpler`: the drop, less
    /// the added coefficients (what fitting noise gains on average), over the spread of the sum
    /// of the per-pose drops (a t statistic). The χ² test takes every corner's residual as
    /// independent; video corners carry errors shared by the corners of one view, which can make
    /// a few views pay for spurious coefficients. A real lens effect lowers the residuals of most
    /// poses.
    fn consistency_over(&self, simpler: &Fit) -> f64 {
        let sigma2 = (self.rss / self.n).max(f64::MIN_POSITIVE);
        let gains: Vec<f64> = simpler
            .per_board
            .iter()
            .zip(&self.per_board)
            .map(|(a, b)| (a - b) / sigma2)
            .collect();
        let b = gains.len() as f64;
        if b < 2.0 {
            return 0.0;
        }
        let mean = gains.iter().sum::<f64>() / b;
        let var = gains.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (b - 1.0);
        let added = self.coefficients.saturating_sub(simpler.coefficients) as f64;
        (mean * b - added) / (var * b).sqrt().max(f64::MIN_POSITIVE)
    }
}

/// Cameras and board poses: what a solve changes.
type State = (Vec<BaCamera>, Vec<Pose>);

fn state(problem: &BundleProblem) -> State {
    (problem.cameras.clone(), problem.boards.clone())
}

/// Fits every lens model to a one-camera problem (camera 0), simplest first and each from the
/// fit before, and keeps the fit with the lowest criterion. Returns the model kept.
pub fn select_lens(problem: &mut BundleProblem) -> LensModel {
    problem.cameras[0].intrinsics = LensModel::Pinhole.restrict(problem.cameras[0].intrinsics);
    let mut best: Option<(f64, State)> = None;
    for model in LensModel::ALL {
        problem.cameras[0].lens = model;
        problem.solve(SolveOptions::default());
        let score = Fit::of(problem).bic();
        if best.as_ref().is_none_or(|(b, _)| score < *b) {
            best = Some((score, state(problem)));
        }
    }
    if let Some((_, kept)) = best {
        (problem.cameras, problem.boards) = kept;
    }
    problem.cameras[0].lens
}

/// Most passes of [`enrich_lenses`] over the rig.
const ENRICH_PASSES: usize = 3;

/// Over a solved rig, raises the lenses of all cameras together where the whole rig's evidence
/// asks for it (`raise_rig_lens`, with the consistency that the rig's `views` call for); then
/// gives each camera in turn the richer lens model that lowers the criterion most (if any does,
/// with its board poses sharing the gain by `CONSISTENCY_SIGMAS`), solves the rig again if any camera changed, and repeats while some camera
/// changes (at most `ENRICH_PASSES` passes): a camera's evidence is judged with its
/// neighbours' lenses as they stand, and a neighbour whose lens was too simple biases it. Each
/// step is judged on the camera's neighbourhood, smaller than the rig: the board poses it saw
/// with every observation of them, the other cameras held fixed. Every richer model is tried,
/// not only the next one, since `p1 p2` can pay where `k2` does not. Returns the solver
/// iterations spent.
pub fn enrich_lenses(problem: &mut BundleProblem, views: RigViews) -> usize {
    let mut iterations = raise_rig_lens(problem, views);
    for _ in 0..ENRICH_PASSES {
        let (changed, spent) = enrich_pass(problem);
        iterations += spent;
        if !changed {
            break;
        }
        iterations += problem.solve(SolveOptions::default()).iterations;
    }
    iterations
}

/// Raises every camera's lens to at least the richest model the whole rig's evidence supports:
/// the cameras of a rig are usually alike, and evidence too weak in each camera alone
/// (tangential distortion against the principal point) adds up over all of them, while noise
/// does not. A model is accepted when it passes the likelihood-ratio test at 99 % over every
/// coefficient it adds ([`Fit::margin_over`]) and most board poses share the gain
/// ([`Fit::consistency_over`] above [`RigViews::sigmas`]). The models are tried simplest
/// first, each against the last one accepted, so `p1 p2` are taken where they pay even if `k2`
/// alone did not. Returns the solver iterations spent.
fn raise_rig_lens(problem: &mut BundleProblem, views: RigViews) -> usize {
    let free: Vec<usize> = (0..problem.cameras.len())
        .filter(|&c| !problem.cameras[c].fix_intrinsics)
        .collect();
    let Some(simplest) = free.iter().map(|&c| problem.cameras[c].lens).min() else {
        return 0;
    };
    let mut accepted = (Fit::of(problem), state(problem));
    let mut iterations = 0;
    for model in LensModel::ALL.into_iter().filter(|m| *m > simplest) {
        (problem.cameras, problem.boards) = accepted.1.clone();
        for &c in &free {
            problem.cameras[c].lens = problem.cameras[c].lens.max(model);
        }
        iterations += problem.solve(SolveOptions::default()).iterations;
        let fit = Fit::of(problem);
        let margin = fit.margin_over(&accepted.0);
        let consistency = fit.consistency_over(&accepted.0);
        tracing::debug!(
            "rig-wide lens of at least {model:?}: evidence margin {margin:.1}, consistency {consistency:.1}"
        );
        if margin > 0.0 && consistency > views.sigmas() {
            accepted = (fit, state(problem));
        }
    }
    (problem.cameras, problem.boards) = accepted.1;
    iterations
}

/// One pass of [`enrich_lenses`] over the cameras; returns whether any lens changed and the
/// solver iterations spent.
fn enrich_pass(problem: &mut BundleProblem) -> (bool, usize) {
    let mut iterations = 0;
    let mut changed = false;
    for c in 0..problem.cameras.len() {
        if problem.cameras[c].fix_intrinsics || problem.cameras[c].lens.richer().is_none() {
            continue;
        }
        if !problem.observations.iter().any(|o| o.camera == c) {
            continue;
        }
        let (mut local, lc, boards) = neighbourhood(problem, c);
        let mut best = (Fit::of(&local), state(&local));
        let start = local.cameras[lc].lens;
        for model in LensModel::ALL.into_iter().filter(|m| *m > start) {
            local.cameras[lc].lens = model;
            iterations += local.solve(SolveOptions::default()).iterations;
            let fit = Fit::of(&local);
            let gain = best.0.bic() - fit.bic();
            let consistency = fit.consistency_over(&best.0);
            tracing::debug!(
                "camera {c}: lens {model:?}: criterion lower by {gain:.1}, consistency {consistency:.1}"
            );
            if gain > 0.0 && consistency > CONSISTENCY_SIGMAS {
                best = (fit, state(&local));
                changed = true;
            }
        }
        (local.cameras, local.boards) = best.1;
        let cam = &mut problem.cameras[c];
        (cam.intrinsics, cam.lens, cam.pose) = (
            local.cameras[lc].intrinsics,
            local.cameras[lc].lens,
            local.cameras[lc].pose,
        );
        for (local_board, b) in boards.into_iter().enumerate() {
            problem.boards[b] = local.boards[local_board];
        }
    }
    (changed, iterations)
}

/// Camera `c`'s part of a rig: the board poses it saw, every observation of them, the cameras
/// that made those (held fixed, except camera `c` as in the rig). Returns it with camera `c`'s
/// index in it and the rig's index of each of its board poses.
fn neighbourhood(problem: &BundleProblem, c: usize) -> (BundleProblem, usize, Vec<usize>) {
    let mut board_index = vec![None; problem.boards.len()];
    let mut boards = Vec::new();
    for o in problem.observations.iter().filter(|o| o.camera == c) {
        if board_index[o.board].is_none() {
            board_index[o.board] = Some(boards.len());
            boards.push(o.board);
        }
    }
    let mut camera_index = vec![None; problem.cameras.len()];
    let mut cameras = Vec::new();
    let mut observations = Vec::new();
    for o in &problem.observations {
        let Some(board) = board_index[o.board] else {
            continue;
        };
        let camera = *camera_index[o.camera].get_or_insert_with(|| {
            let cam = &problem.cameras[o.camera];
            let other = o.camera != c;
            cameras.push(BaCamera {
                fix_pose: cam.fix_pose || other,
                fix_intrinsics: cam.fix_intrinsics || other,
                ..cam.clone()
            });
            cameras.len() - 1
        });
        observations.push(BaObservation {
            camera,
            board,
            ..*o
        });
    }
    let local = BundleProblem {
        cameras,
        boards: boards.iter().map(|&b| problem.boards[b]).collect(),
        observations,
    };
    let local_c = camera_index[c].expect("camera c observes its own boards");
    (local, local_c, boards)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calib::projection::Intrinsics;
    use glam::{DVec2, DVec3};
    use rand::{Rng, SeedableRng};
    use yakumo_core::camera::rodrigues_to_rotation;

    /// A one-camera problem: a 9 × 6 grid of 4 cm squares in 40 poses over a 1280×720 image,
    /// observed through `truth` with Gaussian noise of 0.2 px per axis; the solver starts from
    /// the true focal length and principal point without distortion.
    fn problem(truth: Intrinsics, seed: u64) -> BundleProblem {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut normal = || {
            let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let grid: Vec<DVec3> = (0..54)
            .map(|i| {
                DVec3::new(
                    (i % 9) as f64 * 0.04 - 0.16,
                    (i / 9) as f64 * 0.04 - 0.1,
                    0.0,
                )
            })
            .collect();
        let mut boards = Vec::new();
        let mut observations = Vec::new();
        for b in 0..40 {
            let s = b as f64;
            let pose = Pose {
                r: rodrigues_to_rotation(DVec3::new(
                    0.6 * (s * 1.3).sin(),
                    0.6 * (s * 0.7).cos(),
                    0.0,
                )) * rodrigues_to_rotation(DVec3::new(0.0, 0.0, s)),
                t: DVec3::new(
                    0.35 * (s * 2.1).sin(),
                    0.2 * (s * 1.7).cos(),
                    0.9 + 0.2 * (s * 0.9).sin(),
                ),
            };
            for p in &grid {
                let Some(px) = truth.project(pose.apply(*p)) else {
                    continue;
                };
                let inside = px.x > 0.0 && px.y > 0.0 && px.x < 1279.0 && px.y < 719.0;
                if inside {
                    observations.push(BaObservation {
                        camera: 0,
                        board: boards.len(),
                        point: *p,
                        pixel: px + DVec2::new(normal(), normal()) * 0.2,
                        weight: 1.0,
                    });
                }
            }
            boards.push(pose);
        }
        BundleProblem {
            cameras: vec![BaCamera {
                intrinsics: LensModel::Pinhole.restrict(truth),
                pose: Pose::IDENTITY,
                fix_pose: true,
                fix_intrinsics: false,
                lens: LensModel::Full,
            }],
            boards,
            observations,
        }
    }

    #[test]
    fn a_pinhole_lens_gets_no_distortion() {
        let truth = Intrinsics::pinhole(900.0, 902.0, 641.0, 358.0);
        let mut p = problem(truth, 1);
        assert_eq!(select_lens(&mut p), LensModel::Pinhole);
        assert!(p.rms() < 0.3);
        let got = p.cameras[0].intrinsics.0;
        assert!(
            (got[2] - 641.0).abs() < 1.0 && (got[3] - 358.0).abs() < 1.0,
            "principal point {:?}",
            &got[2..4]
        );
    }

    #[test]
    fn a_distorted_lens_keeps_the_coefficients_it_needs() {
        let truth = Intrinsics([900.0, 902.0, 641.0, 358.0, -0.2, 0.08, 0.0, 0.0, 0.0]);
        let mut p = problem(truth, 2);
        let lens = select_lens(&mut p);
        assert!(lens >= LensModel::Radial2, "{lens:?}");
        let got = p.cameras[0].intrinsics.0;
        assert!((got[4] + 0.2).abs() < 0.01, "k1 {}", got[4]);
        assert!(p.rms() < 0.3);
    }
}
