//! Calibration failures, each naming the camera and saying what to do.

/// Why a calibration could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum CalibError {
    /// The board was not found in any image of a camera.
    #[error(
        "camera {camera}: the board was never detected; check that the board file matches the printed \
         board and that the board is in focus, well lit and fills a good part of the image"
    )]
    NoDetections {
        /// Camera name.
        camera: String,
    },
    /// Too few usable views for the intrinsics.
    #[error(
        "camera {camera}: only {found} usable board views (need at least {needed}); record more frames \
         with the board at different positions and tilts (about ±30–45°)"
    )]
    TooFewViews {
        /// Camera name.
        camera: String,
        /// Usable views.
        found: usize,
        /// Views required.
        needed: usize,
    },
    /// The views do not determine the intrinsics.
    #[error(
        "camera {camera}: the board views do not determine the focal length (boards too parallel to the \
         image); tilt the board by 30–45° in some views"
    )]
    Degenerate {
        /// Camera name.
        camera: String,
    },
    /// The images look mirrored.
    #[error(
        "camera {camera}: the board appears mirrored in {mirrored} of {total} views; the images seem \
         flipped (disable mirroring in the camera or in the export) and retry"
    )]
    Mirrored {
        /// Camera name.
        camera: String,
        /// Mirrored views.
        mirrored: usize,
        /// All views.
        total: usize,
    },
    /// Some cameras never saw the board at the same time as the rest of the rig.
    #[error(
        "cameras {cameras:?} share no simultaneous board views with camera {reference} and the cameras \
         connected to it; record frames in which the board is visible to them and to a connected \
         camera at the same time (when the cameras are not frame-synchronous, hold the board still \
         for a moment in each pose: only still views are combined)"
    )]
    Disconnected {
        /// Cameras that cannot be placed.
        cameras: Vec<String>,
        /// The reference camera.
        reference: String,
    },
    /// A named camera does not exist.
    #[error("no camera named {0:?} among the inputs")]
    UnknownCamera(String),
}
