//! Sparse bundle adjustment over cameras (pose and intrinsics) and board poses.
//!
//! Levenberg–Marquardt on the reprojection error with a Huber loss (iteratively reweighted).
//! Each iteration eliminates the board poses (6×6 blocks) with the Schur complement and solves
//! the dense reduced camera system (15 parameters per camera) by Cholesky, so the cost grows with
//! the number of board frames only linearly. Poses use the left update `exp(ω)·R, t + δt`.
//!
//! The same engine calibrates one camera's intrinsics (one camera with its pose fixed at the
//! identity, boards in camera coordinates) and a whole rig (one camera's pose fixed as gauge).

use glam::{DVec2, DVec3};
use nalgebra::{DMatrix, DVector, SMatrix, SVector};
use rayon::prelude::*;

use super::pose::{Pose, skew};
use super::projection::{Intrinsics, LensModel, N_INTRINSICS, project_with_jacobian};

const NC: usize = 6 + N_INTRINSICS;
type M15 = SMatrix<f64, NC, NC>;
type M15x6 = SMatrix<f64, NC, 6>;
type M6 = SMatrix<f64, 6, 6>;
type V15 = SVector<f64, NC>;
type V6 = SVector<f64, 6>;

/// A camera in the problem: world→camera pose and intrinsics, each optionally held fixed.
#[derive(Clone, Debug)]
pub struct BaCamera {
    /// Intrinsics `[fx, fy, cx, cy, k1, k2, p1, p2, k3]`.
    pub intrinsics: Intrinsics,
    /// World→camera pose.
    pub pose: Pose,
    /// Keep the pose as it is (the gauge camera, or intrinsics-only calibration).
    pub fix_pose: bool,
    /// Keep the intrinsics as they are.
    pub fix_intrinsics: bool,
    /// Lens coefficients to estimate (when the intrinsics are not fixed); the others are left as
    /// they are.
    pub lens: LensModel,
}

/// One board corner seen by one camera.
#[derive(Clone, Copy, Debug)]
pub struct BaObservation {
    /// Index into [`BundleProblem::cameras`].
    pub camera: usize,
    /// Index into [`BundleProblem::boards`].
    pub board: usize,
    /// The corner on the board (metres, board frame).
    pub point: DVec3,
    /// Where it was detected (pixels).
    pub pixel: DVec2,
    /// Inverse noise variance of the detection relative to a typical corner of the problem
    /// (1 for a typical corner; see [`super::noise`]).
    pub weight: f64,
}

/// Cameras, board poses (board→world) and observations.
#[derive(Clone, Debug, Default)]
pub struct BundleProblem {
    /// The cameras.
    pub cameras: Vec<BaCamera>,
    /// Board→world pose per board frame.
    pub boards: Vec<Pose>,
    /// The observations.
    pub observations: Vec<BaObservation>,
}

/// Solver settings.
#[derive(Clone, Copy, Debug)]
pub struct SolveOptions {
    /// Huber threshold in pixels: errors beyond it count linearly.
    pub huber_px: f64,
    /// Iteration cap.
    pub max_iterations: usize,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            huber_px: 1.0,
            max_iterations: 100,
        }
    }
}

/// What a solve did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SolveSummary {
    /// Accepted iterations.
    pub iterations: usize,
    /// Reprojection RMS before, pixels.
    pub initial_rms: f64,
    /// Reprojection RMS after, pixels.
    pub final_rms: f64,
}

/// Normal-equation blocks of one board frame.
struct BoardBlock {
    v: M6,
    g: V6,
    /// Per camera seeing this board: camera index, its `JᵀJ` and `Jᵀr` parts, and the cross block.
    cams: Vec<(usize, M15, V15, M15x6)>,
}

impl BundleProblem {
    /// Reprojection error vector (projected − detected) of observation `i`, `None` when the
    /// point is behind the camera.
    pub fn residual(&self, i: usize) -> Option<DVec2> {
        let o = &self.observations[i];
        let cam = &self.cameras[o.camera];
        let pc = cam.pose.apply(self.boards[o.board].apply(o.point));
        cam.intrinsics.project(pc).map(|px| px - o.pixel)
    }

    /// Reprojection error lengths of all observations (a large value for points behind a camera).
    pub fn errors(&self) -> Vec<f64> {
        (0..self.observations.len())
            .into_par_iter()
            .map(|i| self.residual(i).map_or(1e6, |r| r.length()))
            .collect()
    }

    /// Reprojection error lengths scaled by the square root of each observation's weight: the
    /// errors in units of a typical corner's noise, which the solver minimises.
    pub fn weighted_errors(&self) -> Vec<f64> {
        (0..self.observations.len())
            .into_par_iter()
            .map(|i| {
                let w = self.observations[i].weight.sqrt();
                self.residual(i).map_or(1e6, |r| r.length() * w)
            })
            .collect()
    }

    /// Root mean square reprojection error in pixels.
    pub fn rms(&self) -> f64 {
        let e = self.errors();
        if e.is_empty() {
            return 0.0;
        }
        (e.iter().map(|x| x * x).sum::<f64>() / e.len() as f64).sqrt()
    }

