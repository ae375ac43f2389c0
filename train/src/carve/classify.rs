//! The per-voxel tests of the visual hull: pure functions of the views and one voxel, so a GPU
//! kernel can replace them one for one.
//!
//! A point is *inside* the hull when enough cameras see it ([`Rule::min_seen`]), at most
//! [`Rule::tolerance`] of the cameras that see it have background at its projection, and the
//! covered fraction is at least [`Rule::min_fraction`]. A camera *sees* a point when the point
//! projects (with lens distortion) into its image in front of it.

use glam::{DVec2, DVec3};
use yakumo_core::Camera;

use super::mask::{Coverage, Mask};

/// A calibrated camera with its silhouette for the frame being carved.
#[derive(Clone, Debug)]
pub struct View {
    /// The camera; its image size matches the mask's.
    pub camera: Camera,
    /// Foreground mask of this camera's image.
    pub mask: Mask,
}

impl View {
    /// Whether `p` projects into the camera's image, in front of it.
    pub fn sees(&self, p: DVec3) -> bool {
        self.pixel_of(p).is_some()
    }

    /// The pixel `p` projects to when the camera sees it.
    fn pixel_of(&self, p: DVec3) -> Option<DVec2> {
        self.camera
            .project(p)
            .filter(|px| self.camera.in_image(*px))
    }
}

/// When a point counts as inside the hull.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rule {
    /// Most cameras that may see background at the point's projection (mask errors).
    pub tolerance: usize,
    /// Fewest cameras that must see the point (at least 1).
    pub min_seen: usize,
    /// Smallest fraction (covering cameras) / (cameras that see the point), in `[0, 1]`.
    pub min_fraction: f64,
}

impl Rule {
    /// The default rule for a rig of `cameras` cameras: one rejection tolerated per 20 cameras
    /// (at least one), half the rig (2 to 16 cameras) must see a point, 75 % must cover it.
    pub fn for_camera_count(cameras: usize) -> Rule {
        Rule {
            tolerance: (cameras / 20).max(1),
            min_seen: cameras.div_ceil(2).clamp(2, 16),
            min_fraction: 0.75,
        }
    }

    /// Whether `covered` covering and `rejected` rejecting cameras make a point inside.
    pub fn accepts(&self, covered: usize, rejected: usize) -> bool {
        let seen = covered + rejected;
        seen >= self.min_seen.max(1)
            && rejected <= self.tolerance
            && covered as f64 >= self.min_fraction * seen as f64
    }
}

/// Classification of a cubic cell by the conservative footprint test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellClass {
    /// No point of the cell can be inside.
    Outside,
    /// Every point of the cell is inside.
    Inside,
    /// Undecided at this size: subdivide.
    Boundary,
}

/// Extra pixels around a projected footprint (distortion makes projected cubes slightly
/// non-convex; this keeps the footprint a superset).
const FOOTPRINT_MARGIN_PX: f64 = 0.5;

/// What one camera says about a whole cell.
enum Vote {
    /// The cell projects entirely outside the image or behind the camera.
    Unseen,
    /// The footprint is partly outside the image (or crosses the camera plane): unknown.
    Straddles { touches: bool },
    /// The footprint lies inside the image with this mask coverage.
    Sees(Coverage),
}

