//! H.264/MP4 encoding of raw RGB(A) frames, with an optional AAC audio track, written atomically.
//! The frames are brought to 4:2:0 as a camera records them ([`super::subsample`]).

use std::fs;
use std::path::{Path, PathBuf};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::{AudioTrack, Fps, MediaError};
use super::{pipeline, subsample};

/// Default quantiser (x264 QP): 8.7–10.8 Mbit/s for the synthetic rig's 1080p30 videos, below
/// what cameras record at their high-quality settings (16–50 Mbit/s).
pub const DEFAULT_QUANTISER: u32 = 20;

/// AAC encoders in order of preference.
const AAC_ENCODERS: [&str; 3] = ["fdkaacenc", "avenc_aac", "voaacenc"];

/// Longest time `finish` waits for the encoder to drain.
const FINISH_TIMEOUT_S: u64 = 600;

/// Audio samples per buffer pushed into the pipeline.
const AUDIO_CHUNK: usize = 4096;

/// What to encode: frame size and rate, quantiser, and an optional audio track.
#[derive(Debug, Clone)]
pub struct EncodeSettings {
    /// Frame width in pixels (must be even).
    pub width: u32,
    /// Frame height in pixels (must be even).
    pub height: u32,
    /// Frame rate.
    pub fps: Fps,
    /// Quantiser applied to every macroblock (x264 QP, 0..=50; lower is better), as a camera's
    /// encoder records at a fixed high bitrate. (x264's constant-quality mode, CRF, instead
    /// spends few bits on a sharp edge that moves: at CRF 16 the board corners of the synthetic
    /// rig's videos moved by 0.11 px RMS, at QP 20 by 0.01 px.)
    pub quantiser: u32,
    /// Mono audio to store as an AAC track starting at time 0.
    pub audio: Option<AudioTrack>,
}

impl EncodeSettings {
    /// Settings for `width`×`height` at `fps`, high quality ([`DEFAULT_QUANTISER`]), no audio.
    pub fn new(width: u32, height: u32, fps: impl Into<Fps>) -> Self {
        Self {
            width,
            height,
            fps: fps.into(),
            quantiser: DEFAULT_QUANTISER,
            audio: None,
        }
    }
}

/// Pixel layout of the frames handed to [`VideoEncoder::push_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputLayout {
    Rgb,
    Rgba,
}

/// Writes an H.264 MP4 file frame by frame. The output appears under its final name only when
/// [`VideoEncoder::finish`] succeeds; until then it is a hidden temporary file beside it.
pub struct VideoEncoder {
    path: PathBuf,
    temp: PathBuf,
    settings: EncodeSettings,
    pipeline: gst::Pipeline,
    video_src: gst_app::AppSrc,
    layout: Option<(InputLayout, gst_video::VideoInfo)>,
    frames: u64,
    finished: bool,
}

