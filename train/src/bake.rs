//! `yakumo-train bake RUN --out CLIP.yk4d`: per frame, evaluate positions, radii and densities,
//! and distil the view-dependent colour (image blending + SH residual) into a base colour plus a
//! degree-3 SH residual per point, fitted by weighted least squares over the training cameras'
//! view directions. Each camera's weight for a point is the point's compositing weight in that
//! camera's render (Σ over pixels of T·α), so views where the point is hidden do not count. A
//! ridge that grows with the SH band keeps the fit smooth between the training directions. The
//! baked clip is then read back and rendered at the held-out cameras to measure what baking costs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::tensor::{Tensor, TensorData};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use yakumo_core::clip::{ClipHeaderParams, ClipReader, ClipWriter, FramePoints};
use yakumo_core::render_ref::ViewF32;
use yakumo_core::sh;
use yakumo_kernels::GradSum;

use crate::eval::{ViewRender, render_view, to_vec, view_metrics};
use crate::fit::backend::{BackendChoice, BackendTask, dispatch};
use crate::fit::trainer::{TrainBackend, Trainer};
use crate::model::{PointGeometry, point_colors};
use crate::render::{TRAIN_K, render_points};

/// SH degree of baked clips.
pub const BAKE_SH_DEGREE: u32 = 3;
/// Largest magnitude kept for an SH coefficient: colours live in 0..1, so larger values only come
/// from ill-conditioned fits and would coarsen the clip's per-frame quantisation scale.
const MAX_REST: f32 = 1.0;
/// Unknowns per channel of the per-point fit: base + 15 SH coefficients.
const UNKNOWNS: usize = 16;
/// Default `--ridge` (chosen on two synthetic rigs, see docs/BENCHMARKS.md "What the bake costs").
pub const DEFAULT_RIDGE: f64 = 0.01;

/// Arguments of `yakumo-train bake`.
#[derive(Clone, Debug, clap::Args)]
pub struct BakeArgs {
    /// The run directory (from `yakumo-train fit`).
    pub run: PathBuf,
    /// The clip to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Ridge weight on the SH coefficients of band 1, relative to the point's total view weight;
    /// band l gets l(l+1)/2 times as much (a smoothness prior on the sphere of view directions:
    /// the high bands, which swing most between the training views, are damped most).
    #[arg(long, default_value_t = DEFAULT_RIDGE)]
    pub ridge: f64,
    /// Backend: a GPU (cuda, wgpu), the CPU (tiny runs), or the first of those this machine has.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What baking produced and cost.
#[derive(Clone, Debug, Serialize)]
pub struct BakeReport {
    /// The clip.
    pub clip: PathBuf,
    /// Frames written.
    pub frames: usize,
    /// Points per frame.
    pub points: usize,
    /// Clip size in bytes.
    pub bytes: u64,
    /// Held-out PSNR of the trained model (dB), when cameras are held out.
    pub model_psnr: Option<f64>,
    /// Held-out PSNR of the baked clip as read back (dB).
    pub baked_psnr: Option<f64>,
    /// PSNR of the baked renders against the model's renders (dB).
    pub baked_vs_model_psnr: Option<f64>,
    /// Held-out PSNR of the baked points before the clip's quantisation (dB): `baked_psnr` minus
    /// this is what quantisation costs.
    pub unquantised_psnr: Option<f64>,
    /// PSNR of the quantised points' renders against the unquantised ones' (dB).
    pub quantised_vs_unquantised_psnr: Option<f64>,
    /// Seconds spent.
    pub seconds: f64,
    /// Where they went.
    pub times: BakeTimes,
}

/// Where a bake's time went, in seconds summed over the frames.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BakeTimes {
    /// Model geometry, decoding and uploading the training views.
    pub load: f64,
    /// The model's colours and compositing weights in every training view.
    pub views: f64,
    /// Fitting each point's SH colour on the CPU.
    pub fit: f64,
    /// Rendering the held-out views: the baked points before and after quantisation, and the
    /// clip as read back.
    pub check: f64,
}

