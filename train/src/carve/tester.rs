//! Who tests the cells of a refinement level: every CPU core ([`CpuTester`]) or a GPU kernel of
//! the kernels crate ([`GpuTester`], CUDA or wgpu). Both answer the same questions
//! ([`classify_cell`], [`point_inside`]) for a whole level at once.

use glam::DVec3;
use rayon::prelude::*;
use yakumo_kernels::hull::{GpuHull, HullCamera, HullRule, HullScene, HullTest, MaskLevel};

use super::classify::{CellClass, Rule, View, classify_cell, point_inside};
use super::error::CarveError;

/// A cell at some level of the refinement, as integer coordinates at that level.
pub type Cell = [u32; 3];

/// Where the cell tests run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HullDevice {
    /// Every CPU core ([`CpuTester`]).
    Cpu,
    /// wgpu's default adapter ([`WgpuTester`]).
    Wgpu,
    /// The first CUDA device ([`CudaTester`]).
    #[cfg(feature = "cuda")]
    Cuda,
}

impl HullDevice {
    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            HullDevice::Cpu => "the CPU",
            HullDevice::Wgpu => "wgpu",
            #[cfg(feature = "cuda")]
            HullDevice::Cuda => "CUDA",
        }
    }

    /// A tester of `views` under `rule` on this device (GPU testers upload the views now).
    pub fn tester<'a>(
        self,
        views: &'a [View],
        rule: Rule,
    ) -> Result<Box<dyn CellTester + 'a>, CarveError> {
        Ok(match self {
            HullDevice::Cpu => Box::new(CpuTester::new(views, rule)),
            HullDevice::Wgpu => Box::new(WgpuTester::new(views, &rule)?),
            #[cfg(feature = "cuda")]
            HullDevice::Cuda => Box::new(CudaTester::new(views, &rule)?),
        })
    }
}

/// Tests the cells `origin + (cell + ½)·size ± ½·size` of one refinement level.
pub trait CellTester {
    /// The conservative class of every cell ([`classify_cell`]).
    fn classify(
        &self,
        cells: &[Cell],
        origin: DVec3,
        size: f64,
    ) -> Result<Vec<CellClass>, CarveError>;

    /// Whether every cell's centre is inside the hull ([`point_inside`]).
    fn centres_inside(
        &self,
        cells: &[Cell],
        origin: DVec3,
        size: f64,
    ) -> Result<Vec<bool>, CarveError>;
}

/// The centre of `cell` at a level of cells of edge `size` from `origin`.
fn centre(origin: DVec3, size: f64, cell: &Cell) -> DVec3 {
    origin + (DVec3::from_array(cell.map(f64::from)) + 0.5) * size
}

/// The cell tests on every CPU core (rayon).
pub struct CpuTester<'a> {
    views: &'a [View],
    rule: Rule,
}

impl<'a> CpuTester<'a> {
    /// Tests against `views` under `rule`.
    pub fn new(views: &'a [View], rule: Rule) -> CpuTester<'a> {
        CpuTester { views, rule }
    }
}

impl CellTester for CpuTester<'_> {
    fn classify(
        &self,
        cells: &[Cell],
        origin: DVec3,
        size: f64,
    ) -> Result<Vec<CellClass>, CarveError> {
        Ok(cells
            .par_iter()
            .map(|c| classify_cell(self.views, centre(origin, size, c), 0.5 * size, &self.rule))
            .collect())
    }

    fn centres_inside(
        &self,
        cells: &[Cell],
        origin: DVec3,
        size: f64,
    ) -> Result<Vec<bool>, CarveError> {
        Ok(cells
            .par_iter()
            .map(|c| point_inside(self.views, centre(origin, size, c), &self.rule))
            .collect())
    }
}

/// The cell tests as one kernel launch per level on a CubeCL runtime (the views are uploaded
/// once, when the tester is made).
pub struct GpuTester<R: cubecl::Runtime> {
    hull: GpuHull<R>,
}

