//! The differentiable point renderer: projection of world points into a view, the per-pixel
//! K-nearest buffer from `yakumo_kernels::rasterize_knn` (not differentiated) and front-to-back
//! compositing with `yakumo_kernels::composite` (differentiable in positions, radii, densities and
//! colours). It follows the rendering rule of `yakumo_core::render_ref`.

use crate::model::{Model, ModelSpec, SourceImage, point_colors};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use yakumo_core::render_ref::{NEAR, ViewF32};
use yakumo_kernels::{
    Composite, CompositeError, GradSum, KnnBackend, KnnError, KnnOptions, composite, rasterize_knn,
};

/// Layers per pixel during training (4K4D: 15).
pub const TRAIN_K: usize = 15;

/// Errors of rendering.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The rasteriser refused its inputs.
    #[error("rasteriser: {0}")]
    Knn(#[from] KnnError),
    /// Compositing refused its inputs.
    #[error("compositing: {0}")]
    Composite(#[from] CompositeError),
}

/// The camera centre of a view as an array.
pub fn view_eye(view: &ViewF32) -> [f32; 3] {
    view.eye
}

/// Projects world points `[N, 3]` into `view`: pixel positions `[N, 2]` and camera depths `[N]`.
/// Depths below the near plane are clamped inside the division so culled points stay finite.
pub fn project<B: Backend>(
    positions: Tensor<B, 2>,
    view: &ViewF32,
) -> (Tensor<B, 2>, Tensor<B, 1>) {
    let device = positions.device();
    let n = positions.dims()[0];
    let r = view.rot;
    let rt: Vec<f32> = (0..3).flat_map(|i| (0..3).map(move |j| r[j][i])).collect();
    let rt = Tensor::<B, 2>::from_data(TensorData::new(rt, [3, 3]), &device);
    let t = Tensor::<B, 1>::from_floats(view.t, &device).reshape([1, 3]);
    let cam = positions.matmul(rt) + t;
    let z = cam.clone().narrow(1, 2, 1);
    let inv_z = z.clone().clamp_min(NEAR as f64 * 0.5).recip();
    let xn = cam.clone().narrow(1, 0, 1) * inv_z.clone();
    let yn = cam.narrow(1, 1, 1) * inv_z;
    let x = xn.mul_scalar(view.fx as f64) + yn.clone().mul_scalar(view.skew as f64);
    let x = x.add_scalar(view.cx as f64);
    let y = yn.mul_scalar(view.fy as f64).add_scalar(view.cy as f64);
    (Tensor::cat(vec![x, y], 1), z.reshape([n]))
}

/// Renders points with world `radius` `[N]`, `density` `[N]` and `colors` `[N, C]` into `view`
/// with `k` layers per pixel: premultiplied colour `[H, W, C]` and opacity `[H, W]`.
pub fn render_points<B: KnnBackend>(
    positions: Tensor<B, 2>,
    radius: Tensor<B, 1>,
    density: Tensor<B, 1>,
    colors: Tensor<B, 2>,
    view: &ViewF32,
    k: usize,
) -> Result<Composite<B>, RenderError> {
    let (centers, z) = project(positions, view);
    let radius_px = radius.mul_scalar(view.fy as f64) / z.clone().clamp_min(NEAR as f64 * 0.5);
    let options = KnnOptions {
        height: view.height as usize,
        width: view.width as usize,
        k,
        near: NEAR,
    };
    let knn = rasterize_knn(
        centers.clone().detach(),
        z.detach(),
        radius_px.clone().detach(),
        options,
    )?;
    Ok(composite(knn.ids, centers, radius_px, density, colors)?)
}

/// Renders frame index `frame` of `model` into `view`, blending `sources`.
pub fn render_model<B: KnnBackend>(
    model: &Model<B>,
    spec: &ModelSpec,
    frame: usize,
    view: &ViewF32,
    sources: &[SourceImage<B>],
    k: usize,
) -> Result<Composite<B>, RenderError> {
    let geometry = model.geometry(spec, frame, GradSum::Atomic);
    let colors = point_colors(model, spec, &geometry, sources, view);
    render_points(
        geometry.positions,
        geometry.radius,
        geometry.density,
        colors,
        view,
        k,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use glam::DVec3;
    use yakumo_core::Camera;
    use yakumo_core::clip::FramePoints;
    use yakumo_core::render_ref::render_cpu;

    /// The tensor renderer reproduces the CPU reference of the rendering rule.
    #[test]
    fn matches_the_reference_renderer() {
        let cam = Camera::look_at(
            "c",
            (40, 32),
            (36.0, 36.0),
            (19.5, 15.5),
            DVec3::new(0.3, -2.0, 0.4),
            DVec3::ZERO,
            DVec3::Z,
        );
        let mut frame = FramePoints::default();
        for i in 0..60 {
            let a = i as f32 * 0.7;
            frame
                .positions
                .push([0.3 * a.cos(), 0.25 * (a * 1.3).sin(), 0.02 * i as f32 - 0.5]);
            frame.radii.push(0.05 + 0.002 * (i % 7) as f32);
            frame
                .densities
                .push(0.5 + 0.4 * ((i * 13 % 10) as f32 / 10.0));
            frame
                .colors
                .push([(i % 3) as f32 / 2.0, (i % 5) as f32 / 4.0, 0.3]);
        }
        let reference = render_cpu(&frame, &cam, 6);
        let dev = Default::default();
        let n = frame.len();
        let t2 = |v: Vec<f32>, c: usize| {
            Tensor::<NdArray, 2>::from_data(TensorData::new(v, [n, c]), &dev)
        };
        let t1 = |v: Vec<f32>| Tensor::<NdArray, 1>::from_data(TensorData::new(v, [n]), &dev);
        let out = render_points(
            t2(frame.positions.iter().flatten().copied().collect(), 3),
            t1(frame.radii.clone()),
            t1(frame.densities.clone()),
            t2(frame.colors.iter().flatten().copied().collect(), 3),
            &ViewF32::from_camera(&cam),
            6,
        )
        .unwrap();
        let color: Vec<f32> = out.color.into_data().to_vec().unwrap();
        let alpha: Vec<f32> = out.alpha.into_data().to_vec().unwrap();
        let covered = alpha.iter().filter(|&&a| a > 0.0).count();
        assert!(covered > 100, "only {covered} pixels covered");
        for (i, px) in reference.pixels.iter().enumerate() {
            assert!(
                (alpha[i] - px[3]).abs() < 1e-4,
                "pixel {i}: alpha {} vs {}",
                alpha[i],
                px[3]
            );
            for c in 0..3 {
                assert!(
                    (color[i * 3 + c] - px[c]).abs() < 1e-4,
                    "pixel {i} channel {c}"
                );
            }
        }
    }
}