/// Sums of the held-out PSNRs that measure what the clip's quantisation costs.
#[derive(Default)]
struct QuantisationCost {
    exact_sum: f64,
    between_sum: f64,
    count: usize,
}

/// Per-point compositing weight `Σ_pixels T·α` of every point in `view`, on the device: it is the
/// gradient of the rendered image's sum with respect to a constant colour of 1 per point.
fn contribution_weights<B: TrainBackend>(
    geometry: &PointGeometry<B::InnerBackend>,
    view: &ViewF32,
) -> anyhow::Result<Vec<f32>> {
    let n = geometry.positions.dims()[0];
    let ones = Tensor::<B, 2>::ones([n, 1], &geometry.positions.device()).require_grad();
    let out = render_points(
        Tensor::from_inner(geometry.positions.clone()),
        Tensor::from_inner(geometry.radius.clone()),
        Tensor::from_inner(geometry.density.clone()),
        ones.clone(),
        view,
        TRAIN_K,
    )?;
    let grads = out.color.sum().backward();
    let weights = ones
        .grad(&grads)
        .context("the compositing weights have no gradient")?;
    to_vec(weights)
}

/// Solves the symmetric positive definite system `a·x = b` (16×16, three right-hand sides) by
/// Cholesky; `None` when `a` is not positive definite.
fn solve_spd(
    mut a: [[f64; UNKNOWNS]; UNKNOWNS],
    mut b: [[f64; 3]; UNKNOWNS],
) -> Option<[[f64; 3]; UNKNOWNS]> {
    for j in 0..UNKNOWNS {
        let mut d = a[j][j];
        for k in 0..j {
            d -= a[j][k] * a[j][k];
        }
        if d <= 1e-15 {
            return None;
        }
        let d = d.sqrt();
        a[j][j] = d;
        for i in j + 1..UNKNOWNS {
            let mut s = a[i][j];
            for k in 0..j {
                s -= a[i][k] * a[j][k];
            }
            a[i][j] = s / d;
        }
    }
    for c in 0..3 {
        for i in 0..UNKNOWNS {
            let mut s = b[i][c];
            for k in 0..i {
                s -= a[i][k] * b[k][c];
            }
            b[i][c] = s / a[i][i];
        }
        for i in (0..UNKNOWNS).rev() {
            let mut s = b[i][c];
            for k in i + 1..UNKNOWNS {
                s -= a[k][i] * b[k][c];
            }
            b[i][c] = s / a[i][i];
        }
    }
    Some(b)
}

/// One view's observation of every point: direction from the eye, colour, weight.
struct Observation {
    eye: [f32; 3],
    colors: Vec<f32>,
    weights: Vec<f32>,
}

/// Ridge of SH coefficient `index` (0 = constant term) for band-1 ridge `ridge`: the band's
/// Laplacian eigenvalue l(l+1) over 2, so band 1 gets `ridge`, band 2 three times and band 3 six
/// times as much; the constant term is left free.
fn band_ridge(ridge: f64, index: usize) -> f64 {
    let band = (index as f64).sqrt().floor();
    ridge * band * (band + 1.0) / 2.0
}

