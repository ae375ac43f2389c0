//! `yakumo-ingest calibrate`: board detection on every camera's calibration video or image
//! folder, rig calibration, and the output files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use glam::DVec3;
use image::GrayImage;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use super::detections::{DETECTIONS_DIR, DetectionStore};
use super::export::{write_colmap, write_json};
use super::report::SyncReport;
use super::rig::{RigOptions, WorldFrame, calibrate_rig};
use super::timeline::place_on_timeline;
use super::views::{CameraViews, View};
use super::{Intrinsics, LensModel, intrinsics::MIN_CORNERS};
use crate::board::Board;
use crate::board::detect::Detector;
use crate::media::{DecodeOptions, MediaInfo, VideoDecoder, probe};
use crate::run::{SyncMethod, common_frame_rate, find_offsets};

const VIDEO_EXTENSIONS: &[&str] = &["mp4", "mkv", "mov", "avi", "webm", "m4v", "mts"];
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg"];
/// Video frames decoded ahead and detected in parallel.
const BATCH: usize = 16;

/// Arguments of `yakumo-ingest calibrate`.
#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// Board definition (TOML), e.g. assets/boards/charuco-5x7.toml.
    #[arg(long)]
    pub board: PathBuf,
    /// One calibration video or image folder per camera, or a folder holding them. Camera names
    /// are the file or folder names without extension. Videos are put on one timeline by
    /// `--sync`; images with the same index are taken as simultaneous.
    #[arg(long, required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Output folder: intri.yml, extri.yml, calibration.json, colmap/, and detections/ (each
    /// camera's board detections, reused by a later run into the same folder while the inputs,
    /// board and --step are unchanged: an interrupted run resumes, a run with other solver
    /// options skips detection).
    #[arg(long)]
    pub out: PathBuf,
    /// Detect the board again even where detections/ holds up-to-date detections.
    #[arg(long)]
    pub redetect: bool,
    /// Calibrate only the intrinsics (extrinsics are written as identity).
    #[arg(long)]
    pub intrinsics_only: bool,
    /// Keep the intrinsics of this intri.yml fixed (cameras matched by name).
    #[arg(long)]
    pub fix_intrinsics: Option<PathBuf>,
    /// Lens distortion coefficients to estimate for every camera: none, k1, k1k2, k1k2p1p2 or
    /// full (k1 k2 p1 p2 k3). Default: each camera's chosen by the evidence of its residuals
    /// (the report says which).
    #[arg(long, value_enum)]
    pub lens: Option<LensModel>,
    /// Print the report as JSON on standard output instead of a text summary.
    #[arg(long)]
    pub json: bool,
    /// World frame: `board` (the board's first pose) or the name of a camera.
    #[arg(long, default_value = "board")]
    pub world: String,
    /// Rotate the world so that this axis (+x, -x, +y, -y, +z, -z) points along the cameras'
    /// mean up direction.
    #[arg(long)]
    pub up: Option<String>,
    /// Use every N-th frame.
    #[arg(long, default_value_t = 1)]
    pub step: usize,
    /// How the board videos are put on one timeline: audio (GCC-PHAT against the first camera),
    /// timestamps (recording time tags), none (frame-synchronous cameras, e.g. genlocked) or
    /// offsets:MS,MS,... (how much later each camera started, in milliseconds). Default: audio
    /// when every board video has an audio track, else none. Unless the cameras are
    /// frame-synchronous, the extrinsics use only views in which the board is held still.
    #[arg(long, allow_hyphen_values = true)]
    pub sync: Option<SyncMethod>,
    /// Largest audio offset searched, in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub max_offset_s: f64,
}

/// One camera's input.
enum Source {
    /// A video, probed once (frame count for the progress bar, rate and audio for the sync).
    Video(PathBuf, Box<MediaInfo>),
    Images(Vec<PathBuf>),
}

impl Source {
    /// The files the camera's frames come from.
    fn files(&self) -> Vec<PathBuf> {
        match self {
            Source::Video(path, _) => vec![path.clone()],
            Source::Images(paths) => paths.clone(),
        }
    }

