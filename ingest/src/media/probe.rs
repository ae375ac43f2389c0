//! Media inspection: container, streams, frame rate and an exact frame count.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_pbutils as pbutils;
use gstreamer_pbutils::prelude::*;

use super::pipeline;
use super::{Fps, MediaError};

/// Longest time the Discoverer may take on one file.
const DISCOVER_TIMEOUT_S: u64 = 30;
/// Longest time counting the frames of one file may take.
const COUNT_TIMEOUT_S: u64 = 600;
/// Frame intervals differing by more than this (ns) make the rate variable.
const VFR_TOLERANCE_NS: u64 = 1_000_000;

/// What a media file holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MediaInfo {
    /// The file that was probed.
    pub path: PathBuf,
    /// Container format, e.g. "ISO MP4/M4A" (`None` for a bare elementary stream).
    pub container: Option<String>,
    /// Total duration in seconds, if known.
    pub duration_seconds: Option<f64>,
    /// The first video stream, if any.
    pub video: Option<VideoStreamInfo>,
    /// All audio streams.
    pub audio: Vec<AudioStreamInfo>,
    /// Recording date/time tag (ISO 8601), if present.
    pub creation_time: Option<String>,
    /// Timecode tag, if present.
    pub timecode: Option<String>,
    /// All global text-representable tags, by GStreamer tag name.
    pub tags: BTreeMap<String, String>,
}

/// Properties of a video stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VideoStreamInfo {
    /// Codec description, e.g. "H.264 (High Profile)".
    pub codec: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Nominal (or average) frame rate, `None` when the container gives none.
    pub fps: Option<Fps>,
    /// Whether frame intervals vary (from the timestamps, or a container rate of 0/1).
    pub variable_frame_rate: bool,
    /// Number of frames.
    pub frame_count: u64,
    /// Whether `frame_count` was counted (true) or estimated as duration × fps (false).
    pub frame_count_exact: bool,
    /// Presentation time of the first frame in seconds, when counted.
    pub start_seconds: Option<f64>,
    /// Bit rate in bits per second, if known.
    pub bitrate: Option<u32>,
}

/// Properties of an audio stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AudioStreamInfo {
    /// Codec description, e.g. "MPEG-4 AAC".
    pub codec: String,
    /// Channel count.
    pub channels: u32,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Bit rate in bits per second, if known.
    pub bitrate: Option<u32>,
}

/// Inspects `path` with GStreamer's Discoverer, then counts the video frames by demuxing (no
/// decoding). If counting fails, the count is estimated and flagged as such.
pub fn probe(path: impl AsRef<Path>) -> Result<MediaInfo, MediaError> {
    let path = path.as_ref();
    let info = discover(path)?;

    let duration_seconds = info.duration().map(|d| d.nseconds() as f64 * 1e-9);
    let tags = info.tags().map(|t| tag_strings(&t)).unwrap_or_default();
    // The demuxer's tag is more specific ("ISO MP4/M4A") than the caps ("Quicktime").
    let container = tags.get("container-format").cloned().or_else(|| {
        info.stream_info()
            .filter(|top| top.is::<pbutils::DiscovererContainerInfo>())
            .and_then(|top| top.caps())
            .map(|caps| pbutils::pb_utils_get_codec_description(&caps).to_string())
    });
    let audio = info
        .audio_streams()
        .iter()
        .map(|a| AudioStreamInfo {
            codec: describe(a.caps()),
            channels: a.channels(),
            sample_rate: a.sample_rate(),
            bitrate: (a.bitrate() > 0).then(|| a.bitrate()),
        })
        .collect();
    let creation_time = tags.get("datetime").or_else(|| tags.get("date")).cloned();
    let timecode = tags
        .iter()
        .find(|(k, _)| k.to_lowercase().contains("timecode"))
        .map(|(_, v)| v.clone());

    let video = match info.video_streams().first() {
        None => None,
        Some(v) => {
            let rate = v.framerate();
            let fps = (rate.numer() > 0 && rate.denom() > 0)
                .then(|| Fps::new(rate.numer() as u32, rate.denom() as u32));
            let scan = count_frames(path);
            let (frame_count, frame_count_exact, start_seconds, vfr) = match scan {
                Ok(scan) => (
                    scan.count,
                    true,
                    scan.start_ns.map(|t| t as f64 * 1e-9),
                    scan.variable,
                ),
                Err(_) => {
                    let estimate = match (duration_seconds, fps) {
                        (Some(d), Some(f)) => (d * f.as_f64()).round() as u64,
                        _ => 0,
                    };
                    (estimate, false, None, false)
                }
            };
            Some(VideoStreamInfo {
                codec: describe(v.caps()),
                width: v.width(),
                height: v.height(),
                fps,
                variable_frame_rate: vfr || fps.is_none(),
                frame_count,
                frame_count_exact,
                start_seconds,
                bitrate: (v.bitrate() > 0).then(|| v.bitrate()),
            })
        }
    };
    Ok(MediaInfo {
        path: path.to_path_buf(),
        container,
        duration_seconds,
        video,
        audio,
        creation_time,
        timecode,
        tags,
    })
}

