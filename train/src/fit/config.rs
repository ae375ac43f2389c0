//! The run directory's description, `RUN/run.json`: which data, which split, the model spec and
//! the training settings. Written once when a run starts; `--resume`, `eval` and `bake` read it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use yakumo_core::fsutil::write_atomic;

use yakumo_kernels::GradSum;

use super::optim::LearningRates;
use crate::model::ModelSpec;

/// File name of the run description.
pub const RUN_FILE: &str = "run.json";

/// Training settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitSettings {
    /// Total iterations of the run (the learning-rate schedule spans them).
    pub iters: u64,
    /// Layers per pixel while training.
    pub k: usize,
    /// Seed of frame, camera and source sampling.
    pub seed: u64,
    /// Initial learning rates.
    pub lr: LearningRates,
    /// Weight of the structural term `1 − SSIM`.
    pub ssim_weight: f64,
    /// Weight of the soft-IoU mask loss.
    pub mask_weight: f64,
    /// Probability that the target camera is excluded from its own blending sources.
    pub exclude_target: f64,
    /// Decoded images kept in memory.
    pub image_cache: usize,
    /// Sum gradients in a fixed order, so that a run repeats bit for bit (slower).
    #[serde(default)]
    pub deterministic: bool,
}

impl FitSettings {
    /// 4K4D's settings for `iters` iterations in a scene of the given scale (radius limits
    /// relative to a human-size subject).
    pub fn reference(iters: u64, scene_scale: f64) -> FitSettings {
        FitSettings {
            iters,
            k: crate::render::TRAIN_K,
            seed: 0,
            lr: LearningRates::reference(scene_scale),
            // 4K4D: Huber ≈ ½·MSE + 1e-3·LPIPS + 1e-3·mask; relative to a full MSE term.
            ssim_weight: 2e-3,
            mask_weight: 2e-3,
            exclude_target: 0.9,
            image_cache: 256,
            deterministic: false,
        }
    }

    /// How the feature grid's gradient is summed under these settings.
    pub fn grad_sum(&self) -> GradSum {
        if self.deterministic {
            GradSum::Ordered
        } else {
            GradSum::Atomic
        }
    }
}

/// Everything that defines a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Dataset root.
    pub dataset: PathBuf,
    /// Frame numbers of the dataset the model covers (frame index i ↔ `frames[i]`).
    pub frames: Vec<u32>,
    /// Names of the training cameras.
    pub train_cameras: Vec<String>,
    /// Names of the held-out cameras.
    pub held_out_cameras: Vec<String>,
    /// The model's fixed description.
    pub spec: ModelSpec,
    /// Training settings.
    pub settings: FitSettings,
}

impl RunConfig {
    /// `RUN/run.json`.
    pub fn path(run: &Path) -> PathBuf {
        run.join(RUN_FILE)
    }

    /// Reads `RUN/run.json`.
    pub fn read(run: &Path) -> anyhow::Result<RunConfig> {
        let path = Self::path(run);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read {}: {e} (is {} a training run?)",
                path.display(),
                run.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Writes `RUN/run.json` atomically.
    pub fn write(&self, run: &Path) -> anyhow::Result<()> {
        let path = Self::path(run);
        let text = serde_json::to_vec_pretty(self)?;
        write_atomic(&path, &text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
    }
}
