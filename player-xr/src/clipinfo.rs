//! A summary of a clip for `yakumo-player info`.

use std::fmt;

use serde::Serialize;
use yakumo_core::clip::ClipReader;

/// Minimum, mean and maximum of a per-frame quantity.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Spread {
    /// Smallest.
    pub min: u64,
    /// Mean.
    pub mean: f64,
    /// Largest.
    pub max: u64,
}

impl Spread {
    fn of(values: impl Iterator<Item = u64>) -> Spread {
        let (mut min, mut max, mut sum, mut n) = (u64::MAX, 0, 0u128, 0u64);
        for v in values {
            min = min.min(v);
            max = max.max(v);
            sum += v as u128;
            n += 1;
        }
        if n == 0 {
            return Spread {
                min: 0,
                mean: 0.0,
                max: 0,
            };
        }
        Spread {
            min,
            mean: sum as f64 / n as f64,
            max,
        }
    }
}

/// What `info` prints.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ClipSummary {
    /// The clip file.
    pub path: String,
    /// Frames.
    pub frames: u32,
    /// Frames per second.
    pub fps: f64,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Spherical-harmonics degree of the view-dependent colour.
    pub sh_degree: u32,
    /// Points per frame.
    pub points_per_frame: Spread,
    /// Compressed bytes per frame.
    pub bytes_per_frame: Spread,
    /// Compressed bitrate at the clip's frame rate, megabits per second.
    pub mbit_per_s: f64,
    /// Lower corner of the clip's bounds.
    pub bounds_min: [f32; 3],
    /// Upper corner of the clip's bounds.
    pub bounds_max: [f32; 3],
}

impl ClipSummary {
    /// Summarises an open clip (header and index only; no frame is decoded).
    pub fn of(reader: &ClipReader) -> ClipSummary {
        let info = reader.info();
        let frames = reader.frames();
        let bytes = Spread::of(frames.iter().map(|f| f.compressed_len as u64));
        ClipSummary {
            path: reader.path().display().to_string(),
            frames: info.frame_count,
            fps: info.fps,
            duration_s: if info.fps > 0.0 {
                info.frame_count as f64 / info.fps
            } else {
                0.0
            },
            sh_degree: info.sh_degree,
            points_per_frame: Spread::of(frames.iter().map(|f| f.point_count as u64)),
            mbit_per_s: bytes.mean * 8.0 * info.fps / 1e6,
            bytes_per_frame: bytes,
            bounds_min: info.bounds_min,
            bounds_max: info.bounds_max,
        }
    }
}

impl fmt::Display for ClipSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "clip:             {}", self.path)?;
        writeln!(
            f,
            "frames:           {} at {} fps ({:.2} s)",
            self.frames, self.fps, self.duration_s
        )?;
        writeln!(f, "SH degree:        {}", self.sh_degree)?;
        let p = &self.points_per_frame;
        writeln!(
            f,
            "points per frame: min {} / mean {:.0} / max {}",
            p.min, p.mean, p.max
        )?;
        let b = &self.bytes_per_frame;
        writeln!(
            f,
            "bytes per frame:  min {} / mean {:.0} / max {} ({:.2} Mbit/s)",
            b.min, b.mean, b.max, self.mbit_per_s
        )?;
        writeln!(
            f,
            "bounds:           {:?} .. {:?}",
            self.bounds_min, self.bounds_max
        )
    }
}
