//! Offscreen rendering into a texture and readback as an RGBA8 image.

use image::RgbaImage;

use crate::gpu::{Gpu, GpuError};

/// An `Rgba8Unorm` texture usable by both render paths, plus a readback buffer.
#[derive(Debug)]
pub struct OffscreenTarget {
    texture: wgpu::Texture,
    /// The view to pass in a [`crate::render::ViewTarget`].
    pub view: wgpu::TextureView,
    size: (u32, u32),
}

/// Format of offscreen targets.
pub const OFFSCREEN_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// An offscreen texture of `layers` layers, usable by both render paths and as a copy source.
fn offscreen_texture(gpu: &Gpu, size: (u32, u32), layers: u32) -> wgpu::Texture {
    gpu.device.create_texture(&wgpu::TextureDescriptor {
        label: Some("offscreen"),
        size: wgpu::Extent3d {
            width: size.0,
            height: size.1,
            depth_or_array_layers: layers,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: OFFSCREEN_FORMAT,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT
            | wgpu::TextureUsages::STORAGE_BINDING
            | wgpu::TextureUsages::TEXTURE_BINDING
            | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    })
}

/// Copies layer `layer` of `texture` back (waiting for the GPU) as RGBA8.
fn read_layer(
    gpu: &Gpu,
    texture: &wgpu::Texture,
    layer: u32,
    size: (u32, u32),
) -> Result<RgbaImage, GpuError> {
    let mut enc = gpu.device.create_command_encoder(&Default::default());
    let source = wgpu::TexelCopyTextureInfo {
        origin: wgpu::Origin3d {
            x: 0,
            y: 0,
            z: layer,
        },
        ..texture.as_image_copy()
    };
    let readback = Readback::record(&gpu.device, &mut enc, source, size);
    gpu.queue.submit([enc.finish()]);
    readback.finish(gpu)
}

impl OffscreenTarget {
    /// A `width × height` target.
    pub fn new(gpu: &Gpu, size: (u32, u32)) -> Self {
        let texture = offscreen_texture(gpu, size, 1);
        let view = texture.create_view(&Default::default());
        OffscreenTarget {
            texture,
            view,
            size,
        }
    }

    /// Width and height.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// The texture (to copy from).
    pub fn texture(&self) -> &wgpu::Texture {
        &self.texture
    }

    /// Copies the texture back (waiting for the GPU) as straight-from-the-target RGBA8.
    pub fn read(&self, gpu: &Gpu) -> Result<RgbaImage, GpuError> {
        read_layer(gpu, &self.texture, 0, self.size)
    }
}

/// A stereo pair of offscreen targets as the two layers of one texture, as an OpenXR array
/// swapchain image is (what [`crate::render::PointRenderer::render_stereo`] draws into).
#[derive(Debug)]
pub struct OffscreenStereo {
    texture: wgpu::Texture,
    /// The view of each eye's layer, to pass in a [`crate::render::ViewTarget`].
    pub eyes: [wgpu::TextureView; 2],
    /// The 2-layer array view of both.
    pub layers: wgpu::TextureView,
    size: (u32, u32),
}

impl OffscreenStereo {
    /// Two `width × height` layers.
    pub fn new(gpu: &Gpu, size: (u32, u32)) -> Self {
        let texture = offscreen_texture(gpu, size, 2);
        let view = |dimension, base_array_layer, array_layer_count| {
            texture.create_view(&wgpu::TextureViewDescriptor {
                dimension: Some(dimension),
                base_array_layer,
                array_layer_count: Some(array_layer_count),
                ..Default::default()
            })
        };
        OffscreenStereo {
            eyes: [0, 1].map(|eye| view(wgpu::TextureViewDimension::D2, eye, 1)),
            layers: view(wgpu::TextureViewDimension::D2Array, 0, 2),
            texture,
            size,
        }
    }

    /// Width and height of each eye.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// Copies eye `eye`'s layer back (waiting for the GPU) as RGBA8.
    pub fn read(&self, gpu: &Gpu, eye: usize) -> Result<RgbaImage, GpuError> {
        read_layer(gpu, &self.texture, eye as u32, self.size)
    }
}

/// A texture → buffer copy recorded into an encoder, read back once submitted.
#[derive(Debug)]
pub struct Readback {
    staging: wgpu::Buffer,
    row: u32,
    size: (u32, u32),
}

impl Readback {
    /// Records into `enc` a copy of the `size` image at `source` (one layer of a texture in an
    /// RGBA8 format with `COPY_SRC`).
    pub fn record(
        device: &wgpu::Device,
        enc: &mut wgpu::CommandEncoder,
        source: wgpu::TexelCopyTextureInfo<'_>,
        size: (u32, u32),
    ) -> Readback {
        let (w, h) = size;
        let row = (w * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
            * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("image readback"),
            size: row as u64 * h as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        enc.copy_texture_to_buffer(
            source,
            wgpu::TexelCopyBufferInfo {
                buffer: &staging,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(row),
                    rows_per_image: Some(h),
                },
            },
            wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            },
        );
        Readback { staging, row, size }
    }

    /// Waits for the (submitted) copy and returns the image.
    pub fn finish(self, gpu: &Gpu) -> Result<RgbaImage, GpuError> {
        let (w, h) = self.size;
        let bytes = gpu.map_read(&self.staging)?;
        let mut pixels = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h as usize {
            let start = y * self.row as usize;
            pixels.extend_from_slice(&bytes[start..start + (w * 4) as usize]);
        }
        Ok(RgbaImage::from_raw(w, h, pixels).expect("buffer holds w·h·4 bytes"))
    }
}
