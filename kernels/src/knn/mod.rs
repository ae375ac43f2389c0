//! K-nearest point rasteriser ("differentiable depth peeling", forward part): for every pixel the
//! `k` nearest points whose screen disc covers the pixel centre, sorted front to back.
//!
//! Conventions:
//! - Pixel `(u, v)` (column, row) has its centre at `(u + PIXEL_CENTER_OFFSET, v + PIXEL_CENTER_OFFSET)`
//!   = `(u, v)`: integer centres, the OpenCV convention of `yakumo_core::camera`.
//! - A point covers a pixel when `|centre_px − pixel centre|² < r_px²` (strict).
//! - Points with depth `z <= near`, radius `<= 0`, or centre/radius magnitude `>= MAX_COORD` (this
//!   includes NaN and infinities) are ignored.
//! - Layers are ordered by depth, ties by point index (smaller first); equal depths are all kept.
//! - Empty layers have id −1 and depth −1.

mod cpu;
mod kernel;
mod launch;

pub use cpu::{KnnBufferCpu, rasterize_knn_cpu};

use burn::backend::Autodiff;
use burn::backend::NdArray;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::ndarray::{
    FloatNdArrayElement, IntNdArrayElement, NdArrayTensor, QuantElement, SharedArray,
};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{Int, Tensor, TensorData, TensorPrimitive};

/// Offset of a pixel's centre from its integer index (0: OpenCV convention, integer centres).
pub const PIXEL_CENTER_OFFSET: f32 = 0.0;
/// Side of the square screen tiles points are binned into.
pub const TILE_SIZE: u32 = 16;
/// Largest supported number of layers per pixel (the GPU keeps them in registers).
pub const MAX_K: usize = 64;
/// Centres and radii at or beyond this magnitude (pixels), and non-finite ones, are culled.
pub const MAX_COORD: f32 = 1.0e7;
/// Largest number of (tile, point) pairs one call may produce (the list is indexed with u32).
pub const MAX_TILE_ENTRIES: u64 = u32::MAX as u64 / 2;

/// Errors of the rasteriser.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KnnError {
    /// Image size or layer count out of range.
    #[error("invalid rasteriser options: {0}")]
    InvalidOptions(String),
    /// Centre, depth and radius inputs disagree on the number of points.
    #[error("point inputs disagree: {centers} centres, {depths} depths, {radii} radii")]
    LengthMismatch {
        /// Number of centres.
        centers: usize,
        /// Number of depths.
        depths: usize,
        /// Number of radii.
        radii: usize,
    },
    /// The centre tensor is not `[N, 2]`.
    #[error("centres must have shape [N, 2], got {0:?}")]
    CentersShape(Vec<usize>),
    /// The points touch more (tile, point) pairs than one call supports.
    #[error(
        "the points touch {entries} (tile, point) pairs, more than the supported {MAX_TILE_ENTRIES}; radii are too large"
    )]
    TooManyTileEntries {
        /// Number of pairs the scene produced.
        entries: u64,
    },
    /// A tensor could not be read back from the device.
    #[error("reading tensor data failed: {0}")]
    Readback(String),
}

/// Image size, layer count and near plane of one rasterisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnnOptions {
    /// Image height in pixels (rows).
    pub height: usize,
    /// Image width in pixels (columns).
    pub width: usize,
    /// Layers kept per pixel (1..=MAX_K).
    pub k: usize,
    /// Points with depth `<= near` are ignored.
    pub near: f32,
}

impl KnnOptions {
    /// Checks sizes and the near plane.
    pub fn validate(&self) -> Result<(), KnnError> {
        if self.height == 0 || self.width == 0 {
            return Err(KnnError::InvalidOptions(format!(
                "image size {}x{} is empty",
                self.width, self.height
            )));
        }
        if self.height > 1 << 16 || self.width > 1 << 16 {
            return Err(KnnError::InvalidOptions(format!(
                "image size {}x{} exceeds 65536 pixels per side",
                self.width, self.height
            )));
        }
        if self.k == 0 || self.k > MAX_K {
            return Err(KnnError::InvalidOptions(format!(
                "k = {} is outside 1..={MAX_K}",
                self.k
            )));
        }
        if !self.near.is_finite() {
            return Err(KnnError::InvalidOptions(format!(
                "near plane {} is not finite",
                self.near
            )));
        }
        Ok(())
    }