    /// Number of frames the board is searched in (every `step`-th), when known beforehand.
    fn searched_frames(&self, step: usize) -> Option<u64> {
        let frames = match self {
            Source::Images(paths) => Some(paths.len() as u64),
            Source::Video(_, info) => info.video.as_ref().map(|v| v.frame_count),
        };
        frames.map(|n| n.div_ceil(step as u64))
    }
}

/// A progress bar over the frames the board is searched in (every `step`-th of each source),
/// with an ETA; a spinner when a video's frames cannot be counted beforehand.
fn detection_progress(sources: &[(String, Source)], step: usize) -> ProgressBar {
    let total: Option<u64> = sources
        .iter()
        .map(|(_, source)| source.searched_frames(step))
        .sum();
    let (progress, template) = match total {
        Some(n) => (
            ProgressBar::new(n),
            "detecting the board: {msg:10} {bar:30} {pos}/{len} frames {elapsed} ETA {eta}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} detecting the board: {msg} ({pos} frames) [{elapsed}]",
        ),
    };
    progress.set_style(ProgressStyle::with_template(template).expect("valid template"));
    progress
}

/// Runs the command.
pub fn run(args: CalibrateArgs) -> Result<()> {
    let board = Board::load(&args.board)?;
    let detector = Detector::new(&board)?;
    let sources = collect_sources(&args.input)?;
    let step = args.step.max(1);
    let mut options = RigOptions {
        intrinsics_only: args.intrinsics_only,
        lens: args.lens,
        ..RigOptions::default()
    };
    options.world = match args.world.as_str() {
        "board" => WorldFrame::FirstBoard,
        name => WorldFrame::Camera(name.to_string()),
    };
    options.up = args.up.as_deref().map(parse_axis).transpose()?;
    if let Some(path) = &args.fix_intrinsics {
        options.fixed_intrinsics = read_fixed_intrinsics(path, &sources)?;
    }

    let store = DetectionStore::new(&args.out, format!("{board:?}"), step);
    let progress = detection_progress(&sources, step);
    let mut views = Vec::new();
    let mut reused = Vec::new();
    for (name, source) in &sources {
        progress.set_message(format!("camera {name}"));
        let inputs = store.fingerprint(&source.files())?;
        let stored = if args.redetect {
            None
        } else {
            store.load(name, &inputs)
        };
        let cam = match stored {
            Some(cam) => {
                progress.inc(source.searched_frames(step).unwrap_or(0));
                reused.push(name.as_str());
                cam
            }
            None => {
                let cam = detect_camera(&detector, name, source, step, &|| progress.inc(1))?;
                store.store(inputs, &cam)?;
                cam
            }
        };
        views.push(cam);
    }
    progress.finish_with_message(format!(
        "board detection done on {} frames",
        progress.position()
    ));
    if !reused.is_empty() {
        tracing::info!(
            "reused the board detections of camera(s) {} from {} (--redetect to detect again)",
            reused.join(", "),
            args.out.join(DETECTIONS_DIR).display()
        );
    }

    let sync = synchronise(
        &sources,
        &mut views,
        args.sync.as_ref(),
        args.max_offset_s,
        step,
    )?;
    let mut result = calibrate_rig(&board, &views, &options)?;
    result.report.sync = sync;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    yakumo_core::calib::write_calibration(&args.out, &result.cameras)
        .with_context(|| format!("cannot write intri.yml/extri.yml in {}", args.out.display()))?;
    write_json(
        &args.out.join("calibration.json"),
        &result.cameras,
        &result.report,
    )
    .with_context(|| {
        format!(
            "cannot write {}",
            args.out.join("calibration.json").display()
        )
    })?;
    write_colmap(&args.out.join("colmap"), &result.cameras)
        .with_context(|| format!("cannot write {}", args.out.join("colmap").display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result.report)?);
    } else {
        print!("{}", result.report.summary());
        println!("wrote {}", args.out.display());
    }
    Ok(())
}

