//! Shared GStreamer plumbing: one-time initialisation, element creation with clear errors, file
//! URIs, bus handling and dynamic-pad linking.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;

use super::MediaError;

/// Initialises GStreamer once per process and ranks hardware video decoders above software ones.
pub(crate) fn init() -> Result<(), MediaError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        gst::init().map_err(|e| e.to_string())?;
        prefer_hardware_decoders();
        Ok(())
    })
    .clone()
    .map_err(MediaError::Init)
}

/// Raises every installed hardware video decoder (nvh264dec, vah264dec, d3d11h264dec, ...) above
/// the software decoders so that decodebin autoplugging picks it first. GStreamer only registers
/// these elements when a usable device was found; a decoder that still fails is skipped by the
/// fallback in [`super::VideoDecoder::open`].
fn prefer_hardware_decoders() {
    let hardware = gst::ElementFactoryType::DECODER
        | gst::ElementFactoryType::MEDIA_VIDEO
        | gst::ElementFactoryType::HARDWARE;
    let preferred = gst::Rank::PRIMARY + 1;
    for factory in gst::ElementFactory::factories_with_type(hardware, gst::Rank::NONE) {
        if factory.rank() < preferred {
            factory.set_rank(preferred);
        }
    }
}

/// Whether `factory` is a hardware-accelerated element.
pub(crate) fn is_hardware(factory: &gst::ElementFactory) -> bool {
    factory.has_type(gst::ElementFactoryType::HARDWARE)
}

/// Checks that `path` is an existing file and returns its `file://` URI.
pub(crate) fn file_uri(path: &Path) -> Result<String, MediaError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => MediaError::NotFound {
            path: path.to_path_buf(),
        },
        _ => MediaError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    if !meta.is_file() {
        return Err(MediaError::InvalidInput {
            path: path.to_path_buf(),
            message: "not a regular file".into(),
        });
    }
    let absolute = std::path::absolute(path).map_err(|e| MediaError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    glib::filename_to_uri(&absolute, None)
        .map(|u| u.to_string())
        .map_err(|e| MediaError::InvalidInput {
            path: path.to_path_buf(),
            message: format!("cannot form a URI: {e}"),
        })
}

/// Creates an element of `factory`, failing with [`MediaError::MissingElement`] if not installed.
pub(crate) fn make(factory: &str) -> Result<gst::Element, MediaError> {
    make_with(factory, |b| b)
}

/// Like [`make`], letting `configure` set properties on the builder.
pub(crate) fn make_with<'a>(
    factory: &'a str,
    configure: impl FnOnce(
        gst::element_factory::ElementBuilder<'a>,
    ) -> gst::element_factory::ElementBuilder<'a>,
) -> Result<gst::Element, MediaError> {
    if gst::ElementFactory::find(factory).is_none() {
        return Err(MediaError::MissingElement {
            element: factory.to_string(),
        });
    }
    configure(gst::ElementFactory::make(factory))
        .build()
        .map_err(|_| MediaError::MissingElement {
            element: factory.to_string(),
        })
}

/// The first of `candidates` that is installed.
pub(crate) fn first_available<'a>(candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .copied()
        .find(|name| gst::ElementFactory::find(name).is_some())
}

/// An error for a pipeline-construction step that GStreamer refused (linking, adding).
pub(crate) fn internal(path: &Path, element: &str, err: impl std::fmt::Display) -> MediaError {
    MediaError::Pipeline {
        path: path.to_path_buf(),
        element: element.to_string(),
        message: err.to_string(),
        debug: None,
    }
}

/// Converts a bus error message into a [`MediaError::Pipeline`] naming the failing element.
pub(crate) fn bus_error(path: &Path, err: &gst::message::Error) -> MediaError {
    MediaError::Pipeline {
        path: path.to_path_buf(),
        element: err
            .src()
            .map(|s| s.name().to_string())
            .unwrap_or_else(|| "pipeline".into()),
        message: err.error().to_string(),
        debug: err.debug().map(|d| d.to_string()),
    }
}

/// Returns the first error message waiting on the bus, without blocking.
pub(crate) fn pending_error(path: &Path, bus: &gst::Bus) -> Option<MediaError> {
    let msg = bus.pop_filtered(&[gst::MessageType::Error])?;
    match msg.view() {
        gst::MessageView::Error(err) => Some(bus_error(path, err)),
        _ => None,
    }
}

/// Waits up to `timeout_s` for the pipeline to reach end-of-stream, returning the first error.
pub(crate) fn wait_for_eos(
    path: &Path,
    bus: &gst::Bus,
    timeout_s: u64,
    doing: &'static str,
) -> Result<(), MediaError> {
    let timeout = gst::ClockTime::from_seconds(timeout_s);
    let types = [gst::MessageType::Eos, gst::MessageType::Error];
    match bus.timed_pop_filtered(timeout, &types) {
        None => Err(MediaError::Timeout {
            path: path.to_path_buf(),
            seconds: timeout_s,
            doing,
        }),
        Some(msg) => match msg.view() {
            gst::MessageView::Error(err) => Err(bus_error(path, err)),
            _ => Ok(()),
        },
    }
}

/// Sets `pipeline` to `state`, turning a refusal into the error GStreamer posted for it.
pub(crate) fn set_state(
    path: &Path,
    pipeline: &gst::Pipeline,
    state: gst::State,
) -> Result<(), MediaError> {
    pipeline.set_state(state).map(|_| ()).map_err(|_| {
        let bus = pipeline.bus().expect("a pipeline always has a bus");
        pending_error(path, &bus).unwrap_or_else(|| {
            internal(
                path,
                "pipeline",
                format!("could not change state to {state:?}"),
            )
        })
    })
}

/// Stops `pipeline` (state NULL); used on every exit path so no streaming thread outlives it.
pub(crate) fn shut_down(pipeline: &gst::Pipeline) {
    let _ = pipeline.set_state(gst::State::Null);
}

/// Records whether a decodebin's matching dynamic pad was linked.
#[derive(Clone, Default)]
pub(crate) struct PadLinks {
    linked: Arc<AtomicBool>,
}

impl PadLinks {
    /// Whether a matching pad appeared and was linked.
    pub(crate) fn linked(&self) -> bool {
        self.linked.load(Ordering::SeqCst)
    }
}

/// Links the first pad of `decodebin` whose caps start with `media_prefix` (e.g. `"video/"`) to
/// `target`'s sink pad. If the decodebin finishes exposing pads without such a pad, an error
/// (`no_stream_message`) is posted so that waiting code wakes up.
pub(crate) fn link_first_pad(
    decodebin: &gst::Element,
    target: &gst::Element,
    media_prefix: &'static str,
    no_stream_message: &'static str,
) -> PadLinks {
    let links = PadLinks::default();
    let sink_pad = target
        .static_pad("sink")
        .expect("converter elements have a sink pad");
    let on_pad = links.clone();
    decodebin.connect_pad_added(move |_, pad| {
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let matches = caps
            .structure(0)
            .is_some_and(|s| s.name().starts_with(media_prefix));
        if matches && !on_pad.linked.load(Ordering::SeqCst) && pad.link(&sink_pad).is_ok() {
            on_pad.linked.store(true, Ordering::SeqCst);
        }
    });
    let on_done = links.clone();
    decodebin.connect_no_more_pads(move |element| {
        if !on_done.linked.load(Ordering::SeqCst) {
            gst::element_error!(
                element,
                gst::StreamError::WrongType,
                ["{}", no_stream_message]
            );
        }
    });
    links
}
