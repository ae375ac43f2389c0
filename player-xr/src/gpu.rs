//! The wgpu device the player renders with, created headless or for a window surface.

use std::sync::Arc;

use thiserror::Error;

/// Errors while opening a GPU device.
#[derive(Debug, Error)]
pub enum GpuError {
    /// No adapter matched the request.
    #[error("no GPU adapter found (set WGPU_ADAPTER_NAME / WGPU_BACKEND to choose one): {0}")]
    NoAdapter(#[from] wgpu::RequestAdapterError),
    /// The adapter refused the device request.
    #[error("the GPU adapter refused to open a device: {0}")]
    Device(#[from] wgpu::RequestDeviceError),
    /// Reading a buffer back from the GPU failed.
    #[error("reading GPU buffer back failed: {0}")]
    Readback(String),
}

/// The device the player asks for on an adapter with `features` and `limits`: timestamp
/// queries when available (benchmarks fall back to CPU timing without them), multiview when
/// available (single-pass stereo on the raster path), and the adapter's own buffer, texture,
/// workgroup-memory and multiview limits.
pub fn device_descriptor(
    features: wgpu::Features,
    limits: &wgpu::Limits,
) -> wgpu::DeviceDescriptor<'static> {
    wgpu::DeviceDescriptor {
        label: Some("yakumo-player"),
        required_features: features & (wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::MULTIVIEW),
        required_limits: wgpu::Limits {
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_texture_dimension_2d: limits.max_texture_dimension_2d,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            max_multiview_view_count: limits.max_multiview_view_count,
            ..wgpu::Limits::default()
        },
        ..Default::default()
    }
}

/// A wgpu instance, adapter, device and queue shared by the renderer, the window and XR code.
#[derive(Clone, Debug)]
pub struct Gpu {
    /// The instance the adapter came from (needed to create window surfaces).
    pub instance: wgpu::Instance,
    /// The chosen adapter.
    pub adapter: wgpu::Adapter,
    /// The logical device.
    pub device: Arc<wgpu::Device>,
    /// Its queue.
    pub queue: Arc<wgpu::Queue>,
}

impl Gpu {
    /// Opens the default adapter without a surface (offscreen rendering, tests, benchmarks).
    ///
    /// `WGPU_ADAPTER_NAME`, `WGPU_BACKEND` and `WGPU_POWER_PREF` choose the adapter.
    pub fn headless() -> Result<Gpu, GpuError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        Self::with_instance(instance, None)
    }

    /// Opens an adapter on `instance`, compatible with `surface` when one is given.
    pub fn with_instance(
        instance: wgpu::Instance,
        surface: Option<&wgpu::Surface<'_>>,
    ) -> Result<Gpu, GpuError> {
        let adapter = pollster::block_on(wgpu::util::initialize_adapter_from_env_or_default(
            &instance, surface,
        ))?;
        let (device, queue) = pollster::block_on(
            adapter.request_device(&device_descriptor(adapter.features(), &adapter.limits())),
        )?;
        Ok(Gpu {
            instance,
            adapter,
            device: Arc::new(device),
            queue: Arc::new(queue),
        })
    }

    /// True when the device can write GPU timestamps in passes.
    pub fn has_timestamps(&self) -> bool {
        self.device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// A one-line description of the adapter, e.g. `"llvmpipe (Vulkan, Cpu)"`.
    pub fn describe(&self) -> String {
        let info = self.adapter.get_info();
        format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
    }

    /// Blocks until all submitted work has finished.
    pub fn wait_idle(&self) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| GpuError::Readback(e.to_string()))
    }

    /// Copies `len` bytes from the start of `src` (which needs `COPY_SRC`) back to the CPU,
    /// waiting for the GPU.
    pub fn read_buffer(&self, src: &wgpu::Buffer, len: u64) -> Result<Vec<u8>, GpuError> {
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: len,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(src, 0, &staging, 0, len);
        self.queue.submit([enc.finish()]);
        self.map_read(&staging)
    }

    /// Maps a `MAP_READ` buffer (whose copies are already submitted) and returns its bytes.
    pub fn map_read(&self, staging: &wgpu::Buffer) -> Result<Vec<u8>, GpuError> {
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.wait_idle()?;
        rx.recv()
            .map_err(|e| GpuError::Readback(e.to_string()))?
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let bytes = staging.get_mapped_range(..).to_vec();
        staging.unmap();
        Ok(bytes)
    }
}
