//! Opening an OpenXR session on the runtime's Vulkan device: stereo view configuration, one array
//! swapchain with a layer per eye at the recommended size, the reference space (STAGE, else
//! LOCAL) and the controller actions.

use anyhow::{Context, Result, bail};
use openxr as xr;

use crate::xr::input::Controls;
use crate::xr::runtime::Runtime;
use crate::xr::swapchain::{StereoSwapchain, choose_format};
use crate::xr::vulkan::XrGpu;

/// The view configuration the player renders.
pub const VIEW_CONFIG: xr::ViewConfigurationType = xr::ViewConfigurationType::PRIMARY_STEREO;

/// Eye height assumed above the floor in a LOCAL space (which has no floor).
pub const ASSUMED_EYE_HEIGHT: f64 = 1.6;

/// Everything that lives as long as the session. Fields drop in order: swapchains, actions,
/// spaces, then the session itself, all before the Vulkan device they use.
pub struct XrSession {
    /// Both eyes' swapchain (left eye in layer 0, right eye in layer 1).
    pub swapchain: StereoSwapchain,
    /// Controller actions.
    pub controls: Controls,
    /// The reference space everything is located in.
    pub space: xr::Space,
    /// The head (VIEW space), for placing the clip in front of the viewer.
    pub head: xr::Space,
    /// True when `space` is STAGE (floor at y = 0).
    pub stage: bool,
    /// The blend mode frames are submitted with.
    pub blend: xr::EnvironmentBlendMode,
    /// The runtime's recommended per-eye sizes.
    pub recommended: [(u32, u32); 2],
    /// Vulkan format of the swapchains, by name.
    pub format_name: String,
    /// Submits frames.
    pub frames: xr::FrameStream<xr::Vulkan>,
    /// Paces frames (`xrWaitFrame`).
    pub waiter: xr::FrameWaiter,
    /// The session.
    pub session: xr::Session<xr::Vulkan>,
}

impl std::fmt::Debug for XrSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XrSession")
            .field("swapchain", &self.swapchain)
            .field("stage", &self.stage)
            .field("format", &self.format_name)
            .finish_non_exhaustive()
    }
}

impl XrSession {
    /// Creates the session and its swapchains, spaces and actions.
    pub fn open(rt: &Runtime, vk: &XrGpu) -> Result<XrSession> {
        let configs = rt
            .instance
            .enumerate_view_configurations(rt.system)
            .context("xrEnumerateViewConfigurations")?;
        if !configs.contains(&VIEW_CONFIG) {
            bail!("the headset has no stereo view configuration (it offers {configs:?})");
        }
        let views = rt
            .instance
            .enumerate_view_configuration_views(rt.system, VIEW_CONFIG)
            .context("xrEnumerateViewConfigurationViews")?;
        if views.len() != 2 {
            bail!(
                "the stereo view configuration has {} views, not 2",
                views.len()
            );
        }
        let recommended = [0, 1].map(|i| {
            let v = &views[i];
            (
                v.recommended_image_rect_width
                    .clamp(1, v.max_image_rect_width.max(1)),
                v.recommended_image_rect_height
                    .clamp(1, v.max_image_rect_height.max(1)),
            )
        });
        let blends = rt
            .instance
            .enumerate_environment_blend_modes(rt.system, VIEW_CONFIG)
            .context("xrEnumerateEnvironmentBlendModes")?;
        let blend = if blends.contains(&xr::EnvironmentBlendMode::OPAQUE) {
            xr::EnvironmentBlendMode::OPAQUE
        } else {
            *blends
                .first()
                .context("the runtime lists no environment blend mode")?
        };

        // SAFETY: the handles come from xrCreateVulkanInstanceKHR / xrCreateVulkanDeviceKHR for
        // this system and outlive the session (see the field order above and `frame_loop`).
        let (session, waiter, frames) = unsafe {
            rt.instance
                .create_session::<xr::Vulkan>(rt.system, &vk.session_info)
        }
        .context("xrCreateSession")?;
        let formats = session
            .enumerate_swapchain_formats()
            .context("xrEnumerateSwapchainFormats")?;
        let format = choose_format(&formats)?;
        let size = eye_size(recommended);
        if recommended[0] != recommended[1] {
            tracing::info!(
                "the runtime recommends {:?} for the left eye and {:?} for the right: both eyes render at {size:?}",
                recommended[0],
                recommended[1]
            );
        }
        let swapchain = StereoSwapchain::new(&session, &vk.gpu.device, format, size)?;
        let spaces = session
            .enumerate_reference_spaces()
            .context("xrEnumerateReferenceSpaces")?;
        let stage = spaces.contains(&xr::ReferenceSpaceType::STAGE);
        let kind = if stage {
            xr::ReferenceSpaceType::STAGE
        } else {
            xr::ReferenceSpaceType::LOCAL
        };
        let space = session
            .create_reference_space(kind, xr::Posef::IDENTITY)
            .context("xrCreateReferenceSpace")?;
        let head = session
            .create_reference_space(xr::ReferenceSpaceType::VIEW, xr::Posef::IDENTITY)
            .context("xrCreateReferenceSpace(VIEW)")?;
        let controls =
            Controls::new(&rt.instance, &session).context("setting up controller actions")?;
        Ok(XrSession {
            swapchain,
            controls,
            space,
            head,
            stage,
            blend,
            recommended,
            format_name: format!("{:?}", format.vk),
            frames,
            waiter,
            session,
        })
    }

    /// Every eye's image size.
    pub fn eye_size(&self) -> (u32, u32) {
        self.swapchain.size()
    }

    /// `STAGE` or `LOCAL`.
    pub fn space_name(&self) -> &'static str {
        if self.stage { "STAGE" } else { "LOCAL" }
    }
}

/// The one image size both eyes share in the array swapchain: the larger of the runtime's
/// recommendations in each dimension (they are equal on every common headset).
fn eye_size(recommended: [(u32, u32); 2]) -> (u32, u32) {
    (
        recommended[0].0.max(recommended[1].0),
        recommended[0].1.max(recommended[1].1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_eyes_share_the_larger_recommended_size() {
        assert_eq!(eye_size([(2064, 2208), (2064, 2208)]), (2064, 2208));
        assert_eq!(eye_size([(1440, 1600), (1452, 1590)]), (1452, 1600));
    }
}
