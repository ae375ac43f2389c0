//! The last step of the guided conversion (luma through the RGB maps, rounding, packing to RGB
//! bytes) in AVX2 and FMA intrinsics, 8 pixel pairs at a time: the compiler's own vectorisation
//! of [`super::Filter::convert`] rounds through four instructions per value and interleaves the
//! six byte planes with generic shuffles; here a value takes one conversion and the packing two
//! saturating packs and four byte shuffles per 16 pixels.

use std::arch::x86_64::*;

/// Proof that this CPU has AVX2 and FMA: made only where it does.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx2Fma(());

impl Avx2Fma {
    /// The kernel, where this CPU runs it.
    pub(super) fn detect() -> Option<Self> {
        (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(Self(()))
    }

    /// Converts the row's pixel pairs in whole blocks of 8, from the first, and returns how many
    /// it converted (the rest is left to the caller).
    ///
    /// `maps` are the row's six RGB maps (slope, offset for red, green, blue) at chroma
    /// resolution with one padding sample at each end, `luma` the row's pixels and `out` its
    /// packed RGB bytes. `LEFT`: chroma sited on the even pixels (the odd ones take half of the
    /// sample and half of the next); otherwise centred (each pixel ¾ its own sample, ¼ the
    /// nearer neighbour).
    pub(super) fn convert_pairs<const LEFT: bool>(
        self,
        maps: [&[f32]; 6],
        luma: &[u8],
        out: &mut [u8],
    ) -> usize {
        let pairs = (luma.len() / 2).min(out.len() / 6).min(
            maps.iter()
                .map(|m| m.len().saturating_sub(2))
                .min()
                .unwrap_or(0),
        );
        let blocks = pairs / 8;
        // SAFETY: `Avx2Fma` exists only where the CPU has AVX2 and FMA; every block reads
        // `maps[k][8b..8b + 10]`, `luma[16b..16b + 16]` and writes `out[48b..48b + 48]`, all
        // within the slices for `b < blocks` by the bound on `pairs` above.
        unsafe {
            for b in 0..blocks {
                block::<LEFT>(&maps, luma, out, 8 * b);
            }
        }
        8 * blocks
    }
}

/// Pixel pairs `i..i + 8` of the row (see [`Avx2Fma::convert_pairs`]).
///
/// # Safety
/// The CPU has AVX2 and FMA; `maps[k][i..i + 10]`, `luma[2i..2i + 16]` and `out[6i..6i + 48]`
/// are in bounds.
#[target_feature(enable = "avx2,fma")]
unsafe fn block<const LEFT: bool>(maps: &[&[f32]; 6], luma: &[u8], out: &mut [u8], i: usize) {
    unsafe {
        // The pairs' even and odd pixels as f32.
        let pixels = _mm_loadu_si128(luma.as_ptr().add(2 * i).cast());
        let split = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
        let split = _mm_shuffle_epi8(pixels, split);
        let even_luma = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(split));
        let odd_luma = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128::<8>(split)));
        // A map at the pairs' even and odd pixels.
        let at = |m: &[f32]| {
            let own = _mm256_loadu_ps(m.as_ptr().add(i + 1));
            let next = _mm256_loadu_ps(m.as_ptr().add(i + 2));
            if LEFT {
                (
                    own,
                    _mm256_mul_ps(_mm256_set1_ps(0.5), _mm256_add_ps(own, next)),
                )
            } else {
                let before = _mm256_loadu_ps(m.as_ptr().add(i));
                let (three, one) = (_mm256_set1_ps(0.75), _mm256_set1_ps(0.25));
                let own = _mm256_mul_ps(three, own);
                (
                    _mm256_fmadd_ps(one, before, own),
                    _mm256_fmadd_ps(one, next, own),
                )
            }
        };
        // One channel at the even and odd pixels, rounded to the nearest integer.
        let channel = |slope: &[f32], offset: &[f32]| {
            let ((slope_even, slope_odd), (offset_even, offset_odd)) = (at(slope), at(offset));
            (
                _mm256_cvtps_epi32(_mm256_fmadd_ps(slope_even, even_luma, offset_even)),
                _mm256_cvtps_epi32(_mm256_fmadd_ps(slope_odd, odd_luma, offset_odd)),
            )
        };
        let (r_even, r_odd) = channel(maps[0], maps[1]);
        let (g_even, g_odd) = channel(maps[2], maps[3]);
        let (b_even, b_odd) = channel(maps[4], maps[5]);
        // Saturating packs clamp to 0–255. Per 128-bit lane (pairs 0–3, then 4–7):
        // first = R G B of the even pixels and R of the odd ones, 4 bytes each;
        // rest = G B of the odd ones (4 bytes each, twice).
        let first = _mm256_packus_epi16(
            _mm256_packs_epi32(r_even, g_even),
            _mm256_packs_epi32(b_even, r_odd),
        );
        let rest = _mm256_packs_epi32(g_odd, b_odd);
        let rest = _mm256_packus_epi16(rest, rest);
        // Interleaved as R G B R G B per pair: 16 bytes of pairs 0, 1 and 2 (its first four),
        // then 8 bytes of pairs 2 (its last two) and 3. −1 leaves a zero for the other source.
        let z = -1;
        let head = _mm256_or_si256(
            _mm256_shuffle_epi8(
                first,
                lanes(_mm_setr_epi8(
                    0, 4, 8, 12, z, z, 1, 5, 9, 13, z, z, 2, 6, 10, 14,
                )),
            ),
            _mm256_shuffle_epi8(
                rest,
                lanes(_mm_setr_epi8(
                    z, z, z, z, 0, 4, z, z, z, z, 1, 5, z, z, z, z,
                )),
            ),
        );
        let tail = _mm256_or_si256(
            _mm256_shuffle_epi8(
                first,
                lanes(_mm_setr_epi8(
                    z, z, 3, 7, 11, 15, z, z, z, z, z, z, z, z, z, z,
                )),
            ),
            _mm256_shuffle_epi8(
                rest,
                lanes(_mm_setr_epi8(
                    2, 6, z, z, z, z, 3, 7, z, z, z, z, z, z, z, z,
                )),
            ),
        );
        let dst = out.as_mut_ptr().add(6 * i);
        let at_byte = |k: usize| dst.add(k).cast::<__m128i>();
        _mm_storeu_si128(at_byte(0), _mm256_castsi256_si128(head));
        _mm_storel_epi64(at_byte(16), _mm256_castsi256_si128(tail));
        _mm_storeu_si128(at_byte(24), _mm256_extracti128_si256::<1>(head));
        _mm_storel_epi64(at_byte(40), _mm256_extracti128_si256::<1>(tail));
    }
}

