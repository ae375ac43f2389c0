//! The 4K4D model on burn: per-frame learnable point positions, a 4D feature grid, a geometry
//! head (radius, density) and hybrid appearance (image-based blending + SH residual).
//!
//! [`ModelSpec`] holds everything that is not learned (sizes, scene bounds, radius limits) and is
//! saved as JSON beside the checkpoints; [`Model`] holds the learnable parameters, split into
//! submodules so each group gets its own optimizer and learning rate.

pub mod appearance;
pub mod grid;
pub mod mlp;
pub mod sh;

use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use yakumo_kernels::GradSum;

pub use appearance::{SourceImage, point_colors};
pub use grid::{FeatureGrid, GridShape};
pub use mlp::Mlp;

/// Width of the hidden layers of every head.
pub const HIDDEN: usize = 64;
/// Features of one grid level (4K4D: 8).
pub const FEATURES_PER_LEVEL: usize = 8;
/// 4K4D's radius limits in metres, for a human-size subject sampled with 262,144 points.
pub const REFERENCE_RADIUS: (f32, f32) = (0.001, 0.015);
/// Typical spacing of 262,144 points on a human's surface (metres), the scale the reference
/// radius limits assume.
pub const REFERENCE_SPACING: f32 = 0.0028;

/// Everything about a model that is not learned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Frames the model covers (positions are per frame).
    pub frames: usize,
    /// Points per frame.
    pub points: usize,
    /// Lower corner of the box the grid coordinates are normalised to (metres).
    pub bounds_min: [f32; 3],
    /// Upper corner of that box.
    pub bounds_max: [f32; 3],
    /// Smallest radius the geometry head can give (metres).
    pub radius_min: f32,
    /// Largest radius.
    pub radius_max: f32,
    /// Grid resolutions.
    pub grid: GridShape,
    /// Scale λ of the SH residual: `tanh(SH(d))·λ`.
    pub sh_lambda: f32,
    /// Source views blended per rendered view.
    pub sources: usize,
    /// Radius every point starts with (metres), set through the geometry head's bias; `None`
    /// keeps 4K4D's start, `sigmoid(−5)` of the way from the smallest to the largest radius.
    #[serde(default)]
    pub initial_radius: Option<f32>,
}

impl ModelSpec {
    /// A spec for `frames` frames of `points` points inside `[min, max]`, whose typical point
    /// spacing is `spacing` metres: the reference radius limits are scaled by
    /// `spacing / REFERENCE_SPACING`, so coverage matches 4K4D whatever the subject size and point
    /// count. `levels` are the grid's spatial resolutions.
    pub fn new(
        frames: usize,
        points: usize,
        min: [f32; 3],
        max: [f32; 3],
        spacing: f32,
        levels: Vec<usize>,
    ) -> ModelSpec {
        let scale = spacing / REFERENCE_SPACING;
        ModelSpec {
            frames,
            points,
            bounds_min: min,
            bounds_max: max,
            radius_min: REFERENCE_RADIUS.0 * scale,
            radius_max: REFERENCE_RADIUS.1 * scale,
            grid: GridShape {
                levels,
                time: frames.max(2),
                features: FEATURES_PER_LEVEL,
            },
            sh_lambda: 0.25,
            sources: 4,
            initial_radius: None,
        }
    }

    /// Normalised time of frame index `frame` (0..1).
    pub fn time(&self, frame: usize) -> f32 {
        if self.frames > 1 {
            frame as f32 / (self.frames - 1) as f32
        } else {
            0.0
        }
    }

    /// Length scale of the scene relative to the reference (radius limits / reference limits).
    pub fn scene_scale(&self) -> f32 {
        self.radius_max / REFERENCE_RADIUS.1
    }
}

/// A tensor of `shape` with values uniform in ±`bound`, drawn from `rng` on the host.
pub fn host_uniform<B: Backend, const D: usize>(
    rng: &mut ChaCha8Rng,
    shape: [usize; D],
    bound: f32,
    device: &B::Device,
) -> Tensor<B, D> {
    let values: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|_| rng.random_range(-bound..=bound))
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// The geometry head `feature → (radius logit, density logit)`; with `spec.initial_radius` its
/// radius bias is set so that a zero output gives that radius.
fn geometry_head<B: Backend>(
    spec: &ModelSpec,
    features: usize,
    rng: &mut ChaCha8Rng,
    device: &B::Device,
) -> Mlp<B> {
    let mut head = Mlp::new(&[features, HIDDEN, HIDDEN, 2], rng, device);
    if let Some(r) = spec.initial_radius {
        let q =
            ((r - spec.radius_min) / (spec.radius_max - spec.radius_min)).clamp(1e-4, 1.0 - 1e-4);
        let logit = (q / (1.0 - q)).ln() + RADIUS_LOGIT_SHIFT;
        head.set_output_bias(0, logit, device);
    }
    head
}

/// The radius head's output is shifted by this before the sigmoid (4K4D: `sigmoid(o − 5)`).
const RADIUS_LOGIT_SHIFT: f32 = 5.0;

/// Per-frame point positions.
#[derive(Module, Debug)]
pub struct Positions<B: Backend> {
    /// `frames[i]`: `[N, 3]` metres.
    pub frames: Vec<Param<Tensor<B, 2>>>,
}

