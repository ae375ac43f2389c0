//! `yakumo-core`: the small, dependency-light ground every other Yakumo crate stands on.
//!
//! - [`camera`]: pinhole camera with OpenCV distortion, world→camera extrinsics, projection.
//! - [`calib`]: EasyVolcap `intri.yml` / `extri.yml` in OpenCV FileStorage YAML.
//! - [`manifest`]: the dataset manifest `yakumo.toml`.
//! - [`dataset`]: the EasyVolcap dataset layout on disk.
//! - [`ply`]: binary PLY point files.
//! - [`sh`]: real spherical harmonics shared by the trainer and the player.
//! - [`render_ref`]: CPU reference of the point rendering rule (depth peeling + compositing).
//! - [`clip`]: the `.yk4d` baked clip format.
//! - [`fsutil`]: atomic file writes.

pub mod calib;
pub mod camera;
pub mod clip;
pub mod colmap;
pub mod dataset;
pub mod fsutil;
pub mod manifest;
pub mod opencv_yaml;
pub mod ply;
pub mod render_ref;
pub mod sh;

pub use camera::{Camera, Distortion};
