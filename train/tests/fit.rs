//! The trainer end to end on a tiny synthetic capture (4 cameras on a 120° arc, 64×64, 3 frames
//! of two textured spheres moving), on the CPU backend (burn-ndarray), and for the resume test on
//! burn-wgpu (Mesa lavapipe in CI: `VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json`). The data is ray-cast here: the synth
//! rig of `yakumo-ingest` encodes videos with GStreamer, far too slow for a unit-size test.

use std::path::{Path, PathBuf};

use clap::Parser;
use glam::DVec3;
use yakumo_core::Camera;
use yakumo_core::calib::write_calibration;
use yakumo_core::clip::ClipReader;
use yakumo_core::manifest::{FrameRange, Manifest};
use yakumo_train::bake::bake;
use yakumo_train::eval::{evaluate, render_view, view_metrics};
use yakumo_train::fit::backend::{CpuTrain, WgpuTrain};
use yakumo_train::fit::{FitArgs, Trainer, fit};

const SIZE: u32 = 64;
const FRAMES: u32 = 3;
/// Least rise of a training view's PSNR over the untrained model's in the tiny run (dB).
const TRAIN_GAIN_DB: f64 = 2.0;
/// Least rise of the held-out PSNR over the untrained model's in the tiny run (dB).
const HELDOUT_GAIN_DB: f64 = 0.3;

/// `(centre, radius)` of the two spheres at frame `f`.
fn spheres(f: u32) -> [(DVec3, f64); 2] {
    let shift = DVec3::new(0.04 * f as f64, 0.0, 0.0);
    [
        (DVec3::new(0.0, 0.0, 0.0) + shift, 0.32),
        (DVec3::new(0.05, 0.0, 0.42) + shift * 2.0, 0.14),
    ]
}

/// Albedo at a surface point: smooth stripes, so held-out views need real colour transfer.
fn albedo(p: DVec3) -> [f64; 3] {
    [
        0.55 + 0.4 * (p.z * 9.0).sin(),
        0.5 + 0.4 * (p.x * 7.0 + p.y * 5.0).cos(),
        0.35 + 0.3 * (p.y * 11.0).sin(),
    ]
}

/// Four cameras on a 120° arc, 2 m from the subject, looking at it.
fn rig() -> Vec<Camera> {
    (0..4)
        .map(|i| {
            let a = (-60.0 + 40.0 * i as f64).to_radians();
            let eye = DVec3::new(2.0 * a.sin(), -2.0 * a.cos(), 0.35);
            Camera::look_at(
                format!("{i:02}"),
                (SIZE, SIZE),
                (80.0, 80.0),
                (31.5, 31.5),
                eye,
                DVec3::new(0.0, 0.0, 0.1),
                DVec3::Z,
            )
        })
        .collect()
}

/// Ray-casts the spheres: colour and mask.
fn render(cam: &Camera, f: u32) -> (image::RgbImage, image::GrayImage) {
    let mut rgb = image::RgbImage::new(SIZE, SIZE);
    let mut mask = image::GrayImage::new(SIZE, SIZE);
    let eye = cam.centre();
    for v in 0..SIZE {
        for u in 0..SIZE {
            let dir = cam
                .pixel_ray(glam::DVec2::new(u as f64, v as f64))
                .normalize();
            let mut best: Option<f64> = None;
            for (c, r) in spheres(f) {
                let oc = eye - c;
                let b = oc.dot(dir);
                let disc = b * b - (oc.length_squared() - r * r);
                if disc > 0.0 {
                    let t = -b - disc.sqrt();
                    if t > 0.0 && best.is_none_or(|bt| t < bt) {
                        best = Some(t);
                    }
                }
            }
            if let Some(t) = best {
                let col = albedo(eye + dir * t);
                rgb.put_pixel(
                    u,
                    v,
                    image::Rgb(col.map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8)),
                );
                mask.put_pixel(u, v, image::Luma([255]));
            }
        }
    }
    (rgb, mask)
}

/// Writes the dataset under `root`.
fn build_dataset(root: &Path) {
    let cams = rig();
    let manifest = Manifest {
        tool_version: "test".into(),
        fps: 30.0,
        cameras: cams.iter().map(|c| c.name.clone()).collect(),
        source: None,
        frames: FrameRange {
            start: 0,
            count: FRAMES,
            step: 1,
        },
        sync: None,
        calibration: None,
    };
    manifest.write(&root.join("yakumo.toml")).unwrap();
    write_calibration(root, &cams).unwrap();
    for cam in &cams {
        std::fs::create_dir_all(root.join("images").join(&cam.name)).unwrap();
        std::fs::create_dir_all(root.join("masks").join(&cam.name)).unwrap();
        for f in 0..FRAMES {
            let (rgb, mask) = render(cam, f);
            let file = std::fs::File::create(
                root.join("images")
                    .join(&cam.name)
                    .join(format!("{f:06}.jpg")),
            )
            .unwrap();
            image::codecs::jpeg::JpegEncoder::new_with_quality(file, 95)
                .encode_image(&rgb)
                .unwrap();
            mask.save(
                root.join("masks")
                    .join(&cam.name)
                    .join(format!("{f:06}.png")),
            )
            .unwrap();
        }
    }
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: FitArgs,
}