impl VideoEncoder {
    /// Starts encoding to `path` (parent directories are created).
    pub fn create(path: impl AsRef<Path>, settings: EncodeSettings) -> Result<Self, MediaError> {
        let path = path.as_ref().to_path_buf();
        pipeline::init()?;
        validate(&path, &settings)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| MediaError::Io {
                path: path.clone(),
                source: e,
            })?;
        }
        let temp = yakumo_core::fsutil::temp_path_for(&path);
        let (pipeline, video_src, audio_src) = build_pipeline(&path, &temp, &settings)?;
        let encoder = Self {
            path,
            temp,
            settings,
            pipeline,
            video_src,
            layout: None,
            frames: 0,
            finished: false,
        };
        pipeline::set_state(&encoder.path, &encoder.pipeline, gst::State::Playing)?;
        if let (Some(src), Some(audio)) = (audio_src, &encoder.settings.audio) {
            push_audio(&encoder.path, &src, audio)?;
        }
        Ok(encoder)
    }

    /// Number of frames pushed so far.
    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// Appends one frame of tightly packed RGB (3 bytes/pixel) or RGBA (4 bytes/pixel) rows; the
    /// layout is taken from the first frame's length and must stay the same. Blocks while the
    /// encoder is a few frames behind, so memory stays bounded.
    pub fn push_frame(&mut self, pixels: &[u8]) -> Result<(), MediaError> {
        let bus = self.pipeline.bus().expect("a pipeline always has a bus");
        if let Some(err) = pipeline::pending_error(&self.path, &bus) {
            return Err(err);
        }
        let (layout, info) = match &self.layout {
            Some(known) => known.clone(),
            None => {
                let known = self.detect_layout(pixels.len())?;
                let caps = known
                    .1
                    .to_caps()
                    .map_err(|e| pipeline::internal(&self.path, "appsrc", e))?;
                self.video_src.set_caps(Some(&caps));
                self.layout = Some(known.clone());
                known
            }
        };
        let row = self.settings.width as usize * bytes_per_pixel(layout);
        if pixels.len() != row * self.settings.height as usize {
            return Err(MediaError::InvalidInput {
                path: self.path.clone(),
                message: format!(
                    "frame {} has {} bytes, expected {} ({:?} {}x{})",
                    self.frames,
                    pixels.len(),
                    row * self.settings.height as usize,
                    layout,
                    self.settings.width,
                    self.settings.height
                ),
            });
        }
        let yuv = subsample::rgb_to_i420(pixels, bytes_per_pixel(layout), &info);
        let mut buffer = gst::Buffer::from_mut_slice(yuv);
        {
            let buffer = buffer.get_mut().expect("a new buffer is writable");
            let start = self.settings.fps.frame_time_ns(self.frames);
            let end = self.settings.fps.frame_time_ns(self.frames + 1);
            buffer.set_pts(gst::ClockTime::from_nseconds(start));
            buffer.set_duration(gst::ClockTime::from_nseconds(end - start));
        }
        self.video_src
            .push_buffer(buffer)
            .map_err(|flow| self.flow_error(&bus, flow))?;
        self.frames += 1;
        Ok(())
    }

    /// Ends the stream, waits for the encoder to drain and moves the file to its final name.
    pub fn finish(mut self) -> Result<(), MediaError> {
        if self.frames == 0 {
            return Err(MediaError::InvalidInput {
                path: self.path.clone(),
                message: "no frames were pushed; refusing to write an empty video".into(),
            });
        }
        let bus = self.pipeline.bus().expect("a pipeline always has a bus");
        self.video_src
            .end_of_stream()
            .map_err(|flow| self.flow_error(&bus, flow))?;
        pipeline::wait_for_eos(&self.path, &bus, FINISH_TIMEOUT_S, "finishing the encode")?;
        pipeline::shut_down(&self.pipeline);
        let io = |e| MediaError::Io {
            path: self.path.clone(),
            source: e,
        };
        fs::File::open(&self.temp)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        fs::rename(&self.temp, &self.path).map_err(io)?;
        self.finished = true;
        Ok(())
    }

    /// The input layout of a first frame of `len` bytes, and the I420 layout it is encoded in.
    fn detect_layout(&self, len: usize) -> Result<(InputLayout, gst_video::VideoInfo), MediaError> {
        let pixels = self.settings.width as usize * self.settings.height as usize;
        let layout = if len == pixels * 3 {
            InputLayout::Rgb
        } else if len == pixels * 4 {
            InputLayout::Rgba
        } else {
            return Err(MediaError::InvalidInput {
                path: self.path.clone(),
                message: format!(
                    "first frame has {len} bytes; a {}x{} frame needs {} (RGB) or {} (RGBA)",
                    self.settings.width,
                    self.settings.height,
                    pixels * 3,
                    pixels * 4
                ),
            });
        };
        let fps = self.settings.fps;
        let fps = gst::Fraction::new(fps.num as i32, fps.den as i32);
        let info = subsample::i420_info(self.settings.width, self.settings.height, fps)
            .map_err(|e| pipeline::internal(&self.path, "appsrc", e))?;
        Ok((layout, info))
    }

    /// The error GStreamer posted for a failed push (waiting briefly for it to arrive).
    fn flow_error(&self, bus: &gst::Bus, flow: gst::FlowError) -> MediaError {
        bus.timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error])
            .and_then(|msg| match msg.view() {
                gst::MessageView::Error(err) => Some(pipeline::bus_error(&self.path, err)),
                _ => None,
            })
            .unwrap_or_else(|| {
                pipeline::internal(&self.path, "appsrc", format!("push failed: {flow:?}"))
            })
    }
}