/// Puts the cameras' views on one timeline by `method` (see [`CalibrateArgs::sync`]) and marks
/// the views the extrinsics may combine; `None` for image folders, taken as simultaneous.
fn synchronise(
    sources: &[(String, Source)],
    views: &mut [CameraViews],
    method: Option<&SyncMethod>,
    max_offset_s: f64,
    step: usize,
) -> Result<Option<SyncReport>> {
    let (videos, infos): (Vec<PathBuf>, Vec<MediaInfo>) = sources
        .iter()
        .filter_map(|(_, s)| match s {
            Source::Video(p, info) => Some((p.clone(), MediaInfo::clone(info))),
            Source::Images(_) => None,
        })
        .unzip();
    if videos.len() != sources.len() {
        return match method {
            None | Some(SyncMethod::None) => Ok(None),
            Some(m) => bail!(
                "--sync {}: needs every input to be a video (image folders have no frame rate or \
                 audio); use --sync none",
                m.name()
            ),
        };
    }
    let method = method.cloned().unwrap_or_else(|| {
        if infos.iter().all(|i| !i.audio.is_empty()) {
            SyncMethod::Audio
        } else {
            SyncMethod::None
        }
    });
    let fps = common_frame_rate(&infos)?;
    let offsets = find_offsets(&method, &videos, &infos, max_offset_s)
        .with_context(|| format!("--sync {}", method.name()))?;
    let earliest = offsets.seconds.iter().copied().fold(0.0, f64::min);
    let still_views = views
        .iter_mut()
        .zip(&offsets.seconds)
        .map(|(cam, &offset)| place_on_timeline(&mut cam.views, offset, earliest, fps, step))
        .collect();
    Ok(Some(SyncReport {
        method: method.name().to_string(),
        offsets_ms: offsets.seconds.iter().map(|s| s * 1000.0).collect(),
        confidence: offsets.confidence,
        still_views,
    }))
}

/// Each input is a camera (a video, or a folder of images), or a folder of such inputs.
fn collect_sources(inputs: &[PathBuf]) -> Result<Vec<(String, Source)>> {
    let video = |path: &Path| -> Result<(String, Source)> {
        let name = stem(path);
        let info = probe(path)
            .with_context(|| format!("camera {name}: cannot probe {}", path.display()))?;
        Ok((name, Source::Video(path.to_path_buf(), Box::new(info))))
    };
    let mut out = Vec::new();
    for input in inputs {
        if input.is_file() {
            out.push(video(input)?);
            continue;
        }
        if !input.is_dir() {
            bail!("input {} does not exist", input.display());
        }
        let images = list(input, IMAGE_EXTENSIONS)?;
        if !images.is_empty() {
            out.push((stem(input), Source::Images(images)));
            continue;
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(input)
            .with_context(|| format!("cannot list {}", input.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            if entry.is_file() && has_extension(&entry, VIDEO_EXTENSIONS) {
                out.push(video(&entry)?);
            } else if entry.is_dir() {
                let images = list(&entry, IMAGE_EXTENSIONS)?;
                if !images.is_empty() {
                    out.push((stem(&entry), Source::Images(images)));
                }
            }
        }
    }
    if out.is_empty() {
        bail!(
            "no calibration videos or image folders found in {:?}",
            inputs
        );
    }
    let mut names: Vec<&String> = out.iter().map(|(n, _)| n).collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        bail!(
            "two inputs are both named {:?}; camera names come from file names and must differ",
            w[0]
        );
    }
    Ok(out)
}

fn stem(p: &Path) -> String {
    p.file_stem().map_or_else(
        || p.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

fn has_extension(p: &Path, exts: &[&str]) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
}

fn list(dir: &Path, exts: &[&str]) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && has_extension(p, exts))
        .collect();
    files.sort();
    Ok(files)
}