/// Fit arguments for the tiny scene (held-out camera 01, the CPU backend unless `extra` names
/// one), plus `extra`.
fn args(dataset: &Path, out: &Path, iters: u64, extra: &[&str]) -> FitArgs {
    let iters = iters.to_string();
    let mut argv = vec![
        "fit",
        dataset.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--iters",
        &iters,
        "--n-points",
        "3000",
        "--voxel",
        "0.02",
        "--grid",
        "16,32",
        "--quiet",
    ];
    if !extra.contains(&"--holdout") {
        argv.extend_from_slice(&["--holdout", "01"]);
    }
    if !extra.contains(&"--backend") {
        argv.extend_from_slice(&["--backend", "cpu"]);
    }
    argv.extend_from_slice(extra);
    Cli::parse_from(argv).args
}

fn dataset() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    build_dataset(&root);
    (dir, root)
}

/// PSNR of training camera 00 at frame 0 rendered from the run's checkpoint.
fn training_view_psnr(run: &Path) -> f64 {
    let mut trainer = Trainer::<CpuTrain>::resume(run, Default::default()).unwrap();
    let render = render_view(&mut trainer, 0, 0).unwrap();
    let truth = trainer.view(0, 0).unwrap();
    view_metrics::<burn::backend::NdArray>(&render, &truth, &Default::default())
        .unwrap()
        .psnr
}

/// Held-out PSNR readings from `metrics.jsonl`, in order.
fn heldout_curve(run: &Path) -> Vec<f64> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["heldout_psnr"].as_f64()
        })
        .collect()
}

#[test]
fn tiny_run_learns_evaluates_and_bakes() {
    let (dir, data) = dataset();
    let run = dir.path().join("run");
    // The untrained model first (no iteration), then the run, resumed.
    let untrained = fit(&args(&data, &run, 200, &["--stop-after", "0"])).unwrap();
    assert_eq!(untrained.iteration, 0);
    let start_heldout = untrained.heldout_psnr.unwrap();
    let start_train = training_view_psnr(&run);
    let summary = fit(&args(
        &data,
        &run,
        200,
        &["--preview-every", "100", "--resume"],
    ))
    .unwrap();
    assert_eq!(summary.iteration, 200);
    assert!(!summary.interrupted);
    assert!(summary.its_per_sec > 0.0);

    let curve = heldout_curve(&run);
    assert_eq!(curve.len(), 2, "{curve:?}");
    let final_heldout = summary.heldout_psnr.unwrap();
    let final_train = training_view_psnr(&run);
    eprintln!(
        "training view PSNR {start_train:.2} -> {final_train:.2} dB; held-out {start_heldout:.2} dB, \
         curve {curve:?}, final {final_heldout:.2} dB"
    );
    assert!(
        final_train > start_train + TRAIN_GAIN_DB,
        "a training view's PSNR rose {:.2} dB over the untrained model's {start_train:.2} dB; \
         the floor is {TRAIN_GAIN_DB} dB",
        final_train - start_train
    );
    // Measured: 16.3 dB untrained, 17.3 dB after 50 and 200 iterations (three training cameras
    // 40° apart carve a hull centimetres off the spheres, which caps what the held-out view gains).
    assert!(
        final_heldout > start_heldout + HELDOUT_GAIN_DB,
        "held-out PSNR went from {start_heldout:.2} to {final_heldout:.2} dB; it must rise by \
         {HELDOUT_GAIN_DB} dB"
    );
    assert!(run.join("previews").join("00000200.png").is_file());
    assert_eq!(
        std::fs::read_dir(run.join("points")).unwrap().count(),
        FRAMES as usize
    );

    let mut trainer = Trainer::<CpuTrain>::resume(&run, Default::default()).unwrap();
    let report = evaluate(&mut trainer, Some(&run.join("eval"))).unwrap();
    assert_eq!(report.frames.len(), FRAMES as usize);
    eprintln!(
        "eval: PSNR {:.2} SSIM {:.3} IoU {:.3}",
        report.psnr, report.ssim, report.iou
    );
    assert!(
        report.psnr > 14.0 && report.ssim > 0.3 && report.iou > 0.5,
        "{report:?}"
    );
    assert!(run.join("eval").join("000002_01.png").is_file());

    let clip = dir.path().join("clip.yk4d");
    let baked = bake(&mut trainer, &clip, 0.05).unwrap();
    eprintln!("bake: {baked:?}");
    let reader = ClipReader::open(&clip).unwrap();
    assert_eq!(reader.frame_count(), FRAMES as usize);
    assert_eq!(reader.info().sh_degree, 3);
    let (model, baked_psnr) = (baked.model_psnr.unwrap(), baked.baked_psnr.unwrap());
    assert!(
        baked_psnr > model - 2.0,
        "baking costs {:.2} dB (model {model:.2}, baked {baked_psnr:.2})",
        model - baked_psnr
    );
    assert!(baked.baked_vs_model_psnr.unwrap() > 20.0, "{baked:?}");
}

