//! Choosing the GPU backend at run time: burn-cuda (default when built with the `cuda` feature)
//! or burn-wgpu (Vulkan, Metal, DX12; Mesa lavapipe in CI).

use burn::backend::Autodiff;

use super::trainer::TrainBackend;

/// The backends the command line offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// NVIDIA CUDA through burn-cuda (needs the `cuda` feature and an NVIDIA driver).
    Cuda,
    /// wgpu: Vulkan, Metal or DX12.
    Wgpu,
}

impl BackendChoice {
    /// CUDA when this build has it, wgpu otherwise.
    pub fn default_for_build() -> BackendChoice {
        if cfg!(feature = "cuda") {
            BackendChoice::Cuda
        } else {
            BackendChoice::Wgpu
        }
    }
}

/// Training on wgpu.
pub type WgpuTrain = Autodiff<yakumo_kernels::WgpuBackend>;
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

/// Runs `task` on `choice`'s default device.
pub fn dispatch<T: BackendTask>(choice: BackendChoice, task: T) -> anyhow::Result<T::Output> {
    match choice {
        BackendChoice::Wgpu => task.run::<WgpuTrain>(Default::default()),
        #[cfg(feature = "cuda")]
        BackendChoice::Cuda => task.run::<CudaTrain>(Default::default()),
        #[cfg(not(feature = "cuda"))]
        BackendChoice::Cuda => anyhow::bail!(
            "this build of yakumo-train has no CUDA backend (built without the `cuda` feature); use --backend wgpu"
        ),
    }
}
