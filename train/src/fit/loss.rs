//! Image losses and metrics: MSE, PSNR, SSIM (Gaussian window 11, σ 1.5) and the soft-IoU mask
//! loss. SSIM stands in for 4K4D's LPIPS term: no pretrained VGG can be downloaded here.

use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};

/// Side of the SSIM window.
const WINDOW: usize = 11;
/// Standard deviation of the SSIM window.
const SIGMA: f64 = 1.5;

/// Mean squared error between two images of the same shape (scalar tensor `[1]`).
pub fn mse<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> Tensor<B, 1> {
    (a - b).square().mean()
}

/// PSNR in dB of a mean squared error on 0..1 images.
pub fn psnr(mse: f64) -> f64 {
    -10.0 * mse.max(1e-12).log10()
}

/// Mean SSIM of two `[H, W, C]` images in 0..1 (scalar tensor `[1]`), with zero padding at the
/// borders.
pub fn ssim<B: Backend>(a: Tensor<B, 3>, b: Tensor<B, 3>) -> Tensor<B, 1> {
    let [h, w, c] = a.dims();
    let device = a.device();
    let to_nchw = |t: Tensor<B, 3>| t.permute([2, 0, 1]).reshape([1, c, h, w]);
    let (a, b) = (to_nchw(a), to_nchw(b));
    let maps = Tensor::cat(
        vec![
            a.clone(),
            b.clone(),
            a.clone().square(),
            b.clone().square(),
            a * b,
        ],
        1,
    );
    let ch = 5 * c;
    let g: Vec<f32> = {
        let raw: Vec<f64> = (0..WINDOW)
            .map(|i| {
                let x = i as f64 - (WINDOW / 2) as f64;
                (-x * x / (2.0 * SIGMA * SIGMA)).exp()
            })
            .collect();
        let sum: f64 = raw.iter().sum();
        raw.iter().map(|v| (v / sum) as f32).collect()
    };
    let kernel: Vec<f32> = (0..ch).flat_map(|_| g.iter().copied()).collect();
    let horizontal =
        Tensor::<B, 4>::from_data(TensorData::new(kernel.clone(), [ch, 1, 1, WINDOW]), &device);
    let vertical = Tensor::<B, 4>::from_data(TensorData::new(kernel, [ch, 1, WINDOW, 1]), &device);
    let pad = WINDOW / 2;
    let blurred = conv2d(
        maps,
        horizontal,
        None,
        ConvOptions::new([1, 1], [0, pad], [1, 1], ch),
    );
    let blurred = conv2d(
        blurred,
        vertical,
        None,
        ConvOptions::new([1, 1], [pad, 0], [1, 1], ch),
    );
    let part = |i: usize| blurred.clone().narrow(1, i * c, c);
    let (mu_a, mu_b) = (part(0), part(1));
    let var_a = part(2) - mu_a.clone().square();
    let var_b = part(3) - mu_b.clone().square();
    let cov = part(4) - mu_a.clone() * mu_b.clone();
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let num = (mu_a.clone() * mu_b.clone()).mul_scalar(2.0).add_scalar(c1)
        * cov.mul_scalar(2.0).add_scalar(c2);
    let den = (mu_a.square() + mu_b.square()).add_scalar(c1) * (var_a + var_b).add_scalar(c2);
    (num / den).mean()
}

/// Soft-IoU mask loss `1 − ΣAM / (ΣA + ΣM − ΣAM)` of accumulated opacity `alpha` against the
/// `mask` (both `[H, W]`); the denominator carries no gradient (as in 4K4D).
pub fn soft_iou_loss<B: Backend>(alpha: Tensor<B, 2>, mask: Tensor<B, 2>) -> Tensor<B, 1> {
    let inter = ordered_sum(alpha.clone() * mask.clone());
    let union = (ordered_sum(alpha) + ordered_sum(mask) - inter.clone())
        .detach()
        .clamp_min(1e-6);
    (inter / union).neg().add_scalar(1.0)
}

