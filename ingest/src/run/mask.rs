//! Foreground masks: the [`MaskMaker`] trait, background subtraction against a clean plate in a
//! shadow-tolerant colour space ([`PlateDifference`]), a chroma key ([`ChromaKey`]), and the
//! binary clean-up both share (open, close, hole filling, largest components).

use image::imageops::{self, FilterType};
use image::{GrayImage, RgbImage};
use std::collections::VecDeque;

/// A frame whose size differs from what the mask maker was built for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("frame is {frame:?} pixels but the clean plate is {plate:?}")]
pub struct MaskSizeError {
    /// (width, height) of the frame.
    pub frame: (u32, u32),
    /// (width, height) expected.
    pub plate: (u32, u32),
}

/// Makes a foreground mask (255 subject, 0 background, same size) from one camera frame.
pub trait MaskMaker: Send + Sync {
    /// The mask of `frame`.
    fn mask(&self, frame: &RgbImage) -> Result<GrayImage, MaskSizeError>;
}

/// Thresholds of [`PlateDifference`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlateThresholds {
    /// Pixels whose channels all differ from the plate by less than this (0–255) are background.
    pub min_difference: f32,
    /// Chromaticity distance (of `(r, g) / (r + g + b)`) above which a pixel is subject.
    pub chroma: f32,
    /// Brightness ratio frame/plate below which a pixel is subject rather than shadow.
    pub shadow_ratio: f32,
    /// Brightness ratio frame/plate above which a pixel is subject rather than highlight.
    pub highlight_ratio: f32,
    /// Below this mean level (0–255) chromaticity is too noisy to use; only brightness counts.
    pub dark_level: f32,
    /// Pixels whose channels all differ from the plate by at most this many times the frame's
    /// noise level (the median difference over the whole image) are firmly background: clean-up
    /// never turns them into subject, so real gaps (between the legs, under an arm) stay open.
    pub noise_multiple: f32,
}

impl Default for PlateThresholds {
    fn default() -> Self {
        PlateThresholds {
            min_difference: 20.0,
            chroma: 0.08,
            shadow_ratio: 0.7,
            highlight_ratio: 1.25,
            dark_level: 24.0,
            noise_multiple: 3.0,
        }
    }
}

/// Binary clean-up applied after classifying pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cleanup {
    /// Radius (pixels) of the square opening that removes specks; 0 (the default) skips it,
    /// since at low resolutions limbs are only 2–3 pixels wide and small components are
    /// dropped anyway.
    pub open_radius: u32,
    /// Radius (pixels) of the square closing that bridges cracks.
    pub close_radius: u32,
    /// Components smaller than this fraction of the largest one are dropped. The default, 3 %,
    /// keeps a head or hand that a camouflaged neck or wrist (skin against a brick wall) cut off
    /// from the body.
    pub keep_fraction: f32,
}

impl Default for Cleanup {
    fn default() -> Self {
        Cleanup {
            open_radius: 0,
            close_radius: 2,
            keep_fraction: 0.03,
        }
    }
}

/// Background subtraction against a clean plate (the empty scene seen by the same camera).
/// A pixel is subject when it differs from the plate in chromaticity, or when its brightness
/// ratio to the plate is outside the band a shadow or highlight would explain.
#[derive(Debug, Clone)]
pub struct PlateDifference {
    plate: RgbImage,
    thresholds: PlateThresholds,
    cleanup: Cleanup,
}

impl PlateDifference {
    /// A mask maker for frames of the camera that shot `plate`.
    pub fn new(plate: RgbImage, thresholds: PlateThresholds, cleanup: Cleanup) -> Self {
        PlateDifference {
            plate,
            thresholds,
            cleanup,
        }
    }

