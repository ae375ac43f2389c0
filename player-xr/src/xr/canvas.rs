//! Where the compute path draws the eyes in a headset session: one offscreen target per eye,
//! copied into that eye's swapchain image once both are rendered. The runtime's sRGB swapchain
//! images cannot be storage images, but a copy between `Rgba8Unorm` and `Rgba8UnormSrgb` moves
//! the already-encoded bytes unchanged, so the result matches the raster path drawing directly.

use crate::gpu::Gpu;
use crate::offscreen::OffscreenTarget;

/// One offscreen target per eye.
#[derive(Debug)]
pub struct EyeCanvases {
    eyes: Vec<OffscreenTarget>,
}

impl EyeCanvases {
    /// Targets of the eyes' `sizes`.
    pub fn new(gpu: &Gpu, sizes: &[(u32, u32)]) -> EyeCanvases {
        EyeCanvases {
            eyes: sizes
                .iter()
                .map(|&s| OffscreenTarget::new(gpu, s))
                .collect(),
        }
    }

    /// The target the renderer draws eye `i` into.
    pub fn eye(&self, i: usize) -> &OffscreenTarget {
        &self.eyes[i]
    }

    /// Copies every eye's canvas into its swapchain image (same size, an RGBA8 format).
    pub fn copy_to(&self, gpu: &Gpu, images: &[&wgpu::Texture]) {
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("eye canvases → swapchain"),
            });
        for (canvas, image) in self.eyes.iter().zip(images) {
            let texture = canvas.texture();
            enc.copy_texture_to_texture(
                texture.as_image_copy(),
                image.as_image_copy(),
                texture.size(),
            );
        }
        gpu.queue.submit([enc.finish()]);
    }
}
