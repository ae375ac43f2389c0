//! One eye's OpenXR view (pose + asymmetric field of view) as a [`yakumo_core::Camera`].
//!
//! OpenXR view space has x right, y up and −z forward; the renderer's cameras use OpenCV's axes
//! (x right, y down, z forward) with pixel centres at integer coordinates. The clip is drawn in
//! its own coordinates, so the eye is expressed in clip space: the clip's placement in the
//! tracking space is a similarity (uniform scale, rotation, translation), and dividing the
//! camera translation by the scale keeps the camera rigid while pixels, depth order and point
//! radii all come out as if the clip had been scaled.

use glam::{DMat3, DQuat, DVec3};
use thiserror::Error;
use yakumo_core::Camera;
use yakumo_core::camera::intrinsic_matrix;

/// A view the runtime reported that no pinhole camera can represent.
#[derive(Debug, Error, PartialEq)]
pub enum EyeError {
    /// The field-of-view angles are reversed, degenerate or reach ±90°.
    #[error(
        "the runtime reported an unusable field of view (left {left:.3}, right {right:.3}, up {up:.3}, down {down:.3} rad)"
    )]
    Fov {
        /// Left edge angle.
        left: f64,
        /// Right edge angle.
        right: f64,
        /// Top edge angle.
        up: f64,
        /// Bottom edge angle.
        down: f64,
    },
    /// The eye orientation is not a unit quaternion or the position is not finite.
    #[error("the runtime reported an invalid eye pose")]
    Pose,
    /// The clip placement has a non-positive or non-finite scale.
    #[error("the clip placement scale {0} is not a positive number")]
    Scale(f64),
}

/// An eye's field of view as OpenXR gives it: edge angles in radians from the view direction,
/// left and down negative for a typical eye.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct EyeFov {
    /// Angle of the left image edge (usually negative).
    pub left: f64,
    /// Angle of the right image edge.
    pub right: f64,
    /// Angle of the top image edge.
    pub up: f64,
    /// Angle of the bottom image edge (usually negative).
    pub down: f64,
}

/// A rigid pose in the tracking space with OpenXR axes: `p_space = orientation · p_local + position`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Pose {
    /// Position in metres.
    pub position: DVec3,
    /// Orientation.
    pub orientation: DQuat,
}

impl Pose {
    /// The identity pose.
    pub const IDENTITY: Pose = Pose {
        position: DVec3::ZERO,
        orientation: DQuat::IDENTITY,
    };

    /// From OpenXR's single-precision pose.
    pub fn from_xr(p: &openxr::Posef) -> Pose {
        let q = p.orientation;
        let v = p.position;
        Pose {
            position: DVec3::new(v.x as f64, v.y as f64, v.z as f64),
            orientation: DQuat::from_xyzw(q.x as f64, q.y as f64, q.z as f64, q.w as f64),
        }
    }

    /// The viewing direction (local −z) in the tracking space.
    pub fn forward(&self) -> DVec3 {
        self.orientation * DVec3::NEG_Z
    }
}

impl EyeFov {
    /// From OpenXR's single-precision field of view.
    pub fn from_xr(f: &openxr::Fovf) -> EyeFov {
        EyeFov {
            left: f.angle_left as f64,
            right: f.angle_right as f64,
            up: f.angle_up as f64,
            down: f.angle_down as f64,
        }
    }

    fn check(&self) -> Result<(), EyeError> {
        let lim = std::f64::consts::FRAC_PI_2 - 1e-3;
        let ok = [self.left, self.right, self.up, self.down]
            .iter()
            .all(|a| a.is_finite() && a.abs() < lim)
            && self.right > self.left
            && self.up > self.down;
        if ok {
            Ok(())
        } else {
            Err(EyeError::Fov {
                left: self.left,
                right: self.right,
                up: self.up,
                down: self.down,
            })
        }
    }
}

/// A similarity transform `p_space = scale · rotation · p + translation` (clip → tracking space).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Similarity {
    /// Uniform scale.
    pub scale: f64,
    /// Rotation.
    pub rotation: DQuat,
    /// Translation in metres.
    pub translation: DVec3,
}

impl Similarity {
    /// Applies the transform to a point.
    pub fn apply(&self, p: DVec3) -> DVec3 {
        self.rotation * p * self.scale + self.translation
    }
}

/// OpenXR view axes → OpenCV camera axes: y and z flip.
const XR_TO_CV: DMat3 = DMat3::from_diagonal(DVec3::new(1.0, -1.0, -1.0));

/// The pinhole intrinsics of an image of `size` pixels spanning `fov` (OpenCV convention: the
/// left image edge is at u = −0.5, the top edge at v = −0.5).
pub fn intrinsics(fov: &EyeFov, (width, height): (u32, u32)) -> Result<DMat3, EyeError> {
    fov.check()?;
    let (tl, tr) = (fov.left.tan(), fov.right.tan());
    let (tu, td) = (fov.up.tan(), fov.down.tan());
    let fx = width as f64 / (tr - tl);
    let fy = height as f64 / (tu - td);
    // u = fx·X/Z + cx with X/Z = tan(left) at u = −0.5; v grows downwards, so the top edge
    // (Y/Z = −tan(up)) is at v = −0.5.
    let cx = -tl * fx - 0.5;
    let cy = tu * fy - 0.5;
    Ok(intrinsic_matrix(fx, fy, cx, cy))
}