    /// The class of frame pixel `f` against plate pixel `p`, when it is not firm background.
    fn classify(&self, f: [u8; 3], p: [u8; 3]) -> Class {
        let t = &self.thresholds;
        let diff = max_difference(f, p);
        let sum = |c: [u8; 3]| c.iter().map(|&v| v as f32).sum::<f32>();
        let (sf, sp) = (sum(f), sum(p));
        let ratio = (sf + 3.0) / (sp + 3.0);
        if diff >= t.min_difference && (ratio < t.shadow_ratio || ratio > t.highlight_ratio) {
            return Class::Subject;
        }
        if sf.min(sp) / 3.0 < t.dark_level {
            return Class::Unsure;
        }
        let chroma = |c: [u8; 3], s: f32| [c[0] as f32 / s, c[1] as f32 / s];
        let (cf, cp) = (chroma(f, sf), chroma(p, sp));
        let distance = (cf[0] - cp[0]).hypot(cf[1] - cp[1]);
        if diff >= t.min_difference && distance > t.chroma {
            Class::Subject
        } else if ratio < 1.0 && ratio >= t.shadow_ratio && distance < t.chroma / 2.0 {
            // Darker with the plate's colour: what a shadow does.
            Class::Weak
        } else {
            Class::Unsure
        }
    }

    /// The largest channel difference that counts as noise in a frame whose pixels differ from
    /// the plate's by `differences`: `noise_multiple` times the median (most of the image is
    /// background), at least 1.
    fn noise_limit(&self, differences: &[f32]) -> f32 {
        let mut histogram = [0usize; 256];
        for &d in differences {
            histogram[(d as usize).min(255)] += 1;
        }
        let half = differences.len().div_ceil(2);
        let mut seen = 0;
        let median = histogram
            .iter()
            .position(|&n| {
                seen += n;
                seen >= half
            })
            .unwrap_or(0);
        (self.thresholds.noise_multiple * median as f32).max(1.0)
    }
}

/// A pixel is firm background when it and at least this many of the 9 pixels of its 3×3
/// neighbourhood (itself included) match the plate within noise: a region of background
/// reproduces the plate, while a subject colour that happens to match it does so in scattered
/// pixels.
const FIRM_SUPPORT: u8 = 6;

/// For every pixel, how many of its 3×3 neighbourhood (itself included, clipped at the border)
/// are set in `m`.
fn neighbourhood_counts(m: &[bool], w: usize, h: usize) -> Vec<u8> {
    let mut counts = vec![0u8; m.len()];
    for y in 0..h {
        for x in 0..w {
            let mut n = 0;
            for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    n += m[ny * w + nx] as u8;
                }
            }
            counts[y * w + x] = n;
        }
    }
    counts
}

/// Squared RGB distance of two pixels.
fn squared_distance(a: [u8; 3], b: [u8; 3]) -> i32 {
    (0..3).map(|i| (a[i] as i32 - b[i] as i32).pow(2)).sum()
}

/// The largest per-channel absolute difference of two pixels.
fn max_difference(f: [u8; 3], p: [u8; 3]) -> f32 {
    (0..3)
        .map(|i| (f[i] as f32 - p[i] as f32).abs())
        .fold(0.0, f32::max)
}

impl MaskMaker for PlateDifference {
    fn mask(&self, frame: &RgbImage) -> Result<GrayImage, MaskSizeError> {
        if frame.dimensions() != self.plate.dimensions() {
            return Err(MaskSizeError {
                frame: frame.dimensions(),
                plate: self.plate.dimensions(),
            });
        }
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        let differences: Vec<f32> = frame
            .pixels()
            .zip(self.plate.pixels())
            .map(|(f, p)| max_difference(f.0, p.0))
            .collect();
        let firm = self.noise_limit(&differences);
        let quiet: Vec<bool> = differences.iter().map(|&d| d <= firm).collect();
        let support = neighbourhood_counts(&quiet, w, h);
        let classes: Vec<Class> = frame
            .pixels()
            .zip(self.plate.pixels())
            .enumerate()
            .map(|(i, (f, p))| {
                if quiet[i] && support[i] >= FIRM_SUPPORT {
                    Class::Background
                } else {
                    self.classify(f.0, p.0)
                }
            })
            .collect();
        // An unsure pixel joins the subject pixel next to it when its colour is nearer to that
        // pixel's than to the plate's: a camouflaged part of the subject does, a background
        // pixel blurred by the edge (compression, chroma subsampling) does not.
        let (f, p) = (frame.as_raw(), self.plate.as_raw());
        let rgb = |img: &[u8], i: usize| [img[3 * i], img[3 * i + 1], img[3 * i + 2]];
        let joins = |n: usize, from: usize| {
            let here = rgb(f, n);
            squared_distance(here, rgb(f, from)) < squared_distance(here, rgb(p, n))
        };
        let mask = clean_up(&classes, &joins, w, h, &self.cleanup);
        Ok(to_image(&refine_edges(f, p, &mask, w, h), frame))
    }
}

