//! The 4D feature grid: six dense 2D planes (xy, xz, yz, xt, yt, zt), each at several
//! resolutions. A point's feature is, per level, the sum over the six planes of the bilinearly
//! interpolated plane features; the levels are concatenated.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use rand_chacha::ChaCha8Rng;

use super::host_uniform;
use yakumo_kernels::{KnnBackend, gather_rows};

/// The axis pairs of the six planes (0 = x, 1 = y, 2 = z, 3 = t).
pub const PLANES: [(usize, usize); 6] = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)];

/// Dense planes of learnable features.
#[derive(Module, Debug)]
pub struct FeatureGrid<B: Backend> {
    /// `planes[level * 6 + plane]`: `[res_b * res_a, features]`, row-major over (b, a).
    planes: Vec<Param<Tensor<B, 2>>>,
}

/// The shape of a [`FeatureGrid`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GridShape {
    /// Spatial resolution of each level.
    pub levels: Vec<usize>,
    /// Resolution along time (at most each level's spatial resolution).
    pub time: usize,
    /// Features per level.
    pub features: usize,
}

impl GridShape {
    /// Resolution of `axis` at `level`.
    pub fn res(&self, level: usize, axis: usize) -> usize {
        if axis == 3 {
            self.time.min(self.levels[level]).max(2)
        } else {
            self.levels[level]
        }
    }

    /// Length of a point's feature vector.
    pub fn feature_len(&self) -> usize {
        self.levels.len() * self.features
    }
}

impl<B: Backend> FeatureGrid<B> {
    /// Planes initialised uniformly in ±`scale`, drawn from `rng` on the host.
    pub fn new(
        shape: &GridShape,
        scale: f32,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> FeatureGrid<B> {
        let mut planes = Vec::new();
        for level in 0..shape.levels.len() {
            for (a, b) in PLANES {
                let cells = shape.res(level, a) * shape.res(level, b);
                planes.push(Param::from_tensor(host_uniform(
                    rng,
                    [cells, shape.features],
                    scale,
                    device,
                )));
            }
        }
        FeatureGrid { planes }
    }
}

impl<B: KnnBackend> FeatureGrid<B> {
    /// Features `[N, levels·features]` of points at normalised coordinates `coords` `[N, 4]`
    /// (x, y, z, t in 0..1; outside values are clamped to the border).
    pub fn lookup(&self, shape: &GridShape, coords: Tensor<B, 2>) -> Tensor<B, 2> {
        let coords = coords.clamp(0.0, 1.0);
        let axes: Vec<Tensor<B, 1>> = (0..4)
            .map(|a| {
                let n = coords.dims()[0];
                coords.clone().narrow(1, a, 1).reshape([n])
            })
            .collect();
        let mut levels = Vec::with_capacity(shape.levels.len());
        for level in 0..shape.levels.len() {
            let mut sum: Option<Tensor<B, 2>> = None;
            for (p, (a, b)) in PLANES.iter().copied().enumerate() {
                let plane = self.planes[level * PLANES.len() + p].val();
                let f = bilinear(
                    plane,
                    axes[a].clone(),
                    axes[b].clone(),
                    shape.res(level, a),
                    shape.res(level, b),
                );
                sum = Some(match sum {
                    Some(s) => s + f,
                    None => f,
                });
            }
            levels.push(sum.expect("six planes"));
        }
        Tensor::cat(levels, 1)
    }
}

/// Bilinear lookup in a `[res_v · res_u, C]` table at `u, v` in 0..1 (clamped): `[N, C]`.
/// The interpolation weights are differentiable in `u` and `v`; the cell choice is not.
pub fn bilinear<B: KnnBackend>(
    table: Tensor<B, 2>,
    u: Tensor<B, 1>,
    v: Tensor<B, 1>,
    res_u: usize,
    res_v: usize,
) -> Tensor<B, 2> {
    let x = u.mul_scalar((res_u - 1) as f64);
    let y = v.mul_scalar((res_v - 1) as f64);
    let x0 = x.clone().detach().floor().clamp(0.0, (res_u - 2) as f64);
    let y0 = y.clone().detach().floor().clamp(0.0, (res_v - 2) as f64);
    let fx = (x - x0.clone()).clamp(0.0, 1.0).unsqueeze_dim::<2>(1);
    let fy = (y - y0.clone()).clamp(0.0, 1.0).unsqueeze_dim::<2>(1);
    let base: Tensor<B, 1, Int> = y0.int().mul_scalar(res_u as i64) + x0.int();
    let corner = |offset: i64| gather_rows(table.clone(), base.clone().add_scalar(offset));
    let top = corner(0) * fx.clone().neg().add_scalar(1.0) + corner(1) * fx.clone();
    let bottom =
        corner(res_u as i64) * fx.clone().neg().add_scalar(1.0) + corner(res_u as i64 + 1) * fx;
    top * fy.clone().neg().add_scalar(1.0) + bottom * fy
}
