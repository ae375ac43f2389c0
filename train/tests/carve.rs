//! Space carving against an analytic scene: a capsule "body" with a sphere "head", seen by a ring
//! of 12 cameras (some with lens distortion) whose masks are ray-cast from the shape.

use glam::DVec3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use yakumo_core::{Camera, Distortion};
use yakumo_train::carve::knn::PointGrid;
use yakumo_train::carve::{
    Aabb, CarveError, CarveSettings, Mask, Rule, View, carve_frame, carve_hull,
};

/// Voxel edge used throughout (metres).
const VOXEL: f64 = 0.01;

/// Signed distance to the scene (negative inside).
fn sdf(p: DVec3) -> f64 {
    let (a, b, r) = (
        DVec3::new(0.0, 0.0, 0.35),
        DVec3::new(0.02, 0.0, 0.85),
        0.16,
    );
    let t = ((p - a).dot(b - a) / (b - a).length_squared()).clamp(0.0, 1.0);
    let capsule = (p - (a + t * (b - a))).length() - r;
    let head = (p - DVec3::new(0.03, 0.01, 1.13)).length() - 0.11;
    capsule.min(head)
}

/// Uniform-ish points on the scene's surface: points of each primitive's surface that lie on the
/// union's surface.
fn true_surface(n: usize) -> Vec<DVec3> {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut out = Vec::new();
    while out.len() < n {
        // Random direction, pushed onto the surface by projecting along the sdf gradient.
        let dir = loop {
            let d = DVec3::new(
                rng.random_range(-1.0..1.0),
                rng.random_range(-1.0..1.0),
                rng.random_range(-1.0..1.0),
            );
            if d.length() > 0.1 && d.length() <= 1.0 {
                break d.normalize();
            }
        };
        let start = DVec3::new(0.0, 0.0, rng.random_range(0.15..1.3));
        let mut p = start + dir * 0.3;
        for _ in 0..60 {
            let h = 1e-6;
            let g = DVec3::new(
                sdf(p + DVec3::X * h) - sdf(p - DVec3::X * h),
                sdf(p + DVec3::Y * h) - sdf(p - DVec3::Y * h),
                sdf(p + DVec3::Z * h) - sdf(p - DVec3::Z * h),
            ) / (2.0 * h);
            p -= g.normalize_or_zero() * sdf(p);
        }
        if sdf(p).abs() < 1e-7 {
            out.push(p);
        }
    }
    out
}

/// Twelve cameras on a ring of radius 2 m, alternating in height, half of them distorted.
fn rig() -> Vec<Camera> {
    let target = DVec3::new(0.0, 0.0, 0.75);
    (0..12)
        .map(|i| {
            let a = i as f64 * std::f64::consts::TAU / 12.0;
            let h = if i % 2 == 0 { 1.4 } else { 0.4 };
            let eye = DVec3::new(2.0 * a.cos(), 2.0 * a.sin(), h);
            let mut c = Camera::look_at(
                format!("{i:02}"),
                (240, 320),
                (250.0, 250.0),
                (119.5, 159.5),
                eye,
                target,
                DVec3::Z,
            );
            if i % 2 == 1 {
                c.dist = Distortion {
                    k1: -0.08,
                    k2: 0.01,
                    p1: 0.0005,
                    p2: -0.0003,
                    k3: 0.0,
                };
            }
            c
        })
        .collect()
}

/// Ray-casts the scene into a mask for `cam` (sphere tracing through each pixel centre).
fn render_mask(cam: &Camera) -> Mask {
    let origin = cam.centre();
    Mask::from_fn(cam.width, cam.height, |x, y| {
        let dir = cam.pixel_ray(glam::DVec2::new(x as f64, y as f64));
        let mut t = 0.0;
        for _ in 0..200 {
            let d = sdf(origin + dir * t);
            if d < 1e-5 {
                return true;
            }
            t += d;
            if t > 5.0 {
                break;
            }
        }
        false
    })
}

/// `mask` with `flips` random pixels inverted (holes in the subject, specks in the background).
fn corrupt(mask: &Mask, flips: usize, seed: u64) -> Mask {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (w, h) = (mask.width(), mask.height());
    let flipped: std::collections::HashSet<(u32, u32)> = (0..flips)
        .map(|_| (rng.random_range(0..w), rng.random_range(0..h)))
        .collect();
    Mask::from_fn(w, h, |x, y| {
        mask.get(x as i64, y as i64) ^ flipped.contains(&(x, y))
    })
}

fn views(flips: usize) -> Vec<View> {
    rig()
        .into_iter()
        .enumerate()
        .map(|(i, camera)| {
            let clean = render_mask(&camera);
            let mask = if flips > 0 {
                corrupt(&clean, flips, i as u64)
            } else {
                clean
            };
            View { camera, mask }
        })
        .collect()
}

