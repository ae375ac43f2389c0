//! Decoded training images, streamed from disk through a small LRU cache that decodes ahead of
//! use on the CPU's cores: colour premultiplied by the mask (black background), the mask itself,
//! and lens distortion removed so the pinhole rendering rule applies.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use glam::DVec2;
use yakumo_core::Camera;

use super::validate::{DataError, TrainDataset};

/// One camera's view of one frame, undistorted.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colour premultiplied by the mask, `[row][column][rgb]`, 0..1.
    pub rgb: Vec<f32>,
    /// Mask, `[row][column]`, 0..1.
    pub mask: Vec<f32>,
    /// Both rounded to 8 bits, one word per pixel (red in the low byte, then green, blue, mask):
    /// what goes to the GPU, a quarter of the floats' bytes.
    pub packed: Vec<i32>,
}

impl ViewImage {
    /// A view of `width`×`height` pixels from its premultiplied colour and its mask.
    pub fn new(width: u32, height: u32, rgb: Vec<f32>, mask: Vec<f32>) -> ViewImage {
        ViewImage {
            width,
            height,
            packed: pack_rgba(&rgb, &mask),
            rgb,
            mask,
        }
    }
}

/// The words of [`ViewImage::packed`] from premultiplied colour and mask.
fn pack_rgba(rgb: &[f32], mask: &[f32]) -> Vec<i32> {
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u32;
    rgb.chunks_exact(3)
        .zip(mask)
        .map(|(c, &m)| (byte(c[0]) | byte(c[1]) << 8 | byte(c[2]) << 16 | byte(m) << 24) as i32)
        .collect()
}

/// Decodes `image_path` and `mask_path` for `camera` and removes its lens distortion.
pub fn load_view(
    camera: &Camera,
    image_path: &Path,
    mask_path: &Path,
) -> Result<ViewImage, DataError> {
    let bad = |path: &Path, reason: String| DataError::BadImage {
        path: path.to_owned(),
        reason,
    };
    let rgb = image::open(image_path)
        .map_err(|e| bad(image_path, e.to_string()))?
        .into_rgb8();
    let mask = image::open(mask_path)
        .map_err(|e| bad(mask_path, e.to_string()))?
        .into_luma8();
    let size = (camera.width, camera.height);
    for (path, got) in [
        (image_path, rgb.dimensions()),
        (mask_path, mask.dimensions()),
    ] {
        if got != size {
            return Err(bad(
                path,
                format!(
                    "is {}×{} but camera {} is calibrated for {}×{}",
                    got.0, got.1, camera.name, size.0, size.1
                ),
            ));
        }
    }
    let mut colour: Vec<f32> = rgb.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
    let mut alpha: Vec<f32> = mask.as_raw().iter().map(|&v| v as f32 / 255.0).collect();
    if !camera.dist.is_none() {
        colour = undistort(camera, &colour, 3);
        alpha = undistort(camera, &alpha, 1);
    }
    for (px, m) in colour.chunks_exact_mut(3).zip(&alpha) {
        px.iter_mut().for_each(|c| *c *= m);
    }
    Ok(ViewImage::new(camera.width, camera.height, colour, alpha))
}

