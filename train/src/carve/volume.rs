//! A dense occupancy grid (one bit per voxel) over the carved region, with cavity filling and
//! extraction of the boundary faces between inside and outside voxels.

use std::collections::VecDeque;

use glam::DVec3;
use rayon::prelude::*;

/// One face between an inside voxel and an outside neighbour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Face {
    /// Index of the inside voxel.
    pub voxel: [u32; 3],
    /// Axis of the face normal (0 = x, 1 = y, 2 = z).
    pub axis: u8,
    /// Whether the outside neighbour lies in the positive direction of `axis`.
    pub positive: bool,
}

/// Dense voxel occupancy: voxel `(x, y, z)` spans `origin + [x, x+1) · voxel` (and so on).
#[derive(Clone, Debug)]
pub struct VoxelVolume {
    origin: DVec3,
    voxel: f64,
    dims: [usize; 3],
    bits: Vec<u64>,
}

impl VoxelVolume {
    /// An empty volume of `dims` voxels of edge `voxel` metres with its minimum corner at `origin`.
    pub fn new(origin: DVec3, voxel: f64, dims: [usize; 3]) -> VoxelVolume {
        let len = dims[0] * dims[1] * dims[2];
        VoxelVolume {
            origin,
            voxel,
            dims,
            bits: vec![0; len.div_ceil(64)],
        }
    }

    /// World position of the minimum corner of voxel `(0, 0, 0)`.
    pub fn origin(&self) -> DVec3 {
        self.origin
    }

    /// Voxel edge length in metres.
    pub fn voxel(&self) -> f64 {
        self.voxel
    }

    /// Number of voxels along x, y and z.
    pub fn dims(&self) -> [usize; 3] {
        self.dims
    }

    fn index(&self, x: usize, y: usize, z: usize) -> usize {
        x + self.dims[0] * (y + self.dims[1] * z)
    }

    /// Whether voxel `(x, y, z)` is inside; `false` outside the grid.
    pub fn get(&self, x: i64, y: i64, z: i64) -> bool {
        let [dx, dy, dz] = self.dims.map(|d| d as i64);
        if x < 0 || y < 0 || z < 0 || x >= dx || y >= dy || z >= dz {
            return false;
        }
        let i = self.index(x as usize, y as usize, z as usize);
        self.bits[i / 64] >> (i % 64) & 1 != 0
    }

    /// Marks voxel `(x, y, z)` inside (panics outside the grid).
    pub fn set(&mut self, x: usize, y: usize, z: usize) {
        let i = self.index(x, y, z);
        self.bits[i / 64] |= 1 << (i % 64);
    }

    /// Marks the box `min..max` (exclusive) inside.
    pub fn fill_box(&mut self, min: [usize; 3], max: [usize; 3]) {
        for z in min[2]..max[2] {
            for y in min[1]..max[1] {
                for x in min[0]..max[0] {
                    self.set(x, y, z);
                }
            }
        }
    }

