//! Both GPU render paths against the CPU reference of the rendering rule (runs on lavapipe).

use glam::DVec3;
use image::RgbaImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use yakumo_core::Camera;
use yakumo_core::clip::FramePoints;
use yakumo_core::render_ref::{RefImage, render_cpu};
use yakumo_core::sh;
use yakumo_player::offscreen::{OFFSCREEN_FORMAT, OffscreenStereo, OffscreenTarget};
use yakumo_player::render::{RasterRenderer, RenderError, multiview};
use yakumo_player::{
    Gpu, GpuFrame, PointRenderer, RenderParams, RenderPath, StereoMode, ViewTarget, new_renderer,
};

/// Random points in a 1 m box around the origin with SH `degree` residuals.
fn random_frame(n: usize, degree: u32, seed: u64) -> FramePoints {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rest = 3 * (sh::coeff_count(degree) - 1);
    FramePoints {
        positions: (0..n)
            .map(|_| [0; 3].map(|_: i32| rng.random_range(-0.5f32..0.5)))
            .collect(),
        radii: (0..n).map(|_| rng.random_range(0.01f32..0.08)).collect(),
        densities: (0..n).map(|_| rng.random_range(0.05f32..1.0)).collect(),
        colors: (0..n)
            .map(|_| [0; 3].map(|_: i32| rng.random_range(0.0f32..1.0)))
            .collect(),
        sh_rest: (0..n * rest)
            .map(|_| rng.random_range(-0.3f32..0.3))
            .collect(),
    }
}

/// 70×45 (not a multiple of the 16-pixel tiles), looking at the origin from 2.2 m.
fn camera(eye: DVec3) -> Camera {
    Camera::look_at(
        "test",
        (70, 45),
        (95.0, 92.0),
        (34.7, 21.9),
        eye,
        DVec3::ZERO,
        DVec3::Z,
    )
}

fn gpu() -> Gpu {
    Gpu::headless().expect("a Vulkan adapter (lavapipe in CI)")
}

fn render(
    gpu: &Gpu,
    path: RenderPath,
    frame: &FramePoints,
    cams: &[Camera],
    k: u32,
) -> Vec<RgbaImage> {
    let gpu_frame = GpuFrame::new(&gpu.device, &gpu.queue, frame).unwrap();
    let targets: Vec<OffscreenTarget> = cams
        .iter()
        .map(|c| OffscreenTarget::new(gpu, (c.width, c.height)))
        .collect();
    let views: Vec<ViewTarget<'_>> = cams
        .iter()
        .zip(&targets)
        .map(|(c, t)| ViewTarget {
            camera: c,
            target: &t.view,
            format: OFFSCREEN_FORMAT,
            size: t.size(),
        })
        .collect();
    let mut renderer = new_renderer(gpu, path);
    renderer
        .render(
            gpu,
            &gpu_frame,
            &views,
            &RenderParams {
                k,
                ..Default::default()
            },
            None,
        )
        .unwrap();
    targets.iter().map(|t| t.read(gpu).unwrap()).collect()
}

/// PSNR (dB) of an 8-bit RGBA image against the float reference over all four channels of the
/// pixels covered in either image (empty background would inflate it), and the largest absolute
/// error.
fn compare(img: &RgbaImage, reference: &RefImage) -> (f64, f64) {
    let mut se = 0.0f64;
    let mut max = 0.0f64;
    let mut n = 0usize;
    for (p, r) in img.pixels().zip(&reference.pixels) {
        if p.0[3] == 0 && r[3] == 0.0 {
            continue;
        }
        n += 1;
        for c in 0..4 {
            let e = (p.0[c] as f64 / 255.0 - r[c].clamp(0.0, 1.0) as f64).abs();
            se += e * e;
            max = max.max(e);
        }
    }
    let mse = se / (n.max(1) * 4) as f64;
    (10.0 * (1.0 / mse.max(1e-12)).log10(), max)
}

fn coverage(reference: &RefImage) -> f64 {
    reference.pixels.iter().filter(|p| p[3] > 0.0).count() as f64 / reference.pixels.len() as f64
}

#[test]
fn both_paths_match_the_cpu_reference() {
    let gpu = gpu();
    let frame = random_frame(400, 3, 1);
    let cams = [
        camera(DVec3::new(0.3, -2.2, 0.4)),
        camera(DVec3::new(-1.6, 1.4, -0.7)),
    ];
    for k in [1, 4, 15] {
        let refs: Vec<RefImage> = cams
            .iter()
            .map(|c| render_cpu(&frame, c, k as usize))
            .collect();
        assert!(
            coverage(&refs[0]) > 0.3,
            "test scene too sparse: {}",
            coverage(&refs[0])
        );
        for path in [RenderPath::Raster, RenderPath::Compute] {
            let imgs = render(&gpu, path, &frame, &cams, k);
            for (img, reference) in imgs.iter().zip(&refs) {
                let (psnr, max) = compare(img, reference);
                eprintln!("{path} K={k}: PSNR {psnr:.1} dB, max error {max:.4}");
                assert!(
                    psnr >= 45.0 && max < 0.05,
                    "{path} K={k}: PSNR {psnr:.1} dB, max error {max:.4}"
                );
            }
        }
    }
}

