//! Finding a board's corners in an image.
//!
//! Corner candidates, grid assembly and ChArUco marker decoding come from the maintained
//! `calib-targets-chessboard` / `calib-targets-charuco` crates (ChESS corners, OpenCV-compatible
//! dictionaries and layout). Their positions are then refined here to sub-pixel accuracy with
//! the gradient-orthogonality condition (as OpenCV's `cornerSubPix`): at the true corner `q`,
//! every image gradient `g` at a nearby point `p` is orthogonal to `p − q`.
//!
//! Pixel convention: pixel centres at integer coordinates, as [`yakumo_core::Camera`].
//!
//! ChArUco boards give corner ids directly, so partial boards count. A plain chessboard must be
//! fully visible; its orientation comes from the colour of its first square (black), which is
//! unambiguous because the board file requires one odd and one even corner count.

use std::collections::HashMap;

use calib_targets_charuco::{CharucoBoardSpec, CharucoDetector, CharucoParams, MarkerLayout};
use calib_targets_chessboard::{
    ChessboardDetector, ChessboardParams, GrayImageView, default_chess_config,
};
use glam::DVec2;
use image::GrayImage;

use super::definition::{Board, BoardKind};

/// Smallest clearance (see [`Detector::clearances`]) of a corner that is kept, pixels: in a
/// smaller window the edges of the nearby marker or corner, blurred by the lens and the sensor,
/// pull the refined position by up to a pixel (measured on the synthetic rig's small, tilted
/// ChArUco views), so such corners are left out rather than located wrongly.
const MIN_CLEARANCE: f64 = 2.0;
/// Largest refinement window radius, pixels.
const MAX_RADIUS: f64 = 8.0;

/// Largest image (pixels) searched again at twice its size when the board is not found whole.
pub const UPSCALE_MAX_PIXELS: u64 = 2_100_000;

/// A board detector for one board definition; cheap to share between threads.
pub struct Detector {
    board: Board,
    inner: Inner,
}

enum Inner {
    Charuco(Box<CharucoDetector>),
    Chessboard(ChessboardDetector),
}

/// The detector could not be set up for a board.
#[derive(Debug, thiserror::Error)]
#[error("cannot build a detector for board {board}: {reason}")]
pub struct DetectorError {
    board: String,
    reason: String,
}

impl Detector {
    /// A detector for `board`.
    pub fn new(board: &Board) -> Result<Detector, DetectorError> {
        let fail = |reason: String| DetectorError {
            board: board.name.clone(),
            reason,
        };
        let inner = match &board.kind {
            BoardKind::Charuco {
                squares_x,
                squares_y,
                square,
                marker,
                dictionary,
            } => {
                let dict = calib_targets_charuco::resolve_dictionary(dictionary)
                    .ok_or_else(|| fail(format!("unknown dictionary {dictionary}")))?;
                let spec = CharucoBoardSpec::new(
                    *squares_y,
                    *squares_x,
                    *square as f32,
                    (*marker / *square) as f32,
                    dict,
                )
                .with_marker_layout(MarkerLayout::OpenCvCharuco);
                let det = CharucoDetector::new(CharucoParams::for_board(spec))
                    .map_err(|e| fail(e.to_string()))?;
                Inner::Charuco(Box::new(det))
            }
            BoardKind::Chessboard { .. } => {
                let mut params = ChessboardParams::default();
                params.max_components = 1;
                Inner::Chessboard(ChessboardDetector::new(params).map_err(|e| fail(e.to_string()))?)
            }
        };
        Ok(Detector {
            board: board.clone(),
            inner,
        })
    }

