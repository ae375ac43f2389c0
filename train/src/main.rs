//! `yakumo-train`: the training pipeline's command line.

use clap::{Parser, Subcommand};
use yakumo_train::{bake, carve, eval, fit};

/// From an EasyVolcap dataset to a trained 4K4D clip.
#[derive(Debug, Parser)]
#[command(name = "yakumo-train", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The pipeline's stages.
#[derive(Debug, Subcommand)]
enum Command {
    /// Space carving: one initial point cloud per frame from the masks (visual hull surface).
    Carve(carve::command::CarveArgs),
    /// Train the 4K4D model on a dataset into a run directory.
    Fit(fit::FitArgs),
    /// Render a run's held-out cameras and measure PSNR, SSIM and mask IoU.
    Eval(eval::EvalArgs),
    /// Bake a run into a self-contained `.yk4d` clip.
    Bake(bake::BakeArgs),
    /// Time each phase of a training iteration (data, upload, geometry, colours, render, loss,
    /// backward, optimizer) on a backend.
    Bench(fit::bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Carve(args) => carve::command::run(&args),
        Command::Fit(args) => fit::command::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Bake(args) => bake::run(&args),
        Command::Bench(args) => fit::bench::run(&args),
    }
}
