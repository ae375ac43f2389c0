//! `yakumo-ingest run`: multi-camera footage plus a calibration become a dataset. Every camera
//! is probed, the cameras are put on one timeline (audio GCC-PHAT, timestamps or given offsets),
//! each camera is decoded by its own decoder in parallel, and the frames of the common timeline
//! are written as `images/<cam>/<frame>.jpg` with `masks/<cam>/<frame>.png` (from clean plates
//! or a chroma key), next to the calibration and `yakumo.toml`; with a size given, images, masks
//! and intrinsics are scaled to it. Output is staged in a sibling directory and renamed into
//! place at the end.

mod error;
mod inputs;
mod mask;
mod output;
mod sync;

pub use error::RunError;
pub use inputs::{CameraVideo, VIDEO_EXTENSIONS, camera_videos};
pub use mask::{ChromaKey, Cleanup, MaskMaker, MaskSizeError, PlateDifference, PlateThresholds};
pub use output::JPEG_QUALITY;
pub use sync::{Offsets, Schedule, SyncMethod, find_offsets};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use image::RgbImage;
use image::imageops::{self, FilterType};
use rayon::prelude::*;
use tracing::{info, warn};
use yakumo_core::dataset::DatasetLayout;
use yakumo_core::manifest::{FrameRange, Manifest, SyncInfo};

use crate::media::{
    ChromaUpsampling, DecodeOptions, MediaError, MediaInfo, VideoDecoder, VideoStreamInfo,
    decoder_threads, probe,
};

/// Chosen frames further than this (in frames) from the exact common instant are reported.
const RESIDUAL_NOTE_FRAMES: f64 = 0.02;
/// Audio offsets below this confidence get a warning.
const LOW_CONFIDENCE: f64 = 0.3;
/// A video stream this much (seconds, or two frames if longer) shorter than its container says
/// is truncated or damaged (audio may outlast the video by a little).
const SHORT_STREAM_TOLERANCE_S: f64 = 0.25;
/// Relative frame-rate difference tolerated between cameras.
const FPS_TOLERANCE: f64 = 1e-4;

/// Where the masks come from.
#[derive(Debug, Clone, PartialEq)]
pub enum MaskSource {
    /// No masks.
    None,
    /// Background subtraction against `<dir>/<cam>.png` clean plates.
    Plates(PathBuf),
    /// A chroma key of this RGB colour.
    ChromaKey([u8; 3]),
}

/// Options of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// A directory of videos, or the video files (camera name = file stem).
    pub videos: Vec<PathBuf>,
    /// Directory with `intri.yml` and `extri.yml`, or a COLMAP text model (see
    /// [`yakumo_core::calib::read_calibration`]).
    pub calib: PathBuf,
    /// Dataset directory to create (or replace, if it holds a dataset of the same cameras).
    pub out: PathBuf,
    /// Masks to make.
    pub masks: MaskSource,
    /// How to sync the cameras.
    pub sync: SyncMethod,
    /// Largest audio offset searched, in seconds.
    pub max_offset_s: f64,
    /// Dataset frames to write, half-open; all common frames when `None`.
    pub frames: Option<(u32, u32)>,
    /// Write every `step`-th frame.
    pub step: u32,
    /// Write images and masks at this `(width, height)` instead of the videos' size, with the
    /// intrinsics scaled to match ([`yakumo_core::Camera::resized`]). It may not exceed a video's
    /// size, nor differ from its aspect ratio by more than 1 %. Masks are made at the videos'
    /// size (against full-size clean plates, so the colour tests see unblurred pixels) and then
    /// resampled, which gives cleaner edges than masking the shrunken frames.
    pub size: Option<(u32, u32)>,
    /// How the 4:2:0 chroma of the videos is brought to full resolution.
    pub chroma: ChromaUpsampling,
    /// JPEG quality (1–100) of the dataset images.
    pub jpeg_quality: u8,
}

impl RunOptions {
    /// Defaults for the given inputs: no masks, audio sync within 30 s, all frames.
    pub fn new(videos: Vec<PathBuf>, calib: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        RunOptions {
            videos,
            calib: calib.into(),
            out: out.into(),
            masks: MaskSource::None,
            sync: SyncMethod::Audio,
            max_offset_s: 30.0,
            frames: None,
            step: 1,
            size: None,
            chroma: ChromaUpsampling::default(),
            jpeg_quality: JPEG_QUALITY,
        }
    }
}

