//! Host side of the GPU rasteriser: implements [`KnnBackend`] for every burn CubeCL backend.

use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{DType, Shape, TensorMetadata};
use burn_cubecl::kernel::{cast, into_contiguous};
use burn_cubecl::ops::numeric::{empty_device_contiguous_dtype, zeros_client};
use burn_cubecl::tensor::CubeTensor;
use burn_cubecl::{BoolElement, CubeBackend, CubeRuntime, FloatElement, IntElement};
use cubecl::calculate_cube_count_elemwise;
use cubecl::prelude::*;

use super::kernel::{count_kernel, fill_kernel, raster_kernel};
use super::{KnnBackend, KnnError, KnnOptions, MAX_TILE_ENTRIES, TILE_SIZE};
use crate::gather::{gather_backward_kernel, scatter_rows_add_kernel, scatter_rows_cas_kernel};

/// Casts to f32 (the kernels' type) and makes the layout contiguous.
fn prepare<R: CubeRuntime>(tensor: CubeTensor<R>) -> CubeTensor<R> {
    let tensor = if tensor.dtype == DType::F32 {
        tensor
    } else {
        cast(tensor, DType::F32)
    };
    into_contiguous(tensor)
}

/// Casts indices to i32 (the kernels' type) and makes the layout contiguous.
fn prepare_ids<R: CubeRuntime>(ids: CubeTensor<R>) -> CubeTensor<R> {
    into_contiguous(if ids.dtype == DType::I32 {
        ids
    } else {
        cast(ids, DType::I32)
    })
}

/// Whether the device adds to f32 in memory atomically (CUDA does; Vulkan only with
/// `shaderBufferFloat32AtomicAdd`).
fn has_float_atomic_add<R: CubeRuntime>(client: &ComputeClient<R>) -> bool {
    use cubecl::ir::{ElemType, FloatKind, StorageType, Type, features::AtomicUsage};
    client
        .properties()
        .atomic_type_usage(Type::new(StorageType::Atomic(ElemType::Float(
            FloatKind::F32,
        ))))
        .contains(AtomicUsage::Add)
}

/// `out[indices[n]] += grad[n]` for f32 `grad` `[N, C]` and i32 `indices` `[N]` into a zeroed
/// `[rows, C]`: by float atomic add (`float_add`, where the device has it) or compare-and-swap.
fn scatter_rows<R: CubeRuntime>(
    grad: CubeTensor<R>,
    indices: CubeTensor<R>,
    rows: usize,
    float_add: bool,
) -> CubeTensor<R> {
    let (n, channels) = (grad.shape()[0], grad.shape()[1]);
    let client = grad.client.clone();
    let out = zeros_client(
        client.clone(),
        grad.device.clone(),
        Shape::new([rows, channels]),
        DType::F32,
    );
    let elements = n * channels;
    if elements > 0 {
        let dim = CubeDim::new(&client, elements);
        let count = calculate_cube_count_elemwise(&client, elements, dim);
        let launch = if float_add {
            scatter_rows_add_kernel::launch_unchecked::<R>
        } else {
            scatter_rows_cas_kernel::launch_unchecked::<R>
        };
        unsafe {
            launch(
                &client,
                count,
                dim,
                grad.into_array_arg(),
                indices.into_array_arg(),
                out.clone().into_array_arg(),
                n as u32,
                channels as u32,
            );
        }
    }
    out
}

/// `tensor` in `dtype` (cast only when it differs).
fn to_dtype<R: CubeRuntime>(tensor: CubeTensor<R>, dtype: DType) -> CubeTensor<R> {
    if tensor.dtype == dtype {
        tensor
    } else {
        cast(tensor, dtype)
    }
}

/// Exclusive prefix sum of per-tile counts (with the total appended), checked against
/// [`MAX_TILE_ENTRIES`].
fn tile_offsets(counts: &[u32]) -> Result<Vec<u32>, KnnError> {
    let total: u64 = counts.iter().map(|&c| c as u64).sum();
    if total > MAX_TILE_ENTRIES {
        return Err(KnnError::TooManyTileEntries { entries: total });
    }
    let mut offsets = Vec::with_capacity(counts.len() + 1);
    let mut running = 0u32;
    offsets.push(0);
    for &c in counts {
        running += c;
        offsets.push(running);
    }
    Ok(offsets)
}