/// Runs GStreamer's Discoverer on `path`; a file it cannot read gives [`MediaError::Unreadable`].
pub(crate) fn discover(path: &Path) -> Result<pbutils::DiscovererInfo, MediaError> {
    pipeline::init()?;
    let uri = pipeline::file_uri(path)?;
    let unreadable = |reason: String| MediaError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let discoverer = pbutils::Discoverer::new(gst::ClockTime::from_seconds(DISCOVER_TIMEOUT_S))
        .map_err(|e| MediaError::Init(e.to_string()))?;
    let info = discoverer
        .discover_uri(&uri)
        .map_err(|e| unreadable(e.to_string()))?;
    match info.result() {
        pbutils::DiscovererResult::Ok => Ok(info),
        other => {
            let missing = info.missing_elements_installer_details().join(", ");
            Err(unreadable(
                format!("{other:?} {missing}").trim_end().to_string(),
            ))
        }
    }
}

fn describe(caps: Option<gst::Caps>) -> String {
    caps.map(|c| pbutils::pb_utils_get_codec_description(&c).to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Tags as text; binary tags (cover images and the like) are left out.
fn tag_strings(tags: &gst::TagList) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in tags.iter() {
        let text = if let Ok(s) = value.get::<String>() {
            s
        } else if let Ok(dt) = value.get::<gst::DateTime>() {
            dt.to_iso8601_string()
                .map(|s| s.to_string())
                .unwrap_or_default()
        } else if value.type_().is_a(gst::Sample::static_type())
            || value.type_().is_a(gst::Buffer::static_type())
        {
            continue;
        } else {
            match value.serialize() {
                Ok(s) => s.to_string(),
                Err(_) => continue,
            }
        };
        out.insert(name.to_string(), text);
    }
    out
}

/// Result of walking the demuxed video stream.
struct FrameScan {
    count: u64,
    start_ns: Option<u64>,
    variable: bool,
}

/// Counts the access units of the first video stream with filesrc → parsebin (no decoding),
/// collecting their timestamps to find the start time and whether the rate varies.
fn count_frames(path: &Path) -> Result<FrameScan, MediaError> {
    let p = gst::Pipeline::new();
    let location = std::path::absolute(path)
        .map_err(|e| MediaError::Io {
            path: path.to_path_buf(),
            source: e,
        })?
        .to_string_lossy()
        .into_owned();
    let src = pipeline::make_with("filesrc", |b| b.property("location", location.as_str()))?;
    let parse = pipeline::make("parsebin")?;
    p.add_many([&src, &parse])
        .map_err(|e| pipeline::internal(path, "pipeline", e))?;
    src.link(&parse)
        .map_err(|e| pipeline::internal(path, "parsebin", e))?;

    let stamps: Arc<Mutex<Option<Vec<Option<u64>>>>> = Arc::new(Mutex::new(None));
    let pipeline_weak = p.downgrade();
    let collected = stamps.clone();
    parse.connect_pad_added(move |_, pad| {
        let Some(bin) = pipeline_weak.upgrade() else {
            return;
        };
        let Ok(sink) = gst::ElementFactory::make("fakesink")
            .property("sync", false)
            .property("async", false)
            .build()
        else {
            return;
        };
        if bin.add(&sink).is_err() {
            return;
        }
        let _ = sink.sync_state_with_parent();
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let is_video = caps
            .structure(0)
            .is_some_and(|s| s.name().starts_with("video/"));
        let mut guard = collected.lock().unwrap_or_else(|e| e.into_inner());
        if is_video && guard.is_none() {
            *guard = Some(Vec::new());
            let sink_list = collected.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(buffer) = info.buffer() {
                    let mut list = sink_list.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(list) = list.as_mut() {
                        list.push(buffer.pts().map(|t| t.nseconds()));
                    }
                }
                gst::PadProbeReturn::Ok
            });
        }
        drop(guard);
        if let Some(sink_pad) = sink.static_pad("sink") {
            let _ = pad.link(&sink_pad);
        }
    });

    let bus = p.bus().expect("a pipeline always has a bus");
    let result = pipeline::set_state(path, &p, gst::State::Playing)
        .and_then(|()| pipeline::wait_for_eos(path, &bus, COUNT_TIMEOUT_S, "counting frames"));
    pipeline::shut_down(&p);
    result?;
    let stamps = stamps.lock().unwrap_or_else(|e| e.into_inner()).take();
    let stamps = stamps.ok_or_else(|| MediaError::NoVideo {
        path: path.to_path_buf(),
        reason: "the demuxer exposed no video stream".into(),
    })?;
    Ok(scan_timestamps(&stamps))
}

/// Start time and frame-rate regularity from per-frame timestamps (in decode order).
fn scan_timestamps(stamps: &[Option<u64>]) -> FrameScan {
    let mut known: Vec<u64> = stamps.iter().flatten().copied().collect();
    known.sort_unstable();
    let deltas: Vec<u64> = known.windows(2).map(|w| w[1] - w[0]).collect();
    let variable = match (deltas.iter().min(), deltas.iter().max()) {
        (Some(lo), Some(hi)) => hi - lo > VFR_TOLERANCE_NS,
        _ => false,
    };
    FrameScan {
        count: stamps.len() as u64,
        start_ns: known.first().copied(),
        variable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_reveal_start_and_variable_rate() {
        let ms = 1_000_000;
        let regular: Vec<Option<u64>> = [0, 80, 40, 120]
            .iter()
            .map(|t| Some(t * ms + 500))
            .collect();
        let scan = scan_timestamps(&regular);
        assert_eq!(
            (scan.count, scan.start_ns, scan.variable),
            (4, Some(500), false)
        );
        let irregular: Vec<Option<u64>> = vec![Some(0), Some(33 * ms), Some(80 * ms), None];
        let scan = scan_timestamps(&irregular);
        assert_eq!(
            (scan.count, scan.start_ns, scan.variable),
            (4, Some(0), true)
        );
    }
}
