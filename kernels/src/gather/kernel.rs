//! CubeCL kernel of the backward pass of [`super::gather_layers`].

use cubecl::prelude::*;

use crate::knn::MAX_COORD;

/// One unit per point `i`: sums the gradient rows of every K-buffer entry that holds `i`, visiting
/// only the pixels of the point's screen disc (its `footprint` `(cx, cy, r)`, the one it was
/// rasterised with), so no two units write the same row and no atomics are needed.
///
/// `grad` is `[H·W·K, channels]`, `ids` `[H·W·K]`, `footprint` `[N, 3]`, `out` `[N, channels]`
/// (written whole).
#[cube(launch_unchecked)]
pub fn gather_backward_kernel(
    grad: &Array<f32>,
    ids: &Array<i32>,
    footprint: &Array<f32>,
    out: &mut Array<f32>,
    num_points: u32,
    width: u32,
    height: u32,
    k: u32,
    #[comptime] channels: u32,
) {
    let i = ABSOLUTE_POS;
    if i >= num_points as usize {
        terminate!();
    }
    let ch = channels as usize;
    for c in 0..ch {
        out[i * ch + c] = 0.0;
    }
    let cx = footprint[3 * i];
    let cy = footprint[3 * i + 1];
    let r = footprint[3 * i + 2];
    let sane = r > 0.0 && r < MAX_COORD && cx.abs() < MAX_COORD && cy.abs() < MAX_COORD;
    if sane {
        // The rasteriser's pixel box (see knn/kernel.rs), clamped to the image.
        let x_lo = max((cx - r).floor(), 0.0f32);
        let x_hi = min((cx + r).ceil(), f32::cast_from(width - 1));
        let y_lo = max((cy - r).floor(), 0.0f32);
        let y_hi = min((cy + r).ceil(), f32::cast_from(height - 1));
        if x_lo <= x_hi && y_lo <= y_hi {
            let id = i as i32;
            for y in u32::cast_from(y_lo)..u32::cast_from(y_hi) + 1 {
                for x in u32::cast_from(x_lo)..u32::cast_from(x_hi) + 1 {
                    let base = ((y * width + x) * k) as usize;
                    for layer in 0..k as usize {
                        let e = base + layer;
                        if ids[e] == id {
                            for c in 0..ch {
                                out[i * ch + c] += grad[e * ch + c];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Where element `e = n·channels + c` of the gradient goes: `indices[n]·channels + c`.
#[cube]
fn scatter_target(indices: &Array<i32>, e: usize, channels: u32) -> usize {
    let channels = channels as usize;
    indices[e / channels] as usize * channels + e % channels
}

/// One unit per element `(n, c)` of `grad` `[N, channels]`: adds it to `out[indices[n], c]`
/// (`out` `[M, channels]`, zeroed) with the device's float atomic add (CUDA; Vulkan devices with
/// `shaderBufferFloat32AtomicAdd`). Under contention (many points in one grid cell) this is far
/// faster than [`scatter_rows_cas_kernel`], whose retries serialise.
#[cube(launch_unchecked)]
pub fn scatter_rows_add_kernel(
    grad: &Array<f32>,
    indices: &Array<i32>,
    out: &mut Array<Atomic<f32>>,
    num_indices: u32,
    channels: u32,
) {
    let e = ABSOLUTE_POS;
    if e >= (num_indices * channels) as usize {
        terminate!();
    }
    out[scatter_target(indices, e, channels)].fetch_add(grad[e]);
}

/// [`scatter_rows_add_kernel`] for devices without float atomic add: a compare-and-swap loop on
/// the float's bits, which every backend has.
#[cube(launch_unchecked)]
pub fn scatter_rows_cas_kernel(
    grad: &Array<f32>,
    indices: &Array<i32>,
    out: &mut Array<Atomic<u32>>,
    num_indices: u32,
    channels: u32,
) {
    let e = ABSOLUTE_POS;
    if e >= (num_indices * channels) as usize {
        terminate!();
    }
    let at = scatter_target(indices, e, channels);
    let add = grad[e];
    let mut old = out[at].load();
    loop {
        let new = u32::reinterpret(f32::reinterpret(old) + add);
        let seen = out[at].compare_exchange_weak(old, new);
        if seen == old {
            break;
        }
        old = seen;
    }
}