    /// The board's corners in `image`: `(corner id, pixel)` sorted by id; empty when the board is
    /// not found (for a chessboard: not found entirely).
    ///
    /// The corner detector samples a ring of fixed radius around each candidate, which misses
    /// the corners of small boards (squares below ≈ 20 px, or ChArUco markers whose border
    /// comes within a few pixels of the corner). When the board is not found whole, images of
    /// up to [`UPSCALE_MAX_PIXELS`] are therefore searched again at twice their size, and the
    /// fuller of the two detections is kept. Either way the positions are refined on the
    /// original image.
    pub fn detect(&self, image: &GrayImage) -> Vec<(u32, DVec2)> {
        let mut corners = self.find(image);
        let pixels = image.width() as u64 * image.height() as u64;
        if corners.len() < self.board.corner_count() && pixels <= UPSCALE_MAX_PIXELS {
            let (x0, y0, x1, y1) = self.board_region(&corners, image.width(), image.height());
            let region = image::imageops::crop_imm(image, x0, y0, x1 - x0, y1 - y0).to_image();
            let up = upscale_twice(&region);
            // Pixel centres: upscaled u covers original (u + 0.5) / 2 − 0.5.
            let origin = DVec2::new(x0 as f64, y0 as f64);
            let found: Vec<(u32, DVec2)> = self
                .find(&up)
                .into_iter()
                .map(|(id, p)| (id, origin + (p + 0.5) / 2.0 - 0.5))
                .collect();
            if found.len() > corners.len() {
                corners = found;
            }
        }
        corners.sort_by_key(|c| c.0);
        corners.dedup_by_key(|c| c.0);
        let clearances = self.clearances(&corners);
        let mut it = clearances.iter();
        corners.retain(|_| *it.next().expect("one per corner") >= MIN_CLEARANCE);
        for (c, clearance) in corners
            .iter_mut()
            .zip(clearances.into_iter().filter(|c| *c >= MIN_CLEARANCE))
        {
            c.1 = refine_corner(image, c.1, clearance.min(MAX_RADIUS));
        }
        corners.retain(|c| c.1.is_finite());
        corners
    }

    /// The pixels `x0..x1`, `y0..y1` of a `width × height` image that can hold the board, given
    /// the corners found so far: the board with a square's margin all round, placed by the
    /// homography of those corners, and 16 pixels more for the lens; the whole image when fewer
    /// than 4 corners place it, or where the board reaches towards the horizon.
    fn board_region(
        &self,
        corners: &[(u32, DVec2)],
        width: u32,
        height: u32,
    ) -> (u32, u32, u32, u32) {
        let whole = (0, 0, width, height);
        let plane: Vec<DVec2> = corners
            .iter()
            .map(|(id, _)| self.board.corner(*id).truncate())
            .collect();
        let pixels: Vec<DVec2> = corners.iter().map(|c| c.1).collect();
        let Some(h) = crate::calib::zhang::homography(&plane, &pixels) else {
            return whole;
        };
        // The sign that puts the corners seen in front of the camera (w > 0).
        let h = if (h * plane[0].extend(1.0)).z < 0.0 {
            -h
        } else {
            h
        };
        let (s, size) = (self.board.square(), self.board.size());
        let outline = [
            (-s, -s),
            (size.x + s, -s),
            (-s, size.y + s),
            (size.x + s, size.y + s),
        ];
        let mut projected = Vec::with_capacity(4);
        for (x, y) in outline {
            let p = h * glam::DVec3::new(x, y, 1.0);
            if p.z <= 1e-9 * p.truncate().length() {
                return whole;
            }
            projected.push(p.truncate() / p.z);
        }
        let slack = 16.0;
        let min = projected.iter().fold(DVec2::INFINITY, |m, p| m.min(*p)) - slack;
        let max = projected.iter().fold(DVec2::NEG_INFINITY, |m, p| m.max(*p)) + slack;
        let clamp = |v: f64, n: u32| v.clamp(0.0, n as f64) as u32;
        let (x0, y0) = (clamp(min.x.floor(), width), clamp(min.y.floor(), height));
        let (x1, y1) = (clamp(max.x.ceil(), width), clamp(max.y.ceil(), height));
        if x1 <= x0 || y1 <= y0 {
            return whole;
        }
        (x0, y0, x1, y1)
    }

