//! One camera's video file: rendered frames and the microphone track handed to the media
//! layer's H.264 + AAC encoder.

use super::audio::SAMPLE_RATE;
use super::error::SynthError;
use super::gpu::Frame;
use crate::media::{AudioTrack, DEFAULT_QUANTISER, EncodeSettings, Fps, VideoEncoder};
use std::path::Path;

/// An open camera video.
pub struct CameraVideo {
    encoder: VideoEncoder,
}

impl CameraVideo {
    /// Starts `path` (`width × height` at `fps`) with the mono `audio` track at 48 kHz.
    pub fn create(
        path: &Path,
        (width, height): (u32, u32),
        fps: Fps,
        audio: Vec<f32>,
    ) -> Result<CameraVideo, SynthError> {
        let settings = EncodeSettings {
            width,
            height,
            fps,
            quantiser: DEFAULT_QUANTISER,
            audio: Some(AudioTrack::new(SAMPLE_RATE, audio)),
        };
        Ok(CameraVideo {
            encoder: VideoEncoder::create(path, settings)?,
        })
    }

    /// Appends a frame.
    pub fn push(&mut self, frame: &Frame) -> Result<(), SynthError> {
        Ok(self.encoder.push_frame(&frame.rgb)?)
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<(), SynthError> {
        Ok(self.encoder.finish()?)
    }
}
