//! One Adam optimizer per parameter group (positions, grid, geometry head, blending head, SH
//! head) with 4K4D's learning rates and exponential decay to 0.1× over the run.

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use crate::model::{FeatureGrid, Mlp, Model, Positions};

/// Learning rates at iteration 0.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearningRates {
    /// Point positions (4K4D: 5e-5 m for a human-size subject; scaled with the scene).
    pub positions: f64,
    /// Feature grid (5e-3).
    pub grid: f64,
    /// Geometry head (5e-4).
    pub geometry: f64,
    /// Blending head (5e-3).
    pub blend: f64,
    /// SH head (5e-3).
    pub sh: f64,
}

/// Learning rates never decay below this (unless they start below it).
pub const LR_FLOOR: f64 = 5e-5;
/// Factor the rates reach at the end of the run.
pub const LR_FINAL_FACTOR: f64 = 0.1;

impl LearningRates {
    /// 4K4D's rates; positions scaled by `scene_scale` (1 for a human in metres).
    pub fn reference(scene_scale: f64) -> LearningRates {
        LearningRates {
            positions: 5e-5 * scene_scale,
            grid: 5e-3,
            geometry: 5e-4,
            blend: 5e-3,
            sh: 5e-3,
        }
    }

    /// Every rate times `factor`.
    pub fn scaled(self, factor: f64) -> LearningRates {
        LearningRates {
            positions: self.positions * factor,
            grid: self.grid * factor,
            geometry: self.geometry * factor,
            blend: self.blend * factor,
            sh: self.sh * factor,
        }
    }

    /// The rates at iteration `it` of `total`: `lr·0.1^(it/total)`, floored at
    /// `min(lr, LR_FLOOR)`.
    pub fn at(self, it: u64, total: u64) -> LearningRates {
        let f = LR_FINAL_FACTOR.powf(it as f64 / total.max(1) as f64);
        let decay = |lr: f64| (lr * f).max(lr.min(LR_FLOOR));
        LearningRates {
            positions: decay(self.positions),
            grid: decay(self.grid),
            geometry: decay(self.geometry),
            blend: decay(self.blend),
            sh: decay(self.sh),
        }
    }
}

/// The optimizers of every group.
#[derive(Clone)]
pub struct Optimizers<B: AutodiffBackend> {
    positions: OptimizerAdaptor<Adam, Positions<B>, B>,
    grid: OptimizerAdaptor<Adam, FeatureGrid<B>, B>,
    geometry: OptimizerAdaptor<Adam, Mlp<B>, B>,
    blend: OptimizerAdaptor<Adam, Mlp<B>, B>,
    sh: OptimizerAdaptor<Adam, Mlp<B>, B>,
}

fn adam<B: AutodiffBackend, M: AutodiffModule<B>>() -> OptimizerAdaptor<Adam, M, B> {
    AdamConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.999)
        .with_epsilon(1e-15)
        .init()
}

type Record<B, M> = <OptimizerAdaptor<Adam, M, B> as Optimizer<M, B>>::Record;

fn save<B: AutodiffBackend, M: AutodiffModule<B>>(
    o: &OptimizerAdaptor<Adam, M, B>,
) -> Result<Vec<u8>, String> {
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    Recorder::<B>::record::<Record<B, M>>(&recorder, o.to_record(), ()).map_err(|e| e.to_string())
}

fn load<B: AutodiffBackend, M: AutodiffModule<B>>(
    o: OptimizerAdaptor<Adam, M, B>,
    bytes: &[u8],
    device: &B::Device,
) -> Result<OptimizerAdaptor<Adam, M, B>, String> {
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let record: Record<B, M> =
        Recorder::<B>::load(&recorder, bytes.to_vec(), device).map_err(|e| e.to_string())?;
    Ok(o.load_record(record))
}

impl<B: AutodiffBackend> Default for Optimizers<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: AutodiffBackend> Optimizers<B> {
    /// Fresh optimizers (Adam β = 0.9, 0.999, ε = 1e-15).
    pub fn new() -> Optimizers<B> {
        Optimizers {
            positions: adam(),
            grid: adam(),
            geometry: adam(),
            blend: adam(),
            sh: adam(),
        }
    }

    /// Applies one step to every group with the gradients `grads` of a loss.
    pub fn step(
        &mut self,
        mut model: Model<B>,
        mut grads: B::Gradients,
        lr: &LearningRates,
    ) -> Model<B> {
        let g = GradientsParams::from_module(&mut grads, &model.positions);
        model.positions = self.positions.step(lr.positions, model.positions, g);
        let g = GradientsParams::from_module(&mut grads, &model.grid);
        model.grid = self.grid.step(lr.grid, model.grid, g);
        let g = GradientsParams::from_module(&mut grads, &model.geometry);
        model.geometry = self.geometry.step(lr.geometry, model.geometry, g);
        let g = GradientsParams::from_module(&mut grads, &model.blend);
        model.blend = self.blend.step(lr.blend, model.blend, g);
        let g = GradientsParams::from_module(&mut grads, &model.sh);
        model.sh = self.sh.step(lr.sh, model.sh, g);
        model
    }

    /// The optimizer states as five byte blobs (positions, grid, geometry, blend, sh).
    pub fn to_bytes(&self) -> Result<Vec<Vec<u8>>, String> {
        Ok(vec![
            save(&self.positions)?,
            save(&self.grid)?,
            save(&self.geometry)?,
            save(&self.blend)?,
            save(&self.sh)?,
        ])
    }

    /// Restores the states written by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(blobs: &[Vec<u8>], device: &B::Device) -> Result<Optimizers<B>, String> {
        let [p, g, ge, b, s] = blobs else {
            return Err(format!(
                "expected 5 optimizer states, found {}",
                blobs.len()
            ));
        };
        let fresh = Optimizers::<B>::new();
        Ok(Optimizers {
            positions: load(fresh.positions, p, device)?,
            grid: load(fresh.grid, g, device)?,
            geometry: load(fresh.geometry, ge, device)?,
            blend: load(fresh.blend, b, device)?,
            sh: load(fresh.sh, s, device)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_decay_to_a_tenth_with_a_floor() {
        let lr = LearningRates::reference(1.0);
        let end = lr.at(1000, 1000);
        assert!((end.grid - 5e-4).abs() < 1e-12);
        assert!(
            (end.geometry - LR_FLOOR).abs() < 1e-12,
            "floored: {}",
            end.geometry
        );
        assert_eq!(end.positions, 5e-5);
        let mid = lr.at(500, 1000);
        assert!((mid.grid - 5e-3 * 0.1f64.sqrt()).abs() < 1e-12);
    }
}