#[test]
fn k_changes_the_image_as_the_reference_does() {
    let gpu = gpu();
    let frame = random_frame(400, 0, 2);
    let cams = [camera(DVec3::new(0.3, -2.2, 0.4))];
    let one = render(&gpu, RenderPath::Raster, &frame, &cams, 1);
    let many = render(&gpu, RenderPath::Raster, &frame, &cams, 15);
    let (psnr, _) = compare(&one[0], &render_cpu(&frame, &cams[0], 15));
    assert!(
        psnr < 35.0,
        "K=1 should differ clearly from K=15 (PSNR {psnr:.1})"
    );
    assert_ne!(one[0], many[0]);
}

#[test]
fn raster_and_compute_agree() {
    let gpu = gpu();
    let frame = random_frame(1500, 1, 3);
    let cams = [camera(DVec3::new(2.0, 0.5, 1.0))];
    let a = &render(&gpu, RenderPath::Raster, &frame, &cams, 15)[0];
    let b = &render(&gpu, RenderPath::Compute, &frame, &cams, 15)[0];
    let differing = a
        .pixels()
        .zip(b.pixels())
        .filter(|(p, q)| p.0.iter().zip(q.0).any(|(x, y)| x.abs_diff(y) > 2))
        .count();
    assert!(
        differing * 1000 <= a.len() / 4,
        "{differing} pixels differ by more than 2 levels"
    );
}

#[test]
fn rendering_is_deterministic_and_views_are_independent() {
    let gpu = gpu();
    let frame = random_frame(600, 2, 4);
    let c0 = camera(DVec3::new(0.3, -2.2, 0.4));
    let c1 = camera(DVec3::new(-2.0, -0.3, 0.9));
    for path in [RenderPath::Raster, RenderPath::Compute] {
        let both = render(&gpu, path, &frame, &[c0.clone(), c1.clone()], 12);
        let again = render(&gpu, path, &frame, &[c0.clone(), c1.clone()], 12);
        assert_eq!(both, again, "{path} is not deterministic");
        let single = render(&gpu, path, &frame, std::slice::from_ref(&c1), 12);
        assert_eq!(
            both[1], single[0],
            "{path}: second view depends on the first"
        );
        assert_ne!(both[0], both[1]);
    }
}

/// Draws `frame` as a stereo pair into the two layers of one texture, as into a headset's array
/// swapchain, with `renderer`'s stereo mode; returns the two eyes' images.
fn render_pair(
    gpu: &Gpu,
    renderer: &mut dyn PointRenderer,
    frame: &FramePoints,
    eyes: [&Camera; 2],
    params: &RenderParams,
) -> [RgbaImage; 2] {
    let gpu_frame = GpuFrame::new(&gpu.device, &gpu.queue, frame).unwrap();
    let pair = OffscreenStereo::new(gpu, (eyes[0].width, eyes[0].height));
    let views = [0, 1].map(|eye| ViewTarget {
        camera: eyes[eye],
        target: &pair.eyes[eye],
        format: OFFSCREEN_FORMAT,
        size: pair.size(),
    });
    renderer
        .render_stereo(gpu, &gpu_frame, &views, &pair.layers, params, None)
        .unwrap();
    [0, 1].map(|eye| pair.read(gpu, eye).unwrap())
}

/// How many of `a`'s bytes differ from `b`'s (same size).
fn differing_bytes(a: &RgbaImage, b: &RgbaImage) -> usize {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .filter(|(x, y)| x != y)
        .count()
}

/// A headset's stereo pair drawn into the two layers of one texture gives exactly the images of
/// drawing each eye on its own, on both paths, whichever stereo mode the device gets (the raster
/// path's multiview pass where the device passes the multiview self-test).
#[test]
fn stereo_pair_matches_drawing_each_eye() {
    let gpu = gpu();
    let frame = random_frame(900, 2, 6);
    let left = camera(DVec3::new(0.3, -2.2, 0.4));
    let right = camera(DVec3::new(0.364, -2.2, 0.4));
    let params = RenderParams {
        k: 12,
        ..Default::default()
    };
    let multiview = multiview::works(&gpu);
    for (path, mode) in [
        (
            RenderPath::Raster,
            if multiview {
                StereoMode::Multiview
            } else {
                StereoMode::PerView
            },
        ),
        (RenderPath::Compute, StereoMode::PerView),
    ] {
        let mut renderer = new_renderer(&gpu, path);
        assert_eq!(
            renderer.stereo_mode(&gpu),
            mode,
            "{path} on {}",
            gpu.describe()
        );
        let stereo = render_pair(&gpu, renderer.as_mut(), &frame, [&left, &right], &params);
        let each = render(&gpu, path, &frame, &[left.clone(), right.clone()], 12);
        for eye in 0..2 {
            let n = differing_bytes(&stereo[eye], &each[eye]);
            assert_eq!(n, 0, "{path} ({mode}): eye {eye} differs in {n} bytes");
        }
        assert_ne!(
            stereo[0], stereo[1],
            "{path}: both eyes show the same image"
        );
    }
}

