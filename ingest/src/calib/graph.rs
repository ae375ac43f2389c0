//! The camera graph: cameras are nodes, simultaneous board views are edges. Initial camera poses
//! come from relative poses chained along a maximum spanning tree.

use std::collections::{BTreeMap, HashMap};

use glam::DVec3;

use super::pose::{Pose, mean_rotation, rotation_angle};

/// Board→camera poses keyed by frame, for each camera.
pub type PosesByFrame = Vec<HashMap<usize, Pose>>;

/// Result of placing the cameras: world→camera poses (world = the root camera's frame) for the
/// cameras connected to the root, `None` for the others.
pub fn initial_camera_poses(poses: &PosesByFrame, root: usize) -> Vec<Option<Pose>> {
    let n = poses.len();
    let shared = |a: usize, b: usize| -> Vec<usize> {
        let mut f: Vec<usize> = poses[a]
            .keys()
            .filter(|k| poses[b].contains_key(k))
            .copied()
            .collect();
        f.sort_unstable();
        f
    };
    let mut weight = vec![vec![0usize; n]; n];
    for a in 0..n {
        for b in a + 1..n {
            let w = shared(a, b).len();
            weight[a][b] = w;
            weight[b][a] = w;
        }
    }
    // Prim's algorithm for the maximum spanning tree from the root.
    let mut placed: Vec<Option<Pose>> = vec![None; n];
    placed[root] = Some(Pose::IDENTITY);
    loop {
        let mut best: Option<(usize, usize, usize)> = None; // (weight, parent, child)
        for p in (0..n).filter(|&p| placed[p].is_some()) {
            for c in (0..n).filter(|&c| placed[c].is_none()) {
                let w = weight[p][c];
                if w > 0 && best.is_none_or(|(bw, _, _)| w > bw) {
                    best = Some((w, p, c));
                }
            }
        }
        let Some((_, p, c)) = best else { break };
        let rel = relative_pose(poses, p, c, &shared(p, c));
        placed[c] = Some(rel.compose(&placed[p].expect("parent is placed")));
    }
    placed
}

/// Robust average of `T_c,f ∘ T_p,f⁻¹` (parent camera → child camera) over shared frames: the
/// chordal mean, then again without candidates far from it.
fn relative_pose(poses: &PosesByFrame, p: usize, c: usize, frames: &[usize]) -> Pose {
    let candidates: Vec<Pose> = frames
        .iter()
        .map(|f| poses[c][f].compose(&poses[p][f].inverse()))
        .collect();
    let mean = |set: &[&Pose]| Pose {
        r: mean_rotation(set.iter().map(|q| q.r)),
        t: set.iter().map(|q| q.t).sum::<DVec3>() / set.len() as f64,
    };
    let all: Vec<&Pose> = candidates.iter().collect();
    let first = mean(&all);
    let mut dev: Vec<f64> = candidates.iter().map(|q| deviation(q, &first)).collect();
    let mut sorted = dev.clone();
    sorted.sort_by(f64::total_cmp);
    let limit = 3.0 * sorted[sorted.len() / 2] + 1e-9;
    let inliers: Vec<&Pose> = candidates
        .iter()
        .zip(dev.iter_mut())
        .filter(|(_, d)| **d <= limit)
        .map(|(q, _)| q)
        .collect();
    if inliers.is_empty() {
        first
    } else {
        mean(&inliers)
    }
}

/// A combined rotation (radians) + translation (metres) distance between two poses.
fn deviation(a: &Pose, b: &Pose) -> f64 {
    rotation_angle(a.r, b.r) + (a.t - b.t).length()
}

/// Board→world pose per frame from the placed cameras: for each frame the view with the most
/// corners decides. Frames seen by no placed camera are absent.
pub fn initial_board_poses(
    poses: &PosesByFrame,
    corner_counts: &[HashMap<usize, usize>],
    cameras: &[Option<Pose>],
) -> BTreeMap<usize, Pose> {
    let mut best: BTreeMap<usize, (usize, Pose)> = BTreeMap::new();
    for (c, per_frame) in poses.iter().enumerate() {
        let Some(cam) = cameras[c] else { continue };
        for (f, board_to_cam) in per_frame {
            let n = corner_counts[c].get(f).copied().unwrap_or(0);
            if best.get(f).is_none_or(|(m, _)| n > *m) {
                best.insert(*f, (n, cam.inverse().compose(board_to_cam)));
            }
        }
    }
    best.into_iter().map(|(f, (_, p))| (f, p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use yakumo_core::camera::rodrigues_to_rotation;

    #[test]
    fn chains_relative_poses_and_leaves_disconnected_cameras() {
        let cams = [
            Pose::IDENTITY,
            Pose {
                r: rodrigues_to_rotation(DVec3::new(0.0, 0.5, 0.0)),
                t: DVec3::new(0.3, 0.0, 0.1),
            },
            Pose {
                r: rodrigues_to_rotation(DVec3::new(0.1, 1.0, 0.0)),
                t: DVec3::new(0.6, 0.1, 0.3),
            },
            Pose {
                r: rodrigues_to_rotation(DVec3::new(0.0, 2.0, 0.0)),
                t: DVec3::new(1.0, 0.0, 1.0),
            },
        ];
        let board = |f: usize| Pose {
            r: rodrigues_to_rotation(DVec3::new(0.1 * f as f64, 0.2, 0.0)),
            t: DVec3::new(0.0, 0.1, 2.0),
        };
        // Camera 0 and 1 share frames 0..3, cameras 1 and 2 share 3..5, camera 3 sees 9 alone.
        let sees = [vec![0, 1, 2], vec![0, 1, 2, 3, 4], vec![3, 4], vec![9]];
        let poses: PosesByFrame = sees
            .iter()
            .enumerate()
            .map(|(c, frames)| {
                frames
                    .iter()
                    .map(|&f| (f, cams[c].compose(&board(f))))
                    .collect()
            })
            .collect();
        let placed = initial_camera_poses(&poses, 0);
        for c in 0..3 {
            let p = placed[c].unwrap();
            assert!(
                rotation_angle(p.r, cams[c].r) < 1e-9 && (p.t - cams[c].t).length() < 1e-9,
                "camera {c}"
            );
        }
        assert!(placed[3].is_none());
        let counts: Vec<HashMap<usize, usize>> = sees
            .iter()
            .map(|f| f.iter().map(|&f| (f, 10)).collect())
            .collect();
        let boards = initial_board_poses(&poses, &counts, &placed);
        assert_eq!(
            boards.keys().copied().collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert!((boards[&4].t - board(4).t).length() < 1e-9);
    }
}
