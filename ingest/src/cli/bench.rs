//! `yakumo-ingest bench-decode`: decode throughput of the ingest path against plain
//! `gst-launch-1.0 ... ! fakesink` decodes of the same files.

use std::path::PathBuf;

use clap::Args;
use yakumo_ingest::media::{ChromaUpsampling, measure_decode_throughput};
use yakumo_ingest::run::camera_videos;

/// Options of `yakumo-ingest bench-decode`.
#[derive(Args, Debug)]
pub struct BenchDecodeArgs {
    /// Video files, or one directory of videos (as for `run --videos`).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Rounds of each decode; the best round of each counts.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// The ingest path's 4:2:0 chroma upsampling (as `run --chroma`).
    #[arg(long, value_enum, default_value_t)]
    chroma: ChromaUpsampling,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs the bench-decode subcommand.
pub fn run(args: BenchDecodeArgs) -> anyhow::Result<()> {
    let files: Vec<PathBuf> = camera_videos(&args.inputs)?
        .into_iter()
        .map(|v| v.path)
        .collect();
    let r = measure_decode_throughput(&files, args.rounds, args.chroma)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        let decoder = r.decoder.as_deref().unwrap_or("unknown");
        let kind = if r.hardware { "hardware" } else { "software" };
        println!(
            "{} files, {} frames, best of {} rounds",
            r.files.len(),
            r.frames,
            r.rounds
        );
        println!(
            "ingest decode ({decoder}, {kind}, RGB out, {:?} chroma): {:.1} frames/s ({:.2} s)",
            r.chroma, r.ingest_fps, r.ingest_seconds
        );
        println!(
            "gst-launch ceiling ({}, one per file): {:.1} frames/s ({:.2} s)",
            r.ceiling_command, r.ceiling_fps, r.ceiling_seconds
        );
        println!("ratio {:.3}", r.ratio);
        println!(
            "YUV → RGB conversion alone ({:?} chroma, one thread): {:.2} ms per frame",
            r.chroma, r.conversion_ms
        );
    }
    Ok(())
}
