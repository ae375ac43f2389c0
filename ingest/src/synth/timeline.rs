//! Scene time versus each camera's frames. Camera `c` starts recording `offset_c` seconds after
//! scene time 0, so its video frame `j` shows scene time `offset_c + j / fps`. Dataset (truth)
//! frame `i` shows scene time `start + i / fps` with `start = max_c offset_c`, the first instant
//! every camera records. Videos run long enough that every camera covers all truth frames.

/// Timing of one synthetic capture.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    /// Frame rate in frames per second.
    pub fps: f64,
    /// Number of truth (dataset) frames.
    pub frames: usize,
    /// Each camera's recording start in scene seconds.
    pub offsets: Vec<f64>,
    /// Scene time of truth frame 0 (the latest camera start).
    pub start: f64,
    /// Number of frames in every camera's video.
    pub video_frames: usize,
    /// Scene time of the clap's onset (the middle of the common range).
    pub clap_time: f64,
}

impl Timeline {
    /// The timeline of `frames` truth frames at `fps` with camera start `offsets` (seconds).
    pub fn new(fps: f64, frames: usize, offsets: Vec<f64>) -> Timeline {
        let lo = offsets.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = offsets.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let spread = if offsets.is_empty() { 0.0 } else { hi - lo };
        // A fifth of a second of slack at the end, at least one frame.
        let margin = ((0.2 * fps).ceil() as usize).max(1);
        let video_frames = frames + (spread * fps - 1e-9).ceil().max(0.0) as usize + margin;
        let start = if offsets.is_empty() { 0.0 } else { hi };
        let clap_time = start + (frames.saturating_sub(1)) as f64 / (2.0 * fps);
        Timeline {
            fps,
            frames,
            offsets,
            start,
            video_frames,
            clap_time,
        }
    }

    /// Scene time of truth frame `i`.
    pub fn truth_time(&self, i: usize) -> f64 {
        self.start + i as f64 / self.fps
    }

    /// Scene time shown by video frame `j` of camera `camera`.
    pub fn video_time(&self, camera: usize, j: usize) -> f64 {
        self.offsets[camera] + j as f64 / self.fps
    }

    /// Duration of every camera's video in seconds.
    pub fn video_duration(&self) -> f64 {
        self.video_frames as f64 / self.fps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_camera_covers_every_truth_frame() {
        let tl = Timeline::new(30.0, 10, vec![0.0, 0.0123, -0.05, 0.031]);
        assert_eq!(tl.start, 0.031);
        let last_truth = tl.truth_time(9);
        for c in 0..4 {
            assert!(tl.video_time(c, 0) <= tl.truth_time(0) + 1e-12);
            assert!(tl.video_time(c, tl.video_frames - 1) >= last_truth);
        }
        assert!(tl.clap_time > tl.truth_time(0) && tl.clap_time < last_truth);
    }

    #[test]
    fn zero_offsets_align_video_and_truth_frames() {
        let tl = Timeline::new(25.0, 4, vec![0.0; 3]);
        assert_eq!(tl.video_frames, 4 + 5);
        assert_eq!(tl.video_time(2, 3), tl.truth_time(3));
    }
}
