//! The calibration report: what was used, how well it fits and what was thrown away.

use glam::DVec2;
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
    /// How far the board reached towards the image's corners: the largest distance of a used
    /// corner from the principal point over that of the farthest image corner (1 when the board
    /// was seen in the image's corners). The lens distortion beyond is extrapolated.
    pub reach: f64,
}

/// [`CameraReport::reach`] below which the summary warns that the lens is extrapolated towards
/// the image corners (a hint; on the synthetic rig, reaches of 0.80–0.91 with a chessboard left
/// 0.4 px of distortion error in the corners, 0.92–0.98 with ChArUco 0.17 px).
pub const LOW_REACH: f64 = 0.9;

/// [`CameraReport::reach`] of the board corners `corners` in a `width` × `height` image with
/// principal point `principal` (pixels).
pub fn reach(
    width: u32,
    height: u32,
    principal: DVec2,
    corners: impl Iterator<Item = DVec2>,
) -> f64 {
    let (w, h) = (width as f64 - 1.0, height as f64 - 1.0);
    let farthest = [
        DVec2::ZERO,
        DVec2::new(w, 0.0),
        DVec2::new(0.0, h),
        DVec2::new(w, h),
    ]
    .into_iter()
    .map(|c| c.distance(principal))
    .fold(0.0, f64::max);
    let seen = corners.map(|p| p.distance(principal)).fold(0.0, f64::max);
    if farthest > 0.0 { seen / farthest } else { 0.0 }
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
                "  {:>8}: {:4} views detected, {:4} used ({} for the extrinsics), RMS {:.3} px, lens {}, reach {:.0} %, {} corners and {} frames rejected\n",
                c.name,
                c.views_detected,
                c.views_used,
                c.views_simultaneous,
                c.rms_px,
                c.lens.coefficient_names(),
                c.reach * 100.0,
                c.rejected_corners,
                c.rejected_frames.len()
            );
        }
        let low: Vec<&str> = self
            .cameras
            .iter()
            .filter(|c| c.reach < LOW_REACH)
            .map(|c| c.name.as_str())
            .collect();
        if !low.is_empty() {
            s += &format!(
                "warning: on camera(s) {} the board came less than {:.0} % of the way to the image corners; \
                 the lens distortion there is extrapolated. Wave the board into the image corners \
                 (a ChArUco board counts when partly outside the image; a chessboard must be seen whole)\n",
                low.join(", "),
                LOW_REACH * 100.0
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera(name: &str, reach: f64) -> CameraReport {
        CameraReport {
            name: name.into(),
            views_detected: 20,
            views_used: 20,
            views_simultaneous: 20,
            rms_px: 0.2,
            lens: LensModel::Radial2,
            rejected_corners: 0,
            rejected_frames: Vec::new(),
            reach,
        }
    }

    #[test]
    fn reach_is_the_share_of_the_way_to_the_farthest_image_corner() {
        // 101 × 81 image, principal point at its centre (50, 40): the corners are 64.03 px away.
        let pp = DVec2::new(50.0, 40.0);
        let far = (50.0f64.powi(2) + 40.0f64.powi(2)).sqrt();
        let corners = [DVec2::new(60.0, 40.0), DVec2::new(10.0, 10.0)].into_iter();
        assert!((reach(101, 81, pp, corners) - 50.0 / far).abs() < 1e-12);
        assert_eq!(
            reach(101, 81, pp, [DVec2::new(100.0, 80.0)].into_iter()),
            1.0
        );
        assert_eq!(reach(101, 81, pp, std::iter::empty()), 0.0);
    }

    #[test]
    fn the_summary_warns_about_cameras_the_board_did_not_reach_far_enough() {
        let report = CalibrationReport {
            board: "b".into(),
            intrinsics_only: false,
            reference_camera: "a".into(),
            rms_px: 0.2,
            corners_used: 100,
            outliers_rejected: 0,
            iterations: 3,
            cameras: vec![camera("a", 0.95), camera("b", 0.8), camera("c", 0.85)],
            board_poses: Vec::new(),
            sync: None,
        };
        let text = report.summary();
        assert!(
            text.contains("reach 95 %") && text.contains("reach 80 %"),
            "{text}"
        );
        assert!(
            text.contains("warning: on camera(s) b, c the board came less than 90 %"),
            "{text}"
        );
        let all_far = CalibrationReport {
            cameras: vec![camera("a", 0.95)],
            ..report
        };
        assert!(!all_far.summary().contains("warning"));
    }
}
