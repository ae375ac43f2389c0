//! CPU reference of Yakumo's point rendering rule, shared by the player's and the trainer's tests.
//!
//! The rule (4K4D's depth peeling): a point at camera coordinates `p` projects to the pixel
//! position `(x, y) = K·(p/z)` (OpenCV pinhole, pixel centres at integer coordinates, lens
//! distortion ignored); its screen radius is `r_px = f_y·r/z`; it covers the pixel centre `q` when
//! `d² = |q − (x, y)|² < r_px²`. Points with `z ≤` [`NEAR`] are not drawn. Each pixel takes its
//! `K` nearest covering points by depth with strict peeling (every next layer strictly behind the
//! previous one; among points at exactly equal depth the lowest index wins), then composites front
//! to back: `α_k = clamp(density_k·(1 − d²/r_px²), 0, 1)`, `T_k = Π_{j<k}(1 − α_j)`,
//! `C = Σ T_k α_k c_k`, `A = Σ T_k α_k` (premultiplied over black). The colour `c_k` is the
//! point's spherical-harmonics colour for the direction from the eye to the point
//! ([`crate::sh::shade`]).
//!
//! Arithmetic is `f32` in the same order as the player's shaders so that GPU output matches this
//! to a few ulps.

use crate::camera::Camera;
use crate::clip::FramePoints;
use crate::sh;

/// Points closer to the camera than this (metres, camera z) are not drawn.
pub const NEAR: f32 = 0.01;

/// A camera reduced to the `f32` numbers the rendering rule uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewF32 {
    /// World→camera rotation, row-major.
    pub rot: [[f32; 3]; 3],
    /// World→camera translation.
    pub t: [f32; 3],
    /// `fx, fy, cx, cy, skew` in pixels.
    pub fx: f32,
    /// Focal length along y (pixels); also scales point radii.
    pub fy: f32,
    /// Principal point x.
    pub cx: f32,
    /// Principal point y.
    pub cy: f32,
    /// Skew `K[0][1]`.
    pub skew: f32,
    /// Camera centre in world coordinates (the eye for view-dependent colour).
    pub eye: [f32; 3],
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
}

impl ViewF32 {
    /// Converts a camera (distortion is ignored by the rendering rule).
    pub fn from_camera(cam: &Camera) -> ViewF32 {
        let r = cam.r;
        let row = |i: usize| [r.x_axis[i] as f32, r.y_axis[i] as f32, r.z_axis[i] as f32];
        let eye = cam.centre();
        ViewF32 {
            rot: [row(0), row(1), row(2)],
            t: [cam.t.x as f32, cam.t.y as f32, cam.t.z as f32],
            fx: cam.fx() as f32,
            fy: cam.fy() as f32,
            cx: cam.cx() as f32,
            cy: cam.cy() as f32,
            skew: cam.skew() as f32,
            eye: [eye.x as f32, eye.y as f32, eye.z as f32],
            width: cam.width,
            height: cam.height,
        }
    }

    /// Projects a world point with radius `r`: `Some((x, y, z, r_px))` when in front of [`NEAR`].
    pub fn project(&self, p: [f32; 3], r: f32) -> Option<[f32; 4]> {
        let m = &self.rot;
        let xc = m[0][0] * p[0] + m[0][1] * p[1] + m[0][2] * p[2] + self.t[0];
        let yc = m[1][0] * p[0] + m[1][1] * p[1] + m[1][2] * p[2] + self.t[1];
        let zc = m[2][0] * p[0] + m[2][1] * p[1] + m[2][2] * p[2] + self.t[2];
        if zc.is_nan() || zc <= NEAR {
            return None;
        }
        let inv_z = 1.0 / zc;
        let xn = xc * inv_z;
        let yn = yc * inv_z;
        let x = self.fx * xn + self.skew * yn + self.cx;
        let y = self.fy * yn + self.cy;
        let r_px = self.fy * r * inv_z;
        (r_px > 0.0 && x.is_finite() && y.is_finite()).then_some([x, y, zc, r_px])
    }
}

/// The SH degree implied by a frame's `sh_rest` length, or `None` when it fits no degree ≤ 3.
pub fn sh_degree(frame: &FramePoints) -> Option<u32> {
    let n = frame.positions.len();
    if n == 0 {
        return Some(0);
    }
    if !frame.sh_rest.len().is_multiple_of(3 * n) {
        return None;
    }
    let per_channel = frame.sh_rest.len() / (3 * n);
    (0..=sh::MAX_DEGREE).find(|d| sh::coeff_count(*d) - 1 == per_channel)
}