    fn robust_cost(&self, huber: f64) -> f64 {
        self.weighted_errors()
            .iter()
            .map(|&e| huber_rho(e, huber))
            .sum()
    }

    /// Runs Levenberg–Marquardt until the cost stops decreasing.
    pub fn solve(&mut self, opts: SolveOptions) -> SolveSummary {
        let initial_rms = self.rms();
        let mut by_board: Vec<Vec<usize>> = vec![Vec::new(); self.boards.len()];
        for (i, o) in self.observations.iter().enumerate() {
            by_board[o.board].push(i);
        }
        for list in &mut by_board {
            list.sort_by_key(|&i| self.observations[i].camera);
        }
        let masks: Vec<[bool; NC]> = self
            .cameras
            .iter()
            .map(|c| {
                std::array::from_fn(|k| {
                    if k < 6 {
                        !c.fix_pose
                    } else {
                        !c.fix_intrinsics && c.lens.estimates(k - 6)
                    }
                })
            })
            .collect();

        let mut lambda = 1e-4;
        let mut cost = self.robust_cost(opts.huber_px);
        let mut iterations = 0;
        'outer: while iterations < opts.max_iterations {
            let (blocks, u, g) = self.linearise(&by_board, &masks, opts.huber_px);
            loop {
                let Some((dc, db)) = solve_damped(&blocks, &u, &g, lambda) else {
                    lambda *= 10.0;
                    if lambda > 1e12 {
                        break 'outer;
                    }
                    continue;
                };
                let mut trial = self.clone_state();
                apply_step(&mut trial.0, &mut trial.1, &dc, &db);
                let previous = self.swap_state(trial);
                let new_cost = self.robust_cost(opts.huber_px);
                if new_cost < cost {
                    let decrease = (cost - new_cost) / cost.max(1e-300);
                    cost = new_cost;
                    lambda = (lambda / 3.0).max(1e-12);
                    iterations += 1;
                    if decrease < 1e-10 {
                        break 'outer;
                    }
                    break;
                }
                self.swap_state(previous);
                lambda *= 4.0;
                if lambda > 1e12 {
                    break 'outer;
                }
            }
        }
        SolveSummary {
            iterations,
            initial_rms,
            final_rms: self.rms(),
        }
    }

    fn clone_state(&self) -> (Vec<BaCamera>, Vec<Pose>) {
        (self.cameras.clone(), self.boards.clone())
    }

    fn swap_state(&mut self, state: (Vec<BaCamera>, Vec<Pose>)) -> (Vec<BaCamera>, Vec<Pose>) {
        let cams = std::mem::replace(&mut self.cameras, state.0);
        let boards = std::mem::replace(&mut self.boards, state.1);
        (cams, boards)
    }

    /// Builds the normal-equation blocks at the current estimate.
    fn linearise(
        &self,
        by_board: &[Vec<usize>],
        masks: &[[bool; NC]],
        huber: f64,
    ) -> (Vec<BoardBlock>, Vec<M15>, Vec<V15>) {
        let blocks: Vec<BoardBlock> = by_board
            .par_iter()
            .enumerate()
            .map(|(b, obs)| self.board_block(b, obs, masks, huber))
            .collect();
        let mut u = vec![M15::zeros(); self.cameras.len()];
        let mut g = vec![V15::zeros(); self.cameras.len()];
        for block in &blocks {
            for (c, uc, gc, _) in &block.cams {
                u[*c] += uc;
                g[*c] += gc;
            }
        }
        (blocks, u, g)
    }

    fn board_block(&self, b: usize, obs: &[usize], masks: &[[bool; NC]], huber: f64) -> BoardBlock {
        let board = &self.boards[b];
        let mut block = BoardBlock {
            v: M6::zeros(),
            g: V6::zeros(),
            cams: Vec::new(),
        };
        for &i in obs {
            let o = &self.observations[i];
            let cam = &self.cameras[o.camera];
            let rp = board.r * o.point;
            let xw = rp + board.t;
            let rxw = cam.pose.r * xw;
            let pc = rxw + cam.pose.t;
            if pc.z <= 1e-6 {
                continue;
            }
            let pj = project_with_jacobian(&cam.intrinsics, pc);
            let r = pj.pixel - o.pixel;
            let e = r.length() * o.weight.sqrt();
            let w = o.weight * if e <= huber { 1.0 } else { huber / e };
            let dw_rot = -(skew(rxw));
            let db_rot = -(cam.pose.r * skew(rp));
            let mut jc = SMatrix::<f64, 2, NC>::zeros();
            let mut jb = SMatrix::<f64, 2, 6>::zeros();
            for row in 0..2 {
                let dp = pj.d_point[row];
                // Row vector dp · M for a 3×3 M (glam is column-major: M.col(k) is column k).
                let times = |m: glam::DMat3| {
                    DVec3::new(dp.dot(m.x_axis), dp.dot(m.y_axis), dp.dot(m.z_axis))
                };
                let c_rot = times(dw_rot);
                let b_rot = times(db_rot);
                let b_t = times(cam.pose.r);
                for k in 0..3 {
                    jc[(row, k)] = c_rot[k];
                    jc[(row, 3 + k)] = dp[k];
                    jb[(row, k)] = b_rot[k];
                    jb[(row, 3 + k)] = b_t[k];
                }
                for k in 0..N_INTRINSICS {
                    jc[(row, 6 + k)] = pj.d_intrinsics[row][k];
                }
            }
            for (k, free) in masks[o.camera].iter().enumerate() {
                if !free {
                    jc.column_mut(k).fill(0.0);
                }
            }
            let rv = nalgebra::Vector2::new(r.x, r.y);
            let jcw = jc.transpose() * w;
            let jbw = jb.transpose() * w;
            block.v += jbw * jb;
            block.g += jbw * rv;
            let entry = match block.cams.last_mut() {
                Some(last) if last.0 == o.camera => last,
                _ => {
                    block
                        .cams
                        .push((o.camera, M15::zeros(), V15::zeros(), M15x6::zeros()));
                    block.cams.last_mut().expect("just pushed")
                }
            };
            entry.1 += jcw * jc;
            entry.2 += jcw * rv;
            entry.3 += jcw * jb;
        }
        block
    }
}

