//! The calibration report: what was used, how well it fits and what was thrown away.

use serde::Serialize;

use super::projection::LensModel;

/// Per-camera figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CameraReport {
    /// Camera name.
    pub name: String,
    /// Images in which the board was detected.
    pub views_detected: usize,
    /// Images used by the intrinsics.
    pub views_used: usize,
    /// Of those, the views combined with other cameras' for the extrinsics: on the common
    /// instants, or with the board still (see [`super::timeline`]).
    pub views_simultaneous: usize,
    /// Reprojection RMS of this camera's corners after the final solve, pixels.
    pub rms_px: f64,
    /// The lens distortion coefficients estimated (chosen by the evidence, or those given).
    pub lens: LensModel,
    /// Corners rejected as outliers.
    pub rejected_corners: usize,
    /// Frames rejected as a whole (detections inconsistent with the rest).
    pub rejected_frames: Vec<usize>,
}

/// Per board pose (frame) figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BoardPoseReport {
    /// Frame on the common timeline.
    pub frame: usize,
    /// Cameras that saw the board in this frame.
    pub cameras: usize,
    /// Corners observed in this frame over all cameras.
    pub corners: usize,
    /// Reprojection RMS over them, pixels.
    pub rms_px: f64,
}

/// The whole report, written as `calibration_report.json` and summarised on the terminal.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CalibrationReport {
    /// Board name.
    pub board: String,
    /// Whether only intrinsics were calibrated.
    pub intrinsics_only: bool,
    /// Camera whose frame anchors the rig before the world frame is chosen.
    pub reference_camera: String,
    /// Reprojection RMS over all used corners, pixels.
    pub rms_px: f64,
    /// Corners used by the final solve.
    pub corners_used: usize,
    /// Corners rejected as outliers in total (intrinsic and rig stages).
    pub outliers_rejected: usize,
    /// Bundle adjustment iterations.
    pub iterations: usize,
    /// Per camera.
    pub cameras: Vec<CameraReport>,
    /// Per board pose.
    pub board_poses: Vec<BoardPoseReport>,
    /// How the cameras were put on one timeline; `None` for image folders taken as
    /// simultaneous.
    pub sync: Option<SyncReport>,
}

/// How the calibration videos were put on one timeline.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SyncReport {
    /// `audio`, `timestamps`, `none` or `offsets`.
    pub method: String,
    /// How much later each camera started than the first, in milliseconds, in camera order.
    pub offsets_ms: Vec<f64>,
    /// Confidence of each offset (0–1; 1 for the first camera and for given offsets).
    pub confidence: Vec<f64>,
    /// Per camera, the views in which the board stands still (corners move less than
    /// [`super::timeline::STILL_PX`] against the neighbouring frames).
    pub still_views: Vec<usize>,
}

impl CalibrationReport {
    /// A short human-readable summary.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "board {}: {} cameras, {} board poses, {} corners, RMS {:.3} px, {} outliers rejected\n",
            self.board,
            self.cameras.len(),
            self.board_poses.len(),
            self.corners_used,
            self.rms_px,
            self.outliers_rejected
        );
        if let Some(sync) = &self.sync {
            let offsets: Vec<String> = sync.offsets_ms.iter().map(|o| format!("{o:.1}")).collect();
            s += &format!(
                "sync {}: offsets {} ms; board still in {} views\n",
                sync.method,
                offsets.join(", "),
                sync.still_views.iter().sum::<usize>()
            );
        }
        for c in &self.cameras {
            s += &format!(
                "  {:>8}: {:4} views detected, {:4} used ({} for the extrinsics), RMS {:.3} px, lens {}, {} corners and {} frames rejected\n",
                c.name,
                c.views_detected,
                c.views_used,
                c.views_simultaneous,
                c.rms_px,
                c.lens.coefficient_names(),
                c.rejected_corners,
                c.rejected_frames.len()
            );
        }
        s
    }
}
