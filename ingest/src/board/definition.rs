//! Board definitions: the TOML schema, validation and the board's 3D points.

use std::path::{Path, PathBuf};

use glam::{DVec2, DVec3};
use serde::Deserialize;

use super::dictionary::MarkerDictionary;

/// Why a board file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// The file could not be read.
    #[error("cannot read board file {path}: {source}")]
    Io {
        /// The board file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not valid board TOML.
    #[error("board file {path} is not a valid board definition: {message}")]
    Parse {
        /// The board file.
        path: PathBuf,
        /// What the TOML parser said.
        message: String,
    },
    /// The file parsed but describes a board that cannot be used.
    #[error("board file {path}: {reason}")]
    Invalid {
        /// The board file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// The pattern printed on a board.
#[derive(Clone, Debug, PartialEq)]
pub enum BoardKind {
    /// A plain chessboard, detected through its inner corners.
    Chessboard {
        /// Inner corners per row (squares per row − 1).
        inner_cols: u32,
        /// Inner corners per column (squares per column − 1).
        inner_rows: u32,
        /// Square side in metres.
        square: f64,
    },
    /// A ChArUco board: a chessboard with ArUco markers in its white squares.
    Charuco {
        /// Squares per row.
        squares_x: u32,
        /// Squares per column.
        squares_y: u32,
        /// Square side in metres.
        square: f64,
        /// Marker side in metres (smaller than `square`).
        marker: f64,
        /// OpenCV dictionary name, e.g. `DICT_4X4_50`.
        dictionary: String,
    },
}

/// A validated calibration board. See the [module docs](super) for its coordinate frame.
#[derive(Clone, Debug)]
pub struct Board {
    /// Name shown in reports (the file stem unless the file sets `name`).
    pub name: String,
    /// The printed pattern.
    pub kind: BoardKind,
    dictionary: Option<MarkerDictionary>,
}

/// TOML schema: `kind = "chessboard" | "charuco"` plus that kind's fields.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum BoardFile {
    Chessboard {
        name: Option<String>,
        inner_cols: u32,
        inner_rows: u32,
        square: f64,
    },
    Charuco {
        name: Option<String>,
        squares_x: u32,
        squares_y: u32,
        square: f64,
        marker: f64,
        dictionary: String,
    },
}

/// A marker of a ChArUco board: its id and its four corners on the board (metres, `z = 0`),
/// in the order top-left, top-right, bottom-right, bottom-left as printed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoardMarker {
    /// Dictionary id.
    pub id: u32,
    /// Square column and row holding the marker.
    pub square: (u32, u32),
    /// Corners, clockwise from the top-left as printed.
    pub corners: [DVec2; 4],
}

