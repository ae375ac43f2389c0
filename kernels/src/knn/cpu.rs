//! CPU reference of the K-nearest point rasteriser: the specification the GPU kernel is tested
//! against, and a fallback for backends without CubeCL.
//!
//! Every point walks the pixels of its (slightly padded) bounding box and offers itself to each pixel
//! it covers; each pixel keeps its `k` smallest points by (depth, index), a strict total order, so the
//! result does not depend on the order points are offered.

use super::{KnnError, KnnOptions, MAX_COORD, PIXEL_CENTER_OFFSET};

/// K-buffer on the host: `ids` and `depths` are `[height, width, k]` row-major; empty slots hold
/// id −1 and depth −1.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnBufferCpu {
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Layers per pixel.
    pub k: usize,
    /// Point index per layer, front to back, −1 where empty.
    pub ids: Vec<i32>,
    /// Depth per layer, front to back, −1 where empty.
    pub depths: Vec<f32>,
}

/// Inclusive pixel rectangle `(x0, x1, y0, y1)` a point may cover, or `None` when the point is culled
/// (depth at or before `near`, non-positive or absurd radius or centre) or misses the image.
/// The GPU kernel's `point_tiles` computes the same rectangle (divided into tiles).
pub(crate) fn pixel_rect(
    cx: f32,
    cy: f32,
    z: f32,
    r: f32,
    width: usize,
    height: usize,
    near: f32,
) -> Option<(usize, usize, usize, usize)> {
    let sane = z > near && r > 0.0 && r < MAX_COORD && cx.abs() < MAX_COORD && cy.abs() < MAX_COORD;
    let x_lo = (cx - r).floor().max(0.0);
    let x_hi = (cx + r).ceil().min((width - 1) as f32);
    let y_lo = (cy - r).floor().max(0.0);
    let y_hi = (cy + r).ceil().min((height - 1) as f32);
    (sane && x_lo <= x_hi && y_lo <= y_hi).then_some((
        x_lo as usize,
        x_hi as usize,
        y_lo as usize,
        y_hi as usize,
    ))
}

/// Whether the disc of radius `r` around `(cx, cy)` covers the centre of pixel `(u, v)`
/// (strictly inside). Same float operations, in the same order, as the GPU kernel.
pub(crate) fn covers(u: usize, v: usize, cx: f32, cy: f32, r: f32) -> bool {
    let dx = (u as f32 + PIXEL_CENTER_OFFSET) - cx;
    let dy = (v as f32 + PIXEL_CENTER_OFFSET) - cy;
    dx * dx + dy * dy < r * r
}

/// Orders candidate layers by depth, then by point index.
fn closer(z: f32, id: i32, other_z: f32, other_id: i32) -> bool {
    z < other_z || (z == other_z && id < other_id)
}

