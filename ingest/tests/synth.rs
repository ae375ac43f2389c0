//! End-to-end checks of the synthetic rig at tiny sizes (runs on Mesa lavapipe): the files a
//! capture promises exist, the truth is self-consistent (points project into the masks, plates
//! match the images off the subject), the subject moves, and a seed reproduces its bytes.

use glam::DVec3;
use std::path::Path;
use yakumo_core::Camera;
use yakumo_core::clip::ClipReader;
use yakumo_core::dataset::DatasetLayout;
use yakumo_core::manifest::Manifest;
use yakumo_ingest::synth::{BoardChoice, SynthOptions, run};

fn tiny(out: &Path) -> SynthOptions {
    SynthOptions {
        cameras: 3,
        frames: 3,
        width: 96,
        height: 72,
        fps: 30.0,
        seed: 11,
        calib_frames: 4,
        points: 4000,
        progress: false,
        ..SynthOptions::new(out)
    }
}

fn grey(path: &Path) -> image::GrayImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_luma8()
}

fn rgb(path: &Path) -> image::RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

/// Fraction of `points` that land on mask pixels of `cam` (among those inside the image).
fn on_mask_fraction(cam: &Camera, mask: &image::GrayImage, points: &[[f32; 3]]) -> f64 {
    let (mut inside, mut on_mask) = (0, 0);
    for p in points {
        let px = cam
            .project(DVec3::new(p[0] as f64, p[1] as f64, p[2] as f64))
            .expect("point in front of camera");
        let (x, y) = (px.x.round(), px.y.round());
        if x < 0.0 || y < 0.0 || x >= cam.width as f64 || y >= cam.height as f64 {
            continue;
        }
        inside += 1;
        // Allow the silhouette's anti-aliasing: a mask pixel within one pixel counts.
        let hit = (-1..=1).any(|dy| {
            (-1..=1).any(|dx| {
                let (u, v) = (x as i64 + dx, y as i64 + dy);
                u >= 0
                    && v >= 0
                    && u < cam.width as i64
                    && v < cam.height as i64
                    && mask.get_pixel(u as u32, v as u32).0[0] == 255
            })
        });
        on_mask += hit as usize;
    }
    assert!(inside > points.len() / 2, "most points should be in view");
    on_mask as f64 / inside as f64
}

#[test]
fn synthetic_capture_is_complete_and_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions {
        distortion: true,
        offsets_ms: Some(vec![0.0, 12.0, -7.5]),
        ..tiny(dir.path())
    };
    let summary = run(&opts).unwrap();
    let truth = DatasetLayout::new(dir.path().join("truth"));

    // Every promised file exists.
    for cam in ["00", "01", "02"] {
        for f in [
            format!("videos/{cam}.mp4"),
            format!("calib/{cam}.mp4"),
            format!("plates/{cam}.png"),
        ] {
            let p = dir.path().join(f);
            assert!(
                p.metadata().map(|m| m.len() > 0).unwrap_or(false),
                "{} missing or empty",
                p.display()
            );
        }
    }
    assert!(dir.path().join("calib/board.toml").is_file());
    assert_eq!(
        summary.video_frames,
        3 + 1 + 6,
        "3 frames + 20 ms spread rounded up + 0.2 s margin"
    );

    // The calibration and manifest describe the rig.
    let cams = yakumo_core::calib::read_calibration(truth.root()).unwrap();
    assert_eq!(cams.len(), 3);
    assert!(
        cams.iter().all(|c| !c.dist.is_none()),
        "--distortion gives every camera a lens"
    );
    let manifest = Manifest::read(&truth.manifest_path()).unwrap();
    assert_eq!(manifest.frames.count, 3);
    assert_eq!(manifest.fps, 30.0);
    let sync = manifest.sync.expect("true offsets recorded");
    assert_eq!(sync.offsets_ms["01"], 12.0);
    assert_eq!(sync.offsets_ms["02"], -7.5);

    // The clip has one frame per truth frame.
    let clip = ClipReader::open(truth.root().join("clip.yk4d")).unwrap();
    assert_eq!(clip.frame_count(), 3);

    for frame in 0..3u32 {
        let points =
            yakumo_core::ply::read_ply(&truth.root().join(format!("points/{frame:06}.ply")))
                .unwrap();
        assert_eq!(points.positions.len(), 4000);
        assert!(points.normals.is_some() && points.colors.is_some());
        for cam in &cams {
            let mask = grey(&truth.mask_path(&cam.name, frame));
            assert!(
                mask.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255),
                "masks are binary"
            );
            let covered = mask.pixels().filter(|p| p.0[0] == 255).count();
            assert!(
                covered > 200,
                "camera {} frame {frame}: subject covers only {covered} px",
                cam.name
            );
            let fraction = on_mask_fraction(cam, &mask, &points.positions);
            assert!(
                fraction >= 0.99,
                "camera {} frame {frame}: only {:.3} of points on the mask",
                cam.name,
                fraction
            );
        }
    }

    // The subject moves: consecutive images differ on the subject.
    let (a, b) = (
        rgb(&truth.image_path("00", 0)),
        rgb(&truth.image_path("00", 2)),
    );
    let changed = a
        .pixels()
        .zip(b.pixels())
        .filter(|(p, q)| p.0.iter().zip(q.0).any(|(x, y)| x.abs_diff(y) > 30))
        .count();
    assert!(
        changed > 50,
        "only {changed} pixels changed between frames 0 and 2"
    );

    // Off the subject (and away from its edge), images show the clean plate.
    for cam in ["00", "01", "02"] {
        let image = rgb(&truth.image_path(cam, 1));
        let mask = grey(&truth.mask_path(cam, 1));
        let plate = rgb(&dir.path().join(format!("plates/{cam}.png")));
        assert_eq!(plate.dimensions(), image.dimensions());
        let (w, h) = image.dimensions();
        let near_subject = |x: u32, y: u32| {
            (y.saturating_sub(2)..(y + 3).min(h)).any(|v| {
                (x.saturating_sub(2)..(x + 3).min(w)).any(|u| mask.get_pixel(u, v).0[0] == 255)
            })
        };
        let (mut sum, mut n) = (0u64, 0u64);
        for (x, y, p) in image.enumerate_pixels() {
            if !near_subject(x, y) {
                let q = plate.get_pixel(x, y);
                sum +=
                    p.0.iter()
                        .zip(q.0)
                        .map(|(a, b)| a.abs_diff(b) as u64)
                        .sum::<u64>();
                n += 3;
            }
        }
        let mean = sum as f64 / n as f64;
        assert!(
            mean < 4.0,
            "camera {cam}: image differs from its plate off the subject by {mean:.2} on average"
        );
    }
}

