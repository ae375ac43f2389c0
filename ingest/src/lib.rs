//! Yakumo footage ingest: media I/O (GStreamer), synthetic rigs, audio sync and calibration.

pub mod board;
pub mod media;
pub mod synth;
pub mod calib;
pub mod run;
