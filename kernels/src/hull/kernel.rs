//! CubeCL kernel of the visual-hull cell test: one unit per cell, looping over the cameras.
//!
//! It mirrors `yakumo_train::carve::classify` one for one (the footprint vote of a cube's eight
//! projected corners against the any/all mask pyramid, and the nearest-pixel point test), in f32.

use cubecl::prelude::*;

use super::{CAMERA_FLOATS, LEVEL_WORDS};

/// Extra pixels around a projected footprint (as on the CPU).
const FOOTPRINT_MARGIN_PX: f32 = 0.5;

/// A world point in a camera's image.
#[derive(CubeType, Clone, Copy)]
struct Projected {
    x: f32,
    y: f32,
    /// In front of the camera (only then are `x`, `y` meaningful).
    front: bool,
}

/// Projects `(px, py, pz)` with camera `cam` of the table (pose, intrinsics, lens distortion).
#[cube]
fn project(cameras: &Array<f32>, cam: usize, px: f32, py: f32, pz: f32) -> Projected {
    let c = cam * CAMERA_FLOATS;
    let xc = cameras[c] * px + cameras[c + 1] * py + cameras[c + 2] * pz + cameras[c + 9];
    let yc = cameras[c + 3] * px + cameras[c + 4] * py + cameras[c + 5] * pz + cameras[c + 10];
    let zc = cameras[c + 6] * px + cameras[c + 7] * py + cameras[c + 8] * pz + cameras[c + 11];
    let mut out = Projected {
        x: 0.0f32,
        y: 0.0f32,
        front: zc > 1.0e-9f32,
    };
    if out.front {
        let nx = xc / zc;
        let ny = yc / zc;
        let k1 = cameras[c + 17];
        let k2 = cameras[c + 18];
        let p1 = cameras[c + 19];
        let p2 = cameras[c + 20];
        let k3 = cameras[c + 21];
        let r2 = nx * nx + ny * ny;
        let radial = 1.0f32 + r2 * (k1 + r2 * (k2 + r2 * k3));
        let dx = 2.0f32 * p1 * nx * ny + p2 * (r2 + 2.0f32 * nx * nx);
        let dy = p1 * (r2 + 2.0f32 * ny * ny) + 2.0f32 * p2 * nx * ny;
        let ux = nx * radial + dx;
        let uy = ny * radial + dy;
        out.x = cameras[c + 12] * ux + cameras[c + 13] * uy + cameras[c + 14];
        out.y = cameras[c + 15] * uy + cameras[c + 16];
    }
    out
}

/// The any (bit 0) / all (bit 1) bits of cell `(x, y)` of a pyramid level starting at cell
/// `offset` with `width` cells per row; cells are packed 16 to a word.
#[cube]
fn mask_cell(masks: &Array<u32>, offset: u32, width: u32, x: u32, y: u32) -> u32 {
    let i = offset + y * width + x;
    (masks[(i / 16) as usize] >> ((i % 16) * 2)) & 3u32
}

/// Coverage of the pixel rectangle `x0..=x1 × y0..=y1` (clamped to the image) in camera `cam`'s
/// mask: 0 none, 1 some, 2 all (as `Mask::coverage`).
#[cube]
fn coverage(
    masks: &Array<u32>,
    levels: &Array<u32>,
    cam: u32,
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
) -> u32 {
    let table = (cam * LEVEL_WORDS) as usize;
    let count = levels[table];
    let width = levels[table + 2] as i32;
    let height = levels[table + 3] as i32;
    let lo_x = max(x0, 0i32);
    let lo_y = max(y0, 0i32);
    let hi_x = min(x1, width - 1);
    let hi_y = min(y1, height - 1);
    let mut result = 0u32;
    if lo_x <= hi_x && lo_y <= hi_y {
        let x0 = lo_x as u32;
        let y0 = lo_y as u32;
        let x1 = hi_x as u32;
        let y1 = hi_y as u32;
        // The finest level at which the rectangle spans at most 2×2 cells.
        let mut k = 0u32;
        while k + 1u32 < count && ((x1 >> k) - (x0 >> k) > 1u32 || (y1 >> k) - (y0 >> k) > 1u32) {
            k += 1;
        }
        let entry = table + 1 + (k * 3) as usize;
        let offset = levels[entry];
        let level_width = levels[entry + 1];
        let mut any = 0u32;
        let mut all = 2u32;
        for y in (y0 >> k)..(y1 >> k) + 1 {
            for x in (x0 >> k)..(x1 >> k) + 1 {
                let c = mask_cell(masks, offset, level_width, x, y);
                any |= c & 1u32;
                all &= c & 2u32;
            }
        }
        if all != 0u32 {
            result = 2u32;
        } else if any != 0u32 {
            result = 1u32;
        }
    }
    result
}

