//! Frame-time benchmark: upload + render clip frames repeatedly and report percentiles.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use yakumo_core::Camera;
use yakumo_core::clip::{ClipReader, FramePoints};

use crate::cameras::stereo_pair;
use crate::offscreen::{OFFSCREEN_FORMAT, OffscreenStereo, OffscreenTarget};
use crate::render::{RenderParams, RenderPath, StereoMode, ViewTarget, new_renderer};
use crate::timer::GpuTimer;
use crate::{Gpu, GpuFrame};

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// The camera of view 0 (its size is the render size); view 1 is its stereo partner.
    pub camera: Camera,
    /// 1 (mono) or 2 (stereo, 64 mm apart, into the two layers of one texture as in a headset).
    pub views: usize,
    /// Stereo: draw each eye on its own even where the renderer has a single-pass stereo mode
    /// (to compare the two).
    pub per_view: bool,
    /// Renderer settings.
    pub params: RenderParams,
    /// Which renderer.
    pub path: RenderPath,
    /// Measured frames (after 10 warm-up frames).
    pub frames: usize,
    /// Most distinct clip frames held in memory (the benchmark cycles through them).
    pub max_resident: usize,
}

/// Percentiles of one series, in milliseconds.
#[derive(Clone, Debug, Serialize)]
pub struct Stats {
    /// Median.
    pub median_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// Largest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

impl Stats {
    /// Statistics of `samples` (must not be empty).
    pub fn of(samples: &[f64]) -> Stats {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
        Stats {
            median_ms: at(0.5),
            p95_ms: at(0.95),
            max_ms: s[s.len() - 1],
            mean_ms: s.iter().sum::<f64>() / s.len() as f64,
        }
    }
}

/// The benchmark result.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Adapter description.
    pub adapter: String,
    /// Renderer path.
    pub path: RenderPath,
    /// Render size.
    pub width: u32,
    /// Render size.
    pub height: u32,
    /// Views per frame.
    pub views: usize,
    /// How the stereo pair was drawn (absent for one view).
    pub stereo: Option<StereoMode>,
    /// Layers.
    pub k: u32,
    /// Measured frames.
    pub frames: usize,
    /// Mean points per rendered frame.
    pub mean_points: f64,
    /// `"gpu-timestamps"` when `render` is GPU time, else `"cpu-wall"` (submit to idle).
    pub timing: String,
    /// Render time of all views of a frame.
    pub render: Stats,
    /// Upload (CPU → GPU buffers, including the CPU-side packing) per frame.
    pub upload: Stats,
    /// Whole frame on the CPU clock: upload + render + wait for the GPU.
    pub frame: Stats,
}

/// Runs the benchmark on `clip`.
pub fn run(gpu: &Gpu, clip: &Path, cfg: &BenchConfig) -> Result<BenchReport> {
    if !(1..=2).contains(&cfg.views) {
        bail!("--views must be 1 or 2, not {}", cfg.views);
    }
    if cfg.frames == 0 {
        bail!("--frames must be at least 1");
    }
    let mut reader = ClipReader::open(clip)?;
    let resident = reader.frame_count().min(cfg.max_resident.max(1));
    if resident == 0 {
        bail!("{} has no frames", clip.display());
    }
    let frames: Vec<FramePoints> = (0..resident)
        .map(|i| reader.read_frame(i))
        .collect::<Result<_, _>>()?;
    let cams: Vec<Camera> = if cfg.views == 2 {
        stereo_pair(&cfg.camera, 0.064).to_vec()
    } else {
        vec![cfg.camera.clone()]
    };
    let size = (cfg.camera.width, cfg.camera.height);
    let mono = (cfg.views == 1).then(|| OffscreenTarget::new(gpu, size));
    let pair = (cfg.views == 2).then(|| OffscreenStereo::new(gpu, size));
    let images: Vec<&wgpu::TextureView> = match (&mono, &pair) {
        (Some(t), _) => vec![&t.view],
        (_, Some(p)) => p.eyes.iter().collect(),
        _ => unreachable!("views is 1 or 2"),
    };
    let views: Vec<ViewTarget<'_>> = cams
        .iter()
        .zip(images)
        .map(|(c, target)| ViewTarget {
            camera: c,
            target,
            format: OFFSCREEN_FORMAT,
            size,
        })
        .collect();
    let mut renderer = new_renderer(gpu, cfg.path);
    let timer = GpuTimer::new(gpu);
    let mut gpu_frame = GpuFrame::new(&gpu.device, &gpu.queue, &frames[0])?;
    let (mut render, mut upload, mut whole) = (Vec::new(), Vec::new(), Vec::new());
    let mut points = 0usize;
    const WARM_UP: usize = 10;
    for i in 0..cfg.frames + WARM_UP {
        let frame = &frames[i % resident];
        let t0 = Instant::now();
        gpu_frame.upload(&gpu.device, &gpu.queue, frame)?;
        let t1 = Instant::now();
        match &pair {
            Some(p) if !cfg.per_view => {
                let eyes = views.as_slice().try_into().expect("two views");
                renderer.render_stereo(
                    gpu,
                    &gpu_frame,
                    eyes,
                    &p.layers,
                    &cfg.params,
                    timer.as_ref(),
                )?
            }
            _ => renderer.render(gpu, &gpu_frame, &views, &cfg.params, timer.as_ref())?,
        }
        let gpu_ms = match &timer {
            Some(t) => Some(t.read_ms(gpu).context("reading GPU timestamps")?),
            None => {
                gpu.wait_idle()?;
                None
            }
        };
        let t2 = Instant::now();
        if i >= WARM_UP {
            let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
            render.push(gpu_ms.unwrap_or(ms(t1, t2)));
            upload.push(ms(t0, t1));
            whole.push(ms(t0, t2));
            points += frame.len();
        }
    }
    Ok(BenchReport {
        adapter: gpu.describe(),
        path: cfg.path,
        width: size.0,
        height: size.1,
        views: cfg.views,
        stereo: pair.as_ref().map(|_| {
            if cfg.per_view {
                StereoMode::PerView
            } else {
                renderer.stereo_mode(gpu)
            }
        }),
        k: cfg.params.k,
        frames: cfg.frames,
        mean_points: points as f64 / cfg.frames.max(1) as f64,
        timing: if timer.is_some() {
            "gpu-timestamps"
        } else {
            "cpu-wall"
        }
        .to_owned(),
        render: Stats::of(&render),
        upload: Stats::of(&upload),
        frame: Stats::of(&whole),
    })
}
