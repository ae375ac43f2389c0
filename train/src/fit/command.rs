//! The `yakumo-train fit` subcommand: set up or resume a run, loop with a progress bar, append
//! metrics to `RUN/metrics.jsonl`, write previews of a held-out camera, checkpoint every few
//! minutes and on Ctrl-C, and stop cleanly (keeping the last good checkpoint) if the loss stops
//! being finite.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::backend::{BackendChoice, BackendTask, dispatch};
use super::checkpoint::CHECKPOINT_FILE;
use super::config::{FitSettings, RunConfig};
use super::init::{CarveChoice, load_or_carve, mean_spacing, padded_bounds, resample};
use super::trainer::{TrainBackend, Trainer};
use crate::data::{Holdout, Split, open_for_training};
use crate::eval::{render_view, view_metrics, write_side_by_side};
use crate::model::ModelSpec;

/// Default initial radius as a multiple of the point spacing (see `--init-radius`).
pub const DEFAULT_INIT_RADIUS: f32 = 2.0;

/// Arguments of `yakumo-train fit`.
#[derive(Clone, Debug, clap::Args)]
pub struct FitArgs {
    /// Dataset root (EasyVolcap layout with yakumo.toml).
    pub dataset: PathBuf,
    /// Run directory (config, checkpoint, metrics, previews).
    #[arg(long)]
    pub out: PathBuf,
    /// Initial point clouds `<frame:06>.ply` (default: carve on the fly into RUN/points).
    #[arg(long)]
    pub points: Option<PathBuf>,
    /// Frames to train: `A..B` (B excluded), `A..=B` or one frame; default all.
    #[arg(long, value_parser = crate::carve::command::parse_frames)]
    pub frames: Option<(u32, u32)>,
    /// Total iterations.
    #[arg(long, default_value_t = 100_000)]
    pub iters: u64,
    /// Held-out cameras: a count (spread over the rig) or comma-separated names.
    #[arg(long, default_value = "1")]
    pub holdout: Holdout,
    /// Backend: a GPU (cuda, wgpu), the CPU (tiny runs), or the first of those this machine has.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Points per frame (default: 262,144 when carving, else the smallest point file).
    #[arg(long)]
    pub n_points: Option<usize>,
    /// Voxel edge for on-the-fly carving (metres).
    #[arg(long, default_value_t = 0.005)]
    pub voxel: f64,
    /// Spatial resolutions of the grid levels.
    #[arg(long, value_delimiter = ',', default_value = "64,128,256,512")]
    pub grid: Vec<usize>,
    /// Radius every point starts with, as a multiple of the mean distance between neighbouring
    /// points. The default, 2, covers the surface without holes from the first iteration
    /// (randomly placed points leave gaps about twice their mean neighbour distance wide);
    /// 4K4D starts at about 0.4 and relies on a long run to grow the radii.
    #[arg(long, default_value_t = DEFAULT_INIT_RADIUS)]
    pub init_radius: f32,
    /// Seed of sampling and initialisation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Factor on every learning rate.
    #[arg(long, default_value_t = 1.0)]
    pub lr_scale: f64,
    /// Weight of the structural term 1 − SSIM.
    #[arg(long)]
    pub ssim_weight: Option<f64>,
    /// Weight of the soft-IoU mask loss.
    #[arg(long)]
    pub mask_weight: Option<f64>,
    /// Sum gradients in a fixed order, so that the same command repeats bit for bit (and a
    /// resumed run matches an uninterrupted one exactly). Much slower on large grids.
    #[arg(long)]
    pub deterministic: bool,
    /// Write a held-out preview and its PSNR every this many iterations (0: never).
    #[arg(long, default_value_t = 1000)]
    pub preview_every: u64,
    /// Minutes between checkpoints.
    #[arg(long, default_value_t = 5.0)]
    pub checkpoint_minutes: f64,
    /// Stop (with a checkpoint) after this many iterations in this session; `--resume` goes on.
    #[arg(long)]
    pub stop_after: Option<u64>,
    /// Print a JSON summary (iterations/s, losses, held-out PSNR) on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// What a fit session did.
#[derive(Clone, Debug, Serialize)]
pub struct FitSummary {
    /// The backend used.
    pub backend: BackendChoice,
    /// Iteration reached.
    pub iteration: u64,
    /// Iterations of the whole run.
    pub total_iterations: u64,
    /// Iterations run in this session.
    pub session_iterations: u64,
    /// Seconds of this session's loop.
    pub seconds: f64,
    /// Iterations per second in this session.
    pub its_per_sec: f64,
    /// Mean loss of the session's last 100 iterations.
    pub loss: f64,
    /// Mean training PSNR of those iterations (dB).
    pub train_psnr: f64,
    /// PSNR of the held-out cameras at the first frame (dB), when any are held out.
    pub heldout_psnr: Option<f64>,
    /// Whether the session stopped early (Ctrl-C or --stop-after).
    pub interrupted: bool,
    /// Points per frame.
    pub points: usize,
}

/// Set by the Ctrl-C handler.
fn interrupted() -> &'static AtomicBool {
    static FLAG: OnceLock<&'static AtomicBool> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        // Only one handler per process; a second fit in the same process reuses this one.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
        flag
    })
}

