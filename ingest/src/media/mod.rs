//! The GStreamer media layer of ingest: H.264/MP4 encoding (synthetic rigs), frame and audio
//! decoding, probing, and the pure-Rust audio sync math (GCC-PHAT).

mod audio;
mod chroma;
mod decode;
mod encode;
mod error;
mod fps;
mod pipeline;
mod probe;
mod subsample;
mod sync;
mod throughput;
mod yuv;

pub use audio::{AudioTrack, decode_audio};
pub use chroma::ChromaUpsampling;
pub use decode::{DecodeOptions, Frame, Picture, VideoDecoder, decoder_threads};
pub use encode::{DEFAULT_QUANTISER, EncodeSettings, VideoEncoder};
pub use error::MediaError;
pub use fps::Fps;
pub use probe::{AudioStreamInfo, MediaInfo, VideoStreamInfo, probe};
pub use sync::{OffsetEstimate, SyncError, estimate_offset, estimate_offset_within};
pub use throughput::{GST_LAUNCH, ThroughputReport, measure_decode_throughput};
