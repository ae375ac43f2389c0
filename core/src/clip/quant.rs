//! Quantisation of a frame into its uncompressed chunk bytes and back (layout in the module doc
//! of [`crate::clip`]).

use half::f16;

use super::{FrameEntry, FramePoints};
use crate::sh;

/// Uncompressed bytes per point: positions 6, radius 2, density 2, colour 3, SH rest 1 each.
fn bytes_per_point(sh_degree: u32) -> u64 {
    13 + FramePoints::sh_rest_per_point(sh_degree) as u64
}

/// Exact uncompressed chunk length for `points` points at `sh_degree`.
pub(crate) fn chunk_len(points: u32, sh_degree: u32) -> u64 {
    4 * sh_degree as u64 + points as u64 * bytes_per_point(sh_degree)
}

/// The axis-aligned bounds of `positions` (zero for none).
pub(crate) fn bounds(positions: &[[f32; 3]]) -> ([f32; 3], [f32; 3]) {
    if positions.is_empty() {
        return ([0.0; 3], [0.0; 3]);
    }
    positions.iter().fold(
        ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]),
        |(lo, hi), p| {
            (
                std::array::from_fn(|a| lo[a].min(p[a])),
                std::array::from_fn(|a| hi[a].max(p[a])),
            )
        },
    )
}

/// Appends a u16 column as two byte planes (all low bytes, then all high bytes).
fn put_u16_planes(out: &mut Vec<u8>, values: impl Iterator<Item = u16> + Clone) {
    out.extend(values.clone().map(|v| v as u8));
    out.extend(values.map(|v| (v >> 8) as u8));
}

/// Range of SH-rest indices (within one channel) holding degree `l ≥ 1`.
fn degree_range(l: u32) -> std::ops::Range<usize> {
    (l * l) as usize - 1..((l + 1) * (l + 1)) as usize - 1
}

/// Quantises a validated frame into chunk bytes, positions relative to the bounds `lo..hi`.
pub(crate) fn encode(points: &FramePoints, sh_degree: u32, lo: [f32; 3], hi: [f32; 3]) -> Vec<u8> {
    let n = points.len();
    let k = sh::coeff_count(sh_degree) - 1;
    let mut out = Vec::with_capacity(chunk_len(n as u32, sh_degree) as usize);
    let scales: Vec<f32> = (1..=sh_degree)
        .map(|l| {
            let range = degree_range(l);
            let max = points
                .sh_rest
                .chunks_exact(k)
                .flat_map(|coefs| coefs[range.clone()].iter())
                .fold(0.0f32, |m, v| m.max(v.abs()));
            max / 127.0
        })
        .collect();
    scales.iter().for_each(|s| out.extend(s.to_le_bytes()));
    for a in 0..3 {
        let (min, extent) = (lo[a] as f64, hi[a] as f64 - lo[a] as f64);
        let q = move |p: &[f32; 3]| {
            if extent > 0.0 {
                ((p[a] as f64 - min) / extent * 65535.0).round() as u16
            } else {
                0
            }
        };
        put_u16_planes(&mut out, points.positions.iter().map(q));
    }
    put_u16_planes(
        &mut out,
        points.radii.iter().map(|r| f16::from_f32(*r).to_bits()),
    );
    put_u16_planes(
        &mut out,
        points
            .densities
            .iter()
            .map(|d| (d.clamp(0.0, 1.0) * 65535.0).round() as u16),
    );
    for ch in 0..3 {
        out.extend(
            points
                .colors
                .iter()
                .map(|c| (c[ch].clamp(0.0, 1.0) * 255.0).round() as u8),
        );
    }
    for ch in 0..3 {
        for l in 1..=sh_degree {
            let scale = scales[l as usize - 1];
            for coef in degree_range(l) {
                out.extend(points.sh_rest.chunks_exact(3 * k).map(|p| {
                    let v = p[ch * k + coef];
                    if scale > 0.0 {
                        (v / scale).round().clamp(-127.0, 127.0) as i8 as u8
                    } else {
                        0
                    }
                }));
            }
        }
    }
    debug_assert_eq!(out.len() as u64, chunk_len(n as u32, sh_degree));
    out
}

/// Rebuilds a frame from chunk bytes of exactly `chunk_len(entry.point_count, sh_degree)`.
pub(crate) fn decode(
    bytes: &[u8],
    entry: &FrameEntry,
    sh_degree: u32,
) -> Result<FramePoints, String> {
    let n = entry.point_count as usize;
    if bytes.len() as u64 != chunk_len(entry.point_count, sh_degree) {
        return Err(format!(
            "chunk holds {} bytes, {} points need {}",
            bytes.len(),
            n,
            chunk_len(entry.point_count, sh_degree)
        ));
    }
    let k = sh::coeff_count(sh_degree) - 1;
    let mut rest = bytes;
    let mut take = |len: usize| {
        let (head, tail) = rest.split_at(len);
        rest = tail;
        head
    };
    let scales: Vec<f32> = take(4 * sh_degree as usize)
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("chunks_exact(4)")))
        .collect();
    if let Some(s) = scales.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
        return Err(format!("SH scale {s} is not a finite non-negative number"));
    }
    let mut u16_column = || {
        let (low, high) = (take(n), take(n));
        low.iter()
            .zip(high)
            .map(|(l, h)| u16::from_le_bytes([*l, *h]))
            .collect::<Vec<u16>>()
    };
    let axes: [Vec<u16>; 3] = std::array::from_fn(|_| u16_column());
    let radius_bits = u16_column();
    let density_bits = u16_column();
    let positions = (0..n)
        .map(|i| {
            std::array::from_fn(|a| {
                let (min, extent) = (
                    entry.bounds_min[a] as f64,
                    entry.bounds_max[a] as f64 - entry.bounds_min[a] as f64,
                );
                (min + axes[a][i] as f64 / 65535.0 * extent) as f32
            })
        })
        .collect();
    let radii: Vec<f32> = radius_bits
        .into_iter()
        .map(|b| f16::from_bits(b).to_f32())
        .collect();
    if let Some(i) = radii.iter().position(|r| !(r.is_finite() && *r >= 0.0)) {
        return Err(format!("radius of point {i} decodes to {}", radii[i]));
    }
    let densities = density_bits
        .into_iter()
        .map(|d| d as f32 / 65535.0)
        .collect();
    let channels: [&[u8]; 3] = std::array::from_fn(|_| take(n));
    let colors = (0..n)
        .map(|i| channels.map(|c| c[i] as f32 / 255.0))
        .collect();
    let mut sh_rest = vec![0.0f32; n * 3 * k];
    for ch in 0..3 {
        for l in 1..=sh_degree {
            let scale = scales[l as usize - 1];
            for coef in degree_range(l) {
                for (i, q) in take(n).iter().enumerate() {
                    sh_rest[i * 3 * k + ch * k + coef] = *q as i8 as f32 * scale;
                }
            }
        }
    }
    Ok(FramePoints {
        positions,
        radii,
        densities,
        colors,
        sh_rest,
    })
}