impl<R, F, I, BT> KnnBackend for CubeBackend<R, F, I, BT>
where
    R: CubeRuntime,
    F: FloatElement,
    I: IntElement,
    BT: BoolElement,
{
    fn rasterize_knn_primitive(
        centers: FloatTensor<Self>,
        depths: FloatTensor<Self>,
        radii: FloatTensor<Self>,
        options: &KnnOptions,
    ) -> Result<(IntTensor<Self>, FloatTensor<Self>), KnnError> {
        let float_dtype = depths.dtype;
        let centers = prepare(centers);
        let depths = prepare(depths);
        let radii = prepare(radii);
        let client = depths.client.clone();
        let device = depths.device.clone();

        let num_points = depths.shape().num_elements();
        let (tiles_x, tiles_y) = options.tiles();
        let num_tiles = tiles_x * tiles_y;
        let (width, height) = (options.width as u32, options.height as u32);

        // Pass 1: count (tile, point) pairs per tile.
        let counts = zeros_client(
            client.clone(),
            device.clone(),
            Shape::new([num_tiles]),
            DType::U32,
        );
        let point_dim = CubeDim::new(&client, num_points.max(1));
        let point_count = calculate_cube_count_elemwise(&client, num_points.max(1), point_dim);
        if num_points > 0 {
            unsafe {
                count_kernel::launch_unchecked::<R>(
                    &client,
                    point_count.clone(),
                    point_dim,
                    centers.clone().into_array_arg(),
                    depths.clone().into_array_arg(),
                    radii.clone().into_array_arg(),
                    counts.clone().into_array_arg(),
                    num_points as u32,
                    width,
                    height,
                    tiles_x as u32,
                    options.near,
                );
            }
        }

        // Pass 2: tile offsets on the host; the exact list size is known before allocation.
        let count_bytes = client
            .read_one(counts.handle.clone())
            .map_err(|e| KnnError::Readback(format!("{e:?}")))?;
        let offsets = tile_offsets(&u32::from_bytes(&count_bytes)[..num_tiles])?;
        let total = offsets[num_tiles] as usize;
        let offsets = client.create_from_slice(u32::as_bytes(&offsets));

        // Pass 3: fill the per-tile point lists.
        let list = client.empty(total.max(1) * size_of::<u32>());
        if total > 0 {
            let cursors = zeros_client(
                client.clone(),
                device.clone(),
                Shape::new([num_tiles]),
                DType::U32,
            );
            unsafe {
                fill_kernel::launch_unchecked::<R>(
                    &client,
                    point_count,
                    point_dim,
                    centers.clone().into_array_arg(),
                    depths.clone().into_array_arg(),
                    radii.clone().into_array_arg(),
                    ArrayArg::from_raw_parts(offsets.clone(), num_tiles + 1),
                    cursors.into_array_arg(),
                    ArrayArg::from_raw_parts(list.clone(), total.max(1)),
                    num_points as u32,
                    width,
                    height,
                    tiles_x as u32,
                    options.near,
                );
            }
        }

        // Pass 4: per-pixel K-nearest selection, one cube per tile.
        let out_shape = Shape::new([options.height, options.width, options.k]);
        let ids = empty_device_contiguous_dtype(
            client.clone(),
            device.clone(),
            out_shape.clone(),
            DType::I32,
        );
        let out_depths =
            empty_device_contiguous_dtype(client.clone(), device, out_shape, DType::F32);
        unsafe {
            raster_kernel::launch_unchecked::<R>(
                &client,
                CubeCount::Static(tiles_x as u32, tiles_y as u32, 1),
                CubeDim::new_2d(TILE_SIZE, TILE_SIZE),
                centers.into_array_arg(),
                depths.into_array_arg(),
                radii.into_array_arg(),
                ArrayArg::from_raw_parts(offsets, num_tiles + 1),
                ArrayArg::from_raw_parts(list, total.max(1)),
                ids.clone().into_array_arg(),
                out_depths.clone().into_array_arg(),
                width,
                height,
                tiles_x as u32,
                options.k,
            );
        }

        Ok((to_dtype(ids, I::dtype()), to_dtype(out_depths, float_dtype)))
    }

    fn gather_layers_backward(
        grad: FloatTensor<Self>,
        ids: IntTensor<Self>,
        footprint: FloatTensor<Self>,
        num_points: usize,
    ) -> FloatTensor<Self> {
        let float_dtype = grad.dtype;
        let grad = prepare(grad);
        let footprint = prepare(footprint);
        let ids = prepare_ids(ids);
        let (dims, channels) = (ids.shape(), grad.shape()[1]);
        let (height, width, k) = (dims[0], dims[1], dims[2]);
        let client = grad.client.clone();
        let out = empty_device_contiguous_dtype(
            client.clone(),
            grad.device.clone(),
            Shape::new([num_points, channels]),
            DType::F32,
        );
        if num_points > 0 {
            let dim = CubeDim::new(&client, num_points);
            let count = calculate_cube_count_elemwise(&client, num_points, dim);
            unsafe {
                gather_backward_kernel::launch_unchecked::<R>(
                    &client,
                    count,
                    dim,
                    grad.into_array_arg(),
                    ids.into_array_arg(),
                    footprint.into_array_arg(),
                    out.clone().into_array_arg(),
                    num_points as u32,
                    width as u32,
                    height as u32,
                    k as u32,
                    channels as u32,
                );
            }
        }
        to_dtype(out, float_dtype)
    }

    fn gather_rows_backward(
        grad: FloatTensor<Self>,
        indices: IntTensor<Self>,
        rows: usize,
    ) -> FloatTensor<Self> {
        let float_dtype = grad.dtype;
        let float_add = has_float_atomic_add(&grad.client);
        let out = scatter_rows(prepare(grad), prepare_ids(indices), rows, float_add);
        to_dtype(out, float_dtype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both scatter kernels (float atomic add and the compare-and-swap fallback) sum heavily
    /// repeated indices like a host loop, whichever one the test device would pick.
    #[test]
    fn both_scatter_kernels_sum_repeated_indices() {
        use burn::backend::Wgpu;
        use burn::tensor::{Int, Tensor, TensorData, TensorPrimitive};
        let device = Default::default();
        let (rows, n, c) = (7usize, 3000usize, 2usize);
        let indices: Vec<i32> = (0..n).map(|i| ((i * 5 + i / 3) % rows) as i32).collect();
        let grad: Vec<f32> = (0..n * c).map(|e| ((e % 13) as f32 - 6.0) * 0.25).collect();
        let mut want = vec![0.0f64; rows * c];
        for (i, &row) in indices.iter().enumerate() {
            for j in 0..c {
                want[row as usize * c + j] += grad[i * c + j] as f64;
            }
        }
        let float_add = {
            let t = Tensor::<Wgpu, 1>::zeros([1], &device)
                .into_primitive()
                .tensor();
            has_float_atomic_add(&t.client)
        };
        for add in [false, float_add] {
            let g = Tensor::<Wgpu, 2>::from_data(TensorData::new(grad.clone(), [n, c]), &device);
            let ids =
                Tensor::<Wgpu, 1, Int>::from_data(TensorData::new(indices.clone(), [n]), &device);
            let out = scatter_rows(
                g.into_primitive().tensor(),
                prepare_ids(ids.into_primitive()),
                rows,
                add,
            );
            let got: Vec<f32> = Tensor::<Wgpu, 2>::from_primitive(TensorPrimitive::Float(out))
                .into_data()
                .to_vec()
                .unwrap();
            for (e, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (*g as f64 - w).abs() < 1e-3,
                    "float add {add}, element {e}: {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn offsets_are_exclusive_prefix_sums_with_total() {
        assert_eq!(tile_offsets(&[3, 0, 2]).unwrap(), vec![0, 3, 3, 5]);
        assert_eq!(tile_offsets(&[]).unwrap(), vec![0]);
    }

    #[test]
    fn offsets_reject_overflowing_totals() {
        let err = tile_offsets(&[u32::MAX, u32::MAX]).unwrap_err();
        assert_eq!(
            err,
            KnnError::TooManyTileEntries {
                entries: 2 * u32::MAX as u64
            }
        );
    }
}
