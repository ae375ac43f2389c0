//! Where the clip stands in the tracking space: upright on the floor, in front of the viewer, at
//! a sensible scale, derived from the clip's bounds in the `.yk4d` header.

use glam::{DQuat, DVec3};

use crate::xr::eye::{Pose, Similarity};

/// Clips whose height (along their up axis) falls in this range are taken to be metric and
/// life-size; others are scaled to [`FALLBACK_HEIGHT`].
pub const LIFE_SIZE: std::ops::RangeInclusive<f64> = 0.2..=2.5;

/// Height in metres a clip of implausible size is scaled to.
pub const FALLBACK_HEIGHT: f64 = 1.7;

/// Gap in metres between the viewer and the nearest side of the clip when it is placed.
pub const VIEWING_GAP: f64 = 1.2;

/// The clip's own geometry that placement needs: its up axis and the centre of its footprint.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ClipAnchor {
    /// Unit up vector in clip coordinates.
    pub up: DVec3,
    /// Point of the clip that rests on the floor: the bounds' centre moved down to its lowest
    /// extent along `up`.
    pub base: DVec3,
    /// Extent along `up`.
    pub height: f64,
    /// Largest distance of a bounds corner from the vertical axis through `base`.
    pub radius: f64,
}

impl ClipAnchor {
    /// From the clip's bounds and up axis (any non-zero vector; it is normalised). A zero `up`
    /// falls back to +z, the dataset convention.
    pub fn from_bounds(min: [f32; 3], max: [f32; 3], up: DVec3) -> ClipAnchor {
        let up = up.try_normalize().unwrap_or(DVec3::Z);
        let lo = DVec3::from_array(min.map(f64::from));
        let hi = DVec3::from_array(max.map(f64::from));
        let corners: Vec<DVec3> = (0..8)
            .map(|i| {
                DVec3::new(
                    if i & 1 == 0 { lo.x } else { hi.x },
                    if i & 2 == 0 { lo.y } else { hi.y },
                    if i & 4 == 0 { lo.z } else { hi.z },
                )
            })
            .collect();
        let heights = corners.iter().map(|c| c.dot(up));
        let bottom = heights.clone().fold(f64::INFINITY, f64::min);
        let top = heights.fold(f64::NEG_INFINITY, f64::max);
        let centre = (lo + hi) * 0.5;
        let base = centre - up * (centre.dot(up) - bottom);
        let radius = corners
            .iter()
            .map(|c| {
                let d = *c - base;
                (d - up * d.dot(up)).length()
            })
            .fold(0.0, f64::max);
        ClipAnchor {
            up,
            base,
            height: (top - bottom).max(0.0),
            radius,
        }
    }

    /// Scale that shows the clip life-size when it plausibly is, else [`FALLBACK_HEIGHT`] tall.
    pub fn natural_scale(&self) -> f64 {
        if LIFE_SIZE.contains(&self.height) || self.height <= 1e-6 {
            1.0
        } else {
            FALLBACK_HEIGHT / self.height
        }
    }
}

/// The clip's placement: its base at `position` in the tracking space (OpenXR axes, +y up),
/// turned by `yaw` about the vertical and scaled uniformly.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Placement {
    /// Where the clip's base point stands.
    pub position: DVec3,
    /// Rotation about +y in radians.
    pub yaw: f64,
    /// Uniform scale (1 = the clip's own units are metres).
    pub scale: f64,
}

/// Rotation about +y that turns −z into the horizontal part of `dir` (0 when `dir` is vertical).
pub fn yaw_of(dir: DVec3) -> f64 {
    if dir.x.abs() < 1e-9 && dir.z.abs() < 1e-9 {
        0.0
    } else {
        (-dir.x).atan2(-dir.z)
    }
}

impl Placement {
    /// In front of `head` (its horizontal view direction), base on the floor at height
    /// `floor_y`, far enough that the clip's near side is [`VIEWING_GAP`] away, facing the
    /// viewer.
    pub fn in_front_of(head: &Pose, floor_y: f64, anchor: &ClipAnchor, scale: f64) -> Placement {
        let yaw = yaw_of(head.forward());
        let forward = DQuat::from_rotation_y(yaw) * DVec3::NEG_Z;
        let distance = VIEWING_GAP + anchor.radius * scale;
        let foot = DVec3::new(head.position.x, floor_y, head.position.z);
        Placement {
            position: foot + forward * distance,
            yaw,
            scale,
        }
    }

    /// The clip → tracking-space transform for `anchor`: clip up becomes +y, the base point
    /// lands on `position`.
    pub fn transform(&self, anchor: &ClipAnchor) -> Similarity {
        let rotation =
            DQuat::from_rotation_y(self.yaw) * DQuat::from_rotation_arc(anchor.up, DVec3::Y);
        Similarity {
            scale: self.scale,
            rotation,
            translation: self.position - rotation * anchor.base * self.scale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_z_up_clip_stands_on_the_floor_in_front_of_the_viewer() {
        let anchor = ClipAnchor::from_bounds([-0.3, -0.2, 0.1], [0.3, 0.2, 1.8], DVec3::Z);
        assert!((anchor.height - 1.7).abs() < 1e-6);
        assert_eq!(anchor.natural_scale(), 1.0);
        let head = Pose {
            position: DVec3::new(1.0, 1.6, 2.0),
            orientation: DQuat::from_rotation_y(std::f64::consts::FRAC_PI_2), // looking along −x
        };
        let p = Placement::in_front_of(&head, 0.0, &anchor, 1.0);
        let t = p.transform(&anchor);
        let foot = t.apply(DVec3::new(0.0, 0.0, 0.1));
        let crown = t.apply(DVec3::new(0.0, 0.0, 1.8));
        assert!(
            foot.y.abs() < 1e-6 && (crown.y - 1.7).abs() < 1e-6,
            "{foot} {crown}"
        );
        // In front: along −x from the head, further than the gap.
        assert!(foot.x < head.position.x - VIEWING_GAP && (foot.z - 2.0).abs() < 1e-6);
    }

    #[test]
    fn odd_sized_clips_are_scaled_to_a_person_height() {
        let anchor = ClipAnchor::from_bounds([0.0; 3], [10.0, 10.0, 20.0], DVec3::Z);
        assert!((anchor.natural_scale() * anchor.height - FALLBACK_HEIGHT).abs() < 1e-9);
        let tiny = ClipAnchor::from_bounds([0.0; 3], [0.01, 0.01, 0.01], DVec3::Z);
        assert!((tiny.natural_scale() * tiny.height - FALLBACK_HEIGHT).abs() < 1e-9);
        let flat = ClipAnchor::from_bounds([0.0; 3], [1.0, 1.0, 0.0], DVec3::Z);
        assert_eq!(flat.natural_scale(), 1.0);
    }

    #[test]
    fn the_transform_is_a_similarity() {
        let anchor = ClipAnchor::from_bounds([-1.0, -1.0, -1.0], [1.0, 1.0, 1.0], DVec3::Y);
        let p = Placement {
            position: DVec3::new(0.5, 0.0, -2.0),
            yaw: 0.7,
            scale: 2.0,
        };
        let t = p.transform(&anchor);
        let a = t.apply(DVec3::ZERO);
        let b = t.apply(DVec3::X);
        assert!(((b - a).length() - 2.0).abs() < 1e-9);
        assert!((t.apply(anchor.base) - p.position).length() < 1e-9);
    }
}