    /// The detectors' corners in `image`'s pixels, unrefined and unsorted.
    fn find(&self, image: &GrayImage) -> Vec<(u32, DVec2)> {
        let view = GrayImageView {
            width: image.width() as usize,
            height: image.height() as usize,
            data: image.as_raw(),
        };
        match &self.inner {
            Inner::Charuco(det) => match det.detect(&view) {
                Ok(found) => found
                    .corners
                    .iter()
                    .filter(|c| (c.id as usize) < self.board.corner_count())
                    .map(|c| (c.id, DVec2::new(c.position.x as f64, c.position.y as f64)))
                    .collect(),
                Err(_) => Vec::new(),
            },
            Inner::Chessboard(det) => {
                let cloud =
                    calib_targets_chessboard::detect_corners(&view, &default_chess_config());
                let Some(found) = det.detect(&cloud) else {
                    return Vec::new();
                };
                let labelled: Vec<((i32, i32), DVec2)> = found
                    .corners
                    .iter()
                    .map(|c| {
                        (
                            (c.grid.u, c.grid.v),
                            DVec2::new(c.position.x as f64, c.position.y as f64),
                        )
                    })
                    .collect();
                let candidates: Vec<DVec2> = cloud
                    .iter()
                    .map(|c| DVec2::new(c.position.x as f64, c.position.y as f64))
                    .collect();
                match board_window(self.board.inner_corners(), &labelled, &candidates) {
                    Some(window) => label_chessboard(&self.board, image, &window),
                    None => Vec::new(),
                }
            }
        }
    }

    /// How far each corner's refinement window may reach (`corners` sorted by id), in pixels:
    /// the window must hold only the corner's own two edges, measured on the board as the image
    /// shows it around that corner (the grid steps `du`, `dv` to its neighbours, so that a
    /// tilted board's foreshortened direction counts). That is a quarter of the distance to the
    /// nearest other corner and, on a ChArUco board, less than the distance to the nearest
    /// marker, whose corner lies the white margin `(square − marker) / 2` from the board corner
    /// along a diagonal.
    fn clearances(&self, corners: &[(u32, DVec2)]) -> Vec<f64> {
        let (cols, rows) = self.board.inner_corners();
        let by_id: HashMap<u32, DVec2> = corners.iter().copied().collect();
        // The grid step from `id` towards `+step` (or from its opposite neighbour), if seen.
        let step = |id: u32, forward: Option<u32>, backward: Option<u32>| {
            let p = by_id[&id];
            forward
                .and_then(|f| by_id.get(&f))
                .map(|q| *q - p)
                .or_else(|| backward.and_then(|b| by_id.get(&b)).map(|q| p - *q))
        };
        let margin = match self.board.kind {
            BoardKind::Chessboard { .. } => None,
            BoardKind::Charuco { square, marker, .. } => Some((square - marker) / 2.0 / square),
        };
        let steps: Vec<(Option<DVec2>, Option<DVec2>)> = corners
            .iter()
            .map(|&(id, _)| {
                let (col, row) = (id % cols, id / cols);
                let du = step(
                    id,
                    (col + 1 < cols).then_some(id + 1),
                    (col > 0).then(|| id - 1),
                );
                let dv = step(
                    id,
                    (row + 1 < rows).then_some(id + cols),
                    (row > 0).then(|| id - cols),
                );
                (du, dv)
            })
            .collect();
        // A corner seen without a neighbour in some direction borrows the median step length.
        let mut lengths: Vec<f64> = steps
            .iter()
            .flat_map(|(du, dv)| [du, dv])
            .flatten()
            .map(|d| d.length())
            .collect();
        let median = if lengths.is_empty() {
            10.0
        } else {
            let mid = lengths.len() / 2;
            *lengths.select_nth_unstable_by(mid, f64::total_cmp).1
        };
        steps
            .into_iter()
            .map(|(du, dv)| {
                let (du, dv) = match (du, dv) {
                    (Some(du), Some(dv)) => (du, dv),
                    (Some(d), None) | (None, Some(d)) => (d, d.perp().normalize() * median),
                    (None, None) => (DVec2::X * median, DVec2::Y * median),
                };
                let nearest_corner = [du, dv, du + dv, du - dv]
                    .iter()
                    .map(|d| d.length())
                    .fold(f64::INFINITY, f64::min);
                let mut radius = 0.25 * nearest_corner;
                if let Some(m) = margin {
                    radius = radius.min(m * (du + dv).length().min((du - dv).length()));
                }
                radius
            })
            .collect()
    }
}

