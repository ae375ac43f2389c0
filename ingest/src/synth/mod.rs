//! The synthetic capture rig behind `yakumo-ingest synth`: renders an animated, textured
//! mannequin in a textured room from a ring of virtual cameras (wgpu, offscreen; works on Mesa
//! lavapipe), and writes what a real rig would give plus the ground truth:
//!
//! - `videos/<cam>.mp4`: H.264 + AAC per camera, camera `c` starting `offset_c` late (see
//!   [`timeline`]), with background noise and a clap at a known scene instant;
//! - `calib/<cam>.mp4` and `calib/board.toml`: a calibration board moved through the volume;
//! - `plates/<cam>.png`: clean background plates (the room without the subject);
//! - `truth/`: the EasyVolcap dataset the ingest should reproduce: `intri.yml`, `extri.yml`,
//!   `yakumo.toml`, `images/`, `masks/`, `points/<frame>.ply` and `clip.yk4d`.
//!
//! Everything but the videos is byte-for-byte deterministic for a given seed.

mod audio;
mod board_art;
mod board_tour;
#[cfg(test)]
mod corner_truth;
mod distort;
mod error;
mod figure;
mod gpu;
mod mesh;
mod output;
mod rig;
mod scene;
mod surface;
mod texture;
pub mod timeline;
mod truth;
mod video;
mod writer;

pub use board_art::BoardChoice;
pub use error::SynthError;
pub use rig::camera_name;

use crate::media::Fps;
use distort::Warp;
use figure::Figure;
use gpu::{Draw, GpuMesh, GpuTextures, Renderer};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use timeline::Timeline;
use tracing::info;
use writer::{Writers, with_writers};
use yakumo_core::Camera;
use yakumo_core::clip::{ClipHeaderParams, ClipWriter, FramePoints};
use yakumo_core::dataset::DatasetLayout;

/// Everything `yakumo-ingest synth` can be asked for.
#[derive(Clone, Debug)]
pub struct SynthOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Number of cameras.
    pub cameras: usize,
    /// Number of truth (dataset) frames.
    pub frames: usize,
    /// Image width in pixels (even).
    pub width: u32,
    /// Image height in pixels (even).
    pub height: u32,
    /// Frame rate.
    pub fps: f64,
    /// Seed of every random choice (figure, dance, textures, lenses, noise, points).
    pub seed: u64,
    /// Per-camera recording start offsets in milliseconds; `None` means all zero.
    pub offsets_ms: Option<Vec<f64>>,
    /// Give every camera lens distortion.
    pub distortion: bool,
    /// Board of the calibration videos.
    pub board: BoardChoice,
    /// Frames in each calibration video.
    pub calib_frames: usize,
    /// Seconds the calibration board is held still at each key pose (then 0.2 s of moving to
    /// the next); `None` keeps it moving, a key pose every 2 frames (many poses in a short video).
    pub board_hold_s: Option<f64>,
    /// Surface points per truth frame.
    pub points: usize,
    /// Write only `truth/` (no videos, plates or calibration videos).
    pub truth_only: bool,
    /// Show progress bars on a terminal.
    pub progress: bool,
}

/// Seconds the calibration board takes between key poses when it is held at each.
const BOARD_TRAVEL_S: f64 = 0.2;

impl SynthOptions {
    /// The defaults of the command line for output directory `out`.
    pub fn new(out: impl Into<PathBuf>) -> SynthOptions {
        SynthOptions {
            out: out.into(),
            cameras: 8,
            frames: 60,
            width: 640,
            height: 480,
            fps: 30.0,
            seed: 0,
            offsets_ms: None,
            distortion: false,
            board: BoardChoice::Charuco,
            calib_frames: 60,
            board_hold_s: None,
            points: 200_000,
            truth_only: false,
            progress: true,
        }
    }

    /// How the calibration board moves between key poses.
    fn board_pace(&self) -> board_tour::Pace {
        match self.board_hold_s {
            Some(hold) => board_tour::Pace::Hold {
                hold,
                travel: BOARD_TRAVEL_S,
            },
            None => board_tour::Pace::Sweep,
        }
    }

