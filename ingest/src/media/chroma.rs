//! 4:2:0 YUV to RGB, the chroma brought to full resolution along the luma plane's edges.
//!
//! Cameras record one chroma sample per 2 × 2 pixels; interpolating those (bilinear) smears
//! colour across every edge, which costs several dB of PSNR on textured subjects. Within a few
//! pixels, chroma is close to an affine function of luma, so this fits that function where the
//! chroma is sampled and applies it with the full-resolution luma: a guided filter (He, Sun and
//! Tang, "Guided Image Filtering", 2013, in the fast form that fits at low resolution) on
//! 3 × 3 chroma-sample windows, whose result is then corrected so that its 2 × 2 means give back
//! the decoded chroma samples.
//!
//! Chroma samples lie where the stream's siting says ([`Siting`]): centred in their 2 × 2 block
//! (JPEG), or on its left column (MPEG-2 siting, H.264's default) or top row. The guide is the
//! luma filtered as an encoder filters the chroma at that place, and the interpolation between
//! samples follows it (¾ and ¼ around centred samples; the sample itself, then halfway to the
//! next, for sited ones). The chroma stays in floating point up to the RGB values, which are
//! rounded once.
//!
//! The image streams through the filter a chroma row at a time, each stage keeping only the
//! three rows the next one reads, so that every intermediate row stays in the CPU's nearest
//! cache; the loops are written for the compiler to vectorise, and the conversion is also
//! compiled for AVX2 and AVX-512 and picks the widest the CPU has at run time. Its last step
//! (luma through the maps, rounding, packing to RGB bytes) is written in AVX2 intrinsics
//! ([`avx2`]) where the CPU has them, the portable loop converting the rest.

#[cfg(target_arch = "x86_64")]
mod avx2;

/// How the decoder brings 4:2:0 chroma (one sample per 2 × 2 pixels) to full resolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChromaUpsampling {
    /// Along the luma edges (a guided filter): 1–2 dB closer to the scene on textured
    /// subjects; about 3 ms of CPU per 1080p frame (a third of the software decode's).
    #[default]
    Guided,
    /// Each chroma sample repeated over its 2 × 2 block (as libyuv does): 0.3 ms per 1080p
    /// frame, colour edges blocky.
    Nearest,
}

/// Where a subsampled stream's chroma samples lie in the block of pixels they cover; halfway
/// (centred) along an axis unless said otherwise. From the stream's caps (`chroma-site`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Siting {
    /// On the block's left column (MPEG-2 siting; H.264's and HEVC's default).
    pub left: bool,
    /// On the block's top row.
    pub top: bool,
}

impl Siting {
    /// On the left column, halfway between the rows: H.264's and HEVC's default.
    pub(crate) const MPEG2: Siting = Siting {
        left: true,
        top: false,
    };

    /// Whether the samples are centred along both axes (nothing to resample).
    pub(crate) fn is_centred(self) -> bool {
        !self.left && !self.top
    }
}

/// `plane` resampled to centred sample positions, 8-bit, rows without padding, for converters
/// that take centred samples: where `siting` puts the samples on the block's first column (row),
/// the centre lies a quarter of a sample further, so it takes ¾ of the sample and ¼ of the next
/// (the plane's edge repeated).
pub(crate) fn centred_plane(plane: Plane, siting: Siting) -> Vec<u8> {
    let (w, h) = (plane.width, plane.height);
    // Weights in sixteenths: ¾ or 1 of the own row (column), ¼ or 0 of the next.
    let (t, s) = (u16::from(siting.top), u16::from(siting.left));
    let [own, right, below, diagonal] = [(4 - t) * (4 - s), (4 - t) * s, t * (4 - s), t * s];
    let mix = |a: u8, b: u8, c: u8, d: u8| {
        let sum = own * u16::from(a) + right * u16::from(b) + below * u16::from(c);
        ((sum + diagonal * u16::from(d) + 8) >> 4) as u8
    };
    let mut out = vec![0u8; w * h];
    for (j, row) in out.chunks_exact_mut(w).enumerate() {
        let (r0, r1) = (plane.row(j), plane.row(j + 1));
        let pairs = r0.iter().zip(&r0[1..]).zip(r1.iter().zip(&r1[1..]));
        for (o, ((&a, &b), (&c, &d))) in row.iter_mut().zip(pairs) {
            *o = mix(a, b, c, d);
        }
        // The last column's right neighbour is itself.
        row[w - 1] = mix(r0[w - 1], r0[w - 1], r1[w - 1], r1[w - 1]);
    }
    out
}

/// The guided filter's regulariser in 8-bit units squared: luma variation below about
/// √EPS levels within a window is taken for noise, and there the chroma is only smoothed.
const EPS: f32 = 10.0;

/// One 8-bit plane: samples, row stride in bytes, width and height in samples.
#[derive(Clone, Copy)]
pub(crate) struct Plane<'a> {
    pub data: &'a [u8],
    pub stride: usize,
    pub width: usize,
    pub height: usize,
}

impl Plane<'_> {
    /// Row `y` (clamped to the plane) without its padding.
    fn row(&self, y: usize) -> &[u8] {
        let start = y.min(self.height - 1) * self.stride;
        &self.data[start..start + self.width]
    }
}

