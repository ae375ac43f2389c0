//! End-to-end checks of `yakumo-ingest run` on a tiny synthetic capture (rendered with Mesa
//! lavapipe): audio sync recovers the true offsets, the images match the truth images, the
//! plate-difference masks match the truth masks; and bad inputs give errors naming the culprit.

use std::path::{Path, PathBuf};

use glam::DVec3;
use yakumo_core::dataset::{Dataset, DatasetLayout};
use yakumo_core::manifest::Manifest;
use yakumo_ingest::media::ChromaUpsampling;
use yakumo_ingest::run::{MaskSource, RunError, RunOptions, SyncMethod, run};
use yakumo_ingest::synth::{SynthOptions, SynthSummary};

/// JPEG (quality 97) of an H.264 decode at 320×240 against the truth (JPEG quality 100): the
/// floor is set well below what a correct frame gives and well above what a neighbouring frame
/// gives.
const PSNR_FLOOR_DB: f64 = 30.0;
/// How much higher the worst PSNR must be with the default guided chroma than with nearest
/// (1.04 dB measured at this size, 1.7 dB at the rig's default 640×480).
const GUIDED_CHROMA_GAIN_DB: f64 = 0.5;
/// Mean intersection-over-union floor of the plate-difference masks against the truth masks at
/// this small size (0.970 measured; at the rig's default 640×480 the mean is 0.980–0.985, the
/// issue's target 0.97); outlines are a large part of a 320×240 silhouette.
const IOU_FLOOR: f64 = 0.955;
/// Floor of the worst image's IoU (0.952 measured here, 0.972–0.978 at 640×480; target 0.94).
const IOU_WORST_FLOOR: f64 = 0.935;
/// How much smaller the fraction of truth surface points on the masks may be at half size than
/// at full size (thin limbs lose a pixel or two to the re-thresholding).
const POINTS_ON_MASK_LOSS: f64 = 0.03;
/// Largest error of a recovered audio offset, in milliseconds.
const OFFSET_TOLERANCE_MS: f64 = 1.0;

/// 3 cameras, 4 frames, 320×240 at 25 fps; offsets of whole frames (40 ms) so that the truth
/// frames are exactly the video frames the common timeline picks.
fn capture(dir: &Path) -> SynthSummary {
    let opts = SynthOptions {
        cameras: 3,
        frames: 4,
        width: 320,
        height: 240,
        fps: 25.0,
        seed: 5,
        offsets_ms: Some(vec![0.0, 40.0, -80.0]),
        calib_frames: 1,
        points: 500,
        progress: false,
        ..SynthOptions::new(dir)
    };
    yakumo_ingest::synth::run(&opts).expect("synthetic capture")
}

fn rgb(path: &Path) -> image::RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

fn grey(path: &Path) -> image::GrayImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_luma8()
}