    /// Checks the options and returns the offsets in seconds.
    fn offsets_seconds(&self) -> Result<Vec<f64>, SynthError> {
        let bad = |m: String| Err(SynthError::Config(m));
        if self.cameras == 0 || self.cameras > 256 {
            return bad(format!("--cameras must be 1..=256, got {}", self.cameras));
        }
        if self.frames == 0 || self.calib_frames == 0 {
            return bad("--frames and --calib-frames must be at least 1".into());
        }
        if let Some(hold) = self.board_hold_s
            && !(0.0..=60.0).contains(&hold)
        {
            return bad(format!("--board-hold must be 0..=60 seconds, got {hold}"));
        }
        if self.width < 16
            || self.height < 16
            || !self.width.is_multiple_of(2)
            || !self.height.is_multiple_of(2)
            || self.width > 8192
            || self.height > 8192
        {
            return bad(format!(
                "--size {}x{} must be even numbers from 16 to 8192 (H.264 needs even sizes)",
                self.width, self.height
            ));
        }
        if !(self.fps.is_finite() && self.fps > 0.0 && self.fps <= 240.0) {
            return bad(format!("--fps must be in 0..=240, got {}", self.fps));
        }
        if self.points == 0 {
            return bad("--points must be at least 1".into());
        }
        match &self.offsets_ms {
            None => Ok(vec![0.0; self.cameras]),
            Some(ms) if ms.len() != self.cameras => bad(format!(
                "--offsets-ms has {} values but there are {} cameras",
                ms.len(),
                self.cameras
            )),
            Some(ms) if ms.iter().any(|m| !m.is_finite() || m.abs() > 10_000.0) => {
                bad("--offsets-ms values must be finite and within ±10000 ms".into())
            }
            Some(ms) => Ok(ms.iter().map(|m| m / 1000.0).collect()),
        }
    }
}

/// What a run wrote, for `--json` and for tests.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SynthSummary {
    /// The output directory.
    pub out: PathBuf,
    /// The GPU adapter used.
    pub adapter: String,
    /// Camera names.
    pub cameras: Vec<String>,
    /// Truth frames.
    pub frames: usize,
    /// Frames per camera video.
    pub video_frames: usize,
    /// Frames per calibration video.
    pub calib_frames: usize,
    /// Frame rate.
    pub fps: f64,
    /// Per-camera recording start offsets in seconds.
    pub offsets_s: Vec<f64>,
    /// Scene time of truth frame 0 in seconds.
    pub truth_start_s: f64,
    /// Scene time of the clap's onset in seconds (in every camera's video and calibration video
    /// timeline alike).
    pub clap_time_s: f64,
    /// Surface points per truth frame.
    pub points_per_frame: usize,
    /// Board shown in the calibration videos.
    pub board: BoardChoice,
    /// Camera videos.
    pub videos: Vec<PathBuf>,
    /// Calibration videos.
    pub calib_videos: Vec<PathBuf>,
    /// Clean plates.
    pub plates: Vec<PathBuf>,
    /// The truth dataset directory.
    pub truth: PathBuf,
    /// Wall-clock seconds per stage and in total.
    pub seconds: StageSeconds,
}

/// Wall-clock time of each stage.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct StageSeconds {
    /// GPU set-up and textures.
    pub setup: f64,
    /// Camera videos, truth images, masks and plates.
    pub capture: f64,
    /// Surface points and the clip.
    pub points: f64,
    /// Calibration videos.
    pub calibration: f64,
    /// Everything.
    pub total: f64,
}

/// The scene resources shared by every camera.
struct Stage<'a> {
    opts: &'a SynthOptions,
    renderer: Renderer,
    materials: GpuTextures,
    environment: GpuMesh,
    figure: Figure,
    fps: Fps,
    timeline: Timeline,
    cameras: Vec<Camera>,
}