/// The last three rows computed of a chroma-resolution `f32` plane (row `k` in slot `k mod 3`),
/// read with the plane's border repeated: each stage of the filter reads a row and its two
/// neighbours of the stage before.
#[derive(Default)]
struct Ring {
    width: usize,
    height: usize,
    data: Vec<f32>,
}

impl Ring {
    /// Makes room for three rows of a `width × height` plane.
    fn reset(&mut self, width: usize, height: usize) {
        (self.width, self.height) = (width, height);
        // Every row is written before it is read: no need to clear.
        self.data.resize(3 * width, 0.0);
    }

    /// Row `k`, the nearest plane row where `k` is outside the plane.
    #[inline(always)]
    fn row(&self, k: isize) -> &[f32] {
        let slot = k.clamp(0, self.height as isize - 1) as usize % 3;
        &self.data[slot * self.width..(slot + 1) * self.width]
    }

    /// Rows `k − 1`, `k` and `k + 1`.
    #[inline(always)]
    fn around(&self, k: usize) -> [&[f32]; 3] {
        let k = k as isize;
        [self.row(k - 1), self.row(k), self.row(k + 1)]
    }

    /// Row `k`'s slot, to be written.
    #[inline(always)]
    fn row_mut(&mut self, k: usize) -> &mut [f32] {
        let slot = k % 3;
        &mut self.data[slot * self.width..(slot + 1) * self.width]
    }
}

/// A row with one extra sample at each end, for sums over each sample's neighbours.
#[derive(Default)]
struct Padded(Vec<f32>);

impl Padded {
    /// The `width` inner samples (to be overwritten).
    #[inline(always)]
    fn inner(&mut self, width: usize) -> &mut [f32] {
        self.0.resize(width + 2, 0.0);
        &mut self.0[1..=width]
    }

    /// The row with its ends repeated into the padding.
    #[inline(always)]
    fn repeat_ends(&mut self) -> &[f32] {
        let n = self.0.len();
        (self.0[0], self.0[n - 1]) = (self.0[1], self.0[n - 2]);
        &self.0
    }
}

/// `out[i]` = `scale` × the sum of `padded[i..i + 3]`: a 3-sample mean along the row.
#[inline(always)]
fn across(padded: &[f32], scale: f32, out: &mut [f32]) {
    let (left, mid, right) = (&padded[..out.len()], &padded[1..=out.len()], &padded[2..]);
    for (((o, &a), &b), &c) in out.iter_mut().zip(left).zip(mid).zip(right) {
        *o = (a + b + c) * scale;
    }
}

/// The guided filter's stages, a chroma row at a time: the guide and the chroma as `f32`, each
/// sample's slope (`chroma ≈ a · luma + b` over its 3 × 3 window, for `u` and `v`), and the maps
/// from luma to RGB; then the full-resolution rows of each chroma row.
#[derive(Default)]
struct Filter {
    /// The guide: full-resolution luma filtered as the encoder filtered the chroma; and the
    /// decoded chroma, as `f32`.
    guide: Ring,
    u: Ring,
    v: Ring,
    /// The fitted slopes before their 3 × 3 mean.
    slope_u: Ring,
    slope_v: Ring,
    /// The maps from luma to red, green and blue (slope, offset, slope, ...): the chroma maps
    /// (slopes averaged over the windows covering a sample, offsets that reproduce the decoded
    /// chroma at the guide) composed with the YUV → RGB conversion.
    maps: [Ring; 6],
    /// The maps of full-resolution rows, interpolated between chroma rows (padded): row `y` in
    /// slot `y mod 4`.
    rows: [[Padded; 6]; 4],
    /// Row scratch: a luma row filtered across rows, column sums, the averaged slopes; RGB of a
    /// row's even and odd pixels.
    down: Padded,
    sums: [Padded; 6],
    slopes: [Vec<f32>; 2],
    even: [Vec<u8>; 3],
    odd: [Vec<u8>; 3],
    /// The last step in AVX2 intrinsics, where the CPU has them.
    #[cfg(target_arch = "x86_64")]
    simd: Option<avx2::Avx2Fma>,
}

impl Filter {
    /// Makes room for chroma planes of `width × height` samples.
    fn reset(&mut self, width: usize, height: usize) {
        let rings = [&mut self.guide, &mut self.u, &mut self.v];
        let rings = rings
            .into_iter()
            .chain([&mut self.slope_u, &mut self.slope_v]);
        for ring in rings.chain(&mut self.maps) {
            ring.reset(width, height);
        }
    }

    /// Writes packed RGB of the planes into `out` (see [`yuv420_to_rgb`]).
    #[inline(always)]
    fn run(&mut self, [luma, u, v]: [Plane; 3], siting: Siting, colour: Colour, out: &mut [u8]) {
        let ch = u.height;
        self.reset(u.width, ch);
        // Each stage runs a row behind the one it reads, which needs that row's next neighbour.
        for r in 0..ch + 3 {
            if r < ch {
                self.input([&luma, &u, &v], siting, r);
            }
            if let Some(j) = r.checked_sub(1).filter(|&j| j < ch) {
                self.slopes(j);
            }
            if let Some(j) = r.checked_sub(2).filter(|&j| j <= ch) {
                if j < ch {
                    self.maps(j, colour);
                }
                self.rows_between(j, siting.top);
            }
            if let Some(j) = r.checked_sub(3).filter(|&j| j < ch) {
                let ys = 2 * j..(2 * j + 2).min(luma.height);
                self.convert(&luma, ys, siting, out);
            }
        }
    }