/// Radius (pixels) of the square around an edge pixel whose interior subject pixels give the
/// subject colour there.
const EDGE_COLOUR_RADIUS: usize = 2;
/// Least squared RGB distance between the subject colour and the plate's for an edge pixel's
/// coverage to be judged (below it the mix says nothing).
const EDGE_MIN_CONTRAST: f32 = 24.0 * 24.0;

/// Re-decides the pixels on both sides of the mask's outline by their coverage: the colour `f` of
/// such a pixel is taken as a mix `α·s + (1 − α)·p` of the subject colour `s` (the mean of the
/// interior subject pixels nearby) and the plate's `p`, and the pixel is subject when `α ≥ ½`
/// (least squares: `α = (f − p)·(s − p) / |s − p|²`). Edge pixels whose colour differs from the
/// plate at all are otherwise classed as subject, and colour blurred by compression and chroma
/// subsampling puts the outline about a pixel outside the true one. Pixels without interior
/// subject pixels nearby (thin parts) or without contrast keep their class.
fn refine_edges(frame: &[u8], plate: &[u8], m: &[bool], w: usize, h: usize) -> Vec<bool> {
    let interior = erode(m, w, h, 1);
    let outline = dilate(m, w, h, 1)
        .iter()
        .zip(&interior)
        .map(|(&near, &inside)| near && !inside)
        .collect::<Vec<bool>>();
    let colour = |img: &[u8], i: usize| [0, 1, 2].map(|c| img[3 * i + c] as f32);
    let r = EDGE_COLOUR_RADIUS;
    let mut out = m.to_vec();
    for i in (0..m.len()).filter(|&i| outline[i]) {
        let (x, y) = (i % w, i / w);
        let (mut sum, mut n) = ([0.0f32; 3], 0);
        for ny in y.saturating_sub(r)..=(y + r).min(h - 1) {
            for nx in x.saturating_sub(r)..=(x + r).min(w - 1) {
                let j = ny * w + nx;
                if interior[j] {
                    let c = colour(frame, j);
                    (0..3).for_each(|k| sum[k] += c[k]);
                    n += 1;
                }
            }
        }
        if n == 0 {
            continue;
        }
        let (f, p) = (colour(frame, i), colour(plate, i));
        let d = [0, 1, 2].map(|k| sum[k] / n as f32 - p[k]);
        let contrast: f32 = d.iter().map(|v| v * v).sum();
        if contrast < EDGE_MIN_CONTRAST {
            continue;
        }
        let alpha = (0..3).map(|k| (f[k] - p[k]) * d[k]).sum::<f32>() / contrast;
        out[i] = alpha >= 0.5;
    }
    out
}

/// A mask image (255 subject, 0 background) the size of `like` from per-pixel flags.
fn to_image(m: &[bool], like: &RgbImage) -> GrayImage {
    let bytes = m.iter().map(|&v| if v { 255 } else { 0 }).collect();
    GrayImage::from_raw(like.width(), like.height(), bytes).expect("mask buffer matches its size")
}

