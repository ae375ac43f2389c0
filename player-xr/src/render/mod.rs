//! Point renderers: project + shade every point per view, then keep each pixel's K nearest
//! covering points and composite them front to back (the rule of [`yakumo_core::render_ref`]).
//!
//! Two interchangeable paths implement [`PointRenderer`]: [`RasterRenderer`] (hardware depth
//! peeling, one pass per layer) and [`ComputeRenderer`] (tile binning + per-pixel K-nearest in a
//! compute shader). Both draw into any caller-supplied texture view, so the offscreen, desktop
//! and OpenXR front ends share them.

mod compute;
pub mod multiview;
mod prepare;
mod raster;

use std::num::NonZeroU32;
use std::str::FromStr;

use thiserror::Error;
use yakumo_core::Camera;

pub use compute::ComputeRenderer;
pub use prepare::Prepare;
pub use raster::RasterRenderer;

use crate::frame::GpuFrame;
use crate::gpu::{Gpu, GpuError};
use crate::timer::GpuTimer;

/// Largest K the shaders support (`KMAX` in `shaders/resolve.wgsl`).
pub const MAX_K: u32 = 32;

/// Errors while rendering.
#[derive(Debug, Error)]
pub enum RenderError {
    /// The target texture format is not one the renderer writes.
    #[error("unsupported target format {0:?}: use Rgba8Unorm or Rgba16Float")]
    Format(wgpu::TextureFormat),
    /// The camera and the target disagree in size.
    #[error("camera {name:?} is {cam_w}×{cam_h} but its target is {w}×{h}")]
    Size {
        /// Camera name.
        name: String,
        /// Camera width.
        cam_w: u32,
        /// Camera height.
        cam_h: u32,
        /// Target width.
        w: u32,
        /// Target height.
        h: u32,
    },
    /// K out of range.
    #[error("K = {0} layers is outside 1..={MAX_K}")]
    K(u32),
    /// A GPU readback failed.
    #[error(transparent)]
    Gpu(#[from] GpuError),
}

/// Which renderer implementation to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderPath {
    /// Hardware rasterised depth peeling.
    Raster,
    /// Compute-shader tile binning with a per-pixel K-nearest list (the default: faster on
    /// every GPU measured so far).
    #[default]
    Compute,
}

impl FromStr for RenderPath {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "raster" => Ok(RenderPath::Raster),
            "compute" => Ok(RenderPath::Compute),
            other => Err(format!("unknown render path {other:?} (raster or compute)")),
        }
    }
}

impl std::fmt::Display for RenderPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RenderPath::Raster => "raster",
            RenderPath::Compute => "compute",
        })
    }
}

/// Settings shared by all views of a render call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderParams {
    /// Layers per pixel (1..=[`MAX_K`]); 15 matches training.
    pub k: u32,
    /// Straight RGBA background under the points; alpha 0 gives premultiplied output over black.
    pub background: [f32; 4],
}

impl Default for RenderParams {
    fn default() -> Self {
        RenderParams {
            k: 15,
            background: [0.0; 4],
        }
    }
}

/// One view to draw: a camera and the texture view receiving the image (the camera's size).
///
/// The raster path needs `RENDER_ATTACHMENT` usage on the target, the compute path
/// `STORAGE_BINDING`; the format is `Rgba8Unorm` (colours are already image-encoded, so not
/// sRGB) or `Rgba16Float`.
#[derive(Clone, Copy, Debug)]
pub struct ViewTarget<'a> {
    /// The viewpoint.
    pub camera: &'a Camera,
    /// Where the image goes.
    pub target: &'a wgpu::TextureView,
    /// The target's format.
    pub format: wgpu::TextureFormat,
    /// The target's width and height.
    pub size: (u32, u32),
}

