//! Gathering per-point values into the K-buffer's layers, with a backward pass that scales with
//! the covered pixels.
//!
//! [`gather_layers`] is `values.select(0, ids)`: every layer of every pixel reads its point's row.
//! Its gradient sums, per point, the gradients of the layers that hold it. burn's generic backward
//! of `select` (an indexed add along one axis) runs one GPU thread per column over all `H·W·K`
//! layers, which takes seconds at training sizes; here the backward runs one thread per point
//! over the pixels of its screen disc (the footprint it was rasterised with) instead, without
//! atomics, so it is fast and deterministic.

mod kernel;

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::tensor::backend::Backend;
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{Int, Tensor, TensorMetadata, TensorPrimitive};

pub(crate) use kernel::gather_backward_kernel;

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

/// The backward gather on the host: `out[ids[e]] += grad[e]` (for backends without kernels).
pub(crate) fn scatter_layers_host<B: Backend>(
    grad: FloatTensor<B>,
    ids: IntTensor<B>,
    num_points: usize,
) -> FloatTensor<B> {
    let grad: Tensor<B, 2> = Tensor::from_primitive(TensorPrimitive::Float(grad));
    let ids: Tensor<B, 3, Int> = Tensor::from_primitive(ids);
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
