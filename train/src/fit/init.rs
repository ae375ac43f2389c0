//! Initial points: carved point clouds (`POINTS_DIR/<frame:06>.ply`, carved on the fly when
//! missing), resampled to one point count for all frames, and the scene measures the model spec
//! derives from them (bounds, point spacing).

use std::path::Path;

use anyhow::Context;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use yakumo_core::ply::{read_ply, write_ply};

use crate::carve::command::points_path;
use crate::carve::dataset::load_views;
use crate::carve::{CarveSettings, HullDevice, carve_frame};
use crate::data::TrainDataset;

/// How to carve frames that have no point file yet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CarveChoice {
    /// Voxel edge (metres).
    pub voxel: f64,
    /// Points sampled per frame.
    pub points: usize,
    /// Where the hull's cell tests run.
    pub device: HullDevice,
}

/// Loads `dir/<frame:06>.ply` for every selected frame, carving (and writing) missing ones.
pub fn load_or_carve(
    data: &TrainDataset,
    dir: &Path,
    carve: CarveChoice,
) -> anyhow::Result<Vec<Vec<[f32; 3]>>> {
    let mut settings = CarveSettings::for_camera_count(data.cameras().len());
    settings.voxel = carve.voxel;
    settings.points = carve.points;
    settings.device = carve.device;
    let mut out = Vec::with_capacity(data.frames.len());
    for &frame in &data.frames {
        let path = points_path(dir, frame);
        if !path.is_file() {
            let views = load_views(&data.dataset, frame)
                .with_context(|| format!("carving frame {frame}"))?;
            settings.seed = u64::from(frame);
            let carved = carve_frame(&views, &settings, &mut |_, _| {})
                .with_context(|| format!("carving frame {frame}"))?;
            write_ply(&path, &carved.point_cloud())?;
        }
        let cloud = read_ply(&path)?;
        if cloud.positions.is_empty() {
            anyhow::bail!(
                "{} holds no points: the masks of frame {frame} carve an empty hull",
                path.display()
            );
        }
        out.push(cloud.positions);
    }
    Ok(out)
}

/// Resamples every frame to exactly `n` points: a random subset when there are more, random
/// repeats jittered by `jitter` metres when there are fewer.
pub fn resample(
    frames: Vec<Vec<[f32; 3]>>,
    n: usize,
    jitter: f32,
    seed: u64,
) -> Vec<Vec<[f32; 3]>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    frames
        .into_iter()
        .map(|mut pts| {
            if pts.len() >= n {
                pts.shuffle(&mut rng);
                pts.truncate(n);
            } else {
                let m = pts.len();
                while pts.len() < n {
                    let p = pts[rng.random_range(0..m)];
                    pts.push(p.map(|v| v + rng.random_range(-jitter..=jitter)));
                }
            }
            pts
        })
        .collect()
}

/// Bounding box of all frames' points, padded by 5 % of its extent on every side.
pub fn padded_bounds(frames: &[Vec<[f32; 3]>]) -> ([f32; 3], [f32; 3]) {
    let mut min = [f32::INFINITY; 3];
    let mut max = [f32::NEG_INFINITY; 3];
    for p in frames.iter().flatten() {
        for i in 0..3 {
            min[i] = min[i].min(p[i]);
            max[i] = max[i].max(p[i]);
        }
    }
    let pad: Vec<f32> = (0..3).map(|i| 0.05 * (max[i] - min[i]).max(1e-3)).collect();
    (
        [min[0] - pad[0], min[1] - pad[1], min[2] - pad[2]],
        [max[0] + pad[0], max[1] + pad[1], max[2] + pad[2]],
    )
}

/// Mean distance from (up to 512 sampled) points to their nearest neighbour.
pub fn mean_spacing(points: &[[f32; 3]]) -> f32 {
    if points.len() < 2 {
        return 0.01;
    }
    let step = (points.len() / 512).max(1);
    let mut sum = 0.0f64;
    let mut count = 0usize;
    for (i, p) in points.iter().enumerate().step_by(step) {
        let best = points
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, q)| (0..3).map(|k| (p[k] - q[k]).powi(2)).sum::<f32>())
            .fold(f32::INFINITY, f32::min);
        sum += best.sqrt() as f64;
        count += 1;
    }
    (sum / count as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_and_measures() {
        let grid: Vec<[f32; 3]> = (0..100)
            .map(|i| [(i % 10) as f32 * 0.1, (i / 10) as f32 * 0.1, 0.0])
            .collect();
        assert!((mean_spacing(&grid) - 0.1).abs() < 1e-5);
        let out = resample(vec![grid.clone(), grid[..10].to_vec()], 50, 0.001, 1);
        assert_eq!(out[0].len(), 50);
        assert_eq!(out[1].len(), 50);
        assert!(out[0].iter().all(|p| grid.contains(p)));
        let (min, max) = padded_bounds(&[grid]);
        assert!((min[0] + 0.045).abs() < 1e-6 && (max[1] - 0.945).abs() < 1e-6);
    }
}