/// A rendered image: premultiplied `[r, g, b, a]` per pixel, row-major, top row first.
#[derive(Clone, Debug, PartialEq)]
pub struct RefImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height` premultiplied colours over black with coverage alpha.
    pub pixels: Vec<[f32; 4]>,
}

/// Renders `frame` from `cam` with at most `k` layers per pixel, following the rule above.
///
/// # Panics
/// When the frame's attribute arrays have inconsistent lengths (validate frames first; clips
/// read through `ClipReader` are).
pub fn render_cpu(frame: &FramePoints, cam: &Camera, k: usize) -> RefImage {
    let view = ViewF32::from_camera(cam);
    let n = frame.positions.len();
    assert!(
        frame.radii.len() == n && frame.densities.len() == n && frame.colors.len() == n,
        "frame attribute arrays differ in length"
    );
    let degree = sh_degree(frame).expect("sh_rest length fits no SH degree");
    let per_point = 3 * (sh::coeff_count(degree) - 1);
    let (w, h) = (view.width as usize, view.height as usize);
    // Per pixel: (z, index, d²) of every covering point.
    let mut hits: Vec<Vec<(f32, u32, f32)>> = vec![Vec::new(); w * h];
    for i in 0..n {
        let Some([x, y, z, r]) = view.project(frame.positions[i], frame.radii[i]) else {
            continue;
        };
        let r2 = r * r;
        let u0 = ((x - r).floor() as i64 + 1).max(0);
        let u1 = ((x + r).ceil() as i64 - 1).min(w as i64 - 1);
        let v0 = ((y - r).floor() as i64 + 1).max(0);
        let v1 = ((y + r).ceil() as i64 - 1).min(h as i64 - 1);
        for v in v0..=v1 {
            for u in u0..=u1 {
                let dx = u as f32 - x;
                let dy = v as f32 - y;
                let d2 = dx * dx + dy * dy;
                if d2 < r2 {
                    hits[v as usize * w + u as usize].push((z, i as u32, d2));
                }
            }
        }
    }
    let mut pixels = vec![[0.0f32; 4]; w * h];
    for (pixel, list) in pixels.iter_mut().zip(hits.iter_mut()) {
        list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        list.dedup_by(|later, earlier| later.0 == earlier.0);
        let mut c = [0.0f32; 3];
        let mut t = 1.0f32;
        for &(_, i, d2) in list.iter().take(k) {
            let i = i as usize;
            let r = view
                .project(frame.positions[i], frame.radii[i])
                .expect("projected above")[3];
            let alpha = (frame.densities[i] * (1.0 - d2 / (r * r))).clamp(0.0, 1.0);
            let p = frame.positions[i];
            let dir = [p[0] - view.eye[0], p[1] - view.eye[1], p[2] - view.eye[2]];
            let rest = &frame.sh_rest[i * per_point..(i + 1) * per_point];
            let col = sh::shade(degree, frame.colors[i], rest, dir);
            for ch in 0..3 {
                c[ch] += t * alpha * col[ch];
            }
            t *= 1.0 - alpha;
        }
        *pixel = [c[0], c[1], c[2], 1.0 - t];
    }
    RefImage {
        width: view.width,
        height: view.height,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;

    fn camera() -> Camera {
        Camera::look_at(
            "c",
            (32, 24),
            (30.0, 30.0),
            (15.5, 11.5),
            DVec3::new(0.0, 0.0, -2.0),
            DVec3::ZERO,
            -DVec3::Y,
        )
    }

    fn frame(points: &[([f32; 3], f32, f32, [f32; 3])]) -> FramePoints {
        FramePoints {
            positions: points.iter().map(|p| p.0).collect(),
            radii: points.iter().map(|p| p.1).collect(),
            densities: points.iter().map(|p| p.2).collect(),
            colors: points.iter().map(|p| p.3).collect(),
            sh_rest: Vec::new(),
        }
    }

    #[test]
    fn single_point_centre_pixel_has_full_density() {
        // The target projects to the principal point (15.5, 11.5): between four pixel centres,
        // each at d² = 0.5. r_px = 30·0.1/2 = 1.5.
        let img = render_cpu(
            &frame(&[([0.0; 3], 0.1, 0.8, [1.0, 0.5, 0.0])]),
            &camera(),
            15,
        );
        let px = img.pixels[11 * 32 + 15];
        let alpha = 0.8 * (1.0 - 0.5 / 2.25);
        assert!((px[3] - alpha).abs() < 1e-6, "{px:?}");
        assert!((px[0] - alpha).abs() < 1e-6 && (px[1] - 0.5 * alpha).abs() < 1e-6 && px[2] == 0.0);
        // (14, 11): d² = 2.25 + 0.25 = 2.5 ≥ 2.25, not covered.
        assert_eq!(img.pixels[11 * 32 + 13], [0.0; 4]);
    }

    #[test]
    fn front_point_occludes_and_k_limits_layers() {
        let pts = [
            ([0.0, 0.0, 0.5], 0.1, 0.5, [0.0, 0.0, 1.0]),  // behind
            ([0.0, 0.0, -0.5], 0.1, 0.5, [1.0, 0.0, 0.0]), // in front
        ];
        let cam = camera();
        let two = render_cpu(&frame(&pts), &cam, 2).pixels[11 * 32 + 15];
        let one = render_cpu(&frame(&pts), &cam, 1).pixels[11 * 32 + 15];
        assert!(one[2] == 0.0 && one[0] > 0.0);
        assert!(two[2] > 0.0 && two[2] < two[0]);
        assert!(two[3] > one[3]);
    }

    #[test]
    fn equal_depth_keeps_only_the_lowest_index() {
        let pts = [
            ([0.0; 3], 0.1, 1.0, [0.0, 1.0, 0.0]),
            ([0.0; 3], 0.1, 1.0, [1.0, 0.0, 0.0]),
        ];
        let px = render_cpu(&frame(&pts), &camera(), 15).pixels[11 * 32 + 15];
        assert!(px[0] == 0.0 && px[1] > 0.0);
    }

    #[test]
    fn points_behind_the_near_plane_are_skipped() {
        let pts = [([0.0, 0.0, -1.995], 0.001, 1.0, [1.0; 3])];
        assert!(
            render_cpu(&frame(&pts), &camera(), 15)
                .pixels
                .iter()
                .all(|p| p[3] == 0.0)
        );
    }

    #[test]
    fn sh_degree_from_lengths() {
        let mut f = frame(&[([0.0; 3], 0.1, 1.0, [1.0; 3]); 2]);
        assert_eq!(sh_degree(&f), Some(0));
        f.sh_rest = vec![0.0; 2 * 3 * 15];
        assert_eq!(sh_degree(&f), Some(3));
        f.sh_rest = vec![0.0; 2 * 3 * 5];
        assert_eq!(sh_degree(&f), None);
    }
}