/// Most board positions a chessboard window may miss and still be completed from the corner
/// candidates.
const MAX_FILLED: usize = 4;

/// Cuts a chessboard grid that the detector grew past the board (corners of the board's frame or
/// of the background joined to it, as on real photos) to the board's `(cols, rows)` inner
/// corners: the window of that size (either orientation) holding the most grid corners, the few
/// positions it misses (at most [`MAX_FILLED`]) filled with the corner candidate nearest their
/// prediction from their neighbours. `None` when two windows hold equally many corners (a
/// larger board than the one defined), or when the window cannot be completed.
fn board_window(
    (cols, rows): (u32, u32),
    labelled: &[((i32, i32), DVec2)],
    candidates: &[DVec2],
) -> Option<Vec<((i32, i32), DVec2)>> {
    let at: HashMap<(i32, i32), DVec2> = labelled.iter().copied().collect();
    let (window, count) = fullest_window((cols as i32, rows as i32), &at)?;
    if count + MAX_FILLED < window.cells().count() {
        return None;
    }
    let mut found: HashMap<(i32, i32), DVec2> = window
        .cells()
        .filter_map(|k| at.get(&k).map(|p| (k, *p)))
        .collect();
    // Fill the gaps, repeatedly so that a filled corner can predict the next.
    let mut missing: Vec<(i32, i32)> = window.cells().filter(|k| !found.contains_key(k)).collect();
    while !missing.is_empty() {
        let before = missing.len();
        missing.retain(|&k| match fill(&found, k, candidates) {
            Some(p) => {
                found.insert(k, p);
                false
            }
            None => true,
        });
        if missing.len() == before {
            return None;
        }
    }
    Some(found.into_iter().collect())
}

/// A `w × h` window of grid positions from `(u0, v0)`.
#[derive(Clone, Copy)]
struct GridWindow {
    u0: i32,
    v0: i32,
    w: i32,
    h: i32,
}

impl GridWindow {
    fn cells(self) -> impl Iterator<Item = (i32, i32)> {
        (self.u0..self.u0 + self.w)
            .flat_map(move |u| (self.v0..self.v0 + self.h).map(move |v| (u, v)))
    }
}

/// The window of `size` (either orientation) holding the most labelled grid positions, with
/// their count; `None` when two windows hold equally many (or nothing is labelled).
fn fullest_window(
    (cols, rows): (i32, i32),
    at: &HashMap<(i32, i32), DVec2>,
) -> Option<(GridWindow, usize)> {
    let umin = at.keys().map(|k| k.0).min()?;
    let umax = at.keys().map(|k| k.0).max()?;
    let vmin = at.keys().map(|k| k.1).min()?;
    let vmax = at.keys().map(|k| k.1).max()?;
    let mut best: Option<(GridWindow, usize)> = None;
    let mut tied = false;
    let sizes = [(cols, rows), (rows, cols)];
    for (w, h) in sizes.into_iter().take(if cols == rows { 1 } else { 2 }) {
        for u0 in umin..=umax - w + 1 {
            for v0 in vmin..=vmax - h + 1 {
                let window = GridWindow { u0, v0, w, h };
                let count = window.cells().filter(|k| at.contains_key(k)).count();
                match best {
                    Some((_, c)) if count < c => {}
                    Some((_, c)) if count == c => tied = true,
                    _ => (best, tied) = (Some((window, count)), false),
                }
            }
        }
    }
    if tied { None } else { best }
}

