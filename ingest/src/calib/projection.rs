//! The projection model the solvers optimise (pinhole + OpenCV k1 k2 p1 p2 k3, as
//! `yakumo_core::Camera`) with its analytic Jacobians.

use glam::{DMat3, DVec2, DVec3};
use yakumo_core::camera::{Distortion, intrinsic_matrix};

use super::pose::skew;

/// Number of intrinsic parameters: `fx fy cx cy k1 k2 p1 p2 k3`.
pub const N_INTRINSICS: usize = 9;

/// Intrinsics as a parameter vector `[fx, fy, cx, cy, k1, k2, p1, p2, k3]` (pixels, pixel
/// centres at integers).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Intrinsics(pub [f64; N_INTRINSICS]);

impl Intrinsics {
    /// Pinhole intrinsics without distortion.
    pub fn pinhole(fx: f64, fy: f64, cx: f64, cy: f64) -> Intrinsics {
        Intrinsics([fx, fy, cx, cy, 0.0, 0.0, 0.0, 0.0, 0.0])
    }

    /// From a camera matrix and distortion (skew is dropped).
    pub fn from_k(k: DMat3, dist: Distortion) -> Intrinsics {
        let d = dist.to_array();
        Intrinsics([
            k.x_axis.x, k.y_axis.y, k.z_axis.x, k.z_axis.y, d[0], d[1], d[2], d[3], d[4],
        ])
    }

    /// The camera matrix `K`.
    pub fn k(&self) -> DMat3 {
        intrinsic_matrix(self.0[0], self.0[1], self.0[2], self.0[3])
    }

    /// The lens distortion.
    pub fn distortion(&self) -> Distortion {
        Distortion::from_array([self.0[4], self.0[5], self.0[6], self.0[7], self.0[8]])
    }

    /// Projects a point in camera coordinates to pixels (`None` behind the camera).
    pub fn project(&self, pc: DVec3) -> Option<DVec2> {
        if pc.z <= 1e-9 {
            return None;
        }
        let n = self
            .distortion()
            .distort(DVec2::new(pc.x / pc.z, pc.y / pc.z));
        Some(DVec2::new(
            self.0[0] * n.x + self.0[2],
            self.0[1] * n.y + self.0[3],
        ))
    }

    /// Pixels to the undistorted normalised image point `(x/z, y/z)`.
    pub fn normalise(&self, px: DVec2) -> DVec2 {
        let d = DVec2::new(
            (px.x - self.0[2]) / self.0[0],
            (px.y - self.0[3]) / self.0[1],
        );
        self.distortion().undistort(d)
    }
}

/// Which lens coefficients a solver estimates; the others are held at zero. The models are
/// nested, simplest first, each adding coefficients in the order in which lenses usually need
/// them: `k1`, `k2`, the tangential `p1 p2` (small in a well-centred lens, and close to a shift
/// of the principal point), and OpenCV's `k3` last (for wide-angle lenses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LensModel {
    /// No distortion.
    #[value(name = "none")]
    Pinhole,
    /// Radial `k1`.
    #[value(name = "k1")]
    Radial1,
    /// Radial `k1 k2`.
    #[value(name = "k1k2")]
    Radial2,
    /// Radial `k1 k2` and tangential `p1 p2`.
    #[value(name = "k1k2p1p2")]
    Radial2Tangential,
    /// OpenCV's five coefficients `k1 k2 p1 p2 k3`.
    #[value(name = "full")]
    Full,
}

impl LensModel {
    /// Every model, simplest first.
    pub const ALL: [LensModel; 5] = [
        LensModel::Pinhole,
        LensModel::Radial1,
        LensModel::Radial2,
        LensModel::Radial2Tangential,
        LensModel::Full,
    ];

    /// The next richer model, if any.
    pub fn richer(self) -> Option<LensModel> {
        LensModel::ALL.into_iter().find(|m| *m > self)
    }

    /// Whether the model estimates intrinsic parameter `k` (an index into [`Intrinsics`]); the
    /// focal lengths and the principal point always count as estimated.
    pub fn estimates(self, k: usize) -> bool {
        match k {
            0..=3 => true,
            4 => self >= LensModel::Radial1,
            5 => self >= LensModel::Radial2,
            6 | 7 => self >= LensModel::Radial2Tangential,
            _ => self == LensModel::Full,
        }
    }

    /// The simplest model that holds every non-zero coefficient of `intr`.
    pub fn of(intr: &Intrinsics) -> LensModel {
        LensModel::ALL
            .into_iter()
            .find(|m| m.restrict(*intr) == *intr)
            .unwrap_or(LensModel::Full)
    }

    /// Number of lens coefficients the model estimates.
    pub fn coefficients(self) -> usize {
        (4..N_INTRINSICS).filter(|&k| self.estimates(k)).count()
    }

    /// The estimated coefficients' names, e.g. `"k1 k2"` (`"none"` for the pinhole).
    pub fn coefficient_names(self) -> &'static str {
        match self {
            LensModel::Pinhole => "none",
            LensModel::Radial1 => "k1",
            LensModel::Radial2 => "k1 k2",
            LensModel::Radial2Tangential => "k1 k2 p1 p2",
            LensModel::Full => "k1 k2 p1 p2 k3",
        }
    }

    /// `intr` with the coefficients this model does not estimate set to zero.
    pub fn restrict(self, mut intr: Intrinsics) -> Intrinsics {
        for k in 4..N_INTRINSICS {
            if !self.estimates(k) {
                intr.0[k] = 0.0;
            }
        }
        intr
    }
}

