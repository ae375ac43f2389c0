//! The play head: time, speed, looping and seeking, independent of any window.

/// Playback state of a clip with `count` frames at `fps`.
#[derive(Clone, Debug, PartialEq)]
pub struct Playback {
    /// Advancing with time.
    pub playing: bool,
    /// Playback rate (1 = real time; negative plays backwards).
    pub speed: f64,
    /// Wrap around at either end instead of stopping.
    pub looping: bool,
    position: f64,
    count: usize,
    fps: f64,
}

impl Playback {
    /// Paused-at-zero playback that loops at real-time speed once started.
    pub fn new(count: usize, fps: f64) -> Playback {
        Playback {
            playing: true,
            speed: 1.0,
            looping: true,
            position: 0.0,
            count,
            fps: if fps > 0.0 { fps } else { 30.0 },
        }
    }

    /// Advances the head by `dt` seconds of wall time.
    pub fn advance(&mut self, dt: f64) {
        if !self.playing || self.count == 0 {
            return;
        }
        let n = self.count as f64;
        let p = self.position + dt * self.speed * self.fps;
        self.position = if self.looping {
            p.rem_euclid(n)
        } else if p >= n - 1.0 || p <= 0.0 {
            self.playing = false;
            p.clamp(0.0, n - 1.0)
        } else {
            p
        };
    }

    /// The frame under the head.
    pub fn frame(&self) -> usize {
        (self.position.floor() as usize).min(self.count.saturating_sub(1))
    }

    /// Moves the head by `frames` (fractional, either direction), wrapping when looping and
    /// stopping at the ends otherwise; play/pause is unchanged.
    pub fn scrub(&mut self, frames: f64) {
        if self.count == 0 || !frames.is_finite() {
            return;
        }
        let n = self.count as f64;
        let p = self.position + frames;
        self.position = if self.looping {
            p.rem_euclid(n)
        } else {
            p.clamp(0.0, n - 1.0)
        };
    }

    /// Jumps to `frame`.
    pub fn seek(&mut self, frame: usize) {
        self.position = frame.min(self.count.saturating_sub(1)) as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_loops_and_stops() {
        let mut p = Playback::new(10, 30.0);
        p.advance(0.1);
        assert_eq!(p.frame(), 3);
        p.advance(0.3);
        assert_eq!(p.frame(), 2); // 12 frames wrapped
        p.looping = false;
        p.advance(1.0);
        assert_eq!(p.frame(), 9);
        assert!(!p.playing);
        p.seek(4);
        p.playing = true;
        p.speed = -1.0;
        p.advance(0.05);
        assert_eq!(p.frame(), 2);
        p.seek(100);
        assert_eq!(p.frame(), 9);
    }

    #[test]
    fn scrubbing_wraps_or_clamps() {
        let mut p = Playback::new(10, 30.0);
        p.scrub(-1.5);
        assert_eq!(p.frame(), 8);
        p.scrub(3.0);
        assert_eq!(p.frame(), 1);
        p.looping = false;
        p.scrub(-5.0);
        assert_eq!(p.frame(), 0);
        p.scrub(50.0);
        assert_eq!(p.frame(), 9);
        p.scrub(f64::NAN);
        assert_eq!(p.frame(), 9);
    }
}
