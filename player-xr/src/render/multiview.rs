//! Whether a device's multiview really draws view `i` into texture layer `i`.
//!
//! Drivers can advertise `VK_KHR_multiview` and still get it wrong (Mesa 22's lavapipe draws
//! every view into layer 0 with the last view's index), so single-pass stereo is only used after
//! a tiny self-test on the device: one full-screen triangle into a 2-layer 4×4 target
//! (`shaders/multiview_probe.wgsl`), read back and checked layer by layer.

use std::num::NonZeroU32;

use crate::gpu::Gpu;
use crate::offscreen::{OFFSCREEN_FORMAT, OffscreenStereo};
use crate::render::fullscreen_pipeline;

/// Multiview mask of a stereo pair: texture layers 0 and 1.
pub const STEREO_MASK: NonZeroU32 = NonZeroU32::new(0b11).unwrap();

/// Size of the self-test's target.
const PROBE_SIZE: (u32, u32) = (4, 4);

/// Whether `gpu` has multiview for two views at all (feature and limit).
pub fn advertised(gpu: &Gpu) -> bool {
    gpu.device.features().contains(wgpu::Features::MULTIVIEW)
        && gpu.device.limits().max_multiview_view_count >= 2
}

/// Whether `gpu` advertises multiview and passes the self-test. Logs why when it does not.
pub fn works(gpu: &Gpu) -> bool {
    if !advertised(gpu) {
        tracing::info!(
            "{}: no multiview, stereo drawn one eye after the other",
            gpu.describe()
        );
        return false;
    }
    match self_test(gpu) {
        Ok(()) => true,
        Err(why) => {
            tracing::warn!(
                "{} advertises multiview but fails its self-test ({why}); stereo drawn one eye \
                 after the other",
                gpu.describe()
            );
            false
        }
    }
}

/// Draws the probe into both layers and checks every pixel.
fn self_test(gpu: &Gpu) -> Result<(), String> {
    let device = &gpu.device;
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("multiview probe"),
        source: wgpu::ShaderSource::Wgsl(
            include_str!("../../../shaders/multiview_probe.wgsl").into(),
        ),
    });
    let pipeline = fullscreen_pipeline(device, &module, "fs", OFFSCREEN_FORMAT, Some(STEREO_MASK));
    let pair = OffscreenStereo::new(gpu, PROBE_SIZE);
    let mut enc = device.create_command_encoder(&Default::default());
    {
        let mut pass = enc.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("multiview probe"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &pair.layers,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                    store: wgpu::StoreOp::Store,
                },
            })],
            multiview_mask: Some(STEREO_MASK),
            ..Default::default()
        });
        pass.set_pipeline(&pipeline);
        pass.draw(0..3, 0..1);
    }
    gpu.queue.submit([enc.finish()]);
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(format!("the probe pass was refused: {e}"));
    }
    for layer in 0..2u8 {
        let image = pair
            .read(gpu, layer as usize)
            .map_err(|e| format!("reading the probe back: {e}"))?;
        let want = [255 * layer, 255 * layer, 0, 255];
        if let Some(p) = image.pixels().find(|p| p.0 != want) {
            return Err(format!(
                "layer {layer} reads {:?} where (vertex view, fragment view) = ({layer}, {layer}) \
                 was drawn",
                p.0
            ));
        }
    }
    Ok(())
}