    /// Chroma row `j` of the guide and of `u` and `v`.
    #[inline(always)]
    fn input(&mut self, [luma, u, v]: [&Plane; 3], siting: Siting, j: usize) {
        self.guide_row(luma, j, siting);
        for (rows, plane) in [(&mut self.u, u), (&mut self.v, v)] {
            for (c, &s) in rows.row_mut(j).iter_mut().zip(plane.row(j)) {
                *c = f32::from(s);
            }
        }
    }

    /// The guide of chroma row `j`: luma filtered as the encoder filtered the chroma, at each
    /// chroma sample: the mean of the two pixels the sample lies between, or `[1 2 1] / 4`
    /// around the pixel it lies on; across the rows first, then along them.
    #[inline(always)]
    fn guide_row(&mut self, luma: &Plane, j: usize, siting: Siting) {
        let w = luma.width;
        let down = self.down.inner(w);
        let (r0, r1) = (luma.row(2 * j), luma.row(2 * j + 1));
        if siting.top {
            let above = luma.row((2 * j).saturating_sub(1));
            for (((d, &a), &b), &c) in down.iter_mut().zip(above).zip(r0).zip(r1) {
                *d = 0.25 * f32::from(a) + 0.5 * f32::from(b) + 0.25 * f32::from(c);
            }
        } else {
            for ((d, &a), &b) in down.iter_mut().zip(r0).zip(r1) {
                *d = 0.5 * (f32::from(a) + f32::from(b));
            }
        }
        // Padded: the left neighbour of column 0 and the right one of an odd width's last
        // column repeat the edge.
        let down = self.down.repeat_ends();
        let guide = &mut self.guide.row_mut(j)[..w.div_ceil(2)];
        if siting.left {
            for (i, g) in guide.iter_mut().enumerate() {
                *g = 0.25 * down[2 * i] + 0.5 * down[2 * i + 1] + 0.25 * down[2 * i + 2];
            }
        } else {
            for (i, g) in guide.iter_mut().enumerate() {
                *g = 0.5 * (down[2 * i + 1] + down[2 * i + 2]);
            }
        }
    }

    /// Each sample's guided-filter slope over its 3 × 3 window, for chroma row `j` (the input
    /// rows `j − 1` to `j + 1` are in place).
    #[inline(always)]
    fn slopes(&mut self, j: usize) {
        let cw = self.guide.width;
        let ([g0, g1, g2], [u0, u1, u2], [v0, v1, v2]) =
            (self.guide.around(j), self.u.around(j), self.v.around(j));
        let [s_g, s_gg, s_u, s_gu, s_v, s_gv] = &mut self.sums;
        let (s_g, s_gg) = (s_g.inner(cw), s_gg.inner(cw));
        let (s_u, s_gu, s_v, s_gv) = (s_u.inner(cw), s_gu.inner(cw), s_v.inner(cw), s_gv.inner(cw));
        for i in 0..cw {
            let (a, b, c) = (g0[i], g1[i], g2[i]);
            s_g[i] = a + b + c;
            s_gg[i] = a * a + b * b + c * c;
            s_u[i] = u0[i] + u1[i] + u2[i];
            s_gu[i] = a * u0[i] + b * u1[i] + c * u2[i];
            s_v[i] = v0[i] + v1[i] + v2[i];
            s_gv[i] = a * v0[i] + b * v1[i] + c * v2[i];
        }
        let [s_g, s_gg, s_u, s_gu, s_v, s_gv] =
            self.sums.each_mut().map(|s| &s.repeat_ends()[..cw + 2]);
        let (out_u, out_v) = (
            &mut self.slope_u.row_mut(j)[..cw],
            &mut self.slope_v.row_mut(j)[..cw],
        );
        let mean = |s: &[f32], i: usize| (s[i] + s[i + 1] + s[i + 2]) * (1.0 / 9.0);
        for i in 0..cw {
            let g = mean(s_g, i);
            let inverse = 1.0 / (mean(s_gg, i) - g * g + EPS);
            out_u[i] = (mean(s_gu, i) - g * mean(s_u, i)) * inverse;
            out_v[i] = (mean(s_gv, i) - g * mean(s_v, i)) * inverse;
        }
    }