/// Keys out a uniformly coloured backdrop: pixels whose chromaticity is near the key colour's
/// are background.
#[derive(Debug, Clone)]
pub struct ChromaKey {
    key: [f32; 2],
    tolerance: f32,
    cleanup: Cleanup,
}

impl ChromaKey {
    /// A chromaticity tolerance that suits an evenly lit green or blue screen.
    pub const DEFAULT_TOLERANCE: f32 = 0.1;

    /// Keys out `key` (RGB) with chromaticity `tolerance` (e.g. 0.08).
    pub fn new(key: [u8; 3], tolerance: f32, cleanup: Cleanup) -> Self {
        let s = key.iter().map(|&v| v as f32).sum::<f32>().max(1.0);
        ChromaKey {
            key: [key[0] as f32 / s, key[1] as f32 / s],
            tolerance,
            cleanup,
        }
    }
}

impl MaskMaker for ChromaKey {
    fn mask(&self, frame: &RgbImage) -> Result<GrayImage, MaskSizeError> {
        let classes: Vec<Class> = frame
            .pixels()
            .map(|p| {
                let s = p.0.iter().map(|&v| v as f32).sum::<f32>().max(1.0);
                let (r, g) = (p.0[0] as f32 / s, p.0[1] as f32 / s);
                if (r - self.key[0]).hypot(g - self.key[1]) > self.tolerance {
                    Class::Subject
                } else {
                    Class::Weak
                }
            })
            .collect();
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        let mask = clean_up(&classes, &|_, _| false, w, h, &self.cleanup);
        Ok(to_image(&mask, frame))
    }
}

/// `mask` (0/255) resampled to `width` × `height` with a triangle filter (averaging over each
/// output pixel's footprint when shrinking) and thresholded back to 0/255 at half coverage.
pub fn resize_mask(mask: &GrayImage, width: u32, height: u32) -> GrayImage {
    let mut smooth = imageops::resize(mask, width, height, FilterType::Triangle);
    for p in smooth.pixels_mut() {
        p.0[0] = if p.0[0] >= 128 { 255 } else { 0 };
    }
    smooth
}

/// What the colour test says about one pixel, from sure background to sure subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Matches the background within noise: clean-up never makes it subject.
    Background,
    /// Looks like background, but closing and hole filling may make it subject.
    Weak,
    /// Too close to the background to call: subject when connected to subject pixels.
    Unsure,
    /// Plainly not the background.
    Subject,
}

/// Growth from the subject pixels into connected unsure ones (an unsure pixel `n` reached from
/// subject pixel `from` joins when `joins(n, from)`), opening, closing, hole filling and
/// small-component removal, never turning firm background into subject.
fn clean_up(
    classes: &[Class],
    joins: &dyn Fn(usize, usize) -> bool,
    w: usize,
    h: usize,
    cleanup: &Cleanup,
) -> Vec<bool> {
    let (o, c) = (cleanup.open_radius as usize, cleanup.close_radius as usize);
    let grown = grow(classes, joins, w, h);
    let opened = dilate(&erode(&grown, w, h, o), w, h, o);
    let may_flip = |m: Vec<bool>| -> Vec<bool> {
        m.into_iter()
            .zip(classes)
            .map(|(v, &k)| v && k != Class::Background)
            .collect()
    };
    let closed = may_flip(erode(&dilate(&opened, w, h, c), w, h, c));
    let closed: Vec<bool> = closed.iter().zip(&opened).map(|(&a, &b)| a || b).collect();
    let filled = may_flip(fill_holes(closed.clone(), classes, w, h));
    let filled: Vec<bool> = filled.iter().zip(&closed).map(|(&a, &b)| a || b).collect();
    keep_largest(filled, w, h, cleanup.keep_fraction)
}

