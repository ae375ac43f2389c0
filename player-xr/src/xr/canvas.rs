//! Where the compute path draws the eyes in a headset session: one offscreen target per eye,
//! copied into that eye's layer of the swapchain image once both are rendered. The runtime's sRGB swapchain
//! images cannot be storage images, but a copy between `Rgba8Unorm` and `Rgba8UnormSrgb` moves
//! the already-encoded bytes unchanged, so the result matches the raster path drawing directly.

use crate::gpu::Gpu;
use crate::offscreen::OffscreenTarget;
use crate::xr::swapchain::EYES;

/// One offscreen target per eye.
#[derive(Debug)]
pub struct EyeCanvases {
    eyes: Vec<OffscreenTarget>,
}

impl EyeCanvases {
    /// One target of `size` per eye.
    pub fn new(gpu: &Gpu, size: (u32, u32)) -> EyeCanvases {
        EyeCanvases {
            eyes: (0..EYES).map(|_| OffscreenTarget::new(gpu, size)).collect(),
        }
    }

    /// The target the renderer draws eye `i` into.
    pub fn eye(&self, i: usize) -> &OffscreenTarget {
        &self.eyes[i]
    }

    /// Copies eye `i`'s canvas into layer `i` of the swapchain `image` (an RGBA8 format with a
    /// layer per eye, each the canvases' size).
    pub fn copy_to(&self, gpu: &Gpu, image: &wgpu::Texture) {
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("eye canvases → swapchain"),
            });
        for (layer, canvas) in self.eyes.iter().enumerate() {
            let texture = canvas.texture();
            enc.copy_texture_to_texture(
                texture.as_image_copy(),
                wgpu::TexelCopyTextureInfo {
                    texture: image,
                    mip_level: 0,
                    origin: wgpu::Origin3d {
                        x: 0,
                        y: 0,
                        z: layer as u32,
                    },
                    aspect: wgpu::TextureAspect::All,
                },
                texture.size(),
            );
        }
        gpu.queue.submit([enc.finish()]);
    }
}
