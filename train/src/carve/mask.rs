//! Binary silhouette masks with an any/all pyramid, so the footprint of a voxel of any size can
//! be tested against the mask in constant time.

/// Bit set in a pyramid cell when at least one pixel below it is foreground.
const ANY: u8 = 1;
/// Bit set in a pyramid cell when every pixel below it is foreground.
const ALL: u8 = 2;

/// How much of a pixel rectangle the foreground covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// No foreground pixel in the rectangle.
    None,
    /// Some pixels are foreground, some may be background.
    Some,
    /// Every pixel of the rectangle is foreground.
    All,
}

/// One pyramid level: `ANY`/`ALL` bits per cell of `2^level × 2^level` pixels.
#[derive(Clone, Debug)]
struct Level {
    width: usize,
    height: usize,
    cells: Vec<u8>,
}

impl Level {
    fn cell(&self, x: usize, y: usize) -> u8 {
        self.cells[y * self.width + x]
    }

    /// The next coarser level: each cell merges the (up to) 2×2 cells below it.
    fn coarser(&self) -> Level {
        let width = self.width.div_ceil(2);
        let height = self.height.div_ceil(2);
        let mut cells = vec![0u8; width * height];
        for y in 0..height {
            for x in 0..width {
                let mut any = 0u8;
                let mut all = ALL;
                for cy in (2 * y)..(2 * y + 2).min(self.height) {
                    for cx in (2 * x)..(2 * x + 2).min(self.width) {
                        let c = self.cell(cx, cy);
                        any |= c & ANY;
                        all &= c & ALL;
                    }
                }
                cells[y * width + x] = any | all;
            }
        }
        Level {
            width,
            height,
            cells,
        }
    }
}

/// A silhouette mask (foreground = subject) with a pyramid for rectangle queries.
#[derive(Clone, Debug)]
pub struct Mask {
    levels: Vec<Level>,
}

impl Mask {
    /// A mask from one byte per pixel, row-major; bytes above `threshold` are foreground.
    ///
    /// Panics when `pixels.len() != width * height` (a caller bug, not an input error).
    pub fn from_bytes(width: u32, height: u32, pixels: &[u8], threshold: u8) -> Mask {
        let (w, h) = (width as usize, height as usize);
        assert_eq!(
            pixels.len(),
            w * h,
            "mask buffer does not match {width}×{height}"
        );
        let cells = pixels
            .iter()
            .map(|&p| if p > threshold { ANY | ALL } else { 0 })
            .collect();
        Mask::from_level(Level {
            width: w,
            height: h,
            cells,
        })
    }

    /// A mask whose pixel `(x, y)` is foreground when `inside(x, y)` is true.
    pub fn from_fn(width: u32, height: u32, mut inside: impl FnMut(u32, u32) -> bool) -> Mask {
        let mut cells = Vec::with_capacity(width as usize * height as usize);
        for y in 0..height {
            for x in 0..width {
                cells.push(if inside(x, y) { ANY | ALL } else { 0 });
            }
        }
        Mask::from_level(Level {
            width: width as usize,
            height: height as usize,
            cells,
        })
    }

    fn from_level(base: Level) -> Mask {
        let mut levels = vec![base];
        loop {
            let last = levels.last().expect("at least the base level");
            if last.width <= 1 && last.height <= 1 {
                break;
            }
            let next = last.coarser();
            levels.push(next);
        }
        Mask { levels }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.levels[0].width as u32
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.levels[0].height as u32
    }

    /// Whether pixel `(x, y)` is foreground; `false` outside the image.
    pub fn get(&self, x: i64, y: i64) -> bool {
        let base = &self.levels[0];
        if x < 0 || y < 0 || x >= base.width as i64 || y >= base.height as i64 {
            return false;
        }
        base.cell(x as usize, y as usize) & ANY != 0
    }

    /// The pyramid, finest level (the image) first, down to 1×1: per level its width, height
    /// and one byte per cell (bit 0: some pixel below is foreground, bit 1: all are).
    pub fn levels(&self) -> impl Iterator<Item = (u32, u32, &[u8])> {
        self.levels
            .iter()
            .map(|l| (l.width as u32, l.height as u32, l.cells.as_slice()))
    }