fn psnr(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let se: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    let mse = se / a.as_raw().len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

fn iou(a: &image::GrayImage, b: &image::GrayImage) -> f64 {
    let (mut inter, mut union) = (0usize, 0usize);
    for (x, y) in a.pixels().zip(b.pixels()) {
        let (x, y) = (x.0[0] > 127, y.0[0] > 127);
        inter += (x && y) as usize;
        union += (x || y) as usize;
    }
    inter as f64 / union.max(1) as f64
}

#[test]
fn synthetic_capture_becomes_a_matching_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let summary = capture(dir.path());
    let out = dir.path().join("dataset");
    let opts = RunOptions {
        masks: MaskSource::Plates(dir.path().join("plates")),
        sync: SyncMethod::Audio,
        ..RunOptions::new(vec![dir.path().join("videos")], &summary.truth, &out)
    };
    let result = run(&opts).unwrap();

    // Audio sync recovers the offsets relative to the first camera.
    for (s, truth) in result.sync.iter().zip(&summary.offsets_s) {
        let truth_ms = (truth - summary.offsets_s[0]) * 1000.0;
        eprintln!(
            "camera {}: offset {:.3} ms (truth {truth_ms}), confidence {:.3}",
            s.camera, s.offset_ms, s.confidence
        );
        assert!(
            (s.offset_ms - truth_ms).abs() < OFFSET_TOLERANCE_MS,
            "camera {}: {} vs {truth_ms}",
            s.camera,
            s.offset_ms
        );
        assert!(
            s.confidence > 0.3,
            "camera {} confidence {}",
            s.camera,
            s.confidence
        );
        assert!(s.residual_ms.abs() < 0.5);
    }
    assert!(result.frames.len() >= summary.frames);

    // The dataset opens, lists the cameras and carries the sync in its manifest.
    let dataset = Dataset::open(&out).unwrap();
    assert_eq!(dataset.manifest().cameras, summary.cameras);
    let sync = dataset.manifest().sync.as_ref().unwrap();
    assert_eq!(sync.method, "audio");
    assert!((sync.offsets_ms["01"] - 40.0).abs() < OFFSET_TOLERANCE_MS);
    assert_eq!(dataset.cameras().len(), 3);

    // Images match the truth images; masks match the truth masks.
    let (ours, truth) = (DatasetLayout::new(&out), DatasetLayout::new(&summary.truth));
    let (mut worst_psnr, mut worst_iou, mut iou_sum, mut n) = (f64::INFINITY, 1.0f64, 0.0, 0);
    for cam in &summary.cameras {
        for frame in 0..summary.frames as u32 {
            let p = psnr(
                &rgb(&ours.image_path(cam, frame)),
                &rgb(&truth.image_path(cam, frame)),
            );
            worst_psnr = worst_psnr.min(p);
            let image_iou = iou(
                &grey(&ours.mask_path(cam, frame)),
                &grey(&truth.mask_path(cam, frame)),
            );
            worst_iou = worst_iou.min(image_iou);
            iou_sum += image_iou;
            n += 1;
        }
    }
    let mean_iou = iou_sum / n as f64;
    eprintln!("worst PSNR {worst_psnr:.2} dB, mask IoU mean {mean_iou:.4}, worst {worst_iou:.4}");
    assert!(worst_psnr >= PSNR_FLOOR_DB, "worst PSNR {worst_psnr:.2} dB");
    assert!(mean_iou >= IOU_FLOOR, "mean IoU {mean_iou:.4}");
    assert!(worst_iou >= IOU_WORST_FLOOR, "worst IoU {worst_iou:.4}");
    // A neighbouring frame is clearly worse, so the PSNR check does test the timing.
    let off_by_one = psnr(
        &rgb(&ours.image_path("00", 1)),
        &rgb(&truth.image_path("00", 0)),
    );
    assert!(
        off_by_one < worst_psnr,
        "frame 1 vs truth 0: {off_by_one:.2} dB"
    );

    // The default chroma, upsampled along the luma edges, brings the images closer to the
    // truth than nearest chroma.
    let nearest_out = dir.path().join("dataset-nearest");
    let nearest = RunOptions {
        sync: SyncMethod::Offsets(vec![0.0, 40.0, -80.0]),
        chroma: ChromaUpsampling::Nearest,
        ..RunOptions::new(
            vec![dir.path().join("videos")],
            &summary.truth,
            &nearest_out,
        )
    };
    run(&nearest).unwrap();
    let nearest_layout = DatasetLayout::new(&nearest_out);
    let mut worst_nearest = f64::INFINITY;
    for cam in &summary.cameras {
        for frame in 0..summary.frames as u32 {
            worst_nearest = worst_nearest.min(psnr(
                &rgb(&nearest_layout.image_path(cam, frame)),
                &rgb(&truth.image_path(cam, frame)),
            ));
        }
    }
    eprintln!("worst PSNR with nearest chroma {worst_nearest:.2} dB");
    assert!(
        worst_psnr >= worst_nearest + GUIDED_CHROMA_GAIN_DB,
        "guided chroma: worst PSNR {worst_psnr:.2} dB, nearest {worst_nearest:.2} dB"
    );

    half_size_dataset(dir.path(), &summary, &out);

    // A second run with given offsets, a frame range and a step replaces the dataset.
    let again = RunOptions {
        masks: MaskSource::None,
        sync: SyncMethod::Offsets(vec![0.0, 40.0, -80.0]),
        frames: Some((1, 4)),
        step: 2,
        ..opts.clone()
    };
    let result = run(&again).unwrap();
    assert_eq!(result.frames, vec![1, 3]);
    let manifest = Manifest::read(&ours.manifest_path()).unwrap();
    assert_eq!(
        (
            manifest.frames.start,
            manifest.frames.count,
            manifest.frames.step
        ),
        (1, 2, 2)
    );
    assert!(!ours.image_path("00", 0).exists() && ours.image_path("00", 3).exists());
    assert!(!out.join("masks").exists());
    let p = psnr(
        &rgb(&ours.image_path("02", 3)),
        &rgb(&truth.image_path("02", 3)),
    );
    assert!(p >= PSNR_FLOOR_DB, "given offsets: {p:.2} dB");
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".dataset")
        })
        .collect();
    assert!(leftovers.is_empty(), "staging left behind: {leftovers:?}");

    // Video names that the calibration lacks are named in the error.
    let renamed = dir.path().join("renamed");
    std::fs::create_dir(&renamed).unwrap();
    std::fs::copy(&summary.videos[0], renamed.join("00.mp4")).unwrap();
    std::fs::copy(&summary.videos[1], renamed.join("left.mp4")).unwrap();
    let err = run(&RunOptions {
        sync: SyncMethod::None,
        ..RunOptions::new(vec![renamed], &summary.truth, dir.path().join("other"))
    })
    .unwrap_err();
    assert!(matches!(err, RunError::Uncalibrated { .. }), "{err}");
    assert!(err.to_string().contains("no camera left"), "{err}");

    // An --out holding a different dataset is refused before any work.
    let err = run(&RunOptions {
        sync: SyncMethod::None,
        ..RunOptions::new(vec![summary.videos[0].clone()], &summary.truth, &out)
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("holds a different dataset"),
        "{err}"
    );
}

