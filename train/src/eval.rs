//! `yakumo-train eval RUN`: renders the held-out cameras for every frame of a run and measures
//! PSNR, SSIM and mask IoU against their images; writes side-by-side PNGs (render | truth).

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::{Tensor, TensorData};
use serde::Serialize;
use yakumo_core::fsutil::write_atomic;
use yakumo_core::render_ref::ViewF32;

use crate::data::ViewImage;
use crate::fit::backend::{BackendChoice, BackendTask, dispatch};
use crate::fit::loss::{mask_iou, psnr, ssim};
use crate::fit::trainer::{TrainBackend, Trainer};
use crate::render::{TRAIN_K, render_model};

/// A rendered view on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewRender {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Premultiplied colour `[row][column][rgb]`.
    pub rgb: Vec<f32>,
    /// Opacity `[row][column]`.
    pub alpha: Vec<f32>,
}

impl ViewRender {
    /// This render as the reference image of a comparison (its opacity as the mask).
    pub fn as_truth(&self) -> ViewImage {
        ViewImage::new(
            self.width,
            self.height,
            self.rgb.clone(),
            self.alpha.clone(),
        )
    }
}

/// Quality of one rendered view against its image.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ViewMetrics {
    /// PSNR of the premultiplied colour (dB).
    pub psnr: f64,
    /// Mean SSIM.
    pub ssim: f64,
    /// IoU of opacity > 0.5 against mask > 0.5.
    pub iou: f64,
}

/// Renders camera `cam` at frame index `frame` with the run's model (no autodiff), blending the
/// training cameras nearest to it.
pub fn render_view<B: TrainBackend>(
    trainer: &mut Trainer<B>,
    cam: usize,
    frame: usize,
) -> anyhow::Result<ViewRender> {
    let device = trainer.device().clone();
    let sources = trainer.eval_sources::<B::InnerBackend>(cam, frame, &device)?;
    let model = trainer.inference_model();
    let camera = &trainer.data.cameras()[cam];
    let view = ViewF32::from_camera(camera);
    let out = render_model(&model, &trainer.run.spec, frame, &view, &sources, TRAIN_K)?;
    Ok(ViewRender {
        width: camera.width,
        height: camera.height,
        rgb: to_vec(out.color)?,
        alpha: to_vec(out.alpha)?,
    })
}

/// Reads a tensor back as f32.
pub fn to_vec<B: burn::tensor::backend::Backend, const D: usize>(
    t: Tensor<B, D>,
) -> anyhow::Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .to_vec()
        .map_err(|e| anyhow::anyhow!("reading a tensor back: {e:?}"))
}

/// PSNR, SSIM (computed on `device`) and mask IoU of `render` against `truth`.
pub fn view_metrics<B: burn::tensor::backend::Backend>(
    render: &ViewRender,
    truth: &ViewImage,
    device: &B::Device,
) -> anyhow::Result<ViewMetrics> {
    let (w, h) = (render.width as usize, render.height as usize);
    let err: f64 = render
        .rgb
        .iter()
        .zip(&truth.rgb)
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum::<f64>()
        / render.rgb.len() as f64;
    let t = |v: &[f32]| Tensor::<B, 3>::from_data(TensorData::new(v.to_vec(), [h, w, 3]), device);
    let s = to_vec(ssim(t(&render.rgb), t(&truth.rgb)))?[0] as f64;
    Ok(ViewMetrics {
        psnr: psnr(err),
        ssim: s,
        iou: mask_iou(&render.alpha, &truth.mask),
    })
}