/// Rasterises `centers` (pixel coordinates), `depths` and screen radii `radii` into a K-buffer on
/// the CPU. Errors on inconsistent lengths or invalid options.
pub fn rasterize_knn_cpu(
    centers: &[[f32; 2]],
    depths: &[f32],
    radii: &[f32],
    options: &KnnOptions,
) -> Result<KnnBufferCpu, KnnError> {
    options.validate()?;
    super::check_lengths(centers.len(), depths.len(), radii.len())?;
    let KnnOptions {
        height,
        width,
        k,
        near,
    } = *options;
    let mut ids = vec![-1i32; height * width * k];
    let mut out_depths = vec![-1.0f32; height * width * k];
    let mut counts = vec![0usize; height * width];

    for (i, ((&[cx, cy], &z), &r)) in centers.iter().zip(depths).zip(radii).enumerate() {
        let Some((x0, x1, y0, y1)) = pixel_rect(cx, cy, z, r, width, height, near) else {
            continue;
        };
        let id = i as i32;
        for v in y0..=y1 {
            for u in x0..=x1 {
                if !covers(u, v, cx, cy, r) {
                    continue;
                }
                let pixel = v * width + u;
                let layer_ids = &mut ids[pixel * k..(pixel + 1) * k];
                let layer_depths = &mut out_depths[pixel * k..(pixel + 1) * k];
                let count = &mut counts[pixel];
                if *count == k && !closer(z, id, layer_depths[k - 1], layer_ids[k - 1]) {
                    continue;
                }
                let mut slot = if *count == k { k - 1 } else { *count };
                *count = (*count + 1).min(k);
                while slot > 0 && closer(z, id, layer_depths[slot - 1], layer_ids[slot - 1]) {
                    layer_depths[slot] = layer_depths[slot - 1];
                    layer_ids[slot] = layer_ids[slot - 1];
                    slot -= 1;
                }
                layer_depths[slot] = z;
                layer_ids[slot] = id;
            }
        }
    }
    Ok(KnnBufferCpu {
        height,
        width,
        k,
        ids,
        depths: out_depths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Brute force: every pixel sorts all covering points by (depth, index) and keeps the first k.
    fn brute_force(
        centers: &[[f32; 2]],
        depths: &[f32],
        radii: &[f32],
        o: &KnnOptions,
    ) -> (Vec<i32>, Vec<f32>) {
        let mut ids = vec![-1; o.height * o.width * o.k];
        let mut ds = vec![-1.0; o.height * o.width * o.k];
        for v in 0..o.height {
            for u in 0..o.width {
                let mut hits: Vec<(f32, i32)> = (0..centers.len())
                    .filter(|&i| {
                        let [cx, cy] = centers[i];
                        pixel_rect(cx, cy, depths[i], radii[i], o.width, o.height, o.near).is_some()
                            && covers(u, v, cx, cy, radii[i])
                    })
                    .map(|i| (depths[i], i as i32))
                    .collect();
                hits.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                for (s, (z, id)) in hits.into_iter().take(o.k).enumerate() {
                    let at = (v * o.width + u) * o.k + s;
                    ids[at] = id;
                    ds[at] = z;
                }
            }
        }
        (ids, ds)
    }

    #[test]
    fn matches_brute_force_on_random_scenes() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..20 {
            let n = rng.random_range(0..60);
            let o = KnnOptions {
                height: rng.random_range(1..40),
                width: rng.random_range(1..40),
                k: rng.random_range(1..6),
                near: 0.1,
            };
            let centers: Vec<[f32; 2]> = (0..n)
                .map(|_| [rng.random_range(-10.0..50.0), rng.random_range(-10.0..50.0)])
                .collect();
            // Quarter-pixel steps make exact boundary cases and depth ties common.
            let depths: Vec<f32> = (0..n)
                .map(|_| rng.random_range(-2..8) as f32 * 0.25)
                .collect();
            let radii: Vec<f32> = (0..n)
                .map(|_| rng.random_range(0..40) as f32 * 0.25)
                .collect();
            let got = rasterize_knn_cpu(&centers, &depths, &radii, &o).unwrap();
            let (ids, ds) = brute_force(&centers, &depths, &radii, &o);
            assert_eq!(got.ids, ids);
            assert_eq!(got.depths, ds);
        }
    }

    #[test]
    fn covers_is_strict_and_uses_integer_pixel_centres() {
        // Pixel (3, 2) lies exactly on the circle of radius 1 around (2, 2): not covered.
        assert!(!covers(3, 2, 2.0, 2.0, 1.0));
        assert!(covers(3, 2, 2.0, 2.0, 1.001));
        assert!(covers(2, 2, 2.4, 2.4, 0.6));
        assert!(!covers(3, 3, 2.4, 2.4, 0.6));
    }

    #[test]
    fn ties_are_ordered_by_index_and_behind_points_ignored() {
        let o = KnnOptions {
            height: 1,
            width: 1,
            k: 3,
            near: 0.0,
        };
        let centers = [[0.0, 0.0]; 4];
        let got = rasterize_knn_cpu(&centers, &[1.0, -1.0, 0.5, 0.5], &[1.0; 4], &o).unwrap();
        assert_eq!(got.ids, vec![2, 3, 0]);
        assert_eq!(got.depths, vec![0.5, 0.5, 1.0]);
    }

    #[test]
    fn rejects_mismatched_lengths() {
        let o = KnnOptions {
            height: 4,
            width: 4,
            k: 2,
            near: 0.0,
        };
        let err = rasterize_knn_cpu(&[[0.0, 0.0]], &[1.0, 2.0], &[1.0], &o).unwrap_err();
        assert!(matches!(err, KnnError::LengthMismatch { .. }), "{err}");
    }
}