/// Sum of all elements (`[1]`) by row reductions, which add in a fixed order: burn's full `sum`
/// may add per-block partial sums atomically, in whatever order the blocks finish, and the
/// gradient of [`soft_iou_loss`] depends on the sum's value. Two stages (rows of about √n, then
/// their sums) keep the GPU busy: one row of a million pixels took 12 ms on an H200.
fn ordered_sum<B: Backend>(t: Tensor<B, 2>) -> Tensor<B, 1> {
    let n = t.shape().num_elements();
    let cols = (n as f64).sqrt().ceil().max(1.0) as usize;
    let rows = n.div_ceil(cols);
    let flat = t.reshape([n]);
    let flat = if rows * cols > n {
        let device = flat.device();
        Tensor::cat(vec![flat, Tensor::zeros([rows * cols - n], &device)], 0)
    } else {
        flat
    };
    flat.reshape([rows, cols])
        .sum_dim(1)
        .reshape([1, rows])
        .sum_dim(1)
        .reshape([1])
}

/// Hard IoU of `alpha > 0.5` against `mask > 0.5` (1 when both are empty).
pub fn mask_iou(alpha: &[f32], mask: &[f32]) -> f64 {
    let (mut inter, mut union) = (0usize, 0usize);
    for (a, m) in alpha.iter().zip(mask) {
        let (a, m) = (*a > 0.5, *m > 0.5);
        inter += (a && m) as usize;
        union += (a || m) as usize;
    }
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    fn image(f: impl Fn(usize, usize, usize) -> f32) -> Tensor<NdArray, 3> {
        let v: Vec<f32> = (0..20 * 24 * 3)
            .map(|i| f(i / 72, (i / 3) % 24, i % 3))
            .collect();
        Tensor::from_data(TensorData::new(v, [20, 24, 3]), &Default::default())
    }

    fn scalar(t: Tensor<NdArray, 1>) -> f32 {
        t.into_data().to_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn ssim_is_one_for_equal_images_and_drops_with_noise() {
        let a = image(|y, x, c| ((x * 7 + y * 3 + c * 11) % 17) as f32 / 17.0);
        let same = scalar(ssim(a.clone(), a.clone()));
        assert!((same - 1.0).abs() < 1e-4, "{same}");
        let b = image(|y, x, c| {
            (((x * 7 + y * 3 + c * 11) % 17) as f32 / 17.0 + ((x * y) % 5) as f32 * 0.05).min(1.0)
        });
        let noisy = scalar(ssim(a.clone(), b));
        assert!(noisy < 0.99 && noisy > 0.0, "{noisy}");
        let dark = scalar(ssim(a, image(|_, _, _| 0.0)));
        assert!(dark < noisy, "{dark} vs {noisy}");
    }

    #[test]
    fn ordered_sum_adds_every_element_of_any_shape() {
        for (h, w) in [(1, 1), (7, 11), (32, 32), (3, 1000)] {
            let v: Vec<f32> = (0..h * w).map(|i| ((i * 37) % 101) as f32 * 0.25).collect();
            let host: f32 = v.iter().sum();
            let t =
                Tensor::<NdArray, 2>::from_data(TensorData::new(v, [h, w]), &Default::default());
            assert_eq!(scalar(ordered_sum(t)), host, "{h}x{w}");
        }
    }

    #[test]
    fn iou_losses() {
        let dev = Default::default();
        let m = Tensor::<NdArray, 2>::from_data(
            TensorData::new(vec![1.0f32, 1.0, 0.0, 0.0], [2, 2]),
            &dev,
        );
        let a = Tensor::<NdArray, 2>::from_data(
            TensorData::new(vec![1.0f32, 0.0, 1.0, 0.0], [2, 2]),
            &dev,
        );
        assert!((scalar(soft_iou_loss(a, m.clone())) - (1.0 - 1.0 / 3.0)).abs() < 1e-6);
        assert!(scalar(soft_iou_loss(m.clone(), m)).abs() < 1e-6);
        assert_eq!(
            mask_iou(&[0.9, 0.2, 0.7, 0.0], &[1.0, 1.0, 0.0, 0.0]),
            1.0 / 3.0
        );
        assert!((psnr(0.01) - 20.0).abs() < 1e-9);
    }
}
