//! Real spherical harmonics up to degree 3 on tensors, in the ordering and sign convention of
//! `yakumo_core::sh` (so trained and baked coefficients mean the same thing).

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use yakumo_core::sh::{C0, C1, C2, C3};

/// Number of degree-3 basis functions.
pub const SH_COEFFS: usize = 16;

/// The 16 basis values `[N, 16]` for directions `dirs` `[N, 3]` (normalised here; zero vectors
/// give only the constant term).
pub fn sh_basis<B: Backend>(dirs: Tensor<B, 2>) -> Tensor<B, 2> {
    let n = dirs.dims()[0];
    let len = dirs.clone().square().sum_dim(1).sqrt().clamp_min(1e-12);
    let d = dirs / len;
    let col = |i: usize| d.clone().narrow(1, i, 1);
    let (x, y, z) = (col(0), col(1), col(2));
    let (xx, yy, zz) = (x.clone().square(), y.clone().square(), z.clone().square());
    let c = |v: f32| v as f64;
    let ones = x.clone().mul_scalar(0.0).add_scalar(c(C0));
    let terms = vec![
        ones,
        y.clone().mul_scalar(-c(C1)),
        z.clone().mul_scalar(c(C1)),
        x.clone().mul_scalar(-c(C1)),
        (x.clone() * y.clone()).mul_scalar(c(C2[0])),
        (y.clone() * z.clone()).mul_scalar(-c(C2[0])),
        (zz.clone().mul_scalar(2.0) - xx.clone() - yy.clone()).mul_scalar(c(C2[1])),
        (x.clone() * z.clone()).mul_scalar(-c(C2[0])),
        (xx.clone() - yy.clone()).mul_scalar(c(C2[2])),
        (y.clone() * (xx.clone().mul_scalar(3.0) - yy.clone())).mul_scalar(-c(C3[0])),
        (x.clone() * y.clone() * z.clone()).mul_scalar(c(C3[1])),
        (y.clone() * (zz.clone().mul_scalar(4.0) - xx.clone() - yy.clone())).mul_scalar(-c(C3[2])),
        (z.clone()
            * (zz.clone().mul_scalar(2.0)
                - xx.clone().mul_scalar(3.0)
                - yy.clone().mul_scalar(3.0)))
        .mul_scalar(c(C3[3])),
        (x.clone() * (zz.mul_scalar(4.0) - xx.clone() - yy.clone())).mul_scalar(-c(C3[2])),
        (z * (xx.clone() - yy.clone())).mul_scalar(c(C3[4])),
        (x * (xx - yy.mul_scalar(3.0))).mul_scalar(-c(C3[0])),
    ];
    let out = Tensor::cat(terms, 1);
    debug_assert_eq!(out.dims(), [n, SH_COEFFS]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::tensor::TensorData;

    #[test]
    fn matches_the_core_basis() {
        let dirs = [[0.3f32, -0.5, 0.8], [1.0, 0.0, 0.0], [-0.2, 0.9, -0.4]];
        let flat: Vec<f32> = dirs.iter().flatten().copied().collect();
        let t = Tensor::<NdArray, 2>::from_data(TensorData::new(flat, [3, 3]), &Default::default());
        let got: Vec<f32> = sh_basis(t).into_data().to_vec().unwrap();
        for (i, d) in dirs.iter().enumerate() {
            let mut want = [0.0f32; 16];
            yakumo_core::sh::eval_basis(3, *d, &mut want);
            for j in 0..16 {
                assert!(
                    (got[i * 16 + j] - want[j]).abs() < 1e-5,
                    "dir {i} coeff {j}"
                );
            }
        }
    }
}
