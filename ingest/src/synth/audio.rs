//! The rig's sound: each camera's microphone records its own low-level noise plus one short
//! broadband "clap" at a known scene instant, so audio-based sync can be tested. Sound travel
//! time is ignored: every microphone hears the clap at the same scene time.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::TAU;

/// Audio sample rate in Hz.
pub const SAMPLE_RATE: u32 = 48_000;
/// Peak amplitude of the clap.
const CLAP_PEAK: f64 = 0.7;
/// Decay time constant of the clap in seconds.
const CLAP_DECAY: f64 = 0.008;
/// Standard deviation of the background noise.
const NOISE_LEVEL: f64 = 0.01;

/// The clap's waveform `τ` seconds after its onset: a sum of 32 sinusoids log-spaced over
/// 300 Hz–9 kHz with fixed phases under a sharp exponential decay. It is a continuous function
/// of time, so the onset can fall between samples and still be exact.
pub fn clap(tau: f64) -> f64 {
    if !(0.0..12.0 * CLAP_DECAY).contains(&tau) {
        return 0.0;
    }
    let partials = 32;
    let sum: f64 = (0..partials)
        .map(|k| {
            let f = 300.0 * (9000.0f64 / 300.0).powf(k as f64 / (partials - 1) as f64);
            let phase = (k as f64 * 2.399_963).rem_euclid(TAU);
            (TAU * f * tau + phase).sin()
        })
        .sum();
    let attack = (tau / 0.0003).min(1.0);
    CLAP_PEAK * attack * (-tau / CLAP_DECAY).exp() * sum / (partials as f64).sqrt() / 2.0
}

/// Mono samples heard by camera `camera` whose recording starts at scene time `start` and lasts
/// `duration` seconds, with the clap's onset at scene time `clap_time`.
pub fn camera_track(
    start: f64,
    duration: f64,
    clap_time: f64,
    seed: u64,
    camera: usize,
) -> Vec<f32> {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed ^ 0xA0D1_0000 ^ (camera as u64).wrapping_mul(0x9E37_79B9));
    let n = (duration * SAMPLE_RATE as f64).round() as usize;
    let mut lowpass = 0.0;
    (0..n)
        .map(|i| {
            let t = start + i as f64 / SAMPLE_RATE as f64;
            // Gently low-passed white noise (room tone and preamp hiss).
            let white: f64 = rng.random_range(-1.0..1.0) * NOISE_LEVEL * 3f64.sqrt();
            lowpass = 0.7 * lowpass + 0.3 * white;
            (lowpass + 0.5 * white + clap(t - clap_time)) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_stands_out_at_its_instant() {
        let clap_time = 0.5;
        let track = camera_track(0.2, 1.0, clap_time, 1, 0);
        assert_eq!(track.len(), 48_000);
        let loudest = track
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap()
            .0;
        let at = 0.2 + loudest as f64 / SAMPLE_RATE as f64;
        assert!((at - clap_time).abs() < 0.01, "loudest sample at {at}");
        let quiet = track[..10_000].iter().map(|s| s.abs()).fold(0.0, f32::max);
        assert!(track[loudest].abs() > 10.0 * quiet);
        assert!(track.iter().all(|s| s.abs() < 1.0));
    }

    #[test]
    fn cameras_hear_the_same_clap_with_their_own_noise() {
        let (a, b) = (
            camera_track(0.0, 0.3, 0.1, 5, 0),
            camera_track(0.0, 0.3, 0.1, 5, 1),
        );
        assert_ne!(a, b);
        assert_eq!(a, camera_track(0.0, 0.3, 0.1, 5, 0));
        // Shifting the start by 10 ms delays everything by 480 samples: the cross-correlation
        // peaks at that lag.
        let c = camera_track(0.01, 0.3, 0.1, 5, 0);
        let corr = |lag: usize| {
            (0..a.len() - lag)
                .map(|i| a[i + lag] as f64 * c[i] as f64)
                .sum::<f64>()
        };
        let best = (0..600)
            .max_by(|x, y| corr(*x).total_cmp(&corr(*y)))
            .unwrap();
        assert_eq!(best, 480);
    }
}