/// The corner candidate for grid position `(u, v)`: the one nearest its prediction from the
/// parallelograms its known neighbours in `found` make, if within 0.3 grid steps of it.
fn fill(
    found: &HashMap<(i32, i32), DVec2>,
    (u, v): (i32, i32),
    candidates: &[DVec2],
) -> Option<DVec2> {
    let mut predictions = Vec::new();
    let mut step = f64::INFINITY;
    for (du, dv) in [(1, 1), (1, -1), (-1, 1), (-1, -1)] {
        if let (Some(a), Some(b), Some(c)) = (
            found.get(&(u + du, v)),
            found.get(&(u, v + dv)),
            found.get(&(u + du, v + dv)),
        ) {
            predictions.push(*a + *b - *c);
            step = step.min((*a - *c).length()).min((*b - *c).length());
        }
    }
    if predictions.is_empty() {
        return None;
    }
    let predicted = predictions.iter().sum::<DVec2>() / predictions.len() as f64;
    candidates
        .iter()
        .copied()
        .min_by(|a, b| a.distance(predicted).total_cmp(&b.distance(predicted)))
        .filter(|p| p.distance(predicted) < 0.3 * step)
}

/// Maps the detector's grid labels of a complete chessboard to board corner ids.
fn label_chessboard(
    board: &Board,
    image: &GrayImage,
    labelled: &[((i32, i32), DVec2)],
) -> Vec<(u32, DVec2)> {
    let (cols, rows) = board.inner_corners();
    if labelled.len() != (cols * rows) as usize {
        return Vec::new();
    }
    let umin = labelled.iter().map(|l| l.0.0).min().unwrap_or(0);
    let vmin = labelled.iter().map(|l| l.0.1).min().unwrap_or(0);
    let umax = labelled.iter().map(|l| l.0.0).max().unwrap_or(0) - umin;
    let vmax = labelled.iter().map(|l| l.0.1).max().unwrap_or(0) - vmin;
    let mut fallback = None;
    // The eight symmetries of the grid: optional transpose, then optional flips.
    for transpose in [false, true] {
        let (w, h) = if transpose {
            (vmax, umax)
        } else {
            (umax, vmax)
        };
        if (w + 1) as u32 != cols || (h + 1) as u32 != rows {
            continue;
        }
        for (flip_x, flip_y) in [(false, false), (true, false), (false, true), (true, true)] {
            let mapped: Vec<(u32, DVec2)> = labelled
                .iter()
                .map(|((u, v), p)| {
                    let (mut i, mut j) = if transpose {
                        (v - vmin, u - umin)
                    } else {
                        (u - umin, v - vmin)
                    };
                    if flip_x {
                        i = w - i;
                    }
                    if flip_y {
                        j = h - j;
                    }
                    ((j as u32) * cols + i as u32, *p)
                })
                .collect();
            let at = |id: u32| {
                mapped
                    .iter()
                    .find(|m| m.0 == id)
                    .map(|m| m.1)
                    .unwrap_or(DVec2::ZERO)
            };
            // Square between corners 0, 1, cols, cols+1 is black; the next one to the right white.
            let black = (at(0) + at(1) + at(cols) + at(cols + 1)) / 4.0;
            let white = (at(1) + at(2) + at(cols + 1) + at(cols + 2)) / 4.0;
            if sample(image, black) >= sample(image, white) {
                continue;
            }
            let positive = (at(1) - at(0)).perp_dot(at(cols) - at(0)) > 0.0;
            if positive {
                return mapped;
            }
            fallback.get_or_insert(mapped);
        }
    }
    // Only a mirrored labelling matches the colours: the image is mirrored. Keep it so that the
    // calibration can say so.
    fallback.unwrap_or_default()
}