fn settings(tolerance: usize) -> CarveSettings {
    let mut s = CarveSettings::for_camera_count(12);
    s.voxel = VOXEL;
    s.points = 60_000;
    s.rule.tolerance = tolerance;
    s
}

/// Largest distance from a true surface point to the carved cloud.
fn worst_coverage_gap(points: &[DVec3], truth: &[DVec3]) -> f64 {
    let grid = PointGrid::new(points, 2.0 * VOXEL);
    truth
        .iter()
        .map(|p| {
            grid.nearest(*p, 20.0 * VOXEL)
                .map_or(f64::INFINITY, |(_, d)| d)
        })
        .fold(0.0, f64::max)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Voxels whose centre lies more than a voxel inside the shape but which the hull left out.
fn interior_voxels_cut(views: &[View], rule: &Rule) -> usize {
    let bounds = Aabb {
        min: DVec3::new(-0.5, -0.5, 0.0),
        max: DVec3::new(0.5, 0.5, 1.5),
    };
    let mut hull = carve_hull(views, &bounds, VOXEL, rule, &mut |_, _| {}).unwrap();
    hull.volume.fill_cavities();
    let v = &hull.volume;
    let [dx, dy, dz] = v.dims();
    let mut cut = 0;
    for z in 0..dz {
        for y in 0..dy {
            for x in 0..dx {
                if sdf(v.centre(x, y, z)) < -VOXEL && !v.get(x as i64, y as i64, z as i64) {
                    cut += 1;
                }
            }
        }
    }
    cut
}

#[test]
fn carving_recovers_the_analytic_surface() {
    let views = views(0);
    let carved = carve_frame(&views, &settings(1), &mut |_, _| {}).unwrap();
    assert_eq!(carved.points.len(), 60_000);
    let chamfer = median(carved.points.iter().map(|p| sdf(*p).abs()).collect());
    let truth = true_surface(20_000);
    let gap = worst_coverage_gap(&carved.points, &truth);
    eprintln!(
        "clean: median carved→true {:.2} voxels, worst true→carved {:.2} voxels",
        chamfer / VOXEL,
        gap / VOXEL
    );
    assert!(chamfer < 1.5 * VOXEL, "median Chamfer {chamfer}");
    assert!(
        gap < 3.0 * VOXEL,
        "a true surface point is {gap} m from the carved cloud"
    );
    // The carved bounds hug the shape (it spans z 0.19..1.24, |x|,|y| <= 0.18).
    assert!(
        (carved.bounds.min.z - 0.19).abs() < 3.0 * VOXEL,
        "{:?}",
        carved.bounds
    );
    assert!(
        (carved.bounds.max.z - 1.24).abs() < 3.0 * VOXEL,
        "{:?}",
        carved.bounds
    );
}

#[test]
fn tolerance_keeps_noisy_masks_from_cutting_the_subject() {
    let views = views(300);
    let carved = carve_frame(&views, &settings(1), &mut |_, _| {}).unwrap();
    let truth = true_surface(20_000);
    let gap = worst_coverage_gap(&carved.points, &truth);
    let chamfer = median(carved.points.iter().map(|p| sdf(*p).abs()).collect());
    eprintln!(
        "noisy: median carved→true {:.2} voxels, worst true→carved {:.2} voxels",
        chamfer / VOXEL,
        gap / VOXEL
    );
    assert!(
        gap < 3.0 * VOXEL,
        "a true surface point is {gap} m from the carved cloud"
    );
    assert!(chamfer < 1.5 * VOXEL, "median Chamfer {chamfer}");

    let tolerant = settings(1).rule;
    let strict = Rule {
        tolerance: 0,
        ..tolerant
    };
    let cut_tolerant = interior_voxels_cut(&views, &tolerant);
    let cut_strict = interior_voxels_cut(&views, &strict);
    eprintln!("interior voxels cut: tolerance 1 → {cut_tolerant}, tolerance 0 → {cut_strict}");
    assert_eq!(cut_tolerant, 0);
    assert!(
        cut_strict > 100,
        "tolerance 0 should tunnel through the subject at mask holes"
    );
}

#[test]
fn too_few_cameras_is_an_error() {
    let views: Vec<View> = views(0).into_iter().take(2).collect();
    let err = carve_frame(&views, &settings(1), &mut |_, _| {}).unwrap_err();
    assert!(
        matches!(
            err,
            CarveError::TooFewCameras {
                found: 2,
                needed: 3
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("2 cameras found"), "{err}");
}

#[test]
fn empty_masks_are_an_error() {
    let views: Vec<View> = rig()
        .into_iter()
        .map(|camera| {
            let mask = Mask::from_fn(camera.width, camera.height, |_, _| false);
            View { camera, mask }
        })
        .collect();
    let err = carve_frame(&views, &settings(1), &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, CarveError::EmptyHull), "{err}");
}
