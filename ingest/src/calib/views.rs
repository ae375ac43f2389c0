//! Board detections as the solvers consume them.

use glam::DVec2;

/// The board corners found in one image.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct View {
    /// Frame index on the common timeline (the camera's own frame index when the cameras
    /// recorded frame-synchronously; see [`super::timeline`]).
    pub frame: usize,
    /// Detected corners: board corner id and pixel position (pixel centres at integers).
    pub corners: Vec<(u32, DVec2)>,
    /// Whether this view shows the board as it was at the common instant `frame`, so that it
    /// may be combined with other cameras' views of that frame for the extrinsics: the camera's
    /// frames lie on the common instants, or the board stands still. Views that are not serve
    /// the intrinsics only.
    pub simultaneous: bool,
}

/// Everything one camera saw of the board.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CameraViews {
    /// Camera name (dataset naming, e.g. `"00"`).
    pub name: String,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Views with a detected board, frames ascending.
    pub views: Vec<View>,
}
