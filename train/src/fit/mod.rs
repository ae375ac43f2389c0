//! `yakumo-train fit`: training the 4K4D model on a dataset.
//!
//! - [`config`]: the run description `RUN/run.json`;
//! - [`init`]: initial points from carving, scene bounds and spacing;
//! - [`loss`]: MSE, SSIM, soft-IoU mask loss, PSNR;
//! - [`optim`]: per-group Adam optimizers and the learning-rate schedule;
//! - [`checkpoint`]: atomic, resumable checkpoints;
//! - [`trainer`]: the loop's state and one iteration;
//! - [`backend`]: CUDA, wgpu or the CPU at run time;
//! - [`command`]: the subcommand (progress, metrics, previews, Ctrl-C);
//! - [`bench`]: `yakumo-train bench`, the time of each phase of an iteration.

pub mod backend;
pub mod bench;
pub mod checkpoint;
pub mod command;
pub mod config;
pub mod init;
pub mod loss;
pub mod optim;
pub mod trainer;

pub use command::{FitArgs, FitSummary, fit};
pub use trainer::{TrainBackend, Trainer};