/// The learnable parameters, one submodule per optimizer group.
#[derive(Module, Debug)]
pub struct Model<B: Backend> {
    /// Point positions per frame.
    pub positions: Positions<B>,
    /// The 4D feature grid.
    pub grid: FeatureGrid<B>,
    /// Geometry head: feature → (radius logit, density logit).
    pub geometry: Mlp<B>,
    /// Blending head: [feature, source rgb] → blend logit.
    pub blend: Mlp<B>,
    /// SH head: feature → 3 × 16 SH coefficients.
    pub sh: Mlp<B>,
}

/// What the model says about the points of one frame.
#[derive(Clone, Debug)]
pub struct PointGeometry<B: Backend> {
    /// Positions `[N, 3]`.
    pub positions: Tensor<B, 2>,
    /// Grid features `[N, F]`.
    pub features: Tensor<B, 2>,
    /// Radii `[N]` (metres).
    pub radius: Tensor<B, 1>,
    /// Densities `[N]` (0..1).
    pub density: Tensor<B, 1>,
}

impl<B: Backend> Model<B> {
    /// A new model whose frame `i` starts at the points `initial[i]` (each `spec.points` long);
    /// every other parameter is drawn from `seed` on the host, so a seed gives the same model on
    /// every backend and in every process.
    pub fn new(
        spec: &ModelSpec,
        initial: &[Vec<[f32; 3]>],
        seed: u64,
        device: &B::Device,
    ) -> Model<B> {
        assert_eq!(initial.len(), spec.frames, "one point set per frame");
        let f = spec.grid.feature_len();
        let rng = &mut ChaCha8Rng::seed_from_u64(seed);
        Model {
            positions: Positions {
                frames: initial
                    .iter()
                    .map(|pts| {
                        let flat: Vec<f32> = pts.iter().flatten().copied().collect();
                        Param::from_tensor(Tensor::from_data(
                            TensorData::new(flat, [pts.len(), 3]),
                            device,
                        ))
                    })
                    .collect(),
            },
            grid: FeatureGrid::new(&spec.grid, 0.1, rng, device),
            geometry: geometry_head(spec, f, rng, device),
            blend: Mlp::new(&[f + 3, HIDDEN, 1], rng, device).with_zero_output(device),
            sh: Mlp::new(&[f, HIDDEN, 3 * sh::SH_COEFFS], rng, device).with_zero_output(device),
        }
    }
}

impl<B: yakumo_kernels::KnnBackend> Model<B> {
    /// Positions, features, radii and densities of frame index `frame`; `sum` is how the feature
    /// grid's gradient is summed.
    pub fn geometry(&self, spec: &ModelSpec, frame: usize, sum: GradSum) -> PointGeometry<B> {
        let positions = self.positions.frames[frame].val();
        let device = positions.device();
        let n = positions.dims()[0];
        let min = Tensor::<B, 1>::from_floats(spec.bounds_min, &device).reshape([1, 3]);
        let extent: Vec<f32> = (0..3)
            .map(|i| (spec.bounds_max[i] - spec.bounds_min[i]).max(1e-6))
            .collect();
        let extent = Tensor::<B, 1>::from_floats(extent.as_slice(), &device).reshape([1, 3]);
        let xyz = (positions.clone() - min) / extent;
        let t = Tensor::<B, 2>::full([n, 1], spec.time(frame), &device);
        let features = self
            .grid
            .lookup(&spec.grid, Tensor::cat(vec![xyz, t], 1), sum);
        let out = self.geometry.forward(features.clone());
        let radius = sigmoid(
            out.clone()
                .narrow(1, 0, 1)
                .sub_scalar(RADIUS_LOGIT_SHIFT as f64),
        )
        .mul_scalar((spec.radius_max - spec.radius_min) as f64)
        .add_scalar(spec.radius_min as f64)
        .reshape([n]);
        let density = sigmoid(out.narrow(1, 1, 1).add_scalar(5.0)).reshape([n]);
        PointGeometry {
            positions,
            features,
            radius,
            density,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    fn radii(spec: &ModelSpec, seed: u64) -> Vec<f32> {
        let points: Vec<[f32; 3]> = (0..500)
            .map(|i| {
                let a = i as f32 * 0.37;
                [a.cos() * 0.3, a.sin() * 0.3, (i as f32 / 500.0) * 1.5]
            })
            .collect();
        let model = Model::<NdArray>::new(spec, &[points], seed, &Default::default());
        model
            .geometry(spec, 0, GradSum::Atomic)
            .radius
            .into_data()
            .to_vec()
            .unwrap()
    }

    #[test]
    fn initial_radius_sets_where_radii_start_and_seeds_repeat() {
        let mut spec = ModelSpec::new(
            1,
            500,
            [-0.4, -0.4, 0.0],
            [0.4, 0.4, 1.6],
            0.01,
            vec![8, 16],
        );
        let reference = radii(&spec, 3);
        assert_eq!(reference, radii(&spec, 3), "same seed, same model");
        assert_ne!(reference, radii(&spec, 4));
        let median = |mut v: Vec<f32>| {
            v.sort_by(f32::total_cmp);
            v[v.len() / 2]
        };
        // 4K4D's start: barely above the smallest radius.
        let m = median(reference);
        assert!(m > spec.radius_min && m < spec.radius_min * 1.2, "{m}");
        spec.initial_radius = Some(0.012);
        let m = median(radii(&spec, 3));
        assert!(
            (m - 0.012).abs() < 0.002,
            "median radius {m}, asked for 0.012"
        );
    }
}
