//! Camera time offsets (audio GCC-PHAT, recording timestamps, given values or none) and the
//! schedule that picks, for every dataset frame, the nearest frame of each camera on the common
//! timeline.
//!
//! Offsets follow the media layer's convention: `offset_c` is how much later camera `c` started
//! recording than the reference (first) camera, so its frame `j` shows reference time
//! `offset_c + j / fps`.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use rayon::prelude::*;

use super::RunError;
use crate::media::{MediaInfo, decode_audio, estimate_offset_within};

/// Sample rate the audio is decoded at for GCC-PHAT (one sample = 62.5 µs).
const AUDIO_RATE: u32 = 16_000;

/// How the cameras are put on one timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncMethod {
    /// GCC-PHAT on the audio tracks against the first camera.
    Audio,
    /// Each file's recording time tag plus its first frame's timestamp.
    Timestamps,
    /// The cameras started together.
    None,
    /// Given offsets in milliseconds, one per camera in camera order.
    Offsets(Vec<f64>),
}

impl SyncMethod {
    /// The name written to `yakumo.toml`'s `[sync] method`.
    pub fn name(&self) -> &'static str {
        match self {
            SyncMethod::Audio => "audio",
            SyncMethod::Timestamps => "timestamps",
            SyncMethod::None => "none",
            SyncMethod::Offsets(_) => "offsets",
        }
    }
}

impl FromStr for SyncMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "audio" => Ok(SyncMethod::Audio),
            "timestamps" => Ok(SyncMethod::Timestamps),
            "none" => Ok(SyncMethod::None),
            _ => {
                let list = s.strip_prefix("offsets:").ok_or_else(|| {
                    format!("`{s}` is not audio, timestamps, none or offsets:MS,MS,...")
                })?;
                list.split(',')
                    .map(|v| {
                        v.trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite())
                            .ok_or_else(|| {
                                format!("`{v}` in `{s}` is not a number of milliseconds")
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(SyncMethod::Offsets)
            }
        }
    }
}

/// Offsets of every camera relative to the first, with a confidence per camera (0–1).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Offsets {
    /// Start of each camera minus start of the first, in seconds.
    pub seconds: Vec<f64>,
    /// Confidence of each offset (1 for the reference and for given offsets).
    pub confidence: Vec<f64>,
}

/// Finds the offsets of `videos` (with their probe `infos`) by `method`.
pub fn find_offsets(
    method: &SyncMethod,
    videos: &[PathBuf],
    infos: &[MediaInfo],
    max_offset_s: f64,
) -> Result<Offsets, RunError> {
    let n = videos.len();
    match method {
        SyncMethod::None => Ok(Offsets {
            seconds: vec![0.0; n],
            confidence: vec![1.0; n],
        }),
        SyncMethod::Offsets(ms) if ms.len() != n => Err(RunError::Options(format!(
            "--sync offsets: has {} values but there are {n} cameras",
            ms.len()
        ))),
        SyncMethod::Offsets(ms) => Ok(Offsets {
            seconds: ms.iter().map(|m| (m - ms[0]) / 1000.0).collect(),
            confidence: vec![1.0; n],
        }),
        SyncMethod::Timestamps => {
            let starts = videos
                .iter()
                .zip(infos)
                .map(|(path, info)| recording_start(path, info))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Offsets {
                seconds: starts.iter().map(|s| s - starts[0]).collect(),
                confidence: vec![1.0; n],
            })
        }
        SyncMethod::Audio => audio_offsets(videos, max_offset_s),
    }
}

/// GCC-PHAT offset of every camera's audio against the first camera's.
fn audio_offsets(videos: &[PathBuf], max_offset_s: f64) -> Result<Offsets, RunError> {
    let tracks = videos
        .par_iter()
        .map(|path| {
            decode_audio(path, AUDIO_RATE)?.ok_or_else(|| RunError::NoAudio { path: path.clone() })
        })
        .collect::<Result<Vec<_>, RunError>>()?;
    let mut offsets = Offsets {
        seconds: vec![0.0],
        confidence: vec![1.0],
    };
    for (path, track) in videos.iter().zip(&tracks).skip(1) {
        let estimate =
            estimate_offset_within(&tracks[0], track, max_offset_s).map_err(|source| {
                RunError::AudioSync {
                    path: path.clone(),
                    source,
                }
            })?;
        offsets.seconds.push(estimate.offset_seconds);
        offsets.confidence.push(estimate.confidence);
    }
    Ok(offsets)
}