#[test]
fn same_seed_gives_the_same_truth() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let opts = SynthOptions {
        cameras: 2,
        frames: 2,
        calib_frames: 2,
        board: BoardChoice::Chessboard,
        ..tiny(a.path())
    };
    run(&opts).unwrap();
    run(&SynthOptions {
        out: b.path().to_path_buf(),
        ..opts.clone()
    })
    .unwrap();
    let files = |root: &Path| {
        let mut v: Vec<_> = [
            "truth/images/00",
            "truth/images/01",
            "truth/masks/01",
            "truth/points",
            "plates",
        ]
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(root.join(d))
                .unwrap()
                .map(|e| e.unwrap().path())
        })
        .collect();
        v.sort();
        v
    };
    let (fa, fb) = (files(a.path()), files(b.path()));
    assert_eq!(fa.len(), 2 + 2 + 2 + 2 + 2);
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{} differs between runs",
            x.display()
        );
    }
    assert_eq!(
        std::fs::read(a.path().join("truth/clip.yk4d")).unwrap(),
        std::fs::read(b.path().join("truth/clip.yk4d")).unwrap()
    );
    // The chessboard's definition is the one written.
    let board = std::fs::read_to_string(a.path().join("calib/board.toml")).unwrap();
    assert!(board.contains("kind = \"chessboard\""));
    // A different seed changes the images.
    let c = tempfile::tempdir().unwrap();
    run(&SynthOptions {
        out: c.path().to_path_buf(),
        seed: 12,
        ..opts.clone()
    })
    .unwrap();
    assert_ne!(
        std::fs::read(a.path().join("truth/images/00/000000.jpg")).unwrap(),
        std::fs::read(c.path().join("truth/images/00/000000.jpg")).unwrap()
    );
    // --truth-only writes the same truth and nothing that needs an encoder.
    let d = tempfile::tempdir().unwrap();
    let summary = run(&SynthOptions {
        out: d.path().to_path_buf(),
        truth_only: true,
        ..opts
    })
    .unwrap();
    assert!(summary.videos.is_empty() && summary.calib_videos.is_empty());
    for dir in ["videos", "calib", "plates"] {
        assert!(!d.path().join(dir).exists(), "--truth-only wrote {dir}/");
    }
    for rel in [
        "truth/images/01/000001.jpg",
        "truth/masks/00/000000.png",
        "truth/points/000001.ply",
        "truth/intri.yml",
        "truth/extri.yml",
    ] {
        assert_eq!(
            std::fs::read(a.path().join(rel)).unwrap(),
            std::fs::read(d.path().join(rel)).unwrap(),
            "{rel} differs with --truth-only"
        );
    }
}

#[test]
fn bad_options_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let err = run(&SynthOptions {
        offsets_ms: Some(vec![0.0]),
        ..tiny(dir.path())
    })
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("--offsets-ms has 1 values but there are 3 cameras"),
        "{err}"
    );
    let err = run(&SynthOptions {
        width: 95,
        ..tiny(dir.path())
    })
    .unwrap_err();
    assert!(err.to_string().contains("even"), "{err}");
}
