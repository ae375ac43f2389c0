//! Real spherical harmonics up to degree 3, shared by the trainer, the bake and the player.
//!
//! Basis ordering is the usual graphics one: coefficient `l² + l + m` holds `Y_l^m` for
//! `m = -l..=l`, so degree 0 is index 0, degree 1 is indices 1..=3 (`y, z, x`), degree 2 is 4..=8
//! and degree 3 is 9..=15. The functions are the orthonormal real harmonics with the
//! Condon–Shortley phase folded in (the convention of most SH renderers, e.g. the 3D Gaussian
//! splatting code): `Y_1^{-1} = -c₁·y`, `Y_1^0 = c₁·z`, `Y_1^1 = -c₁·x` with `c₁ = √(3/4π)`.
//! Every function is a homogeneous polynomial of degree `l` in the unit direction `(x, y, z)`.

#![allow(
    clippy::excessive_precision,
    reason = "constants are quoted to f64 precision, as derived"
)]

/// Highest supported degree.
pub const MAX_DEGREE: u32 = 3;

/// `Y_0^0 = 1/(2√π)`.
pub const C0: f32 = 0.282_094_791_773_878_14;
/// Degree 1 factor `√(3/(4π))`.
pub const C1: f32 = 0.488_602_511_902_919_9;
/// Degree 2 factors: `½√(15/π)` (xy, yz, xz), `¼√(5/π)` (3z²−1) and `¼√(15/π)` (x²−y²).
pub const C2: [f32; 3] = [
    1.092_548_430_592_079_2,
    0.315_391_565_252_520_05,
    0.546_274_215_296_039_6,
];
/// Degree 3 factors: `¼√(35/(2π))` (m=±3), `½√(105/π)` (m=−2), `¼√(21/(2π))` (m=±1),
/// `¼√(7/π)` (m=0) and `¼√(105/π)` (m=2).
pub const C3: [f32; 5] = [
    0.590_043_589_926_643_5,
    2.890_611_442_640_554,
    0.457_045_799_464_465_8,
    0.373_176_332_590_115_4,
    1.445_305_721_320_277,
];

/// Number of coefficients of a degree-`degree` expansion, `(degree + 1)²`.
pub const fn coeff_count(degree: u32) -> usize {
    ((degree + 1) * (degree + 1)) as usize
}

/// Writes the `coeff_count(degree)` basis values for direction `dir` into `out[..coeff_count]`.
///
/// `dir` need not be unit length: it is normalised here. A zero vector yields only the constant
/// term (all higher terms are homogeneous polynomials and vanish).
///
/// # Panics
/// When `degree > MAX_DEGREE` or `out` is shorter than `coeff_count(degree)` (caller bugs).
pub fn eval_basis(degree: u32, dir: [f32; 3], out: &mut [f32]) {
    assert!(
        degree <= MAX_DEGREE,
        "SH degree {degree} exceeds the supported {MAX_DEGREE}"
    );
    let n = coeff_count(degree);
    assert!(
        out.len() >= n,
        "SH output holds {} values, degree {degree} needs {n}",
        out.len()
    );
    let len = (dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]).sqrt();
    let [x, y, z] = if len > 0.0 && len.is_finite() {
        [dir[0] / len, dir[1] / len, dir[2] / len]
    } else {
        [0.0; 3]
    };
    out[0] = C0;
    if degree >= 1 {
        out[1] = -C1 * y;
        out[2] = C1 * z;
        out[3] = -C1 * x;
    }
    if degree >= 2 {
        let (xx, yy, zz) = (x * x, y * y, z * z);
        out[4] = C2[0] * x * y;
        out[5] = -C2[0] * y * z;
        out[6] = C2[1] * (2.0 * zz - xx - yy);
        out[7] = -C2[0] * x * z;
        out[8] = C2[2] * (xx - yy);
        if degree >= 3 {
            out[9] = -C3[0] * y * (3.0 * xx - yy);
            out[10] = C3[1] * x * y * z;
            out[11] = -C3[2] * y * (4.0 * zz - xx - yy);
            out[12] = C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy);
            out[13] = -C3[2] * x * (4.0 * zz - xx - yy);
            out[14] = C3[4] * z * (xx - yy);
            out[15] = -C3[0] * x * (xx - 3.0 * yy);
        }
    }
}

