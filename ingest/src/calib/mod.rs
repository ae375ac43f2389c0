//! Multi-camera calibration from board views.
//!
//! Pipeline: corners per image ([`crate::board::detect`]) → per camera Zhang's closed form and
//! Levenberg–Marquardt over the intrinsics, with the lens model chosen by the evidence
//! ([`intrinsics`], [`lens`]) → camera graph and initial poses along a maximum spanning tree
//! ([`graph`]) → one sparse bundle adjustment over all camera and board poses ([`bundle`]), where
//! cameras get richer lens models while the whole rig's evidence supports them ([`lens`]), then
//! every view weighted by the inverse of its corners' noise and the rig solved again ([`noise`]) → world
//! frame and outputs ([`export`], [`report`]). [`command`] runs it on videos or image folders, put
//! on one timeline by [`timeline`] when the cameras did not record frame-synchronously.

pub mod bundle;
pub mod command;
pub mod detections;
mod error;
pub mod export;
pub mod graph;
pub mod intrinsics;
pub mod lens;
pub mod noise;
pub mod pose;
pub mod projection;
pub mod report;
pub mod rig;
pub mod timeline;
mod views;
pub mod zhang;

pub use error::CalibError;
pub use projection::{Intrinsics, LensModel};
pub use report::{CalibrationReport, SyncReport};
pub use rig::{RigCalibration, RigOptions, WorldFrame, calibrate_rig};
pub use views::{CameraViews, View};