/// Validates the data and writes `RUN/run.json` and the initial points for a new run.
pub(crate) fn prepare(args: &FitArgs) -> anyhow::Result<(RunConfig, Vec<Vec<[f32; 3]>>)> {
    if !(args.lr_scale > 0.0 && args.lr_scale.is_finite()) {
        anyhow::bail!("--lr-scale {} must be a positive number", args.lr_scale);
    }
    if args.iters == 0 {
        anyhow::bail!("--iters must be at least 1");
    }
    if !(args.init_radius > 0.0 && args.init_radius.is_finite()) {
        anyhow::bail!(
            "--init-radius {} must be a positive multiple of the point spacing",
            args.init_radius
        );
    }
    if args.grid.is_empty() || args.grid.iter().any(|&r| r < 2) {
        anyhow::bail!("--grid resolutions must be at least 2, got {:?}", args.grid);
    }
    let data = open_for_training(&args.dataset, args.frames, args.holdout.len())?;
    let split =
        Split::new(data.cameras(), &args.holdout).map_err(|e| anyhow::anyhow!("--holdout: {e}"))?;
    let names = |ids: &[usize]| {
        ids.iter()
            .map(|&i| data.cameras()[i].name.clone())
            .collect::<Vec<_>>()
    };
    let points_dir = args
        .points
        .clone()
        .unwrap_or_else(|| args.out.join("points"));
    let carve = CarveChoice {
        voxel: args.voxel,
        points: args.n_points.unwrap_or(262_144),
        device: crate::carve::command::hull_device(args.backend)?,
    };
    let clouds = load_or_carve(&data, &points_dir, carve)?;
    let n = args
        .n_points
        .unwrap_or_else(|| clouds.iter().map(Vec::len).min().unwrap_or(0));
    let spacing = mean_spacing(&clouds[0]).max(1e-6);
    let clouds = resample(clouds, n, 0.25 * spacing, args.seed);
    let spacing = mean_spacing(&clouds[0]).max(1e-6);
    let (min, max) = padded_bounds(&clouds);
    let mut spec = ModelSpec::new(clouds.len(), n, min, max, spacing, args.grid.clone());
    spec.initial_radius = Some(args.init_radius * spacing);
    let mut settings = FitSettings::reference(args.iters, spec.scene_scale() as f64);
    settings.seed = args.seed;
    settings.lr = settings.lr.scaled(args.lr_scale);
    if let Some(w) = args.ssim_weight {
        settings.ssim_weight = w;
    }
    if let Some(w) = args.mask_weight {
        settings.mask_weight = w;
    }
    settings.deterministic = args.deterministic;
    let run = RunConfig {
        dataset: args.dataset.clone(),
        frames: data.frames.clone(),
        train_cameras: names(&split.train),
        held_out_cameras: names(&split.held_out),
        spec,
        settings,
    };
    Ok((run, clouds))
}

struct FitTask<'a>(&'a FitArgs);

impl BackendTask for FitTask<'_> {
    type Output = FitSummary;
    fn run<B: TrainBackend>(self, device: B::Device) -> anyhow::Result<FitSummary> {
        let args = self.0;
        let mut trainer = if args.resume {
            let run = RunConfig::read(&args.out)?;
            if !args.out.join(CHECKPOINT_FILE).is_file() {
                anyhow::bail!("--resume: {} has no {CHECKPOINT_FILE}", args.out.display());
            }
            let same = |a: &Path, b: &Path| a.canonicalize().ok() == b.canonicalize().ok();
            if !same(&run.dataset, &args.dataset) {
                anyhow::bail!(
                    "--resume: the run in {} was trained on {}, not {}",
                    args.out.display(),
                    run.dataset.display(),
                    args.dataset.display()
                );
            }
            Trainer::<B>::resume(&args.out, device)?
        } else {
            if args.out.join(CHECKPOINT_FILE).is_file() {
                anyhow::bail!(
                    "{} already holds a run; pass --resume to continue it",
                    args.out.display()
                );
            }
            let (run, clouds) = prepare(args)?;
            std::fs::create_dir_all(&args.out)
                .with_context(|| format!("cannot create {}", args.out.display()))?;
            run.write(&args.out)?;
            let trainer = Trainer::<B>::new(run, &clouds, device)?;
            trainer.save(&args.out)?;
            trainer
        };
        train_loop(&mut trainer, args)
    }
}

/// Appends one JSON line to `RUN/metrics.jsonl`.
fn log_metrics(path: &Path, value: &serde_json::Value) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    writeln!(f, "{value}").with_context(|| format!("cannot write {}", path.display()))
}

