//! An orbit/pan/zoom camera for the desktop viewer.

use glam::DVec3;
use yakumo_core::Camera;

/// A camera looking at `target` from `distance` metres, at `yaw`/`pitch` radians around `up`.
#[derive(Clone, Debug, PartialEq)]
pub struct OrbitCamera {
    /// The point orbited around.
    pub target: DVec3,
    /// Eye-to-target distance in metres.
    pub distance: f64,
    /// Angle around `up` in radians.
    pub yaw: f64,
    /// Elevation above the plane normal to `up`, radians (kept within ±89°).
    pub pitch: f64,
    /// World up (unit).
    pub up: DVec3,
    /// Vertical field of view in radians.
    pub fov_y: f64,
}

impl OrbitCamera {
    fn basis(up: DVec3) -> (DVec3, DVec3) {
        let e1 = up.any_orthonormal_vector();
        (e1, up.cross(e1))
    }

    /// Unit vector from the target to the eye.
    fn back(&self) -> DVec3 {
        let (e1, e2) = Self::basis(self.up);
        (e1 * self.yaw.cos() + e2 * self.yaw.sin()) * self.pitch.cos() + self.up * self.pitch.sin()
    }

    /// The eye position.
    pub fn eye(&self) -> DVec3 {
        self.target + self.back() * self.distance
    }

    /// Looking at the centre of the box `min..max` from a distance that shows all of it.
    pub fn framing(min: [f32; 3], max: [f32; 3], up: DVec3) -> OrbitCamera {
        let lo = DVec3::from_array(min.map(f64::from));
        let hi = DVec3::from_array(max.map(f64::from));
        let fov_y = 45f64.to_radians();
        let radius = ((hi - lo).length() * 0.5).max(0.1);
        OrbitCamera {
            target: (lo + hi) * 0.5,
            distance: radius / (fov_y * 0.5).sin(),
            yaw: 0.0,
            pitch: 0.25,
            up: up.normalize(),
            fov_y,
        }
    }

    /// The orbit that reproduces `cam`'s eye and viewing direction, orbiting the point `depth`
    /// metres in front of it (roll is dropped).
    pub fn from_camera(cam: &Camera, depth: f64, up: DVec3) -> OrbitCamera {
        let up = up.normalize();
        let forward = cam.r.transpose() * DVec3::Z;
        let back = -forward;
        let (e1, e2) = Self::basis(up);
        let pitch = back.dot(up).clamp(-1.0, 1.0).asin().clamp(-1.55, 1.55);
        let yaw = back.dot(e2).atan2(back.dot(e1));
        let fov_y = 2.0 * ((cam.height as f64 * 0.5) / cam.fy()).atan();
        OrbitCamera {
            target: cam.centre() + forward * depth,
            distance: depth,
            yaw,
            pitch,
            up,
            fov_y,
        }
    }

    /// Rotates by mouse movement (radians).
    pub fn rotate(&mut self, d_yaw: f64, d_pitch: f64) {
        self.yaw += d_yaw;
        self.pitch = (self.pitch + d_pitch).clamp(-1.55, 1.55);
    }

    /// Moves the target in the view plane by `(dx, dy)` in units of the distance.
    pub fn pan(&mut self, dx: f64, dy: f64) {
        let back = self.back();
        let right = self.up.cross(back).normalize();
        let cam_up = back.cross(right);
        self.target += (right * dx + cam_up * dy) * self.distance;
    }

    /// Multiplies the distance by `factor` (wheel zoom).
    pub fn zoom(&mut self, factor: f64) {
        self.distance = (self.distance * factor).clamp(1e-3, 1e4);
    }

    /// Moves the target along the view direction by `amount` metres (W/S keys).
    pub fn advance(&mut self, amount: f64) {
        self.target -= self.back() * amount;
    }

    /// The camera for a `size` image.
    pub fn camera(&self, size: (u32, u32)) -> Camera {
        let f = size.1 as f64 * 0.5 / (self.fov_y * 0.5).tan();
        Camera::look_at(
            "viewer",
            size,
            (f, f),
            ((size.0 as f64 - 1.0) * 0.5, (size.1 as f64 - 1.0) * 0.5),
            self.eye(),
            self.target,
            self.up,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_camera_keeps_eye_and_direction() {
        let cam = Camera::look_at(
            "c",
            (640, 480),
            (500.0, 500.0),
            (319.5, 239.5),
            DVec3::new(1.0, -3.0, 1.5),
            DVec3::new(0.2, 0.0, 0.8),
            DVec3::Z,
        );
        let orbit = OrbitCamera::from_camera(&cam, 2.0, DVec3::Z);
        assert!((orbit.eye() - cam.centre()).length() < 1e-9);
        let again = orbit.camera((640, 480));
        let p = DVec3::new(0.2, 0.0, 0.8);
        assert!((again.project(p).unwrap() - cam.project(p).unwrap()).length() < 1e-6);
    }

    #[test]
    fn controls_move_as_expected() {
        let mut o = OrbitCamera::framing([-1.0; 3], [1.0; 3], DVec3::Z);
        let d = o.distance;
        o.zoom(0.5);
        assert!((o.distance - d * 0.5).abs() < 1e-12);
        o.rotate(0.0, 10.0);
        assert!(o.pitch <= 1.55);
        let t = o.target;
        o.pan(0.1, 0.0);
        assert!(((o.target - t).length() - 0.1 * o.distance).abs() < 1e-9);
        let eye = o.eye();
        o.advance(0.3);
        assert!(((o.eye() - eye).length() - 0.3).abs() < 1e-9);
    }
}
