//! Visual-hull cell tests on the GPU: the inner loop of space carving.
//!
//! Carving refines a grid of cells coarse to fine; at every level each cell is tested against
//! every camera's silhouette. [`HullScene`] holds one frame's cameras and mask pyramids in the
//! kernel's layout, [`GpuHull`] uploads it once and tests whole levels of cells in one launch on
//! any CubeCL runtime (CUDA, wgpu). The CPU reference is `yakumo_train::carve::classify`, which
//! the kernel mirrors one for one (in f32 instead of f64).

mod kernel;

use cubecl::calculate_cube_count_elemwise;
use cubecl::prelude::*;
use cubecl::server::Handle;

use kernel::hull_kernel;

/// Floats per camera in the camera table: world→camera rotation (row-major, 9), translation (3),
/// `fx skew cx fy cy` (5), `k1 k2 p1 p2 k3` (5), width and height (2).
pub const CAMERA_FLOATS: usize = 24;
/// Most pyramid levels per camera (images up to 2²³ pixels on a side).
pub const MAX_LEVELS: usize = 24;
/// Words per camera in the level table: the level count, then `(offset, width, height)` per level.
pub const LEVEL_WORDS: u32 = 1 + 3 * MAX_LEVELS as u32;

/// Errors of the GPU hull test.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HullError {
    /// A camera or mask pyramid is not usable.
    #[error("invalid hull scene: {0}")]
    InvalidScene(String),
    /// The rule does not fit the scene.
    #[error("invalid hull rule: {0}")]
    InvalidRule(String),
    /// The results could not be read back from the device.
    #[error("reading hull results failed: {0}")]
    Readback(String),
}

/// A calibrated camera as the kernel sees it (OpenCV model, metres, pixel centres at integers).
#[derive(Clone, Debug, PartialEq)]
pub struct HullCamera {
    /// World→camera rotation, row-major.
    pub rotation: [[f64; 3]; 3],
    /// World→camera translation.
    pub translation: [f64; 3],
    /// `[fx, skew, cx, fy, cy]` of the intrinsic matrix.
    pub intrinsics: [f64; 5],
    /// `[k1, k2, p1, p2, k3]`.
    pub distortion: [f64; 5],
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
}

/// One level of a mask pyramid: `width × height` cells, row-major, each with bit 0 set when some
/// pixel below it is foreground and bit 1 when all are.
#[derive(Clone, Copy, Debug)]
pub struct MaskLevel<'a> {
    /// Cells per row.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// One byte per cell.
    pub cells: &'a [u8],
}

/// One frame's cameras and silhouettes in the kernel's layout.
#[derive(Clone, Debug, Default)]
pub struct HullScene {
    cameras: Vec<f32>,
    levels: Vec<u32>,
    /// Pyramid cells of every camera, 2 bits each, 16 to a word.
    words: Vec<u32>,
    /// Cells written to `words` so far.
    cells: u64,
    num_cameras: u32,
}

impl HullScene {
    /// An empty scene.
    pub fn new() -> HullScene {
        HullScene::default()
    }

    /// Number of cameras added.
    pub fn cameras(&self) -> u32 {
        self.num_cameras
    }

    /// Adds a camera with its mask pyramid, finest level (the image) first, down to 1×1.
    pub fn push_view(
        &mut self,
        camera: &HullCamera,
        pyramid: &[MaskLevel],
    ) -> Result<(), HullError> {
        let index = self.num_cameras;
        let bad = |what: String| Err(HullError::InvalidScene(format!("camera {index}: {what}")));
        if pyramid.is_empty() || pyramid.len() > MAX_LEVELS {
            return bad(format!(
                "{} pyramid levels (1..={MAX_LEVELS})",
                pyramid.len()
            ));
        }
        let base = pyramid[0];
        if (base.width, base.height) != (camera.width, camera.height) {
            return bad(format!(
                "mask is {}×{} but the image is {}×{}",
                base.width, base.height, camera.width, camera.height
            ));
        }
        let top = pyramid[pyramid.len() - 1];
        if (top.width, top.height) != (1, 1) {
            return bad(format!(
                "pyramid ends at {}×{}, not 1×1",
                top.width, top.height
            ));
        }
        let numbers = camera
            .rotation
            .iter()
            .flatten()
            .chain(&camera.translation)
            .chain(&camera.intrinsics)
            .chain(&camera.distortion);
        if numbers.clone().any(|v| !v.is_finite()) {
            return bad("non-finite calibration".into());
        }
        self.cameras.extend(numbers.map(|&v| v as f32));
        self.cameras.push(camera.width as f32);
        self.cameras.push(camera.height as f32);

        let mut table = vec![0u32; LEVEL_WORDS as usize];
        table[0] = pyramid.len() as u32;
        for (k, level) in pyramid.iter().enumerate() {
            let len = level.width as usize * level.height as usize;
            if level.cells.len() != len {
                return bad(format!(
                    "pyramid level {k} has {} cells for {}×{}",
                    level.cells.len(),
                    level.width,
                    level.height
                ));
            }
            let offset = u32::try_from(self.cells)
                .ok()
                .filter(|o| o.checked_add(len as u32).is_some())
                .ok_or_else(|| HullError::InvalidScene("masks exceed 2³² pyramid cells".into()))?;
            table[1 + 3 * k] = offset;
            table[2 + 3 * k] = level.width;
            table[3 + 3 * k] = level.height;
            self.pack(level.cells);
        }
        self.levels.extend(table);
        self.num_cameras += 1;
        Ok(())
    }

