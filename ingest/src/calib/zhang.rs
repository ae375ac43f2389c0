//! Closed-form initialisation: plane-to-image homographies, Zhang's intrinsics from several
//! homographies, and a board pose from a homography once `K` is known.

use glam::{DMat3, DVec2, DVec3};
use nalgebra::{DMatrix, Matrix3};

use super::pose::{Pose, from_na, orthonormalise, to_na};

/// Homography `H` with `pixel ~ H · (x, y, 1)` from at least 4 plane points, by the normalised
/// DLT. `None` for degenerate input.
pub fn homography(plane: &[DVec2], image: &[DVec2]) -> Option<DMat3> {
    if plane.len() < 4 || plane.len() != image.len() {
        return None;
    }
    let (tp, ti) = (normaliser(plane)?, normaliser(image)?);
    let mut a = DMatrix::<f64>::zeros(2 * plane.len(), 9);
    for (k, (p, q)) in plane.iter().zip(image).enumerate() {
        let p = tp * DVec3::new(p.x, p.y, 1.0);
        let q = ti * DVec3::new(q.x, q.y, 1.0);
        let row = [-p.x, -p.y, -1.0, 0.0, 0.0, 0.0, q.x * p.x, q.x * p.y, q.x];
        let row2 = [0.0, 0.0, 0.0, -p.x, -p.y, -1.0, q.y * p.x, q.y * p.y, q.y];
        for c in 0..9 {
            a[(2 * k, c)] = row[c];
            a[(2 * k + 1, c)] = row2[c];
        }
    }
    let h = smallest_right_singular_vector(a)?;
    let hn = Matrix3::new(h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]);
    let h = ti.inverse() * from_na(&hn) * tp;
    let scale = h.z_axis.z;
    if !h.is_finite() || scale.abs() < 1e-300 {
        return None;
    }
    Some(h * (1.0 / scale))
}

/// Similarity moving the points' centroid to the origin and their mean distance to √2.
fn normaliser(points: &[DVec2]) -> Option<DMat3> {
    let c = points.iter().copied().sum::<DVec2>() / points.len() as f64;
    let d = points.iter().map(|p| (*p - c).length()).sum::<f64>() / points.len() as f64;
    if d < 1e-12 {
        return None;
    }
    let s = std::f64::consts::SQRT_2 / d;
    Some(DMat3::from_cols(
        DVec3::new(s, 0.0, 0.0),
        DVec3::new(0.0, s, 0.0),
        DVec3::new(-s * c.x, -s * c.y, 1.0),
    ))
}

fn smallest_right_singular_vector(a: DMatrix<f64>) -> Option<Vec<f64>> {
    // The eigenvector of AᵀA with the smallest eigenvalue (A has few columns).
    let ata = a.transpose() * &a;
    let eig = ata.symmetric_eigen();
    let (k, _) = eig
        .eigenvalues
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))?;
    Some(eig.eigenvectors.column(k).iter().copied().collect())
}

/// Zhang's closed-form camera matrix from homographies of ≥ 2 board views of a
/// `width × height` image (zero skew assumed). `None` when the views do not determine it (for
/// example when all boards are parallel to the image plane).
pub fn zhang_intrinsics(homographies: &[DMat3], width: u32, height: u32) -> Option<DMat3> {
    if homographies.len() < 2 {
        return None;
    }
    // Condition the problem: work in pixel coordinates scaled to about [-1, 1].
    let s = 2.0 / (width + height) as f64;
    let t = DMat3::from_cols(
        DVec3::new(s, 0.0, 0.0),
        DVec3::new(0.0, s, 0.0),
        DVec3::new(-s * width as f64 / 2.0, -s * height as f64 / 2.0, 1.0),
    );
    let rows = homographies.len() * 2 + 1;
    let mut a = DMatrix::<f64>::zeros(rows, 6);
    for (k, h) in homographies.iter().enumerate() {
        let h = t * *h;
        let v = |i: usize, j: usize| {
            let (hi, hj) = (h.col(i), h.col(j));
            [
                hi.x * hj.x,
                hi.x * hj.y + hi.y * hj.x,
                hi.y * hj.y,
                hi.z * hj.x + hi.x * hj.z,
                hi.z * hj.y + hi.y * hj.z,
                hi.z * hj.z,
            ]
        };
        let (v12, v11, v22) = (v(0, 1), v(0, 0), v(1, 1));
        for c in 0..6 {
            a[(2 * k, c)] = v12[c];
            a[(2 * k + 1, c)] = v11[c] - v22[c];
        }
    }
    a[(rows - 1, 1)] = 1.0; // zero skew: B12 = 0
    let mut b = smallest_right_singular_vector(a)?;
    if b[0] < 0.0 {
        b.iter_mut().for_each(|x| *x = -*x);
    }
    let (b11, b12, b22, b13, b23, b33) = (b[0], b[1], b[2], b[3], b[4], b[5]);
    let den = b11 * b22 - b12 * b12;
    if den <= 0.0 || b11 <= 0.0 {
        return None;
    }
    let v0 = (b12 * b13 - b11 * b23) / den;
    let lambda = b33 - (b13 * b13 + v0 * (b12 * b13 - b11 * b23)) / b11;
    if lambda / b11 <= 0.0 {
        return None;
    }
    let alpha = (lambda / b11).sqrt();
    let beta = (lambda * b11 / den).sqrt();
    let u0 = -b13 * alpha * alpha / lambda;
    let k = DMat3::from_cols(
        DVec3::new(alpha, 0.0, 0.0),
        DVec3::new(0.0, beta, 0.0),
        DVec3::new(u0, v0, 1.0),
    );
    let k = t.inverse() * k;
    k.is_finite().then_some(k)
}