fn progress_bar(opts: &SynthOptions, len: usize, what: &str) -> ProgressBar {
    let target = if opts.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len as u64), target);
    bar.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({eta} left)")
            .expect("valid progress template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Generates the whole synthetic capture described by `opts`.
pub fn run(opts: &SynthOptions) -> Result<SynthSummary, SynthError> {
    let started = Instant::now();
    let offsets = opts.offsets_seconds()?;
    let fps = Fps::from_f64(opts.fps).ok_or_else(|| {
        SynthError::Config(format!("--fps {} is not a usable frame rate", opts.fps))
    })?;
    std::fs::create_dir_all(&opts.out).map_err(|e| SynthError::io(&opts.out, e))?;
    let renderer = Renderer::new()?;
    info!(adapter = renderer.adapter(), "rendering with");
    let layers = texture::material_layers(opts.seed);
    let stage = Stage {
        opts,
        materials: renderer.upload_textures(&layers, true),
        environment: renderer.upload_mesh(&scene::environment()),
        renderer,
        figure: Figure::new(opts.seed),
        fps,
        timeline: Timeline::new(fps.as_f64(), opts.frames, offsets),
        cameras: rig::cameras(
            opts.cameras,
            (opts.width, opts.height),
            opts.seed,
            opts.distortion,
        ),
    };
    let mut seconds = StageSeconds {
        setup: started.elapsed().as_secs_f64(),
        ..Default::default()
    };

    let t = Instant::now();
    let bar = progress_bar(opts, opts.cameras, "cameras");
    let videos = with_writers(2, |writers| {
        stage
            .cameras
            .iter()
            .enumerate()
            .map(|(c, _)| {
                let path = if opts.truth_only {
                    capture_truth(&stage, c, writers).map(|()| None)
                } else {
                    capture_camera(&stage, c, writers).map(Some)
                };
                bar.inc(1);
                path
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    let videos: Vec<PathBuf> = videos.into_iter().flatten().collect();
    bar.finish_and_clear();
    seconds.capture = t.elapsed().as_secs_f64();
    info!(
        seconds = seconds.capture,
        "camera videos, truth images, masks and plates written"
    );

    let t = Instant::now();
    let truth_dir = opts.out.join("truth");
    write_points(&stage, &layers, &truth_dir)?;
    seconds.points = t.elapsed().as_secs_f64();
    info!(seconds = seconds.points, "surface points and clip written");

    let t = Instant::now();
    let calib_videos = if opts.truth_only {
        Vec::new()
    } else {
        calibration_videos(&stage)?
    };
    seconds.calibration = t.elapsed().as_secs_f64();
    info!(seconds = seconds.calibration, "calibration videos written");

    truth::write_calibration(&truth_dir, &stage.cameras)?;
    truth::write_manifest(&truth_dir, &stage.cameras, &stage.timeline)?;
    seconds.total = started.elapsed().as_secs_f64();
    let names: Vec<String> = stage.cameras.iter().map(|c| c.name.clone()).collect();
    Ok(SynthSummary {
        out: opts.out.clone(),
        adapter: stage.renderer.adapter().to_string(),
        plates: if opts.truth_only {
            Vec::new()
        } else {
            names.iter().map(|n| plate_path(&opts.out, n)).collect()
        },
        cameras: names,
        frames: opts.frames,
        video_frames: stage.timeline.video_frames,
        calib_frames: opts.calib_frames,
        fps: stage.timeline.fps,
        offsets_s: stage.timeline.offsets.clone(),
        truth_start_s: stage.timeline.start,
        clap_time_s: stage.timeline.clap_time,
        points_per_frame: opts.points,
        board: opts.board,
        videos,
        calib_videos,
        truth: truth_dir,
        seconds,
    })
}

fn plate_path(out: &Path, cam: &str) -> PathBuf {
    out.join("plates").join(format!("{cam}.png"))
}

/// One camera's renderer state: its lens warp and render target.
struct Shooter<'s> {
    stage: &'s Stage<'s>,
    warp: Warp,
    target: gpu::Target,
}

impl<'s> Shooter<'s> {
    fn new(stage: &'s Stage<'s>, c: usize) -> Self {
        let warp = Warp::new(&stage.cameras[c]);
        let target = stage
            .renderer
            .target(warp.canvas().width, warp.canvas().height);
        Shooter {
            stage,
            warp,
            target,
        }
    }

    /// The room at scene time `t` with the subject, or the empty room (the plate) for `None`.
    fn shoot(&self, t: Option<f64>) -> Result<gpu::Frame, SynthError> {
        let (stage, renderer) = (self.stage, &self.stage.renderer);
        let environment = Draw {
            mesh: &stage.environment,
            textures: &stage.materials,
        };
        let canvas = match t {
            None => renderer.render(&self.target, self.warp.canvas(), &[environment])?,
            Some(t) => {
                let subject = renderer.upload_mesh(&stage.figure.pose(t).mesh);
                renderer.render(
                    &self.target,
                    self.warp.canvas(),
                    &[
                        environment,
                        Draw {
                            mesh: &subject,
                            textures: &stage.materials,
                        },
                    ],
                )?
            }
        };
        Ok(self.warp.apply(canvas))
    }
}

/// Queues truth frame `i` (image and mask) of camera `cam` for writing.
fn write_truth(
    opts: &SynthOptions,
    cam: &str,
    i: usize,
    frame: Arc<gpu::Frame>,
    writers: &Writers,
) -> Result<(), SynthError> {
    let truth = DatasetLayout::new(opts.out.join("truth"));
    let (image, mask) = (
        truth.image_path(cam, i as u32),
        truth.mask_path(cam, i as u32),
    );
    writers.spawn(move || {
        output::write_jpeg(&image, &frame)?;
        output::write_mask(&mask, &frame)
    })
}

/// Renders one camera's truth frames only (`--truth-only`).
fn capture_truth(stage: &Stage<'_>, c: usize, writers: &Writers) -> Result<(), SynthError> {
    let shooter = Shooter::new(stage, c);
    let name = &stage.cameras[c].name;
    for i in 0..stage.opts.frames {
        let frame = shooter.shoot(Some(stage.timeline.truth_time(i)))?;
        write_truth(stage.opts, name, i, Arc::new(frame), writers)?;
    }
    Ok(())
}

/// Renders one camera's plate, video and truth frames; returns the video's path.
fn capture_camera(stage: &Stage<'_>, c: usize, writers: &Writers) -> Result<PathBuf, SynthError> {
    let (opts, tl) = (stage.opts, &stage.timeline);
    let cam = &stage.cameras[c];
    let shooter = Shooter::new(stage, c);

    let plate = shooter.shoot(None)?;
    let path = plate_path(&opts.out, &cam.name);
    writers.spawn(move || output::write_png_rgb(&path, &plate))?;

    // Video frame j shows the same instant as truth frame j − shift when the offsets differ
    // by whole frames; then one render serves both.
    let shift = (tl.start - tl.offsets[c]) * tl.fps;
    let aligned = (shift - shift.round()).abs() < 1e-6;
    let shift = shift.round() as i64;

    let audio = audio::camera_track(
        tl.offsets[c],
        tl.video_duration(),
        tl.clap_time,
        opts.seed,
        c,
    );
    let video_path = opts.out.join("videos").join(format!("{}.mp4", cam.name));
    let mut video =
        video::CameraVideo::create(&video_path, (opts.width, opts.height), stage.fps, audio)?;
    for j in 0..tl.video_frames {
        let frame = Arc::new(shooter.shoot(Some(tl.video_time(c, j)))?);
        video.push(&frame)?;
        let i = j as i64 - shift;
        if aligned && (0..opts.frames as i64).contains(&i) {
            write_truth(opts, &cam.name, i as usize, frame, writers)?;
        }
    }
    video.finish()?;
    if !aligned {
        for i in 0..opts.frames {
            let frame = shooter.shoot(Some(tl.truth_time(i)))?;
            write_truth(opts, &cam.name, i, Arc::new(frame), writers)?;
        }
    }
    Ok(video_path)
}

/// Samples the subject's surface of every truth frame into `points/` and `clip.yk4d`.
fn write_points(
    stage: &Stage<'_>,
    layers: &[texture::MipImage],
    truth: &Path,
) -> Result<(), SynthError> {
    let opts = stage.opts;
    let clip_path = truth.join("clip.yk4d");
    let mut params = ClipHeaderParams::new(stage.timeline.fps, 0, opts.frames as u32);
    params.zstd_level = 3;
    let mut clip =
        ClipWriter::create(&clip_path, params).map_err(|e| SynthError::dataset(&clip_path, e))?;
    let bar = progress_bar(opts, opts.frames, "points");
    let batch = rayon::current_num_threads().max(1) * 2;
    for first in (0..opts.frames).step_by(batch) {
        let frames: Vec<FramePoints> = (first..(first + batch).min(opts.frames))
            .into_par_iter()
            .map(|i| {
                let posed = stage.figure.pose(stage.timeline.truth_time(i));
                let seed = opts
                    .seed
                    .wrapping_mul(0x100_0000_01B3)
                    .wrapping_add(i as u64);
                let samples = surface::sample(&posed, layers, opts.points, seed);
                let path = output::points_path(truth, i);
                truth::write_points(&path, &samples)?;
                bar.inc(1);
                Ok(truth::clip_frame(&samples))
            })
            .collect::<Result<_, SynthError>>()?;
        for frame in &frames {
            clip.write_frame(frame)
                .map_err(|e| SynthError::dataset(&clip_path, e))?;
        }
    }
    clip.finish()
        .map_err(|e| SynthError::dataset(&clip_path, e))?;
    bar.finish_and_clear();
    Ok(())
}

/// Renders every camera's calibration video and writes the board definition beside them.
fn calibration_videos(stage: &Stage<'_>) -> Result<Vec<PathBuf>, SynthError> {
    let opts = stage.opts;
    let art = board_art::board_art(opts.board)?;
    let dir = opts.out.join("calib");
    let toml_path = dir.join("board.toml");
    yakumo_core::fsutil::write_atomic(&toml_path, art.toml.as_bytes())
        .map_err(|e| SynthError::io(&toml_path, e))?;
    let renderer = &stage.renderer;
    let board_texture = renderer.upload_textures(std::slice::from_ref(&art.texture), false);
    let (front, back) = scene::board_meshes(art.top_left, art.bottom_right);
    let duration = opts.calib_frames as f64 / stage.timeline.fps;
    let tour = board_tour::BoardTour::new(
        &stage.cameras,
        board_tour::TourBoard {
            size: art.board.size(),
            square: art.board.square(),
            whole: matches!(art.board.kind, crate::board::BoardKind::Chessboard { .. }),
        },
        (opts.calib_frames, stage.timeline.fps),
        opts.board_pace(),
        opts.seed,
    );
    // The same rig session: cameras start with the same offsets, and a clap sounds half-way.
    let clap_time = duration / 2.0;
    let bar = progress_bar(opts, opts.cameras * opts.calib_frames, "calibration");
    let mut paths = Vec::new();
    for (c, cam) in stage.cameras.iter().enumerate() {
        let warp = Warp::new(cam);
        let target = renderer.target(warp.canvas().width, warp.canvas().height);
        let offset = stage.timeline.offsets[c];
        let audio = audio::camera_track(offset, duration, clap_time, opts.seed ^ 0xCA1B, c);
        let path = dir.join(format!("{}.mp4", cam.name));
        let mut video =
            video::CameraVideo::create(&path, (opts.width, opts.height), stage.fps, audio)?;
        for j in 0..opts.calib_frames {
            let pose = tour.pose(offset + j as f64 / stage.timeline.fps);
            let (mut f, mut b) = (front.clone(), back.clone());
            f.transform(&pose);
            scene::light_board_face(&mut f);
            b.transform(&pose);
            let (f, b) = (renderer.upload_mesh(&f), renderer.upload_mesh(&b));
            let draws = [
                Draw {
                    mesh: &stage.environment,
                    textures: &stage.materials,
                },
                Draw {
                    mesh: &f,
                    textures: &board_texture,
                },
                Draw {
                    mesh: &b,
                    textures: &stage.materials,
                },
            ];
            let frame = warp.apply(renderer.render(&target, warp.canvas(), &draws)?);
            video.push(&frame)?;
            bar.inc(1);
        }
        video.finish()?;
        paths.push(path);
    }
    bar.finish_and_clear();
    Ok(paths)
}
