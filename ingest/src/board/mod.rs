//! Calibration targets: board definitions loaded from TOML, their 3D object points, a renderer
//! that draws the printable pattern, and corner detection in images.
//!
//! # Board coordinates
//! A board lies in its own plane `z = 0`, in metres. The origin is the **outer top-left corner of
//! the square grid** (as printed, looking at the pattern), `x` runs right along the columns and `y`
//! runs down along the rows, so `z` points into the board, away from a viewer (right-handed, the
//! same axes as an OpenCV camera looking at the board).
//!
//! - Chessboard: `inner_cols × inner_rows` inner corners; the square grid has one more square in
//!   each direction. Corner `(i, j)` (column `i`, row `j`, from the top-left) has id
//!   `j · inner_cols + i` and position `((i + 1)·square, (j + 1)·square, 0)`. Square `(c, r)` is
//!   black when `c + r` is even (the top-left square is black). `inner_cols + inner_rows` must be
//!   odd so that a 180° turn of the board is distinguishable from the board itself.
//! - ChArUco: `squares_x × squares_y` squares with the same colouring (top-left black, as OpenCV
//!   4.6+ draws it). Every white square holds an ArUco marker of side `marker`, centred in the
//!   square; marker ids count up row by row over the white squares from the top-left. The inner
//!   chessboard corners are the calibration points, numbered as for a chessboard with
//!   `inner_cols = squares_x − 1`. This matches OpenCV's `cv::aruco::CharucoBoard` layout.

mod definition;
pub mod detect;
pub mod dictionary;
mod render;

pub use definition::{Board, BoardError, BoardKind};
pub use render::RenderGeometry;