    /// Number of tiles along x and y.
    pub fn tiles(&self) -> (usize, usize) {
        let t = TILE_SIZE as usize;
        (self.width.div_ceil(t), self.height.div_ceil(t))
    }
}

fn check_lengths(centers: usize, depths: usize, radii: usize) -> Result<(), KnnError> {
    if centers == depths && depths == radii {
        Ok(())
    } else {
        Err(KnnError::LengthMismatch {
            centers,
            depths,
            radii,
        })
    }
}

/// The K-buffer of an image as tensors: per pixel the nearest covering points, front to back.
#[derive(Debug, Clone)]
pub struct KnnBuffer<B: Backend> {
    /// Point indices `[H, W, K]`, −1 for empty layers.
    pub ids: Tensor<B, 3, Int>,
    /// Point depths `[H, W, K]`, −1 for empty layers (not differentiable).
    pub depths: Tensor<B, 3>,
}

/// Backends that can rasterise a K-buffer. Implemented on the GPU for every burn CubeCL backend
/// (`CubeBackend<R, ..>`: CUDA, wgpu), on the CPU for `NdArray`, and for `Autodiff<B>` by delegating
/// to `B` (the layer choice is not differentiated). burn's fused backends (`Fusion<..>`, what
/// `burn::backend::Wgpu`/`Cuda` become with burn's `fusion` feature) are not covered: use
/// [`crate::WgpuBackend`] / `crate::CudaBackend`.
pub trait KnnBackend: Backend {
    /// Primitive form of [`rasterize_knn`]: inputs `[N, 2]`, `[N]`, `[N]` (shapes already checked);
    /// returns ids `[H, W, K]` and depths `[H, W, K]`.
    fn rasterize_knn_primitive(
        centers: FloatTensor<Self>,
        depths: FloatTensor<Self>,
        radii: FloatTensor<Self>,
        options: &KnnOptions,
    ) -> Result<(IntTensor<Self>, FloatTensor<Self>), KnnError>;

    /// Primitive form of [`crate::gather_layers`]: rows of `values` `[N, C]` for the layers
    /// `ids` `[H, W, K]`, as `[H·W·K, C]`.
    fn gather_layers_primitive(
        values: FloatTensor<Self>,
        ids: IntTensor<Self>,
        _footprint: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        crate::gather::select_layers::<Self>(values, ids)
    }

    /// Gradient of [`crate::gather_layers`]: sums the rows of `grad` `[H·W·K, C]` per point of
    /// `ids`, giving `[num_points, C]`; `footprint` `[N, 3]` bounds where each point can appear.
    fn gather_layers_backward(
        grad: FloatTensor<Self>,
        ids: IntTensor<Self>,
        footprint: FloatTensor<Self>,
        num_points: usize,
    ) -> FloatTensor<Self>;

    /// Primitive form of [`crate::gather_rows`].
    fn gather_rows_primitive(
        values: FloatTensor<Self>,
        indices: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        let values: Tensor<Self, 2> = Tensor::from_primitive(TensorPrimitive::Float(values));
        values
            .select(0, Tensor::<Self, 1, Int>::from_primitive(indices))
            .into_primitive()
            .tensor()
    }

    /// Gradient of [`crate::gather_rows`]: adds row `n` of `grad` `[N, C]` to row `indices[n]` of
    /// a zero `[rows, C]` tensor.
    fn gather_rows_backward(
        grad: FloatTensor<Self>,
        indices: IntTensor<Self>,
        rows: usize,
    ) -> FloatTensor<Self>;
}

/// Rasterises points given by pixel-space `centers` `[N, 2]` (x, y), camera `depth` `[N]` and
/// screen `radius` `[N]` (pixels) into the K-buffer of an `options.height × options.width` image.
pub fn rasterize_knn<B: KnnBackend>(
    centers: Tensor<B, 2>,
    depth: Tensor<B, 1>,
    radius: Tensor<B, 1>,
    options: KnnOptions,
) -> Result<KnnBuffer<B>, KnnError> {
    options.validate()?;
    let [n, two] = centers.dims();
    if two != 2 {
        return Err(KnnError::CentersShape(vec![n, two]));
    }
    check_lengths(n, depth.dims()[0], radius.dims()[0])?;
    let (ids, depths) = B::rasterize_knn_primitive(
        centers.into_primitive().tensor(),
        depth.into_primitive().tensor(),
        radius.into_primitive().tensor(),
        &options,
    )?;
    Ok(KnnBuffer {
        ids: Tensor::from_primitive(ids),
        depths: Tensor::from_primitive(TensorPrimitive::Float(depths)),
    })
}