/// The camera for one eye: `eye` is the view pose in the tracking space, `clip_to_space` places
/// the clip there, and the returned camera maps clip coordinates to pixels of a `size` image.
pub fn eye_camera(
    name: impl Into<String>,
    size: (u32, u32),
    fov: &EyeFov,
    eye: &Pose,
    clip_to_space: &Similarity,
) -> Result<Camera, EyeError> {
    let k = intrinsics(fov, size)?;
    let q = eye.orientation;
    if !eye.position.is_finite() || !q.is_finite() || (q.length() - 1.0).abs() > 1e-3 {
        return Err(EyeError::Pose);
    }
    let s = clip_to_space.scale;
    if !(s.is_finite() && s > 0.0) {
        return Err(EyeError::Scale(s));
    }
    // x_cv = F·Qᵀ·(p_space − P) with p_space = s·Rc·p + t; dividing by s keeps R rigid.
    let space_to_view = DMat3::from_quat(q.normalize()).transpose();
    let r = XR_TO_CV * space_to_view * DMat3::from_quat(clip_to_space.rotation.normalize());
    let t = XR_TO_CV * space_to_view * (clip_to_space.translation - eye.position) / s;
    Ok(Camera {
        name: name.into(),
        width: size.0,
        height: size.1,
        k,
        dist: yakumo_core::camera::Distortion::NONE,
        r,
        t,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDENTITY_PLACEMENT: Similarity = Similarity {
        scale: 1.0,
        rotation: DQuat::IDENTITY,
        translation: DVec3::ZERO,
    };

    fn fov(l: f64, r: f64, u: f64, d: f64) -> EyeFov {
        EyeFov {
            left: l.to_radians(),
            right: r.to_radians(),
            up: u.to_radians(),
            down: d.to_radians(),
        }
    }

    #[test]
    fn image_edges_land_on_the_fov_edges() {
        let f = fov(-50.0, 40.0, 45.0, -55.0);
        let cam = eye_camera("e", (400, 300), &f, &Pose::IDENTITY, &IDENTITY_PLACEMENT).unwrap();
        // A point straight ahead on the left edge ray, OpenXR axes (−z forward).
        let left = DVec3::new(f.left.tan(), 0.0, -1.0) * 2.0;
        let top = DVec3::new(0.0, f.up.tan(), -1.0) * 3.0;
        let right = DVec3::new(f.right.tan(), f.down.tan(), -1.0);
        let a = cam.project(left).unwrap();
        let b = cam.project(top).unwrap();
        let c = cam.project(right).unwrap();
        assert!((a.x + 0.5).abs() < 1e-9, "{a}");
        assert!((b.y + 0.5).abs() < 1e-9, "{b}");
        assert!(
            (c.x - 399.5).abs() < 1e-9 && (c.y - 299.5).abs() < 1e-9,
            "{c}"
        );
    }

    #[test]
    fn up_in_the_world_is_up_in_the_image_and_right_is_right() {
        let f = fov(-45.0, 45.0, 45.0, -45.0);
        let cam = eye_camera("e", (100, 100), &f, &Pose::IDENTITY, &IDENTITY_PLACEMENT).unwrap();
        let centre = cam.project(DVec3::new(0.0, 0.0, -2.0)).unwrap();
        let above = cam.project(DVec3::new(0.0, 0.5, -2.0)).unwrap();
        let right = cam.project(DVec3::new(0.5, 0.0, -2.0)).unwrap();
        assert!(above.y < centre.y && right.x > centre.x);
        // Behind the eye (+z in OpenXR) is not in front of the camera.
        assert!(cam.project(DVec3::new(0.0, 0.0, 2.0)).is_none());
    }

    #[test]
    fn eyes_apart_by_the_ipd_see_the_predicted_disparity() {
        let f = fov(-45.0, 45.0, 40.0, -40.0);
        let size = (320, 240);
        let yaw = DQuat::from_rotation_y(0.3);
        let head = DVec3::new(0.2, 1.6, 0.1);
        let ipd = 0.064;
        let eye = |s: f64| Pose {
            position: head + yaw * DVec3::new(s * ipd / 2.0, 0.0, 0.0),
            orientation: yaw,
        };
        let place = Similarity {
            scale: 0.5,
            rotation: DQuat::from_rotation_x(-std::f64::consts::FRAC_PI_2),
            translation: DVec3::new(0.0, 0.0, -1.0),
        };
        let l = eye_camera("l", size, &f, &eye(-1.0), &place).unwrap();
        let r = eye_camera("r", size, &f, &eye(1.0), &place).unwrap();
        // A clip point 2 m in front of the head.
        let target_space = head + yaw * DVec3::new(0.0, 0.0, -2.0);
        let p_clip = place.rotation.inverse() * ((target_space - place.translation) / place.scale);
        let (pl, pr) = (l.project(p_clip).unwrap(), r.project(p_clip).unwrap());
        let fx = l.fx();
        assert!((pl.x - pr.x - fx * ipd / 2.0).abs() < 1e-6, "{pl} {pr}");
        assert!((pl.y - pr.y).abs() < 1e-9);
        // Rigid rotation even though the clip is scaled.
        assert!((l.r.determinant() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_views_are_errors() {
        let bad = fov(40.0, -40.0, 40.0, -40.0);
        assert!(intrinsics(&bad, (10, 10)).is_err());
        let ok = fov(-40.0, 40.0, 40.0, -40.0);
        let mut pose = Pose::IDENTITY;
        pose.orientation = DQuat::from_xyzw(0.0, 0.0, 0.0, 2.0);
        assert_eq!(
            eye_camera("e", (10, 10), &ok, &pose, &IDENTITY_PLACEMENT),
            Err(EyeError::Pose)
        );
        let mut place = IDENTITY_PLACEMENT;
        place.scale = 0.0;
        assert!(eye_camera("e", (10, 10), &ok, &Pose::IDENTITY, &place).is_err());
    }
}