#[test]
fn resume_continues_bit_for_bit() {
    let (dir, data) = dataset();
    let straight = dir.path().join("straight");
    let split = dir.path().join("split");
    let wgpu = ["--backend", "wgpu", "--preview-every", "0"];
    fit(&args(&data, &straight, 40, &wgpu)).unwrap();
    let first = fit(&args(
        &data,
        &split,
        40,
        &[&wgpu[..], &["--stop-after", "20"]].concat(),
    ))
    .unwrap();
    assert!(first.interrupted && first.iteration == 20);
    let second = fit(&args(
        &data,
        &split,
        40,
        &[&wgpu[..], &["--resume"]].concat(),
    ))
    .unwrap();
    assert_eq!(second.iteration, 40);
    assert_eq!(second.session_iterations, 20);

    let mut a = Trainer::<WgpuTrain>::resume(&straight, Default::default()).unwrap();
    let mut b = Trainer::<WgpuTrain>::resume(&split, Default::default()).unwrap();
    assert_eq!(a.state.rng, b.state.rng);
    let pa: Vec<f32> = a.model.positions.frames[1]
        .val()
        .into_data()
        .to_vec()
        .unwrap();
    let pb: Vec<f32> = b.model.positions.frames[1]
        .val()
        .into_data()
        .to_vec()
        .unwrap();
    let worst = pa
        .iter()
        .zip(&pb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "positions differ by {worst}");
    let ra = render_view(&mut a, 1, 1).unwrap();
    let rb = render_view(&mut b, 1, 1).unwrap();
    let worst = ra
        .rgb
        .iter()
        .zip(&rb.rgb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "renders differ by {worst}");
    // The runs did train: the loss moved away from the untrained model's.
    assert!(second.loss.is_finite() && second.loss < 0.2, "{second:?}");
}

#[test]
fn diverging_loss_stops_and_keeps_the_last_good_checkpoint() {
    let (dir, data) = dataset();
    let run = dir.path().join("run");
    let err = fit(&args(
        &data,
        &run,
        50,
        &["--preview-every", "0", "--lr-scale", "1e30"],
    ))
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("not finite") && msg.contains("last good checkpoint"),
        "{msg}"
    );
    let trainer = Trainer::<CpuTrain>::resume(&run, Default::default()).unwrap();
    let p: Vec<f32> = trainer.model.positions.frames[0]
        .val()
        .into_data()
        .to_vec()
        .unwrap();
    assert!(p.iter().all(|v| v.is_finite()));
    assert!(trainer.state.iteration < 50);
}

#[test]
fn bad_datasets_are_refused_before_training() {
    let (dir, data) = dataset();
    let run = dir.path().join("run");
    let err = |extra: &[&str]| format!("{:#}", fit(&args(&data, &run, 10, extra)).unwrap_err());

    let e = err(&["--holdout", "3"]);
    assert!(e.contains("4 cameras") && e.contains("at least 2"), "{e}");

    let mask = data.join("masks").join("02").join("000001.png");
    let saved = std::fs::read(&mask).unwrap();
    std::fs::remove_file(&mask).unwrap();
    let e = err(&[]);
    assert!(
        e.contains("missing mask") && e.contains("000001.png") && e.contains("camera 02"),
        "{e}"
    );
    std::fs::write(&mask, saved).unwrap();

    image::RgbImage::new(32, 32)
        .save(data.join("images").join("03").join("000000.jpg"))
        .unwrap();
    let e = err(&[]);
    assert!(
        e.contains("camera 03") && e.contains("64×64") && e.contains("32×32"),
        "{e}"
    );
    assert!(!run.join("checkpoint.bin").exists());
}
