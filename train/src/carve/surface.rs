//! From the carved volume to surface points: boundary faces, statistical outlier removal on the
//! faces, and uniform sampling of a fixed number of points on the kept faces.

use glam::DVec3;
use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::knn::PointGrid;
use super::volume::{Face, VoxelVolume};

/// Statistical outlier removal: neighbours per element and the cut-off in standard deviations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutlierFilter {
    /// Neighbours whose mean distance characterises an element.
    pub neighbours: usize,
    /// Elements whose mean neighbour distance exceeds mean + `std_ratio` · std are dropped.
    pub std_ratio: f64,
}

impl Default for OutlierFilter {
    fn default() -> Self {
        OutlierFilter {
            neighbours: 16,
            std_ratio: 3.0,
        }
    }
}

/// Keeps the faces whose centres are not statistical outliers among all face centres.
/// Neighbours are searched within 4 voxels; missing neighbours count as 4 voxels away.
pub fn drop_outlier_faces(
    volume: &VoxelVolume,
    faces: &[Face],
    filter: &OutlierFilter,
) -> Vec<Face> {
    if faces.len() <= filter.neighbours {
        return faces.to_vec();
    }
    let centres: Vec<DVec3> = faces.iter().map(|f| volume.face_centre(f)).collect();
    let radius = 4.0 * volume.voxel();
    let grid = PointGrid::new(&centres, radius);
    let mean: Vec<f64> = (0..centres.len())
        .into_par_iter()
        .map(|i| grid.mean_knn_distance(i, filter.neighbours, radius))
        .collect();
    let n = mean.len() as f64;
    let mu = mean.iter().sum::<f64>() / n;
    let sigma = (mean.iter().map(|d| (d - mu) * (d - mu)).sum::<f64>() / n).sqrt();
    let cut = mu + filter.std_ratio * sigma;
    faces
        .iter()
        .zip(&mean)
        .filter(|(_, d)| **d <= cut)
        .map(|(f, _)| *f)
        .collect()
}

/// Samples `count` points uniformly on `faces` (each face gets ⌊count / faces⌋ or one more
/// point, at uniformly random positions on the face), deterministically from `seed`.
pub fn sample_faces(volume: &VoxelVolume, faces: &[Face], count: usize, seed: u64) -> Vec<DVec3> {
    if faces.is_empty() || count == 0 {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let per_face = count / faces.len();
    let extra = count % faces.len();
    let mut points = Vec::with_capacity(count);
    let sample_on = |face: &Face, rng: &mut ChaCha8Rng, points: &mut Vec<DVec3>| {
        let a = face.axis as usize;
        let (u, v) = ((a + 1) % 3, (a + 2) % 3);
        let mut p = volume.face_centre(face);
        p[u] += (rng.random::<f64>() - 0.5) * volume.voxel();
        p[v] += (rng.random::<f64>() - 0.5) * volume.voxel();
        points.push(p);
    };
    for face in faces {
        for _ in 0..per_face {
            sample_on(face, &mut rng, &mut points);
        }
    }
    let mut chosen = index::sample(&mut rng, faces.len(), extra).into_vec();
    chosen.sort_unstable();
    for i in chosen {
        sample_on(&faces[i], &mut rng, &mut points);
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ball_with_speck() -> VoxelVolume {
        let mut v = VoxelVolume::new(DVec3::ZERO, 0.01, [40, 40, 40]);
        for z in 0..40 {
            for y in 0..40 {
                for x in 0..30 {
                    let c = DVec3::new(x as f64, y as f64, z as f64) - 15.0;
                    if c.length() < 10.0 {
                        v.set(x, y, z);
                    }
                }
            }
        }
        v.set(36, 36, 36); // a lone voxel far from the ball
        v
    }

    #[test]
    fn lone_voxel_is_an_outlier() {
        let v = ball_with_speck();
        let faces = v.boundary_faces();
        let kept = drop_outlier_faces(&v, &faces, &OutlierFilter::default());
        assert_eq!(
            faces.len() - kept.len(),
            6,
            "exactly the speck's faces are dropped"
        );
        assert!(kept.iter().all(|f| f.voxel != [36, 36, 36]));
    }

    #[test]
    fn samples_lie_on_their_faces() {
        let v = ball_with_speck();
        let faces = v.boundary_faces();
        for count in [faces.len() / 3, 2 * faces.len() + 17] {
            let pts = sample_faces(&v, &faces, count, 7);
            assert_eq!(pts.len(), count);
            for p in &pts {
                // On a face: one coordinate sits on a voxel boundary.
                let g = (*p - v.origin()) / v.voxel();
                let on_plane = g.to_array().iter().any(|c| (c - c.round()).abs() < 1e-9);
                assert!(on_plane, "{p} is not on a voxel face");
            }
            assert_eq!(pts, sample_faces(&v, &faces, count, 7), "deterministic");
        }
    }
}