/// Subject pixels plus the unsure pixels 8-connected to them through unsure pixels that
/// `joins` accepts.
fn grow(classes: &[Class], joins: &dyn Fn(usize, usize) -> bool, w: usize, h: usize) -> Vec<bool> {
    let mut m: Vec<bool> = classes.iter().map(|&k| k == Class::Subject).collect();
    let mut stack: Vec<usize> = (0..m.len()).filter(|&i| m[i]).collect();
    while let Some(i) = stack.pop() {
        let (x, y) = ((i % w) as i64, (i / w) as i64);
        for dy in -1..=1 {
            for dx in -1..=1 {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                    continue;
                }
                let n = ny as usize * w + nx as usize;
                if !m[n] && classes[n] == Class::Unsure && joins(n, i) {
                    m[n] = true;
                    stack.push(n);
                }
            }
        }
    }
    m
}

/// Square erosion of radius `r` (out-of-image pixels repeat the edge).
fn erode(m: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    morph(m, w, h, r, true)
}

/// Square dilation of radius `r`.
fn dilate(m: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    morph(m, w, h, r, false)
}

/// Separable min (`all`) or max filter over a `(2r+1)²` square, the window cut at the image's
/// edges: running counts of set pixels along the rows, then down the columns (a row at a time),
/// so each pixel costs the same whatever `r`.
fn morph(m: &[bool], w: usize, h: usize, r: usize, all: bool) -> Vec<bool> {
    if r == 0 || m.is_empty() {
        return m.to_vec();
    }
    // Whether a window of `len` pixels holding `count` set ones is set.
    let keep = |count: u32, len: usize| {
        if all {
            count as usize == len
        } else {
            count > 0
        }
    };
    // The window around `pos` in `0..n`: `lo..=hi`.
    let window = |pos: usize, n: usize| (pos + r).min(n - 1) + 1 - pos.saturating_sub(r);
    let mut rows = vec![false; m.len()];
    for (src, dst) in m.chunks_exact(w).zip(rows.chunks_exact_mut(w)) {
        let mut count: u32 = src[..r.min(w)].iter().map(|&v| u32::from(v)).sum();
        for x in 0..w {
            if x + r < w {
                count += u32::from(src[x + r]);
            }
            if x > r {
                count -= u32::from(src[x - r - 1]);
            }
            dst[x] = keep(count, window(x, w));
        }
    }
    let mut out = vec![false; m.len()];
    let mut counts = vec![0u32; w];
    let row = |y: usize| &rows[y * w..(y + 1) * w];
    for y in 0..r.min(h) {
        for (c, &v) in counts.iter_mut().zip(row(y)) {
            *c += u32::from(v);
        }
    }
    for (y, dst) in out.chunks_exact_mut(w).enumerate() {
        if y + r < h {
            for (c, &v) in counts.iter_mut().zip(row(y + r)) {
                *c += u32::from(v);
            }
        }
        if y > r {
            for (c, &v) in counts.iter_mut().zip(row(y - r - 1)) {
                *c -= u32::from(v);
            }
        }
        let len = window(y, h);
        for (o, &c) in dst.iter_mut().zip(&counts) {
            *o = keep(c, len);
        }
    }
    out
}

/// Marks as subject every background region that does not touch the image border, unless most
/// of it looks like the background (classes [`Class::Weak`] or [`Class::Background`]): a gap
/// between the legs or under an arm shows the floor or wall, often in shadow, while a hole that
/// is really subject is a patch of colour the plate does not explain.
fn fill_holes(mut m: Vec<bool>, classes: &[Class], w: usize, h: usize) -> Vec<bool> {
    // 0: not yet reached, 1: subject, 2: background reached from the border, 3: in a hole.
    let mut seen = vec![0u8; m.len()];
    let mut queue = VecDeque::new();
    for (i, &v) in m.iter().enumerate() {
        let (x, y) = (i % w, i / w);
        if v {
            seen[i] = 1;
        } else if x == 0 || y == 0 || x == w - 1 || y == h - 1 {
            seen[i] = 2;
            queue.push_back(i);
        }
    }
    while let Some(i) = queue.pop_front() {
        for n in neighbours(i, w, h) {
            if seen[n] == 0 {
                seen[n] = 2;
                queue.push_back(n);
            }
        }
    }
    // Every remaining region is a hole: fill it unless it mostly looks like background.
    for start in 0..m.len() {
        if seen[start] != 0 {
            continue;
        }
        seen[start] = 3;
        let mut hole = vec![start];
        let mut next = 0;
        while next < hole.len() {
            let i = hole[next];
            next += 1;
            for n in neighbours(i, w, h) {
                if seen[n] == 0 {
                    seen[n] = 3;
                    hole.push(n);
                }
            }
        }
        let background_like = hole
            .iter()
            .filter(|&&i| matches!(classes[i], Class::Weak | Class::Background))
            .count();
        if 2 * background_like < hole.len() {
            hole.iter().for_each(|&i| m[i] = true);
        }
    }
    m
}