impl Board {
    /// Loads and validates a board definition from a TOML file.
    pub fn load(path: impl AsRef<Path>) -> Result<Board, BoardError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| BoardError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        Board::parse(&text, path, stem.unwrap_or_else(|| "board".into()))
    }

    /// Parses and validates board TOML; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path, default_name: String) -> Result<Board, BoardError> {
        let file: BoardFile = toml::from_str(text).map_err(|e| BoardError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let invalid = |reason: String| BoardError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let positive = |what: &str, v: f64| {
            if v.is_finite() && v > 0.0 && v < 10.0 {
                Ok(())
            } else {
                Err(invalid(format!(
                    "{what} must be a positive length in metres below 10, got {v}"
                )))
            }
        };
        match file {
            BoardFile::Chessboard {
                name,
                inner_cols,
                inner_rows,
                square,
            } => {
                positive("square", square)?;
                if inner_cols < 2 || inner_rows < 2 || inner_cols > 200 || inner_rows > 200 {
                    return Err(invalid(format!(
                        "a chessboard needs 2 to 200 inner corners per side, got {inner_cols}×{inner_rows}"
                    )));
                }
                if (inner_cols + inner_rows) % 2 == 0 {
                    return Err(invalid(format!(
                        "inner corners {inner_cols}×{inner_rows}: one count must be even and the other odd, \
                         otherwise the board looks the same turned by 180° and cameras could disagree \
                         on its orientation (use e.g. 9×6)"
                    )));
                }
                Ok(Board {
                    name: name.unwrap_or(default_name),
                    kind: BoardKind::Chessboard {
                        inner_cols,
                        inner_rows,
                        square,
                    },
                    dictionary: None,
                })
            }
            BoardFile::Charuco {
                name,
                squares_x,
                squares_y,
                square,
                marker,
                dictionary,
            } => {
                positive("square", square)?;
                positive("marker", marker)?;
                if marker >= square {
                    return Err(invalid(format!(
                        "marker ({marker} m) must be smaller than square ({square} m); 0.7–0.8 × square is typical"
                    )));
                }
                if squares_x < 3 || squares_y < 3 || squares_x > 200 || squares_y > 200 {
                    return Err(invalid(format!(
                        "a ChArUco board needs 3 to 200 squares per side, got {squares_x}×{squares_y}"
                    )));
                }
                let dict = MarkerDictionary::by_name(&dictionary).ok_or_else(|| {
                    invalid(format!(
                        "unknown marker dictionary {dictionary:?}; use an OpenCV name such as DICT_4X4_50, \
                         DICT_5X5_100, DICT_6X6_250 or DICT_APRILTAG_36h11"
                    ))
                })?;
                let markers = (squares_x * squares_y / 2) as usize;
                if markers > dict.len() {
                    return Err(invalid(format!(
                        "the board has {markers} markers but {} holds only {}; choose a larger dictionary",
                        dict.name(),
                        dict.len()
                    )));
                }
                Ok(Board {
                    name: name.unwrap_or(default_name),
                    kind: BoardKind::Charuco {
                        squares_x,
                        squares_y,
                        square,
                        marker,
                        dictionary: dict.name().to_string(),
                    },
                    dictionary: Some(dict),
                })
            }
        }
    }

    /// Side of one square in metres.
    pub fn square(&self) -> f64 {
        match self.kind {
            BoardKind::Chessboard { square, .. } | BoardKind::Charuco { square, .. } => square,
        }
    }

    /// Squares per row and per column of the printed grid.
    pub fn squares(&self) -> (u32, u32) {
        match self.kind {
            BoardKind::Chessboard {
                inner_cols,
                inner_rows,
                ..
            } => (inner_cols + 1, inner_rows + 1),
            BoardKind::Charuco {
                squares_x,
                squares_y,
                ..
            } => (squares_x, squares_y),
        }
    }

    /// Inner corners per row and per column.
    pub fn inner_corners(&self) -> (u32, u32) {
        let (sx, sy) = self.squares();
        (sx - 1, sy - 1)
    }

    /// Width and height of the square grid in metres.
    pub fn size(&self) -> DVec2 {
        let (sx, sy) = self.squares();
        DVec2::new(sx as f64, sy as f64) * self.square()
    }

    /// Whether square `(col, row)` is black (the top-left square is).
    pub fn is_black_square(col: u32, row: u32) -> bool {
        (col + row).is_multiple_of(2)
    }

    /// The marker dictionary of a ChArUco board.
    pub fn dictionary(&self) -> Option<&MarkerDictionary> {
        self.dictionary.as_ref()
    }

    /// Number of corner ids (inner corners).
    pub fn corner_count(&self) -> usize {
        let (cx, cy) = self.inner_corners();
        (cx * cy) as usize
    }

    /// Board position of corner `id` (metres, `z = 0`).
    pub fn corner(&self, id: u32) -> DVec3 {
        let (cx, _) = self.inner_corners();
        let s = self.square();
        DVec3::new(((id % cx) + 1) as f64 * s, ((id / cx) + 1) as f64 * s, 0.0)
    }

    /// Every calibration point: `(id, position on the board in metres, z = 0)`, ids ascending.
    pub fn object_points(&self) -> Vec<(u32, DVec3)> {
        (0..self.corner_count() as u32)
            .map(|id| (id, self.corner(id)))
            .collect()
    }

    /// The markers of a ChArUco board (empty for a chessboard), ids ascending.
    pub fn markers(&self) -> Vec<BoardMarker> {
        let BoardKind::Charuco {
            squares_x,
            squares_y,
            square,
            marker,
            ..
        } = self.kind
        else {
            return Vec::new();
        };
        let inset = (square - marker) / 2.0;
        let mut out = Vec::new();
        for row in 0..squares_y {
            for col in 0..squares_x {
                if Board::is_black_square(col, row) {
                    continue;
                }
                let tl = DVec2::new(col as f64 * square + inset, row as f64 * square + inset);
                out.push(BoardMarker {
                    id: out.len() as u32,
                    square: (col, row),
                    corners: [
                        tl,
                        tl + DVec2::new(marker, 0.0),
                        tl + DVec2::new(marker, marker),
                        tl + DVec2::new(0.0, marker),
                    ],
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Board, BoardError> {
        Board::parse(text, Path::new("test.toml"), "test".into())
    }

    #[test]
    fn shipped_boards_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/boards");
        let charuco = Board::load(dir.join("charuco-5x7.toml")).unwrap();
        assert_eq!(charuco.squares(), (5, 7));
        assert_eq!(charuco.object_points().len(), 4 * 6);
        assert_eq!(charuco.markers().len(), 17);
        let chess = Board::load(dir.join("chessboard-9x6.toml")).unwrap();
        assert_eq!(chess.inner_corners(), (9, 6));
        assert_eq!(chess.name, "chessboard-9x6");
    }

    #[test]
    fn object_points_follow_the_documented_layout() {
        let b = parse("kind='chessboard'\ninner_cols=9\ninner_rows=6\nsquare=0.1").unwrap();
        let pts = b.object_points();
        assert_eq!(pts.len(), 54);
        assert_eq!(pts[0], (0, DVec3::new(0.1, 0.1, 0.0)));
        assert!((pts[10].1 - DVec3::new(0.2, 0.2, 0.0)).length() < 1e-12);
        assert!((pts[53].1 - DVec3::new(0.9, 0.6, 0.0)).length() < 1e-12);
    }

    #[test]
    fn charuco_markers_sit_in_white_squares() {
        let b = parse(
            "kind='charuco'\nsquares_x=5\nsquares_y=7\nsquare=0.12\nmarker=0.09\ndictionary='DICT_4X4_50'",
        )
        .unwrap();
        let m = b.markers();
        assert_eq!(m[0].square, (1, 0));
        assert_eq!(m[1].square, (3, 0));
        assert_eq!(m[2].square, (0, 1));
        assert!((m[0].corners[0] - DVec2::new(0.135, 0.015)).length() < 1e-12);
        assert!((m[0].corners[2] - DVec2::new(0.225, 0.105)).length() < 1e-12);
    }

    #[test]
    fn rejects_impossible_boards_with_reasons() {
        let err = |t: &str| parse(t).unwrap_err().to_string();
        assert!(err("kind='chessboard'\ninner_cols=9\ninner_rows=6\nsquare=-1").contains("square"));
        assert!(err("kind='chessboard'\ninner_cols=7\ninner_rows=7\nsquare=0.1").contains("180°"));
        assert!(
            err("kind='chessboard'\ninner_cols=1\ninner_rows=6\nsquare=0.1")
                .contains("inner corners")
        );
        assert!(
            err("kind='charuco'\nsquares_x=5\nsquares_y=7\nsquare=0.1\nmarker=0.1\ndictionary='DICT_4X4_50'")
                .contains("smaller than square")
        );
        assert!(
            err("kind='charuco'\nsquares_x=5\nsquares_y=7\nsquare=0.1\nmarker=0.07\ndictionary='DICT_3X3_9'")
                .contains("unknown marker dictionary")
        );
        assert!(
            err("kind='charuco'\nsquares_x=12\nsquares_y=12\nsquare=0.1\nmarker=0.07\ndictionary='DICT_4X4_50'")
                .contains("larger dictionary")
        );
        assert!(err("kind='circles'\nrows=3").contains("not a valid board"));
        assert!(
            err("kind='chessboard'\ninner_cols=9\ninner_rows=6\nsquare=0.1\nsqaure=2")
                .contains("sqaure")
        );
    }
}
