//! Where the compute path draws the eyes in a headset session: one storage image per eye,
//! copied into that eye's swapchain image once both are rendered. The runtime's sRGB swapchain
//! images cannot be storage images, but a copy between `Rgba8Unorm` and `Rgba8UnormSrgb` moves
//! the already-encoded bytes unchanged, so the result matches the raster path drawing directly.

use crate::gpu::Gpu;

/// The format the compute path writes (the colours are image-encoded, like the swapchain's).
pub const CANVAS_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// One storage image per eye.
#[derive(Debug)]
pub struct EyeCanvases {
    eyes: Vec<(wgpu::Texture, wgpu::TextureView)>,
}

impl EyeCanvases {
    /// Storage images of the eyes' `sizes`.
    pub fn new(gpu: &Gpu, sizes: &[(u32, u32)]) -> EyeCanvases {
        let eyes = sizes
            .iter()
            .map(|&(width, height)| {
                let texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
                    label: Some("eye canvas"),
                    size: wgpu::Extent3d {
                        width,
                        height,
                        depth_or_array_layers: 1,
                    },
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format: CANVAS_FORMAT,
                    usage: wgpu::TextureUsages::STORAGE_BINDING | wgpu::TextureUsages::COPY_SRC,
                    view_formats: &[],
                });
                let view = texture.create_view(&Default::default());
                (texture, view)
            })
            .collect();
        EyeCanvases { eyes }
    }

    /// The view the renderer draws eye `i` into.
    pub fn view(&self, i: usize) -> &wgpu::TextureView {
        &self.eyes[i].1
    }

    /// Copies every eye's canvas into its swapchain image (same size, an RGBA8 format).
    pub fn copy_to(&self, gpu: &Gpu, images: &[&wgpu::Texture]) {
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("eye canvases → swapchain"),
            });
        for ((canvas, _), image) in self.eyes.iter().zip(images) {
            enc.copy_texture_to_texture(
                canvas.as_image_copy(),
                image.as_image_copy(),
                canvas.size(),
            );
        }
        gpu.queue.submit([enc.finish()]);
    }
}