    /// Appends 2-bit cells to the packed words.
    fn pack(&mut self, cells: &[u8]) {
        for &c in cells {
            let slot = (self.cells % 16) as u32;
            if slot == 0 {
                self.words.push(0);
            }
            *self.words.last_mut().expect("a word was pushed") |= u32::from(c & 3) << (2 * slot);
            self.cells += 1;
        }
    }
}

/// When a point counts as inside (as `yakumo_train::carve::Rule`, with the fraction rule as a
/// table so the GPU decides exactly as the CPU).
#[derive(Clone, Debug, PartialEq)]
pub struct HullRule {
    /// Most cameras that may see background at an inside point.
    pub tolerance: u32,
    /// Fewest cameras that must see an inside point.
    pub min_seen: u32,
    /// `needed[s]`: fewest covering cameras among `s` seeing ones; one entry per `s` from 0 to
    /// the camera count.
    pub needed: Vec<u32>,
}

/// What [`GpuHull::test`] decides per cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HullTest {
    /// The conservative footprint test of whole cells: 0 outside, 1 inside, 2 boundary.
    Cells,
    /// The point test of cell centres: 1 inside, 0 outside.
    Centres,
}

/// A frame's scene uploaded to a device, ready to test cells.
pub struct GpuHull<R: Runtime> {
    client: ComputeClient<R>,
    cameras: Handle,
    levels: Handle,
    masks: Handle,
    needed: Handle,
    lengths: [usize; 4],
    num_cameras: u32,
    tolerance: u32,
    min_seen: u32,
}

impl<R: Runtime> GpuHull<R> {
    /// Uploads `scene` and `rule` to `device`.
    pub fn new(device: &R::Device, scene: &HullScene, rule: &HullRule) -> Result<Self, HullError> {
        if scene.num_cameras == 0 {
            return Err(HullError::InvalidScene("no cameras".into()));
        }
        if rule.needed.len() != scene.num_cameras as usize + 1 {
            return Err(HullError::InvalidRule(format!(
                "{} fraction-table entries for {} cameras (need one per camera count 0..={})",
                rule.needed.len(),
                scene.num_cameras,
                scene.num_cameras
            )));
        }
        let client = R::client(device);
        // A device buffer cannot be empty.
        let words: &[u32] = if scene.words.is_empty() {
            &[0]
        } else {
            &scene.words
        };
        Ok(GpuHull {
            cameras: client.create_from_slice(f32::as_bytes(&scene.cameras)),
            levels: client.create_from_slice(u32::as_bytes(&scene.levels)),
            masks: client.create_from_slice(u32::as_bytes(words)),
            needed: client.create_from_slice(u32::as_bytes(&rule.needed)),
            lengths: [
                scene.cameras.len(),
                scene.levels.len(),
                words.len(),
                rule.needed.len(),
            ],
            client,
            num_cameras: scene.num_cameras,
            tolerance: rule.tolerance,
            min_seen: rule.min_seen,
        })
    }