/// Pixel index of a footprint edge coordinate (`round` to the pixel whose square holds it),
/// clamped to `-1..=limit` so huge footprints never overflow the cast.
#[cube]
fn edge_pixel(v: f32, limit: f32) -> i32 {
    i32::cast_from(clamp((v + 0.5f32).floor(), -1.0f32, limit))
}

/// Image width and height of camera `cam` of the table.
#[cube]
fn image_size(cameras: &Array<f32>, cam: u32) -> ImageSize {
    let c = (cam * CAMERA_FLOATS as u32) as usize;
    ImageSize {
        w: cameras[c + 22],
        h: cameras[c + 23],
    }
}

/// A width and a height in pixels.
#[derive(CubeType, Clone, Copy)]
struct ImageSize {
    w: f32,
    h: f32,
}

/// Camera `cam`'s vote on the point `(cx, cy, cz)` (the CPU's `point_inside`, one camera): 0 it
/// does not see the point, 1 background at its nearest pixel, 2 foreground.
#[cube]
fn centre_vote(
    cameras: &Array<f32>,
    levels: &Array<u32>,
    masks: &Array<u32>,
    cam: u32,
    cx: f32,
    cy: f32,
    cz: f32,
) -> u32 {
    let size = image_size(cameras, cam);
    let w = size.w;
    let h = size.h;
    let p = project(cameras, cam as usize, cx, cy, cz);
    let mut vote = 0u32.runtime();
    if p.front && p.x >= -0.5f32 && p.y >= -0.5f32 && p.x < w - 0.5f32 && p.y < h - 0.5f32 {
        let x = u32::cast_from(clamp((p.x + 0.5f32).floor(), 0.0f32, w - 1.0f32));
        let y = u32::cast_from(clamp((p.y + 0.5f32).floor(), 0.0f32, h - 1.0f32));
        let table = (cam * LEVEL_WORDS) as usize;
        vote = 1u32 + (mask_cell(masks, levels[table + 1], levels[table + 2], x, y) & 1u32);
    }
    vote
}

/// Camera `cam`'s vote on the cube `(cx, cy, cz) ± half` from the pixel box of its eight
/// projected corners (the CPU's `vote`): 0 unseen, 1 straddles the image (or the camera plane)
/// without foreground, 2 straddles touching foreground, 3 + coverage (0 none, 1 some, 2 all) when
/// the footprint lies inside the image.
#[cube]
fn cell_vote(
    cameras: &Array<f32>,
    levels: &Array<u32>,
    masks: &Array<u32>,
    cam: u32,
    cx: f32,
    cy: f32,
    cz: f32,
    half: f32,
) -> u32 {
    let size = image_size(cameras, cam);
    let w = size.w;
    let h = size.h;
    // Start the footprint beyond any pixel coordinate.
    let mut lo_x = 1.0e30f32.runtime();
    let mut lo_y = 1.0e30f32.runtime();
    let mut hi_x = (0.0f32 - 1.0e30f32).runtime();
    let mut hi_y = (0.0f32 - 1.0e30f32).runtime();
    let mut behind = 0u32.runtime();
    for corner in 0..8u32 {
        let mut sx = 0.0f32 - half;
        let mut sy = 0.0f32 - half;
        let mut sz = 0.0f32 - half;
        if corner & 1u32 != 0 {
            sx = half;
        }
        if corner & 2u32 != 0 {
            sy = half;
        }
        if corner & 4u32 != 0 {
            sz = half;
        }
        let p = project(cameras, cam as usize, cx + sx, cy + sy, cz + sz);
        if p.front {
            lo_x = min(lo_x, p.x);
            lo_y = min(lo_y, p.y);
            hi_x = max(hi_x, p.x);
            hi_y = max(hi_y, p.y);
        } else {
            behind += 1;
        }
    }
    let mut vote = 0u32.runtime();
    if behind == 8u32 {
        vote = 0u32;
    } else if behind > 0u32 {
        // The cube crosses the camera plane: its image is unbounded.
        // Whether the mask has any foreground: the 1×1 top level of its pyramid.
        vote = 1u32;
        let table = (cam * LEVEL_WORDS) as usize;
        let top = table + 1 + ((levels[table] - 1) * 3) as usize;
        if mask_cell(masks, levels[top], levels[top + 1], 0u32, 0u32) & 1u32 != 0 {
            vote = 2u32;
        }
    } else {
        lo_x = lo_x - FOOTPRINT_MARGIN_PX;
        lo_y = lo_y - FOOTPRINT_MARGIN_PX;
        hi_x = hi_x + FOOTPRINT_MARGIN_PX;
        hi_y = hi_y + FOOTPRINT_MARGIN_PX;
        let misses = hi_x < -0.5f32 || hi_y < -0.5f32 || lo_x >= w - 0.5f32 || lo_y >= h - 0.5f32;
        if !misses {
            let cov = coverage(
                masks,
                levels,
                cam,
                edge_pixel(lo_x, w),
                edge_pixel(lo_y, h),
                edge_pixel(hi_x, w),
                edge_pixel(hi_y, h),
            );
            let fully_in =
                lo_x >= -0.5f32 && lo_y >= -0.5f32 && hi_x < w - 0.5f32 && hi_y < h - 0.5f32;
            if fully_in {
                vote = 3u32 + cov;
            } else if cov != 0u32 {
                vote = 2u32;
            } else {
                vote = 1u32;
            }
        }
    }
    vote
}

