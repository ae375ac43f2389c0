//! Choosing the backend at run time: burn-cuda (when built with the `cuda` feature), burn-wgpu
//! (Vulkan, Metal, DX12; Mesa lavapipe in CI) or burn-ndarray on the CPU. `auto`, the default,
//! takes the first of CUDA, a hardware wgpu adapter and the CPU that this machine has.

use std::sync::OnceLock;

use burn::backend::Autodiff;

use super::trainer::TrainBackend;

/// The backends the command line offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// CUDA when its driver loads, else wgpu when a hardware GPU adapter exists, else the CPU.
    Auto,
    /// NVIDIA CUDA through burn-cuda (needs the `cuda` feature and an NVIDIA driver).
    Cuda,
    /// wgpu: Vulkan, Metal or DX12.
    Wgpu,
    /// The CPU (burn-ndarray, every core): for tiny runs on machines without a GPU.
    Cpu,
}

impl BackendChoice {
    /// The backend `Auto` stands for on this machine (probed once per process); other choices
    /// are returned as they are.
    pub fn resolve(self) -> BackendChoice {
        static AUTO: OnceLock<BackendChoice> = OnceLock::new();
        match self {
            BackendChoice::Auto => *AUTO.get_or_init(|| {
                if cuda_driver().is_some() {
                    BackendChoice::Cuda
                } else if hardware_adapter().is_some() {
                    BackendChoice::Wgpu
                } else {
                    BackendChoice::Cpu
                }
            }),
            other => other,
        }
    }
}

/// The NVIDIA driver library CUDA runs on, when this build has CUDA and the library loads.
pub fn cuda_driver() -> Option<&'static str> {
    #[cfg(feature = "cuda")]
    {
        const NAMES: [&str; 3] = ["libcuda.so.1", "libcuda.so", "nvcuda.dll"];
        // SAFETY: loading the driver runs only its initialisers, as burn-cuda's own loading does.
        NAMES
            .into_iter()
            .find(|name| unsafe { libloading::Library::new(*name) }.is_ok())
    }
    #[cfg(not(feature = "cuda"))]
    None
}

/// Name of the first wgpu adapter that is not a CPU emulation (lavapipe, WARP), if any.
pub fn hardware_adapter() -> Option<String> {
    // Vulkan, Metal and DX12 only: the GL backend is never used for training, and probing it
    // makes EGL print warnings on headless machines.
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    descriptor.backends = wgpu::Backends::PRIMARY;
    let instance = wgpu::Instance::new(descriptor);
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
        .into_iter()
        .map(|a| a.get_info())
        .find(|info| info.device_type != wgpu::DeviceType::Cpu)
        .map(|info| info.name)
}

/// Training on wgpu.
pub type WgpuTrain = Autodiff<yakumo_kernels::WgpuBackend>;
/// Training on the CPU.
pub type CpuTrain = Autodiff<burn::backend::NdArray>;
/// Training on CUDA.
#[cfg(feature = "cuda")]
pub type CudaTrain = Autodiff<yakumo_kernels::CudaBackend>;

/// Work that runs on whichever backend was chosen.
pub trait BackendTask {
    /// What the work returns.
    type Output;
    /// Runs the work on backend `B`.
    fn run<B: TrainBackend>(self, device: B::Device) -> anyhow::Result<Self::Output>;
}

/// Runs `task` on `choice`'s default device (`Auto` resolved first).
pub fn dispatch<T: BackendTask>(choice: BackendChoice, task: T) -> anyhow::Result<T::Output> {
    let choice = choice.resolve();
    match choice {
        BackendChoice::Wgpu => task.run::<WgpuTrain>(Default::default()),
        BackendChoice::Cpu | BackendChoice::Auto => task.run::<CpuTrain>(Default::default()),
        BackendChoice::Cuda => {
            if let Some(why) = cuda_unavailable() {
                anyhow::bail!(why);
            }
            #[cfg(feature = "cuda")]
            return task.run::<CudaTrain>(Default::default());
            #[cfg(not(feature = "cuda"))]
            unreachable!("without the cuda feature CUDA is always unavailable")
        }
    }
}

/// Why `--backend cuda` cannot run on this machine, or `None` when it can.
pub fn cuda_unavailable() -> Option<String> {
    if !cfg!(feature = "cuda") {
        return Some(
            "this build of yakumo-train has no CUDA backend (built without the `cuda` feature); \
             use --backend wgpu"
                .into(),
        );
    }
    cuda_driver().is_none().then(|| {
        "--backend cuda: the NVIDIA driver library (libcuda.so.1 / nvcuda.dll) is not installed or \
         not on the library path; install the NVIDIA driver, or use --backend wgpu or --backend cpu"
            .into()
    })
}
