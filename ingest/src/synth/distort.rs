//! Lens distortion on the CPU: the scene is rendered by a pinhole "canvas" camera with the same
//! focal length over a larger image, then every output pixel looks up where its ray lands on the
//! canvas (`Distortion::undistort`) and samples it bilinearly.

use super::gpu::Frame;
use glam::DVec2;
use rayon::prelude::*;
use yakumo_core::{Camera, Distortion};

/// Pixels of margin kept around the canvas so bilinear taps stay inside.
const MARGIN: f64 = 2.0;

/// The mapping from a distorted camera's pixels to its pinhole canvas.
pub struct Warp {
    canvas: Camera,
    /// Canvas position sampled by each output pixel (row-major); empty when no distortion.
    source: Vec<[f32; 2]>,
    width: u32,
    height: u32,
}

impl Warp {
    /// The warp for `cam`; without distortion the canvas is the camera itself.
    pub fn new(cam: &Camera) -> Warp {
        let (width, height) = (cam.width, cam.height);
        if cam.dist.is_none() {
            return Warp {
                canvas: cam.clone(),
                source: Vec::new(),
                width,
                height,
            };
        }
        let ideal = |px: DVec2| cam.dist.undistort(cam.pixel_to_normalised(px));
        let pinhole = Camera {
            dist: Distortion::NONE,
            ..cam.clone()
        };
        // Where the image border lands on the pinhole image plane bounds the canvas.
        let (w, h) = (width as f64 - 1.0, height as f64 - 1.0);
        let steps = 64;
        let border = (0..=steps).flat_map(|i| {
            let s = i as f64 / steps as f64;
            [
                DVec2::new(s * w, 0.0),
                DVec2::new(s * w, h),
                DVec2::new(0.0, s * h),
                DVec2::new(w, s * h),
            ]
        });
        let (mut lo, mut hi) = (DVec2::splat(f64::MAX), DVec2::splat(f64::MIN));
        for px in border {
            let q = pinhole.normalised_to_pixel(ideal(px));
            lo = lo.min(q);
            hi = hi.max(q);
        }
        lo = lo.min(DVec2::ZERO) - MARGIN;
        hi = hi.max(DVec2::new(w, h)) + MARGIN;
        let mut canvas = pinhole;
        canvas.width = (hi.x - lo.x).ceil() as u32 + 1;
        canvas.height = (hi.y - lo.y).ceil() as u32 + 1;
        canvas.k.z_axis.x -= lo.x;
        canvas.k.z_axis.y -= lo.y;
        let source = (0..height)
            .into_par_iter()
            .flat_map_iter(|y| {
                let canvas = &canvas;
                (0..width).map(move |x| {
                    let q = canvas.normalised_to_pixel(ideal(DVec2::new(x as f64, y as f64)));
                    [q.x as f32, q.y as f32]
                })
            })
            .collect();
        Warp {
            canvas,
            source,
            width,
            height,
        }
    }

    /// The pinhole camera to render before [`Warp::apply`].
    pub fn canvas(&self) -> &Camera {
        &self.canvas
    }

    /// Turns a canvas rendering into the distorted camera's image: bilinear colour, and the
    /// mask set where the bilinear coverage is at least one half.
    pub fn apply(&self, canvas: Frame) -> Frame {
        if self.source.is_empty() {
            return canvas;
        }
        assert_eq!(
            (canvas.width, canvas.height),
            (self.canvas.width, self.canvas.height)
        );
        let (w, h) = (self.width as usize, self.height as usize);
        let mut rgb = vec![0u8; w * h * 3];
        let mut mask = vec![0u8; w * h];
        rgb.par_chunks_mut(w * 3)
            .zip(mask.par_chunks_mut(w))
            .enumerate()
            .for_each(|(y, (rgb_row, mask_row))| {
                for x in 0..w {
                    let [sx, sy] = self.source[y * w + x];
                    let taps = bilinear_taps(sx as f64, sy as f64, canvas.width, canvas.height);
                    let mut c = [0.0f64; 3];
                    let mut m = 0.0;
                    for (i, weight) in taps {
                        for ch in 0..3 {
                            c[ch] += weight * canvas.rgb[i * 3 + ch] as f64;
                        }
                        m += weight * canvas.mask[i] as f64;
                    }
                    for ch in 0..3 {
                        rgb_row[x * 3 + ch] = c[ch].round().clamp(0.0, 255.0) as u8;
                    }
                    mask_row[x] = if m >= 127.5 { 255 } else { 0 };
                }
            });
        Frame {
            width: self.width,
            height: self.height,
            rgb,
            mask,
        }
    }
}