/// Detects the board in every `step`-th frame of one camera.
fn detect_camera(
    detector: &Detector,
    name: &str,
    source: &Source,
    step: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<CameraViews> {
    let detect = |frame: usize, gray: &GrayImage| {
        tick();
        let corners = detector.detect(gray);
        (corners.len() >= MIN_CORNERS).then_some(View {
            frame,
            corners,
            simultaneous: true,
        })
    };
    let (width, height, mut views) = match source {
        Source::Images(paths) => {
            let frames: Vec<(usize, &PathBuf)> = paths.iter().enumerate().step_by(step).collect();
            let results: Vec<Result<(u32, u32, Option<View>)>> = frames
                .par_iter()
                .map(|(i, p)| {
                    let img = image::open(p)
                        .with_context(|| format!("camera {name}: cannot read {}", p.display()))?;
                    let gray = img.to_luma8();
                    Ok((gray.width(), gray.height(), detect(*i, &gray)))
                })
                .collect();
            let mut size = None;
            let mut views = Vec::new();
            for (r, (_, p)) in results.into_iter().zip(&frames) {
                let (w, h, v) = r?;
                if *size.get_or_insert((w, h)) != (w, h) {
                    bail!(
                        "camera {name}: {} is {w}×{h} but earlier images are {:?}; all images of a camera must have one size",
                        p.display(),
                        size.unwrap()
                    );
                }
                views.extend(v);
            }
            let (w, h) = size.with_context(|| format!("camera {name}: no images"))?;
            (w, h, views)
        }
        Source::Video(path, _) => {
            // The board is found in the decoded luma of every `step`-th frame (no chroma
            // conversion).
            let mut decoder = VideoDecoder::open(path, DecodeOptions::default())
                .with_context(|| format!("camera {name}: cannot open {}", path.display()))?;
            let mut size = (0, 0);
            let mut views = Vec::new();
            let mut batch: Vec<(usize, GrayImage)> = Vec::with_capacity(BATCH);
            let decoding = || format!("camera {name}: decoding {}", path.display());
            loop {
                let picture = decoder.next_picture().with_context(decoding)?;
                let end = picture.is_none();
                if let Some(p) = picture {
                    size = (p.width(), p.height());
                    if (p.index as usize).is_multiple_of(step) {
                        let gray = p.to_gray().with_context(decoding)?;
                        let gray = GrayImage::from_raw(size.0, size.1, gray)
                            .expect("to_gray gives width × height bytes");
                        batch.push((p.index as usize, gray));
                    }
                }
                if batch.len() == BATCH || (end && !batch.is_empty()) {
                    let found: Vec<Option<View>> =
                        batch.par_iter().map(|(i, g)| detect(*i, g)).collect();
                    views.extend(found.into_iter().flatten());
                    batch.clear();
                }
                if end {
                    break;
                }
            }
            (size.0, size.1, views)
        }
    };
    views.sort_by_key(|v| v.frame);
    Ok(CameraViews {
        name: name.to_string(),
        width,
        height,
        views,
    })
}

fn parse_axis(s: &str) -> Result<DVec3> {
    Ok(match s {
        "+x" | "x" => DVec3::X,
        "-x" => DVec3::NEG_X,
        "+y" | "y" => DVec3::Y,
        "-y" => DVec3::NEG_Y,
        "+z" | "z" => DVec3::Z,
        "-z" => DVec3::NEG_Z,
        _ => bail!("--up {s:?}: use one of +x -x +y -y +z -z"),
    })
}

fn read_fixed_intrinsics(
    path: &Path,
    sources: &[(String, Source)],
) -> Result<HashMap<String, Intrinsics>> {
    let file = yakumo_core::calib::read_intri(path)
        .with_context(|| format!("--fix-intrinsics {}", path.display()))?;
    let by_name: HashMap<String, Intrinsics> = file
        .into_iter()
        .map(|i| (i.name.clone(), Intrinsics::from_k(i.k, i.dist)))
        .collect();
    for (name, _) in sources {
        if !by_name.contains_key(name) {
            bail!(
                "--fix-intrinsics {}: camera {name} is not in the file; calibrate it or add it",
                path.display()
            );
        }
    }
    Ok(by_name)
}