/// The same 16 bytes in both 128-bit lanes (a byte shuffle's indices).
#[target_feature(enable = "avx2")]
fn lanes(indices: __m128i) -> __m256i {
    _mm256_broadcastsi128_si256(indices)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: one channel of pair `i`'s even or odd pixel, rounded and clamped.
    fn reference(left: bool, [slope, offset]: [&[f32]; 2], luma: f64, i: usize, odd: bool) -> u8 {
        let at = |m: &[f32]| {
            let (before, own, next) = (m[i] as f64, m[i + 1] as f64, m[i + 2] as f64);
            match (left, odd) {
                (true, false) => own,
                (true, true) => 0.5 * (own + next),
                (false, false) => 0.75 * own + 0.25 * before,
                (false, true) => 0.75 * own + 0.25 * next,
            }
        };
        (at(slope) * luma + at(offset)).round().clamp(0.0, 255.0) as u8
    }

    /// Every whole block of 8 pairs converts as the plain formula does (to a rounding tie), with
    /// values far outside 0–255 clamped, for both sitings; the pairs after the last whole block
    /// are left alone.
    #[test]
    fn blocks_match_the_plain_conversion() {
        let Some(kernel) = Avx2Fma::detect() else {
            eprintln!("this CPU has no AVX2 and FMA: the kernel is never used here");
            return;
        };
        let mut state = 7u32;
        let mut uniform = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 24) as f32
        };
        for pairs in [8usize, 13, 64, 77] {
            let maps: Vec<Vec<f32>> = (0..6)
                .map(|k| {
                    let (scale, shift) = if k % 2 == 0 {
                        (8.0, -3.0)
                    } else {
                        (900.0, -450.0)
                    };
                    (0..pairs + 2).map(|_| uniform() * scale + shift).collect()
                })
                .collect();
            let maps: [&[f32]; 6] = std::array::from_fn(|k| maps[k].as_slice());
            let luma: Vec<u8> = (0..2 * pairs).map(|_| (uniform() * 256.0) as u8).collect();
            for left in [true, false] {
                let mut out = vec![0xAA; 6 * pairs];
                let done = if left {
                    kernel.convert_pairs::<true>(maps, &luma, &mut out)
                } else {
                    kernel.convert_pairs::<false>(maps, &luma, &mut out)
                };
                assert_eq!(done, pairs / 8 * 8);
                assert!(out[6 * done..].iter().all(|&b| b == 0xAA), "{pairs} pairs");
                let mut differing = 0;
                for i in 0..done {
                    for (c, byte) in out[6 * i..6 * i + 6].iter().enumerate() {
                        let channel = [maps[2 * (c % 3)], maps[2 * (c % 3) + 1]];
                        let want = reference(left, channel, luma[2 * i + c / 3] as f64, i, c >= 3);
                        assert!(
                            byte.abs_diff(want) <= 1,
                            "pair {i} byte {c}: {byte} vs {want}"
                        );
                        differing += usize::from(*byte != want);
                    }
                }
                assert!(
                    differing * 100 <= 6 * done,
                    "{differing} of {} differ",
                    6 * done
                );
            }
        }
    }
}