    /// The slopes' 3 × 3 means and the RGB maps of chroma row `j` (its slopes' rows `j − 1` to
    /// `j + 1` are in place).
    #[inline(always)]
    fn maps(&mut self, j: usize, colour: Colour) {
        let cw = self.guide.width;
        let [sums_u, sums_v, ..] = &mut self.sums;
        let [mean_u, mean_v] = &mut self.slopes;
        for (slopes, sums, a) in [
            (&self.slope_u, sums_u, mean_u),
            (&self.slope_v, sums_v, mean_v),
        ] {
            let [s0, s1, s2] = slopes.around(j);
            for (((s, &x), &y), &z) in sums.inner(cw).iter_mut().zip(s0).zip(s1).zip(s2) {
                *s = x + y + z;
            }
            a.resize(cw, 0.0);
            across(sums.repeat_ends(), 1.0 / 9.0, a);
        }
        let k = j as isize;
        let (guide, u, v) = (self.guide.row(k), self.u.row(k), self.v.row(k));
        let [a_u, a_v] = self.slopes.each_ref().map(|a| &a[..cw]);
        let [r1, r0, g1, g0, b1, b0] = self.maps.each_mut().map(|m| &mut m.row_mut(j)[..cw]);
        let Colour {
            y_offset,
            y_scale,
            r_v,
            g_u,
            g_v,
            b_u,
        } = colour;
        let shift = -y_offset * y_scale;
        for i in 0..cw {
            // The offsets that make the chroma maps give the decoded chroma at the guide,
            // less the chroma's zero (128).
            let (au, av) = (a_u[i], a_v[i]);
            let bu = u[i] - au * guide[i] - 128.0;
            let bv = v[i] - av * guide[i] - 128.0;
            (r1[i], r0[i]) = (y_scale + r_v * av, shift + r_v * bv);
            (g1[i], g0[i]) = (y_scale - g_u * au - g_v * av, shift - g_u * bu - g_v * bv);
            (b1[i], b0[i]) = (y_scale + b_u * au, shift + b_u * bu);
        }
    }

    /// The maps of full-resolution rows `2j − 1` and `2j`, interpolated between chroma rows
    /// `j − 1` and `j` (whose maps are in place; at the plane's edges the rows outside repeat
    /// the edge's, and the rows written that lie outside the image are not read).
    #[inline(always)]
    fn rows_between(&mut self, j: usize, top: bool) {
        let cw = self.guide.width;
        // Each row's weight of the chroma row on its other side (see [`weights`]).
        let (above, _, _) = weights(2 * j, top);
        let (_, _, below) = weights(2 * j + 1, top);
        let Ok([upper, lower]) = self.rows.get_disjoint_mut([(2 * j) % 4, (2 * j + 3) % 4]) else {
            unreachable!("rows 2j and 2j − 1 lie in different slots")
        };
        let k = j as isize;
        for (map, (upper, lower)) in self.maps.iter().zip(upper.iter_mut().zip(lower)) {
            let (prev, cur) = (map.row(k - 1), map.row(k));
            let pairs = upper.inner(cw).iter_mut().zip(lower.inner(cw));
            for (((u, l), &p), &c) in pairs.zip(prev).zip(cur) {
                let d = c - p;
                *u = c - above * d;
                *l = p + below * d;
            }
            upper.repeat_ends();
            lower.repeat_ends();
        }
    }

    /// Converts full-resolution rows `ys` (whose chroma rows' maps, and their neighbours', are in
    /// place) to packed RGB rows in `out`.
    ///
    /// Each pair of pixels shares a chroma sample; even and odd pixels are computed apart, in
    /// loops over whole SIMD vectors, and interleaved as RGB at the end.
    #[inline(always)]
    fn convert(
        &mut self,
        luma: &Plane,
        ys: std::ops::Range<usize>,
        siting: Siting,
        out: &mut [u8],
    ) {
        // The weights of [`weights`], written out per siting: with the six RGB maps, closures
        // that multiply by weights held in variables convert 2–3 × slower (13–16 ms against
        // 5–6 ms per 1080p frame, measured 2026-12-07).
        if siting.left {
            // Even pixels lie on their sample, odd ones halfway to the next.
            let even = |m: &[f32], i: usize| m[i + 1];
            let odd = |m: &[f32], i: usize| 0.5 * (m[i + 1] + m[i + 2]);
            self.convert_rows::<true>(luma, ys, (even, odd), out);
        } else {
            // Centred samples: each pixel is ¾ its own and ¼ the nearer neighbour.
            let even = |m: &[f32], i: usize| 0.75 * m[i + 1] + 0.25 * m[i];
            let odd = |m: &[f32], i: usize| 0.75 * m[i + 1] + 0.25 * m[i + 2];
            self.convert_rows::<false>(luma, ys, (even, odd), out);
        }
    }

