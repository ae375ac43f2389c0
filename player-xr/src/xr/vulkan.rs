//! Vulkan for OpenXR (`XR_KHR_vulkan_enable2`): the runtime creates the Vulkan instance and
//! device (adding what its compositor needs), `ash` loads them, and wgpu-hal wraps them so the
//! player's wgpu renderer runs on the very device the runtime composites from.

use std::ffi::{CStr, c_char};
use std::sync::Arc;

use ash::vk::{self, Handle};
use openxr as xr;
use thiserror::Error;
use wgpu::hal::api::Vulkan as HalVulkan;
use wgpu::hal::vulkan as hal_vk;

use crate::gpu::{Gpu, device_descriptor};
use crate::xr::runtime::Runtime;

/// The Vulkan version the player asks for, when the runtime allows it.
const WANTED_API: (u32, u32) = (1, 2);

/// Errors while setting up Vulkan through the runtime.
#[derive(Debug, Error)]
pub enum VulkanError {
    /// The Vulkan loader library is missing.
    #[error(
        "no Vulkan loader (libvulkan.so.1 / vulkan-1.dll): {0}; install your GPU's Vulkan driver"
    )]
    Loader(String),
    /// The runtime's Vulkan version range excludes what wgpu needs.
    #[error("the OpenXR runtime supports Vulkan {min}..{max}; the player needs 1.1 or newer")]
    Version {
        /// Lowest version the runtime accepts.
        min: String,
        /// Highest version the runtime accepts.
        max: String,
    },
    /// An OpenXR call failed.
    #[error("OpenXR {call} failed: {result}")]
    Xr {
        /// The call.
        call: &'static str,
        /// The OpenXR result.
        #[source]
        result: xr::sys::Result,
    },
    /// A Vulkan call made through the runtime failed.
    #[error("{call} failed: {result}")]
    Vk {
        /// The call.
        call: &'static str,
        /// The Vulkan result.
        result: vk::Result,
    },
    /// wgpu could not use the runtime's device.
    #[error("wgpu cannot use the OpenXR runtime's Vulkan device: {0}")]
    Wgpu(String),
}

fn xr_err(call: &'static str) -> impl FnOnce(xr::sys::Result) -> VulkanError {
    move |result| VulkanError::Xr { call, result }
}

/// The wgpu device on the runtime's Vulkan device, and what `xrCreateSession` needs.
pub struct XrGpu {
    /// The device the renderer uses.
    pub gpu: Gpu,
    /// The Vulkan handles for the session's graphics binding.
    pub session_info: xr::vulkan::SessionCreateInfo,
}

impl std::fmt::Debug for XrGpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XrGpu")
            .field("gpu", &self.gpu.describe())
            .field("queue_family_index", &self.session_info.queue_family_index)
            .finish_non_exhaustive()
    }
}

/// The Vulkan API version to request within the runtime's supported range.
pub fn choose_api_version(min: xr::Version, max: xr::Version) -> Result<u32, VulkanError> {
    let key = |v: xr::Version| (v.major() as u32, v.minor() as u32);
    let (lo, hi) = (key(min), key(max));
    let pick = WANTED_API.clamp(lo, hi.max(lo));
    if pick < (1, 1) {
        return Err(VulkanError::Version {
            min: min.to_string(),
            max: max.to_string(),
        });
    }
    Ok(vk::make_api_version(0, pick.0, pick.1, 0))
}

