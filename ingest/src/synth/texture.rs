//! Procedural textures for the synthetic scene: periodic multi-scale noise, stripes, checks,
//! bricks and printed-like motifs, generated deterministically from a seed, with a mip chain and
//! a CPU bilinear sampler that matches the GPU's `Repeat` addressing.

use rayon::prelude::*;

/// Side length in texels of every material layer.
pub const LAYER_SIZE: u32 = 512;

/// The materials of the scene; each is one layer of the texture array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Material {
    /// Bare skin: warm tone with fine pores and freckles.
    Skin,
    /// Shirt: coloured stripes, woven micro-checks and a printed dot motif.
    Shirt,
    /// Trousers: tartan checks with a diagonal twill.
    Pants,
    /// Shoes: dark leather with perforation dots.
    Shoes,
    /// Head: hair-like streaks over a mosaic cap.
    Head,
    /// Floor: wooden planks with grain.
    Floor,
    /// Walls: bricks with mortar and colour variation.
    Wall,
    /// Ceiling: light mottled plaster.
    Ceiling,
    /// Back of the calibration board: grey card.
    BoardBack,
}

impl Material {
    /// Every material in texture-layer order.
    pub const ALL: [Material; 9] = [
        Material::Skin,
        Material::Shirt,
        Material::Pants,
        Material::Shoes,
        Material::Head,
        Material::Floor,
        Material::Wall,
        Material::Ceiling,
        Material::BoardBack,
    ];

    /// This material's layer index in the texture array.
    pub fn layer(self) -> u32 {
        Material::ALL
            .iter()
            .position(|m| *m == self)
            .expect("material listed in ALL") as u32
    }
}

/// An RGBA8 image with a full mip chain (level 0 first).
#[derive(Clone, Debug)]
pub struct MipImage {
    /// Width of level 0.
    pub width: u32,
    /// Height of level 0.
    pub height: u32,
    /// Pixels of each level, row-major RGBA8.
    pub levels: Vec<Vec<u8>>,
}

impl MipImage {
    /// Builds the mip chain of `base` (`width × height` RGBA8) by box filtering: each texel of
    /// a level averages the area of the level above that it covers, so that an odd size
    /// (135 → 67) keeps every feature where it was in texture coordinates instead of shifting
    /// it by up to half a texel.
    pub fn new(width: u32, height: u32, base: Vec<u8>) -> MipImage {
        assert_eq!(
            base.len(),
            (width * height * 4) as usize,
            "RGBA8 buffer size"
        );
        let mut levels = vec![base];
        let (mut w, mut h) = (width, height);
        while w > 1 || h > 1 {
            let (nw, nh) = ((w / 2).max(1), (h / 2).max(1));
            let prev = levels.last().expect("level 0 exists");
            let (wx, wy) = (box_weights(w, nw), box_weights(h, nh));
            let mut next = vec![0u8; (nw * nh * 4) as usize];
            for (y, row_taps) in wy.iter().enumerate() {
                for (x, col_taps) in wx.iter().enumerate() {
                    let mut sum = [0.0f64; 4];
                    for &(sy, a) in row_taps {
                        for &(sx, b) in col_taps {
                            let i = ((sy * w + sx) * 4) as usize;
                            for (ch, acc) in sum.iter_mut().enumerate() {
                                *acc += a * b * prev[i + ch] as f64;
                            }
                        }
                    }
                    let o = (y * nw as usize + x) * 4;
                    for (ch, acc) in sum.iter().enumerate() {
                        next[o + ch] = acc.round().clamp(0.0, 255.0) as u8;
                    }
                }
            }
            levels.push(next);
            (w, h) = (nw, nh);
        }
        MipImage {
            width,
            height,
            levels,
        }
    }

