//! Audio-based time alignment of two recordings by GCC-PHAT cross-correlation (pure Rust).
//!
//! Sign convention: a positive `offset_seconds` means `other` started recording *later* than
//! `reference`, so an event at time `T` in `reference` appears at `T - offset_seconds` in `other`.

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

use super::AudioTrack;

/// The result of aligning two audio tracks.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OffsetEstimate {
    /// Start of `other` minus start of `reference`, in seconds (see the module docs).
    pub offset_seconds: f64,
    /// 0 (ambiguous) to 1 (unique peak): `1 - second_peak / peak`.
    pub confidence: f64,
    /// Height of the correlation peak divided by the highest peak outside its neighbourhood.
    pub peak_ratio: f64,
}

/// Why two tracks could not be aligned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyncError {
    /// The tracks must share a sample rate (decode both with the same rate).
    #[error("sample rates differ: reference {reference} Hz, other {other} Hz")]
    RateMismatch {
        /// Rate of the reference track.
        reference: u32,
        /// Rate of the other track.
        other: u32,
    },
    /// A track is too short (or silent) to correlate.
    #[error("the {which} track is too short or silent to align")]
    Unusable {
        /// `"reference"` or `"other"`.
        which: &'static str,
    },
}

/// Estimates the start offset of `other` relative to `reference`, searching all overlaps.
pub fn estimate_offset(
    reference: &AudioTrack,
    other: &AudioTrack,
) -> Result<OffsetEstimate, SyncError> {
    estimate_offset_within(reference, other, f64::INFINITY)
}