/// Reads a float tensor to the host as f32.
fn to_host_f32<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Vec<f32>, KnnError> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| KnnError::Readback(format!("{e:?}")))
}

/// Runs the CPU reference on any backend's tensors (reads them back, uploads the result).
pub fn rasterize_knn_via_cpu<B: Backend>(
    centers: Tensor<B, 2>,
    depth: Tensor<B, 1>,
    radius: Tensor<B, 1>,
    options: &KnnOptions,
) -> Result<KnnBuffer<B>, KnnError> {
    let device = centers.device();
    let flat = to_host_f32(centers)?;
    let centers: Vec<[f32; 2]> = flat.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
    let cpu = rasterize_knn_cpu(
        &centers,
        &to_host_f32(depth)?,
        &to_host_f32(radius)?,
        options,
    )?;
    let shape = [cpu.height, cpu.width, cpu.k];
    Ok(KnnBuffer {
        ids: Tensor::from_data(TensorData::new(cpu.ids, shape), &device),
        depths: Tensor::from_data(TensorData::new(cpu.depths, shape), &device),
    })
}

impl<E, I, Q> KnnBackend for NdArray<E, I, Q>
where
    E: FloatNdArrayElement,
    I: IntNdArrayElement,
    Q: QuantElement,
    NdArrayTensor: From<SharedArray<E>> + From<SharedArray<I>>,
{
    fn rasterize_knn_primitive(
        centers: FloatTensor<Self>,
        depths: FloatTensor<Self>,
        radii: FloatTensor<Self>,
        options: &KnnOptions,
    ) -> Result<(IntTensor<Self>, FloatTensor<Self>), KnnError> {
        let out = rasterize_knn_via_cpu::<Self>(
            Tensor::from_primitive(TensorPrimitive::Float(centers)),
            Tensor::from_primitive(TensorPrimitive::Float(depths)),
            Tensor::from_primitive(TensorPrimitive::Float(radii)),
            options,
        )?;
        Ok((
            out.ids.into_primitive(),
            out.depths.into_primitive().tensor(),
        ))
    }

    fn gather_layers_backward(
        grad: FloatTensor<Self>,
        ids: IntTensor<Self>,
        _footprint: FloatTensor<Self>,
        num_points: usize,
    ) -> FloatTensor<Self> {
        crate::gather::scatter_rows_host::<Self, 3>(grad, ids, num_points)
    }

    fn gather_rows_backward(
        grad: FloatTensor<Self>,
        indices: IntTensor<Self>,
        rows: usize,
    ) -> FloatTensor<Self> {
        crate::gather::scatter_rows_host::<Self, 1>(grad, indices, rows)
    }
}

impl<B: KnnBackend, C: CheckpointStrategy> KnnBackend for Autodiff<B, C> {
    fn rasterize_knn_primitive(
        centers: FloatTensor<Self>,
        depths: FloatTensor<Self>,
        radii: FloatTensor<Self>,
        options: &KnnOptions,
    ) -> Result<(IntTensor<Self>, FloatTensor<Self>), KnnError> {
        let (ids, out_depths) = B::rasterize_knn_primitive(
            Self::inner(centers),
            Self::inner(depths),
            Self::inner(radii),
            options,
        )?;
        Ok((Self::int_from_inner(ids), Self::from_inner(out_depths)))
    }

    fn gather_layers_primitive(
        values: FloatTensor<Self>,
        ids: IntTensor<Self>,
        footprint: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        crate::gather::gather_layers_autodiff::<B, C>(values, ids, footprint)
    }

    fn gather_layers_backward(
        grad: FloatTensor<Self>,
        ids: IntTensor<Self>,
        footprint: FloatTensor<Self>,
        num_points: usize,
    ) -> FloatTensor<Self> {
        Self::from_inner(B::gather_layers_backward(
            Self::inner(grad),
            Self::int_inner(ids),
            Self::inner(footprint),
            num_points,
        ))
    }

    fn gather_rows_primitive(
        values: FloatTensor<Self>,
        indices: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        crate::gather::gather_rows_autodiff::<B, C>(values, indices)
    }

    fn gather_rows_backward(
        grad: FloatTensor<Self>,
        indices: IntTensor<Self>,
        rows: usize,
    ) -> FloatTensor<Self> {
        Self::from_inner(B::gather_rows_backward(
            Self::inner(grad),
            Self::int_inner(indices),
            rows,
        ))
    }
}