    /// Whether any pixel is foreground.
    pub fn has_foreground(&self) -> bool {
        let top = self.levels.last().expect("at least the base level");
        top.cells.iter().any(|&c| c & ANY != 0)
    }

    /// Number of foreground pixels.
    pub fn count(&self) -> usize {
        self.levels[0]
            .cells
            .iter()
            .filter(|&&c| c & ANY != 0)
            .count()
    }

    /// Coverage of the pixel rectangle `x0..=x1 × y0..=y1` (clamped to the image). Conservative:
    /// [`Coverage::None`] and [`Coverage::All`] are exact claims, [`Coverage::Some`] may be
    /// returned for a rectangle that is in fact all background or all foreground. An empty
    /// rectangle (entirely outside the image) is [`Coverage::None`].
    pub fn coverage(&self, x0: i64, y0: i64, x1: i64, y1: i64) -> Coverage {
        let base = &self.levels[0];
        let x0 = x0.max(0);
        let y0 = y0.max(0);
        let x1 = x1.min(base.width as i64 - 1);
        let y1 = y1.min(base.height as i64 - 1);
        if x0 > x1 || y0 > y1 {
            return Coverage::None;
        }
        let (x0, y0, x1, y1) = (x0 as usize, y0 as usize, x1 as usize, y1 as usize);
        // The finest level at which the rectangle spans at most 2×2 cells.
        let mut k = 0;
        while k + 1 < self.levels.len() && ((x1 >> k) - (x0 >> k) > 1 || (y1 >> k) - (y0 >> k) > 1)
        {
            k += 1;
        }
        let level = &self.levels[k];
        let mut any = 0u8;
        let mut all = ALL;
        for y in (y0 >> k)..=(y1 >> k) {
            for x in (x0 >> k)..=(x1 >> k) {
                let c = level.cell(x, y);
                any |= c & ANY;
                all &= c & ALL;
            }
        }
        if all != 0 {
            Coverage::All
        } else if any != 0 {
            Coverage::Some
        } else {
            Coverage::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc() -> Mask {
        Mask::from_fn(37, 23, |x, y| {
            let (dx, dy) = (x as f64 - 18.0, y as f64 - 11.0);
            dx * dx + dy * dy <= 64.0
        })
    }

    /// Brute-force coverage of a clamped rectangle.
    fn exact(m: &Mask, x0: i64, y0: i64, x1: i64, y1: i64) -> (bool, bool) {
        let mut any = false;
        let mut all = true;
        for y in y0.max(0)..=y1.min(m.height() as i64 - 1) {
            for x in x0.max(0)..=x1.min(m.width() as i64 - 1) {
                let v = m.get(x, y);
                any |= v;
                all &= v;
            }
        }
        (any, all)
    }

    #[test]
    fn coverage_claims_are_never_wrong() {
        let m = disc();
        let mut exact_answers = 0;
        for y0 in -2..25i64 {
            for x0 in -2..39i64 {
                for size in [0i64, 1, 2, 3, 5, 8, 13] {
                    let (x1, y1) = (x0 + size, y0 + size);
                    let (any, all) = exact(&m, x0, y0, x1, y1);
                    match m.coverage(x0, y0, x1, y1) {
                        Coverage::None => assert!(!any, "({x0},{y0}) size {size}"),
                        Coverage::All => assert!(all && any, "({x0},{y0}) size {size}"),
                        Coverage::Some => {}
                    }
                    if size == 0 {
                        // Single pixels are answered exactly.
                        let c = m.coverage(x0, y0, x1, y1);
                        assert_eq!(c != Coverage::None, any);
                        exact_answers += 1;
                    }
                }
            }
        }
        assert!(exact_answers > 900);
        assert_eq!(m.count(), 197);
    }

    #[test]
    fn threshold_and_bounds() {
        let m = Mask::from_bytes(3, 2, &[0, 128, 255, 127, 200, 0], 127);
        assert!(!m.get(0, 0) && m.get(1, 0) && m.get(2, 0));
        assert!(!m.get(0, 1) && m.get(1, 1) && !m.get(2, 1));
        assert!(!m.get(-1, 0) && !m.get(3, 1));
        assert_eq!(m.coverage(1, 0, 1, 1), Coverage::All);
        assert_eq!(m.coverage(5, 5, 9, 9), Coverage::None);
        assert_eq!(m.coverage(-4, -4, 10, 10), Coverage::Some);
    }
}