/// Fits base colour and SH rest of point `i` at `p` to the observations (weighted least squares
/// with a band-growing ridge on the SH terms); points no view sees get the unweighted fit.
fn fit_point(p: [f32; 3], i: usize, obs: &[Observation], ridge: f64) -> ([f32; 3], Vec<f32>) {
    let total: f64 = obs.iter().map(|o| o.weights[i] as f64).sum();
    let uniform = total < 1e-6;
    let mut a = [[0.0f64; UNKNOWNS]; UNKNOWNS];
    let mut b = [[0.0f64; 3]; UNKNOWNS];
    let mut basis = [0.0f32; UNKNOWNS];
    let mut wsum = 0.0;
    for o in obs {
        let w = if uniform { 1.0 } else { o.weights[i] as f64 };
        if w <= 0.0 {
            continue;
        }
        wsum += w;
        sh::eval_basis(
            BAKE_SH_DEGREE,
            [p[0] - o.eye[0], p[1] - o.eye[1], p[2] - o.eye[2]],
            &mut basis,
        );
        basis[0] = 1.0;
        for r in 0..UNKNOWNS {
            for c in 0..UNKNOWNS {
                a[r][c] += w * basis[r] as f64 * basis[c] as f64;
            }
            for ch in 0..3 {
                b[r][ch] += w * basis[r] as f64 * o.colors[3 * i + ch] as f64;
            }
        }
    }
    for (r, row) in a.iter_mut().enumerate() {
        row[r] += if r == 0 { 1e-9 } else { band_ridge(ridge, r) } * wsum.max(1e-9);
    }
    let x = solve_spd(a, b).unwrap_or([[0.0; 3]; UNKNOWNS]);
    let base = [0, 1, 2].map(|ch| x[0][ch] as f32);
    let mut rest = vec![0.0f32; 3 * (UNKNOWNS - 1)];
    for ch in 0..3 {
        for k in 1..UNKNOWNS {
            rest[ch * (UNKNOWNS - 1) + k - 1] = (x[k][ch] as f32).clamp(-MAX_REST, MAX_REST);
        }
    }
    (base, rest)
}

/// Bakes frame index `frame` of the run: geometry and the distilled appearance.
pub fn bake_frame<B: TrainBackend>(
    trainer: &mut Trainer<B>,
    frame: usize,
    ridge: f64,
    times: &mut BakeTimes,
) -> anyhow::Result<FramePoints> {
    let started = Instant::now();
    let device = trainer.device().clone();
    let model = trainer.inference_model();
    let spec = trainer.run.spec.clone();
    let geometry = model.geometry(&spec, frame, GradSum::Atomic);
    let positions: Vec<[f32; 3]> = to_vec(geometry.positions.clone())?
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    let radii = to_vec(geometry.radius.clone())?;
    let densities = to_vec(geometry.density.clone())?;
    let cams = trainer.data.cameras().to_vec();
    let train = trainer.train.clone();
    // Every training camera's image once; each camera's blending sources are some of them.
    let uploaded = trainer.upload_sources::<B::InnerBackend>(&train, frame, &device)?;
    let loaded = started.elapsed();
    let mut obs = Vec::new();
    for &cam in &train {
        let view = ViewF32::from_camera(&cams[cam]);
        let ids =
            crate::data::nearest_sources(&cams, &train, cams[cam].centre(), None, spec.sources);
        let slot = |id: &usize| {
            train
                .iter()
                .position(|t| t == id)
                .expect("a training camera")
        };
        let sources: Vec<_> = ids.iter().map(|id| uploaded[slot(id)].clone()).collect();
        let colors = to_vec(point_colors(&model, &spec, &geometry, &sources, &view))?;
        let weights = contribution_weights::<B>(&geometry, &view)?;
        obs.push(Observation {
            eye: view.eye,
            colors,
            weights,
        });
    }
    let observed = started.elapsed();
    let fitted: Vec<([f32; 3], Vec<f32>)> = positions
        .par_iter()
        .enumerate()
        .map(|(i, p)| fit_point(*p, i, &obs, ridge))
        .collect();
    times.load += loaded.as_secs_f64();
    times.views += (observed - loaded).as_secs_f64();
    times.fit += (started.elapsed() - observed).as_secs_f64();
    let mut out = FramePoints {
        positions,
        radii,
        densities,
        ..FramePoints::default()
    };
    for (base, rest) in fitted {
        out.colors.push(base);
        out.sh_rest.extend(rest);
    }
    Ok(out)
}

