//! The tiny synthetic capture the trainer tests run on: 4 cameras on a 120° arc, 64×64, 3 frames
//! of two textured spheres moving. The data is ray-cast here: the synth rig of `yakumo-ingest`
//! encodes videos with GStreamer, far too slow for a unit-size test.
// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use clap::Parser;
use glam::DVec3;
use yakumo_core::Camera;
use yakumo_core::calib::write_calibration;
use yakumo_core::manifest::{FrameRange, Manifest};
use yakumo_train::fit::FitArgs;

/// Side of the images (pixels).
const SIZE: u32 = 64;
/// Frames of the capture.
pub const FRAMES: u32 = 3;

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
pub fn args(dataset: &Path, out: &Path, iters: u64, extra: &[&str]) -> FitArgs {
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

/// A fresh temporary directory holding the tiny capture as a dataset under `data/`.
pub fn dataset() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    build_dataset(&root);
    (dir, root)
}
