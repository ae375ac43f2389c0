//! Differentiable front-to-back compositing of a K-buffer (the backward-capable half of depth
//! peeling), written with burn tensor operations so any `Autodiff` backend differentiates it.
//!
//! For pixel centre `p` and its layers `k = 0..K` (point `i_k`, front to back):
//! `α_k = clamp(density_i · (1 − |p − centre_i|² / r_i²), 0, 1)`, `T_k = Π_{j<k} (1 − α_j)`,
//! `C = Σ T_k α_k colour_i` and `A = Σ T_k α_k` (premultiplied colour over black).
//! Gradients reach centres, radii, densities and colours; the choice and order of the layers
//! (`ids`) is not differentiated. Depth enters only through the caller's radius (`r_px = f·r/z`).
//! The per-point inputs reach the layers through [`gather_layers`], whose backward pass is a
//! kernel of its own (burn's generic one is far too slow at training sizes).

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::gather::gather_layers;
use crate::knn::{KnnBackend, PIXEL_CENTER_OFFSET};

/// Errors of [`composite`].
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CompositeError {
    /// Per-point inputs disagree with each other.
    #[error("compositing inputs disagree: {0}")]
    Shape(String),
}

/// Composited image.
#[derive(Debug, Clone)]
pub struct Composite<B: Backend> {
    /// Premultiplied colour `[H, W, C]`.
    pub color: Tensor<B, 3>,
    /// Opacity `[H, W]`.
    pub alpha: Tensor<B, 2>,
}

