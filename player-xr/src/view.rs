//! Per-view GPU parameters: the camera reduced to the numbers the shaders use.

use bytemuck::{Pod, Zeroable};
use yakumo_core::Camera;
use yakumo_core::render_ref::{NEAR, ViewF32};

/// Side of the square pixel tiles of the compute path (matches `TILE` in `shaders/common.wgsl`).
pub const TILE: u32 = 16;

/// The `View` uniform block of `shaders/common.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct ViewUniform {
    rot: [[f32; 4]; 3],
    intr: [f32; 4],
    eye: [f32; 4],
    size: [f32; 4],
    background: [f32; 4],
    counts: [u32; 4],
}

impl ViewUniform {
    /// Parameters for drawing `points` points with `sh_coeffs` SH coefficients per channel (DC
    /// excluded) from `cam` into a target of the camera's size, with `k` layers over
    /// `background` (straight RGBA; alpha 0 leaves the premultiplied result over black).
    pub fn new(cam: &Camera, points: u32, sh_coeffs: u32, k: u32, background: [f32; 4]) -> Self {
        let v = ViewF32::from_camera(cam);
        let row = |i: usize| [v.rot[i][0], v.rot[i][1], v.rot[i][2], v.t[i]];
        ViewUniform {
            rot: [row(0), row(1), row(2)],
            intr: [v.fx, v.fy, v.cx, v.cy],
            eye: [v.eye[0], v.eye[1], v.eye[2], v.skew],
            size: [v.width as f32, v.height as f32, NEAR, 0.0],
            background,
            counts: [points, k, sh_coeffs, v.width.div_ceil(TILE)],
        }
    }
}