    /// Bilinear sample of level 0 at texture coordinates `(u, v)` with repeat addressing, as
    /// the GPU's linear sampler does (texel centres at `(i + 0.5) / size`). Returns RGB in 0..1.
    pub fn sample_repeat(&self, u: f64, v: f64) -> [f64; 3] {
        let (w, h) = (self.width as i64, self.height as i64);
        let x = u * w as f64 - 0.5;
        let y = v * h as f64 - 0.5;
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let texel = |ix: i64, iy: i64| {
            let (ix, iy) = (ix.rem_euclid(w), iy.rem_euclid(h));
            let i = ((iy * w + ix) * 4) as usize;
            let p = &self.levels[0][i..i + 3];
            [p[0] as f64, p[1] as f64, p[2] as f64]
        };
        let (x0, y0) = (x0 as i64, y0 as i64);
        let (a, b, c, d) = (
            texel(x0, y0),
            texel(x0 + 1, y0),
            texel(x0, y0 + 1),
            texel(x0 + 1, y0 + 1),
        );
        let mut out = [0.0; 3];
        for ch in 0..3 {
            let top = a[ch] * (1.0 - fx) + b[ch] * fx;
            let bottom = c[ch] * (1.0 - fx) + d[ch] * fx;
            out[ch] = (top * (1.0 - fy) + bottom * fy) / 255.0;
        }
        out
    }
}

/// For each of `to` texels spanning the same extent as `from` texels: the source texels it
/// overlaps and the share of its width each covers (the shares sum to one).
fn box_weights(from: u32, to: u32) -> Vec<Vec<(u32, f64)>> {
    let scale = from as f64 / to as f64;
    (0..to)
        .map(|i| {
            let (lo, hi) = (i as f64 * scale, (i + 1) as f64 * scale);
            (lo.floor() as u32..(hi.ceil() as u32).min(from))
                .filter_map(|s| {
                    let overlap = (hi.min(s as f64 + 1.0) - lo.max(s as f64)) / scale;
                    (overlap > 1e-12).then_some((s, overlap))
                })
                .collect()
        })
        .collect()
}

/// Generates every material layer for `seed` (`LAYER_SIZE²` each, tileable in both directions).
pub fn material_layers(seed: u64) -> Vec<MipImage> {
    Material::ALL
        .par_iter()
        .map(|m| {
            let n = LAYER_SIZE;
            let mut px = vec![0u8; (n * n * 4) as usize];
            px.par_chunks_mut((n * 4) as usize)
                .enumerate()
                .for_each(|(y, row)| {
                    for x in 0..n as usize {
                        let u = (x as f64 + 0.5) / n as f64;
                        let v = (y as f64 + 0.5) / n as f64;
                        let c = material_colour(*m, seed, u, v);
                        for ch in 0..3 {
                            row[x * 4 + ch] = (c[ch].clamp(0.0, 1.0) * 255.0).round() as u8;
                        }
                        row[x * 4 + 3] = 255;
                    }
                });
            MipImage::new(n, n, px)
        })
        .collect()
}

