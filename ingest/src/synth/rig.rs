//! The virtual camera rig: N cameras on a ring around the subject at alternating heights (a
//! low dome), all looking at the subject's centre with a ~50° horizontal field of view, with
//! optional per-camera lens distortion drawn from the seed.

use glam::DVec3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::TAU;
use yakumo_core::{Camera, Distortion};

/// Radius of the camera ring in metres.
pub const RING_RADIUS: f64 = 3.0;
/// Camera heights in metres, cycled around the ring.
const HEIGHTS: [f64; 3] = [1.1, 1.9, 0.6];
/// The point every camera looks at (the subject's centre).
pub const LOOK_TARGET: DVec3 = DVec3::new(0.0, 0.0, 0.9);
/// Horizontal field of view in degrees.
pub const HFOV_DEG: f64 = 50.0;

/// Camera name for index `i` (zero-padded so names sort in index order).
pub fn camera_name(i: usize) -> String {
    format!("{i:02}")
}

/// The rig's cameras for `count` cameras of `width × height` pixels. With `distortion`, each
/// camera gets a plausible lens (k1 in −0.1..0.05, small k2, p1, p2) drawn from `seed`.
pub fn cameras(
    count: usize,
    (width, height): (u32, u32),
    seed: u64,
    distortion: bool,
) -> Vec<Camera> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0CA3_E7A5);
    let f = (width as f64 / 2.0) / (HFOV_DEG.to_radians() / 2.0).tan();
    let (cx, cy) = ((width as f64 - 1.0) / 2.0, (height as f64 - 1.0) / 2.0);
    (0..count)
        .map(|i| {
            let azimuth = TAU * i as f64 / count as f64 + rng.random_range(-0.05..0.05);
            let radius = RING_RADIUS + rng.random_range(-0.1..0.1);
            let eye = DVec3::new(
                radius * azimuth.cos(),
                radius * azimuth.sin(),
                HEIGHTS[i % HEIGHTS.len()],
            );
            // Small focal and principal-point differences, as between real units of one model.
            let fx = f * rng.random_range(0.98..1.02);
            let fy = fx * rng.random_range(0.998..1.002);
            let (dcx, dcy) = (rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0));
            let scale = width as f64 / 640.0;
            let mut cam = Camera::look_at(
                camera_name(i),
                (width, height),
                (fx, fy),
                (cx + dcx * scale, cy + dcy * scale),
                eye,
                LOOK_TARGET,
                DVec3::Z,
            );
            let lens = Distortion {
                k1: rng.random_range(-0.1..0.05),
                k2: rng.random_range(-0.02..0.02),
                p1: rng.random_range(-0.001..0.001),
                p2: rng.random_range(-0.001..0.001),
                k3: 0.0,
            };
            if distortion {
                cam.dist = lens;
            }
            cam
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_camera_sees_the_whole_subject() {
        for cam in cameras(8, (640, 480), 4, true) {
            for z in [0.0, 0.9, 1.75] {
                let px = cam.project(DVec3::new(0.0, 0.0, z)).expect("in front");
                assert!(cam.in_image(px), "{} misses z={z}: {px}", cam.name);
            }
            assert!((cam.centre().truncate().length() - RING_RADIUS).abs() < 0.11);
        }
    }

    #[test]
    fn distortion_only_when_asked_and_deterministic() {
        let plain = cameras(4, (96, 72), 1, false);
        assert!(plain.iter().all(|c| c.dist.is_none()));
        let a = cameras(4, (96, 72), 1, true);
        assert_eq!(a, cameras(4, (96, 72), 1, true));
        assert!(a.iter().all(|c| (-0.1..0.05).contains(&c.dist.k1)));
        // Same geometry with and without distortion.
        assert_eq!(a[2].k, plain[2].k);
        assert_eq!(a[2].r, plain[2].r);
    }
}
