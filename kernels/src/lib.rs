//! Yakumo's GPU kernels, written in CubeCL and run through burn on any CubeCL backend
//! (CUDA, wgpu/Vulkan/Metal), with CPU references.
//!
//! - [`knn`]: tile-binned rasteriser that finds, per pixel, the K nearest points whose screen disc
//!   covers it (the layers of 4K4D's depth peeling).
//! - [`gather`]: per-point values gathered into those layers, with a fast custom backward.
//! - [`hull`]: the visual-hull cell test of space carving, a level of cells per launch.
//! - [`composite`]: differentiable front-to-back compositing of those layers (burn tensor ops).

pub mod composite;
pub mod gather;
pub mod hull;
pub mod knn;

pub use composite::{Composite, CompositeError, composite};
pub use gather::{GradSum, gather_layers, gather_rows};
pub use knn::{KnnBackend, KnnBuffer, KnnError, KnnOptions, rasterize_knn};

/// burn's wgpu backend without operation fusion (custom kernels run on `CubeBackend` directly).
pub type WgpuBackend = burn_cubecl::CubeBackend<cubecl::wgpu::WgpuRuntime, f32, i32, u32>;

/// burn's CUDA backend without operation fusion (custom kernels run on `CubeBackend` directly).
#[cfg(feature = "cuda")]
pub type CudaBackend = burn_cubecl::CubeBackend<cubecl::cuda::CudaRuntime, f32, i32, u8>;
