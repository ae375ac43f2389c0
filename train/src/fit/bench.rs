//! `yakumo-train bench`: where a training iteration's time goes. Builds a fresh model exactly as
//! `fit` does (nothing is written), runs warm-up iterations (kernel compilation, autotuning),
//! then times each [`Phase`] of the measured iterations with the device synchronised at every
//! phase boundary.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::backend::{BackendChoice, BackendTask, dispatch};
use super::command::{DEFAULT_INIT_RADIUS, FitArgs, prepare};
use super::trainer::{Phase, TrainBackend, Trainer};

/// Arguments of `yakumo-train bench`.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchArgs {
    /// Dataset root (EasyVolcap layout with yakumo.toml).
    pub dataset: PathBuf,
    /// Initial point clouds `<frame:06>.ply` (from `yakumo-train carve`).
    #[arg(long)]
    pub points: PathBuf,
    /// Frames to load: `A..B` (B excluded), `A..=B` or one frame; default all.
    #[arg(long, value_parser = crate::carve::command::parse_frames)]
    pub frames: Option<(u32, u32)>,
    /// Points per frame (default: the smallest point file).
    #[arg(long)]
    pub n_points: Option<usize>,
    /// Spatial resolutions of the grid levels.
    #[arg(long, value_delimiter = ',', default_value = "64,128,256,512")]
    pub grid: Vec<usize>,
    /// Backend: a GPU (cuda, wgpu), the CPU (tiny runs), or the first of those this machine has.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Untimed iterations first (kernel compilation and autotuning happen there).
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Timed iterations.
    #[arg(long, default_value_t = 10)]
    pub iters: u64,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Median time of one phase.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseTime {
    /// The phase.
    pub phase: Phase,
    /// Median milliseconds per iteration.
    pub median_ms: f64,
}

/// What `bench` measured.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// The backend.
    pub backend: BackendChoice,
    /// Points per frame.
    pub points: usize,
    /// Image size of the first training camera.
    pub width: u32,
    /// Its height.
    pub height: u32,
    /// Seconds of the warm-up iterations.
    pub warmup_s: f64,
    /// Median milliseconds of each phase.
    pub phases: Vec<PhaseTime>,
    /// Median milliseconds of a whole synchronised iteration.
    pub iteration_ms: f64,
    /// Iterations per second at that median.
    pub its_per_sec: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

struct BenchTask<'a>(&'a BenchArgs);

impl BackendTask for BenchTask<'_> {
    type Output = BenchReport;
    fn run<B: TrainBackend>(self, device: B::Device) -> anyhow::Result<BenchReport> {
        let args = self.0;
        if args.iters == 0 {
            anyhow::bail!("--iters must be at least 1");
        }
        let fit = FitArgs {
            dataset: args.dataset.clone(),
            // Never written: the points are given, and a bench saves nothing.
            out: args.points.clone(),
            points: Some(args.points.clone()),
            frames: args.frames,
            iters: args.warmup + args.iters,
            holdout: "1".parse().map_err(|e: String| anyhow::anyhow!(e))?,
            backend: args.backend.resolve(),
            resume: false,
            n_points: args.n_points,
            voxel: 0.005,
            grid: args.grid.clone(),
            init_radius: DEFAULT_INIT_RADIUS,
            seed: 0,
            lr_scale: 1.0,
            ssim_weight: None,
            mask_weight: None,
            deterministic: false,
            preview_every: 0,
            checkpoint_minutes: f64::INFINITY,
            stop_after: None,
            json: false,
            quiet: true,
        };
        let (run, clouds) = prepare(&fit)?;
        let mut trainer = Trainer::<B>::new(run, &clouds, device.clone())?;
        let started = Instant::now();
        for _ in 0..args.warmup {
            trainer.step()?;
        }
        B::sync(&device).map_err(|e| anyhow::anyhow!("device sync: {e:?}"))?;
        let warmup_s = started.elapsed().as_secs_f64();
        let mut per_phase = vec![Vec::new(); Phase::ALL.len()];
        let mut whole = Vec::new();
        for _ in 0..args.iters {
            let start = Instant::now();
            let mut last = start;
            let mut sync_error = None;
            trainer.step_timed(&mut |phase| {
                if let Err(e) = B::sync(&device) {
                    sync_error.get_or_insert(e);
                }
                let now = Instant::now();
                let i = Phase::ALL
                    .iter()
                    .position(|p| *p == phase)
                    .expect("a phase");
                per_phase[i].push((now - last).as_secs_f64() * 1e3);
                last = now;
            })?;
            if let Some(e) = sync_error {
                anyhow::bail!("device sync: {e:?}");
            }
            whole.push(start.elapsed().as_secs_f64() * 1e3);
        }
        let cam = &trainer.data.cameras()[trainer.train[0]];
        let iteration_ms = median(whole);
        Ok(BenchReport {
            backend: args.backend.resolve(),
            points: trainer.run.spec.points,
            width: cam.width,
            height: cam.height,
            warmup_s,
            phases: Phase::ALL
                .iter()
                .zip(per_phase)
                .map(|(&phase, times)| PhaseTime {
                    phase,
                    median_ms: median(times),
                })
                .collect(),
            iteration_ms,
            its_per_sec: 1e3 / iteration_ms.max(1e-9),
        })
    }
}

/// Runs the benchmark and returns its report.
pub fn bench(args: &BenchArgs) -> anyhow::Result<BenchReport> {
    dispatch(args.backend, BenchTask(args))
}

/// Runs `yakumo-train bench`.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let report = bench(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{:?}: {} points, {}x{}, warm-up {:.1} s; median iteration {:.1} ms ({:.2} it/s)",
        report.backend,
        report.points,
        report.width,
        report.height,
        report.warmup_s,
        report.iteration_ms,
        report.its_per_sec
    );
    for p in &report.phases {
        println!(
            "  {:<10} {:>9.2} ms  {:>5.1} %",
            format!("{:?}", p.phase).to_lowercase(),
            p.median_ms,
            100.0 * p.median_ms / report.iteration_ms.max(1e-9)
        );
    }
    Ok(())
}
