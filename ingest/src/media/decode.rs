//! Frame-by-frame video decoding to packed RGB through decodebin autoplugging, preferring a
//! hardware decoder when one is installed and works. Frames leave GStreamer in one of
//! [`super::yuv::FORMATS`] (usually as the decoder made them) and are made packed RGB there.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::MediaError;
use super::{ChromaUpsampling, pipeline, probe, yuv};

/// Longest wait for the first frame (pipeline preroll).
const PREROLL_TIMEOUT_S: u64 = 60;
/// Longest wait for any following frame.
const FRAME_TIMEOUT_S: u64 = 60;
/// Decoded frames queued ahead of the caller (bounds memory).
const QUEUED_FRAMES: u32 = 4;
/// A stream ending this much (ns) before the container's duration counts as truncated, unless
/// two frame intervals are longer (audio may legitimately outlast video by a few frames).
const EARLY_END_TOLERANCE_NS: u64 = 250_000_000;
/// decodebin's `GstAutoplugSelectResult` values.
const AUTOPLUG_TRY: i32 = 0;
const AUTOPLUG_SKIP: i32 = 2;

/// Threads for each software decoder when `files` files are decoded in parallel on rayon's
/// pool (so at most as many at once as the pool has threads): the cores shared out, at least
/// one. A decoder's threads wait on each other between frames; files decoded side by side keep
/// the cores busy without that cost (8 H.264 streams at 1080p on 2 cores: 10 % less CPU than a
/// thread per core each).
pub fn decoder_threads(files: usize) -> u32 {
    let at_once = files.min(rayon::current_num_threads()).max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / at_once).max(1) as u32
}

/// How to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Scale every frame to exactly this `(width, height)`; `None` keeps the stored size.
    pub size: Option<(u32, u32)>,
    /// Try a hardware decoder first (falls back to software if it fails to start).
    pub hardware: bool,
    /// How 4:2:0 chroma is brought to full resolution.
    pub chroma: ChromaUpsampling,
    /// Threads a software decoder may use; 0 leaves it to the decoder (as many as there are
    /// cores). See [`decoder_threads`] for files decoded side by side.
    pub threads: u32,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            size: None,
            hardware: true,
            chroma: ChromaUpsampling::default(),
            threads: 0,
        }
    }
}

/// One decoded picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Position in decode output order, from 0.
    pub index: u64,
    /// Presentation time in nanoseconds.
    pub pts: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Tightly packed RGB, `width * height * 3` bytes, rows top to bottom.
    pub rgb: Vec<u8>,
}

/// One decoded picture as the decoder left it (YUV, as a rule), converted on demand. It holds
/// one of the decoder's buffers: convert it and let it go before pulling many more.
pub struct Picture {
    /// Position in decode output order, from 0.
    pub index: u64,
    /// Presentation time in nanoseconds.
    pub pts: u64,
    sample: gst::Sample,
    info: gst_video::VideoInfo,
    chroma: ChromaUpsampling,
    path: PathBuf,
}

impl Picture {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.info.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.info.height()
    }

    /// The picture in packed RGB, its chroma brought to full resolution as the decoder's
    /// options say.
    pub fn to_rgb(&self) -> Result<Frame, MediaError> {
        let rgb = self.convert(|frame| yuv::frame_to_rgb(frame, self.chroma))?;
        Ok(Frame {
            index: self.index,
            pts: self.pts,
            width: self.width(),
            height: self.height(),
            rgb,
        })
    }

    /// The picture's luma as full-range gray, `width * height` bytes, rows top to bottom: the
    /// decoded luma plane itself (limited range stretched to 0–255), without converting the
    /// chroma; from RGB sources, BT.601 weights.
    pub fn to_gray(&self) -> Result<Vec<u8>, MediaError> {
        self.convert(yuv::frame_to_gray)
    }

    fn convert(
        &self,
        conversion: impl FnOnce(&yuv::FrameRef<'_>) -> Result<Vec<u8>, String>,
    ) -> Result<Vec<u8>, MediaError> {
        let bad = |what: &str| pipeline::internal(&self.path, "appsink", what);
        let buffer = self
            .sample
            .buffer()
            .ok_or_else(|| bad("decoded sample without data"))?;
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &self.info)
            .map_err(|e| bad(&e.to_string()))?;
        conversion(&frame).map_err(|e| bad(&e))
    }
}

