//! Lens distortion on the CPU: the scene is rendered by a pinhole "canvas" camera at
//! [`SUPERSAMPLE`] times the resolution over a larger image, then every output pixel looks up
//! where the rays through points spread over its area land on the canvas
//! (`Distortion::undistort`), samples each bilinearly and averages them. (One sample per pixel
//! left errors in the board corners that neighbouring corners shared, up to 0.05 px.)

use super::gpu::Frame;
use glam::DVec2;
use rayon::prelude::*;
use yakumo_core::{Camera, Distortion};

/// Pixels of margin kept around the canvas so bilinear taps stay inside.
const MARGIN: f64 = 2.0;

/// Canvas pixels per output pixel along each axis: every output pixel averages `SUPERSAMPLE²`
/// canvas samples spread over its area, as a sensor pixel integrates the light that falls on it.
pub const SUPERSAMPLE: usize = 2;

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
        // The pinhole camera at `SUPERSAMPLE` times the resolution: output pixel coordinate `u`
        // is canvas coordinate `S·u + (S − 1)/2` (pixel centres at integers in both).
        let s = SUPERSAMPLE as f64;
        let mut pinhole = Camera {
            dist: Distortion::NONE,
            ..cam.clone()
        };
        pinhole.k.x_axis *= s;
        pinhole.k.y_axis *= s;
        pinhole.k.z_axis.x = s * cam.cx() + (s - 1.0) / 2.0;
        pinhole.k.z_axis.y = s * cam.cy() + (s - 1.0) / 2.0;
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
        hi = hi.max(DVec2::new(s * w + s - 1.0, s * h + s - 1.0)) + MARGIN;
        let mut canvas = pinhole;
        canvas.width = (hi.x - lo.x).ceil() as u32 + 1;
        canvas.height = (hi.y - lo.y).ceil() as u32 + 1;
        canvas.k.z_axis.x -= lo.x;
        canvas.k.z_axis.y -= lo.y;
        // Sub-sample `(i, j)` of output pixel `(x, y)` sits at `(x, y) + ((i, j) + ½) / S − ½`;
        // the map holds them row by row at `S` times the output's size.
        let sub = |k: u32| {
            (k as usize / SUPERSAMPLE) as f64 + ((k as usize % SUPERSAMPLE) as f64 + 0.5) / s - 0.5
        };
        let source = (0..height * SUPERSAMPLE as u32)
            .into_par_iter()
            .flat_map_iter(|y| {
                let canvas = &canvas;
                (0..width * SUPERSAMPLE as u32).map(move |x| {
                    let q = canvas.normalised_to_pixel(ideal(DVec2::new(sub(x), sub(y))));
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

    /// Turns a canvas rendering into the distorted camera's image: each pixel the mean of its
    /// sub-samples' bilinear colours, and the mask set where their mean coverage is at least one
    /// half.
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
                let per_pixel = 1.0 / (SUPERSAMPLE * SUPERSAMPLE) as f64;
                for x in 0..w {
                    let mut c = [0.0f64; 3];
                    let mut m = 0.0;
                    for j in 0..SUPERSAMPLE {
                        let row = (y * SUPERSAMPLE + j) * w * SUPERSAMPLE;
                        for i in 0..SUPERSAMPLE {
                            let [sx, sy] = self.source[row + x * SUPERSAMPLE + i];
                            let taps =
                                bilinear_taps(sx as f64, sy as f64, canvas.width, canvas.height);
                            for (t, weight) in taps {
                                let weight = weight * per_pixel;
                                for ch in 0..3 {
                                    c[ch] += weight * canvas.rgb[t * 3 + ch] as f64;
                                }
                                m += weight * canvas.mask[t] as f64;
                            }
                        }
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
        let s = SUPERSAMPLE;
        for (x, y) in [(3, 4), (50, 30), (95, 71)] {
            // A world point seen at the centre of output pixel (x, y).
            let ray = cam
                .dist
                .undistort(cam.pixel_to_normalised(DVec2::new(x as f64, y as f64)));
            let p = cam.centre() + cam.r.transpose() * ray.extend(1.0) * 2.0;
            // The pixel's sub-samples are spread over its area around where the canvas camera
            // sees that point (one output pixel is `s` canvas pixels).
            let subs: Vec<DVec2> = (0..s * s)
                .map(|k| {
                    let [sx, sy] = warp.source[(y * s + k / s) * 96 * s + x * s + k % s];
                    DVec2::new(sx as f64, sy as f64)
                })
                .collect();
            let q = warp.canvas().project(p).unwrap();
            let mean = subs.iter().sum::<DVec2>() / (s * s) as f64;
            assert!((mean - q).length() < 0.01, "{mean} vs {q}");
            let spread = subs
                .iter()
                .map(|v| (*v - q).abs().max_element())
                .fold(0.0, f64::max);
            // Half a pixel less half a sub-sample, scaled by the lens's local magnification.
            let half = (s as f64 - 1.0) / 2.0;
            assert!(
                spread > 0.8 * half && spread < 1.25 * half,
                "sub-samples reach {spread} canvas pixels from the centre"
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
