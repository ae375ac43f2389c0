//! Rigid transforms `x' = R x + t` and the small helpers the solvers share.

use glam::{DMat3, DVec3};
use yakumo_core::camera::{rodrigues_to_rotation, rotation_to_rodrigues};

/// A rigid transform `x' = r · x + t` (rotation matrix and translation in metres).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pose {
    /// Rotation.
    pub r: DMat3,
    /// Translation.
    pub t: DVec3,
}

impl Pose {
    /// The identity transform.
    pub const IDENTITY: Pose = Pose {
        r: DMat3::IDENTITY,
        t: DVec3::ZERO,
    };

    /// Applies the transform to a point.
    pub fn apply(&self, p: DVec3) -> DVec3 {
        self.r * p + self.t
    }

    /// `self ∘ other`: first `other`, then `self`.
    pub fn compose(&self, other: &Pose) -> Pose {
        Pose {
            r: self.r * other.r,
            t: self.r * other.t + self.t,
        }
    }

    /// The inverse transform.
    pub fn inverse(&self) -> Pose {
        let rt = self.r.transpose();
        Pose {
            r: rt,
            t: -(rt * self.t),
        }
    }

    /// Left-multiplied update `exp(ω) · R`, `t + δt`: the parametrisation the solvers use.
    pub fn updated(&self, omega: DVec3, dt: DVec3) -> Pose {
        Pose {
            r: orthonormalise(rodrigues_to_rotation(omega) * self.r),
            t: self.t + dt,
        }
    }
}

/// Angle of the rotation `a · bᵀ` in radians (distance between two rotations).
pub fn rotation_angle(a: DMat3, b: DMat3) -> f64 {
    rotation_to_rodrigues(a * b.transpose()).length()
}

/// The nearest rotation to `m` (polar decomposition through an SVD; `det = +1`).
pub fn orthonormalise(m: DMat3) -> DMat3 {
    let n = to_na(m);
    let svd = n.svd(true, true);
    let (u, vt) = (svd.u.expect("u requested"), svd.v_t.expect("v requested"));
    let mut r = u * vt;
    if r.determinant() < 0.0 {
        let mut u = u;
        u.column_mut(2).neg_mut();
        r = u * vt;
    }
    from_na(&r)
}

/// Chordal mean of rotations: the rotation nearest to their sum.
pub fn mean_rotation(rs: impl IntoIterator<Item = DMat3>) -> DMat3 {
    let sum = rs.into_iter().fold(DMat3::ZERO, |acc, r| acc + r);
    orthonormalise(sum)
}

/// The skew-symmetric matrix `[v]×` with `[v]× · w = v × w`.
pub fn skew(v: DVec3) -> DMat3 {
    DMat3::from_cols(
        DVec3::new(0.0, v.z, -v.y),
        DVec3::new(-v.z, 0.0, v.x),
        DVec3::new(v.y, -v.x, 0.0),
    )
}

/// glam → nalgebra 3×3.
pub fn to_na(m: DMat3) -> nalgebra::Matrix3<f64> {
    nalgebra::Matrix3::from_fn(|r, c| m.col(c)[r])
}

/// nalgebra → glam 3×3.
pub fn from_na(m: &nalgebra::Matrix3<f64>) -> DMat3 {
    DMat3::from_cols_array_2d(&[
        [m[(0, 0)], m[(1, 0)], m[(2, 0)]],
        [m[(0, 1)], m[(1, 1)], m[(2, 1)]],
        [m[(0, 2)], m[(1, 2)], m[(2, 2)]],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_inverse_and_skew() {
        let p = Pose {
            r: rodrigues_to_rotation(DVec3::new(0.3, -0.2, 0.9)),
            t: DVec3::new(1.0, 2.0, -0.5),
        };
        let id = p.compose(&p.inverse());
        assert!(rotation_angle(id.r, DMat3::IDENTITY) < 1e-12);
        assert!(id.t.length() < 1e-12);
        let (a, b) = (DVec3::new(0.1, 2.0, -3.0), DVec3::new(-1.0, 0.5, 0.25));
        assert!((skew(a) * b - a.cross(b)).length() < 1e-12);
        let noisy = p.r + DMat3::from_cols(DVec3::splat(1e-3), DVec3::ZERO, DVec3::ZERO);
        assert!(rotation_angle(orthonormalise(noisy), p.r) < 2e-3);
        assert!((orthonormalise(noisy).determinant() - 1.0).abs() < 1e-12);
        assert_eq!(from_na(&to_na(p.r)), p.r);
    }
}