/// The truth surface points of `frame`.
/// The image target at the rig's default size and quality (640×480): every image of
/// the dataset within 38 dB of the truth. Measured 2026-12-07: worst image 38.2–39.3 dB over
/// seeds 0, 3, 7 and 11 (3–8 cameras), this capture's in the test's output.
const PSNR_TARGET_DB: f64 = 38.0;
/// The mask targets at that size: mean IoU against the truth masks, and every image's
/// (0.980–0.985 and 0.972–0.978 measured on three seeds, 2026-12-02).
const IOU_TARGET_MEAN: f64 = 0.97;
const IOU_TARGET_EACH: f64 = 0.94;

#[test]
fn images_and_masks_meet_the_targets_at_the_rigs_default_size() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = SynthOptions::new(dir.path());
    let opts = SynthOptions {
        cameras: 3,
        frames: 1,
        calib_frames: 1,
        points: 500,
        seed: 9,
        progress: false,
        ..defaults
    };
    assert_eq!((opts.width, opts.height), (640, 480));
    let summary = yakumo_ingest::synth::run(&opts).expect("synthetic capture");
    let out = dir.path().join("dataset");
    let run_opts = RunOptions {
        masks: MaskSource::Plates(dir.path().join("plates")),
        sync: SyncMethod::None,
        ..RunOptions::new(vec![dir.path().join("videos")], &summary.truth, &out)
    };
    run(&run_opts).unwrap();
    let (ours, truth) = (DatasetLayout::new(&out), DatasetLayout::new(&summary.truth));
    let mut ious = Vec::new();
    for cam in &summary.cameras {
        let p = psnr(
            &rgb(&ours.image_path(cam, 0)),
            &rgb(&truth.image_path(cam, 0)),
        );
        let mask_iou = iou(
            &grey(&ours.mask_path(cam, 0)),
            &grey(&truth.mask_path(cam, 0)),
        );
        eprintln!("camera {cam}: {p:.2} dB, mask IoU {mask_iou:.4}");
        assert!(p >= PSNR_TARGET_DB, "camera {cam}: {p:.2} dB");
        assert!(
            mask_iou >= IOU_TARGET_EACH,
            "camera {cam}: IoU {mask_iou:.4}"
        );
        ious.push(mask_iou);
    }
    let mean = ious.iter().sum::<f64>() / ious.len() as f64;
    assert!(mean >= IOU_TARGET_MEAN, "mean IoU {mean:.4}");
}

fn truth_points(truth: &Path, frame: u32) -> Vec<DVec3> {
    let path = truth.join("points").join(format!("{frame:06}.ply"));
    let cloud = yakumo_core::ply::read_ply(&path).unwrap();
    cloud
        .positions
        .iter()
        .map(|p| DVec3::from(p.map(f64::from)))
        .collect()
}