/// One unit per cell `cells[3i..3i+3]` of edge `size` at `origin + (cell + ½)·size`.
///
/// With `point_test`, `out[i]` is 1 when the cell centre is inside the hull, else 0 (the CPU's
/// `point_inside`); otherwise 0 outside, 1 inside, 2 boundary (the CPU's `classify_cell`).
/// `needed[seen]` is the fewest covering cameras the fraction rule asks of `seen` cameras.
#[cube(launch_unchecked)]
pub fn hull_kernel(
    cells: &Array<u32>,
    cameras: &Array<f32>,
    levels: &Array<u32>,
    masks: &Array<u32>,
    needed: &Array<u32>,
    out: &mut Array<u32>,
    num_cells: u32,
    num_cameras: u32,
    origin_x: f32,
    origin_y: f32,
    origin_z: f32,
    size: f32,
    tolerance: u32,
    min_seen: u32,
    #[comptime] point_test: bool,
) {
    let i = ABSOLUTE_POS;
    if i >= num_cells as usize {
        terminate!();
    }
    let cx = origin_x + (f32::cast_from(cells[3 * i]) + 0.5f32) * size;
    let cy = origin_y + (f32::cast_from(cells[3 * i + 1]) + 0.5f32) * size;
    let cz = origin_z + (f32::cast_from(cells[3 * i + 2]) + 0.5f32) * size;
    let min_seen = max(min_seen, 1u32);
    if point_test {
        let mut covered = 0u32;
        let mut rejected = 0u32;
        for cam in 0..num_cameras {
            let vote = centre_vote(cameras, levels, masks, cam, cx, cy, cz);
            if vote == 2u32 {
                covered += 1;
            } else if vote == 1u32 {
                rejected += 1;
            }
        }
        let seen = covered + rejected;
        let mut inside = 0u32;
        if seen >= min_seen && rejected <= tolerance && covered >= needed[seen as usize] {
            inside = 1u32;
        }
        out[i] = inside;
    } else {
        let half = 0.5f32 * size;
        let mut seen_lo = 0u32;
        let mut seen_hi = 0u32;
        let mut covered_lo = 0u32;
        let mut covered_hi = 0u32;
        let mut rejected_lo = 0u32;
        let mut rejected_hi = 0u32;
        for cam in 0..num_cameras {
            let vote = cell_vote(cameras, levels, masks, cam, cx, cy, cz, half);
            if vote == 1u32 || vote == 2u32 {
                seen_hi += 1;
                rejected_hi += 1;
                if vote == 2u32 {
                    covered_hi += 1;
                }
            } else if vote >= 3u32 {
                seen_lo += 1;
                seen_hi += 1;
                if vote == 3u32 {
                    rejected_lo += 1;
                    rejected_hi += 1;
                } else if vote == 4u32 {
                    rejected_hi += 1;
                    covered_hi += 1;
                } else {
                    covered_lo += 1;
                    covered_hi += 1;
                }
            }
        }
        // Best case for any point of the cell: most covering cameras, fewest rejecting ones.
        let best_fraction_fails = covered_hi < needed[(covered_hi + rejected_lo) as usize];
        let mut class = 2u32;
        if seen_hi < min_seen
            || covered_hi == 0u32
            || rejected_lo > tolerance
            || best_fraction_fails
        {
            class = 0u32;
        } else if seen_lo >= min_seen
            && rejected_hi <= tolerance
            && covered_lo >= needed[(covered_lo + rejected_hi) as usize]
        {
            class = 1u32;
        }
        out[i] = class;
    }
}