/// Held-out PSNR at the first frame (mean over held-out cameras); with `png`, the first camera's
/// render | truth is written there.
fn heldout_psnr<B: TrainBackend>(
    trainer: &mut Trainer<B>,
    png: Option<&Path>,
) -> anyhow::Result<Option<f64>> {
    if trainer.held_out.is_empty() {
        return Ok(None);
    }
    let device = trainer.device().clone();
    let mut sum = 0.0;
    for (i, cam) in trainer.held_out.clone().into_iter().enumerate() {
        let render = render_view(trainer, cam, 0)?;
        let truth = trainer.view(cam, 0)?;
        sum += view_metrics::<B::InnerBackend>(&render, &truth, &device)?.psnr;
        if let (0, Some(path)) = (i, png) {
            write_side_by_side(
                path,
                render.width,
                render.height,
                &[&render.rgb, &truth.rgb],
            )?;
        }
    }
    Ok(Some(sum / trainer.held_out.len() as f64))
}

fn train_loop<B: TrainBackend>(
    trainer: &mut Trainer<B>,
    args: &FitArgs,
) -> anyhow::Result<FitSummary> {
    let out = &args.out;
    let metrics = out.join("metrics.jsonl");
    let total = trainer.run.settings.iters;
    let start_iter = trainer.state.iteration;
    let stop_at = args
        .stop_after
        .map_or(total, |n| (start_iter + n).min(total));
    let flag = interrupted();
    let bar = if args.quiet || args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} {msg} [{elapsed_precise} < {eta_precise}]",
        )
        .expect("valid template"),
    );
    bar.set_position(start_iter);
    let started = Instant::now();
    let base_seconds = trainer.state.seconds;
    let mut last_checkpoint = Instant::now();
    let mut recent: Vec<(f64, f64)> = Vec::new();
    let mut interrupted_early = false;
    while trainer.state.iteration < stop_at {
        if flag.load(Ordering::SeqCst) {
            interrupted_early = true;
            break;
        }
        let stats = trainer.step().map_err(|e| {
            bar.abandon();
            e.context(format!(
                "training stopped; the last good checkpoint is kept in {}",
                out.join(CHECKPOINT_FILE).display()
            ))
        })?;
        let it = trainer.state.iteration;
        trainer.state.seconds = base_seconds + started.elapsed().as_secs_f64();
        recent.push((stats.loss, stats.psnr));
        if recent.len() > 100 {
            recent.remove(0);
        }
        let rate = (it - start_iter) as f64 / started.elapsed().as_secs_f64().max(1e-9);
        bar.set_position(it);
        bar.set_message(format!(
            "loss {:.5} PSNR {:.2} dB {:.1} it/s",
            stats.loss, stats.psnr, rate
        ));
        if it.is_multiple_of(50) || it == stop_at {
            log_metrics(
                &metrics,
                &serde_json::json!({"iteration": it, "loss": stats.loss, "psnr": stats.psnr, "its_per_sec": rate, "seconds": trainer.state.seconds}),
            )?;
        }
        if args.preview_every > 0 && it.is_multiple_of(args.preview_every) {
            let png = out.join("previews").join(format!("{it:08}.png"));
            if let Some(p) = heldout_psnr(trainer, Some(&png))? {
                log_metrics(
                    &metrics,
                    &serde_json::json!({"iteration": it, "heldout_psnr": p}),
                )?;
            }
        }
        if last_checkpoint.elapsed().as_secs_f64() > args.checkpoint_minutes * 60.0 {
            trainer.save(out)?;
            last_checkpoint = Instant::now();
        }
    }
    interrupted_early |= trainer.state.iteration < total;
    trainer.save(out)?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let session = trainer.state.iteration - start_iter;
    let n = recent.len().max(1) as f64;
    Ok(FitSummary {
        backend: args.backend.resolve(),
        iteration: trainer.state.iteration,
        total_iterations: total,
        session_iterations: session,
        seconds,
        its_per_sec: session as f64 / seconds.max(1e-9),
        loss: recent.iter().map(|r| r.0).sum::<f64>() / n,
        train_psnr: recent.iter().map(|r| r.1).sum::<f64>() / n,
        heldout_psnr: heldout_psnr(trainer, None)?,
        interrupted: interrupted_early,
        points: trainer.run.spec.points,
    })
}

/// Runs a fit session and returns its summary (the library form of `yakumo-train fit`).
pub fn fit(args: &FitArgs) -> anyhow::Result<FitSummary> {
    dispatch(args.backend, FitTask(args))
}

/// Runs `yakumo-train fit`.
pub fn run(args: &FitArgs) -> anyhow::Result<()> {
    let summary = fit(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{} at iteration {}/{}: loss {:.5}, train PSNR {:.2} dB{}, {:.2} it/s; checkpoint in {}",
            if summary.interrupted {
                "stopped"
            } else {
                "finished"
            },
            summary.iteration,
            summary.total_iterations,
            summary.loss,
            summary.train_psnr,
            summary
                .heldout_psnr
                .map(|p| format!(", held-out PSNR {p:.2} dB"))
                .unwrap_or_default(),
            summary.its_per_sec,
            args.out.join(CHECKPOINT_FILE).display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::carve::command::parse_frames;

    #[test]
    fn frame_ranges() {
        assert_eq!(parse_frames("3..7"), Ok((3, 7)));
        assert_eq!(parse_frames("3..=7"), Ok((3, 8)));
        assert_eq!(parse_frames("12"), Ok((12, 13)));
        assert!(parse_frames("7..3").is_err());
    }
}
