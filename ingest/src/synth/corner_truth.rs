//! Diagnostics of the calibration chain on the synthetic board tour: corners detected on the
//! rendered boards against their true projections, and the rig calibrated from detected corners
//! against the rig calibrated from the true projections of the same corners.

use super::board_art::{BoardChoice, board_art};
use super::board_tour::{BoardTour, Pace, TourBoard};
use super::distort::Warp;
use super::gpu::{Draw, Renderer};
use super::texture::material_layers;
use super::{rig, scene};
use crate::board::detect::Detector;
use crate::calib::{CameraViews, LensModel, RigOptions, View, calibrate_rig};
use glam::{DAffine3, DVec2};
use image::GrayImage;
use rand::{Rng, SeedableRng};
use yakumo_core::Camera;

const FPS: f64 = 30.0;

fn frames() -> usize {
    std::env::var("FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120)
}

/// The cameras' image size: 640×480, or 1280×720 with `SIZE=720p`.
fn size() -> (u32, u32) {
    match std::env::var("SIZE").as_deref() {
        Ok("720p") => (1280, 720),
        _ => (640, 480),
    }
}

/// With `ENCODE` set, each camera's frames go through the synthetic rig's H.264 encoder and are
/// detected in the decoded luma, as `calibrate` does; otherwise in the rendered frames.
fn through_video(frames: &[(GrayImage, Vec<u8>)], detector: &Detector) -> Vec<Vec<(u32, DVec2)>> {
    if std::env::var("ENCODE").is_err() {
        return frames.iter().map(|(g, _)| detector.detect(g)).collect();
    }
    let (w, h) = frames[0].0.dimensions();
    let path = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    let settings = crate::media::EncodeSettings::new(w, h, 30u32);
    let mut encoder = crate::media::VideoEncoder::create(path.path(), settings).unwrap();
    for (_, rgb) in frames {
        encoder.push_frame(rgb).unwrap();
    }
    encoder.finish().unwrap();
    let mut decoder = crate::media::VideoDecoder::open(path.path(), Default::default()).unwrap();
    let mut detected = Vec::new();
    while let Some(picture) = decoder.next_picture().unwrap() {
        let gray = GrayImage::from_raw(w, h, picture.to_gray().unwrap()).unwrap();
        detected.push(detector.detect(&gray));
    }
    detected.truncate(frames.len());
    detected
}

struct Capture {
    cameras: Vec<Camera>,
    poses: Vec<DAffine3>,
    /// Per camera, per frame: detected corners.
    detected: Vec<Vec<Vec<(u32, DVec2)>>>,
}

fn capture(choice: BoardChoice, distortion: bool, seed: u64, frames: usize) -> Capture {
    let renderer = Renderer::new().expect("a Vulkan device (lavapipe will do)");
    let art = board_art(choice).unwrap();
    let cameras = rig::cameras(5, size(), seed, distortion);
    let tour = BoardTour::new(
        &cameras,
        TourBoard {
            size: art.board.size(),
            square: art.board.square(),
            whole: choice == BoardChoice::Chessboard,
        },
        (frames, FPS),
        Pace::Sweep,
        seed,
    );
    let poses: Vec<DAffine3> = (0..frames).map(|j| tour.pose(j as f64 / FPS)).collect();
    let texture = renderer.upload_textures(std::slice::from_ref(&art.texture), false);
    let materials = renderer.upload_textures(&material_layers(seed), true);
    let (front, back) = scene::board_meshes(art.top_left, art.bottom_right);
    let detector = Detector::new(&art.board).unwrap();
    let detected = cameras
        .iter()
        .map(|cam| {
            let warp = Warp::new(cam);
            let target = renderer.target(warp.canvas().width, warp.canvas().height);
            poses
                .iter()
                .enumerate()
                .map(|(j, pose)| {
                    let (mut f, mut b) = (front.clone(), back.clone());
                    f.transform(pose);
                    scene::light_board_face(&mut f);
                    b.transform(pose);
                    let (f, b) = (renderer.upload_mesh(&f), renderer.upload_mesh(&b));
                    let draws = [
                        Draw {
                            mesh: &f,
                            textures: &texture,
                        },
                        Draw {
                            mesh: &b,
                            textures: &materials,
                        },
                    ];
                    let frame =
                        warp.apply(renderer.render(&target, warp.canvas(), &draws).unwrap());
                    let gray = GrayImage::from_raw(
                        frame.width,
                        frame.height,
                        frame
                            .rgb
                            .chunks_exact(3)
                            .map(|p| {
                                ((77 * p[0] as u32 + 150 * p[1] as u32 + 29 * p[2] as u32 + 128)
                                    >> 8) as u8
                            })
                            .collect(),
                    )
                    .unwrap();
                    if let Ok(dir) = std::env::var("DUMP") {
                        let _ = std::fs::create_dir_all(&dir);
                        let _ = gray.save(format!("{dir}/{seed}-{}-{j:04}.png", cam.name));
                    }
                    (gray, frame.rgb)
                })
                .collect::<Vec<_>>()
        })
        .map(|frames| through_video(&frames, &detector))
        .collect();
    Capture {
        cameras,
        poses,
        detected,
    }
}

fn views(cap: &Capture, corners: impl Fn(usize, usize, u32, DVec2) -> DVec2) -> Vec<CameraViews> {
    cap.cameras
        .iter()
        .enumerate()
        .map(|(c, cam)| CameraViews {
            name: cam.name.clone(),
            width: cam.width,
            height: cam.height,
            views: cap.detected[c]
                .iter()
                .enumerate()
                .filter(|(_, d)| !d.is_empty())
                .map(|(j, d)| View {
                    frame: j,
                    corners: d
                        .iter()
                        .map(|(id, px)| (*id, corners(c, j, *id, *px)))
                        .collect(),
                    simultaneous: true,
                })
                .collect(),
        })
        .collect()
}

fn report(what: &str, cal: &crate::calib::RigCalibration, truth: &[Camera]) {
    let est = &cal.cameras;
    let mut worst = [0.0f64; 4];
    for (a, b) in est.iter().zip(truth) {
        worst[0] = worst[0].max((a.fx() / b.fx() - 1.0).abs() * 100.0);
        worst[1] = worst[1].max(DVec2::new(a.cx() - b.cx(), a.cy() - b.cy()).length());
    }
    // Relative rotations between camera pairs need no alignment.
    for i in 0..est.len() {
        for j in i + 1..est.len() {
            let re = est[i].r * est[j].r.transpose();
            let rt = truth[i].r * truth[j].r.transpose();
            let angle = yakumo_core::camera::rotation_to_rodrigues(re * rt.transpose()).length();
            worst[2] = worst[2].max(angle.to_degrees());
            let be = (est[i].centre() - est[j].centre()).length();
            let bt = (truth[i].centre() - truth[j].centre()).length();
            worst[3] = worst[3].max((be - bt).abs() * 1000.0);
        }
    }
    let pp: Vec<String> = est
        .iter()
        .zip(truth)
        .map(|(a, b)| format!("({:+.2},{:+.2})", a.cx() - b.cx(), a.cy() - b.cy()))
        .collect();
    let lenses: Vec<&str> = cal
        .report
        .cameras
        .iter()
        .map(|c| c.lens.coefficient_names())
        .collect();
    eprintln!("{what}: lenses {}", lenses.join(" | "));
    eprintln!(
        "{what}: focal {:.3} %, principal {:.2} px {}, pair rotation {:.3}°, baseline {:.2} mm",
        worst[0],
        worst[1],
        pp.join(" "),
        worst[2],
        worst[3]
    );
}

/// Per corner: detected minus true position, pixels.
fn corner_errors(cap: &Capture, board: &crate::board::Board) -> Vec<DVec2> {
    let mut errs = Vec::new();
    for (c, per_frame) in cap.detected.iter().enumerate() {
        for (j, d) in per_frame.iter().enumerate() {
            for (id, px) in d {
                let truth = cap.cameras[c]
                    .project(cap.poses[j].transform_point3(board.corner(*id)))
                    .unwrap();
                errs.push(*px - truth);
            }
        }
    }
    errs
}

#[test]
fn rendered_corners_lie_on_their_true_projections() {
    for (choice, distortion, seed) in [
        (BoardChoice::Charuco, true, 3u64),
        (BoardChoice::Chessboard, true, 4),
    ] {
        let cap = capture(choice, distortion, seed, 24);
        let board = board_art(choice).unwrap().board;
        let errs = corner_errors(&cap, &board);
        let far = errs.iter().filter(|e| e.length() > 1.0).count();
        let inliers: Vec<DVec2> = errs.iter().copied().filter(|e| e.length() <= 1.0).collect();
        let n = inliers.len() as f64;
        let mean = inliers.iter().sum::<DVec2>() / n;
        let rms = (inliers.iter().map(|e| e.length_squared()).sum::<f64>() / n).sqrt();
        eprintln!(
            "{choice:?}: {} corners, {far} over 1 px, mean {mean:.4}, rms {rms:.3}",
            errs.len()
        );
        assert!(errs.len() > 300, "{choice:?}: only {} corners", errs.len());
        assert!(
            far * 100 <= errs.len(),
            "{choice:?}: {far} of {} corners over 1 px",
            errs.len()
        );
        assert!(mean.length() < 0.02, "{choice:?}: mean error {mean}");
        // 0.083 px (ChArUco) and 0.049 px (chessboard) with each distorted pixel integrated over
        // its area; 0.110 px for ChArUco with one bilinear sample per pixel.
        assert!(rms < 0.095, "{choice:?}: rms {rms}");
    }
}

#[test]
#[ignore = "diagnostic: [SIZE=720p] [FRAMES=N] [ENCODE=1] cargo test -p yakumo-ingest --lib corner_truth -- --ignored --nocapture"]
fn detected_against_true_corners() {
    for (choice, distortion, seed) in [
        (BoardChoice::Charuco, true, 1u64),
        (BoardChoice::Charuco, false, 2),
    ] {
        let cap = capture(choice, distortion, seed, frames());
        let board = board_art(choice).unwrap().board;
        let truth = |c: usize, j: usize, id: u32| {
            cap.cameras[c]
                .project(cap.poses[j].transform_point3(board.corner(id)))
                .unwrap()
        };
        let mut errs = Vec::new();
        for (c, per_frame) in cap.detected.iter().enumerate() {
            for (j, d) in per_frame.iter().enumerate() {
                for (id, px) in d {
                    errs.push(*px - truth(c, j, *id));
                }
            }
        }
        let n = errs.len() as f64;
        let mean = errs.iter().sum::<DVec2>() / n;
        let rms = (errs.iter().map(|e| e.length_squared()).sum::<f64>() / n).sqrt();
        let big = errs.iter().filter(|e| e.length() > 1.0).count();
        let inliers: Vec<f64> = errs
            .iter()
            .map(|e| e.length_squared())
            .filter(|e| *e < 1.0)
            .collect();
        let inlier_rms = (inliers.iter().sum::<f64>() / inliers.len() as f64).sqrt();
        eprintln!(
            "{choice:?} distortion {distortion} seed {seed}: {n} corners, mean {mean:.4}, rms {rms:.4}, {big} > 1 px, inlier rms {inlier_rms:.4}"
        );
        for (c, per_frame) in cap.detected.iter().enumerate() {
            let cam = &cap.cameras[c];
            let pp = DVec2::new(cam.cx(), cam.cy());
            let mut bins = [(0usize, 0.0f64, 0.0f64); 6];
            let mut big = Vec::new();
            for (j, d) in per_frame.iter().enumerate() {
                for (id, px) in d {
                    let t = truth(c, j, *id);
                    let e = *px - t;
                    if e.length() > 1.0 {
                        big.push((j, *id, t, e));
                        continue;
                    }
                    let r = (t - pp).length();
                    let dir = (t - pp) / r.max(1e-9);
                    let b = ((r / 70.0) as usize).min(5);
                    bins[b].0 += 1;
                    bins[b].1 += e.dot(dir);
                    bins[b].2 += e.perp_dot(dir);
                }
            }
            let text: Vec<String> = bins
                .iter()
                .map(|(n, rad, tan)| {
                    let n = (*n).max(1) as f64;
                    format!("{:+.3}/{:+.3}", rad / n, tan / n)
                })
                .collect();
            eprintln!(
                "  camera {c}: radial/tangential mean by 70 px ring: {}",
                text.join(" ")
            );
            // Errors shared by a view's corners (white noise would leave about rms / √n).
            let mut view_means: Vec<(f64, usize, usize)> = per_frame
                .iter()
                .enumerate()
                .filter(|(_, d)| d.len() >= 6)
                .map(|(j, d)| {
                    let m = d
                        .iter()
                        .map(|(id, px)| *px - truth(c, j, *id))
                        .sum::<DVec2>()
                        / d.len() as f64;
                    (m.length(), j, d.len())
                })
                .collect();
            let vr = (view_means.iter().map(|v| v.0 * v.0).sum::<f64>() / view_means.len() as f64)
                .sqrt();
            view_means.sort_by(|a, b| b.0.total_cmp(&a.0));
            eprintln!(
                "    view mean error rms {vr:.3} px; worst {:?}",
                &view_means[..4.min(view_means.len())]
            );
            for (j, id, t, e) in big.iter().take(6) {
                eprintln!("    frame {j} corner {id} at {t:.1}: error {e:.2}");
            }
            eprintln!("    {} corners > 1 px in {} frames", big.len(), {
                let mut f: Vec<usize> = big.iter().map(|b| b.0).collect();
                f.dedup();
                f.len()
            });
        }
        let opts = RigOptions::default();
        let detected = calibrate_rig(&board, &views(&cap, |_, _, _, px| px), &opts).unwrap();
        report("  detected", &detected, &cap.cameras);
        let exact =
            calibrate_rig(&board, &views(&cap, |c, j, id, _| truth(c, j, id)), &opts).unwrap();
        report("  exact", &exact, &cap.cameras);
        let rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let sigma = inlier_rms / 2f64.sqrt();
        let rng = std::cell::RefCell::new(rng);
        let noisy = views(&cap, |c, j, id, _| {
            let mut rng = rng.borrow_mut();
            // Box–Muller: two independent normal deviates.
            let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
            let r = sigma * (-2.0 * u.ln()).sqrt();
            let a = std::f64::consts::TAU * v;
            truth(c, j, id) + DVec2::new(r * a.cos(), r * a.sin())
        });
        let fixed = RigOptions {
            lens: Some(if distortion {
                LensModel::Radial2Tangential
            } else {
                LensModel::Pinhole
            }),
            ..RigOptions::default()
        };
        let det = views(&cap, |_, _, _, px| px);
        report(
            "  detected, true model",
            &calibrate_rig(&board, &det, &fixed).unwrap(),
            &cap.cameras,
        );
        report(
            "  white noise, true model",
            &calibrate_rig(&board, &noisy, &fixed).unwrap(),
            &cap.cameras,
        );
        let noisy = calibrate_rig(&board, &noisy, &opts).unwrap();
        report("  white noise", &noisy, &cap.cameras);
    }
}
