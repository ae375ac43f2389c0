//! CubeCL kernels of the tile-binned K-nearest point rasteriser.
//!
//! Three passes (see `launch.rs` for the host side):
//! 1. [`count_kernel`]: one unit per point adds 1 to the counter of every tile its screen disc may touch.
//! 2. (host) exclusive prefix sum of the counts gives each tile's slice of the point list.
//! 3. [`fill_kernel`]: one unit per point appends its index to the slice of every such tile.
//! 4. [`raster_kernel`]: one cube per tile, one unit per pixel; the cube streams its tile's points through
//!    shared memory and every pixel keeps the K nearest covering points by insertion sort.
//!
//! The geometry (which tiles a point touches, which pixels it covers) mirrors `cpu.rs` exactly.

use cubecl::prelude::*;

use super::{MAX_COORD, TILE_SIZE};

/// Units per cube in the raster pass: one per pixel of a tile.
pub const TILE_UNITS: u32 = TILE_SIZE * TILE_SIZE;

/// Inclusive tile rectangle touched by a point; `valid` is false for culled points.
#[derive(CubeType, Clone, Copy)]
pub struct TileRect {
    x0: u32,
    x1: u32,
    y0: u32,
    y1: u32,
    valid: bool,
}

/// Tiles touched by the disc of a point, after culling points at or before `near`, with a
/// non-positive or absurd radius, or whose pixel bounding box misses the image.
#[cube]
fn point_tiles(cx: f32, cy: f32, z: f32, r: f32, width: u32, height: u32, near: f32) -> TileRect {
    let sane = z > near && r > 0.0 && r < MAX_COORD && cx.abs() < MAX_COORD && cy.abs() < MAX_COORD;
    // Pixel bounding box, one pixel wider than needed so float rounding never loses a pixel.
    let x_lo = max((cx - r).floor(), 0.0f32);
    let x_hi = min((cx + r).ceil(), f32::cast_from(width - 1));
    let y_lo = max((cy - r).floor(), 0.0f32);
    let y_hi = min((cy + r).ceil(), f32::cast_from(height - 1));
    let valid = sane && x_lo <= x_hi && y_lo <= y_hi;
    let mut rect = TileRect {
        x0: 0u32,
        x1: 0u32,
        y0: 0u32,
        y1: 0u32,
        valid,
    };
    if valid {
        rect.x0 = u32::cast_from(x_lo) / TILE_SIZE;
        rect.x1 = u32::cast_from(x_hi) / TILE_SIZE;
        rect.y0 = u32::cast_from(y_lo) / TILE_SIZE;
        rect.y1 = u32::cast_from(y_hi) / TILE_SIZE;
    }
    rect
}

/// Pass 1: `counts[tile] += 1` for every tile touched by every point.
#[cube(launch_unchecked)]
pub fn count_kernel(
    centers: &Array<f32>,
    depths: &Array<f32>,
    radii: &Array<f32>,
    counts: &mut Array<Atomic<u32>>,
    num_points: u32,
    width: u32,
    height: u32,
    tiles_x: u32,
    near: f32,
) {
    let i = ABSOLUTE_POS;
    if i >= num_points as usize {
        terminate!();
    }
    let rect = point_tiles(
        centers[2 * i],
        centers[2 * i + 1],
        depths[i],
        radii[i],
        width,
        height,
        near,
    );
    if rect.valid {
        for ty in rect.y0..rect.y1 + 1 {
            for tx in rect.x0..rect.x1 + 1 {
                counts[(ty * tiles_x + tx) as usize].fetch_add(1u32);
            }
        }
    }
}

/// Pass 3: append every point's index to the list slice `offsets[tile]..offsets[tile + 1]` of every
/// tile it touches; `cursors` (zeroed) counts the entries written per tile so far.
#[cube(launch_unchecked)]
pub fn fill_kernel(
    centers: &Array<f32>,
    depths: &Array<f32>,
    radii: &Array<f32>,
    offsets: &Array<u32>,
    cursors: &mut Array<Atomic<u32>>,
    list: &mut Array<u32>,
    num_points: u32,
    width: u32,
    height: u32,
    tiles_x: u32,
    near: f32,
) {
    let i = ABSOLUTE_POS;
    if i >= num_points as usize {
        terminate!();
    }
    let rect = point_tiles(
        centers[2 * i],
        centers[2 * i + 1],
        depths[i],
        radii[i],
        width,
        height,
        near,
    );
    if rect.valid {
        for ty in rect.y0..rect.y1 + 1 {
            for tx in rect.x0..rect.x1 + 1 {
                let tile = (ty * tiles_x + tx) as usize;
                let slot = cursors[tile].fetch_add(1u32);
                let at = (offsets[tile] + slot) as usize;
                list[at] = i as u32;
            }
        }
    }
}