/// Renders a baked frame into `view` with the training renderer (colours by `yakumo_core::sh`).
pub fn render_baked<B: TrainBackend>(
    frame: &FramePoints,
    view: &ViewF32,
    device: &B::Device,
) -> anyhow::Result<ViewRender> {
    let n = frame.len();
    let colors: Vec<f32> = (0..n)
        .flat_map(|i| frame.color(i, BAKE_SH_DEGREE, view.eye))
        .collect();
    let t2 = |v: Vec<f32>, c: usize| {
        Tensor::<B::InnerBackend, 2>::from_data(TensorData::new(v, [n, c]), device)
    };
    let t1 = |v: Vec<f32>| Tensor::<B::InnerBackend, 1>::from_data(TensorData::new(v, [n]), device);
    let out = render_points(
        t2(frame.positions.iter().flatten().copied().collect(), 3),
        t1(frame.radii.clone()),
        t1(frame.densities.clone()),
        t2(colors, 3),
        view,
        TRAIN_K,
    )?;
    Ok(ViewRender {
        width: view.width,
        height: view.height,
        rgb: to_vec(out.color)?,
        alpha: to_vec(out.alpha)?,
    })
}

/// Bakes every frame of the run in `trainer` to `clip` and measures the held-out cost.
pub fn bake<B: TrainBackend>(
    trainer: &mut Trainer<B>,
    clip: &Path,
    ridge: f64,
) -> anyhow::Result<BakeReport> {
    let started = Instant::now();
    let frames = trainer.run.frames.len();
    let fps = trainer.data.dataset.manifest().fps;
    let mut writer = ClipWriter::create(
        clip,
        ClipHeaderParams::new(fps, BAKE_SH_DEGREE, frames as u32),
    )?;
    let bar = ProgressBar::with_draw_target(Some(2 * frames as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg:10} {bar:30} {pos}/{len} frames {elapsed} ETA {eta}")
            .expect("valid template"),
    );
    bar.set_message("baking");
    let train = trainer.train.clone();
    let held_out = trainer.held_out.clone();
    let needed: Vec<usize> = train.iter().chain(&held_out).copied().collect();
    let device = trainer.device().clone();
    let mut times = BakeTimes::default();
    let mut quantisation = QuantisationCost::default();
    trainer.prefetch_views(&needed, 0);
    for fi in 0..frames {
        // The next frame's views decode on the CPU while this one bakes.
        trainer.prefetch_views(&needed, fi + 1);
        let frame = bake_frame(trainer, fi, ridge, &mut times)?;
        let measuring = Instant::now();
        let quantised = frame
            .quantised(BAKE_SH_DEGREE)
            .map_err(|m| anyhow::anyhow!("frame {fi} cannot be quantised: {m}"))?;
        for &cam in &held_out {
            let view = ViewF32::from_camera(&trainer.data.cameras()[cam]);
            let truth = trainer.view(cam, fi)?;
            let exact = render_baked::<B>(&frame, &view, &device)?;
            let stored = render_baked::<B>(&quantised, &view, &device)?;
            quantisation.exact_sum +=
                view_metrics::<B::InnerBackend>(&exact, &truth, &device)?.psnr;
            quantisation.between_sum +=
                view_metrics::<B::InnerBackend>(&stored, &exact.as_truth(), &device)?.psnr;
            quantisation.count += 1;
        }
        times.check += measuring.elapsed().as_secs_f64();
        writer.write_frame(&frame)?;
        bar.inc(1);
    }
    writer.finish()?;
    bar.set_message("checking");
    let bytes = std::fs::metadata(clip)
        .with_context(|| format!("cannot stat {}", clip.display()))?
        .len();

    let mut reader = ClipReader::open(clip)?;
    let (mut model_sum, mut baked_sum, mut between_sum, mut count) = (0.0, 0.0, 0.0, 0usize);
    let checking = Instant::now();
    trainer.prefetch_views(&held_out, 0);
    for fi in 0..frames {
        trainer.prefetch_views(&held_out, fi + 1);
        let baked = reader.read_frame(fi)?;
        for &cam in &held_out {
            let view = ViewF32::from_camera(&trainer.data.cameras()[cam]);
            let truth = trainer.view(cam, fi)?;
            let model_render = render_view(trainer, cam, fi)?;
            let baked_render = render_baked::<B>(&baked, &view, &device)?;
            model_sum += view_metrics::<B::InnerBackend>(&model_render, &truth, &device)?.psnr;
            baked_sum += view_metrics::<B::InnerBackend>(&baked_render, &truth, &device)?.psnr;
            between_sum +=
                view_metrics::<B::InnerBackend>(&baked_render, &model_render.as_truth(), &device)?
                    .psnr;
            count += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    times.check += checking.elapsed().as_secs_f64();
    let mean = |s: f64| (count > 0).then(|| s / count as f64);
    let quantised_mean = |s: f64| (quantisation.count > 0).then(|| s / quantisation.count as f64);
    Ok(BakeReport {
        clip: clip.to_owned(),
        frames,
        points: trainer.run.spec.points,
        bytes,
        model_psnr: mean(model_sum),
        baked_psnr: mean(baked_sum),
        baked_vs_model_psnr: mean(between_sum),
        unquantised_psnr: quantised_mean(quantisation.exact_sum),
        quantised_vs_unquantised_psnr: quantised_mean(quantisation.between_sum),
        seconds: started.elapsed().as_secs_f64(),
        times,
    })
}

struct BakeTask<'a>(&'a BakeArgs);

impl BackendTask for BakeTask<'_> {
    type Output = BakeReport;
    fn run<B: TrainBackend>(self, device: B::Device) -> anyhow::Result<BakeReport> {
        if !(self.0.ridge >= 0.0 && self.0.ridge.is_finite()) {
            anyhow::bail!("--ridge {} must be a non-negative number", self.0.ridge);
        }
        let mut trainer = Trainer::<B>::resume(&self.0.run, device)?;
        bake(&mut trainer, &self.0.out, self.0.ridge)
    }
}

