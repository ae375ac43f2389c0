//! Coarse-to-fine visual hull: an octree-style refinement from a coarse grid over the bounds down
//! to the requested voxel size, testing only cells that the coarser level left undecided. The
//! tests of a level run on a [`CellTester`]: every CPU core or a GPU kernel.

use glam::DVec3;
use yakumo_core::Camera;

use super::classify::CellClass;
use super::error::CarveError;
use super::tester::{Cell, CellTester};
use super::volume::VoxelVolume;

/// Cells along the longest axis of the bounds at the coarsest level.
const ROOT_CELLS: f64 = 32.0;

/// Largest dense volume the carver allocates (voxels; one bit each, 1 GiB).
const MAX_VOXELS: usize = 1 << 33;

/// An axis-aligned box in world coordinates (metres).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Aabb {
    /// Minimum corner.
    pub min: DVec3,
    /// Maximum corner.
    pub max: DVec3,
}

impl Aabb {
    /// Edge lengths.
    pub fn size(&self) -> DVec3 {
        self.max - self.min
    }

    /// A generous search box for a rig: the box around the camera centres grown on every side by
    /// its largest edge (at least 1 m), so that it holds whatever the cameras look at.
    pub fn around_cameras(cameras: &[Camera]) -> Aabb {
        let mut min = DVec3::splat(f64::INFINITY);
        let mut max = DVec3::splat(f64::NEG_INFINITY);
        for c in cameras {
            min = min.min(c.centre());
            max = max.max(c.centre());
        }
        let grow = (max - min).max_element().max(1.0);
        Aabb {
            min: min - grow,
            max: max + grow,
        }
    }
}

/// How much work each level of the refinement did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LevelStats {
    /// Cells tested at this level.
    pub tested: usize,
    /// Cells found entirely inside.
    pub inside: usize,
    /// Cells left for the next level (at the finest level: always 0).
    pub boundary: usize,
}

/// The result of [`carve_hull`].
#[derive(Clone, Debug)]
pub struct Hull {
    /// Occupancy at the finest voxel size, over the box of the inside voxels plus one empty voxel
    /// on every side.
    pub volume: VoxelVolume,
    /// Work per level, coarsest first.
    pub levels: Vec<LevelStats>,
}

/// Carves the visual hull that `tester` tests inside `bounds` down to voxels of edge `voxel`
/// metres. `progress(done, total)` is called after each level.
pub fn carve_hull(
    tester: &dyn CellTester,
    bounds: &Aabb,
    voxel: f64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Hull, CarveError> {
    let longest = bounds.size().max_element();
    if !(voxel > 0.0 && voxel.is_finite()) {
        return Err(CarveError::BadSetting(format!(
            "voxel size {voxel} m must be positive"
        )));
    }
    if !(longest > 0.0 && longest.is_finite()) {
        return Err(CarveError::BadSetting(format!(
            "empty carving bounds {bounds:?}"
        )));
    }
    let finest = (longest / (ROOT_CELLS * voxel)).log2().ceil().max(0.0) as u32;
    let root_size = voxel * f64::from(1u32 << finest);
    let root_dims = bounds
        .size()
        .to_array()
        .map(|e| ((e / root_size).ceil() as u32).max(1));
    let fine_dims = root_dims.map(|d| u64::from(d) << finest);
    if fine_dims.iter().any(|&d| d > u64::from(u32::MAX / 2)) {
        return Err(CarveError::BadSetting(format!(
            "voxel size {voxel} m is too small for bounds {:.2} m across",
            longest
        )));
    }

    let mut cells: Vec<Cell> =
        Vec::with_capacity((root_dims[0] * root_dims[1] * root_dims[2]) as usize);
    for z in 0..root_dims[2] {
        for y in 0..root_dims[1] {
            for x in 0..root_dims[0] {
                cells.push([x, y, z]);
            }
        }
    }

    // Inside blocks as fine-voxel boxes [min, max).
    let mut blocks: Vec<([u32; 3], [u32; 3])> = Vec::new();
    let mut levels = Vec::new();
    let total = finest as usize + 1;
    for level in 0..=finest {
        let size = root_size / f64::from(1u32 << level);
        let scale = 1u32 << (finest - level);
        if level == finest {
            let verdicts = tester.centres_inside(&cells, bounds.min, size)?;
            let inside: Vec<Cell> = cells
                .iter()
                .zip(verdicts)
                .filter_map(|(c, inside)| inside.then_some(*c))
                .collect();
            levels.push(LevelStats {
                tested: cells.len(),
                inside: inside.len(),
                boundary: 0,
            });
            blocks.extend(inside.iter().map(|c| (*c, c.map(|v| v + 1))));
        } else {
            let classes = tester.classify(&cells, bounds.min, size)?;
            let mut next = Vec::new();
            let (mut inside, mut boundary) = (0, 0);
            for (c, class) in cells.iter().zip(&classes) {
                match class {
                    CellClass::Outside => {}
                    CellClass::Inside => {
                        inside += 1;
                        blocks.push((c.map(|v| v * scale), c.map(|v| (v + 1) * scale)));
                    }
                    CellClass::Boundary => {
                        boundary += 1;
                        next.extend((0..8u32).map(|i| {
                            [
                                2 * c[0] + (i & 1),
                                2 * c[1] + (i >> 1 & 1),
                                2 * c[2] + (i >> 2 & 1),
                            ]
                        }));
                    }
                }
            }
            levels.push(LevelStats {
                tested: cells.len(),
                inside,
                boundary,
            });
            cells = next;
        }
        progress(level as usize + 1, total);
    }
    let volume = rasterise(&blocks, bounds.min, voxel)?;
    Ok(Hull { volume, levels })
}

/// Paints the inside blocks (fine-voxel boxes) into a dense volume over their bounding box, with
/// one empty voxel of padding on every side.
fn rasterise(
    blocks: &[([u32; 3], [u32; 3])],
    origin: DVec3,
    voxel: f64,
) -> Result<VoxelVolume, CarveError> {
    if blocks.is_empty() {
        return Err(CarveError::EmptyHull);
    }
    let mut lo = [u32::MAX; 3];
    let mut hi = [0u32; 3];
    for (min, max) in blocks {
        for a in 0..3 {
            lo[a] = lo[a].min(min[a]);
            hi[a] = hi[a].max(max[a]);
        }
    }
    let dims: [usize; 3] = std::array::from_fn(|a| (hi[a] - lo[a]) as usize + 2);
    let voxels = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if voxels.is_none_or(|n| n > MAX_VOXELS) {
        return Err(CarveError::HullTooLarge { dims, voxel });
    }
    let corner = origin + (DVec3::new(lo[0] as f64, lo[1] as f64, lo[2] as f64) - 1.0) * voxel;
    let mut volume = VoxelVolume::new(corner, voxel, dims);
    for (min, max) in blocks {
        let shift =
            |v: [u32; 3]| -> [usize; 3] { std::array::from_fn(|a| (v[a] - lo[a]) as usize + 1) };
        volume.fill_box(shift(*min), shift(*max));
    }
    Ok(volume)
}
