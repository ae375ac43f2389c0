//! The end-of-session summary: states reached, frames submitted, per-eye resolution, how it
//! ended. Printed as text or JSON.

use std::fmt;

use serde::Serialize;

use crate::render::{RenderPath, StereoMode};

/// How the session ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum ExitReason {
    /// The player asked to exit (`--max-frames` reached or Ctrl-C) and the runtime agreed.
    Requested,
    /// The runtime ended the session (the user quit from the runtime's menu).
    RuntimeExit,
    /// The runtime lost the session (LOSS_PENDING or a session-lost error).
    SessionLost(String),
    /// The runtime itself is going away (instance loss).
    InstanceLost(String),
    /// Something failed; the session was torn down.
    Error(String),
}

impl ExitReason {
    /// True for the two orderly endings.
    pub fn clean(&self) -> bool {
        matches!(self, ExitReason::Requested | ExitReason::RuntimeExit)
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Requested => f.write_str("clean (the player requested exit)"),
            ExitReason::RuntimeExit => f.write_str("clean (the runtime ended the session)"),
            ExitReason::SessionLost(why) => write!(f, "session lost: {why}"),
            ExitReason::InstanceLost(why) => write!(f, "runtime lost: {why}"),
            ExitReason::Error(why) => write!(f, "error: {why}"),
        }
    }
}

/// What an OpenXR session did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct XrReport {
    /// Runtime name and version.
    pub runtime: String,
    /// Headset name.
    pub system: String,
    /// The Vulkan adapter rendering.
    pub adapter: String,
    /// The point renderer drawing the eyes.
    pub render_path: RenderPath,
    /// How each frame's two eyes were drawn: both in one multiview pass into the array
    /// swapchain (raster path, where the device has multiview) or one after the other.
    pub stereo: StereoMode,
    /// `STAGE` or `LOCAL`.
    pub reference_space: String,
    /// Vulkan format of the swapchains.
    pub swapchain_format: String,
    /// Width and height of each eye's image (its layer of the array swapchain).
    pub eye_resolution: Vec<[u32; 2]>,
    /// The runtime's recommended per-eye sizes.
    pub recommended_resolution: Vec<[u32; 2]>,
    /// Every session state reached, in order.
    pub states_reached: Vec<String>,
    /// Frames paced by `xrWaitFrame`.
    pub frames_waited: u64,
    /// Frames submitted with a projection layer, both eyes rendered.
    pub frames_submitted: u64,
    /// Of those, frames that drew a clip frame (others show the background while streaming).
    pub frames_with_clip: u64,
    /// Frames shown in the desktop mirror window (0 without one).
    pub mirror_frames: u64,
    /// Indices (in submission order) of the frames written by `--dump-frames`.
    pub dumped_frames: Vec<u64>,
    /// Interaction profiles the runtime reported for the hands.
    pub interaction_profiles: Vec<String>,
    /// Mean distance between the two eyes' positions over rendered frames, metres.
    pub ipd_m: Option<f64>,
    /// Wall-clock seconds from creating the session to its end.
    pub seconds: f64,
    /// How it ended.
    pub exit: ExitReason,
}

impl fmt::Display for XrReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sizes = |v: &[[u32; 2]]| {
            v.iter()
                .map(|[w, h]| format!("{w}x{h}"))
                .collect::<Vec<_>>()
                .join(" + ")
        };
        writeln!(
            f,
            "OpenXR session: {} | headset {} | {} | {} path, {} stereo",
            self.runtime, self.system, self.adapter, self.render_path, self.stereo
        )?;
        writeln!(f, "  states reached: {}", self.states_reached.join(" → "))?;
        let fps = if self.seconds > 0.0 {
            self.frames_submitted as f64 / self.seconds
        } else {
            0.0
        };
        writeln!(
            f,
            "  frames submitted: {} (both eyes rendered; {} with the clip), {} waited, {:.1} s, {:.1} fps",
            self.frames_submitted, self.frames_with_clip, self.frames_waited, self.seconds, fps
        )?;
        writeln!(
            f,
            "  per-eye resolution: {} (recommended {}), swapchain {}, space {}",
            sizes(&self.eye_resolution),
            sizes(&self.recommended_resolution),
            self.swapchain_format,
            self.reference_space
        )?;
        if let Some(ipd) = self.ipd_m {
            writeln!(f, "  eye separation (IPD): {:.1} mm", ipd * 1e3)?;
        }
        if !self.interaction_profiles.is_empty() {
            writeln!(f, "  controllers: {}", self.interaction_profiles.join(", "))?;
        }
        if self.mirror_frames > 0 {
            writeln!(f, "  desktop mirror: {} frames shown", self.mirror_frames)?;
        }
        if !self.dumped_frames.is_empty() {
            writeln!(f, "  dumped frames: {:?}", self.dumped_frames)?;
        }
        write!(f, "  exit: {}", self.exit)
    }
}