/// Bilinear sample (pixel centres at integers), clamped at the border.
fn sample(image: &GrayImage, p: DVec2) -> f64 {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let (x0, y0) = (p.x.floor(), p.y.floor());
    let (fx, fy) = (p.x - x0, p.y - y0);
    let px = |x: i64, y: i64| {
        image.get_pixel(x.clamp(0, w - 1) as u32, y.clamp(0, h - 1) as u32)[0] as f64
    };
    let (x0, y0) = (x0 as i64, y0 as i64);
    let top = px(x0, y0) * (1.0 - fx) + px(x0 + 1, y0) * fx;
    let bottom = px(x0, y0 + 1) * (1.0 - fx) + px(x0 + 1, y0 + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// `image` at twice its width and height, interpolated bilinearly with pixel centres aligned
/// (the upscaled pixel `u` covers the original `(u + 0.5) / 2 − 0.5`).
fn upscale_twice(image: &GrayImage) -> GrayImage {
    let (w, h) = (image.width(), image.height());
    let mut buffers = chess_corners::UpscaleBuffers::new();
    let up =
        chess_corners::upscale_bilinear_u8(image.as_raw(), w as usize, h as usize, 2, &mut buffers)
            .expect("a factor of 2 and a buffer of the image's size");
    GrayImage::from_raw(2 * w, 2 * h, up.data().to_vec()).expect("the upscaled size")
}

/// Sub-pixel corner refinement by gradient orthogonality in a Gaussian-weighted disc of
/// `radius` pixels (see [`Detector`] for how it is chosen). Returns the input when the window is
/// degenerate or the estimate runs away.
pub fn refine_corner(image: &GrayImage, start: DVec2, radius: f64) -> DVec2 {
    let r = radius.ceil() as i32;
    let sigma2 = (radius * 0.6).powi(2);
    let mut q = start;
    for _ in 0..20 {
        let (mut a, mut b, mut c, mut bx, mut by) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for dy in -r..=r {
            for dx in -r..=r {
                let d = DVec2::new(dx as f64, dy as f64);
                if d.length_squared() > radius * radius {
                    continue;
                }
                let p = q + d;
                let g = DVec2::new(
                    (sample(image, p + DVec2::X) - sample(image, p - DVec2::X)) / 2.0,
                    (sample(image, p + DVec2::Y) - sample(image, p - DVec2::Y)) / 2.0,
                );
                let w = (-d.length_squared() / (2.0 * sigma2)).exp();
                let (gxx, gxy, gyy) = (g.x * g.x * w, g.x * g.y * w, g.y * g.y * w);
                a += gxx;
                b += gxy;
                c += gyy;
                bx += gxx * p.x + gxy * p.y;
                by += gxy * p.x + gyy * p.y;
            }
        }
        let det = a * c - b * b;
        if det.abs() < 1e-9 * (a * c).max(1e-30) || !det.is_finite() {
            return start;
        }
        let next = DVec2::new((c * bx - b * by) / det, (a * by - b * bx) / det);
        let step = (next - q).length();
        q = next;
        if (q - start).length() > radius {
            return start;
        }
        if step < 1e-3 {
            break;
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::{DMat3, DVec3};
    use rand::{Rng, SeedableRng};
    use std::path::Path;

    fn load(name: &str) -> Board {
        Board::load(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../assets/boards")
                .join(name),
        )
        .unwrap()
    }

    /// Homography board metres → pixels (centres at integers) of a camera looking at the board
    /// from `eye` (board coordinates, the board's front is at z < 0).
    fn view_homography(board: &Board, eye: DVec3) -> DMat3 {
        let centre = board.size().extend(0.0) / 2.0;
        let cam = yakumo_core::Camera::look_at(
            "t",
            (640, 480),
            (600.0, 600.0),
            (319.5, 239.5),
            eye,
            centre,
            DVec3::NEG_Y,
        );
        let (r, t) = (cam.r, cam.t);
        cam.k * DMat3::from_cols(r.x_axis, r.y_axis, t)
    }

    /// Renders the board through `h` at 640×480 with 4×4 supersampling, a Gaussian blur and
    /// additive noise.
    fn photograph(board: &Board, h: DMat3, blur: f32, noise: f64, seed: u64) -> GrayImage {
        let texture = board.render(96);
        let geo = board.render_geometry(96);
        let hinv = h.inverse();
        let img = GrayImage::from_fn(640, 480, |u, v| {
            let mut acc = 0.0;
            for sy in 0..4 {
                for sx in 0..4 {
                    let p = DVec3::new(
                        u as f64 - 0.375 + sx as f64 * 0.25,
                        v as f64 - 0.375 + sy as f64 * 0.25,
                        1.0,
                    );
                    let b = hinv * p;
                    let t = geo.board_to_image(DVec2::new(b.x / b.z, b.y / b.z));
                    acc += sample(&texture, t - DVec2::splat(0.5));
                }
            }
            image::Luma([(acc / 16.0).round() as u8])
        });
        let mut img = image::imageops::blur(&img, blur);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for p in img.pixels_mut() {
            let n: f64 = rng.random_range(-noise..noise);
            p[0] = (p[0] as f64 + n).round().clamp(0.0, 255.0) as u8;
        }
        img
    }

    fn max_error(board: &Board, h: DMat3, found: &[(u32, DVec2)]) -> f64 {
        found
            .iter()
            .map(|(id, px)| {
                let q = h * board.corner(*id).truncate().extend(1.0);
                (DVec2::new(q.x / q.z, q.y / q.z) - *px).length()
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn charuco_corners_within_a_tenth_of_a_pixel() {
        let board = load("charuco-5x7.toml");
        let h = view_homography(&board, DVec3::new(0.6, 0.1, -1.1));
        let img = photograph(&board, h, 1.0, 4.0, 1);
        let found = Detector::new(&board).unwrap().detect(&img);
        assert!(found.len() >= 20, "found {} of 24 corners", found.len());
        let err = max_error(&board, h, &found);
        assert!(err < 0.1, "max corner error {err:.3} px");
    }

    #[test]
    fn partially_visible_charuco_still_gives_ids() {
        let board = load("charuco-5x7.toml");
        // Look at the board from close by: its outer rows leave the image.
        let h = view_homography(&board, DVec3::new(0.1, 0.3, -0.55));
        let img = photograph(&board, h, 0.8, 3.0, 2);
        let found = Detector::new(&board).unwrap().detect(&img);
        assert!(
            !found.is_empty() && found.len() < 24,
            "found {}",
            found.len()
        );
        assert!(max_error(&board, h, &found) < 0.15);
    }

    #[test]
    fn the_region_searched_again_holds_the_whole_board() {
        let board = load("charuco-5x7.toml");
        let h = view_homography(&board, DVec3::new(0.3, 0.2, -2.2));
        let project = |p: DVec2| {
            let q = h * p.extend(1.0);
            DVec2::new(q.x / q.z, q.y / q.z)
        };
        // Five corners of one corner of the board place all of it.
        let some: Vec<(u32, DVec2)> = [0, 1, 4, 5, 9]
            .into_iter()
            .map(|id| (id, project(board.corner(id).truncate())))
            .collect();
        let detector = Detector::new(&board).unwrap();
        let (x0, y0, x1, y1) = detector.board_region(&some, 640, 480);
        let size = board.size();
        for corner in [
            DVec2::ZERO,
            size,
            DVec2::new(size.x, 0.0),
            DVec2::new(0.0, size.y),
        ] {
            let p = project(corner);
            assert!(
                p.x > x0 as f64 && p.x < x1 as f64 && p.y > y0 as f64 && p.y < y1 as f64,
                "board corner {p} outside {x0}..{x1} × {y0}..{y1}"
            );
        }
        assert!(
            (x1 - x0) * (y1 - y0) < 640 * 480 / 2,
            "region {x0}..{x1} × {y0}..{y1} is most of the image"
        );
        // Too few corners to place the board: the whole image.
        assert_eq!(
            detector.board_region(&some[..3], 640, 480),
            (0, 0, 640, 480)
        );
    }

    /// Squares of about 17 pixels: the markers decode, but the corners lie within the corner
    /// detector's ring of the marker borders.
    #[test]
    fn a_small_board_is_found_at_twice_its_size() {
        let board = load("charuco-5x7.toml");
        let h = view_homography(&board, DVec3::new(0.2, 0.1, -4.2));
        let img = photograph(&board, h, 0.7, 3.0, 5);
        let detector = Detector::new(&board).unwrap();
        let at_size = detector.find(&img).len();
        let found = detector.detect(&img);
        let err = max_error(&board, h, &found);
        assert!(
            found.len() > at_size,
            "{} corners, {at_size} without upscaling",
            found.len()
        );
        assert!(
            err < 0.2,
            "{} corners ({at_size}), max error {err:.3} px",
            found.len()
        );
    }

    #[test]
    fn chessboard_corners_and_orientation() {
        let board = load("chessboard-9x6.toml");
        let h = view_homography(&board, DVec3::new(-0.3, 0.5, -1.3));
        let img = photograph(&board, h, 1.0, 4.0, 3);
        let found = Detector::new(&board).unwrap().detect(&img);
        assert_eq!(found.len(), 54);
        let err = max_error(&board, h, &found);
        assert!(err < 0.1, "max corner error {err:.3} px");
    }

    /// A 9 × 6 grid at 20 px steps as the detector labels it (`u` along the 6).
    fn grid_labels() -> Vec<((i32, i32), DVec2)> {
        (0..6)
            .flat_map(|u| (0..9).map(move |v| ((u, v), DVec2::new(u as f64, v as f64) * 20.0)))
            .collect()
    }

    #[test]
    fn a_grid_grown_past_the_board_is_cut_to_it_and_its_gap_filled() {
        // Two background corners joined on at the side, one board corner missed by the grid but
        // found among the candidates (as on OpenCV's real photo left12.jpg).
        let mut labelled = grid_labels();
        let gap = labelled.iter().position(|l| l.0 == (0, 7)).unwrap();
        let missed = labelled.remove(gap).1;
        labelled.push(((-1, 8), DVec2::new(-22.0, 160.0)));
        labelled.push(((-1, 9), DVec2::new(-20.0, 185.0)));
        let candidates = vec![DVec2::new(300.0, 300.0), missed + DVec2::new(0.7, -0.4)];
        let window = board_window((9, 6), &labelled, &candidates).expect("completed");
        assert_eq!(window.len(), 54);
        assert!(
            window
                .iter()
                .all(|((u, v), _)| (0..6).contains(u) && (0..9).contains(v))
        );
        let filled = window.iter().find(|l| l.0 == (0, 7)).unwrap().1;
        assert_eq!(filled, missed + DVec2::new(0.7, -0.4));
        // Without the candidate the window stays incomplete.
        assert!(board_window((9, 6), &labelled, &candidates[..1]).is_none());
    }

    #[test]
    fn a_grid_larger_than_the_board_is_ambiguous() {
        // A whole tenth row: two 9 × 6 windows are complete, and nothing says which is the board.
        let mut labelled = grid_labels();
        labelled.extend((0..6).map(|u| ((u, 9), DVec2::new(u as f64, 9.0) * 20.0)));
        assert!(board_window((9, 6), &labelled, &[]).is_none());
        assert_eq!(
            board_window((9, 6), &grid_labels(), &[]).map(|w| w.len()),
            Some(54)
        );
    }

    #[test]
    fn blank_image_has_no_board() {
        let board = load("charuco-5x7.toml");
        let img = GrayImage::from_pixel(320, 240, image::Luma([128]));
        assert!(Detector::new(&board).unwrap().detect(&img).is_empty());
    }
}