/// A point renderer: draws one uploaded frame into any number of views.
pub trait PointRenderer {
    /// Renders `frame` into every view and submits the work. With a `timer`, GPU timestamps
    /// bracket all of it.
    fn render(
        &mut self,
        gpu: &Gpu,
        frame: &GpuFrame,
        views: &[ViewTarget<'_>],
        params: &RenderParams,
        timer: Option<&GpuTimer>,
    ) -> Result<(), RenderError>;

    /// Renders `frame` into two views of one size and format that are the two layers of one
    /// texture (`views[i].target` is layer `i`); `_layers` is the 2-layer array view of that
    /// texture. Renderers with a single-pass stereo mode use it where the device allows (see
    /// [`PointRenderer::stereo_mode`]); the others render the views one after the other.
    fn render_stereo(
        &mut self,
        gpu: &Gpu,
        frame: &GpuFrame,
        views: &[ViewTarget<'_>; 2],
        _layers: &wgpu::TextureView,
        params: &RenderParams,
        timer: Option<&GpuTimer>,
    ) -> Result<(), RenderError> {
        self.render(gpu, frame, views, params, timer)
    }

    /// How [`PointRenderer::render_stereo`] draws the two views on `gpu`.
    fn stereo_mode(&self, _gpu: &Gpu) -> StereoMode {
        StereoMode::PerView
    }

    /// Which path this is.
    fn path(&self) -> RenderPath;
}

/// How a renderer draws a stereo pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StereoMode {
    /// Each view on its own, one after the other (in one submission).
    PerView,
    /// Both views in the same passes, through multiview (`VK_KHR_multiview`): each draw is
    /// recorded once and the GPU broadcasts it to both texture layers.
    Multiview,
}

impl std::fmt::Display for StereoMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StereoMode::PerView => "per-view",
            StereoMode::Multiview => "multiview",
        })
    }
}

/// Creates the renderer for `path`.
pub fn new_renderer(gpu: &Gpu, path: RenderPath) -> Box<dyn PointRenderer> {
    match path {
        RenderPath::Raster => Box::new(RasterRenderer::new(gpu)),
        RenderPath::Compute => Box::new(ComputeRenderer::new(gpu)),
    }
}

/// Checks what every path requires of the inputs.
pub(crate) fn check_inputs(
    views: &[ViewTarget<'_>],
    params: &RenderParams,
) -> Result<(), RenderError> {
    if params.k == 0 || params.k > MAX_K {
        return Err(RenderError::K(params.k));
    }
    for v in views {
        if !matches!(
            v.format,
            wgpu::TextureFormat::Rgba8Unorm | wgpu::TextureFormat::Rgba16Float
        ) {
            return Err(RenderError::Format(v.format));
        }
        if (v.camera.width, v.camera.height) != v.size {
            return Err(RenderError::Size {
                name: v.camera.name.clone(),
                cam_w: v.camera.width,
                cam_h: v.camera.height,
                w: v.size.0,
                h: v.size.1,
            });
        }
    }
    Ok(())
}

/// Builds a shader module from `shaders/common.wgsl` followed by `source`.
pub(crate) fn shader(device: &wgpu::Device, label: &str, source: &str) -> wgpu::ShaderModule {
    let code = format!(
        "{}\n{}",
        include_str!("../../../shaders/common.wgsl"),
        source
    );
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(code.into()),
    })
}

/// A pipeline drawing one full-screen triangle (vertex entry `vs` of `module`) with fragment
/// entry `entry` into one `format` target; broadcast to the views of `mask` (multiview) if given.
pub(crate) fn fullscreen_pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    entry: &str,
    format: wgpu::TextureFormat,
    mask: Option<NonZeroU32>,
) -> wgpu::RenderPipeline {
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(entry),
        layout: None,
        vertex: wgpu::VertexState {
            module,
            entry_point: Some("vs"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            targets: &[Some(format.into())],
        }),
        multiview_mask: mask,
        cache: None,
    })
}

/// A compute pipeline with an automatic layout.
pub(crate) fn compute_pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    entry: &str,
) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: None,
        module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// A bind group for group 0 of a pipeline with an automatic layout, from `(binding, resource)`
/// pairs (automatic layouts hold only the bindings the entry point uses).
pub(crate) fn bind_group(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    resources: &[(u32, wgpu::BindingResource<'_>)],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry<'_>> = resources
        .iter()
        .map(|(binding, resource)| wgpu::BindGroupEntry {
            binding: *binding,
            resource: resource.clone(),
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout,
        entries: &entries,
    })
}