/// Creates the Vulkan instance and device through the runtime and wraps them in wgpu.
pub fn create(rt: &Runtime) -> Result<XrGpu, VulkanError> {
    let reqs = rt
        .instance
        .graphics_requirements::<xr::Vulkan>(rt.system)
        .map_err(xr_err("xrGetVulkanGraphicsRequirements2KHR"))?;
    let api_version = choose_api_version(
        reqs.min_api_version_supported,
        reqs.max_api_version_supported,
    )?;
    // SAFETY: loads the system's Vulkan loader, which follows the Vulkan specification.
    let entry = unsafe { ash::Entry::load() }.map_err(|e| VulkanError::Loader(e.to_string()))?;
    let flags = wgpu::InstanceFlags::empty();
    let extensions = hal_vk::Instance::desired_extensions(&entry, api_version, flags)
        .map_err(|e| VulkanError::Wgpu(e.to_string()))?;
    let ext_ptrs: Vec<*const c_char> = extensions.iter().map(|e| e.as_ptr()).collect();
    let app = vk::ApplicationInfo::default()
        .application_name(c"yakumo-player")
        .engine_name(c"yakumo")
        .api_version(api_version);
    let create_info = vk::InstanceCreateInfo::default()
        .application_info(&app)
        .enabled_extension_names(&ext_ptrs);
    // SAFETY: ash's vkGetInstanceProcAddr and OpenXR's PFN type have the same C signature.
    let gipa: xr::sys::platform::VkGetInstanceProcAddr =
        unsafe { std::mem::transmute(entry.static_fn().get_instance_proc_addr) };

    // SAFETY: `create_info` and what it points to live until the call returns.
    let raw_instance = unsafe {
        rt.instance.create_vulkan_instance(
            rt.system,
            gipa,
            &create_info as *const vk::InstanceCreateInfo as *const _,
        )
    }
    .map_err(xr_err("xrCreateVulkanInstanceKHR"))?
    .map_err(|r| VulkanError::Vk {
        call: "vkCreateInstance (through the runtime)",
        result: vk::Result::from_raw(r),
    })?;
    let vk_instance = vk::Instance::from_raw(raw_instance as usize as u64);
    // SAFETY: the instance was just created from `entry`.
    let ash_instance = unsafe { ash::Instance::load(entry.static_fn(), vk_instance) };
    // SAFETY: created from `entry` with `api_version` and a superset of `desired_extensions`;
    // no drop callback, so wgpu-hal owns and destroys the instance.
    let hal_instance = unsafe {
        hal_vk::Instance::from_raw(
            entry.clone(),
            ash_instance.clone(),
            api_version,
            0,
            None,
            extensions,
            flags,
            wgpu::MemoryBudgetThresholds::default(),
            false,
            None,
        )
    }
    .map_err(|e| VulkanError::Wgpu(e.to_string()))?;

    // SAFETY: `raw_instance` came from xrCreateVulkanInstanceKHR.
    let raw_phd = unsafe { rt.instance.vulkan_graphics_device(rt.system, raw_instance) }
        .map_err(xr_err("xrGetVulkanGraphicsDevice2KHR"))?;
    let phd = vk::PhysicalDevice::from_raw(raw_phd as usize as u64);
    let exposed = hal_instance
        .expose_adapter(phd)
        .ok_or_else(|| VulkanError::Wgpu("the headset's GPU does not meet wgpu's needs".into()))?;
    let wanted = device_descriptor(exposed.features, &exposed.capabilities.limits);
    let features = wanted.required_features;
    let limits = wanted.required_limits.clone();

    // SAFETY: `phd` belongs to `ash_instance`.
    let families = unsafe { ash_instance.get_physical_device_queue_family_properties(phd) };
    let family = families
        .iter()
        .position(|f| {
            f.queue_flags
                .contains(vk::QueueFlags::GRAPHICS | vk::QueueFlags::COMPUTE)
        })
        .ok_or_else(|| VulkanError::Wgpu("the headset's GPU has no graphics queue".into()))?
        as u32;
    let device_extensions: Vec<&'static CStr> =
        exposed.adapter.required_device_extensions(features);
    let mut phd_features = exposed
        .adapter
        .physical_device_features(&device_extensions, features);
    let dev_ext_ptrs: Vec<*const c_char> = device_extensions.iter().map(|e| e.as_ptr()).collect();
    let priorities = [1.0f32];
    let queue_info = vk::DeviceQueueCreateInfo::default()
        .queue_family_index(family)
        .queue_priorities(&priorities);
    let device_info = phd_features.add_to_device_create(
        vk::DeviceCreateInfo::default()
            .queue_create_infos(std::slice::from_ref(&queue_info))
            .enabled_extension_names(&dev_ext_ptrs),
    );
    // SAFETY: `device_info` and its chain live until the call returns; `raw_phd` is the
    // runtime's physical device.
    let raw_device = unsafe {
        rt.instance.create_vulkan_device(
            rt.system,
            gipa,
            raw_phd,
            &device_info as *const vk::DeviceCreateInfo as *const _,
        )
    }
    .map_err(xr_err("xrCreateVulkanDeviceKHR"))?
    .map_err(|r| VulkanError::Vk {
        call: "vkCreateDevice (through the runtime)",
        result: vk::Result::from_raw(r),
    })?;
    // SAFETY: the device was just created on `ash_instance`.
    let ash_device = unsafe {
        ash::Device::load(
            ash_instance.fp_v1_0(),
            vk::Device::from_raw(raw_device as usize as u64),
        )
    };
    // SAFETY: created from this adapter with `family`, `device_extensions` and
    // `physical_device_features`; wgpu-hal owns and destroys it.
    let open = unsafe {
        exposed.adapter.device_from_raw(
            ash_device,
            None,
            &device_extensions,
            features,
            &limits,
            &wgpu::MemoryHints::Performance,
            family,
            0,
        )
    }
    .map_err(|e| VulkanError::Wgpu(e.to_string()))?;
    // SAFETY: the hal objects belong together: instance → adapter → device.
    let (instance, adapter, device, queue) = unsafe {
        let instance = wgpu::Instance::from_hal::<HalVulkan>(hal_instance);
        let adapter = instance.create_adapter_from_hal(exposed);
        let (device, queue) = adapter
            .create_device_from_hal(open, &wanted)
            .map_err(|e| VulkanError::Wgpu(e.to_string()))?;
        (instance, adapter, device, queue)
    };
    Ok(XrGpu {
        gpu: Gpu {
            instance,
            adapter,
            device: Arc::new(device),
            queue: Arc::new(queue),
        },
        session_info: xr::vulkan::SessionCreateInfo {
            instance: raw_instance,
            physical_device: raw_phd,
            device: raw_device,
            queue_family_index: family,
            queue_index: 0,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_is_clamped_to_the_runtime_range() {
        let v = |a, b| xr::Version::new(a, b, 0);
        assert_eq!(
            choose_api_version(v(1, 0), v(1, 3)).unwrap(),
            vk::make_api_version(0, 1, 2, 0)
        );
        assert_eq!(
            choose_api_version(v(1, 3), v(1, 4)).unwrap(),
            vk::make_api_version(0, 1, 3, 0)
        );
        assert_eq!(
            choose_api_version(v(1, 0), v(1, 1)).unwrap(),
            vk::make_api_version(0, 1, 1, 0)
        );
        assert!(choose_api_version(v(1, 0), v(1, 0)).is_err());
    }
}
