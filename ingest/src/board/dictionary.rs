//! ArUco marker dictionaries, by their OpenCV names (`DICT_4X4_50`, `DICT_5X5_100`,
//! `DICT_APRILTAG_36h11`, ...).
//!
//! The codes come from the maintained `calib-targets-aruco` crate, which embeds OpenCV's
//! predefined dictionaries and checks them against patterns drawn by OpenCV itself. Bits are
//! stored row-major from the top-left of the marker's inner `n × n` grid, black = 1.

use calib_targets_aruco::{Dictionary, Matcher};

/// A marker dictionary: bit patterns for every id, plus rotation-aware matching.
#[derive(Clone, Debug)]
pub struct MarkerDictionary {
    dict: Dictionary,
    matcher: Matcher,
}

/// One decoded marker: its id and how it appears rotated in the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarkerMatch {
    /// Marker id in the dictionary.
    pub id: u32,
    /// Quarter turns such that the observed code is the dictionary code rotated `rotation` times
    /// (see [`calib_targets_aruco::rotate_code_u64`]).
    pub rotation: u8,
    /// Bits that had to be corrected.
    pub hamming: u8,
}

impl MarkerDictionary {
    /// The dictionary with OpenCV name `name` (with or without the `DICT_` prefix), or `None`.
    pub fn by_name(name: &str) -> Option<MarkerDictionary> {
        let dict = calib_targets_aruco::resolve_dictionary(name)?;
        // Correct at most the dictionary's declared capability, and never more than 2 bits:
        // wrong ids are much worse for calibration than missed markers.
        let max_hamming = dict.max_correction_bits().min(2);
        Some(MarkerDictionary {
            dict,
            matcher: Matcher::new(dict, max_hamming),
        })
    }

    /// Canonical name, e.g. `DICT_4X4_50`.
    pub fn name(&self) -> &'static str {
        self.dict.name()
    }

    /// Side of the inner bit grid (4 for `DICT_4X4_*`).
    pub fn bits(&self) -> usize {
        self.dict.marker_size()
    }

    /// Number of markers in the dictionary.
    pub fn len(&self) -> usize {
        self.dict.codes().len()
    }

    /// True when the dictionary holds no markers (never for the built-in ones).
    pub fn is_empty(&self) -> bool {
        self.dict.codes().is_empty()
    }

    /// Whether inner bit `(col, row)` of marker `id` is black. `id` must be `< len()`.
    pub fn is_black(&self, id: usize, col: usize, row: usize) -> bool {
        let n = self.bits();
        (self.dict.codes()[id] >> (row * n + col)) & 1 == 1
    }

    /// Matches an observed code (row-major, black = 1, as read in the image).
    pub fn match_code(&self, observed: u64) -> Option<MarkerMatch> {
        self.matcher.match_code(observed).map(|m| MarkerMatch {
            id: m.id,
            rotation: m.rotation,
            hamming: m.hamming,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opencv_marker_zero_of_4x4_50() {
        // OpenCV draws DICT_4X4_50 id 0 with inner rows ".#..", "#.#.", "##..", "##.#".
        let d = MarkerDictionary::by_name("DICT_4X4_50").unwrap();
        let rows = [".#..", "#.#.", "##..", "##.#"];
        for (r, line) in rows.iter().enumerate() {
            for (c, ch) in line.chars().enumerate() {
                assert_eq!(d.is_black(0, c, r), ch == '#', "bit ({c},{r})");
            }
        }
        assert_eq!(d.len(), 50);
        assert_eq!(d.bits(), 4);
        assert!(MarkerDictionary::by_name("4X4_50").is_some());
        assert!(MarkerDictionary::by_name("DICT_9X9_1").is_none());
    }

    #[test]
    fn matches_rotated_codes() {
        let d = MarkerDictionary::by_name("DICT_5X5_100").unwrap();
        let base = calib_targets_aruco::resolve_dictionary("DICT_5X5_100")
            .unwrap()
            .codes()[17];
        let rotated = calib_targets_aruco::rotate_code_u64(base, 5, 3);
        let m = d.match_code(rotated).unwrap();
        assert_eq!((m.id, m.rotation, m.hamming), (17, 3, 0));
        let m = d.match_code(rotated ^ 0b100).unwrap();
        assert_eq!((m.id, m.hamming), (17, 1));
    }
}
