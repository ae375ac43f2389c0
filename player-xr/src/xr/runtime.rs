//! Finding an OpenXR runtime: the loader library is opened at run time, so the player starts
//! (and plays on the desktop) on machines without one.

use openxr as xr;
use thiserror::Error;

/// How to get an OpenXR runtime, for error messages.
pub const INSTALL_HINT: &str = if cfg!(windows) {
    "install and start your headset's OpenXR runtime (Meta Quest Link, SteamVR, Virtual Desktop, \
     WMR) and make it the active OpenXR runtime; openxr_loader.dll (Khronos OpenXR SDK) must be \
     next to yakumo-player.exe or on PATH"
} else {
    "install an OpenXR runtime and its loader (Debian 13+/Ubuntu 24.04+: `apt install \
     monado-service libopenxr-loader1`, then run `monado-service`; or SteamVR) and make it the \
     active runtime (/etc/xdg/openxr/1/active_runtime.json or XR_RUNTIME_JSON)"
};

/// The loader library the player opens.
const LOADER: &str = if cfg!(windows) {
    "openxr_loader.dll"
} else {
    "libopenxr_loader.so.1"
};

/// Why no OpenXR session can be had.
#[derive(Debug, Error)]
pub enum RuntimeError {
    /// The loader library is not installed.
    #[error("no OpenXR loader found ({0}); {INSTALL_HINT}")]
    NoLoader(String),
    /// The loader found no runtime, or the runtime failed to start.
    #[error("no OpenXR runtime could be started ({0}); {INSTALL_HINT}")]
    NoRuntime(String),
    /// The runtime lacks `XR_KHR_vulkan_enable2`, which the player renders through.
    #[error("the OpenXR runtime {0:?} does not support Vulkan (XR_KHR_vulkan_enable2)")]
    NoVulkan(String),
    /// The runtime is running but no headset is connected.
    #[error(
        "the OpenXR runtime {runtime:?} sees no headset ({reason}); connect and turn on the headset"
    )]
    NoHeadset {
        /// Runtime name.
        runtime: String,
        /// The OpenXR result.
        reason: String,
    },
}

/// An OpenXR instance with Vulkan enabled and the headset's system id.
pub struct Runtime {
    /// The instance.
    pub instance: xr::Instance,
    /// The head-mounted display system.
    pub system: xr::SystemId,
    /// Runtime name and version, e.g. `"Monado(XRT) by Collabora et al 25.0.0"`.
    pub runtime_name: String,
    /// The headset's name, e.g. `"Simulated HMD"`.
    pub system_name: String,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("runtime_name", &self.runtime_name)
            .field("system_name", &self.system_name)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Loads the OpenXR loader, creates an instance with `XR_KHR_vulkan_enable2` and finds the
    /// head-mounted display.
    pub fn open() -> Result<Runtime, RuntimeError> {
        // SAFETY: the loader is the Khronos OpenXR loader found by the platform's library
        // search; it conforms to the OpenXR specification.
        let entry = unsafe { xr::Entry::load(&()) }.map_err(|e| {
            RuntimeError::NoLoader(match e {
                xr::EntryError::Load(l) => format!("{LOADER}: {l}"),
                other => other.to_string(),
            })
        })?;
        let available = entry
            .enumerate_extensions()
            .map_err(|e| RuntimeError::NoRuntime(e.to_string()))?;
        if !available.khr_vulkan_enable2 {
            return Err(RuntimeError::NoVulkan("the active runtime".into()));
        }
        let mut wanted = xr::ExtensionSet::default();
        wanted.khr_vulkan_enable2 = true;
        let app = xr::ApplicationInfo {
            application_name: "yakumo-player",
            application_version: 1,
            engine_name: "yakumo",
            engine_version: 1,
            api_version: xr::Version::new(1, 0, 0),
        };
        let instance = entry
            .create_instance(&app, &wanted, &[], &())
            .map_err(|e| RuntimeError::NoRuntime(e.to_string()))?;
        let runtime_name = match instance.properties() {
            Ok(p) => format!("{} {}", p.runtime_name, p.runtime_version),
            Err(e) => format!("(unnamed: {e})"),
        };
        let system = instance
            .system(xr::FormFactor::HEAD_MOUNTED_DISPLAY)
            .map_err(|e| RuntimeError::NoHeadset {
                runtime: runtime_name.clone(),
                reason: e.to_string(),
            })?;
        let system_name = instance
            .system_properties(system)
            .map(|p| p.system_name)
            .unwrap_or_else(|e| format!("(unnamed: {e})"));
        Ok(Runtime {
            instance,
            system,
            runtime_name,
            system_name,
        })
    }
}