/// Keeps the 8-connected components of at least `fraction` of the largest one's area.
fn keep_largest(m: Vec<bool>, w: usize, h: usize, fraction: f32) -> Vec<bool> {
    let mut label = vec![0u32; m.len()];
    let mut areas = vec![0usize];
    for start in 0..m.len() {
        if !m[start] || label[start] != 0 {
            continue;
        }
        let id = areas.len() as u32;
        let mut area = 0;
        let mut stack = vec![start];
        label[start] = id;
        while let Some(i) = stack.pop() {
            area += 1;
            let (x, y) = ((i % w) as i64, (i / w) as i64);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let n = ny as usize * w + nx as usize;
                    if m[n] && label[n] == 0 {
                        label[n] = id;
                        stack.push(n);
                    }
                }
            }
        }
        areas.push(area);
    }
    let largest = areas.iter().copied().max().unwrap_or(0);
    let min_area = (largest as f32 * fraction).ceil().max(1.0) as usize;
    label
        .iter()
        .map(|&l| l != 0 && areas[l as usize] >= min_area)
        .collect()
}

/// The 4-neighbours of pixel `i`.
fn neighbours(i: usize, w: usize, h: usize) -> impl Iterator<Item = usize> {
    let (x, y) = (i % w, i / w);
    [
        (x > 0).then(|| i - 1),
        (x + 1 < w).then(|| i + 1),
        (y > 0).then(|| i - w),
        (y + 1 < h).then(|| i + w),
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A 40×30 grey plate; the frame adds a red 12×10 block with a 2×2 hole of plate colour, a
    /// shadow band (plate darkened to 80 %) and a single-pixel speck.
    fn scene() -> (RgbImage, RgbImage) {
        let plate = RgbImage::from_fn(40, 30, |x, _| image::Rgb([120, 110 + (x % 7) as u8, 100]));
        let mut frame = plate.clone();
        for y in 0..30 {
            for x in 0..40 {
                let p = plate.get_pixel(x, y).0;
                if (10..22).contains(&x)
                    && (8..18).contains(&y)
                    && !((15..17).contains(&x) && (12..14).contains(&y))
                {
                    frame.put_pixel(x, y, image::Rgb([200, 40, 40]));
                } else if (24..34).contains(&x) {
                    frame.put_pixel(x, y, image::Rgb(p.map(|v| (v as f32 * 0.8) as u8)));
                }
            }
        }
        frame.put_pixel(3, 3, image::Rgb([250, 250, 10]));
        (plate, frame)
    }

    #[test]
    fn plate_difference_ignores_shadows_and_specks_and_fills_holes() {
        let (plate, frame) = scene();
        let mask = PlateDifference::new(plate, PlateThresholds::default(), Cleanup::default())
            .mask(&frame)
            .unwrap();
        for y in 0..30 {
            for x in 0..40 {
                let subject = (10..22).contains(&x) && (8..18).contains(&y);
                assert_eq!(
                    mask.get_pixel(x, y).0[0] == 255,
                    subject,
                    "pixel ({x}, {y})"
                );
            }
        }
    }

    /// A 20×16 red block on a grey plate whose outline pixels are mixes of red and grey.
    fn blended_block(coverage: f32) -> (RgbImage, RgbImage) {
        let plate = RgbImage::from_pixel(40, 30, image::Rgb([120, 120, 120]));
        let mix = |a: f32| {
            image::Rgb([0, 1, 2].map(|c| {
                let (red, grey) = ([220.0, 40.0, 40.0][c], 120.0);
                (a * red + (1.0 - a) * grey) as u8
            }))
        };
        let mut frame = plate.clone();
        for y in 7..23 {
            for x in 10..30 {
                let outline = x == 10 || x == 29 || y == 7 || y == 22;
                frame.put_pixel(x, y, mix(if outline { coverage } else { 1.0 }));
            }
        }
        (plate, frame)
    }

    #[test]
    fn outline_pixels_are_subject_when_mostly_covered() {
        for (coverage, outline_is_subject) in [(0.3, false), (0.7, true)] {
            let (plate, frame) = blended_block(coverage);
            let mask = PlateDifference::new(plate, PlateThresholds::default(), Cleanup::default())
                .mask(&frame)
                .unwrap();
            for y in 0..30 {
                for x in 0..40 {
                    let inner = (11..29).contains(&x) && (8..22).contains(&y);
                    let outline = !inner && (10..30).contains(&x) && (7..23).contains(&y);
                    let want = inner || (outline && outline_is_subject);
                    assert_eq!(
                        mask.get_pixel(x, y).0[0] == 255,
                        want,
                        "coverage {coverage}, pixel ({x}, {y})"
                    );
                }
            }
        }
    }

    #[test]
    fn a_shadowed_gap_inside_the_subject_is_not_filled() {
        // A red ring whose inside shows the plate in shadow (darker, same colour), as the floor
        // between the legs does.
        let plate = RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([150 + (x % 5) as u8 * 6, 130 + (y % 3) as u8 * 9, 110])
        });
        let mut frame = plate.clone();
        for y in 5..25 {
            for x in 10..30 {
                let inside = (16..24).contains(&x) && (11..19).contains(&y);
                let p = plate.get_pixel(x, y).0;
                let shade = p.map(|v| (v as f32 * 0.75) as u8);
                frame.put_pixel(x, y, image::Rgb(if inside { shade } else { [200, 40, 40] }));
            }
        }
        let mask = PlateDifference::new(plate, PlateThresholds::default(), Cleanup::default())
            .mask(&frame)
            .unwrap();
        let inside_subject = (17..23)
            .flat_map(|x| (12..18).map(move |y| (x, y)))
            .filter(|&(x, y)| mask.get_pixel(x, y).0[0] == 255)
            .count();
        assert_eq!(inside_subject, 0);
        assert_eq!(mask.get_pixel(12, 7).0[0], 255);
    }

    #[test]
    fn background_enclosed_by_the_subject_stays_background() {
        // A red ring (outer 20×20, inner 8×8) on a textured plate: the inside shows the plate,
        // as between crossed legs, so neither closing nor hole filling may cover it.
        let plate = RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([120 + (x % 5) as u8 * 6, 100 + (y % 3) as u8 * 9, 90])
        });
        let mut frame = plate.clone();
        let ring = |x: u32, y: u32| {
            (10..30).contains(&x)
                && (5..25).contains(&y)
                && !((16..24).contains(&x) && (11..19).contains(&y))
        };
        for y in 0..30 {
            for x in 0..40 {
                if ring(x, y) {
                    frame.put_pixel(x, y, image::Rgb([200, 40, 40]));
                }
            }
        }
        let mask = PlateDifference::new(plate, PlateThresholds::default(), Cleanup::default())
            .mask(&frame)
            .unwrap();
        // Closing may round off the four inner corners (each has only 4 plate-like pixels in
        // its 3×3 neighbourhood, too few to be firm background); everything else is exact.
        let corner = |x: u32, y: u32| [16, 23].contains(&x) && [11, 18].contains(&y);
        for y in 0..30 {
            for x in 0..40 {
                if !corner(x, y) {
                    assert_eq!(mask.get_pixel(x, y).0[0] == 255, ring(x, y), "({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn chroma_key_keeps_the_subject() {
        let mut frame = RgbImage::from_pixel(20, 20, image::Rgb([30, 200, 40]));
        for y in 5..15 {
            for x in 6..12 {
                frame.put_pixel(x, y, image::Rgb([180, 150, 140]));
            }
        }
        let mask = ChromaKey::new(
            [20, 190, 50],
            ChromaKey::DEFAULT_TOLERANCE,
            Cleanup::default(),
        )
        .mask(&frame)
        .unwrap();
        let on = mask.pixels().filter(|p| p.0[0] == 255).count();
        assert_eq!(on, 60);
        assert_eq!(mask.get_pixel(8, 10).0[0], 255);
    }

    #[test]
    fn size_mismatch_is_reported() {
        let maker = PlateDifference::new(
            RgbImage::new(8, 6),
            PlateThresholds::default(),
            Cleanup::default(),
        );
        let err = maker.mask(&RgbImage::new(6, 8)).unwrap_err();
        assert_eq!(
            err,
            MaskSizeError {
                frame: (6, 8),
                plate: (8, 6)
            }
        );
    }

    #[test]
    fn resized_masks_stay_binary_and_keep_their_shape() {
        // A 10×8 block at (4, 4) in 40×30: at half size it covers (2..7, 2..6) exactly.
        let mask = GrayImage::from_fn(40, 30, |x, y| {
            image::Luma([if (4..14).contains(&x) && (4..12).contains(&y) {
                255
            } else {
                0
            }])
        });
        let half = resize_mask(&mask, 20, 15);
        assert_eq!(half.dimensions(), (20, 15));
        for (x, y, p) in half.enumerate_pixels() {
            let inside = (2..7).contains(&x) && (2..6).contains(&y);
            assert_eq!(p.0[0], if inside { 255 } else { 0 }, "({x}, {y})");
        }
    }

    /// The min or max over the `(2r+1)²` square cut at the edges, pixel by pixel.
    fn morph_by_definition(m: &[bool], w: usize, h: usize, r: usize, all: bool) -> Vec<bool> {
        (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let mut window = (y.saturating_sub(r)..=(y + r).min(h - 1)).flat_map(|ny| {
                    (x.saturating_sub(r)..=(x + r).min(w - 1)).map(move |nx| m[ny * w + nx])
                });
                if all {
                    window.all(|v| v)
                } else {
                    window.any(|v| v)
                }
            })
            .collect()
    }

    #[test]
    fn erosion_and_dilation_match_their_definition() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for (w, h) in [(1, 1), (7, 1), (1, 9), (13, 11), (40, 23)] {
            for density in [0.2, 0.5, 0.9] {
                let m: Vec<bool> = (0..w * h).map(|_| rng.random_bool(density)).collect();
                for r in 0..5 {
                    for all in [true, false] {
                        assert_eq!(
                            morph(&m, w, h, r, all),
                            morph_by_definition(&m, w, h, r, all),
                            "{w}x{h} density {density} r {r} all {all}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn opening_removes_thin_lines_and_closing_bridges_gaps() {
        // A 9×9 image: a 5×5 block at (1..6, 1..6) with a one-pixel line leaving it to the right.
        let (w, h) = (9, 9);
        let mut m = vec![false; w * h];
        for y in 1..6 {
            for x in 1..6 {
                m[y * w + x] = true;
            }
        }
        for x in 6..9 {
            m[3 * w + x] = true;
        }
        let opened = dilate(&erode(&m, w, h, 1), w, h, 1);
        assert!(!opened[3 * w + 7] && opened[3 * w + 3] && opened[w + 1]);
        let mut gap = vec![true; w * h];
        gap[4 * w + 4] = false;
        assert!(erode(&dilate(&gap, w, h, 1), w, h, 1).iter().all(|&v| v));
    }
}
