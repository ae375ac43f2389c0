//! Decode throughput: frames per second of the ingest decode path (one [`VideoDecoder`] per
//! camera, decoding in parallel as `yakumo-ingest run` does, packed RGB out) against the ceiling
//! of plain `gst-launch-1.0 filesrc ! decodebin ! fakesink` decodes of the same files, one
//! process per file, all running at once. Both are measured in the same call, alternating, so
//! the ratio compares like with like on the machine at hand.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use rayon::prelude::*;

use super::{ChromaUpsampling, DecodeOptions, MediaError, VideoDecoder, decoder_threads, yuv};

/// Conversions timed for [`ThroughputReport::conversion_ms`] (the best counts).
const CONVERSION_REPEATS: usize = 10;

/// The external program the ceiling is measured with.
pub const GST_LAUNCH: &str = "gst-launch-1.0";

/// What [`measure_decode_throughput`] found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThroughputReport {
    /// The files decoded.
    pub files: Vec<PathBuf>,
    /// Frames decoded by the ingest path per round (all files together).
    pub frames: u64,
    /// Rounds measured; each figure below is the best round.
    pub rounds: usize,
    /// Video decoder element the ingest path used (e.g. `avdec_h264`, `nvh264dec`).
    pub decoder: Option<String>,
    /// Whether that decoder is a hardware one.
    pub hardware: bool,
    /// The ingest path's 4:2:0 chroma upsampling.
    pub chroma: ChromaUpsampling,
    /// Wall seconds of the ingest path's best round.
    pub ingest_seconds: f64,
    /// Frames per second of the ingest path (all cameras together).
    pub ingest_fps: f64,
    /// Wall seconds of the best round of the `gst-launch-1.0` decodes.
    pub ceiling_seconds: f64,
    /// Frames per second of the `gst-launch-1.0` decodes (the same frame count).
    pub ceiling_fps: f64,
    /// `ingest_fps / ceiling_fps`.
    pub ratio: f64,
    /// Milliseconds of CPU one frame's YUV → RGB conversion takes with `chroma` on one thread
    /// (a 4:2:0 frame of the files' size, timed alone): what the conversion adds to the decode.
    pub conversion_ms: f64,
    /// The ceiling's command line for one file (`FILE` standing for each).
    pub ceiling_command: String,
}

/// Measures `rounds` rounds (at least one) of both decodes of `files`, alternating.
pub fn measure_decode_throughput(
    files: &[PathBuf],
    rounds: usize,
    chroma: ChromaUpsampling,
) -> Result<ThroughputReport, MediaError> {
    let rounds = rounds.max(1);
    // Read every file once so that neither side pays for the page cache.
    for f in files {
        std::fs::read(f).map_err(|e| io_error(f, e))?;
    }
    let mut best_ingest = f64::INFINITY;
    let mut best_ceiling = f64::INFINITY;
    let mut frames = 0;
    let mut decoder = None;
    let mut size = None;
    let threads = decoder_threads(files.len());
    for _ in 0..rounds {
        let started = Instant::now();
        let decoded = files
            .par_iter()
            .map(|f| decode_all(f, chroma, threads))
            .collect::<Result<Vec<_>, _>>()?;
        best_ingest = best_ingest.min(started.elapsed().as_secs_f64());
        frames = decoded.iter().map(|d| d.frames).sum();
        size = decoded.first().and_then(|d| d.size);
        decoder = decoded.into_iter().next().and_then(|d| d.decoder);
        best_ceiling = best_ceiling.min(ceiling_seconds(files)?);
    }
    let (width, height) = size.ok_or_else(|| MediaError::InvalidInput {
        path: files[0].clone(),
        message: "no frame decoded".into(),
    })?;
    let conversion_ms = yuv::i420_conversion_ms(width, height, chroma, CONVERSION_REPEATS)
        .map_err(|message| MediaError::InvalidInput {
            path: files[0].clone(),
            message,
        })?;
    let ingest_fps = frames as f64 / best_ingest;
    let ceiling_fps = frames as f64 / best_ceiling;
    Ok(ThroughputReport {
        files: files.to_vec(),
        frames,
        rounds,
        chroma,
        hardware: decoder.as_ref().is_some_and(|d| d.1),
        decoder: decoder.map(|d| d.0),
        ingest_seconds: best_ingest,
        ingest_fps,
        ceiling_seconds: best_ceiling,
        ceiling_fps,
        ratio: ingest_fps / ceiling_fps,
        conversion_ms,
        ceiling_command: format!("{GST_LAUNCH} {}", ceiling_args(Path::new("FILE")).join(" ")),
    })
}

/// What decoding one file gave.
struct Decoded {
    frames: u64,
    /// The decoder element's name and whether it is a hardware one.
    decoder: Option<(String, bool)>,
    /// The frames' size.
    size: Option<(u32, u32)>,
}

/// Decodes every frame of `path` to RGB, the decoder using `threads` threads.
fn decode_all(path: &Path, chroma: ChromaUpsampling, threads: u32) -> Result<Decoded, MediaError> {
    let options = DecodeOptions {
        chroma,
        threads,
        ..DecodeOptions::default()
    };
    let mut decoder = VideoDecoder::open(path, options)?;
    let used = decoder.decoder_name().map(|n| (n, decoder.uses_hardware()));
    let (mut frames, mut size) = (0, None);
    while let Some(frame) = decoder.next_frame()? {
        frames += 1;
        size = Some((frame.width, frame.height));
    }
    Ok(Decoded {
        frames,
        decoder: used,
        size,
    })
}

/// The `gst-launch-1.0` arguments of the ceiling decode of `path` (one argument each, so that
/// gst-launch escapes a location holding spaces).
fn ceiling_args(path: &Path) -> Vec<String> {
    let location = format!("location={}", path.display());
    [
        "-q",
        "filesrc",
        &location,
        "!",
        "decodebin",
        "!",
        "fakesink",
    ]
    .map(String::from)
    .to_vec()
}

/// Wall seconds of one `gst-launch-1.0` decode per file, all started at once.
fn ceiling_seconds(files: &[PathBuf]) -> Result<f64, MediaError> {
    let started = Instant::now();
    let children = files
        .iter()
        .map(|f| {
            Command::new(GST_LAUNCH)
                .args(ceiling_args(f))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map(|child| (f, child))
                .map_err(|e| MediaError::MissingElement {
                    element: format!("{GST_LAUNCH} (the program could not be started: {e})"),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (file, child) in children {
        let out = child.wait_with_output().map_err(|e| io_error(file, e))?;
        if !out.status.success() {
            return Err(MediaError::Pipeline {
                path: file.clone(),
                element: GST_LAUNCH.into(),
                message: format!("exited with {}", out.status),
                debug: Some(String::from_utf8_lossy(&out.stderr).trim().to_string()),
            });
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

fn io_error(path: &Path, source: std::io::Error) -> MediaError {
    MediaError::Io {
        path: path.to_path_buf(),
        source,
    }
}