/// Fraction of `points` that `camera` projects onto subject pixels of `mask` (every surface
/// point lies inside the silhouette, seen or hidden).
fn points_in_mask(points: &[DVec3], camera: &yakumo_core::Camera, mask: &image::GrayImage) -> f64 {
    let inside = points
        .iter()
        .filter(|&&p| {
            let px = camera.project(p).unwrap();
            let (x, y) = (px.x.round(), px.y.round());
            camera.in_image(px) && mask.get_pixel(x as u32, y as u32).0[0] == 255
        })
        .count();
    inside as f64 / points.len() as f64
}

/// `size: 160×120` (half of the 320×240 videos): the images and masks have that size, the
/// images match the truth images shrunk alike, the intrinsics are scaled (a truth point lands
/// at the same place relative to the image, `(u + 0.5)·s − 0.5`, with distortion and pose
/// unchanged), and the truth surface points fall on the shrunken masks as often as on the
/// full-size ones. `native` is a full-size dataset of the same footage with masks.
fn half_size_dataset(dir: &Path, summary: &SynthSummary, native: &Path) {
    let half = dir.join("half");
    let result = run(&RunOptions {
        masks: MaskSource::Plates(dir.join("plates")),
        sync: SyncMethod::Offsets(vec![0.0, 40.0, -80.0]),
        size: Some((160, 120)),
        ..RunOptions::new(vec![dir.join("videos")], &summary.truth, &half)
    })
    .unwrap();
    assert!(result.masks);
    let (small, full) = (
        Dataset::open(&half).unwrap(),
        Dataset::open(native).unwrap(),
    );
    let source = small.manifest().source.as_deref().unwrap_or_default();
    assert!(source.ends_with(", resized to 160x120"), "{source}");
    let truth = DatasetLayout::new(&summary.truth);
    let s = 0.5;
    for (cam, native_cam) in small.cameras().iter().zip(full.cameras()) {
        assert_eq!(cam.name, native_cam.name);
        assert_eq!((cam.width, cam.height), (160, 120));
        assert_eq!(
            (cam.dist, cam.r, cam.t),
            (native_cam.dist, native_cam.r, native_cam.t)
        );
        for &p in truth_points(&summary.truth, 0).iter().step_by(50) {
            let (a, b) = (native_cam.project(p).unwrap(), cam.project(p).unwrap());
            let expected = (a + 0.5) * s - 0.5;
            assert!(
                (b - expected).length() < 1e-6,
                "camera {}: {p} at {b}, expected {expected}",
                cam.name
            );
            assert!(
                (b - a * s).length() < 0.5,
                "camera {}: {b} vs {a}",
                cam.name
            );
        }
        for frame in 0..summary.frames as u32 {
            let points = truth_points(&summary.truth, frame);
            let image = rgb(&small.image_path(&cam.name, frame));
            assert_eq!(image.dimensions(), (160, 120));
            let truth_image = image::imageops::resize(
                &rgb(&truth.image_path(&cam.name, frame)),
                160,
                120,
                image::imageops::FilterType::Triangle,
            );
            let p = psnr(&image, &truth_image);
            assert!(
                p >= PSNR_FLOOR_DB,
                "camera {} frame {frame}: {p:.2} dB",
                cam.name
            );
            let mask = grey(&small.mask_path(&cam.name, frame));
            assert_eq!(mask.dimensions(), (160, 120));
            assert!(mask.pixels().all(|m| m.0[0] == 0 || m.0[0] == 255));
            let on_small = points_in_mask(&points, cam, &mask);
            let full_mask = grey(&full.mask_path(&cam.name, frame));
            let on_full = points_in_mask(&points, native_cam, &full_mask);
            eprintln!(
                "camera {} frame {frame}: half size {p:.2} dB, truth points on the mask {on_small:.4} (full size {on_full:.4})",
                cam.name
            );
            assert!(
                on_small >= on_full - POINTS_ON_MASK_LOSS,
                "camera {} frame {frame}: {on_small:.4} of the points on the half-size mask, {on_full:.4} at full size",
                cam.name
            );
        }
    }
}

#[test]
fn bad_inputs_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let missing = dir.path().join("nowhere.mp4");
    let err = run(&RunOptions::new(vec![missing.clone()], dir.path(), &out)).unwrap_err();
    assert!(matches!(err, RunError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("nowhere.mp4"), "{err}");

    let text = dir.path().join("cam.mp4");
    std::fs::write(&text, "this is not a video\n").unwrap();
    let err = run(&RunOptions::new(vec![text], dir.path(), &out)).unwrap_err();
    assert!(err.to_string().contains("cam.mp4"), "{err}");
    assert!(matches!(err, RunError::Media(_)), "{err}");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = run(&RunOptions::new(vec![empty], dir.path(), &out)).unwrap_err();
    assert!(err.to_string().contains("no video files"), "{err}");

    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    std::fs::write(dir.path().join("a.mp4"), "x").unwrap();
    let err = run(&RunOptions::new(
        vec![dir.path().join("a.mp4")],
        dir.path(),
        &busy,
    ))
    .unwrap_err();
    assert!(err.to_string().contains("holds no yakumo.toml"), "{err}");
    assert!(!out.exists());
}

