//! Yakumo footage ingest: media I/O (GStreamer), synthetic rigs, audio sync and calibration.

pub mod board;
pub mod calib;
pub mod media;
pub mod run;
pub mod synth;
