//! Gathering per-point values into the K-buffer's layers, with a backward pass that scales with
//! the covered pixels.
//!
//! [`gather_layers`] is `values.select(0, ids)`: every layer of every pixel reads its point's row.
//! Its gradient sums, per point, the gradients of the layers that hold it. burn's generic backward
//! of `select` (an indexed add along one axis) runs one GPU thread per column over all `H·W·K`
//! layers, which takes seconds at training sizes; here the backward runs one thread per point
//! over the pixels of its screen disc (the footprint it was rasterised with) instead, without
//! atomics, so it is fast and deterministic.
//!
//! [`gather_rows`] is the general form (`values.select(0, indices)` for any index list, e.g. the
//! cells of a feature grid or the pixels of an image); its backward adds each gradient row to its
//! source row with one GPU thread per element, by float atomic add where the device has it and a
//! compare-and-swap loop where it does not. Atomic sums come out in whatever order the threads
//! ran, so their last bits vary from run to run; [`GradSum::Ordered`] sums in index order instead
//! (burn's generic `select` backward), for bit-identical runs at a large cost in speed.

mod kernel;

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::tensor::backend::Backend;
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{Int, Tensor, TensorMetadata, TensorPrimitive};

pub(crate) use kernel::{gather_backward_kernel, scatter_rows_add_kernel, scatter_rows_cas_kernel};

use crate::KnnBackend;

/// Rows of `values` `[N, C]` for every layer of `ids` `[H, W, K]`: `[H·W·K, C]`. Empty layers
/// (id −1) read row 0 and get no gradient: mask them. `footprint` `[N, 3]` holds each point's
/// pixel centre and screen radius as given to the rasteriser that produced `ids` (no gradient
/// flows through it).
pub fn gather_layers<B: KnnBackend>(
    values: Tensor<B, 2>,
    ids: Tensor<B, 3, Int>,
    footprint: Tensor<B, 2>,
) -> Tensor<B, 2> {
    Tensor::from_primitive(TensorPrimitive::Float(B::gather_layers_primitive(
        values.into_primitive().tensor(),
        ids.into_primitive(),
        footprint.detach().into_primitive().tensor(),
    )))
}

/// How the backward pass of [`gather_rows`] sums the gradient rows that share a source row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GradSum {
    /// Atomic adds, one GPU thread per element: fast; the summation order, and so the last bits
    /// of the result, vary from run to run.
    #[default]
    Atomic,
    /// In index order, one GPU thread per column: bit-identical from run to run, but each
    /// thread walks every index, which is slow on large gathers.
    Ordered,
}

/// Rows `indices` `[N]` (each in `0..M`) of `values` `[M, C]`: `[N, C]`, like
/// `values.select(0, indices)`, with its backward pass summed as `sum` says.
pub fn gather_rows<B: KnnBackend>(
    values: Tensor<B, 2>,
    indices: Tensor<B, 1, Int>,
    sum: GradSum,
) -> Tensor<B, 2> {
    match sum {
        GradSum::Ordered => values.select(0, indices),
        GradSum::Atomic => Tensor::from_primitive(TensorPrimitive::Float(
            B::gather_rows_primitive(values.into_primitive().tensor(), indices.into_primitive()),
        )),
    }
}

/// The autodiff node of [`gather_rows`].
#[derive(Debug)]
struct GatherRows;

impl<B: KnnBackend> Backward<B, 1> for GatherRows {
    /// Indices and the row count of the gathered tensor.
    type State = (IntTensor<B>, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (indices, rows) = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            B::gather_rows_backward(grad, indices, rows)
        });
    }
}

/// [`KnnBackend::gather_rows_primitive`] for `Autodiff<B>`.
pub(crate) fn gather_rows_autodiff<B: KnnBackend, C: CheckpointStrategy>(
    values: FloatTensor<Autodiff<B, C>>,
    indices: IntTensor<Autodiff<B, C>>,
) -> FloatTensor<Autodiff<B, C>> {
    let indices = <Autodiff<B, C> as burn::tensor::backend::AutodiffBackend>::int_inner(indices);
    let rows = values.primitive.shape()[0];
    match GatherRows
        .prepare::<C>([values.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(
            (indices.clone(), rows),
            B::gather_rows_primitive(values.primitive, indices),
        ),
        OpsKind::UnTracked(prep) => {
            prep.finish(B::gather_rows_primitive(values.primitive, indices))
        }
    }
}

/// The forward gather on any backend: `values.select(0, max(ids, 0))`.
pub(crate) fn select_layers<B: Backend>(
    values: FloatTensor<B>,
    ids: IntTensor<B>,
) -> FloatTensor<B> {
    let ids: Tensor<B, 3, Int> = Tensor::from_primitive(ids);
    let [h, w, k] = ids.dims();
    let values: Tensor<B, 2> = Tensor::from_primitive(TensorPrimitive::Float(values));
    values
        .select(0, ids.reshape([h * w * k]).clamp_min(0))
        .into_primitive()
        .tensor()
}

/// The backward gather on the host: `out[ids[e]] += grad[e]`, skipping negative ids (for
/// backends without kernels). `ids` may have any shape; its elements are taken in order.
pub(crate) fn scatter_rows_host<B: Backend, const D: usize>(
    grad: FloatTensor<B>,
    ids: IntTensor<B>,
    num_points: usize,
) -> FloatTensor<B> {
    let grad: Tensor<B, 2> = Tensor::from_primitive(TensorPrimitive::Float(grad));
    let ids: Tensor<B, D, Int> = Tensor::from_primitive(ids);
    let device = grad.device();
    let [_, c] = grad.dims();
    let g: Vec<f64> = grad
        .into_data()
        .convert::<f64>()
        .to_vec()
        .expect("f64 data");
    let ids: Vec<i64> = ids.into_data().convert::<i64>().to_vec().expect("i64 data");
    let mut out = vec![0.0f64; num_points * c];
    for (e, &id) in ids.iter().enumerate() {
        if id >= 0 {
            let row = id as usize * c;
            for j in 0..c {
                out[row + j] += g[e * c + j];
            }
        }
    }
    Tensor::<B, 2>::from_data(burn::tensor::TensorData::new(out, [num_points, c]), &device)
        .into_primitive()
        .tensor()
}

/// The autodiff node of [`gather_layers`].
#[derive(Debug)]
struct GatherLayers;

impl<B: KnnBackend> Backward<B, 1> for GatherLayers {
    /// Layer ids, footprints and the point count.
    type State = (IntTensor<B>, FloatTensor<B>, usize);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (ids, footprint, num_points) = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            B::gather_layers_backward(grad, ids, footprint, num_points)
        });
    }
}

/// [`KnnBackend::gather_layers_primitive`] for `Autodiff<B>`.
pub(crate) fn gather_layers_autodiff<B: KnnBackend, C: CheckpointStrategy>(
    values: FloatTensor<Autodiff<B, C>>,
    ids: IntTensor<Autodiff<B, C>>,
    footprint: FloatTensor<Autodiff<B, C>>,
) -> FloatTensor<Autodiff<B, C>> {
    let ids = <Autodiff<B, C> as burn::tensor::backend::AutodiffBackend>::int_inner(ids);
    let footprint = footprint.primitive;
    let num_points = values.primitive.shape()[0];
    match GatherLayers
        .prepare::<C>([values.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(
            (ids.clone(), footprint.clone(), num_points),
            B::gather_layers_primitive(values.primitive, ids, footprint),
        ),
        OpsKind::UnTracked(prep) => {
            prep.finish(B::gather_layers_primitive(values.primitive, ids, footprint))
        }
    }
}
