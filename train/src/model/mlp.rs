//! Small fully connected networks with ReLU between layers.
//!
//! The rows (one per point, hundreds of thousands) run as a batch of [`CHUNK_ROWS`]-row chunks:
//! a layer's weight gradient is then a batch of short matrix products summed over the chunks,
//! where one product over all rows (a 64×64 result with a 262,144-long inner dimension) and the
//! bias gradient's sum over all rows leave most of a GPU idle (16 and 8–27 ms per layer on an
//! H200, 88 % of the backward pass).

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use rand_chacha::ChaCha8Rng;

use super::host_uniform;

/// Rows per chunk of [`Mlp::forward`].
const CHUNK_ROWS: usize = 1024;

/// A multilayer perceptron `widths[0] → widths[1] → …`, ReLU after every layer but the last.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    layers: Vec<Linear<B>>,
}

impl<B: Backend> Mlp<B> {
    /// A freshly initialised network with the given layer widths (at least two): weights and
    /// biases uniform in ±1/√fan_in (burn's and PyTorch's default), drawn from `rng` on the host
    /// so the same seed gives the same network on every backend.
    pub fn new(widths: &[usize], rng: &mut ChaCha8Rng, device: &B::Device) -> Mlp<B> {
        assert!(widths.len() >= 2, "an MLP needs input and output widths");
        Mlp {
            layers: widths
                .windows(2)
                .map(|w| {
                    let bound = 1.0 / (w[0] as f32).sqrt();
                    Linear {
                        weight: Param::from_tensor(host_uniform(rng, [w[0], w[1]], bound, device)),
                        bias: Some(Param::from_tensor(host_uniform(rng, [w[1]], bound, device))),
                    }
                })
                .collect(),
        }
    }

    /// Sets the bias of output `index` of the last layer to `value`.
    pub fn set_output_bias(&mut self, index: usize, value: f32, device: &B::Device) {
        let last = self.layers.last_mut().expect("an MLP has layers");
        let bias = last.bias.take().expect("layers are built with biases");
        let mut values: Vec<f32> = bias.val().into_data().to_vec().expect("f32 bias");
        values[index] = value;
        let len = values.len();
        last.bias = Some(Param::from_tensor(Tensor::from_data(
            burn::tensor::TensorData::new(values, [len]),
            device,
        )));
    }

    /// The same network with its last layer's weights and biases set to zero, so that it starts
    /// by answering 0 for every input (the residual and blending heads start neutral: plain
    /// image-based colour, equal weights for the sources that see a point).
    pub fn with_zero_output(mut self, device: &B::Device) -> Mlp<B> {
        let last = self.layers.last_mut().expect("an MLP has layers");
        let [fan_in, fan_out] = last.weight.dims();
        last.weight = Param::from_tensor(Tensor::zeros([fan_in, fan_out], device));
        last.bias = Some(Param::from_tensor(Tensor::zeros([fan_out], device)));
        self
    }

    /// Applies the network to rows of `x` `[N, widths[0]]`.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let [n, width] = x.dims();
        let chunks = n.div_ceil(CHUNK_ROWS).max(1);
        let rows = chunks * CHUNK_ROWS;
        let x = if rows > n {
            Tensor::cat(
                vec![x.clone(), Tensor::zeros([rows - n, width], &x.device())],
                0,
            )
        } else {
            x
        };
        let last = self.layers.len() - 1;
        let out = self.layers.iter().enumerate().fold(
            x.reshape([chunks, CHUNK_ROWS, width]),
            |h, (i, layer)| {
                let [fan_in, fan_out] = layer.weight.dims();
                let mut h = h.matmul(layer.weight.val().reshape([1, fan_in, fan_out]));
                if let Some(bias) = &layer.bias {
                    h = h + bias.val().reshape([1, 1, fan_out]);
                }
                if i < last { relu(h) } else { h }
            },
        );
        let out_width = out.dims()[2];
        out.reshape([rows, out_width]).narrow(0, 0, n)
    }
}