/// Pixel of a point in camera coordinates with the Jacobians the solvers need.
pub struct ProjectionJacobian {
    /// The projected pixel.
    pub pixel: DVec2,
    /// ∂pixel/∂(camera-frame point), rows u and v.
    pub d_point: [DVec3; 2],
    /// ∂pixel/∂intrinsics, rows u and v.
    pub d_intrinsics: [[f64; N_INTRINSICS]; 2],
}

/// Projects `pc` (camera frame, `z > 0`) and differentiates.
pub fn project_with_jacobian(intr: &Intrinsics, pc: DVec3) -> ProjectionJacobian {
    let p = &intr.0;
    let (fx, fy) = (p[0], p[1]);
    let dist = intr.distortion();
    let iz = 1.0 / pc.z;
    let (x, y) = (pc.x * iz, pc.y * iz);
    let n = DVec2::new(x, y);
    let d = dist.distort(n);
    let jd = dist.jacobian(n);
    // ∂(x, y)/∂pc
    let dx = DVec3::new(iz, 0.0, -x * iz);
    let dy = DVec3::new(0.0, iz, -y * iz);
    let du = (dx * jd.x_axis.x + dy * jd.y_axis.x) * fx;
    let dv = (dx * jd.x_axis.y + dy * jd.y_axis.y) * fy;
    let r2 = x * x + y * y;
    let (r4, r6) = (r2 * r2, r2 * r2 * r2);
    ProjectionJacobian {
        pixel: DVec2::new(fx * d.x + p[2], fy * d.y + p[3]),
        d_point: [du, dv],
        d_intrinsics: [
            [
                d.x,
                0.0,
                1.0,
                0.0,
                fx * x * r2,
                fx * x * r4,
                fx * 2.0 * x * y,
                fx * (r2 + 2.0 * x * x),
                fx * x * r6,
            ],
            [
                0.0,
                d.y,
                0.0,
                1.0,
                fy * y * r2,
                fy * y * r4,
                fy * (r2 + 2.0 * y * y),
                fy * 2.0 * x * y,
                fy * y * r6,
            ],
        ],
    }
}

/// ∂(R·x + t)/∂(ω, δt) for the left update `exp(ω)·R`, evaluated at `rx = R·x`: returns the 3×3
/// blocks `(∂/∂ω, ∂/∂t)`; `∂/∂t` is the identity.
pub fn pose_jacobian_rotation(rx: DVec3) -> DMat3 {
    -skew(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobian_matches_finite_differences() {
        let intr = Intrinsics([900.0, 910.0, 640.0, 360.0, -0.2, 0.05, 0.001, -0.002, 0.01]);
        let pc = DVec3::new(0.3, -0.2, 2.0);
        let j = project_with_jacobian(&intr, pc);
        assert!((j.pixel - intr.project(pc).unwrap()).length() < 1e-9);
        let h = 1e-6;
        for axis in 0..3 {
            let mut e = DVec3::ZERO;
            e[axis] = h;
            let num = (intr.project(pc + e).unwrap() - intr.project(pc - e).unwrap()) / (2.0 * h);
            assert!((num.x - j.d_point[0][axis]).abs() < 1e-4, "u/axis {axis}");
            assert!((num.y - j.d_point[1][axis]).abs() < 1e-4, "v/axis {axis}");
        }
        for k in 0..N_INTRINSICS {
            let (mut a, mut b) = (intr, intr);
            let step = if k < 4 { 1e-4 } else { 1e-7 };
            a.0[k] += step;
            b.0[k] -= step;
            let num = (a.project(pc).unwrap() - b.project(pc).unwrap()) / (2.0 * step);
            assert!(
                (num.x - j.d_intrinsics[0][k]).abs() < 1e-4 * (1.0 + num.x.abs()),
                "u/param {k}"
            );
            assert!(
                (num.y - j.d_intrinsics[1][k]).abs() < 1e-4 * (1.0 + num.y.abs()),
                "v/param {k}"
            );
        }
    }

    #[test]
    fn normalise_inverts_project() {
        let intr = Intrinsics([900.0, 910.0, 640.0, 360.0, -0.2, 0.05, 0.001, -0.002, 0.01]);
        let pc = DVec3::new(0.3, -0.2, 2.0);
        let n = intr.normalise(intr.project(pc).unwrap());
        assert!((n - DVec2::new(0.15, -0.1)).length() < 1e-10);
    }

    #[test]
    fn lens_models_nest() {
        let full = Intrinsics([900.0, 910.0, 640.0, 360.0, -0.2, 0.05, 0.001, -0.002, 0.01]);
        let counts: Vec<usize> = LensModel::ALL.iter().map(|m| m.coefficients()).collect();
        assert_eq!(counts, [0, 1, 2, 4, 5]);
        for m in LensModel::ALL {
            let r = m.restrict(full);
            assert_eq!(LensModel::of(&r), m);
            assert_eq!(r.0[..4], full.0[..4]);
            assert_eq!(
                m.coefficient_names().split(' ').count(),
                m.coefficients().max(1)
            );
        }
        assert_eq!(LensModel::Pinhole.richer(), Some(LensModel::Radial1));
        assert_eq!(LensModel::Full.richer(), None);
    }
}
