//! Board detections as the solvers consume them.

use glam::DVec2;

/// The board corners found in one image.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// Frame index in the camera's video (frames with the same index are simultaneous).
    pub frame: usize,
    /// Detected corners: board corner id and pixel position (pixel centres at integers).
    pub corners: Vec<(u32, DVec2)>,
}

/// Everything one camera saw of the board.
#[derive(Clone, Debug, PartialEq)]
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
