//! `yakumo-ingest run`: options and glue to [`yakumo_ingest::run::run`].

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use yakumo_ingest::media::ChromaUpsampling;
use yakumo_ingest::run::{JPEG_QUALITY, MaskSource, RunOptions, SyncMethod};

use super::parse_size;

/// Options of `yakumo-ingest run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// A directory of camera videos, or the video files (camera name = file stem, matching the
    /// calibration's camera names).
    #[arg(long, required = true, num_args = 1..)]
    videos: Vec<PathBuf>,
    /// Calibration directory: intri.yml and extri.yml (EasyVolcap, as `calibrate` writes), or a
    /// COLMAP text model (cameras.txt and images.txt, one image per camera, the camera named
    /// after the image's folder or file name).
    #[arg(long)]
    calib: PathBuf,
    /// Dataset directory to write (replaced if it holds a dataset of the same cameras).
    #[arg(long)]
    out: PathBuf,
    /// Directory of clean plates <cam>.png: masks by background subtraction.
    #[arg(long, conflicts_with = "chroma_key")]
    plates: Option<PathBuf>,
    /// Backdrop colour RRGGBB (hex) to key out for masks, e.g. 00b140.
    #[arg(long, value_parser = parse_colour)]
    chroma_key: Option<[u8; 3]>,
    /// audio (GCC-PHAT against the first camera), timestamps (recording time tags), none, or
    /// offsets:MS,MS,... (how much later each camera started, in milliseconds).
    #[arg(long, default_value = "audio", allow_hyphen_values = true)]
    sync: SyncMethod,
    /// Largest audio offset searched, in seconds.
    #[arg(long, default_value_t = 30.0)]
    max_offset_s: f64,
    /// Dataset frames START..END (end excluded) on the common timeline; all by default.
    #[arg(long, value_parser = parse_range)]
    frames: Option<(u32, u32)>,
    /// Keep every K-th frame.
    #[arg(long, default_value_t = 1)]
    step: u32,
    /// Write images and masks at WIDTHxHEIGHT (e.g. 960x540) instead of the videos' size, with
    /// the intrinsics scaled to match; at most the videos' size, same aspect ratio within 1 %.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    size: Option<(u32, u32)>,
    /// How the videos' 4:2:0 chroma (one colour sample per 2×2 pixels, as cameras record) is
    /// brought to full resolution: `guided` follows the luma edges, 1–2 dB closer to the scene
    /// on textured subjects; `nearest` repeats each sample over its 2×2 block: faster (about
    /// 5 % of a 1080p run), colour edges blocky.
    #[arg(long, value_enum, default_value_t)]
    chroma: ChromaUpsampling,
    /// JPEG quality (1–100) of the dataset images. On the synthetic rig's 640×480 videos the
    /// worst image is 38.2–39.3 dB from the scene at 97; 95 loses about 0.5 dB for 0.8× the
    /// bytes, 100 adds about 0.4 dB for 1.4×.
    #[arg(long, default_value_t = JPEG_QUALITY, value_parser = clap::value_parser!(u8).range(1..=100))]
    jpeg_quality: u8,
    /// Print a JSON summary on stdout instead of the sync table.
    #[arg(long)]
    json: bool,
}

fn parse_range(s: &str) -> Result<(u32, u32), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("`{s}` is not START..END, e.g. 0..100"))?;
    let num = |v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| format!("`{v}` in `{s}` is not a frame number"))
    };
    Ok((num(a)?, num(b)?))
}

fn parse_colour(s: &str) -> Result<[u8; 3], String> {
    let hex = s.trim_start_matches('#');
    let bad = || format!("`{s}` is not a colour RRGGBB in hex, e.g. 00b140");
    if hex.len() != 6 {
        return Err(bad());
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
    Ok([byte(0)?, byte(2)?, byte(4)?])
}

/// Runs the run subcommand.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let masks = match (args.plates, args.chroma_key) {
        (Some(dir), _) => MaskSource::Plates(dir),
        (None, Some(key)) => MaskSource::ChromaKey(key),
        (None, None) => MaskSource::None,
    };
    let opts = RunOptions {
        masks,
        sync: args.sync,
        max_offset_s: args.max_offset_s,
        frames: args.frames,
        step: args.step,
        size: args.size,
        chroma: args.chroma,
        jpeg_quality: args.jpeg_quality,
        ..RunOptions::new(args.videos, args.calib, args.out.clone())
    };
    let summary = yakumo_ingest::run::run(&opts)
        .with_context(|| format!("ingest into {} failed", args.out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{:<12} {:>12} {:>10} {:>12} {:>12}",
            "camera", "offset ms", "confidence", "first frame", "residual ms"
        );
        for s in &summary.sync {
            println!(
                "{:<12} {:>12.3} {:>10.3} {:>12} {:>12.3}",
                s.camera, s.offset_ms, s.confidence, s.first_source_frame, s.residual_ms
            );
        }
        println!(
            "{} frames of {} common ({} fps) written to {} in {:.1} s",
            summary.frames.len(),
            summary.common_frames,
            summary.fps,
            summary.out.display(),
            summary.seconds
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_colours_parse_and_bad_ones_are_explained() {
        assert_eq!(parse_range("3..10"), Ok((3, 10)));
        assert!(parse_range("3-10").unwrap_err().contains("START..END"));
        assert!(parse_range("a..10").unwrap_err().contains("frame number"));
        assert_eq!(parse_colour("#00b140"), Ok([0, 0xb1, 0x40]));
        assert!(parse_colour("green").is_err());
    }
}
