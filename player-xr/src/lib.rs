//! `yakumo-player`: plays baked `.yk4d` clips.
//!
//! - [`gpu`]: the wgpu device (headless or for a window).
//! - [`frame`]: one frame's points in GPU buffers.
//! - [`render`]: the two point renderers (raster depth peeling, compute tile binning) behind
//!   [`render::PointRenderer`]; they draw into any texture view, for any number of cameras.
//! - [`offscreen`]: render into a texture and read it back.
//! - [`timer`]: GPU timestamp queries.
//! - [`view`]: per-view shader parameters.
//! - [`stream`]: background read-ahead of clip frames; [`playback`]: the play head.
//! - [`cameras`]: dataset, orbit and stereo viewpoints; [`orbit`]: the interactive camera.
//! - [`bench`]: frame-time benchmark; [`clipinfo`]: clip summaries.
//! - [`blit`]: copy an image onto a surface; [`desktop`]: the desktop viewer.
//! - [`xr`]: the OpenXR headset player (Vulkan through the runtime, wgpu-hal interop).
//!
//! The CPU reference of the rendering rule lives in [`yakumo_core::render_ref`].

pub mod bench;
pub mod blit;
pub mod cameras;
pub mod clipinfo;
pub mod desktop;
pub mod frame;
pub mod gpu;
pub mod offscreen;
pub mod orbit;
pub mod playback;
pub mod render;
pub mod stream;
pub mod timer;
pub mod view;
pub mod xr;

pub use frame::GpuFrame;
pub use gpu::Gpu;
pub use render::{PointRenderer, RenderParams, RenderPath, StereoMode, ViewTarget, new_renderer};