/// The sync result of one camera.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CameraSync {
    /// Camera name.
    pub camera: String,
    /// Start of this camera minus start of the first, in milliseconds.
    pub offset_ms: f64,
    /// Confidence of the offset (0–1).
    pub confidence: f64,
    /// Source frame of dataset frame 0.
    pub first_source_frame: u64,
    /// Distance of the chosen frames from the exact common instants, in milliseconds.
    pub residual_ms: f64,
}

/// What a run wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunSummary {
    /// The dataset directory.
    pub out: PathBuf,
    /// Frame rate of the dataset.
    pub fps: f64,
    /// Per-camera sync, in camera order.
    pub sync: Vec<CameraSync>,
    /// Sync method name.
    pub sync_method: String,
    /// Frames on the common timeline.
    pub common_frames: u32,
    /// Dataset frame numbers written.
    pub frames: Vec<u32>,
    /// Whether masks were written.
    pub masks: bool,
    /// Wall time of the whole run in seconds.
    pub seconds: f64,
}

/// Runs the ingest described by `opts`.
pub fn run(opts: &RunOptions) -> Result<RunSummary, RunError> {
    let started = Instant::now();
    let videos = camera_videos(&opts.videos)?;
    let names: Vec<String> = videos.iter().map(|v| v.name.clone()).collect();
    output::check_out(&opts.out, &names)?;
    let paths: Vec<PathBuf> = videos.iter().map(|v| v.path.clone()).collect();
    let infos = paths.par_iter().map(probe).collect::<Result<Vec<_>, _>>()?;
    let (sizes, counts, fps) = video_properties(&videos, &infos)?;
    let mut cameras = inputs::calibrated_cameras(&opts.calib, &videos, &sizes)?;
    if let Some((width, height)) = opts.size {
        inputs::check_size(&videos, &sizes, (width, height))?;
        cameras = cameras.iter().map(|c| c.resized(width, height)).collect();
    }
    let makers = mask_makers(&opts.masks, &videos, &sizes)?;

    let offsets = sync::find_offsets(&opts.sync, &paths, &infos, opts.max_offset_s)?;
    let schedule = Schedule::new(&offsets.seconds, &counts, fps, opts.frames, opts.step)?;
    let report = sync_report(&names, &offsets, &schedule, fps);
    for s in &report {
        info!(camera = %s.camera, offset_ms = s.offset_ms, confidence = s.confidence, "sync");
        if s.confidence < LOW_CONFIDENCE {
            warn!(camera = %s.camera, confidence = s.confidence, "low sync confidence");
        }
    }
    let note = residual_note(&report, fps);
    if let Some(note) = &note {
        warn!("{note}");
    }

    let staging = output::Staging::new(&opts.out)?;
    let layout = DatasetLayout::new(staging.dir());
    let threads = decoder_threads(videos.len());
    videos
        .par_iter()
        .enumerate()
        .map(|(c, video)| {
            write_camera(
                video,
                schedule.shift[c],
                &schedule.frames,
                makers.get(c).map(|m| m.as_ref()),
                Images {
                    size: opts.size.filter(|&size| size != sizes[c]),
                    chroma: opts.chroma,
                    jpeg_quality: opts.jpeg_quality,
                    decoder_threads: threads,
                },
                &layout,
            )
        })
        .collect::<Result<Vec<()>, _>>()?;
    yakumo_core::calib::write_calibration(staging.dir(), &cameras)
        .map_err(|e| RunError::io(staging.dir(), e))?;
    let manifest = Manifest {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        fps,
        cameras: names.clone(),
        source: Some(format!(
            "yakumo-ingest run: {}{}",
            source_text(&paths),
            opts.size
                .map(|(w, h)| format!(", resized to {w}x{h}"))
                .unwrap_or_default()
        )),
        frames: FrameRange {
            start: schedule.frames[0],
            count: schedule.frames.len() as u32,
            step: opts.step,
        },
        sync: Some(SyncInfo {
            method: opts.sync.name().into(),
            offsets_ms: report
                .iter()
                .map(|s| (s.camera.clone(), s.offset_ms))
                .collect(),
            confidence: report
                .iter()
                .map(|s| (s.camera.clone(), s.confidence))
                .collect(),
            note,
        }),
        calibration: None,
    };
    let manifest_path = layout.manifest_path();
    manifest
        .write(&manifest_path)
        .map_err(|e| RunError::io(&manifest_path, e))?;
    staging.commit()?;
    Ok(RunSummary {
        out: opts.out.clone(),
        fps,
        sync: report,
        sync_method: opts.sync.name().into(),
        common_frames: schedule.available,
        frames: schedule.frames,
        masks: !makers.is_empty(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The video stream of a probed file, or an error naming it.
fn video_stream(info: &MediaInfo) -> Result<&VideoStreamInfo, RunError> {
    info.video.as_ref().ok_or_else(|| {
        MediaError::NoVideo {
            path: info.path.clone(),
            reason: "the file holds no video stream".into(),
        }
        .into()
    })
}

/// The constant frame rate every video of `infos` shares, or an error naming the video whose
/// rate is missing, variable or different.
pub fn common_frame_rate(infos: &[MediaInfo]) -> Result<f64, RunError> {
    let mut rates = Vec::with_capacity(infos.len());
    for info in infos {
        let v = video_stream(info)?;
        let unusable = |reason: &str| RunError::UnusableRate {
            path: info.path.clone(),
            reason: reason.into(),
        };
        let fps = v
            .fps
            .filter(|f| f.is_valid())
            .ok_or_else(|| unusable("the frame rate is unknown"))?;
        if v.variable_frame_rate {
            return Err(unusable(
                "the frame rate is variable; re-encode at a constant rate",
            ));
        }
        rates.push(fps.as_f64());
    }
    let Some(&fps) = rates.first() else {
        return Err(RunError::FpsMismatch {
            details: "no videos".into(),
        });
    };
    if rates.iter().any(|r| (r / fps - 1.0).abs() > FPS_TOLERANCE) {
        let details = infos
            .iter()
            .zip(&rates)
            .map(|(i, r)| format!("{} {r:.3} fps", i.path.display()))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(RunError::FpsMismatch { details });
    }
    Ok(fps)
}

/// Per camera: size and frame count; and the common frame rate.
#[allow(clippy::type_complexity)]
fn video_properties(
    videos: &[CameraVideo],
    infos: &[MediaInfo],
) -> Result<(Vec<(u32, u32)>, Vec<u64>, f64), RunError> {
    let fps = common_frame_rate(infos)?;
    let mut sizes = Vec::new();
    let mut counts = Vec::new();
    for (video, info) in videos.iter().zip(infos) {
        let v = video_stream(info)?;
        if let Some(container_s) = info.duration_seconds {
            let stream_s = v.frame_count as f64 / fps;
            let tolerance = SHORT_STREAM_TOLERANCE_S.max(2.0 / fps);
            if v.frame_count_exact && stream_s + tolerance < container_s {
                return Err(RunError::ShortStream {
                    path: video.path.clone(),
                    frames: v.frame_count,
                    stream_s,
                    container_s,
                });
            }
        }
        sizes.push((v.width, v.height));
        counts.push(v.frame_count);
    }
    Ok((sizes, counts, fps))
}

/// One mask maker per camera (none when masks are off).
fn mask_makers(
    source: &MaskSource,
    videos: &[CameraVideo],
    sizes: &[(u32, u32)],
) -> Result<Vec<Box<dyn MaskMaker>>, RunError> {
    match source {
        MaskSource::None => Ok(Vec::new()),
        MaskSource::ChromaKey(key) => Ok(videos
            .iter()
            .map(|_| {
                Box::new(ChromaKey::new(
                    *key,
                    ChromaKey::DEFAULT_TOLERANCE,
                    Cleanup::default(),
                )) as Box<dyn MaskMaker>
            })
            .collect()),
        MaskSource::Plates(dir) => videos
            .iter()
            .zip(sizes)
            .map(|(v, &size)| {
                let plate = inputs::load_plate(dir, &v.name, size)?;
                Ok(Box::new(PlateDifference::new(
                    plate,
                    PlateThresholds::default(),
                    Cleanup::default(),
                )) as Box<dyn MaskMaker>)
            })
            .collect(),
    }
}

/// How one camera's dataset images are made from its decoded frames.
#[derive(Clone, Copy)]
struct Images {
    /// Size to resample to, where it differs from the video's.
    size: Option<(u32, u32)>,
    chroma: ChromaUpsampling,
    jpeg_quality: u8,
    /// Threads of the camera's decoder (see [`decoder_threads`]).
    decoder_threads: u32,
}

/// Decodes `video` once, writing source frame `k + shift` as dataset frame `k` for each `k` in
/// `frames` (ascending), with its mask when `maker` is given; both resampled to `images.size`
/// when given (the mask is made from the full-size frame first, see [`RunOptions::size`]).
fn write_camera(
    video: &CameraVideo,
    shift: u64,
    frames: &[u32],
    maker: Option<&dyn MaskMaker>,
    images: Images,
    layout: &DatasetLayout,
) -> Result<(), RunError> {
    let started = Instant::now();
    let mut wanted = frames.iter().map(|&k| (k, k as u64 + shift)).peekable();
    let options = DecodeOptions {
        chroma: images.chroma,
        threads: images.decoder_threads,
        ..DecodeOptions::default()
    };
    let mut decoder = VideoDecoder::open(&video.path, options)?;
    let mut decoded = 0;
    while let Some(&(k, source)) = wanted.peek() {
        let Some(picture) = decoder.next_picture()? else {
            return Err(RunError::Truncated {
                path: video.path.clone(),
                decoded,
                wanted: source,
            });
        };
        decoded = picture.index + 1;
        // Frames between the wanted ones are decoded (the codec needs them), not converted.
        if picture.index < source {
            continue;
        }
        wanted.next();
        let frame = picture.to_rgb()?;
        let image = RgbImage::from_raw(frame.width, frame.height, frame.rgb)
            .expect("decoder frames are width × height × 3 bytes");
        let mask = maker
            .map(|maker| maker.mask(&image))
            .transpose()
            .map_err(|e| RunError::Plate {
                path: video.path.clone(),
                reason: format!("frame {}: {e}", frame.index),
            })?;
        let (image, mask) = match images.size {
            Some((w, h)) => (
                imageops::resize(&image, w, h, FilterType::Triangle),
                mask.map(|m| mask::resize_mask(&m, w, h)),
            ),
            None => (image, mask),
        };
        output::write_jpeg(
            &layout.image_path(&video.name, k),
            &image,
            images.jpeg_quality,
        )?;
        if let Some(mask) = &mask {
            output::write_mask(&layout.mask_path(&video.name, k), mask)?;
        }
    }
    info!(camera = %video.name, frames = frames.len(), seconds = started.elapsed().as_secs_f64(), "camera written");
    Ok(())
}

fn sync_report(
    names: &[String],
    offsets: &Offsets,
    schedule: &Schedule,
    fps: f64,
) -> Vec<CameraSync> {
    names
        .iter()
        .enumerate()
        .map(|(c, name)| CameraSync {
            camera: name.clone(),
            offset_ms: offsets.seconds[c] * 1000.0,
            confidence: offsets.confidence[c],
            first_source_frame: schedule.shift[c],
            residual_ms: schedule.residual_frames[c] / fps * 1000.0,
        })
        .collect()
}

/// A note naming the cameras whose offsets are not whole frames (their frames are the nearest
/// ones, up to half a frame off the common instants).
fn residual_note(report: &[CameraSync], fps: f64) -> Option<String> {
    let limit_ms = RESIDUAL_NOTE_FRAMES / fps * 1000.0;
    let off: BTreeMap<&str, f64> = report
        .iter()
        .filter(|s| s.residual_ms.abs() > limit_ms)
        .map(|s| (s.camera.as_str(), s.residual_ms))
        .collect();
    (!off.is_empty()).then(|| {
        let list: Vec<String> = off.iter().map(|(c, r)| format!("{c} {r:+.2} ms")).collect();
        format!(
            "offsets are not whole frames: the nearest frame was taken, off the common instants by {}",
            list.join(", ")
        )
    })
}

fn source_text(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