/// Runs `yakumo-train bake`.
pub fn run(args: &BakeArgs) -> anyhow::Result<()> {
    let report = dispatch(args.backend, BakeTask(args))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let db = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.2} dB"));
        println!(
            "baked {} frames × {} points into {} ({} bytes) in {:.1} s; held-out PSNR: model {}, baked {}, baked vs model {}, before quantisation {}",
            report.frames,
            report.points,
            report.clip.display(),
            report.bytes,
            report.seconds,
            db(report.model_psnr),
            db(report.baked_psnr),
            db(report.baked_vs_model_psnr),
            db(report.unquantised_psnr)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_an_sh_colour() {
        // A colour that is exactly base + degree-1 SH: the fit must find it from 40 directions.
        let p = [0.1f32, -0.2, 0.3];
        let base = [0.4f32, 0.5, 0.6];
        let mut rest = vec![0.0f32; 45];
        rest[0] = 0.1;
        rest[15 + 2] = -0.05;
        rest[30 + 1] = 0.08;
        let obs: Vec<Observation> = (0..40)
            .map(|k| {
                let a = k as f32 * 0.7;
                let eye = [3.0 * a.cos(), 3.0 * a.sin(), (k % 5) as f32 - 2.0];
                let dir = [p[0] - eye[0], p[1] - eye[1], p[2] - eye[2]];
                Observation {
                    eye,
                    colors: sh::shade(3, base, &rest, dir).to_vec(),
                    weights: vec![1.0],
                }
            })
            .collect();
        let (b, r) = fit_point(p, 0, &obs, 1e-6);
        for ch in 0..3 {
            assert!((b[ch] - base[ch]).abs() < 2e-3, "base {b:?}");
        }
        for (got, want) in r.iter().zip(&rest) {
            assert!((got - want).abs() < 5e-3, "rest {got} vs {want}");
        }
    }

    /// A colour with equal band-1 and band-3 terms seen from 40 directions: a small ridge shrinks
    /// the band-3 coefficient about six times as much as the band-1 one (l(l+1)/2 = 6 vs 1).
    #[test]
    fn the_ridge_damps_high_bands_most() {
        let p = [0.0f32, 0.0, 0.0];
        let base = [0.5f32; 3];
        let (band1, band3) = (1, 12); // SH rest indices: band 1's first and a band-3 coefficient
        let mut rest = vec![0.0f32; 45];
        rest[band1 - 1] = 0.2;
        rest[band3 - 1] = 0.2;
        let obs: Vec<Observation> = (0..40)
            .map(|k| {
                // A Fibonacci sphere of directions, so every band is sampled evenly.
                let z = 1.0 - 2.0 * (k as f32 + 0.5) / 40.0;
                let (r, a) = ((1.0 - z * z).sqrt(), k as f32 * 2.399_963);
                let eye = [3.0 * r * a.cos(), 3.0 * r * a.sin(), 3.0 * z];
                Observation {
                    eye,
                    colors: sh::shade(3, base, &rest, [-eye[0], -eye[1], -eye[2]]).to_vec(),
                    weights: vec![1.0],
                }
            })
            .collect();
        let (_, fitted) = fit_point(p, 0, &obs, 0.002);
        let shrink1 = 1.0 - fitted[band1 - 1] / 0.2;
        let shrink3 = 1.0 - fitted[band3 - 1] / 0.2;
        assert!(shrink1 > 0.0 && shrink3 > 0.0, "{shrink1} {shrink3}");
        let ratio = shrink3 / shrink1;
        assert!(
            (4.0..8.0).contains(&ratio),
            "band 3 shrank {ratio}× as much as band 1"
        );
        assert_eq!(band_ridge(0.1, 0), 0.0);
        assert_eq!(band_ridge(0.1, 3), 0.1);
        assert!((band_ridge(0.1, 8) - 0.3).abs() < 1e-12);
        assert!((band_ridge(0.1, 15) - 0.6).abs() < 1e-12);
    }

    /// Every pixel's opacity is shared out among the points composited there, so the weights sum
    /// to the image's total opacity, and a point behind an opaque one gets nothing.
    #[test]
    fn contribution_weights_share_out_the_opacity() {
        use crate::fit::backend::CpuTrain;
        use burn::backend::NdArray;
        use glam::DVec3;
        use yakumo_core::Camera;
        let cam = Camera::look_at(
            "c",
            (48, 40),
            (40.0, 40.0),
            (23.5, 19.5),
            DVec3::new(0.0, -3.0, 0.0),
            DVec3::ZERO,
            DVec3::Z,
        );
        let view = ViewF32::from_camera(&cam);
        let dev = Default::default();
        // Point 0 in front (density 1), point 1 right behind it, point 2 off to the side.
        let positions = [[0.0f32, 0.0, 0.0], [0.0, 0.5, 0.0], [0.6, 0.0, 0.2]];
        let t1 = |v: Vec<f32>| Tensor::<NdArray, 1>::from_data(TensorData::new(v, [3]), &dev);
        let geometry = PointGeometry {
            positions: Tensor::from_data(
                TensorData::new(positions.iter().flatten().copied().collect(), [3, 3]),
                &dev,
            ),
            features: Tensor::zeros([3, 1], &dev),
            radius: t1(vec![0.2, 0.1, 0.15]),
            density: t1(vec![1.0, 0.8, 0.6]),
        };
        let weights = contribution_weights::<CpuTrain>(&geometry, &view).unwrap();
        let out = render_points(
            geometry.positions.clone(),
            geometry.radius.clone(),
            geometry.density.clone(),
            Tensor::ones([3, 1], &dev),
            &view,
            TRAIN_K,
        )
        .unwrap();
        let opacity: f32 = to_vec(out.alpha.sum()).unwrap()[0];
        let total: f32 = weights.iter().sum();
        assert!(opacity > 5.0, "opacity {opacity}");
        assert!(
            (total - opacity).abs() < 1e-3 * opacity,
            "{total} vs {opacity}"
        );
        assert!(weights[0] > 5.0 && weights[2] > 1.0, "{weights:?}");
        // The hidden point shows only through the front disc's residual transmittance.
        assert!(weights[1] < 0.05 * weights[0], "{weights:?}");
    }
}
