//! The calibration board shown in the calibration videos: its definition (A1 boards sized for
//! the synthetic rig, in `src/synth/boards/`; `synth` writes the one it shows as
//! `calib/board.toml`), the printed pattern as a mipmapped texture, and the pattern's extent in
//! board coordinates (the grid plus its white margin).

use super::error::SynthError;
use super::texture::MipImage;
use crate::board::Board;
use glam::DVec2;
use std::path::Path;

/// Pixels per board square in the texture: the ChArUco markers (0.7 of a square, 6 cells with
/// their border) get 14 px per cell.
const PX_PER_SQUARE: u32 = 120;

/// Which board the calibration videos show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BoardChoice {
    /// A1 ChArUco board: 7 × 10 squares of 8 cm, 5.6 cm DICT_4X4_50 markers.
    Charuco,
    /// A1 chessboard: 9 × 6 inner corners, 8 cm squares.
    Chessboard,
}

impl BoardChoice {
    /// The board definition file's name and TOML text.
    pub fn definition(self) -> (&'static str, &'static str) {
        match self {
            BoardChoice::Charuco => ("charuco-a1", include_str!("boards/charuco-a1.toml")),
            BoardChoice::Chessboard => ("chessboard-a1", include_str!("boards/chessboard-a1.toml")),
        }
    }
}

/// A board ready to render.
pub struct BoardArt {
    /// The board definition.
    pub board: Board,
    /// Its TOML text, written beside the calibration videos.
    pub toml: &'static str,
    /// The printed pattern (grid and margin), RGBA with mips.
    pub texture: MipImage,
    /// Board coordinates (metres) of the texture's top-left corner.
    pub top_left: DVec2,
    /// Board coordinates (metres) of the texture's bottom-right corner.
    pub bottom_right: DVec2,
}

/// Loads `choice` and renders its pattern.
pub fn board_art(choice: BoardChoice) -> Result<BoardArt, SynthError> {
    let (name, toml) = choice.definition();
    let board = Board::parse(
        toml,
        Path::new(&format!("src/synth/boards/{name}.toml")),
        name.to_string(),
    )
    .map_err(|e| SynthError::Config(format!("built-in board {name}: {e}")))?;
    let grey = board.render(PX_PER_SQUARE);
    let geometry = board.render_geometry(PX_PER_SQUARE);
    let rgba = grey
        .pixels()
        .flat_map(|p| [p.0[0], p.0[0], p.0[0], 255])
        .collect();
    let texture = MipImage::new(grey.width(), grey.height(), rgba);
    let top_left = geometry.image_to_board(DVec2::ZERO);
    let bottom_right =
        geometry.image_to_board(DVec2::new(geometry.width as f64, geometry.height as f64));
    Ok(BoardArt {
        board,
        toml,
        texture,
        top_left,
        bottom_right,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texture_extent_surrounds_the_grid_by_one_square() {
        for choice in [BoardChoice::Charuco, BoardChoice::Chessboard] {
            let art = board_art(choice).unwrap();
            let s = art.board.square();
            assert!((art.top_left - DVec2::splat(-s)).length() < 1e-12);
            assert!((art.bottom_right - (art.board.size() + s)).length() < 1e-12);
            // The top-left grid square is black, the margin white.
            let tex = &art.texture;
            let at = |x: u32, y: u32| tex.levels[0][((y * tex.width + x) * 4) as usize];
            assert_eq!(at(PX_PER_SQUARE + 10, PX_PER_SQUARE + 10), 0);
            assert_eq!(at(10, 10), 255);
        }
    }
}