/// The camera's vote on the cube `centre ± half`, from the pixel bounding box of its corners.
fn vote(view: &View, centre: DVec3, half: f64) -> Vote {
    let cam = &view.camera;
    let mut lo = DVec2::splat(f64::INFINITY);
    let mut hi = DVec2::splat(f64::NEG_INFINITY);
    let mut behind = 0;
    for i in 0..8 {
        let corner = centre
            + DVec3::new(
                if i & 1 == 0 { -half } else { half },
                if i & 2 == 0 { -half } else { half },
                if i & 4 == 0 { -half } else { half },
            );
        match cam.project(corner) {
            Some(px) => {
                lo = lo.min(px);
                hi = hi.max(px);
            }
            None => behind += 1,
        }
    }
    if behind == 8 {
        return Vote::Unseen;
    }
    let (w, h) = (cam.width as f64, cam.height as f64);
    if behind > 0 {
        // The cube crosses the camera plane: its image is unbounded.
        return Vote::Straddles {
            touches: view.mask.has_foreground(),
        };
    }
    lo -= DVec2::splat(FOOTPRINT_MARGIN_PX);
    hi += DVec2::splat(FOOTPRINT_MARGIN_PX);
    if hi.x < -0.5 || hi.y < -0.5 || lo.x >= w - 0.5 || lo.y >= h - 0.5 {
        return Vote::Unseen;
    }
    // Pixel (i, j) covers [i - 0.5, i + 0.5]: the footprint touches pixels round(lo)..=round(hi).
    let (x0, y0) = ((lo.x + 0.5).floor() as i64, (lo.y + 0.5).floor() as i64);
    let (x1, y1) = ((hi.x + 0.5).floor() as i64, (hi.y + 0.5).floor() as i64);
    let coverage = view.mask.coverage(x0, y0, x1, y1);
    let fully_in = lo.x >= -0.5 && lo.y >= -0.5 && hi.x < w - 0.5 && hi.y < h - 0.5;
    if fully_in {
        Vote::Sees(coverage)
    } else {
        Vote::Straddles {
            touches: coverage != Coverage::None,
        }
    }
}

/// Classifies the cube `centre ± half` conservatively: [`CellClass::Outside`] and
/// [`CellClass::Inside`] hold for every point of the cube under `rule`'s point test.
pub fn classify_cell(views: &[View], centre: DVec3, half: f64, rule: &Rule) -> CellClass {
    // Bounds on the counts any point of the cell can have.
    let (mut seen_lo, mut seen_hi) = (0usize, 0usize);
    let (mut covered_lo, mut covered_hi) = (0usize, 0usize);
    let (mut rejected_lo, mut rejected_hi) = (0usize, 0usize);
    for view in views {
        match vote(view, centre, half) {
            Vote::Unseen => {}
            Vote::Straddles { touches } => {
                seen_hi += 1;
                rejected_hi += 1;
                covered_hi += touches as usize;
            }
            Vote::Sees(coverage) => {
                seen_lo += 1;
                seen_hi += 1;
                match coverage {
                    Coverage::None => {
                        rejected_lo += 1;
                        rejected_hi += 1;
                    }
                    Coverage::Some => {
                        rejected_hi += 1;
                        covered_hi += 1;
                    }
                    Coverage::All => {
                        covered_lo += 1;
                        covered_hi += 1;
                    }
                }
            }
        }
    }
    let min_seen = rule.min_seen.max(1);
    // Best case for any point: most covering cameras, fewest rejecting ones.
    let best_fraction_fails =
        (covered_hi as f64) < rule.min_fraction * (covered_hi + rejected_lo) as f64;
    if seen_hi < min_seen || covered_hi == 0 || rejected_lo > rule.tolerance || best_fraction_fails
    {
        return CellClass::Outside;
    }
    let worst_fraction_holds =
        covered_lo as f64 >= rule.min_fraction * (covered_lo + rejected_hi) as f64;
    if seen_lo >= min_seen && rejected_hi <= rule.tolerance && worst_fraction_holds {
        return CellClass::Inside;
    }
    CellClass::Boundary
}

/// The point test: whether `p` is inside the hull under `rule` (the mask pixel nearest to each
/// camera's projection of `p` decides that camera's vote).
pub fn point_inside(views: &[View], p: DVec3, rule: &Rule) -> bool {
    let (mut covered, mut rejected) = (0usize, 0usize);
    for view in views {
        let Some(px) = view.pixel_of(p) else {
            continue;
        };
        if view
            .mask
            .get((px.x + 0.5).floor() as i64, (px.y + 0.5).floor() as i64)
        {
            covered += 1;
        } else {
            rejected += 1;
            if rejected > rule.tolerance {
                return false;
            }
        }
    }
    rule.accepts(covered, rejected)
}