    /// Number of inside voxels.
    pub fn count(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// World position of the centre of voxel `(x, y, z)`.
    pub fn centre(&self, x: usize, y: usize, z: usize) -> DVec3 {
        self.origin + (DVec3::new(x as f64, y as f64, z as f64) + 0.5) * self.voxel
    }

    /// The `(x, y, z)` of a linear voxel index (x fastest).
    fn coords(&self, i: usize) -> [usize; 3] {
        let [dx, dy, _] = self.dims;
        [i % dx, (i / dx) % dy, i / (dx * dy)]
    }

    /// World position of the centre of the voxel with linear index `i` (x fastest).
    pub fn centre_of_index(&self, i: usize) -> DVec3 {
        let [x, y, z] = self.coords(i);
        self.centre(x, y, z)
    }

    /// Linear indices (x fastest) of the inside voxels, in increasing order.
    pub fn inside_indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(w, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let bit = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    w * 64 + bit
                })
            })
        })
    }

    /// Calls `f` with the linear index of every inside voxel among the 26 neighbours of voxel `i`.
    pub fn for_each_inside_neighbour(&self, i: usize, mut f: impl FnMut(usize)) {
        let [x, y, z] = self.coords(i).map(|v| v as i64);
        for dz in -1..=1 {
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (nx, ny, nz) = (x + dx, y + dy, z + dz);
                    if (dx, dy, dz) != (0, 0, 0) && self.get(nx, ny, nz) {
                        f(self.index(nx as usize, ny as usize, nz as usize));
                    }
                }
            }
        }
    }

    /// The smallest box `[lo, hi)` of voxel coordinates holding every inside voxel (`None` when
    /// there is none).
    pub fn inside_box(&self) -> Option<([usize; 3], [usize; 3])> {
        self.inside_indices().fold(None, |acc, i| {
            let c = self.coords(i);
            let (lo, hi) = acc.unwrap_or((c, c.map(|v| v + 1)));
            Some((
                std::array::from_fn(|a| lo[a].min(c[a])),
                std::array::from_fn(|a| hi[a].max(c[a] + 1)),
            ))
        })
    }

    /// Marks the voxel with linear index `i` outside.
    pub fn clear_index(&mut self, i: usize) {
        self.bits[i / 64] &= !(1 << (i % 64));
    }

    /// Marks inside every outside voxel that is not connected (6-neighbourhood) to the grid's
    /// border, and returns how many there were. A silhouette hull has no such cavities (every
    /// carved voxel sees a camera along its ray), so they can only come from mask errors.
    pub fn fill_cavities(&mut self) -> usize {
        let [dx, dy, dz] = self.dims;
        let mut reached = vec![0u64; self.bits.len()];
        let mut queue = VecDeque::new();
        let visit = |vol: &VoxelVolume,
                     reached: &mut [u64],
                     q: &mut VecDeque<[usize; 3]>,
                     v: [usize; 3]| {
            let i = vol.index(v[0], v[1], v[2]);
            let outside = vol.bits[i / 64] >> (i % 64) & 1 == 0;
            if outside && reached[i / 64] >> (i % 64) & 1 == 0 {
                reached[i / 64] |= 1 << (i % 64);
                q.push_back(v);
            }
        };
        for z in 0..dz {
            for y in 0..dy {
                for x in 0..dx {
                    let border =
                        x == 0 || y == 0 || z == 0 || x + 1 == dx || y + 1 == dy || z + 1 == dz;
                    if border {
                        visit(self, &mut reached, &mut queue, [x, y, z]);
                    }
                }
            }
        }
        while let Some([x, y, z]) = queue.pop_front() {
            if x > 0 {
                visit(self, &mut reached, &mut queue, [x - 1, y, z]);
            }
            if y > 0 {
                visit(self, &mut reached, &mut queue, [x, y - 1, z]);
            }
            if z > 0 {
                visit(self, &mut reached, &mut queue, [x, y, z - 1]);
            }
            if x + 1 < dx {
                visit(self, &mut reached, &mut queue, [x + 1, y, z]);
            }
            if y + 1 < dy {
                visit(self, &mut reached, &mut queue, [x, y + 1, z]);
            }
            if z + 1 < dz {
                visit(self, &mut reached, &mut queue, [x, y, z + 1]);
            }
        }
        let total = dx * dy * dz;
        let mut filled = 0;
        for (w, (bits, reached)) in self.bits.iter_mut().zip(&reached).enumerate() {
            let valid = if (w + 1) * 64 <= total {
                u64::MAX
            } else {
                (1u64 << (total - w * 64)) - 1
            };
            let cavity = !*bits & !reached & valid;
            filled += cavity.count_ones() as usize;
            *bits |= cavity;
        }
        filled
    }

    /// Every face between an inside voxel and an outside neighbour (voxels beyond the grid count
    /// as outside), in a deterministic order.
    pub fn boundary_faces(&self) -> Vec<Face> {
        let [dx, dy, dz] = self.dims;
        (0..dz)
            .into_par_iter()
            .flat_map_iter(|z| {
                let mut faces = Vec::new();
                for y in 0..dy {
                    for x in 0..dx {
                        let (xi, yi, zi) = (x as i64, y as i64, z as i64);
                        if !self.get(xi, yi, zi) {
                            continue;
                        }
                        let neighbours = [
                            (0u8, false, self.get(xi - 1, yi, zi)),
                            (0, true, self.get(xi + 1, yi, zi)),
                            (1, false, self.get(xi, yi - 1, zi)),
                            (1, true, self.get(xi, yi + 1, zi)),
                            (2, false, self.get(xi, yi, zi - 1)),
                            (2, true, self.get(xi, yi, zi + 1)),
                        ];
                        for (axis, positive, inside) in neighbours {
                            if !inside {
                                let voxel = [x as u32, y as u32, z as u32];
                                faces.push(Face {
                                    voxel,
                                    axis,
                                    positive,
                                });
                            }
                        }
                    }
                }
                faces
            })
            .collect()
    }

    /// World position of the centre of `face`.
    pub fn face_centre(&self, face: &Face) -> DVec3 {
        let [x, y, z] = face.voxel.map(|v| v as usize);
        let mut c = self.centre(x, y, z);
        let half = 0.5 * self.voxel;
        c[face.axis as usize] += if face.positive { half } else { -half };
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cube_faces_and_cavity() {
        let mut v = VoxelVolume::new(DVec3::ZERO, 0.5, [7, 6, 5]);
        v.fill_box([1, 1, 1], [6, 5, 4]); // 5×4×3 box
        assert_eq!(v.count(), 60);
        assert_eq!(v.boundary_faces().len(), 2 * (5 * 4 + 4 * 3 + 5 * 3));
        // Hollow it out: the hollow is enclosed, so it is filled again.
        let mut hollow = VoxelVolume::new(DVec3::ZERO, 0.5, [7, 6, 5]);
        for z in 1..4 {
            for y in 1..5 {
                for x in 1..6 {
                    if (x, y, z) != (3, 2, 2) && (x, y, z) != (3, 3, 2) {
                        hollow.set(x, y, z);
                    }
                }
            }
        }
        assert_eq!(hollow.boundary_faces().len(), 94 + 10);
        assert_eq!(hollow.fill_cavities(), 2);
        assert_eq!(hollow.count(), 60);
        // A tunnel to the outside is not a cavity.
        let mut open = VoxelVolume::new(DVec3::ZERO, 0.5, [7, 6, 5]);
        for z in 1..4 {
            for y in 1..5 {
                for x in 1..6 {
                    if !(x == 3 && y == 2) {
                        open.set(x, y, z);
                    }
                }
            }
        }
        assert_eq!(open.fill_cavities(), 0);
        assert_eq!(open.count(), 57);
    }

    #[test]
    fn face_centres_lie_between_voxels() {
        let mut v = VoxelVolume::new(DVec3::new(1.0, 2.0, 3.0), 0.25, [3, 3, 3]);
        v.set(1, 1, 1);
        let faces = v.boundary_faces();
        assert_eq!(faces.len(), 6);
        let c = v.centre(1, 1, 1);
        assert_eq!(c, DVec3::new(1.375, 2.375, 3.375));
        for f in &faces {
            assert!(((v.face_centre(f) - c).length() - 0.125).abs() < 1e-12);
        }
        assert!(!v.get(-1, 0, 0) && !v.get(3, 0, 0));
    }
}