    /// Tests the cells `origin + (cell + ½)·size ± ½·size` (integer cell coordinates at one
    /// level of the refinement) in one launch; one result per cell, see [`HullTest`].
    pub fn test(
        &self,
        cells: &[[u32; 3]],
        origin: [f64; 3],
        size: f64,
        test: HullTest,
    ) -> Result<Vec<u32>, HullError> {
        let n = cells.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let client = &self.client;
        let flat: Vec<u32> = cells.iter().flatten().copied().collect();
        let input = client.create_from_slice(u32::as_bytes(&flat));
        let out = client.empty(n * size_of::<u32>());
        let dim = CubeDim::new(client, n);
        let count = calculate_cube_count_elemwise(client, n, dim);
        let [cameras, levels, masks, needed] = self.lengths;
        // SAFETY: every array argument is a handle of exactly the length given, and the kernel
        // indexes only within them (cells by `ABSOLUTE_POS < n`, tables by camera and level).
        unsafe {
            hull_kernel::launch_unchecked::<R>(
                client,
                count,
                dim,
                ArrayArg::from_raw_parts(input, 3 * n),
                ArrayArg::from_raw_parts(self.cameras.clone(), cameras),
                ArrayArg::from_raw_parts(self.levels.clone(), levels),
                ArrayArg::from_raw_parts(self.masks.clone(), masks),
                ArrayArg::from_raw_parts(self.needed.clone(), needed),
                ArrayArg::from_raw_parts(out.clone(), n),
                n as u32,
                self.num_cameras,
                origin[0] as f32,
                origin[1] as f32,
                origin[2] as f32,
                size as f32,
                self.tolerance,
                self.min_seen,
                test == HullTest::Centres,
            );
        }
        let bytes = client
            .read_one(out)
            .map_err(|e| HullError::Readback(format!("{e:?}")))?;
        Ok(u32::from_bytes(&bytes)[..n].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera(width: u32, height: u32) -> HullCamera {
        HullCamera {
            rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            translation: [0.0, 0.0, 2.0],
            intrinsics: [100.0, 0.0, 1.5, 100.0, 0.5],
            distortion: [0.0; 5],
            width,
            height,
        }
    }

    #[test]
    fn cells_pack_two_bits_each_across_cameras() {
        let mut scene = HullScene::new();
        // 4×2 → 2×1 → 1×1, then a second camera 1×1.
        let base = [1u8, 3, 0, 2, 3, 3, 1, 0];
        let pyramid = [
            MaskLevel {
                width: 4,
                height: 2,
                cells: &base,
            },
            MaskLevel {
                width: 2,
                height: 1,
                cells: &[1, 1],
            },
            MaskLevel {
                width: 1,
                height: 1,
                cells: &[1],
            },
        ];
        scene.push_view(&camera(4, 2), &pyramid).unwrap();
        scene
            .push_view(
                &camera(1, 1),
                &[MaskLevel {
                    width: 1,
                    height: 1,
                    cells: &[3],
                }],
            )
            .unwrap();
        assert_eq!(scene.cameras(), 2);
        let cells: Vec<u32> = (0..12)
            .map(|i| scene.words[i / 16] >> (2 * (i % 16)) & 3)
            .collect();
        assert_eq!(cells, [1, 3, 0, 2, 3, 3, 1, 0, 1, 1, 1, 3]);
        let table = &scene.levels[LEVEL_WORDS as usize..];
        assert_eq!(&table[..4], &[1, 11, 1, 1]);
        assert_eq!(&scene.levels[..10], &[3, 0, 4, 2, 8, 2, 1, 10, 1, 1]);
        assert_eq!(scene.cameras.len(), 2 * CAMERA_FLOATS);
        assert_eq!(scene.cameras[11], 2.0);
        assert_eq!(scene.cameras[CAMERA_FLOATS - 2], 4.0);
    }

    #[test]
    fn bad_scenes_and_rules_are_refused() {
        let mut scene = HullScene::new();
        let one = [MaskLevel {
            width: 1,
            height: 1,
            cells: &[0],
        }];
        let err = scene.push_view(&camera(2, 1), &one).unwrap_err();
        assert!(
            err.to_string().contains("mask is 1×1 but the image is 2×1"),
            "{err}"
        );
        let short = [MaskLevel {
            width: 2,
            height: 1,
            cells: &[0, 1],
        }];
        let err = scene.push_view(&camera(2, 1), &short).unwrap_err();
        assert!(err.to_string().contains("not 1×1"), "{err}");
        let wrong = [
            MaskLevel {
                width: 2,
                height: 1,
                cells: &[0],
            },
            MaskLevel {
                width: 1,
                height: 1,
                cells: &[0],
            },
        ];
        let err = scene.push_view(&camera(2, 1), &wrong).unwrap_err();
        assert!(err.to_string().contains("level 0 has 1 cells"), "{err}");
        let mut nan = camera(1, 1);
        nan.translation[2] = f64::NAN;
        let err = scene.push_view(&nan, &one).unwrap_err();
        assert!(err.to_string().contains("non-finite"), "{err}");
        assert_eq!(scene.cameras(), 0);

        // A rule for no cameras: refused with no cameras, and with one (it needs two entries).
        let rule = HullRule {
            tolerance: 1,
            min_seen: 1,
            needed: vec![0],
        };
        let upload = |scene: &HullScene| {
            GpuHull::<cubecl::wgpu::WgpuRuntime>::new(&Default::default(), scene, &rule)
                .err()
                .unwrap()
        };
        assert_eq!(upload(&scene), HullError::InvalidScene("no cameras".into()));
        scene.push_view(&camera(1, 1), &one).unwrap();
        let err = upload(&scene);
        assert!(matches!(err, HullError::InvalidRule(_)), "{err}");
    }
}