/// Pulls decoded frames from a video file; also an iterator of `Result<Frame, MediaError>`
/// that ends after the last frame or after the first error.
pub struct VideoDecoder {
    path: PathBuf,
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    bus: gst::Bus,
    decoder: Arc<Mutex<Option<(String, bool)>>>,
    chroma: ChromaUpsampling,
    next_index: u64,
    reached_ns: u64,
    frame_ns: u64,
    expected_ns: Option<u64>,
    failure: Option<MediaError>,
    done: bool,
}

impl VideoDecoder {
    /// Opens `path` and prerolls the first frame, so a missing, non-media or video-less file
    /// fails here with an error naming it.
    pub fn open(path: impl AsRef<Path>, options: DecodeOptions) -> Result<Self, MediaError> {
        let path = path.as_ref();
        pipeline::init()?;
        match Self::start(path, &options, options.hardware) {
            Err((_, true)) => Self::start(path, &options, false).map_err(|(e, _)| e),
            other => other.map_err(|(e, _)| e),
        }
    }

    /// Factory name of the video decoder element in use (e.g. `avdec_h264`, `nvh264dec`).
    pub fn decoder_name(&self) -> Option<String> {
        self.lock_decoder().as_ref().map(|(name, _)| name.clone())
    }

    /// Whether the decoder in use is a hardware one.
    pub fn uses_hardware(&self) -> bool {
        self.lock_decoder().as_ref().is_some_and(|(_, hw)| *hw)
    }