/// Copies the H.264 stream of `src` into `dst` through `muxer` (a GStreamer element
/// description, e.g. `matroskamux creation-time=...`).
fn remux(src: &Path, dst: &Path, muxer: &str) {
    use gstreamer as gst;
    use gstreamer::prelude::*;
    gst::init().unwrap();
    let description = format!(
        "filesrc location=\"{}\" ! qtdemux ! h264parse ! {muxer} ! filesink location=\"{}\"",
        src.display(),
        dst.display()
    );
    let pipeline = gst::parse::launch(&description).unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("remux finishes");
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        matches!(msg.view(), gst::MessageView::Eos(_)),
        "remux of {} failed: {msg:?}",
        src.display()
    );
}

/// `--sync timestamps`: cameras whose clocks say they started 0, +1 and −1 s apart (whole
/// seconds, which is what container recording times hold) are put on one timeline from the
/// recording times alone, and the frames match the truth frames; a camera without a readable
/// recording time is named.
#[test]
fn timestamps_put_cameras_on_one_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let offsets_ms = [0.0, 1000.0, -1000.0];
    let summary = yakumo_ingest::synth::run(&SynthOptions {
        cameras: 3,
        frames: 3,
        width: 160,
        height: 120,
        fps: 10.0,
        seed: 11,
        offsets_ms: Some(offsets_ms.to_vec()),
        calib_frames: 1,
        points: 100,
        progress: false,
        ..SynthOptions::new(dir.path())
    })
    .unwrap();
    let clocked = dir.path().join("clocked");
    std::fs::create_dir(&clocked).unwrap();
    let mut videos = Vec::new();
    for (video, ms) in summary.videos.iter().zip(offsets_ms) {
        let name = video.file_stem().unwrap().to_string_lossy();
        let dst = clocked.join(format!("{name}.mkv"));
        let second = 10 + (ms / 1000.0) as i64;
        // Matroska's DateUTC: the recording time as a camera with a set clock writes it (the
        // demuxer reports whole seconds).
        let time = format!("2026-03-04T05:06:{second:02}Z");
        remux(video, &dst, &format!("matroskamux creation-time={time}"));
        videos.push(dst);
    }
    let out = dir.path().join("dataset");
    let result = run(&RunOptions {
        sync: SyncMethod::Timestamps,
        ..RunOptions::new(videos.clone(), &summary.truth, &out)
    })
    .unwrap();
    let got: Vec<f64> = result.sync.iter().map(|s| s.offset_ms).collect();
    assert_eq!(got, offsets_ms.to_vec());
    let manifest = Manifest::read(&DatasetLayout::new(&out).manifest_path()).unwrap();
    assert_eq!(manifest.sync.unwrap().method, "timestamps");
    let (ours, truth) = (DatasetLayout::new(&out), DatasetLayout::new(&summary.truth));
    for cam in &summary.cameras {
        for frame in 0..summary.frames as u32 {
            let p = psnr(
                &rgb(&ours.image_path(cam, frame)),
                &rgb(&truth.image_path(cam, frame)),
            );
            assert!(p >= PSNR_FLOOR_DB, "camera {cam} frame {frame}: {p:.2} dB");
        }
    }

    // An MPEG transport stream carries no recording time: the camera's file is named.
    let untimed = dir.path().join("01.ts");
    remux(&summary.videos[1], &untimed, "mpegtsmux");
    let err = run(&RunOptions {
        sync: SyncMethod::Timestamps,
        ..RunOptions::new(
            vec![videos[0].clone(), untimed, videos[2].clone()],
            &summary.truth,
            dir.path().join("other"),
        )
    })
    .unwrap_err();
    assert!(matches!(err, RunError::NoTimestamp { .. }), "{err}");
    assert!(err.to_string().contains("01.ts"), "{err}");
    assert!(!dir.path().join("other").exists());
}
