//! Frame rates as exact rationals (29.97 fps is 30000/1001, not a rounded float).

/// A frame rate `num / den` frames per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Fps {
    /// Numerator (frames).
    pub num: u32,
    /// Denominator (seconds).
    pub den: u32,
}

impl Fps {
    /// The rate `num / den`.
    pub const fn new(num: u32, den: u32) -> Self {
        Self { num, den }
    }

    /// The rational closest to `fps`, recognising integer and NTSC (`n·1000/1001`) rates;
    /// other values are kept to a thousandth. `None` for non-finite or non-positive input.
    pub fn from_f64(fps: f64) -> Option<Self> {
        if !fps.is_finite() || fps <= 0.0 || fps > 1_000_000.0 {
            return None;
        }
        let close = |a: f64, b: f64| (a - b).abs() < 1e-4 * b.max(1.0);
        let whole = fps.round();
        if whole >= 1.0 && close(fps, whole) {
            return Some(Self::new(whole as u32, 1));
        }
        let ntsc = (fps * 1.001).round();
        if ntsc >= 1.0 && close(fps, ntsc * 1000.0 / 1001.0) {
            return Some(Self::new(ntsc as u32 * 1000, 1001));
        }
        let num = (fps * 1000.0).round() as u32;
        let g = gcd(num, 1000);
        (num > 0).then(|| Self::new(num / g, 1000 / g))
    }

    /// Whether both terms are positive.
    pub fn is_valid(&self) -> bool {
        self.num > 0 && self.den > 0
    }

    /// The rate as a float.
    pub fn as_f64(&self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }

    /// Presentation time of frame `index` in nanoseconds (exact integer arithmetic).
    pub fn frame_time_ns(&self, index: u64) -> u64 {
        (u128::from(index) * u128::from(self.den) * 1_000_000_000 / u128::from(self.num.max(1)))
            as u64
    }
}

impl From<u32> for Fps {
    fn from(fps: u32) -> Self {
        Self::new(fps, 1)
    }
}

impl std::fmt::Display for Fps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_common_rates() {
        assert_eq!(Fps::from_f64(30.0), Some(Fps::new(30, 1)));
        assert_eq!(Fps::from_f64(29.97), Some(Fps::new(30000, 1001)));
        assert_eq!(Fps::from_f64(23.976), Some(Fps::new(24000, 1001)));
        assert_eq!(Fps::from_f64(12.5), Some(Fps::new(25, 2)));
        assert_eq!(Fps::from_f64(0.0), None);
        assert_eq!(Fps::from_f64(f64::NAN), None);
    }

    #[test]
    fn frame_times_are_exact() {
        let ntsc = Fps::new(30000, 1001);
        assert_eq!(ntsc.frame_time_ns(30000), 1001 * 1_000_000_000);
        assert_eq!(Fps::from(25).frame_time_ns(3), 120_000_000);
    }
}