/// Recording start of a video in seconds since 1970: its date-time tag plus its first frame's
/// presentation time.
fn recording_start(path: &Path, info: &MediaInfo) -> Result<f64, RunError> {
    let missing = |reason: String| RunError::NoTimestamp {
        path: path.to_path_buf(),
        reason,
    };
    let tag = info
        .creation_time
        .as_deref()
        .ok_or_else(|| missing("no recording date/time tag".into()))?;
    let base = parse_iso8601(tag).ok_or_else(|| {
        missing(format!(
            "recording time `{tag}` is not a full ISO 8601 date-time"
        ))
    })?;
    let first = info
        .video
        .as_ref()
        .and_then(|v| v.start_seconds)
        .unwrap_or(0.0);
    Ok(base + first)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH[:]MM]` into seconds since 1970-01-01 UTC (no zone
/// means UTC).
fn parse_iso8601(s: &str) -> Option<f64> {
    let (date, time) = s.trim().split_once(['T', ' '])?;
    let mut d = date.split('-').map(|v| v.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let zone_at = time.find(['Z', '+', '-']).unwrap_or(time.len());
    let (clock, zone) = time.split_at(zone_at);
    let mut c = clock.split(':');
    let hour: i64 = c.next()?.parse().ok()?;
    let minute: i64 = c.next()?.parse().ok()?;
    let second: f64 = c.next()?.parse().ok()?;
    let zone_s = match zone {
        "" | "Z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits: String = z[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            if digits.len() != 4 {
                return None;
            }
            sign * (digits[..2].parse::<i64>().ok()? * 3600 + digits[2..].parse::<i64>().ok()? * 60)
        }
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from civil date (proleptic Gregorian), after Howard Hinnant's well-known formula.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3600 + minute * 60 - zone_s) as f64 + second)
}

/// Which source frame of each camera makes each dataset frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Dataset frame numbers written, in order.
    pub frames: Vec<u32>,
    /// Source frame of dataset frame `k` in camera `c` is `k + shift[c]`.
    pub shift: Vec<u64>,
    /// Frames on the common timeline (dataset frame numbers run `0..available`).
    pub available: u32,
    /// Per camera, how far (in frames) its chosen frames are from the exact common instants;
    /// zero when the offsets are whole frames.
    pub residual_frames: Vec<f64>,
}

impl Schedule {
    /// The common timeline of cameras with `offsets` (seconds) and `counts` frames at `fps`,
    /// restricted to dataset frames `range` (half-open; all when `None`) taking every `step`-th.
    pub fn new(
        offsets: &[f64],
        counts: &[u64],
        fps: f64,
        range: Option<(u32, u32)>,
        step: u32,
    ) -> Result<Schedule, RunError> {
        let start = offsets.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exact: Vec<f64> = offsets.iter().map(|o| (start - o) * fps).collect();
        let shift: Vec<u64> = exact.iter().map(|e| e.round().max(0.0) as u64).collect();
        let residual_frames = exact
            .iter()
            .zip(&shift)
            .map(|(e, &s)| e - s as f64)
            .collect();
        let available = counts
            .iter()
            .zip(&shift)
            .map(|(&n, &s)| n.saturating_sub(s))
            .min()
            .unwrap_or(0)
            .min(u32::MAX as u64) as u32;
        if available == 0 {
            return Err(RunError::Options(
                "the videos share no common time span after syncing (check the offsets)".into(),
            ));
        }
        if step == 0 {
            return Err(RunError::Options("--step must be at least 1".into()));
        }
        let (a, b) = range.unwrap_or((0, available));
        if a >= b || b > available {
            return Err(RunError::Options(format!(
                "--frames {a}..{b} is not a non-empty range within the {available} common frames (0..{available})"
            )));
        }
        let frames = (a..b).step_by(step as usize).collect();
        Ok(Schedule {
            frames,
            shift,
            available,
            residual_frames,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_methods_parse_and_bad_ones_are_explained() {
        assert_eq!("audio".parse(), Ok(SyncMethod::Audio));
        assert_eq!("none".parse(), Ok(SyncMethod::None));
        assert_eq!(
            "offsets:0,40,-70.5".parse(),
            Ok(SyncMethod::Offsets(vec![0.0, 40.0, -70.5]))
        );
        assert!(
            "offsets:0,x"
                .parse::<SyncMethod>()
                .unwrap_err()
                .contains("`x`")
        );
        assert!(
            "clap"
                .parse::<SyncMethod>()
                .unwrap_err()
                .contains("offsets:")
        );
    }

    #[test]
    fn iso_dates_become_epoch_seconds() {
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_iso8601("2000-03-01T01:02:03.5Z"), Some(951_872_523.5));
        assert_eq!(
            parse_iso8601("2000-03-01T02:02:03.5+01:00"),
            Some(951_872_523.5)
        );
        assert_eq!(parse_iso8601("2000-03-01"), None);
    }

    #[test]
    fn schedule_starts_at_the_latest_camera_and_ends_at_the_earliest_end() {
        // 25 fps; camera 1 starts 40 ms (1 frame) late, camera 2 starts 80 ms (2 frames) early.
        let s = Schedule::new(&[0.0, 0.04, -0.08], &[10, 10, 12], 25.0, None, 1).unwrap();
        assert_eq!(s.shift, vec![1, 0, 3]);
        assert_eq!(s.available, 9);
        assert_eq!(s.frames, (0..9).collect::<Vec<_>>());
        assert!(s.residual_frames.iter().all(|r| r.abs() < 1e-9));
        let part = Schedule::new(&[0.0, 0.05], &[10, 10], 25.0, Some((2, 8)), 3).unwrap();
        assert_eq!(part.frames, vec![2, 5]);
        assert!((part.residual_frames[0] - 0.25).abs() < 1e-9);
        assert!(Schedule::new(&[0.0], &[5], 25.0, Some((0, 6)), 1).is_err());
        assert!(Schedule::new(&[0.0, 1.0], &[5, 5], 25.0, None, 1).is_err());
    }
}