/// Board→camera pose from a homography of undistorted normalised coordinates
/// (`n ~ H · (x, y, 1)`, i.e. `K⁻¹ · H_pixels`). The board is in front of the camera.
pub fn pose_from_homography(h: DMat3) -> Option<Pose> {
    let (m1, m2, m3) = (h.x_axis, h.y_axis, h.z_axis);
    let mut scale = 2.0 / (m1.length() + m2.length());
    if m3.z * scale < 0.0 {
        scale = -scale;
    }
    let r1 = m1 * scale;
    let r2 = m2 * scale;
    let r = orthonormalise(DMat3::from_cols(r1, r2, r1.cross(r2)));
    let t = m3 * scale;
    (r.is_finite() && t.is_finite() && t.z > 0.0).then_some(Pose { r, t })
}

/// Whether `k` is a plausible camera matrix for a `width × height` image.
pub fn plausible_k(k: DMat3, width: u32, height: u32) -> bool {
    let (fx, fy, cx, cy) = (k.x_axis.x, k.y_axis.y, k.z_axis.x, k.z_axis.y);
    let size = width.max(height) as f64;
    fx > 0.1 * size
        && fx < 20.0 * size
        && (fx / fy - 1.0).abs() < 0.2
        && cx > 0.0
        && cx < width as f64
        && cy > 0.0
        && cy < height as f64
        && to_na(k).determinant() > 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use yakumo_core::camera::{intrinsic_matrix, rodrigues_to_rotation};

    fn views() -> (DMat3, Vec<Pose>, Vec<DVec2>) {
        let k = intrinsic_matrix(1000.0, 1005.0, 650.0, 355.0);
        let poses = [
            DVec3::new(0.4, 0.1, 0.0),
            DVec3::new(-0.3, 0.35, 0.2),
            DVec3::new(0.1, -0.5, -0.1),
        ]
        .iter()
        .map(|w| Pose {
            r: rodrigues_to_rotation(*w),
            t: DVec3::new(-0.2, -0.15, 1.5),
        })
        .collect();
        let grid = (0..6)
            .flat_map(|j| (0..8).map(move |i| DVec2::new(i as f64 * 0.05, j as f64 * 0.05)))
            .collect();
        (k, poses, grid)
    }

    #[test]
    fn zhang_recovers_k_and_poses_from_exact_views() {
        let (k, poses, grid) = views();
        let mut hs = Vec::new();
        for pose in &poses {
            let img: Vec<DVec2> = grid
                .iter()
                .map(|p| {
                    let q = k * pose.apply(DVec3::new(p.x, p.y, 0.0));
                    DVec2::new(q.x / q.z, q.y / q.z)
                })
                .collect();
            hs.push(homography(&grid, &img).unwrap());
        }
        let est = zhang_intrinsics(&hs, 1280, 720).unwrap();
        assert!((est.x_axis.x - 1000.0).abs() < 1e-4, "{est}");
        assert!((est.y_axis.y - 1005.0).abs() < 1e-4);
        assert!((est.z_axis.x - 650.0).abs() < 1e-4);
        assert!((est.z_axis.y - 355.0).abs() < 1e-4);
        assert!(plausible_k(est, 1280, 720));
        let pose = pose_from_homography(k.inverse() * hs[1]).unwrap();
        assert!(super::super::pose::rotation_angle(pose.r, poses[1].r) < 1e-8);
        assert!((pose.t - poses[1].t).length() < 1e-8);
    }

    #[test]
    fn degenerate_input_gives_none() {
        let p = vec![DVec2::ZERO; 5];
        assert!(homography(&p, &p).is_none());
        assert!(zhang_intrinsics(&[DMat3::IDENTITY], 640, 480).is_none());
    }
}
