//! The OpenXR player: a headset session on the runtime's own Vulkan device, with the same
//! point renderer as the desktop and offscreen paths drawing into each eye's layer of one array
//! swapchain.
//!
//! - [`runtime`]: load the OpenXR loader at run time, find the runtime and headset.
//! - [`vulkan`]: Vulkan instance and device through `XR_KHR_vulkan_enable2`, wrapped in wgpu.
//! - [`setup`]: the session, the eyes' array swapchain ([`swapchain`]), reference spaces, actions.
//! - [`frame_loop`]: events, session states ([`session`]), `xrWaitFrame` pacing, rendering.
//! - [`eye`]: OpenXR view pose + asymmetric FOV → [`yakumo_core::Camera`].
//! - [`placement`]: the clip standing on the floor in front of the viewer; [`grab`] moves it.
//! - [`input`]: controller actions and suggested bindings.
//! - [`canvas`]: the compute path's per-eye storage images, copied into the swapchain's layers.
//! - [`mirror`]: the desktop window showing the left eye.
//! - [`dump`]: `--dump-frames`; [`report`]: the end-of-session summary; [`watchdog`]: no hangs.

pub mod canvas;
pub mod dump;
pub mod eye;
pub mod frame_loop;
pub mod grab;
pub mod input;
pub mod mirror;
pub mod placement;
pub mod report;
pub mod runtime;
pub mod session;
pub mod setup;
pub mod swapchain;
pub mod vulkan;
pub mod watchdog;

use std::path::PathBuf;

use glam::DVec3;

pub use frame_loop::run;
pub use report::{ExitReason, XrReport};
pub use runtime::{Runtime, RuntimeError};

use crate::render::{RenderParams, RenderPath};

/// Frames `--dump-frames` writes unless told otherwise.
pub const DEFAULT_DUMP_COUNT: usize = 4;

/// What to play and how.
#[derive(Clone, Debug)]
pub struct XrOptions {
    /// The clip.
    pub clip: PathBuf,
    /// The clip's up axis in its own coordinates.
    pub up: DVec3,
    /// Layers per pixel and background (opaque: the headset shows no desktop behind it).
    pub params: RenderParams,
    /// The point renderer drawing the eyes.
    pub path: RenderPath,
    /// End the session cleanly after this many submitted frames.
    pub max_frames: Option<u64>,
    /// Write the first N frames that show the clip into this folder.
    pub dump: Option<(PathBuf, usize)>,
    /// Show the left eye in a desktop window when there is a display.
    pub mirror: bool,
}