    /// The next frame in packed RGB, `Ok(None)` at the end. When the stream breaks, the frames
    /// decoded before the break are returned first, then [`MediaError::Truncated`] saying where
    /// it broke.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, MediaError> {
        let Some(picture) = self.next_picture()? else {
            return Ok(None);
        };
        picture.to_rgb().map(Some).inspect_err(|_| self.stop())
    }

    /// The next decoded picture, not yet converted (see [`VideoDecoder::next_frame`]): for
    /// callers that need only some frames, or only their luma ([`Picture::to_gray`]).
    pub fn next_picture(&mut self) -> Result<Option<Picture>, MediaError> {
        if self.done {
            return Ok(None);
        }
        let mut waited_ms = 0u64;
        loop {
            let timeout = if self.failure.is_some() { 0 } else { 100 };
            if let Some(sample) = self
                .sink
                .try_pull_sample(gst::ClockTime::from_mseconds(timeout))
            {
                return self
                    .make_picture(sample)
                    .map(Some)
                    .inspect_err(|_| self.stop());
            }
            if let Some(failure) = self.failure.take() {
                self.stop();
                let reason = match failure {
                    MediaError::Pipeline {
                        element, message, ..
                    } => format!("{element}: {message}"),
                    other => other.to_string(),
                };
                return Err(self.truncated(reason));
            }
            if self.sink.is_eos() {
                self.stop();
                return match self.early_end() {
                    Some(reason) => Err(self.truncated(reason)),
                    None => Ok(None),
                };
            }
            if let Some(err) = pipeline::pending_error(&self.path, &self.bus) {
                self.failure = Some(err);
                continue;
            }
            waited_ms += timeout;
            if waited_ms > FRAME_TIMEOUT_S * 1000 {
                self.stop();
                return Err(MediaError::Timeout {
                    path: self.path.clone(),
                    seconds: FRAME_TIMEOUT_S,
                    doing: "waiting for the next decoded frame",
                });
            }
        }
    }

    /// Builds and prerolls the pipeline. On failure also says whether a hardware decoder had
    /// been chosen, so that the caller can retry in software.
    fn start(
        path: &Path,
        options: &DecodeOptions,
        allow_hardware: bool,
    ) -> Result<Self, (MediaError, bool)> {
        let decoder = Arc::new(Mutex::new(None));
        let used_hardware = |d: &Arc<Mutex<Option<(String, bool)>>>| {
            d.lock()
                .map(|g| g.as_ref().is_some_and(|(_, hw)| *hw))
                .unwrap_or(false)
        };
        let built = Self::build(path, options, allow_hardware, decoder.clone());
        let (p, sink, links) = built.map_err(|e| (e, false))?;
        let bus = p.bus().expect("a pipeline always has a bus");
        let mut this = Self {
            path: path.to_path_buf(),
            pipeline: p,
            sink,
            bus,
            decoder,
            chroma: options.chroma,
            next_index: 0,
            reached_ns: 0,
            frame_ns: 0,
            expected_ns: None,
            failure: None,
            done: false,
        };
        let prerolled = this.preroll().map_err(|e| match &e {
            // Nothing reached the converter: say whether the file is not media or has no video.
            MediaError::Pipeline { .. } if !links.linked() => match probe::discover(path) {
                Err(unreadable) => unreadable,
                Ok(info) if info.video_streams().is_empty() => MediaError::NoVideo {
                    path: path.to_path_buf(),
                    reason: format!("it holds {} audio stream(s)", info.audio_streams().len()),
                },
                Ok(_) => e,
            },
            _ => e,
        });
        match prerolled {
            Ok(()) => Ok(this),
            Err(e) => {
                let hw = used_hardware(&this.decoder);
                Err((e, hw))
            }
        }
    }

    fn build(
        path: &Path,
        options: &DecodeOptions,
        allow_hardware: bool,
        decoder: Arc<Mutex<Option<(String, bool)>>>,
    ) -> Result<(gst::Pipeline, gst_app::AppSink, pipeline::PadLinks), MediaError> {
        let uri = pipeline::file_uri(path)?;
        if options
            .size
            .is_some_and(|(w, h)| w == 0 || h == 0 || w > 1 << 15 || h > 1 << 15)
        {
            return Err(MediaError::InvalidInput {
                path: path.to_path_buf(),
                message: format!("unusable output size {:?}", options.size),
            });
        }
        let p = gst::Pipeline::new();
        let source = pipeline::make_with("uridecodebin", |b| {
            b.property("uri", uri.as_str())
                .property(
                    "caps",
                    gst::Caps::from_str("video/x-raw(ANY)").expect("valid caps"),
                )
                .property("expose-all-streams", false)
        })?;
        if !allow_hardware {
            skip_hardware_decoders(&source);
        }
        let convert = pipeline::make("videoconvert")?;
        let scale = pipeline::make("videoscale")?;
        // A YUV layout `yuv` converts (what decoders produce: no conversion here), else RGB.
        let mut caps =
            gst::Caps::builder("video/x-raw").field("format", gst::List::new(yuv::FORMATS));
        if let Some((w, h)) = options.size {
            caps = caps
                .field("width", w as i32)
                .field("height", h as i32)
                .field("pixel-aspect-ratio", gst::Fraction::new(1, 1));
        }
        let sink = gst_app::AppSink::builder()
            .caps(&caps.build())
            .sync(false)
            .max_buffers(QUEUED_FRAMES)
            .drop(false)
            .build();
        p.add_many([&source, &convert, &scale, sink.upcast_ref()])
            .map_err(|e| pipeline::internal(path, "pipeline", e))?;
        gst::Element::link_many([&convert, &scale, sink.upcast_ref()])
            .map_err(|e| pipeline::internal(path, "videoconvert", e))?;
        let threads = options.threads;
        p.connect_deep_element_added(move |_, _, element| {
            if let Some(factory) = element.factory() {
                let klass = factory.klass();
                if klass.contains("Decoder") && klass.contains("Video") {
                    // libav's decoders (avdec_*) take a thread limit; hardware ones have none.
                    if threads > 0 && element.find_property("max-threads").is_some() {
                        element.set_property("max-threads", threads as i32);
                    }
                    let entry = (factory.name().to_string(), pipeline::is_hardware(&factory));
                    if let Ok(mut d) = decoder.lock() {
                        *d = Some(entry);
                    }
                }
            }
        });
        let links = pipeline::link_first_pad(&source, &convert, "video/", "no video stream");
        Ok((p, sink, links))
    }

    fn preroll(&mut self) -> Result<(), MediaError> {
        pipeline::set_state(&self.path, &self.pipeline, gst::State::Paused)?;
        let types = [gst::MessageType::AsyncDone, gst::MessageType::Error];
        let timeout = gst::ClockTime::from_seconds(PREROLL_TIMEOUT_S);
        match self.bus.timed_pop_filtered(timeout, &types) {
            None => Err(MediaError::Timeout {
                path: self.path.clone(),
                seconds: PREROLL_TIMEOUT_S,
                doing: "opening the video",
            }),
            Some(msg) => match msg.view() {
                gst::MessageView::Error(err) => Err(pipeline::bus_error(&self.path, err)),
                _ => {
                    self.expected_ns = self
                        .pipeline
                        .query_duration::<gst::ClockTime>()
                        .map(|d| d.nseconds());
                    pipeline::set_state(&self.path, &self.pipeline, gst::State::Playing)
                }
            },
        }
    }

    fn make_picture(&mut self, sample: gst::Sample) -> Result<Picture, MediaError> {
        let bad = |what: &str| pipeline::internal(&self.path, "appsink", what);
        let caps = sample
            .caps()
            .ok_or_else(|| bad("decoded sample without caps"))?;
        let info = gst_video::VideoInfo::from_caps(caps).map_err(|e| bad(&e.to_string()))?;
        let buffer = sample
            .buffer()
            .ok_or_else(|| bad("decoded sample without data"))?;
        let pts = buffer
            .pts()
            .map(|t| t.nseconds())
            .unwrap_or(self.reached_ns);
        if let Some(duration) = buffer.duration() {
            self.frame_ns = duration.nseconds();
        }
        self.reached_ns = self.reached_ns.max(pts + self.frame_ns);
        let index = self.next_index;
        self.next_index += 1;
        Ok(Picture {
            index,
            pts,
            sample,
            info,
            chroma: self.chroma,
            path: self.path.clone(),
        })
    }

    /// Why the stream ended early, if it stopped well before the container's stated duration
    /// (a truncated file whose index survived: the demuxer just stops without an error).
    fn early_end(&self) -> Option<String> {
        let expected = self.expected_ns?;
        let tolerance = EARLY_END_TOLERANCE_NS.max(2 * self.frame_ns);
        (self.reached_ns + tolerance < expected).then(|| {
            format!(
                "the video stopped at {:.3} s but the container says it lasts {:.3} s",
                self.reached_ns as f64 * 1e-9,
                expected as f64 * 1e-9
            )
        })
    }

    fn truncated(&self, reason: String) -> MediaError {
        MediaError::Truncated {
            path: self.path.clone(),
            frame: self.next_index,
            at_seconds: self.reached_ns as f64 * 1e-9,
            reason,
        }
    }

    fn stop(&mut self) {
        self.done = true;
        pipeline::shut_down(&self.pipeline);
    }

    fn lock_decoder(&self) -> std::sync::MutexGuard<'_, Option<(String, bool)>> {
        self.decoder.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Iterator for VideoDecoder {
    type Item = Result<Frame, MediaError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame().transpose()
    }
}

impl Drop for VideoDecoder {
    fn drop(&mut self) {
        pipeline::shut_down(&self.pipeline);
    }
}

/// Makes `uridecodebin` pass over hardware decoders when autoplugging.
fn skip_hardware_decoders(uridecodebin: &gst::Element) {
    uridecodebin.connect("autoplug-select", false, |args| {
        let factory = args.get(3)?.get::<gst::ElementFactory>().ok()?;
        let result_type = glib::Type::from_name("GstAutoplugSelectResult")?;
        let choice = if pipeline::is_hardware(&factory) {
            AUTOPLUG_SKIP
        } else {
            AUTOPLUG_TRY
        };
        glib::EnumClass::with_type(result_type)?.to_value(choice)
    });
}