/// The multiview self-test predicts what the raster path's multiview pass draws on this device:
/// where it passes, the forced multiview pair equals each eye drawn on its own; where it fails
/// (Mesa 22's lavapipe, in CI), the forced pair is wrong, so falling back was needed.
#[test]
fn multiview_self_test_predicts_the_multiview_pass() {
    let gpu = gpu();
    if !multiview::advertised(&gpu) {
        eprintln!("{} has no multiview: nothing to compare", gpu.describe());
        return;
    }
    let frame = random_frame(900, 2, 7);
    let left = camera(DVec3::new(-0.1, -2.3, 0.5));
    let right = camera(DVec3::new(-0.036, -2.3, 0.5));
    let params = RenderParams {
        k: 8,
        ..Default::default()
    };
    let mut forced = RasterRenderer::with_multiview(&gpu, true);
    assert_eq!(forced.stereo_mode(&gpu), StereoMode::Multiview);
    let stereo = render_pair(&gpu, &mut forced, &frame, [&left, &right], &params);
    let each = render(&gpu, RenderPath::Raster, &frame, &[left, right], 8);
    let differing: Vec<usize> = (0..2)
        .map(|e| differing_bytes(&stereo[e], &each[e]))
        .collect();
    let works = multiview::works(&gpu);
    eprintln!(
        "{}: multiview self-test {}, forced multiview pair differs from per-eye renders in {:?} bytes",
        gpu.describe(),
        if works { "passed" } else { "failed" },
        differing
    );
    if works {
        assert_eq!(
            differing,
            [0, 0],
            "the self-test passed but multiview draws wrong images"
        );
    } else {
        assert_ne!(
            differing,
            [0, 0],
            "the self-test failed but multiview draws right images"
        );
    }
    let per_view = RasterRenderer::with_multiview(&gpu, false);
    assert_eq!(per_view.stereo_mode(&gpu), StereoMode::PerView);
}

#[test]
fn background_fills_uncovered_pixels() {
    let gpu = gpu();
    let frame = random_frame(5, 0, 5);
    let cam = camera(DVec3::new(0.3, -2.2, 0.4));
    let gpu_frame = GpuFrame::new(&gpu.device, &gpu.queue, &frame).unwrap();
    let target = OffscreenTarget::new(&gpu, (70, 45));
    let params = RenderParams {
        k: 15,
        background: [0.0, 1.0, 0.0, 1.0],
    };
    let view = ViewTarget {
        camera: &cam,
        target: &target.view,
        format: OFFSCREEN_FORMAT,
        size: (70, 45),
    };
    for path in [RenderPath::Raster, RenderPath::Compute] {
        new_renderer(&gpu, path)
            .render(&gpu, &gpu_frame, &[view], &params, None)
            .unwrap();
        let img = target.read(&gpu).unwrap();
        assert_eq!(img.get_pixel(0, 0).0, [0, 255, 0, 255], "{path}");
    }
}

#[test]
fn mismatched_target_size_is_an_error() {
    let gpu = gpu();
    let frame = GpuFrame::new(&gpu.device, &gpu.queue, &random_frame(10, 0, 6)).unwrap();
    let cam = camera(DVec3::new(0.3, -2.2, 0.4));
    let target = OffscreenTarget::new(&gpu, (32, 32));
    let view = ViewTarget {
        camera: &cam,
        target: &target.view,
        format: OFFSCREEN_FORMAT,
        size: (32, 32),
    };
    let err = new_renderer(&gpu, RenderPath::Raster).render(
        &gpu,
        &frame,
        &[view],
        &RenderParams::default(),
        None,
    );
    assert!(matches!(err, Err(RenderError::Size { .. })), "{err:?}");
    let bad_k = RenderParams {
        k: 0,
        ..Default::default()
    };
    let view = ViewTarget {
        size: (70, 45),
        ..view
    };
    assert!(matches!(
        new_renderer(&gpu, RenderPath::Compute).render(&gpu, &frame, &[view], &bad_k, None),
        Err(RenderError::K(0))
    ));
}