/// Resamples an image of `camera` (with distortion) to the same camera without distortion,
/// bilinearly; pixels whose source lies outside the image become 0.
fn undistort(camera: &Camera, src: &[f32], channels: usize) -> Vec<f32> {
    let (w, h) = (camera.width as usize, camera.height as usize);
    let mut out = vec![0.0f32; src.len()];
    for v in 0..h {
        for u in 0..w {
            let n = camera.pixel_to_normalised(DVec2::new(u as f64, v as f64));
            let p = camera.normalised_to_pixel(camera.dist.distort(n));
            let (x0, y0) = (p.x.floor(), p.y.floor());
            if !(x0 >= 0.0 && y0 >= 0.0 && x0 + 1.0 < w as f64 && y0 + 1.0 < h as f64) {
                continue;
            }
            let (fx, fy) = ((p.x - x0) as f32, (p.y - y0) as f32);
            let (x0, y0) = (x0 as usize, y0 as usize);
            for c in 0..channels {
                let at = |x: usize, y: usize| src[(y * w + x) * channels + c];
                let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
                let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
                out[(v * w + u) * channels + c] = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
    out
}

/// Key of a view: (camera index, frame number).
type ViewKey = (usize, u32);

/// A self-contained job that decodes the view `key` of `data` (it can run on another thread).
fn view_loader(
    data: &TrainDataset,
    (camera, frame): ViewKey,
) -> impl FnOnce() -> Result<ViewImage, DataError> + Send + 'static {
    let cam = data.cameras()[camera].clone();
    let image = data.dataset.image_path(&cam.name, frame);
    let mask = data.mask_path(&cam.name, frame);
    move || load_view(&cam, &image, &mask)
}

/// A least-recently-used cache of decoded views keyed by (camera index, frame number), with
/// background decoding: [`ImageCache::prefetch`] starts decoding views on rayon's pool, and
/// [`ImageCache::get`] waits for a view in flight instead of decoding it again.
#[derive(Debug)]
pub struct ImageCache {
    capacity: usize,
    entries: HashMap<ViewKey, Arc<ViewImage>>,
    order: VecDeque<ViewKey>,
    pending: HashMap<ViewKey, Receiver<Result<ViewImage, DataError>>>,
}

impl ImageCache {
    /// A cache holding at most `capacity` views (at least one).
    pub fn new(capacity: usize) -> ImageCache {
        ImageCache {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
            pending: HashMap::new(),
        }
    }

    /// Starts decoding, in the background, every view of `keys` (camera index, frame number) that
    /// is neither cached nor already in flight.
    pub fn prefetch(&mut self, data: &TrainDataset, keys: &[ViewKey]) {
        for &key in keys {
            if self.entries.contains_key(&key) || self.pending.contains_key(&key) {
                continue;
            }
            if self.pending.len() >= self.capacity {
                return;
            }
            let load = view_loader(data, key);
            let (send, receive) = sync_channel(1);
            rayon::spawn(move || {
                // The receiver is gone only when the cache was dropped: nothing to deliver.
                let _ = send.send(load());
            });
            self.pending.insert(key, receive);
        }
    }

    /// The view of camera `camera` (index into `data.cameras()`) at `frame`: from the cache, from
    /// a decode in flight, or decoded now.
    pub fn get(
        &mut self,
        data: &TrainDataset,
        camera: usize,
        frame: u32,
    ) -> Result<Arc<ViewImage>, DataError> {
        let key = (camera, frame);
        if let Some(view) = self.entries.get(&key).cloned() {
            self.order.retain(|k| *k != key);
            self.order.push_back(key);
            return Ok(view);
        }
        let in_flight = self.pending.remove(&key).and_then(|r| r.recv().ok());
        let view = Arc::new(match in_flight {
            Some(result) => result?,
            None => view_loader(data, key)()?,
        });
        if self.entries.len() >= self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.entries.remove(&old);
        }
        self.entries.insert(key, view.clone());
        self.order.push_back(key);
        Ok(view)
    }

    /// Number of cached views.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;
    use yakumo_core::Distortion;

    #[test]
    fn undistortion_inverts_the_lens_model() {
        let mut cam = Camera::look_at(
            "c",
            (48, 40),
            (40.0, 40.0),
            (23.5, 19.5),
            DVec3::new(0.0, 0.0, -2.0),
            DVec3::ZERO,
            -DVec3::Y,
        );
        cam.dist = Distortion::from_array([-0.2, 0.05, 0.001, -0.002, 0.0]);
        // A smooth pattern defined on undistorted pixel coordinates, rendered through the lens.
        let pattern = |p: DVec2| ((p.x * 0.2).sin() * (p.y * 0.15).cos()) as f32;
        let (w, h) = (48usize, 40usize);
        let mut distorted = vec![0.0f32; w * h];
        for v in 0..h {
            for u in 0..w {
                let n = cam
                    .dist
                    .undistort(cam.pixel_to_normalised(DVec2::new(u as f64, v as f64)));
                distorted[v * w + u] = pattern(cam.normalised_to_pixel(n));
            }
        }
        let out = undistort(&cam, &distorted, 1);
        let mut worst = 0.0f32;
        for v in 6..h - 6 {
            for u in 6..w - 6 {
                worst = worst.max((out[v * w + u] - pattern(DVec2::new(u as f64, v as f64))).abs());
            }
        }
        assert!(worst < 0.03, "worst error {worst}");
    }
}
