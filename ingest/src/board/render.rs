//! Drawing the printable pattern of a board, e.g. to print it or to texture a synthetic scene.

use glam::DVec2;
use image::{GrayImage, Luma};

use super::definition::{Board, BoardKind};

/// Where the board lies in an image made by [`Board::render`].
///
/// Image coordinates here are continuous with **pixel edges at integers**: pixel `(u, v)` covers
/// `[u, u+1) × [v, v+1)`, so its centre is at `(u + 0.5, v + 0.5)`. Board point `(x, y)` (metres,
/// see the board module docs) lies at `margin_px + px_per_metre · (x, y)`; board `(0, 0)`, the
/// outer top-left corner of the square grid, lies at `(margin_px, margin_px)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderGeometry {
    /// Image pixels per board metre.
    pub px_per_metre: f64,
    /// White margin around the square grid, in pixels (one square).
    pub margin_px: u32,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
}

impl RenderGeometry {
    /// Image position (pixel edges at integers) of board point `p` (metres).
    pub fn board_to_image(&self, p: DVec2) -> DVec2 {
        DVec2::splat(self.margin_px as f64) + p * self.px_per_metre
    }

    /// Board point (metres) at image position `q` (pixel edges at integers).
    pub fn image_to_board(&self, q: DVec2) -> DVec2 {
        (q - DVec2::splat(self.margin_px as f64)) / self.px_per_metre
    }
}

/// Supersampling per pixel axis: edges are anti-aliased by area coverage (4 × 4 samples).
const SUPERSAMPLE: u32 = 4;

impl Board {
    /// The layout of [`Board::render`] at `px_per_square` pixels per square.
    pub fn render_geometry(&self, px_per_square: u32) -> RenderGeometry {
        let (sx, sy) = self.squares();
        RenderGeometry {
            px_per_metre: px_per_square as f64 / self.square(),
            margin_px: px_per_square,
            width: (sx + 2) * px_per_square,
            height: (sy + 2) * px_per_square,
        }
    }

    /// Renders the pattern with `px_per_square` pixels per square (at least 8; use a multiple of
    /// the marker's cell count for crisp markers) and a white margin one square wide. Geometry:
    /// [`Board::render_geometry`]. Edges are anti-aliased by area coverage.
    pub fn render(&self, px_per_square: u32) -> GrayImage {
        let geo = self.render_geometry(px_per_square.max(8));
        let n = SUPERSAMPLE;
        GrayImage::from_fn(geo.width, geo.height, |u, v| {
            let mut white = 0u32;
            for sy in 0..n {
                for sx in 0..n {
                    let q = DVec2::new(
                        u as f64 + (sx as f64 + 0.5) / n as f64,
                        v as f64 + (sy as f64 + 0.5) / n as f64,
                    );
                    if !self.is_black_at(geo.image_to_board(q)) {
                        white += 1;
                    }
                }
            }
            Luma([((white * 255 + n * n / 2) / (n * n)) as u8])
        })
    }

    /// Whether board point `p` (metres) is black in the printed pattern (white outside the grid).
    pub fn is_black_at(&self, p: DVec2) -> bool {
        let size = self.size();
        if p.x < 0.0 || p.y < 0.0 || p.x >= size.x || p.y >= size.y {
            return false;
        }
        let s = self.square();
        let (col, row) = ((p.x / s) as u32, (p.y / s) as u32);
        if Board::is_black_square(col, row) {
            return true;
        }
        let BoardKind::Charuco {
            squares_x, marker, ..
        } = self.kind
        else {
            return false;
        };
        let dict = self
            .dictionary()
            .expect("a validated ChArUco board has a dictionary");
        let local = p - DVec2::new(col as f64, row as f64) * s - DVec2::splat((s - marker) / 2.0);
        if local.x < 0.0 || local.y < 0.0 || local.x >= marker || local.y >= marker {
            return false;
        }
        // White squares before this one, row-major: that is the marker id.
        let index = row * squares_x + col;
        let id = (index / 2) as usize;
        let cells = dict.bits() + 2;
        let cell = marker / cells as f64;
        let (cx, cy) = ((local.x / cell) as usize, (local.y / cell) as usize);
        if cx == 0 || cy == 0 || cx >= cells - 1 || cy >= cells - 1 {
            return true; // the black border of the marker
        }
        dict.is_black(id, cx - 1, cy - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn board(text: &str) -> Board {
        Board::parse(text, Path::new("t.toml"), "t".into()).unwrap()
    }

    #[test]
    fn chessboard_render_matches_geometry() {
        let b = board("kind='chessboard'\ninner_cols=3\ninner_rows=2\nsquare=0.05");
        let img = b.render(20);
        let geo = b.render_geometry(20);
        assert_eq!((img.width(), img.height()), (6 * 20, 5 * 20));
        assert_eq!(geo.board_to_image(DVec2::ZERO), DVec2::new(20.0, 20.0));
        // Margin white, top-left square black, its right neighbour white.
        assert_eq!(img.get_pixel(5, 5)[0], 255);
        assert_eq!(img.get_pixel(30, 30)[0], 0);
        assert_eq!(img.get_pixel(50, 30)[0], 255);
        // Inner corner 0 at board (0.05, 0.05) → image (40, 40): the four pixels around it alternate.
        let q = geo.board_to_image(b.corner(0).truncate());
        assert_eq!(q, DVec2::new(40.0, 40.0));
        assert_eq!(img.get_pixel(39, 39)[0], 0);
        assert_eq!(img.get_pixel(40, 39)[0], 255);
        assert_eq!(img.get_pixel(39, 40)[0], 255);
        assert_eq!(img.get_pixel(40, 40)[0], 0);
    }

    #[test]
    fn charuco_render_draws_dictionary_bits() {
        // Marker 0 sits in square (1, 0); 4×4 bits + border = 6 cells of 10 px when the marker
        // is 60 px wide (square 80 px).
        let b = board(
            "kind='charuco'\nsquares_x=3\nsquares_y=3\nsquare=0.08\nmarker=0.06\ndictionary='DICT_4X4_50'",
        );
        let img = b.render(80);
        let dict = b.dictionary().unwrap();
        let origin = DVec2::new(80.0 + 80.0 + 10.0, 80.0 + 10.0); // marker top-left in the image
        for row in 0..6 {
            for col in 0..6 {
                let c = origin + DVec2::new(col as f64 * 10.0 + 5.0, row as f64 * 10.0 + 5.0);
                let border = row == 0 || col == 0 || row == 5 || col == 5;
                let black = border || dict.is_black(0, col - 1, row - 1);
                let value = img.get_pixel(c.x as u32, c.y as u32)[0];
                assert_eq!(value, if black { 0 } else { 255 }, "cell ({col},{row})");
            }
        }
    }

    #[test]
    fn marker_edges_off_the_pixel_grid_are_antialiased() {
        // 50 px squares, 37.5 px markers inset by 6.25 px: marker edges fall inside pixels.
        let b = board(
            "kind='charuco'\nsquares_x=3\nsquares_y=3\nsquare=0.08\nmarker=0.06\ndictionary='DICT_4X4_50'",
        );
        let img = b.render(50);
        // Marker 0's left border starts at x = 50 + 50 + 6.25: pixel 106 is 75 % black.
        let v = img.get_pixel(106, 75)[0];
        assert_eq!(v, 64, "pixel straddling the marker's left edge");
        assert_eq!(img.get_pixel(105, 75)[0], 255);
        assert_eq!(img.get_pixel(107, 75)[0], 0);
    }
}