/// The GPU test on wgpu (Vulkan, Metal, DX12).
pub type WgpuTester = GpuTester<cubecl::wgpu::WgpuRuntime>;
/// The GPU test on CUDA.
#[cfg(feature = "cuda")]
pub type CudaTester = GpuTester<cubecl::cuda::CudaRuntime>;

impl<R: cubecl::Runtime> GpuTester<R> {
    /// Uploads `views` and `rule` to the runtime's default device.
    pub fn new(views: &[View], rule: &Rule) -> Result<GpuTester<R>, CarveError> {
        let mut scene = HullScene::new();
        for view in views {
            let cam = &view.camera;
            let r = cam.r;
            let camera = HullCamera {
                rotation: [0, 1, 2].map(|i| r.row(i).to_array()),
                translation: cam.t.to_array(),
                intrinsics: [cam.fx(), cam.skew(), cam.cx(), cam.fy(), cam.cy()],
                distortion: [
                    cam.dist.k1,
                    cam.dist.k2,
                    cam.dist.p1,
                    cam.dist.p2,
                    cam.dist.k3,
                ],
                width: cam.width,
                height: cam.height,
            };
            let pyramid: Vec<MaskLevel> = view
                .mask
                .levels()
                .map(|(width, height, cells)| MaskLevel {
                    width,
                    height,
                    cells,
                })
                .collect();
            scene
                .push_view(&camera, &pyramid)
                .map_err(|e| CarveError::Gpu(format!("camera {}: {e}", cam.name)))?;
        }
        let hull = GpuHull::new(&Default::default(), &scene, &hull_rule(rule, views.len()))
            .map_err(|e| CarveError::Gpu(e.to_string()))?;
        Ok(GpuTester { hull })
    }

    fn test(
        &self,
        cells: &[Cell],
        origin: DVec3,
        size: f64,
        test: HullTest,
    ) -> Result<Vec<u32>, CarveError> {
        self.hull
            .test(cells, origin.to_array(), size, test)
            .map_err(|e| CarveError::Gpu(e.to_string()))
    }
}

impl<R: cubecl::Runtime> CellTester for GpuTester<R> {
    fn classify(
        &self,
        cells: &[Cell],
        origin: DVec3,
        size: f64,
    ) -> Result<Vec<CellClass>, CarveError> {
        let codes = self.test(cells, origin, size, HullTest::Cells)?;
        Ok(codes
            .into_iter()
            .map(|c| match c {
                0 => CellClass::Outside,
                1 => CellClass::Inside,
                _ => CellClass::Boundary,
            })
            .collect())
    }

    fn centres_inside(
        &self,
        cells: &[Cell],
        origin: DVec3,
        size: f64,
    ) -> Result<Vec<bool>, CarveError> {
        let codes = self.test(cells, origin, size, HullTest::Centres)?;
        Ok(codes.into_iter().map(|c| c == 1).collect())
    }
}

/// `rule` for the kernel: the fraction test `covered ≥ min_fraction · seen` as a table of the
/// fewest covering cameras per seeing count, so f32 on the GPU decides exactly as f64 here.
fn hull_rule(rule: &Rule, cameras: usize) -> HullRule {
    let needed = (0..=cameras)
        .map(|seen| {
            (0..=seen)
                .find(|&c| c as f64 >= rule.min_fraction * seen as f64)
                .unwrap_or(seen + 1) as u32
        })
        .collect();
    HullRule {
        tolerance: rule.tolerance.min(u32::MAX as usize) as u32,
        min_seen: rule.min_seen.min(u32::MAX as usize) as u32,
        needed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fraction_table_decides_as_the_rule() {
        for min_fraction in [0.0, 0.3, 0.7, 0.75, 0.9, 1.0] {
            let rule = Rule {
                tolerance: 2,
                min_seen: 1,
                min_fraction,
            };
            let table = hull_rule(&rule, 40);
            assert_eq!(table.needed.len(), 41);
            for seen in 0..=40usize {
                for covered in 0..=seen {
                    let by_rule = covered as f64 >= min_fraction * seen as f64;
                    let by_table = covered as u32 >= table.needed[seen];
                    assert_eq!(by_rule, by_table, "{min_fraction} {covered}/{seen}");
                }
            }
        }
    }
}
