//! The eyes' OpenXR swapchain: one array swapchain with a layer per eye (left = layer 0), its
//! Vulkan images wrapped as wgpu textures with a view of each layer the renderer draws into
//! directly.
//!
//! Colours leave the renderer already image-encoded (sRGB), so the preferred swapchain format is
//! `R8G8B8A8_SRGB` created with the mutable-format usage and viewed as `Rgba8Unorm`: the encoded
//! bytes are stored as they are and the compositor decodes them as sRGB, as it should.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ash::vk::{self, Handle};
use openxr as xr;
use thiserror::Error;
use wgpu::hal::api::Vulkan as HalVulkan;
use wgpu::hal::vulkan as hal_vk;

/// How long to wait for the compositor to hand back a swapchain image before giving up.
pub const IMAGE_WAIT_LIMIT: Duration = Duration::from_secs(5);

/// Errors with swapchains.
#[derive(Debug, Error)]
pub enum SwapchainError {
    /// None of the runtime's formats is one the renderer writes.
    #[error("the OpenXR runtime offers no RGBA8 swapchain format (it offers Vulkan formats {0:?})")]
    NoFormat(Vec<u32>),
    /// An OpenXR swapchain call failed.
    #[error("OpenXR {call} failed: {result}")]
    Xr {
        /// The call.
        call: &'static str,
        /// The OpenXR result.
        #[source]
        result: xr::sys::Result,
    },
    /// The compositor kept the image.
    #[error("the OpenXR runtime did not release a swapchain image within {0:?}")]
    Timeout(Duration),
    /// wgpu's device is not a Vulkan one.
    #[error("the wgpu device is not a Vulkan device")]
    NotVulkan,
}

/// The swapchain format and how wgpu sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapchainFormat {
    /// The Vulkan format of the swapchain images.
    pub vk: vk::Format,
    /// The same as a wgpu texture format.
    pub texture: wgpu::TextureFormat,
    /// The format of the views the renderer draws through.
    pub view: wgpu::TextureFormat,
}

impl SwapchainFormat {
    /// True when the images are sRGB viewed as UNORM (needs the mutable-format usage).
    pub fn mutable(&self) -> bool {
        self.texture != self.view
    }
}

/// Picks the swapchain format from the runtime's list (in its order of preference): sRGB RGBA8
/// first, else UNORM RGBA8 (colours then look slightly too bright on runtimes that treat UNORM
/// as linear; a warning says so).
pub fn choose_format(available: &[u32]) -> Result<SwapchainFormat, SwapchainError> {
    let has = |f: vk::Format| available.contains(&(f.as_raw() as u32));
    if has(vk::Format::R8G8B8A8_SRGB) {
        return Ok(SwapchainFormat {
            vk: vk::Format::R8G8B8A8_SRGB,
            texture: wgpu::TextureFormat::Rgba8UnormSrgb,
            view: wgpu::TextureFormat::Rgba8Unorm,
        });
    }
    if has(vk::Format::R8G8B8A8_UNORM) {
        tracing::warn!(
            "the OpenXR runtime has no sRGB RGBA8 swapchain; using UNORM (colours may look washed out)"
        );
        return Ok(SwapchainFormat {
            vk: vk::Format::R8G8B8A8_UNORM,
            texture: wgpu::TextureFormat::Rgba8Unorm,
            view: wgpu::TextureFormat::Rgba8Unorm,
        });
    }
    Err(SwapchainError::NoFormat(available.to_vec()))
}

/// Views, and so array layers, per swapchain image: one per eye.
pub const EYES: usize = 2;

/// Both eyes' swapchain with a wgpu texture per image, a view per eye layer and a view of both.
pub struct StereoSwapchain {
    // The views and textures only borrow the runtime's images, which the swapchain owns: they
    // are released (and the device drained of them) in `drop` before the swapchain goes.
    views: Vec<[wgpu::TextureView; EYES]>,
    layers: Vec<wgpu::TextureView>,
    textures: Vec<wgpu::Texture>,
    device: Arc<wgpu::Device>,
    size: (u32, u32),
    format: SwapchainFormat,
    acquired: Option<usize>,
    swapchain: xr::Swapchain<xr::Vulkan>,
}

