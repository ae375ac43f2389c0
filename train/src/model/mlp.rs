//! Small fully connected networks with ReLU between layers.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;

/// A multilayer perceptron `widths[0] → widths[1] → …`, ReLU after every layer but the last.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    layers: Vec<Linear<B>>,
}

impl<B: Backend> Mlp<B> {
    /// A freshly initialised network with the given layer widths (at least two).
    pub fn new(widths: &[usize], device: &B::Device) -> Mlp<B> {
        assert!(widths.len() >= 2, "an MLP needs input and output widths");
        Mlp {
            layers: widths
                .windows(2)
                .map(|w| LinearConfig::new(w[0], w[1]).init(device))
                .collect(),
        }
    }

    /// Applies the network to rows of `x` `[N, widths[0]]`.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(x, |h, (i, layer)| {
            let h = layer.forward(h);
            if i < last { relu(h) } else { h }
        })
    }
}
