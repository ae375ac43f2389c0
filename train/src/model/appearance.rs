//! Hybrid appearance: image-based blending of the point's colour in nearby source views (softmax
//! weights from an MLP on [feature, sampled rgb]; no view direction, which is what makes baking
//! possible) plus a view-dependent SH residual `tanh(Σ c_i·Y_i(d))·λ`.

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use yakumo_core::render_ref::ViewF32;

use super::sh::{SH_COEFFS, sh_basis};
use super::{Model, ModelSpec, PointGeometry};
use crate::model::grid::bilinear;
use crate::render::{project, view_eye};
use yakumo_kernels::KnnBackend;

/// Smallest trust whose logarithm is added to a source's logit: a source that sees background
/// gets a weight of about e⁻⁶⁹ against one that sees foreground, and when every source sees
/// background they are back on an equal footing (the blending head decides).
const TRUST_FLOOR: f64 = 1e-30;

/// A source view on the device: its camera and its image `[H·W, 4]`.
#[derive(Clone, Debug)]
pub struct SourceImage<B: Backend> {
    /// The source camera.
    pub view: ViewF32,
    /// Premultiplied colour and mask, row-major pixels.
    pub rgba: Tensor<B, 2>,
}

/// Floor of the sampled mask when dividing it out of the premultiplied colour (background samples
/// stay finite: black).
const MIN_COVERAGE: f64 = 1e-3;

/// Colour of each point sampled bilinearly in `source` (`[N, 3]`, the foreground's colour: the
/// premultiplied sample divided by the sampled mask) and how much the source can be trusted there
/// (`[N]`: the sampled mask, 0 where the point projects outside the image or onto background).
pub fn sample_source<B: KnnBackend>(
    positions: Tensor<B, 2>,
    source: &SourceImage<B>,
) -> (Tensor<B, 2>, Tensor<B, 1>) {
    let (xy, z) = project(positions, &source.view);
    let n = z.dims()[0];
    let (w, h) = (source.view.width as f64, source.view.height as f64);
    let x = xy.clone().narrow(1, 0, 1).reshape([n]);
    let y = xy.narrow(1, 1, 1).reshape([n]);
    let inside = x.clone().greater_equal_elem(0.0).float()
        * x.clone().lower_equal_elem(w - 1.0).float()
        * y.clone().greater_equal_elem(0.0).float()
        * y.clone().lower_equal_elem(h - 1.0).float()
        * z.greater_elem(yakumo_core::render_ref::NEAR as f64).float();
    let u = x.div_scalar((w - 1.0).max(1.0));
    let v = y.div_scalar((h - 1.0).max(1.0));
    let rgba = bilinear(
        source.rgba.clone(),
        u,
        v,
        source.view.width as usize,
        source.view.height as usize,
    );
    let coverage = rgba.clone().narrow(1, 3, 1).clamp(0.0, 1.0);
    let rgb = rgba.narrow(1, 0, 3) / coverage.clone().clamp_min(MIN_COVERAGE);
    let trust = inside.detach() * coverage.reshape([n]).detach();
    (rgb.clamp(0.0, 1.0), trust)
}

/// Colour of every point seen from `eye`'s view: blended source colours plus the SH residual,
/// clamped to 0..1 (`[N, 3]`).
pub fn point_colors<B: KnnBackend>(
    model: &Model<B>,
    spec: &ModelSpec,
    geometry: &PointGeometry<B>,
    sources: &[SourceImage<B>],
    eye: &ViewF32,
) -> Tensor<B, 2> {
    let ibr = blended_colors(model, geometry, sources);
    let residual = sh_residual(model, spec, geometry, eye);
    (ibr + residual).clamp(0.0, 1.0)
}

/// The image-based part: softmax-weighted source colours `[N, 3]`.
pub fn blended_colors<B: KnnBackend>(
    model: &Model<B>,
    geometry: &PointGeometry<B>,
    sources: &[SourceImage<B>],
) -> Tensor<B, 2> {
    let n = geometry.positions.dims()[0];
    let device = geometry.positions.device();
    if sources.is_empty() {
        return Tensor::zeros([n, 3], &device);
    }
    let mut logits = Vec::with_capacity(sources.len());
    let mut colors = Vec::with_capacity(sources.len());
    for source in sources {
        let (rgb, trust) = sample_source(geometry.positions.clone(), source);
        let input = Tensor::cat(vec![geometry.features.clone(), rgb.clone()], 1);
        // Weight ∝ trust · exp(logit): a source that sees background at the point counts for
        // nothing, unless no source sees foreground there.
        let logit =
            model.blend.forward(input) + trust.clamp_min(TRUST_FLOOR).log().unsqueeze_dim(1);
        logits.push(logit);
        colors.push(rgb.unsqueeze_dim::<3>(1));
    }
    let weights = softmax(Tensor::cat(logits, 1), 1).unsqueeze_dim::<3>(2);
    (Tensor::cat(colors, 1) * weights)
        .sum_dim(1)
        .reshape([n, 3])
}

/// The view-dependent residual `tanh(Σ_i c_i·Y_i(d))·λ` `[N, 3]`, `d` from the eye to the point.
pub fn sh_residual<B: Backend>(
    model: &Model<B>,
    spec: &ModelSpec,
    geometry: &PointGeometry<B>,
    eye: &ViewF32,
) -> Tensor<B, 2> {
    let n = geometry.positions.dims()[0];
    let device = geometry.positions.device();
    let eye = Tensor::<B, 1>::from_floats(view_eye(eye), &device).reshape([1, 3]);
    let basis = sh_basis(geometry.positions.clone() - eye).unsqueeze_dim::<3>(1);
    let coeffs = model
        .sh
        .forward(geometry.features.clone())
        .reshape([n, 3, SH_COEFFS]);
    (coeffs * basis)
        .sum_dim(2)
        .reshape([n, 3])
        .tanh()
        .mul_scalar(spec.sh_lambda as f64)
}