    /// [`Filter::convert`] with the maps of a row interpolated to even and odd pixels by `even`
    /// and `odd` (from the padded map row and the pair's index); `LEFT`: chroma sited on the
    /// even pixels.
    #[inline(always)]
    fn convert_rows<const LEFT: bool>(
        &mut self,
        luma: &Plane,
        ys: std::ops::Range<usize>,
        (even, odd): (impl Fn(&[f32], usize) -> f32, impl Fn(&[f32], usize) -> f32),
        out: &mut [u8],
    ) {
        let (w, cw) = (luma.width, self.guide.width);
        let pairs = w / 2;
        let q = round_to_u8;
        for y in ys {
            let maps = self.rows[y % 4].each_ref().map(|r| &r.0[..pairs + 2]);
            let [r1, r0, g1, g0, b1, b0] = maps;
            let luma_row = &luma.row(y)[..w];
            let luma_pairs = &luma_row[..2 * pairs];
            let out_row = &mut out[y * w * 3..(y + 1) * w * 3];
            // The pairs the intrinsics convert, where the CPU has them; the rest below.
            #[cfg(target_arch = "x86_64")]
            let start = self
                .simd
                .map_or(0, |k| k.convert_pairs::<LEFT>(maps, luma_pairs, out_row));
            #[cfg(not(target_arch = "x86_64"))]
            let start = 0;
            for rgb in self.even.iter_mut().chain(&mut self.odd) {
                rgb.resize(cw, 0);
            }
            let [re, ge, be] = self.even.each_mut().map(|p| &mut p[..cw]);
            let [ro, go, bo] = self.odd.each_mut().map(|p| &mut p[..pairs]);
            for i in start..pairs {
                let (le, lo) = (
                    f32::from(luma_pairs[2 * i]),
                    f32::from(luma_pairs[2 * i + 1]),
                );
                re[i] = q(even(r1, i) * le + even(r0, i));
                ge[i] = q(even(g1, i) * le + even(g0, i));
                be[i] = q(even(b1, i) * le + even(b0, i));
                ro[i] = q(odd(r1, i) * lo + odd(r0, i));
                go[i] = q(odd(g1, i) * lo + odd(g0, i));
                bo[i] = q(odd(b1, i) * lo + odd(b0, i));
            }
            let mut out_pairs = out_row[6 * start..].chunks_exact_mut(6);
            for (i, px) in (start..).zip(&mut out_pairs) {
                px.copy_from_slice(&[re[i], ge[i], be[i], ro[i], go[i], bo[i]]);
            }
            if let [r, g, b] = out_pairs.into_remainder() {
                // An odd width: the last pixel, even and without a right neighbour.
                let (i, l) = (pairs, f32::from(luma_row[w - 1]));
                [*r, *g, *b] =
                    [(r1, r0), (g1, g0), (b1, b0)].map(|(m1, m0)| q(even(m1, i) * l + even(m0, i)));
            }
        }
    }
}

/// `x` clamped to 0–255 and rounded: adding 1.5 · 2²³ leaves the rounded integer in the
/// float's last mantissa bits (a form the compiler turns into SIMD, unlike a cast).
#[inline(always)]
fn round_to_u8(x: f32) -> u8 {
    (x.clamp(0.0, 255.0) + 12_582_912.0).to_bits() as u8
}

/// How full-resolution position `x` (a row or column) takes the chroma samples around it:
/// weights of the sample before, its own and the one after. Centred samples lie halfway
/// between positions `2i` and `2i + 1`, so each position is ¾ its own sample and ¼ the nearer
/// neighbour; `sited` samples lie on position `2i`: even positions are the sample itself, odd
/// ones halfway to the next.
#[inline(always)]
fn weights(x: usize, sited: bool) -> (f32, f32, f32) {
    match (sited, x.is_multiple_of(2)) {
        (false, true) => (0.25, 0.75, 0.0),
        (false, false) => (0.0, 0.75, 0.25),
        (true, true) => (0.0, 1.0, 0.0),
        (true, false) => (0.0, 0.5, 0.5),
    }
}

/// A YUV → RGB conversion: the colour matrix (`kr`, `kb`) and the value range.
#[derive(Clone, Copy)]
pub(crate) struct Colour {
    /// Luma offset (16 for limited range) and scale to 0–255.
    y_offset: f32,
    y_scale: f32,
    /// `Cr` → red, `Cb` → green, `Cr` → green, `Cb` → blue, with the chroma range's scale.
    r_v: f32,
    g_u: f32,
    g_v: f32,
    b_u: f32,
}

impl Colour {
    /// The conversion of matrix `kr`, `kb` (e.g. 0.299, 0.114 for BT.601), limited range
    /// (luma 16–235, chroma 16–240) unless `full_range`.
    pub(crate) fn new(kr: f32, kb: f32, full_range: bool) -> Colour {
        let (y_offset, y_scale, c_scale) = if full_range {
            (0.0, 1.0, 1.0)
        } else {
            (16.0, 255.0 / 219.0, 255.0 / 224.0)
        };
        let kg = 1.0 - kr - kb;
        Colour {
            y_offset,
            y_scale,
            r_v: 2.0 * (1.0 - kr) * c_scale,
            g_u: 2.0 * (1.0 - kb) * kb / kg * c_scale,
            g_v: 2.0 * (1.0 - kr) * kr / kg * c_scale,
            b_u: 2.0 * (1.0 - kb) * c_scale,
        }
    }

    /// RGB of luma `y` and chroma `u`, `v` (centred on 128): the conversion the RGB maps
    /// compose, for the tests' references.
    #[cfg(test)]
    fn rgb(&self, y: f32, u: f32, v: f32) -> [u8; 3] {
        let (l, u, v) = ((y - self.y_offset) * self.y_scale, u - 128.0, v - 128.0);
        let q = round_to_u8;
        [
            q(l + self.r_v * v),
            q(l - self.g_u * u - self.g_v * v),
            q(l + self.b_u * u),
        ]
    }
}