/// Huber loss on an error length.
fn huber_rho(e: f64, k: f64) -> f64 {
    if e <= k { e * e } else { 2.0 * k * e - k * k }
}

fn damp<const N: usize>(m: &SMatrix<f64, N, N>, lambda: f64) -> SMatrix<f64, N, N> {
    let mut d = *m;
    for i in 0..N {
        let v = m[(i, i)];
        d[(i, i)] = if v == 0.0 {
            1.0
        } else {
            v * (1.0 + lambda) + 1e-12
        };
    }
    d
}

/// Solves the damped normal equations by the Schur complement on the boards.
fn solve_damped(
    blocks: &[BoardBlock],
    u: &[M15],
    g: &[V15],
    lambda: f64,
) -> Option<(Vec<V15>, Vec<V6>)> {
    let n = u.len() * NC;
    let vinv: Vec<Option<M6>> = blocks
        .par_iter()
        .map(|b| {
            if b.cams.is_empty() {
                None
            } else {
                damp(&b.v, lambda).cholesky().map(|c| c.inverse())
            }
        })
        .collect();
    let (mut s, mut rhs) = blocks
        .par_iter()
        .zip(vinv.par_iter())
        .fold(
            || (DMatrix::<f64>::zeros(n, n), DVector::<f64>::zeros(n)),
            |(mut s, mut rhs), (block, vi)| {
                let Some(vi) = vi else { return (s, rhs) };
                let ys: Vec<M15x6> = block.cams.iter().map(|(_, _, _, w)| w * vi).collect();
                for (a, (ca, _, _, _)) in block.cams.iter().enumerate() {
                    let ya = &ys[a];
                    let r = ya * block.g;
                    let mut seg = rhs.rows_mut(ca * NC, NC);
                    seg += r;
                    for (cb, _, _, wb) in block.cams.iter() {
                        let prod = ya * wb.transpose();
                        let mut view = s.view_mut((ca * NC, cb * NC), (NC, NC));
                        view -= prod;
                    }
                }
                (s, rhs)
            },
        )
        .reduce(
            || (DMatrix::<f64>::zeros(n, n), DVector::<f64>::zeros(n)),
            |(a, ra), (b, rb)| (a + b, ra + rb),
        );
    for (c, (uc, gc)) in u.iter().zip(g).enumerate() {
        let mut view = s.view_mut((c * NC, c * NC), (NC, NC));
        view += damp(uc, lambda);
        let mut seg = rhs.rows_mut(c * NC, NC);
        seg -= gc;
    }
    let chol = s.cholesky()?;
    let dc_all = chol.solve(&rhs);
    let dc: Vec<V15> = (0..u.len())
        .map(|c| V15::from_iterator(dc_all.rows(c * NC, NC).iter().copied()))
        .collect();
    let db = blocks
        .iter()
        .zip(&vinv)
        .map(|(block, vi)| match vi {
            None => V6::zeros(),
            Some(vi) => {
                let mut r = -block.g;
                for (c, _, _, w) in &block.cams {
                    r -= w.transpose() * dc[*c];
                }
                vi * r
            }
        })
        .collect();
    Some((dc, db))
}

fn apply_step(cams: &mut [BaCamera], boards: &mut [Pose], dc: &[V15], db: &[V6]) {
    for (cam, d) in cams.iter_mut().zip(dc) {
        if !cam.fix_pose {
            cam.pose = cam
                .pose
                .updated(DVec3::new(d[0], d[1], d[2]), DVec3::new(d[3], d[4], d[5]));
        }
        if !cam.fix_intrinsics {
            for k in (0..N_INTRINSICS).filter(|&k| cam.lens.estimates(k)) {
                cam.intrinsics.0[k] += d[6 + k];
            }
        }
    }
    for (b, d) in boards.iter_mut().zip(db) {
        *b = b.updated(DVec3::new(d[0], d[1], d[2]), DVec3::new(d[3], d[4], d[5]));
    }
}
