//! Connected parts of the visual hull and how well the rig sees each one. On a sparse rig the
//! silhouettes also intersect away from the subject (in a camera's silhouette cone where few other
//! cameras look): such a phantom part is seen by fewer cameras than the subject's parts are, and is
//! dropped.

use std::collections::VecDeque;

use rayon::prelude::*;

use super::classify::View;
use super::volume::VoxelVolume;

/// Voxels of a part whose camera counts are looked at (a deterministic spread over the part).
const SAMPLES_PER_PART: usize = 512;

/// What [`drop_poorly_seen_parts`] found and removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PartStats {
    /// Connected parts (26-neighbourhood) of the hull.
    pub parts: usize,
    /// Parts removed.
    pub dropped_parts: usize,
    /// Voxels removed with them.
    pub dropped_voxels: usize,
    /// Most cameras that see a voxel of the best-seen part.
    pub best_seen: usize,
}

/// One connected part found by the flood fill.
struct Part {
    /// A voxel of the part, where a second fill can start.
    seed: usize,
    /// Inside voxels of the part.
    voxels: usize,
    /// Voxel indices spread over the part.
    samples: Vec<usize>,
}

/// Removes every connected part of `volume` none of whose voxels is seen by at least
/// `min_fraction` of the cameras that see the best-seen part's best voxel (a camera sees a point
/// that projects into its image in front of it). `min_fraction` 0 keeps every part.
pub fn drop_poorly_seen_parts(
    volume: &mut VoxelVolume,
    views: &[View],
    min_fraction: f64,
) -> PartStats {
    let parts = connected_parts(volume);
    let best: Vec<usize> = parts
        .par_iter()
        .map(|part| {
            part.samples
                .iter()
                .map(|&i| {
                    let p = volume.centre_of_index(i);
                    views.iter().filter(|v| v.sees(p)).count()
                })
                .max()
                .unwrap_or(0)
        })
        .collect();
    let best_seen = best.iter().copied().max().unwrap_or(0);
    let needed = (min_fraction * best_seen as f64 - 1e-9).ceil().max(0.0) as usize;
    let mut stats = PartStats {
        parts: parts.len(),
        best_seen,
        ..PartStats::default()
    };
    for (part, seen) in parts.iter().zip(&best) {
        if *seen < needed {
            clear_part(volume, part.seed);
            stats.dropped_parts += 1;
            stats.dropped_voxels += part.voxels;
        }
    }
    stats
}

/// The 26-connected parts of the inside voxels, each with an even spread of sample voxels.
fn connected_parts(volume: &VoxelVolume) -> Vec<Part> {
    let total: usize = volume.dims().iter().product();
    let mut visited = vec![0u64; total.div_ceil(64)];
    let mut parts = Vec::new();
    let mut queue = VecDeque::new();
    for start in volume.inside_indices() {
        if visited[start / 64] >> (start % 64) & 1 != 0 {
            continue;
        }
        visited[start / 64] |= 1 << (start % 64);
        queue.push_back(start);
        let mut part = Part {
            seed: start,
            voxels: 0,
            samples: Vec::new(),
        };
        // Every `stride`-th voxel in fill order; the stride doubles (and every other sample goes)
        // whenever the samples fill up, so a part of any size keeps an even spread.
        let mut stride = 1;
        while let Some(i) = queue.pop_front() {
            if part.voxels.is_multiple_of(stride) {
                part.samples.push(i);
                if part.samples.len() == 2 * SAMPLES_PER_PART {
                    let kept: Vec<usize> = part.samples.iter().copied().step_by(2).collect();
                    part.samples = kept;
                    stride *= 2;
                }
            }
            part.voxels += 1;
            volume.for_each_inside_neighbour(i, |j| {
                if visited[j / 64] >> (j % 64) & 1 == 0 {
                    visited[j / 64] |= 1 << (j % 64);
                    queue.push_back(j);
                }
            });
        }
        parts.push(part);
    }
    parts
}

/// Clears the connected part that holds voxel `seed`.
fn clear_part(volume: &mut VoxelVolume, seed: usize) {
    let mut queue = VecDeque::from([seed]);
    volume.clear_index(seed);
    while let Some(i) = queue.pop_front() {
        let start = queue.len();
        volume.for_each_inside_neighbour(i, |j| queue.push_back(j));
        for &j in queue.range(start..) {
            volume.clear_index(j);
        }
    }
}