/// Pass 4: per pixel, the `k` covering points nearest by (depth, index), written front to back to
/// `ids_out`/`depths_out` (`[height, width, k]`); empty slots get id −1 and depth −1.
#[cube(launch_unchecked)]
pub fn raster_kernel(
    centers: &Array<f32>,
    depths: &Array<f32>,
    radii: &Array<f32>,
    offsets: &Array<u32>,
    list: &Array<u32>,
    ids_out: &mut Array<i32>,
    depths_out: &mut Array<f32>,
    width: u32,
    height: u32,
    tiles_x: u32,
    #[comptime] k: usize,
) {
    let unit = UNIT_POS as usize;
    let u = CUBE_POS_X * TILE_SIZE + UNIT_POS_X;
    let v = CUBE_POS_Y * TILE_SIZE + UNIT_POS_Y;
    let inside = u < width && v < height;
    let tile = (CUBE_POS_Y * tiles_x + CUBE_POS_X) as usize;
    let start = offsets[tile];
    let end = offsets[tile + 1];
    let px = f32::cast_from(u);
    let py = f32::cast_from(v);

    let mut buf_z = Array::<f32>::new(k);
    let mut buf_id = Array::<i32>::new(k);
    let mut count = 0usize;

    let mut sh_x = SharedMemory::<f32>::new(TILE_UNITS as usize);
    let mut sh_y = SharedMemory::<f32>::new(TILE_UNITS as usize);
    let mut sh_r2 = SharedMemory::<f32>::new(TILE_UNITS as usize);
    let mut sh_z = SharedMemory::<f32>::new(TILE_UNITS as usize);
    let mut sh_id = SharedMemory::<i32>::new(TILE_UNITS as usize);

    let mut base = start;
    while base < end {
        // Every unit (also those of pixels outside the image) helps load the next batch.
        let j = base + UNIT_POS;
        if j < end {
            let id = list[j as usize] as usize;
            let r = radii[id];
            sh_x[unit] = centers[2 * id];
            sh_y[unit] = centers[2 * id + 1];
            sh_r2[unit] = r * r;
            sh_z[unit] = depths[id];
            sh_id[unit] = id as i32;
        }
        sync_cube();
        let batch = min(end - base, TILE_UNITS) as usize;
        if inside {
            for b in 0..batch {
                let dx = px - sh_x[b];
                let dy = py - sh_y[b];
                if dx * dx + dy * dy < sh_r2[b] {
                    let z = sh_z[b];
                    let id = sh_id[b];
                    let mut accept = true;
                    if count == k {
                        let last_z = buf_z[k - 1];
                        accept = z < last_z || (z == last_z && id < buf_id[k - 1]);
                    }
                    if accept {
                        let mut slot = count;
                        if count == k {
                            slot = k - 1;
                        } else {
                            count += 1;
                        }
                        // Insertion: shift farther entries back by one.
                        loop {
                            if slot == 0 {
                                break;
                            }
                            let prev_z = buf_z[slot - 1];
                            let prev_id = buf_id[slot - 1];
                            if z < prev_z || (z == prev_z && id < prev_id) {
                                buf_z[slot] = prev_z;
                                buf_id[slot] = prev_id;
                                slot -= 1;
                            } else {
                                break;
                            }
                        }
                        buf_z[slot] = z;
                        buf_id[slot] = id;
                    }
                }
            }
        }
        sync_cube();
        base += TILE_UNITS;
    }

    if inside {
        let out = ((v * width + u) as usize) * k;
        for s in 0..k {
            if s < count {
                ids_out[out + s] = buf_id[s];
                depths_out[out + s] = buf_z[s];
            } else {
                ids_out[out + s] = -1i32;
                depths_out[out + s] = -1.0f32;
            }
        }
    }
}
