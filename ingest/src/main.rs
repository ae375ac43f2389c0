//! `yakumo-ingest`: the command line of the ingest crate. Each subcommand lives in its own
//! module; this file only parses arguments and dispatches.

mod cli;

use clap::{Parser, Subcommand};

/// Turn multi-camera footage into a Yakumo dataset, or make a synthetic capture to test with.
#[derive(Parser)]
#[command(name = "yakumo-ingest", version, about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a synthetic multi-camera capture (videos, calibration videos, clean plates) with
    /// its ground truth (calibration, images, masks, surface points, clip).
    Synth(cli::synth::SynthArgs),
    /// Calibrate a camera rig from board videos or image folders (one per camera): writes
    /// intri.yml, extri.yml, calibration.json, colmap/ and the board detections (detections/).
    Calibrate(yakumo_ingest::calib::command::CalibrateArgs),
    /// Show what each camera video holds and warn about cameras that differ in size or rate.
    Probe(cli::probe::ProbeArgs),
    /// Turn camera videos plus a calibration into a dataset: sync, decode, images, masks,
    /// calibration and yakumo.toml.
    Run(cli::run::RunArgs),
    /// Measure decode throughput (frames/s of all videos decoding at once) against plain
    /// `gst-launch-1.0 filesrc ! decodebin ! fakesink` decodes of the same files.
    BenchDecode(cli::bench::BenchDecodeArgs),
}

/// Log filter when `RUST_LOG` is unset. The board detector's crates warn at every frame in which
/// they find no board, which is most frames of a calibration video: only their errors are shown.
const DEFAULT_LOG_FILTER: &str = "info,wgpu=warn,naga=warn,calib_targets_aruco=error,\
    calib_targets_charuco=error,calib_targets_chessboard=error,calib_targets_core=error";

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| DEFAULT_LOG_FILTER.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Args::parse().command {
        Command::Synth(args) => cli::synth::run(args),
        Command::Calibrate(args) => yakumo_ingest::calib::command::run(args),
        Command::Probe(args) => cli::probe::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::BenchDecode(args) => cli::bench::run(args),
    }
}
