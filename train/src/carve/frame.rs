//! Carving one frame: visual hull → phantom parts dropped → cavity filling → boundary faces →
//! outlier removal → points.

use std::time::Instant;

use glam::DVec3;
use serde::Serialize;

use super::classify::{Rule, View};
use super::error::CarveError;
use super::hull::{Aabb, LevelStats, carve_hull};
use super::parts::{PartStats, drop_poorly_seen_parts};
use super::surface::{OutlierFilter, drop_outlier_faces, sample_faces};
use super::tester::HullDevice;

/// Fewest cameras a visual hull is carved from.
pub const MIN_CAMERAS: usize = 3;

/// Default [`CarveSettings::min_part_seen`]: on an 8-camera ring a phantom beside the subject is
/// seen by about half the cameras, the subject by all of them.
pub const DEFAULT_MIN_PART_SEEN: f64 = 0.75;

/// Settings for carving one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct CarveSettings {
    /// Finest voxel edge in metres.
    pub voxel: f64,
    /// Points sampled on the surface.
    pub points: usize,
    /// The inside test.
    pub rule: Rule,
    /// A connected part of the hull is kept when some voxel of it is seen by at least this
    /// fraction of the cameras that see the best-seen part ([`drop_poorly_seen_parts`]).
    pub min_part_seen: f64,
    /// Where to carve; `None` derives a search box from the camera centres.
    pub bounds: Option<Aabb>,
    /// Outlier removal on the surface.
    pub outliers: OutlierFilter,
    /// Seed of the surface sampling.
    pub seed: u64,
    /// Where the visual hull's cell tests run.
    pub device: HullDevice,
}

impl CarveSettings {
    /// Defaults for a rig of `cameras` cameras: 2 mm voxels, 200k points, [`Rule::for_camera_count`],
    /// parts seen by at least [`DEFAULT_MIN_PART_SEEN`] of the best-seen part's cameras, cell
    /// tests on the CPU.
    pub fn for_camera_count(cameras: usize) -> CarveSettings {
        CarveSettings {
            voxel: 0.002,
            points: 200_000,
            rule: Rule::for_camera_count(cameras),
            min_part_seen: DEFAULT_MIN_PART_SEEN,
            bounds: None,
            outliers: OutlierFilter::default(),
            seed: 0,
            device: HullDevice::Cpu,
        }
    }
}

/// The carved surface of one frame and what it took.
#[derive(Clone, Debug)]
pub struct CarvedFrame {
    /// Points on the hull surface (metres, world coordinates).
    pub points: Vec<DVec3>,
    /// Connected parts of the hull, and the phantom parts dropped.
    pub parts: PartStats,
    /// Voxels inside the hull (after dropping phantoms and filling cavities).
    pub inside_voxels: usize,
    /// Enclosed cavities filled (voxels), a measure of mask holes.
    pub cavities_filled: usize,
    /// Boundary faces of the hull.
    pub faces: usize,
    /// Boundary faces dropped as outliers.
    pub outlier_faces: usize,
    /// Work per refinement level.
    pub levels: Vec<LevelStats>,
    /// Bounding box of the inside voxels.
    pub bounds: Aabb,
    /// Where the time went.
    pub seconds: StageSeconds,
}

/// Seconds spent in each stage of carving a frame.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StageSeconds {
    /// The visual hull (cell tests and the dense volume).
    pub hull: f64,
    /// Dropping phantom parts and filling cavities.
    pub parts: f64,
    /// Boundary faces, outlier removal and point sampling.
    pub surface: f64,
}

impl CarvedFrame {
    /// The surface points as a PLY point cloud (positions only).
    pub fn point_cloud(&self) -> yakumo_core::ply::PointCloud {
        yakumo_core::ply::PointCloud {
            positions: self.points.iter().map(|p| p.as_vec3().to_array()).collect(),
            normals: None,
            colors: None,
        }
    }
}

/// Carves one frame from its views.
pub fn carve_frame(
    views: &[View],
    settings: &CarveSettings,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<CarvedFrame, CarveError> {
    if views.len() < MIN_CAMERAS {
        return Err(CarveError::TooFewCameras {
            found: views.len(),
            needed: MIN_CAMERAS,
        });
    }
    let cameras: Vec<_> = views.iter().map(|v| v.camera.clone()).collect();
    let bounds = settings
        .bounds
        .unwrap_or_else(|| Aabb::around_cameras(&cameras));
    let start = Instant::now();
    let tester = settings.device.tester(views, settings.rule)?;
    let mut hull = carve_hull(tester.as_ref(), &bounds, settings.voxel, progress)?;
    let hull_done = Instant::now();
    let parts = drop_poorly_seen_parts(&mut hull.volume, views, settings.min_part_seen);
    let cavities_filled = hull.volume.fill_cavities();
    let parts_done = Instant::now();
    let faces = hull.volume.boundary_faces();
    let kept = drop_outlier_faces(&hull.volume, &faces, &settings.outliers);
    let points = sample_faces(&hull.volume, &kept, settings.points, settings.seed);
    let seconds = StageSeconds {
        hull: (hull_done - start).as_secs_f64(),
        parts: (parts_done - hull_done).as_secs_f64(),
        surface: parts_done.elapsed().as_secs_f64(),
    };
    let vol = &hull.volume;
    let inner = vol.inside_box().map_or(bounds, |(lo, hi)| {
        let corner =
            |v: [usize; 3]| vol.origin() + DVec3::from_array(v.map(|c| c as f64)) * vol.voxel();
        Aabb {
            min: corner(lo),
            max: corner(hi),
        }
    });
    Ok(CarvedFrame {
        points,
        parts,
        inside_voxels: vol.count(),
        cavities_filled,
        faces: faces.len(),
        outlier_faces: faces.len() - kept.len(),
        levels: hull.levels,
        bounds: inner,
        seconds,
    })
}