/// Composites the layers `ids` `[H, W, K]` (−1 for empty, e.g. from [`crate::rasterize_knn`]) of
/// points with pixel-space `centers` `[N, 2]`, screen `radius` `[N]` (pixels), `density` `[N]` and
/// `colors` `[N, C]`.
pub fn composite<B: KnnBackend>(
    ids: Tensor<B, 3, Int>,
    centers: Tensor<B, 2>,
    radius: Tensor<B, 1>,
    density: Tensor<B, 1>,
    colors: Tensor<B, 2>,
) -> Result<Composite<B>, CompositeError> {
    let [h, w, k] = ids.dims();
    let [n, two] = centers.dims();
    let [n_colors, c] = colors.dims();
    if two != 2 {
        return Err(CompositeError::Shape(format!(
            "centres have {two} columns, expected 2"
        )));
    }
    if radius.dims()[0] != n || density.dims()[0] != n || n_colors != n {
        return Err(CompositeError::Shape(format!(
            "{n} centres, {} radii, {} densities, {n_colors} colours",
            radius.dims()[0],
            density.dims()[0]
        )));
    }
    let device = centers.device();
    if n == 0 {
        return Ok(Composite {
            color: Tensor::zeros([h, w, c], &device),
            alpha: Tensor::zeros([h, w], &device),
        });
    }

    let empty = ids.clone().lower_elem(0);
    // One gather of every per-point input; empty layers read point 0 and are masked out below.
    let footprint = Tensor::cat(vec![centers.clone(), radius.clone().reshape([n, 1])], 1);
    let packed = Tensor::cat(
        vec![
            centers,
            radius.reshape([n, 1]),
            density.reshape([n, 1]),
            colors,
        ],
        1,
    );
    let layers = gather_layers(packed, ids, footprint);
    let column = |i: usize| layers.clone().narrow(1, i, 1).reshape([h, w, k]);
    let (cx, cy) = (column(0), column(1));
    // A masked radius of 1 keeps culled points (radius 0) from producing NaN in empty layers.
    let r = column(2).mask_fill(empty.clone(), 1.0);
    let a = column(3);
    let col = layers.narrow(1, 4, c).reshape([h, w, k, c]);

    let u = Tensor::<B, 1, Int>::arange(0..w as i64, &device)
        .float()
        .add_scalar(PIXEL_CENTER_OFFSET)
        .reshape([1, w, 1]);
    let v = Tensor::<B, 1, Int>::arange(0..h as i64, &device)
        .float()
        .add_scalar(PIXEL_CENTER_OFFSET)
        .reshape([h, 1, 1]);
    let d2 = (u - cx).square() + (v - cy).square();
    let alpha = (a * (d2 / r.square()).neg().add_scalar(1.0))
        .clamp(0.0, 1.0)
        .mask_fill(empty, 0.0);

    // Front to back: weight_k = T_k α_k, T_{k+1} = T_k (1 − α_k).
    let mut transmittance = Tensor::<B, 3>::ones([h, w, 1], &device);
    let mut weights = Vec::with_capacity(k);
    for layer in 0..k {
        let alpha_k = alpha.clone().narrow(2, layer, 1);
        weights.push(transmittance.clone() * alpha_k.clone());
        transmittance = transmittance * alpha_k.neg().add_scalar(1.0);
    }
    let weights = Tensor::cat(weights, 2);
    let color = (weights.clone().unsqueeze_dim::<4>(3) * col)
        .sum_dim(2)
        .reshape([h, w, c]);
    let alpha = weights.sum_dim(2).reshape([h, w]);
    Ok(Composite { color, alpha })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knn::{KnnOptions, rasterize_knn_cpu};
    use burn::backend::{Autodiff, NdArray};
    use burn::tensor::TensorData;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    type Cpu = NdArray<f64>;
    type Ad = Autodiff<Cpu>;

    fn tensor<B: Backend, const D: usize>(v: &[f64], shape: [usize; D]) -> Tensor<B, D> {
        Tensor::from_data(TensorData::new(v.to_vec(), shape), &Default::default())
    }

    fn ids_tensor<B: Backend>(ids: &[i32], shape: [usize; 3]) -> Tensor<B, 3, Int> {
        let ids: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        Tensor::from_data(TensorData::new(ids, shape), &Default::default())
    }

    fn values<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
        t.into_data().convert::<f64>().into_vec().unwrap()
    }

    #[test]
    fn two_layers_composite_front_to_back() {
        // Pixel (0, 0): point 0 at distance² 0.25 (radius 1), point 1 behind it exactly on the pixel.
        let ids = ids_tensor::<Cpu>(&[0, 1, -1], [1, 1, 3]);
        let out = composite(
            ids,
            tensor(&[0.5, 0.0, 0.0, 0.0], [2, 2]),
            tensor(&[1.0, 2.0], [2]),
            tensor(&[0.8, 0.5], [2]),
            tensor(&[1.0, 0.0, 0.0, 1.0], [2, 2]),
        )
        .unwrap();
        let a0 = 0.8 * (1.0 - 0.25);
        let a1 = 0.5;
        let color = values(out.color);
        let alpha = values(out.alpha);
        assert!((color[0] - a0).abs() < 1e-12);
        assert!((color[1] - (1.0 - a0) * a1).abs() < 1e-12);
        assert!((alpha[0] - (a0 + (1.0 - a0) * a1)).abs() < 1e-12);
    }

    #[test]
    fn rejects_inconsistent_inputs() {
        let err = composite(
            ids_tensor::<Cpu>(&[0], [1, 1, 1]),
            tensor(&[0.0, 0.0], [1, 2]),
            tensor(&[1.0, 1.0], [2]),
            tensor(&[1.0], [1]),
            tensor(&[1.0], [1, 1]),
        )
        .unwrap_err();
        assert!(matches!(err, CompositeError::Shape(_)), "{err}");
    }

    /// A small scene: point 0 is culled (radius 0) so empty layers gather a zero radius.
    struct Scene {
        centers: Vec<f64>,
        radius: Vec<f64>,
        density: Vec<f64>,
        colors: Vec<f64>,
        ids: Vec<i32>,
        weights_c: Vec<f64>,
        weights_a: Vec<f64>,
    }

    const H: usize = 10;
    const W: usize = 12;
    const K: usize = 4;
    const N: usize = 7;
    const C: usize = 3;

    fn scene() -> Scene {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut s = Scene {
            centers: (0..N)
                .flat_map(|_| [rng.random_range(1.0..11.0), rng.random_range(1.0..9.0)])
                .collect(),
            radius: (0..N).map(|_| rng.random_range(2.5..4.5)).collect(),
            density: (0..N).map(|_| rng.random_range(0.3..0.9)).collect(),
            colors: (0..N * C).map(|_| rng.random_range(0.0..1.0)).collect(),
            ids: vec![],
            weights_c: (0..H * W * C)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect(),
            weights_a: (0..H * W).map(|_| rng.random_range(-1.0..1.0)).collect(),
        };
        s.radius[0] = 0.0;
        let centers: Vec<[f32; 2]> = s
            .centers
            .chunks(2)
            .map(|c| [c[0] as f32, c[1] as f32])
            .collect();
        let depths: Vec<f32> = (0..N).map(|i| 1.0 + i as f32 * 0.1).collect();
        let radii: Vec<f32> = s.radius.iter().map(|&r| r as f32).collect();
        let o = KnnOptions {
            height: H,
            width: W,
            k: K,
            near: 0.0,
        };
        s.ids = rasterize_knn_cpu(&centers, &depths, &radii, &o)
            .unwrap()
            .ids;
        s
    }

    /// Weighted sum of the composited colour and opacity.
    fn loss<B: KnnBackend>(
        s: &Scene,
        centers: Tensor<B, 2>,
        radius: Tensor<B, 1>,
        density: Tensor<B, 1>,
        colors: Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        let out = composite(
            ids_tensor(&s.ids, [H, W, K]),
            centers,
            radius,
            density,
            colors,
        )
        .unwrap();
        (out.color * tensor::<B, 3>(&s.weights_c, [H, W, C])).sum()
            + (out.alpha * tensor::<B, 2>(&s.weights_a, [H, W])).sum()
    }

    #[test]
    fn gradients_match_finite_differences() {
        let s = scene();
        assert!(
            s.ids.iter().any(|&i| i < 0),
            "scene should have empty layers"
        );
        assert!(s.ids.iter().filter(|&&i| i > 0).count() > 100);

        let centers = tensor::<Ad, 2>(&s.centers, [N, 2]).require_grad();
        let radius = tensor::<Ad, 1>(&s.radius, [N]).require_grad();
        let density = tensor::<Ad, 1>(&s.density, [N]).require_grad();
        let colors = tensor::<Ad, 2>(&s.colors, [N, C]).require_grad();
        let grads = loss(
            &s,
            centers.clone(),
            radius.clone(),
            density.clone(),
            colors.clone(),
        )
        .backward();
        let analytic = [
            values(centers.grad(&grads).unwrap()),
            values(radius.grad(&grads).unwrap()),
            values(density.grad(&grads).unwrap()),
            values(colors.grad(&grads).unwrap()),
        ];

        let eval = |p: &[Vec<f64>; 4]| {
            values(loss::<Cpu>(
                &s,
                tensor(&p[0], [N, 2]),
                tensor(&p[1], [N]),
                tensor(&p[2], [N]),
                tensor(&p[3], [N, C]),
            ))[0]
        };
        let base = [
            s.centers.clone(),
            s.radius.clone(),
            s.density.clone(),
            s.colors.clone(),
        ];
        let eps = 1e-6;
        let mut nonzero = 0;
        for (group, grad) in analytic.iter().enumerate() {
            for (j, &g) in grad.iter().enumerate() {
                let (mut plus, mut minus) = (base.clone(), base.clone());
                plus[group][j] += eps;
                minus[group][j] -= eps;
                let fd = (eval(&plus) - eval(&minus)) / (2.0 * eps);
                assert!(
                    g.is_finite() && (g - fd).abs() <= 1e-6 + 1e-5 * fd.abs(),
                    "parameter group {group} entry {j}: analytic {g}, finite difference {fd}"
                );
                if fd.abs() > 1e-3 {
                    nonzero += 1;
                }
            }
        }
        // Every group but the culled point's entries must see real gradient.
        assert!(nonzero > 30, "only {nonzero} gradients were non-trivial");
        assert_eq!(analytic[1][0], 0.0);
    }
}