impl Drop for VideoEncoder {
    fn drop(&mut self) {
        pipeline::shut_down(&self.pipeline);
        if !self.finished {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

fn validate(path: &Path, s: &EncodeSettings) -> Result<(), MediaError> {
    let problem = if s.width == 0 || s.height == 0 || s.width % 2 == 1 || s.height % 2 == 1 {
        Some(format!(
            "frame size {}x{} must be positive and even (H.264 4:2:0)",
            s.width, s.height
        ))
    } else if !s.fps.is_valid() || s.fps.num > i32::MAX as u32 || s.fps.den > i32::MAX as u32 {
        Some(format!("invalid frame rate {}/{}", s.fps.num, s.fps.den))
    } else if s.quantiser > 50 {
        Some(format!("quantiser {} is outside 0..=50", s.quantiser))
    } else if s
        .audio
        .as_ref()
        .is_some_and(|a| a.sample_rate == 0 || a.samples.is_empty())
    {
        Some("the audio track is empty or has a zero sample rate".to_string())
    } else {
        None
    };
    match problem {
        Some(message) => Err(MediaError::InvalidInput {
            path: path.to_path_buf(),
            message,
        }),
        None => Ok(()),
    }
}

fn bytes_per_pixel(layout: InputLayout) -> usize {
    match layout {
        InputLayout::Rgb => 3,
        InputLayout::Rgba => 4,
    }
}

fn build_pipeline(
    path: &Path,
    temp: &Path,
    s: &EncodeSettings,
) -> Result<(gst::Pipeline, gst_app::AppSrc, Option<gst_app::AppSrc>), MediaError> {
    let p = gst::Pipeline::new();
    let frame_bytes = u64::from(s.width) * u64::from(s.height) * 4;
    let video_src = gst_app::AppSrc::builder()
        .format(gst::Format::Time)
        .block(true)
        .max_bytes(2 * frame_bytes)
        .build();
    let key_interval = s.fps.as_f64().round().max(1.0) as u32;
    let encoder = pipeline::make_with("x264enc", |b| {
        b.property_from_str("pass", "quant")
            .property("quantizer", s.quantiser)
            .property_from_str("speed-preset", "fast")
            .property_from_str("psy-tune", "film")
            .property("key-int-max", key_interval)
            // No B-frames: presentation times then start at 0 (mp4mux writes no edit list).
            .property("bframes", 0u32)
            // One thread: the same frames always give the same file. x264's threads do not
            // (measured: three encodes of one clip at once, three bitstreams), which made the
            // synthetic rig's board videos, and calibrations from them, vary from run to run.
            .property("threads", 1u32)
    })?;
    let parse = pipeline::make("h264parse")?;
    let mux = pipeline::make_with("mp4mux", |b| b.property("faststart", true))?;
    let location = temp.to_string_lossy().into_owned();
    let sink = pipeline::make_with("filesink", |b| b.property("location", location.as_str()))?;
    p.add_many([video_src.upcast_ref(), &encoder, &parse, &mux, &sink])
        .map_err(|e| pipeline::internal(path, "pipeline", e))?;
    gst::Element::link_many([video_src.upcast_ref(), &encoder, &parse, &mux, &sink])
        .map_err(|e| pipeline::internal(path, "x264enc", e))?;
    let audio_src = match &s.audio {
        Some(audio) => Some(add_audio_branch(path, &p, &mux, audio.sample_rate)?),
        None => None,
    };
    Ok((p, video_src, audio_src))
}

/// Adds appsrc → audioconvert → audioresample → AAC encoder → `mux` for mono f32 audio.
fn add_audio_branch(
    path: &Path,
    p: &gst::Pipeline,
    mux: &gst::Element,
    sample_rate: u32,
) -> Result<gst_app::AppSrc, MediaError> {
    let caps = gst::Caps::builder("audio/x-raw")
        .field("format", "F32LE")
        .field("layout", "interleaved")
        .field("channels", 1i32)
        .field("rate", sample_rate as i32)
        .build();
    // Unbounded queue: the track is already in memory, and pushing must never wait for video.
    let src = gst_app::AppSrc::builder()
        .caps(&caps)
        .format(gst::Format::Time)
        .build();
    let convert = pipeline::make("audioconvert")?;
    let resample = pipeline::make("audioresample")?;
    let aac =
        pipeline::first_available(&AAC_ENCODERS).ok_or_else(|| MediaError::MissingElement {
            element: AAC_ENCODERS.join(" or "),
        })?;
    let encoder = pipeline::make(aac)?;
    p.add_many([src.upcast_ref(), &convert, &resample, &encoder])
        .map_err(|e| pipeline::internal(path, "pipeline", e))?;
    gst::Element::link_many([src.upcast_ref(), &convert, &resample, &encoder, mux])
        .map_err(|e| pipeline::internal(path, aac, e))?;
    Ok(src)
}

/// Queues the whole track (it is already in memory) followed by end-of-stream.
fn push_audio(path: &Path, src: &gst_app::AppSrc, audio: &AudioTrack) -> Result<(), MediaError> {
    let rate = u64::from(audio.sample_rate);
    let time = |sample: usize| gst::ClockTime::from_nseconds(sample as u64 * 1_000_000_000 / rate);
    for (i, chunk) in audio.samples.chunks(AUDIO_CHUNK).enumerate() {
        let first = i * AUDIO_CHUNK;
        let bytes: Vec<u8> = chunk.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut buffer = gst::Buffer::from_mut_slice(bytes);
        let b = buffer.get_mut().expect("a new buffer is writable");
        b.set_pts(time(first));
        b.set_duration(time(first + chunk.len()) - time(first));
        src.push_buffer(buffer)
            .map_err(|flow| pipeline::internal(path, "appsrc", format!("{flow:?}")))?;
    }
    src.end_of_stream()
        .map_err(|flow| pipeline::internal(path, "appsrc", format!("{flow:?}")))?;
    Ok(())
}
