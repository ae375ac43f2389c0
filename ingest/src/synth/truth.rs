//! The truth dataset's non-image files through yakumo-core: surface points (PLY), clip frames,
//! the EasyVolcap calibration and the `yakumo.toml` manifest.

use super::error::SynthError;
use super::surface::SurfaceSamples;
use super::timeline::Timeline;
use std::path::Path;
use yakumo_core::Camera;
use yakumo_core::clip::FramePoints;
use yakumo_core::dataset::DatasetLayout;
use yakumo_core::manifest::{CalibrationInfo, FrameRange, Manifest, SyncInfo};
use yakumo_core::ply::{PointCloud, write_ply};

/// Writes `samples` as a binary PLY with normals and colours.
pub fn write_points(path: &Path, samples: &SurfaceSamples) -> Result<(), SynthError> {
    let cloud = PointCloud {
        positions: samples.positions.clone(),
        normals: Some(samples.normals.clone()),
        colors: Some(samples.colours.clone()),
    };
    write_ply(path, &cloud).map_err(|e| SynthError::dataset(path, e))
}

/// The clip frame of `samples`: their colours (degree-0, no SH residual), a radius at which the
/// discs overlap, and full density.
pub fn clip_frame(samples: &SurfaceSamples) -> FramePoints {
    let n = samples.positions.len();
    FramePoints {
        positions: samples.positions.clone(),
        radii: vec![samples.disc_radius() as f32; n],
        densities: vec![1.0; n],
        colors: samples
            .colours
            .iter()
            .map(|c| c.map(|v| v as f32 / 255.0))
            .collect(),
        sh_rest: Vec::new(),
    }
}

/// Writes `dir/intri.yml` and `dir/extri.yml` for `cameras`.
pub fn write_calibration(dir: &Path, cameras: &[Camera]) -> Result<(), SynthError> {
    yakumo_core::calib::write_calibration(dir, cameras)
        .map_err(|e| SynthError::io(dir.join("intri.yml / extri.yml"), e))
}

/// Writes `dir/yakumo.toml`: frame rate, frames, cameras and the true sync offsets (ms to add to
/// each camera's timestamps to reach scene time).
pub fn write_manifest(
    dir: &Path,
    cameras: &[Camera],
    timeline: &Timeline,
) -> Result<(), SynthError> {
    let names: Vec<String> = cameras.iter().map(|c| c.name.clone()).collect();
    let manifest = Manifest {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        fps: timeline.fps,
        cameras: names.clone(),
        source: Some("yakumo-ingest synth (ground truth)".into()),
        frames: FrameRange {
            start: 0,
            count: timeline.frames as u32,
            step: 1,
        },
        sync: Some(SyncInfo {
            method: "synthetic".into(),
            offsets_ms: names
                .iter()
                .cloned()
                .zip(timeline.offsets.iter().map(|o| o * 1000.0))
                .collect(),
            confidence: names.iter().map(|n| (n.clone(), 1.0)).collect(),
            note: Some(format!(
                "ground truth: camera video frame j shows scene time offset + j/fps; dataset frame i shows scene time {:.6} + i/fps s; the clap starts at scene time {:.6} s",
                timeline.start, timeline.clap_time
            )),
        }),
        calibration: Some(CalibrationInfo {
            reprojection_rms_px: 0.0,
            source: "synthetic".into(),
        }),
    };
    let path = DatasetLayout::new(dir).manifest_path();
    manifest.write(&path).map_err(|e| SynthError::io(path, e))
}
