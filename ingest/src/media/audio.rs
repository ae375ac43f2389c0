//! Mono audio tracks: the in-memory type shared by encoding, decoding and sync, and extraction of
//! a file's audio through GStreamer.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::MediaError;
use super::{pipeline, probe};

/// A mono audio signal: `samples` in [-1, 1] at `sample_rate` Hz, the first sample at time 0.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioTrack {
    /// Samples per second.
    pub sample_rate: u32,
    /// The samples, mono, nominally in [-1, 1].
    pub samples: Vec<f32>,
}

impl AudioTrack {
    /// Wraps `samples` recorded at `sample_rate` Hz.
    pub fn new(sample_rate: u32, samples: Vec<f32>) -> Self {
        Self {
            sample_rate,
            samples,
        }
    }

    /// Length of the track in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// Longest time one audio extraction may take before it is abandoned.
const AUDIO_DECODE_TIMEOUT_S: u64 = 600;

/// Decodes the first audio stream of `path`, downmixed to mono f32 and resampled to
/// `sample_rate` Hz. Returns `Ok(None)` when the file is readable but holds no audio stream.
pub fn decode_audio(path: &Path, sample_rate: u32) -> Result<Option<AudioTrack>, MediaError> {
    pipeline::init()?;
    if sample_rate == 0 || sample_rate > 768_000 {
        return Err(MediaError::InvalidInput {
            path: path.to_path_buf(),
            message: format!("unusable audio sample rate {sample_rate} Hz"),
        });
    }
    if probe::discover(path)?.audio_streams().is_empty() {
        return Ok(None);
    }
    let uri = pipeline::file_uri(path)?;
    let p = gst::Pipeline::new();
    let source = pipeline::make_with("uridecodebin", |b| {
        b.property("uri", uri.as_str())
            .property(
                "caps",
                gst::Caps::from_str("audio/x-raw(ANY)").expect("valid caps"),
            )
            .property("expose-all-streams", false)
    })?;
    let convert = pipeline::make("audioconvert")?;
    let resample = pipeline::make("audioresample")?;
    let caps = gst::Caps::builder("audio/x-raw")
        .field("format", "F32LE")
        .field("layout", "interleaved")
        .field("channels", 1i32)
        .field("rate", sample_rate as i32)
        .build();
    let sink = gst_app::AppSink::builder().caps(&caps).sync(false).build();

    let samples = Arc::new(Mutex::new(Vec::<f32>::new()));
    let collected = samples.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buffer = sample.buffer().ok_or(gst::FlowError::Error)?;
                let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                let mut out = collected.lock().map_err(|_| gst::FlowError::Error)?;
                out.extend(
                    map.chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                );
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );

    p.add_many([&source, &convert, &resample, sink.upcast_ref()])
        .map_err(|e| pipeline::internal(path, "pipeline", e))?;
    gst::Element::link_many([&convert, &resample, sink.upcast_ref()])
        .map_err(|e| pipeline::internal(path, "audioconvert", e))?;
    pipeline::link_first_pad(&source, &convert, "audio/", "no audio stream");

    let bus = p.bus().expect("a pipeline always has a bus");
    let result = pipeline::set_state(path, &p, gst::State::Playing).and_then(|()| {
        pipeline::wait_for_eos(path, &bus, AUDIO_DECODE_TIMEOUT_S, "decoding audio")
    });
    pipeline::shut_down(&p);
    result?;
    let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(Some(AudioTrack::new(sample_rate, samples)))
}