/// Integer hash of a lattice point (deterministic, platform-independent).
fn hash(ix: i64, iy: i64, seed: u64) -> f64 {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    h ^= (ix as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = h.rotate_left(31).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^= (iy as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Smooth value noise on a lattice of `period × period` cells over the unit square, periodic in
/// both directions so textures tile without seams. Returns 0..1.
fn value_noise(u: f64, v: f64, period: i64, seed: u64) -> f64 {
    let (x, y) = (u * period as f64, v * period as f64);
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
    let (ix, iy) = (x0 as i64, y0 as i64);
    let at = |dx: i64, dy: i64| {
        hash(
            (ix + dx).rem_euclid(period),
            (iy + dy).rem_euclid(period),
            seed,
        )
    };
    let top = at(0, 0) * (1.0 - sx) + at(1, 0) * sx;
    let bottom = at(0, 1) * (1.0 - sx) + at(1, 1) * sx;
    top * (1.0 - sy) + bottom * sy
}

/// Fractal sum of periodic value noise from `base` cells upwards over `octaves` octaves (0..1).
fn fbm(u: f64, v: f64, base: i64, octaves: u32, seed: u64) -> f64 {
    let (mut sum, mut amp, mut norm) = (0.0, 1.0, 0.0);
    for o in 0..octaves {
        sum += amp * value_noise(u, v, base << o, seed.wrapping_add(o as u64 * 7919));
        norm += amp;
        amp *= 0.55;
    }
    sum / norm
}

fn mix(a: [f64; 3], b: [f64; 3], t: f64) -> [f64; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn scale(c: [f64; 3], s: f64) -> [f64; 3] {
    [c[0] * s, c[1] * s, c[2] * s]
}

/// A colour from a small palette picked by hashing `(i, j)`.
fn palette(i: i64, j: i64, seed: u64, colours: &[[f64; 3]]) -> [f64; 3] {
    colours[(hash(i, j, seed) * colours.len() as f64) as usize % colours.len()]
}

/// The colour of material `m` at texture coordinates `(u, v)` in the unit square.
fn material_colour(m: Material, seed: u64, u: f64, v: f64) -> [f64; 3] {
    let s = seed
        .wrapping_mul(31)
        .wrapping_add(m.layer() as u64 * 1_000_003);
    let fine = fbm(u, v, 64, 3, s ^ 1);
    match m {
        Material::Skin => {
            let base = mix([0.80, 0.60, 0.48], [0.70, 0.50, 0.40], fbm(u, v, 8, 3, s));
            let freckle = (value_noise(u, v, 128, s ^ 2) > 0.82) as u8 as f64;
            scale(
                mix(base, [0.55, 0.36, 0.26], 0.5 * freckle),
                0.9 + 0.2 * fine,
            )
        }
        Material::Shirt => {
            let colours = [
                [0.75, 0.15, 0.15],
                [0.15, 0.35, 0.70],
                [0.90, 0.85, 0.75],
                [0.20, 0.55, 0.30],
            ];
            let band = (v * 24.0).floor() as i64;
            let mut c = palette(band, 0, s, &colours);
            // Woven micro-checks: alternate threads every 2 texels.
            let weave = (((u * 256.0) as i64 + (v * 256.0) as i64) & 1) as f64;
            c = scale(c, 0.88 + 0.12 * weave);
            // Printed dots on a 16×16 grid.
            let (cu, cv) = ((u * 16.0).fract() - 0.5, (v * 16.0).fract() - 0.5);
            if cu * cu + cv * cv < 0.06 {
                c = palette(
                    (u * 16.0) as i64,
                    (v * 16.0) as i64,
                    s ^ 3,
                    &[[1.0, 0.9, 0.2], [0.1, 0.1, 0.1], [1.0, 1.0, 1.0]],
                );
            }
            scale(c, 0.85 + 0.3 * fine)
        }
        Material::Pants => {
            let a = ((u * 12.0).fract() < 0.3) as u8 as f64;
            let b = ((v * 12.0).fract() < 0.3) as u8 as f64;
            let thin = (((u * 48.0).fract() < 0.12) || ((v * 48.0).fract() < 0.12)) as u8 as f64;
            let mut c = mix([0.12, 0.18, 0.35], [0.35, 0.12, 0.12], 0.5 * (a + b));
            c = mix(c, [0.85, 0.80, 0.30], 0.6 * thin);
            let twill = ((((u + v) * 200.0).fract()) < 0.5) as u8 as f64;
            scale(c, (0.85 + 0.1 * twill) * (0.8 + 0.4 * fine))
        }
        Material::Shoes => {
            let (cu, cv) = ((u * 32.0).fract() - 0.5, (v * 32.0).fract() - 0.5);
            let hole = (cu * cu + cv * cv < 0.04) as u8 as f64;
            scale(
                mix([0.30, 0.18, 0.10], [0.05, 0.04, 0.03], hole),
                0.7 + 0.5 * fine,
            )
        }
        Material::Head => {
            // Hair-like streaks along v, over a mosaic of coloured tiles.
            let streak = value_noise(u * 4.0, v * 0.25, 64, s ^ 4);
            let tile = palette(
                (u * 20.0) as i64,
                (v * 10.0) as i64,
                s ^ 5,
                &[[0.25, 0.15, 0.08], [0.40, 0.25, 0.12], [0.15, 0.10, 0.06]],
            );
            let skin = mix([0.82, 0.62, 0.50], [0.72, 0.52, 0.42], fine);
            // Upper half of the head (small v) is hair, the rest skin with a printed band.
            let hair = ((0.45 - v) * 20.0).clamp(0.0, 1.0);
            let band = ((v - 0.62).abs() < 0.03) as u8 as f64;
            let face = mix(skin, [0.1, 0.1, 0.4], band);
            mix(face, scale(tile, 0.6 + 0.8 * streak), hair)
        }
        Material::Floor => {
            let plank = (v * 8.0).floor() as i64;
            let shift = hash(plank, 7, s);
            let along = (u + shift).rem_euclid(1.0);
            let board_end = ((along * 2.0).fract() < 0.006) as u8 as f64;
            let groove = ((v * 8.0).fract() < 0.02) as u8 as f64;
            let grain =
                value_noise(along * 0.5, v * 8.0, 64, s ^ (plank as u64)) * 0.5 + 0.5 * fine;
            let base = mix([0.55, 0.38, 0.22], [0.75, 0.55, 0.35], hash(plank, 3, s));
            scale(
                base,
                (0.7 + 0.5 * grain) * (1.0 - 0.6 * groove.max(board_end)),
            )
        }
        Material::Wall => {
            let row = (v * 16.0).floor() as i64;
            let offset = if row % 2 == 0 { 0.0 } else { 0.5 };
            let col = (u * 8.0 + offset).floor() as i64;
            let (bu, bv) = ((u * 8.0 + offset).fract(), (v * 16.0).fract());
            let mortar = (bu < 0.04 || bv < 0.08) as u8 as f64;
            let brick = palette(
                col,
                row,
                s,
                &[
                    [0.62, 0.28, 0.20],
                    [0.55, 0.25, 0.18],
                    [0.70, 0.38, 0.26],
                    [0.48, 0.30, 0.25],
                ],
            );
            let c = mix(scale(brick, 0.75 + 0.5 * fine), [0.80, 0.78, 0.74], mortar);
            scale(c, 0.9 + 0.2 * fbm(u, v, 4, 2, s ^ 6))
        }
        Material::Ceiling => scale([0.85, 0.85, 0.82], 0.85 + 0.15 * fbm(u, v, 16, 4, s)),
        Material::BoardBack => scale([0.55, 0.55, 0.57], 0.95 + 0.1 * fine),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_periodic_and_in_range() {
        for i in 0..50 {
            let u = i as f64 * 0.0173;
            let v = i as f64 * 0.031;
            let a = value_noise(u, v, 16, 5);
            let b = value_noise(u + 1.0, v - 1.0, 16, 5);
            assert!((a - b).abs() < 1e-9);
            assert!((0.0..=1.0).contains(&a));
        }
    }

    #[test]
    fn mip_chain_halves_to_one_texel() {
        let img = MipImage::new(6, 3, vec![200; 6 * 3 * 4]);
        let sizes: Vec<usize> = img.levels.iter().map(|l| l.len() / 4).collect();
        assert_eq!(sizes, vec![18, 3, 1]);
        assert_eq!(img.levels[2], vec![200; 4]);
    }

    #[test]
    fn odd_sized_levels_keep_features_in_place() {
        // A ramp in u, 135 texels wide: every level's texel must hold the ramp's value at its
        // own centre, (i + 0.5) / width, as the GPU samples it.
        let width = 135u32;
        let ramp = |u: f64| 255.0 * u;
        let base = (0..width)
            .flat_map(|x| {
                let v = ramp((x as f64 + 0.5) / width as f64).round() as u8;
                [v, v, v, 255]
            })
            .collect();
        let img = MipImage::new(width, 1, base);
        let mut w = width;
        for level in &img.levels[1..5] {
            w /= 2;
            for x in 0..w {
                let want = ramp((x as f64 + 0.5) / w as f64);
                let got = level[(x * 4) as usize] as f64;
                assert!(
                    (got - want).abs() <= 1.0,
                    "width {w} texel {x}: {got} vs {want:.2}"
                );
            }
        }
    }

    #[test]
    fn bilinear_sampling_hits_texel_centres() {
        let mut px = vec![0u8; 2 * 2 * 4];
        px[4] = 255; // texel (1, 0) red
        let img = MipImage::new(2, 2, px);
        assert!((img.sample_repeat(0.75, 0.25)[0] - 1.0).abs() < 1e-12);
        assert!((img.sample_repeat(0.25, 0.25)[0]).abs() < 1e-12);
        // Half-way between texel (1,0) and its wrapped neighbour (0,0).
        assert!((img.sample_repeat(1.0, 0.25)[0] - 0.5).abs() < 1e-12);
    }
}