/// View-dependent colour of a baked point: `clamp(base + Σ_{i≥1} rest[ch][i-1]·Y_i(dir), 0, 1)`.
///
/// `rest` holds `3 × (coeff_count(degree) − 1)` values laid out `[channel][coefficient]` (the DC
/// term lives in `base`); `dir` is the viewing direction `point − eye` (normalised here).
///
/// # Panics
/// When `degree > MAX_DEGREE` or `rest` is shorter than `3 × (coeff_count(degree) − 1)`.
pub fn shade(degree: u32, base: [f32; 3], rest: &[f32], dir: [f32; 3]) -> [f32; 3] {
    let mut basis = [0.0f32; 16];
    eval_basis(degree, dir, &mut basis);
    let k = coeff_count(degree) - 1;
    assert!(
        rest.len() >= 3 * k,
        "SH rest holds {} values, degree {degree} needs {}",
        rest.len(),
        3 * k
    );
    let mut out = base;
    for (ch, value) in out.iter_mut().enumerate() {
        let coefs = &rest[ch * k..(ch + 1) * k];
        let sum: f32 = coefs.iter().zip(&basis[1..]).map(|(c, y)| c * y).sum();
        *value = (*value + sum).clamp(0.0, 1.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn constants_match_their_formulas() {
        let close = |a: f32, b: f64| assert!((a as f64 - b).abs() < 1e-7, "{a} vs {b}");
        close(C0, 0.5 / PI.sqrt());
        close(C1, (3.0 / (4.0 * PI)).sqrt());
        close(C2[0], 0.5 * (15.0 / PI).sqrt());
        close(C2[1], 0.25 * (5.0 / PI).sqrt());
        close(C2[2], 0.25 * (15.0 / PI).sqrt());
        close(C3[0], 0.25 * (35.0 / (2.0 * PI)).sqrt());
        close(C3[1], 0.5 * (105.0 / PI).sqrt());
        close(C3[2], 0.25 * (21.0 / (2.0 * PI)).sqrt());
        close(C3[3], 0.25 * (7.0 / PI).sqrt());
        close(C3[4], 0.25 * (105.0 / PI).sqrt());
    }

    #[test]
    fn coefficient_counts() {
        assert_eq!([0, 1, 2, 3].map(coeff_count), [1, 4, 9, 16]);
    }

    #[test]
    fn known_values_on_axes() {
        let mut y = [0.0f32; 16];
        eval_basis(3, [0.0, 0.0, 2.0], &mut y); // +z, unnormalised on purpose
        let c20 = 2.0 * C2[1];
        let c30 = 2.0 * C3[3];
        let expected = [
            C0, 0.0, C1, 0.0, 0.0, 0.0, c20, 0.0, 0.0, 0.0, 0.0, 0.0, c30, 0.0, 0.0, 0.0,
        ];
        for (i, (a, b)) in y.iter().zip(expected).enumerate() {
            assert!((a - b).abs() < 1e-6, "Y[{i}] = {a}, expected {b}");
        }
        eval_basis(3, [1.0, 0.0, 0.0], &mut y);
        assert!((y[3] + C1).abs() < 1e-6);
        assert!((y[8] - C2[2]).abs() < 1e-6);
        assert!((y[15] + C3[0]).abs() < 1e-6);
        assert!((y[13] - C3[2]).abs() < 1e-6);
    }

    #[test]
    fn zero_direction_keeps_only_dc() {
        let mut y = [1.0f32; 16];
        eval_basis(3, [0.0; 3], &mut y);
        assert_eq!(y[0], C0);
        assert!(y[1..].iter().all(|v| *v == 0.0));
    }

    /// Gauss–Legendre in cos θ × uniform φ integrates polynomials of degree ≤ 6 on the sphere
    /// exactly, so products of two degree-3 harmonics come out orthonormal to float precision.
    #[test]
    fn basis_is_orthonormal_on_the_sphere() {
        // 8-point Gauss–Legendre nodes and weights on [-1, 1].
        let nodes = [
            (0.183_434_642_495_649_8, 0.362_683_783_378_362_0),
            (0.525_532_409_916_329_0, 0.313_706_645_877_887_3),
            (0.796_666_477_413_626_7, 0.222_381_034_453_374_5),
            (0.960_289_856_497_536_3, 0.101_228_536_290_376_3),
        ];
        let n_phi = 16;
        let mut gram = [[0.0f64; 16]; 16];
        let mut y = [0.0f32; 16];
        for &(u, w) in &nodes {
            for ct in [u, -u] {
                let st = (1.0f64 - ct * ct).sqrt();
                for j in 0..n_phi {
                    let phi = 2.0 * PI * (j as f64 + 0.5) / n_phi as f64;
                    let dir = [(st * phi.cos()) as f32, (st * phi.sin()) as f32, ct as f32];
                    eval_basis(3, dir, &mut y);
                    let weight = w * 2.0 * PI / n_phi as f64;
                    for a in 0..16 {
                        for b in 0..16 {
                            gram[a][b] += weight * y[a] as f64 * y[b] as f64;
                        }
                    }
                }
            }
        }
        for (a, row) in gram.iter().enumerate() {
            for (b, v) in row.iter().enumerate() {
                let expected = if a == b { 1.0 } else { 0.0 };
                assert!((v - expected).abs() < 1e-4, "<Y{a}, Y{b}> = {v}");
            }
        }
    }

    #[test]
    fn shade_adds_residual_and_clamps() {
        // Degree 1, red gets +1 on the Y_1^0 (z) coefficient.
        let mut rest = [0.0f32; 9];
        rest[1] = 1.0;
        let up = shade(1, [0.5, 0.5, 0.5], &rest, [0.0, 0.0, 1.0]);
        assert!((up[0] - (0.5 + C1)).abs() < 1e-6);
        assert_eq!(up[1], 0.5);
        let down = shade(1, [0.5, 0.5, 0.5], &rest, [0.0, 0.0, -1.0]);
        assert!((down[0] - (0.5 - C1)).abs() < 1e-6);
        rest[1] = 10.0;
        assert_eq!(shade(1, [0.5; 3], &rest, [0.0, 0.0, 1.0])[0], 1.0);
        assert_eq!(shade(1, [0.5; 3], &rest, [0.0, 0.0, -1.0])[0], 0.0);
        assert_eq!(
            shade(0, [0.25, 0.5, 2.0], &[], [1.0, 0.0, 0.0]),
            [0.25, 0.5, 1.0]
        );
    }
}
