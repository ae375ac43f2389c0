//! `yakumo-ingest synth`: options and glue to [`yakumo_ingest::synth::run`].

use anyhow::{Context, bail};
use clap::Args;
use std::path::PathBuf;
use yakumo_ingest::synth::{BoardChoice, SynthOptions};

use super::parse_size;

/// Options of `yakumo-ingest synth`.
#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Output directory; videos/, calib/, plates/ and truth/ are created inside it.
    #[arg(long)]
    out: PathBuf,
    /// Number of cameras on the ring around the subject.
    #[arg(long, default_value_t = 8)]
    cameras: usize,
    /// Number of ground-truth frames (the videos run a little longer so every camera covers them).
    #[arg(long, default_value_t = 60)]
    frames: usize,
    /// Image size WIDTHxHEIGHT in pixels (even numbers, as H.264 needs).
    #[arg(long, default_value = "640x480", value_parser = parse_size)]
    size: (u32, u32),
    /// Frame rate of the videos and the dataset, frames per second.
    #[arg(long, default_value_t = 30.0)]
    fps: f64,
    /// Seed of every random choice (dance, textures, camera placement, lenses, noise, points);
    /// the same seed gives the same images, masks and points.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// How much later each camera starts recording, in milliseconds, one value per camera
    /// separated by commas (e.g. 0,12.5,-8); all zero when omitted.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    offsets_ms: Option<Vec<f64>>,
    /// Give every camera a plausible lens distortion (written to intri.yml); none otherwise.
    #[arg(long)]
    distortion: bool,
    /// Calibration board shown in calib/*.mp4.
    #[arg(long, value_enum, default_value_t = BoardChoice::Charuco)]
    board: BoardChoice,
    /// Number of frames in each calibration video.
    #[arg(long, default_value_t = 60)]
    calib_frames: usize,
    /// Hold the calibration board still this many seconds at each key pose (then 0.2 s to the
    /// next), as a person does: needed to calibrate a rig without sync (`calibrate --sync`),
    /// whose cameras see a moving board at different instants. Default: always moving, a key
    /// pose every 2 frames, which packs many poses into a short video.
    #[arg(long, value_name = "SECONDS")]
    board_hold: Option<f64>,
    /// Ground-truth surface points sampled per frame (truth/points and truth/clip.yk4d).
    #[arg(long, default_value_t = 200_000)]
    points: usize,
    /// Write only the ground-truth dataset (truth/): no videos, plates or calibration videos, so
    /// no encoder is needed. For training experiments on a machine without GStreamer plugins.
    #[arg(long)]
    truth_only: bool,
    /// Print a JSON summary (paths, counts, seconds) on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs the synth subcommand.
pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    if args.out.is_file() {
        bail!("--out {} is a file, not a directory", args.out.display());
    }
    let opts = SynthOptions {
        out: args.out.clone(),
        cameras: args.cameras,
        frames: args.frames,
        width: args.size.0,
        height: args.size.1,
        fps: args.fps,
        seed: args.seed,
        offsets_ms: args.offsets_ms,
        distortion: args.distortion,
        board: args.board,
        calib_frames: args.calib_frames,
        board_hold_s: args.board_hold,
        points: args.points,
        truth_only: args.truth_only,
        progress: true,
    };
    let summary = yakumo_ingest::synth::run(&opts)
        .with_context(|| format!("synthetic capture into {} failed", args.out.display()))?;
    tracing::info!(seconds = summary.seconds.total, out = %summary.out.display(), "synthetic capture done");
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(())
}