/// Writes packed RGB (`luma.width × luma.height`, rows without padding) of the 4:2:0 planes
/// `luma`, `u` and `v`, whose chroma is sited as `siting` says, into `out`.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+fma",
    "x86_64+avx2+fma"
))]
pub(crate) fn yuv420_to_rgb(
    [luma, u, v]: [Plane; 3],
    siting: Siting,
    colour: Colour,
    out: &mut [u8],
) {
    let mut filter = Filter::default();
    #[cfg(target_arch = "x86_64")]
    {
        filter.simd = avx2::Avx2Fma::detect();
    }
    filter.run([luma, u, v], siting, colour, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Centred, then sited on the left column, the top row, and both.
    const SITINGS: [Siting; 4] = [
        Siting {
            left: false,
            top: false,
        },
        Siting::MPEG2,
        Siting {
            left: false,
            top: true,
        },
        Siting {
            left: true,
            top: true,
        },
    ];

    /// The two low-resolution rows (of `n`) that full-resolution row `x` interpolates between, and
    /// the weight of the second (see [`weights`]).
    fn taps(x: usize, n: usize, sited: bool) -> (usize, usize, f32) {
        let i = x / 2;
        match weights(x, sited) {
            (before, _, _) if before > 0.0 => (i, i.saturating_sub(1), before),
            (_, _, after) => (i.min(n - 1), (i + 1).min(n - 1), after),
        }
    }

    /// A full-resolution plane filtered at the chroma samples of `siting`: along each axis the
    /// mean of the block's two pixels (centred), or `[1 2 1] / 4` around its first pixel.
    fn filter_at(full: &[f32], w: usize, h: usize, siting: Siting) -> Vec<f32> {
        let at = |x: isize, y: isize| {
            let (x, y) = (x.clamp(0, w as isize - 1), y.clamp(0, h as isize - 1));
            full[y as usize * w + x as usize]
        };
        let taps = |sited: bool| -> &'static [(isize, f32)] {
            if sited {
                &[(-1, 0.25), (0, 0.5), (1, 0.25)]
            } else {
                &[(0, 0.5), (1, 0.5)]
            }
        };
        let sample = |i: usize, j: usize| {
            let (x, y) = (2 * i as isize, 2 * j as isize);
            let mut sum = 0.0;
            for &(dy, wy) in taps(siting.top) {
                for &(dx, wx) in taps(siting.left) {
                    sum += wx * wy * at(x + dx, y + dy);
                }
            }
            sum
        };
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        (0..ch)
            .flat_map(|j| (0..cw).map(move |i| (i, j)))
            .map(|(i, j)| sample(i, j))
            .collect()
    }

    /// What a 4:2:0 encoder stores of a full-resolution plane with `siting` (see
    /// [`filter_at`]), and the chroma plane's size.
    fn subsample(full: &[u8], w: usize, h: usize, siting: Siting) -> (Vec<u8>, usize, usize) {
        let full: Vec<f32> = full.iter().map(|&x| f32::from(x)).collect();
        let samples = filter_at(&full, w, h, siting)
            .into_iter()
            .map(|c| (c + 0.5) as u8);
        (samples.collect(), w.div_ceil(2), h.div_ceil(2))
    }

    fn plane(data: &[u8], stride: usize, width: usize, height: usize) -> Plane<'_> {
        Plane {
            data,
            stride,
            width,
            height,
        }
    }

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let mse = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
    }

    /// Bilinear (centred) upsampling of `c`, the reference the guided form must beat.
    fn bilinear(c: &[u8], cw: usize, ch: usize, w: usize, h: usize) -> Vec<u8> {
        let at = |i: usize, j: usize| f32::from(c[j * cw + i]);
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            let (j0, j1, t) = taps(y, ch, false);
            for x in 0..w {
                let (i0, i1, s) = taps(x, cw, false);
                let top = at(i0, j0) + s * (at(i1, j0) - at(i0, j0));
                let bottom = at(i0, j1) + s * (at(i1, j1) - at(i0, j1));
                out.push((top + t * (bottom - top)).round() as u8);
            }
        }
        out
    }

    /// `conversion` of a `w × h` luma plane and its chroma planes, rows without padding.
    fn convert_by(
        luma: &[u8],
        (w, h): (usize, usize),
        [u, v]: [&[u8]; 2],
        conversion: impl FnOnce([Plane; 3], &mut [u8]),
    ) -> Vec<u8> {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let mut out = vec![0u8; w * h * 3];
        let planes = [
            plane(luma, w, w, h),
            plane(u, cw, cw, ch),
            plane(v, cw, cw, ch),
        ];
        conversion(planes, &mut out);
        out
    }

    /// [`yuv420_to_rgb`] of a `w × h` luma plane and its chroma planes (centred unless
    /// `siting` says).
    fn convert(
        luma: &[u8],
        size: (usize, usize),
        chroma: [&[u8]; 2],
        siting: Siting,
        colour: Colour,
    ) -> Vec<u8> {
        convert_by(luma, size, chroma, |planes, out| {
            yuv420_to_rgb(planes, siting, colour, out)
        })
    }

    /// RGB of full-resolution planes `luma`, `u`, `v`.
    fn to_rgb(luma: &[u8], u: &[u8], v: &[u8], colour: Colour) -> Vec<u8> {
        let px = |k: usize| colour.rgb(f32::from(luma[k]), f32::from(u[k]), f32::from(v[k]));
        (0..luma.len()).flat_map(px).collect()
    }

    /// Stripes and a disc of two colours (their chroma follows luma), at odd and even sizes.
    fn stripes_and_disc(w: usize, h: usize) -> [Vec<u8>; 3] {
        two_colours(w, h, |x, y| {
            let (dx, dy) = (x as f32 - w as f32 * 0.6, y as f32 - h as f32 * 0.5);
            (x / 3) % 2 == 0 || dx * dx + dy * dy < 80.0
        })
    }

    /// Planes of BT.601 limited-range red where `inside(x, y)` and a blue-green elsewhere.
    fn two_colours(w: usize, h: usize, inside: impl Fn(usize, usize) -> bool) -> [Vec<u8>; 3] {
        let (mut luma, mut u, mut v) = (vec![0u8; w * h], vec![0u8; w * h], vec![0u8; w * h]);
        for y in 0..h {
            for x in 0..w {
                let k = y * w + x;
                (luma[k], u[k], v[k]) = if inside(x, y) {
                    (81, 90, 240)
                } else {
                    (106, 203, 63)
                };
            }
        }
        [luma, u, v]
    }

    /// The guided result is far closer to the true image than one with bilinear chroma, and
    /// the conversion keeps the colours of flat areas.
    #[test]
    fn chroma_edges_follow_the_luma_edges() {
        let colour = Colour::new(0.299, 0.114, false);
        let centred = Siting::default();
        for (w, h) in [(64, 48), (37, 29)] {
            let [luma, u, v] = stripes_and_disc(w, h);
            let truth = to_rgb(&luma, &u, &v, colour);
            let (u_sub, cw, ch) = subsample(&u, w, h, centred);
            let (v_sub, _, _) = subsample(&v, w, h, centred);
            let guided = convert(&luma, (w, h), [&u_sub, &v_sub], centred, colour);
            let plain = to_rgb(
                &luma,
                &bilinear(&u_sub, cw, ch, w, h),
                &bilinear(&v_sub, cw, ch, w, h),
                colour,
            );
            let (guided_db, plain_db) = (psnr(&guided, &truth), psnr(&plain, &truth));
            assert!(
                guided_db > plain_db + 6.0,
                "{w}x{h}: guided {guided_db:.2} dB, bilinear {plain_db:.2} dB"
            );
            // Far from the edges the colours are exact: red at the top-left corner's stripe.
            assert!(
                (guided[0] as i32 - 255).abs() <= 1 && guided[1] <= 1 && guided[2] <= 1,
                "{w}x{h}: {:?}",
                &guided[..3]
            );
        }
    }

    /// Chroma sampled on the blocks' left column or top row converts far closer to the truth
    /// when read with that siting than when read as centred (checks of 5 pixels: 28.6–29.6 dB
    /// against 17.1–20.3 dB).
    #[test]
    fn sited_chroma_is_read_where_it_was_sampled() {
        let colour = Colour::new(0.299, 0.114, false);
        let (w, h) = (64, 48);
        let [luma, u, v] = two_colours(w, h, |x, y| (x / 5 + y / 5) % 2 == 0);
        let truth = to_rgb(&luma, &u, &v, colour);
        let db = |sampled: Siting, read: Siting| {
            let (u_sub, _, _) = subsample(&u, w, h, sampled);
            let (v_sub, _, _) = subsample(&v, w, h, sampled);
            psnr(
                &convert(&luma, (w, h), [&u_sub, &v_sub], read, colour),
                &truth,
            )
        };
        for siting in &SITINGS[1..] {
            let (right, wrong) = (db(*siting, *siting), db(*siting, Siting::default()));
            assert!(
                right > wrong + 6.0,
                "{siting:?}: read sited {right:.2} dB, as centred {wrong:.2} dB"
            );
        }
    }

    /// Sited samples moved to the block centres: ¾ of the sample and ¼ of the next along each
    /// sited axis, the last row and column repeating themselves.
    #[test]
    fn sited_planes_are_resampled_to_the_centres() {
        let (w, h) = (5, 3);
        let data: Vec<u8> = (0..w * h).map(|k| (k * 37 % 251) as u8).collect();
        let at = |i: usize, j: usize| f32::from(data[j.min(h - 1) * w + i.min(w - 1)]);
        for siting in SITINGS {
            let (t, s) = (
                if siting.top { 0.25 } else { 0.0 },
                if siting.left { 0.25 } else { 0.0 },
            );
            let got = centred_plane(plane(&data, w, w, h), siting);
            for (k, &g) in got.iter().enumerate() {
                let (i, j) = (k % w, k / w);
                let row = |j| (1.0 - s) * at(i, j) + s * at(i + 1, j);
                let want = (1.0 - t) * row(j) + t * row(j + 1);
                assert!(
                    (f32::from(g) - want).abs() <= 0.5,
                    "{siting:?} ({i}, {j}): {g} vs {want}"
                );
            }
        }
    }

    /// The same filter written plainly over whole planes, as the reference the banded,
    /// vectorised conversion must reproduce.
    fn reference(
        luma: &[u8],
        (w, h): (usize, usize),
        [u, v]: [&[u8]; 2],
        siting: Siting,
        colour: Colour,
    ) -> Vec<u8> {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let clamp = |k: isize, n: usize| k.clamp(0, n as isize - 1) as usize;
        let box3 = |p: &[f32]| -> Vec<f32> {
            let at = |i: isize, j: isize| p[clamp(j, ch) * cw + clamp(i, cw)];
            let mut out = Vec::with_capacity(cw * ch);
            for j in 0..ch as isize {
                for i in 0..cw as isize {
                    let sum: f32 = (-1..=1)
                        .flat_map(|dj| (-1..=1).map(move |di| (di, dj)))
                        .map(|(di, dj)| at(i + di, j + dj))
                        .sum();
                    out.push(sum / 9.0);
                }
            }
            out
        };
        let luma_at = |x: usize, y: usize| f32::from(luma[y * w + x]);
        let full: Vec<f32> = luma.iter().map(|&l| f32::from(l)).collect();
        let g = filter_at(&full, w, h, siting);
        let mean_g = box3(&g);
        let mean_gg = box3(&g.iter().map(|g| g * g).collect::<Vec<_>>());
        let maps = |c: &[u8]| {
            let c: Vec<f32> = c.iter().map(|&c| f32::from(c)).collect();
            let mean_c = box3(&c);
            let mean_gc = box3(&g.iter().zip(&c).map(|(g, c)| g * c).collect::<Vec<_>>());
            let slope: Vec<f32> = (0..cw * ch)
                .map(|k| {
                    let var = mean_gg[k] - mean_g[k] * mean_g[k];
                    (mean_gc[k] - mean_g[k] * mean_c[k]) / (var + EPS)
                })
                .collect();
            let a = box3(&slope);
            let b: Vec<f32> = (0..cw * ch).map(|k| c[k] - a[k] * g[k]).collect();
            (a, b)
        };
        let ((au, bu), (av, bv)) = (maps(u), maps(v));
        let mut out = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            let (j0, j1, t) = taps(y, ch, siting.top);
            for x in 0..w {
                let (i0, i1, s) = taps(x, cw, siting.left);
                let interpolate = |m: &[f32]| {
                    let row =
                        |j: usize, i: usize| m[j0 * cw + i] + t * (m[j * cw + i] - m[j0 * cw + i]);
                    (1.0 - s) * row(j1, i0) + s * row(j1, i1)
                };
                let l = luma_at(x, y);
                let (cu, cv) = (
                    interpolate(&au) * l + interpolate(&bu),
                    interpolate(&av) * l + interpolate(&bv),
                );
                out.extend(colour.rgb(l, cu, cv));
            }
        }
        out
    }

    /// The streamed conversion equals the plain whole-plane filter (to float rounding) at sizes
    /// odd and even, for every siting: as this CPU runs it, and with the portable loops alone
    /// (as on CPUs without AVX2).
    #[test]
    fn streaming_gives_the_whole_plane_filter() {
        let colour = Colour::new(0.2126, 0.0722, false);
        let mut state = 12345u32;
        let mut noise = move || {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 16) as u8
        };
        for (w, h) in [
            (1usize, 1usize),
            (2, 2),
            (3, 5),
            (37, 29),
            (64, 48),
            (101, 3),
            (67, 131),
        ] {
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            // Smooth ramps with noise: edges of every strength.
            let luma: Vec<u8> = (0..w * h)
                .map(|k| ((k % w) * 3 + (k / w)) as u8 / 2 + noise() / 2)
                .collect();
            let u: Vec<u8> = (0..cw * ch).map(|_| 64 + noise() / 2).collect();
            let v: Vec<u8> = (0..cw * ch).map(|_| 64 + noise() / 2).collect();
            for siting in SITINGS {
                let plain = reference(&luma, (w, h), [&u, &v], siting, colour);
                let streamed = convert(&luma, (w, h), [&u, &v], siting, colour);
                // The portable loops alone (no intrinsics), as on CPUs without AVX2.
                let portable = convert_by(&luma, (w, h), [&u, &v], |planes, out| {
                    Filter::default().run(planes, siting, colour, out)
                });
                for (path, rgb) in [("as run here", streamed), ("portable", portable)] {
                    let differing = rgb.iter().zip(&plain).filter(|(a, b)| a != b).count();
                    let largest = rgb.iter().zip(&plain).map(|(&a, &b)| a.abs_diff(b)).max();
                    // Values on a rounding tie may land either side: at most 1 % of them, by 1.
                    assert!(
                        largest <= Some(1) && differing * 100 <= rgb.len(),
                        "{w}x{h} {siting:?} {path}: {differing} of {} values differ, by up to \
                         {largest:?}",
                        rgb.len()
                    );
                }
            }
        }
    }
}