/// Like [`estimate_offset`], considering only offsets with `|offset| <= max_offset_seconds`
/// (fewer false peaks when the cameras are known to start within a few seconds of each other).
pub fn estimate_offset_within(
    reference: &AudioTrack,
    other: &AudioTrack,
    max_offset_seconds: f64,
) -> Result<OffsetEstimate, SyncError> {
    if reference.sample_rate != other.sample_rate {
        return Err(SyncError::RateMismatch {
            reference: reference.sample_rate,
            other: other.sample_rate,
        });
    }
    check_usable(reference, "reference")?;
    check_usable(other, "other")?;
    let rate = f64::from(reference.sample_rate);
    let correlation = gcc_phat(&reference.samples, &other.samples);
    let n = correlation.len() as i64;

    // Lag k (in samples) is stored at index k mod n; valid lags span -(len_other-1)..len_ref-1.
    let max_lag = (max_offset_seconds * rate).floor().min(n as f64) as i64;
    let min_k = -(other.samples.len() as i64 - 1).min(max_lag);
    let max_k = (reference.samples.len() as i64 - 1).min(max_lag);
    let at = |k: i64| correlation[k.rem_euclid(n) as usize];

    let (peak_k, peak) =
        (min_k..=max_k)
            .map(|k| (k, at(k)))
            .fold(
                (0, f64::NEG_INFINITY),
                |best, c| if c.1 > best.1 { c } else { best },
            );
    let exclusion = (rate / 1000.0).ceil().max(3.0) as i64;
    let second = (min_k..=max_k)
        .filter(|k| (k - peak_k).abs() > exclusion)
        .map(at)
        .fold(0.0f64, f64::max);

    let fraction = parabolic_vertex(at(peak_k - 1), peak, at(peak_k + 1));
    let peak_ratio = if second > 0.0 {
        peak / second
    } else {
        f64::INFINITY
    };
    let confidence = if peak > 0.0 {
        (1.0 - second / peak).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Ok(OffsetEstimate {
        offset_seconds: (peak_k as f64 + fraction) / rate,
        confidence,
        peak_ratio,
    })
}

fn check_usable(track: &AudioTrack, which: &'static str) -> Result<(), SyncError> {
    let audible = track.samples.iter().any(|s| s.is_finite() && *s != 0.0);
    if track.samples.len() < 16 || !audible || track.samples.iter().any(|s| !s.is_finite()) {
        return Err(SyncError::Unusable { which });
    }
    Ok(())
}

/// Circular GCC-PHAT correlation `c[k] = sum_n a[n + k] * b[n]` with phase-transform weighting,
/// zero-padded so that no two lags alias.
fn gcc_phat(a: &[f32], b: &[f32]) -> Vec<f64> {
    let n = (a.len() + b.len()).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(n);
    let spectrum = |x: &[f32]| {
        let mut input = vec![0.0f64; n];
        for (d, s) in input.iter_mut().zip(x) {
            *d = f64::from(*s);
        }
        let mut out = forward.make_output_vec();
        forward
            .process(&mut input, &mut out)
            .expect("buffer sizes come from the planner");
        out
    };
    let spec_a = spectrum(a);
    let spec_b = spectrum(b);
    let mut cross: Vec<Complex<f64>> = spec_a
        .iter()
        .zip(&spec_b)
        .map(|(x, y)| x * y.conj())
        .collect();
    let largest = cross.iter().map(|c| c.norm()).fold(0.0, f64::max);
    let floor = largest * 1e-9 + f64::MIN_POSITIVE;
    for c in &mut cross {
        *c /= c.norm() + floor;
    }
    // DC and Nyquist bins of a real signal's spectrum are real; drop rounding residue.
    let last = cross.len() - 1;
    cross[0].im = 0.0;
    cross[last].im = 0.0;
    let inverse = planner.plan_fft_inverse(n);
    let mut out = inverse.make_output_vec();
    inverse
        .process(&mut cross, &mut out)
        .expect("buffer sizes come from the planner");
    out
}

/// Offset in (-0.5, 0.5) of the vertex of the parabola through (-1, l), (0, c), (1, r).
fn parabolic_vertex(left: f64, centre: f64, right: f64) -> f64 {
    let denom = left - 2.0 * centre + right;
    if denom.abs() < f64::EPSILON * centre.abs().max(1.0) {
        return 0.0;
    }
    (0.5 * (left - right) / denom).clamp(-0.5, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const RATE: u32 = 16_000;

    /// White noise of `len` samples, periodic and band-limited, so it can be shifted by any
    /// fraction of a sample exactly (`shift` seconds: output[m] = x(m / rate + shift)).
    fn shifted_noise(len: usize, seed: u64, shift: f64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x: Vec<f64> = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut planner = RealFftPlanner::<f64>::new();
        let fwd = planner.plan_fft_forward(len);
        let mut spec = fwd.make_output_vec();
        fwd.process(&mut x, &mut spec).unwrap();
        let last = spec.len() - 1;
        for (f, c) in spec.iter_mut().enumerate() {
            let phase =
                2.0 * std::f64::consts::PI * f as f64 * shift * f64::from(RATE) / len as f64;
            *c *= Complex::from_polar(1.0 / len as f64, phase);
        }
        spec[0].im = 0.0;
        spec[last] = Complex::new(0.0, 0.0);
        let inv = planner.plan_fft_inverse(len);
        let mut out = inv.make_output_vec();
        inv.process(&mut spec, &mut out).unwrap();
        out.into_iter().map(|v| v as f32).collect()
    }

    fn with_noise(mut x: Vec<f32>, seed: u64, level: f32) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        x.iter_mut()
            .for_each(|s| *s += level * rng.random_range(-1.0f32..1.0));
        x
    }

    fn track(samples: Vec<f32>) -> AudioTrack {
        AudioTrack::new(RATE, samples)
    }

    #[test]
    fn recovers_fractional_positive_offset() {
        let offset = 0.1234; // 1974.4 samples: not an integer.
        let source_len = 3 * RATE as usize;
        let reference = with_noise(shifted_noise(source_len, 7, 0.0), 1, 0.3);
        let other = shifted_noise(source_len, 7, offset);
        let other = with_noise(other[..2 * RATE as usize].to_vec(), 2, 0.3);
        let est = estimate_offset(&track(reference), &track(other)).unwrap();
        assert!((est.offset_seconds - offset).abs() < 0.001, "{est:?}");
        assert!(
            (est.offset_seconds - offset).abs() * f64::from(RATE) < 0.25,
            "sub-sample: {est:?}"
        );
        assert!(est.confidence > 0.5 && est.peak_ratio > 2.0, "{est:?}");
    }

    #[test]
    fn recovers_negative_offset_and_is_antisymmetric() {
        let source_len = 2 * RATE as usize;
        let a = with_noise(shifted_noise(source_len, 11, 0.0), 3, 0.2);
        let b = with_noise(shifted_noise(source_len, 11, -0.25), 4, 0.2);
        let ab = estimate_offset(&track(a.clone()), &track(b.clone())).unwrap();
        let ba = estimate_offset(&track(b), &track(a)).unwrap();
        assert!((ab.offset_seconds + 0.25).abs() < 0.001, "{ab:?}");
        assert!(
            (ab.offset_seconds + ba.offset_seconds).abs() < 1e-4,
            "{ab:?} vs {ba:?}"
        );
    }

    #[test]
    fn search_window_limits_the_lag() {
        let source_len = 2 * RATE as usize;
        let a = shifted_noise(source_len, 5, 0.0);
        let b = shifted_noise(source_len, 5, 0.5);
        let free = estimate_offset(&track(a.clone()), &track(b.clone())).unwrap();
        assert!((free.offset_seconds - 0.5).abs() < 0.001, "{free:?}");
        let limited = estimate_offset_within(&track(a), &track(b), 0.2).unwrap();
        assert!(limited.offset_seconds.abs() <= 0.2 + 1e-9, "{limited:?}");
        assert!(
            limited.confidence < free.confidence,
            "{limited:?} vs {free:?}"
        );
    }

    #[test]
    fn unrelated_signals_have_low_confidence() {
        let a = shifted_noise(RATE as usize, 21, 0.0);
        let b = shifted_noise(RATE as usize, 22, 0.0);
        let est = estimate_offset(&track(a), &track(b)).unwrap();
        assert!(est.confidence < 0.3, "{est:?}");
    }

    #[test]
    fn rejects_mismatched_rates_and_silence() {
        let a = AudioTrack::new(16_000, vec![0.5; 100]);
        let b = AudioTrack::new(48_000, vec![0.5; 100]);
        assert_eq!(
            estimate_offset(&a, &b),
            Err(SyncError::RateMismatch {
                reference: 16_000,
                other: 48_000
            })
        );
        let silent = AudioTrack::new(16_000, vec![0.0; 100]);
        assert_eq!(
            estimate_offset(&a, &silent),
            Err(SyncError::Unusable { which: "other" })
        );
    }
}