/// The four (pixel index, weight) taps of bilinear sampling at `(x, y)`, clamped to the image.
fn bilinear_taps(x: f64, y: f64, width: u32, height: u32) -> [(usize, f64); 4] {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let clamp_x = |v: f64| v.clamp(0.0, width as f64 - 1.0) as usize;
    let clamp_y = |v: f64| v.clamp(0.0, height as f64 - 1.0) as usize;
    let (xa, xb, ya, yb) = (
        clamp_x(x0),
        clamp_x(x0 + 1.0),
        clamp_y(y0),
        clamp_y(y0 + 1.0),
    );
    let w = width as usize;
    [
        (ya * w + xa, (1.0 - fx) * (1.0 - fy)),
        (ya * w + xb, fx * (1.0 - fy)),
        (yb * w + xa, (1.0 - fx) * fy),
        (yb * w + xb, fx * fy),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;

    fn camera(dist: Distortion) -> Camera {
        let mut c = Camera::look_at(
            "00",
            (96, 72),
            (100.0, 100.0),
            (47.5, 35.5),
            DVec3::new(3.0, 0.0, 1.0),
            DVec3::new(0.0, 0.0, 0.9),
            DVec3::Z,
        );
        c.dist = dist;
        c
    }

    #[test]
    fn canvas_ray_matches_the_distorted_projection() {
        let cam = camera(Distortion {
            k1: -0.1,
            k2: 0.01,
            p1: 0.0005,
            p2: -0.0005,
            k3: 0.0,
        });
        let warp = Warp::new(&cam);
        assert!(warp.canvas().width > 96 && warp.canvas().height > 72);
        for p in [
            DVec3::new(0.0, 0.3, 1.4),
            DVec3::new(0.2, -0.4, 0.5),
            DVec3::new(0.0, 0.0, 0.9),
        ] {
            let px = cam.project(p).unwrap();
            let (x, y) = (px.x.round() as usize, px.y.round() as usize);
            let [sx, sy] = warp.source[y * 96 + x];
            // The output pixel nearest the projection samples the canvas where the canvas
            // camera sees the point, within that rounding.
            let q = warp.canvas().project(p).unwrap();
            assert!(
                (q.x - sx as f64).abs() < 1.0 && (q.y - sy as f64).abs() < 1.0,
                "{q} vs {sx},{sy}"
            );
        }
    }

    #[test]
    fn warp_of_a_constant_image_is_constant() {
        let warp = Warp::new(&camera(Distortion {
            k1: 0.05,
            ..Distortion::NONE
        }));
        let (cw, ch) = (warp.canvas().width as usize, warp.canvas().height as usize);
        let canvas = Frame {
            width: cw as u32,
            height: ch as u32,
            rgb: vec![77; cw * ch * 3],
            mask: vec![255; cw * ch],
        };
        let out = warp.apply(canvas);
        assert!(out.rgb.iter().all(|v| *v == 77));
        assert!(out.mask.iter().all(|v| *v == 255));
        assert_eq!(out.rgb.len(), 96 * 72 * 3);
    }

    #[test]
    fn no_distortion_is_the_identity() {
        let warp = Warp::new(&camera(Distortion::NONE));
        let frame = Frame {
            width: 96,
            height: 72,
            rgb: (0..96 * 72 * 3).map(|i| i as u8).collect(),
            mask: vec![0; 96 * 72],
        };
        assert_eq!(warp.apply(frame.clone()), frame);
    }
}
