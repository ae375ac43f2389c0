//! `yakumo-train`: the training pipeline's command line.

use clap::{Parser, Subcommand};
use yakumo_train::carve;

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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Carve(args) => carve::command::run(&args),
    }
}