impl Drop for StereoSwapchain {
    fn drop(&mut self) {
        self.views.clear();
        self.layers.clear();
        self.textures.clear();
        if let Err(e) = self.device.poll(wgpu::PollType::wait_indefinitely()) {
            tracing::warn!("waiting for the GPU before destroying a swapchain: {e}");
        }
    }
}

impl std::fmt::Debug for StereoSwapchain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StereoSwapchain")
            .field("images", &self.textures.len())
            .field("size", &self.size)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl StereoSwapchain {
    /// Creates a swapchain of `size` images with a layer per eye on `session` and wraps its
    /// images for `device`.
    pub fn new(
        session: &xr::Session<xr::Vulkan>,
        device: &Arc<wgpu::Device>,
        format: SwapchainFormat,
        size: (u32, u32),
    ) -> Result<StereoSwapchain, SwapchainError> {
        // Colour attachment for the raster path, transfer destination for the compute path's
        // canvases, transfer source for the mirror and the frame dumps.
        let mut usage = xr::SwapchainUsageFlags::COLOR_ATTACHMENT
            | xr::SwapchainUsageFlags::TRANSFER_DST
            | xr::SwapchainUsageFlags::TRANSFER_SRC;
        if format.mutable() {
            usage |= xr::SwapchainUsageFlags::MUTABLE_FORMAT;
        }
        let swapchain = session
            .create_swapchain(&xr::SwapchainCreateInfo {
                create_flags: xr::SwapchainCreateFlags::EMPTY,
                usage_flags: usage,
                format: format.vk.as_raw() as u32,
                sample_count: 1,
                width: size.0,
                height: size.1,
                face_count: 1,
                array_size: EYES as u32,
                mip_count: 1,
            })
            .map_err(|result| SwapchainError::Xr {
                call: "xrCreateSwapchain",
                result,
            })?;
        let images = swapchain
            .enumerate_images()
            .map_err(|result| SwapchainError::Xr {
                call: "xrEnumerateSwapchainImages",
                result,
            })?;
        let view_formats: Vec<wgpu::TextureFormat> = if format.mutable() {
            vec![format.view]
        } else {
            Vec::new()
        };
        let extent = wgpu::Extent3d {
            width: size.0,
            height: size.1,
            depth_or_array_layers: EYES as u32,
        };
        let mut textures = Vec::with_capacity(images.len());
        for image in images {
            let hal_desc = wgpu::hal::TextureDescriptor {
                label: Some("openxr eyes"),
                size: extent,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: format.texture,
                usage: wgpu::TextureUses::COLOR_TARGET
                    | wgpu::TextureUses::COPY_DST
                    | wgpu::TextureUses::COPY_SRC,
                memory_flags: wgpu::hal::MemoryFlags::empty(),
                view_formats: view_formats.clone(),
            };
            // SAFETY: the image was created by the runtime with this size, format and usage
            // (and MUTABLE_FORMAT when views differ in format). The empty drop callback leaves
            // the image, and its external memory, to the swapchain that owns them.
            let texture = unsafe {
                let hal_device = device
                    .as_hal::<HalVulkan>()
                    .ok_or(SwapchainError::NotVulkan)?;
                let hal_texture = hal_device.texture_from_raw(
                    vk::Image::from_raw(image),
                    &hal_desc,
                    Some(Box::new(|| ())),
                    hal_vk::TextureMemory::External,
                );
                device.create_texture_from_hal::<HalVulkan>(
                    hal_texture,
                    &wgpu::TextureDescriptor {
                        label: Some("openxr eyes"),
                        size: extent,
                        mip_level_count: 1,
                        sample_count: 1,
                        dimension: wgpu::TextureDimension::D2,
                        format: format.texture,
                        usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                            | wgpu::TextureUsages::COPY_DST
                            | wgpu::TextureUsages::COPY_SRC,
                        view_formats: &view_formats,
                    },
                )
            };
            textures.push(texture);
        }
        let views = textures
            .iter()
            .map(|t| {
                std::array::from_fn(|eye| {
                    t.create_view(&wgpu::TextureViewDescriptor {
                        label: Some("openxr eye"),
                        format: Some(format.view),
                        dimension: Some(wgpu::TextureViewDimension::D2),
                        base_array_layer: eye as u32,
                        array_layer_count: Some(1),
                        ..Default::default()
                    })
                })
            })
            .collect();
        let layers = textures
            .iter()
            .map(|t| {
                t.create_view(&wgpu::TextureViewDescriptor {
                    label: Some("openxr eyes"),
                    format: Some(format.view),
                    dimension: Some(wgpu::TextureViewDimension::D2Array),
                    base_array_layer: 0,
                    array_layer_count: Some(EYES as u32),
                    ..Default::default()
                })
            })
            .collect();
        Ok(StereoSwapchain {
            swapchain,
            views,
            layers,
            textures,
            device: Arc::clone(device),
            size,
            format,
            acquired: None,
        })
    }

    /// Width and height of every eye's image.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// The format the renderer's views have.
    pub fn view_format(&self) -> wgpu::TextureFormat {
        self.format.view
    }

    /// The OpenXR swapchain (for composition layers).
    pub fn handle(&self) -> &xr::Swapchain<xr::Vulkan> {
        &self.swapchain
    }

    /// Acquires the next image and waits (at most [`IMAGE_WAIT_LIMIT`]) until the compositor is
    /// done with it; returns its index.
    pub fn acquire(&mut self) -> Result<usize, SwapchainError> {
        let index = self
            .swapchain
            .acquire_image()
            .map_err(|result| SwapchainError::Xr {
                call: "xrAcquireSwapchainImage",
                result,
            })? as usize;
        let info = xr::sys::SwapchainImageWaitInfo {
            ty: xr::sys::SwapchainImageWaitInfo::TYPE,
            next: std::ptr::null(),
            timeout: xr::Duration::from_nanos(100_000_000),
        };
        let started = Instant::now();
        loop {
            // SAFETY: a valid swapchain with an acquired, unwaited image. Called directly
            // because the wrapper cannot tell a timeout from success.
            let result = unsafe {
                (self.swapchain.instance().fp().wait_swapchain_image)(
                    self.swapchain.as_raw(),
                    &info,
                )
            };
            match result {
                xr::sys::Result::SUCCESS => break,
                xr::sys::Result::TIMEOUT_EXPIRED if started.elapsed() < IMAGE_WAIT_LIMIT => {}
                xr::sys::Result::TIMEOUT_EXPIRED => {
                    return Err(SwapchainError::Timeout(IMAGE_WAIT_LIMIT));
                }
                result => {
                    return Err(SwapchainError::Xr {
                        call: "xrWaitSwapchainImage",
                        result,
                    });
                }
            }
        }
        self.acquired = Some(index);
        Ok(index)
    }

    /// Image `index` (every eye's layer).
    pub fn texture(&self, index: usize) -> &wgpu::Texture {
        &self.textures[index]
    }

    /// The view of `eye`'s layer of image `index`.
    pub fn eye_view(&self, index: usize, eye: usize) -> &wgpu::TextureView {
        &self.views[index][eye]
    }

    /// The view of both eyes' layers of image `index` (layer `i` is eye `i`).
    pub fn layers_view(&self, index: usize) -> &wgpu::TextureView {
        &self.layers[index]
    }

    /// Hands the acquired image back to the compositor (its rendering must be submitted).
    pub fn release(&mut self) -> Result<(), SwapchainError> {
        if self.acquired.take().is_none() {
            return Ok(());
        }
        // SAFETY: a valid swapchain whose acquired image was waited for (see `acquire`).
        let result = unsafe {
            (self.swapchain.instance().fp().release_swapchain_image)(
                self.swapchain.as_raw(),
                std::ptr::null(),
            )
        };
        if result.into_raw() < 0 {
            return Err(SwapchainError::Xr {
                call: "xrReleaseSwapchainImage",
                result,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srgb_is_preferred_and_unknown_lists_are_errors() {
        let srgb = vk::Format::R8G8B8A8_SRGB.as_raw() as u32;
        let unorm = vk::Format::R8G8B8A8_UNORM.as_raw() as u32;
        let bgra = vk::Format::B8G8R8A8_SRGB.as_raw() as u32;
        let f = choose_format(&[bgra, unorm, srgb]).unwrap();
        assert_eq!(f.vk, vk::Format::R8G8B8A8_SRGB);
        assert!(f.mutable());
        let f = choose_format(&[bgra, unorm]).unwrap();
        assert!(!f.mutable() && f.view == wgpu::TextureFormat::Rgba8Unorm);
        assert!(matches!(
            choose_format(&[bgra]),
            Err(SwapchainError::NoFormat(v)) if v == vec![bgra]
        ));
    }
}