/// Writes RGB images of equal size side by side as one PNG, atomically.
pub fn write_side_by_side(
    path: &Path,
    width: u32,
    height: u32,
    images: &[&[f32]],
) -> anyhow::Result<()> {
    let (w, h) = (width as usize, height as usize);
    let mut out = image::RgbImage::new(width * images.len() as u32, height);
    for (i, img) in images.iter().enumerate() {
        for y in 0..h {
            for x in 0..w {
                let p = &img[(y * w + x) * 3..(y * w + x) * 3 + 3];
                let px =
                    image::Rgb([0, 1, 2].map(|c| (p[c].clamp(0.0, 1.0) * 255.0).round() as u8));
                out.put_pixel((i * w + x) as u32, y as u32, px);
            }
        }
    }
    let mut bytes = Vec::new();
    out.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )?;
    write_atomic(path, &bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Arguments of `yakumo-train eval`.
#[derive(Clone, Debug, clap::Args)]
pub struct EvalArgs {
    /// The run directory (from `yakumo-train fit`).
    pub run: PathBuf,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Backend: a GPU (cuda, wgpu), the CPU (tiny runs), or the first of those this machine has.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
}

/// Metrics of one frame.
#[derive(Clone, Debug, Serialize)]
pub struct FrameReport {
    /// Dataset frame number.
    pub frame: u32,
    /// Mean PSNR over held-out cameras.
    pub psnr: f64,
    /// Mean SSIM.
    pub ssim: f64,
    /// Mean mask IoU.
    pub iou: f64,
    /// Per held-out camera: name and metrics.
    pub views: Vec<(String, ViewMetrics)>,
}

/// The whole evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// Mean PSNR over every held-out view.
    pub psnr: f64,
    /// Mean SSIM.
    pub ssim: f64,
    /// Mean mask IoU.
    pub iou: f64,
    /// Per frame.
    pub frames: Vec<FrameReport>,
}

/// Evaluates the held-out cameras of the run in `trainer` at every frame; with `png_dir`, writes
/// `<frame:06>_<cam>.png` there (render | truth).
pub fn evaluate<B: TrainBackend>(
    trainer: &mut Trainer<B>,
    png_dir: Option<&Path>,
) -> anyhow::Result<EvalReport> {
    if trainer.held_out.is_empty() {
        anyhow::bail!("the run holds out no camera: nothing to evaluate (train with --holdout N)");
    }
    let device = trainer.device().clone();
    let mut frames = Vec::new();
    for fi in 0..trainer.run.frames.len() {
        let mut views = Vec::new();
        for cam in trainer.held_out.clone() {
            let render = render_view(trainer, cam, fi)?;
            let truth = trainer.view(cam, fi)?;
            let m = view_metrics::<B::InnerBackend>(&render, &truth, &device)?;
            let name = trainer.data.cameras()[cam].name.clone();
            if let Some(dir) = png_dir {
                let path = dir.join(format!("{:06}_{name}.png", trainer.run.frames[fi]));
                write_side_by_side(
                    &path,
                    render.width,
                    render.height,
                    &[&render.rgb, &truth.rgb],
                )?;
            }
            views.push((name, m));
        }
        let mean = |f: fn(&ViewMetrics) -> f64| {
            views.iter().map(|(_, m)| f(m)).sum::<f64>() / views.len() as f64
        };
        frames.push(FrameReport {
            frame: trainer.run.frames[fi],
            psnr: mean(|m| m.psnr),
            ssim: mean(|m| m.ssim),
            iou: mean(|m| m.iou),
            views,
        });
    }
    let mean = |f: fn(&FrameReport) -> f64| frames.iter().map(f).sum::<f64>() / frames.len() as f64;
    Ok(EvalReport {
        psnr: mean(|f| f.psnr),
        ssim: mean(|f| f.ssim),
        iou: mean(|f| f.iou),
        frames,
    })
}

struct EvalTask<'a>(&'a EvalArgs);

impl BackendTask for EvalTask<'_> {
    type Output = EvalReport;
    fn run<B: TrainBackend>(self, device: B::Device) -> anyhow::Result<EvalReport> {
        let mut trainer = Trainer::<B>::resume(&self.0.run, device)?;
        evaluate(&mut trainer, Some(&self.0.run.join("eval")))
    }
}

/// Runs `yakumo-train eval`.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let report = dispatch(args.backend, EvalTask(args))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for f in &report.frames {
            println!(
                "frame {:06}: PSNR {:.2} dB, SSIM {:.4}, mask IoU {:.4}",
                f.frame, f.psnr, f.ssim, f.iou
            );
        }
        println!(
            "overall: PSNR {:.2} dB, SSIM {:.4}, mask IoU {:.4} (side-by-side images in {})",
            report.psnr,
            report.ssim,
            report.iou,
            args.run.join("eval").display()
        );
    }
    Ok(())
}
