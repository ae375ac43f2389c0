//! The 4D feature grid: six dense 2D planes (xy, xz, yz, xt, yt, zt), each at several
//! resolutions. A point's feature is, per level, the sum over the six planes of the bilinearly
//! interpolated plane features; the levels are concatenated.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand_chacha::ChaCha8Rng;

use super::host_uniform;
use yakumo_kernels::{GradSum, KnnBackend, gather_rows};

/// The axis pairs of the six planes (0 = x, 1 = y, 2 = z, 3 = t).
pub const PLANES: [(usize, usize); 6] = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)];

/// Dense planes of learnable features, every plane of every level stacked in one table (one
/// gather per lookup instead of one per plane and corner).
#[derive(Module, Debug)]
pub struct FeatureGrid<B: Backend> {
    /// `[Σ res_b · res_a, features]`: plane `level * 6 + p` occupies the rows from its
    /// [`PlaneLayout::offset`], row-major over (b, a).
    table: Param<Tensor<B, 2>>,
}

/// Where one plane lives in the stacked table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaneLayout {
    /// Axis along the plane's rows (0 = x, 1 = y, 2 = z, 3 = t).
    pub a: usize,
    /// Axis along its columns.
    pub b: usize,
    /// Resolution along `a`.
    pub res_a: usize,
    /// Resolution along `b`.
    pub res_b: usize,
    /// First row of the plane in the table.
    pub offset: usize,
}

/// The shape of a [`FeatureGrid`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GridShape {
    /// Spatial resolution of each level.
    pub levels: Vec<usize>,
    /// Resolution along time (at most each level's spatial resolution).
    pub time: usize,
    /// Features per level.
    pub features: usize,
}

impl GridShape {
    /// Resolution of `axis` at `level`.
    pub fn res(&self, level: usize, axis: usize) -> usize {
        if axis == 3 {
            self.time.min(self.levels[level]).max(2)
        } else {
            self.levels[level]
        }
    }

    /// Length of a point's feature vector.
    pub fn feature_len(&self) -> usize {
        self.levels.len() * self.features
    }

    /// Every plane in table order (level-major, [`PLANES`] order within a level).
    pub fn layout(&self) -> Vec<PlaneLayout> {
        let mut offset = 0;
        let mut planes = Vec::with_capacity(self.levels.len() * PLANES.len());
        for level in 0..self.levels.len() {
            for (a, b) in PLANES {
                let (res_a, res_b) = (self.res(level, a), self.res(level, b));
                planes.push(PlaneLayout {
                    a,
                    b,
                    res_a,
                    res_b,
                    offset,
                });
                offset += res_a * res_b;
            }
        }
        planes
    }

    /// Rows of the stacked table.
    pub fn rows(&self) -> usize {
        self.layout()
            .last()
            .map_or(0, |p| p.offset + p.res_a * p.res_b)
    }
}

impl<B: Backend> FeatureGrid<B> {
    /// Planes initialised uniformly in ±`scale`, drawn from `rng` on the host.
    pub fn new(
        shape: &GridShape,
        scale: f32,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> FeatureGrid<B> {
        FeatureGrid {
            table: Param::from_tensor(host_uniform(
                rng,
                [shape.rows(), shape.features],
                scale,
                device,
            )),
        }
    }
}

impl<B: KnnBackend> FeatureGrid<B> {
    /// Features `[N, levels·features]` of points at normalised coordinates `coords` `[N, 4]`
    /// (x, y, z, t in 0..1; outside values are clamped to the border): per level, the sum over
    /// its six planes of the bilinearly interpolated plane features; the levels concatenated.
    /// `sum` is how the table's gradient is summed.
    pub fn lookup(&self, shape: &GridShape, coords: Tensor<B, 2>, sum: GradSum) -> Tensor<B, 2> {
        let device = coords.device();
        let n = coords.dims()[0];
        let layout = shape.layout();
        let planes = layout.len();
        // Plane coordinates in cells, [N, P]: one matmul with a scaled axis selection.
        let pick = |axis_of: fn(&PlaneLayout) -> (usize, usize)| {
            let mut m = vec![0.0f32; 4 * planes];
            for (p, plane) in layout.iter().enumerate() {
                let (axis, res) = axis_of(plane);
                m[axis * planes + p] = (res - 1) as f32;
            }
            Tensor::<B, 2>::from_data(TensorData::new(m, [4, planes]), &device)
        };
        let coords = coords.clamp(0.0, 1.0);
        let x = coords.clone().matmul(pick(|p| (p.a, p.res_a)));
        let y = coords.matmul(pick(|p| (p.b, p.res_b)));
        let row = |f: fn(&PlaneLayout) -> f32| {
            let v: Vec<f32> = layout.iter().map(f).collect();
            Tensor::<B, 2>::from_data(TensorData::new(v, [1, planes]), &device)
        };
        let stride = row(|p| p.res_a as f32);
        let offset = row(|p| p.offset as f32);
        let corners = interpolate(self.table.val(), x, y, stride, offset, sum);
        let f = shape.features;
        corners
            .reshape([n, shape.levels.len(), PLANES.len(), f])
            .sum_dim(2)
            .reshape([n, shape.levels.len() * f])
    }
}

/// Bilinear interpolation in `P` row-major tables stacked in `table` `[M, C]`: point `n` is at
/// cell coordinates `(x[n, p], y[n, p])` of table `p`, whose rows are `stride[p]` long and which
/// starts at row `offset[p]` (`x, y` `[N, P]`, within `0..=res − 1`; `stride, offset` `[1, P]`).
/// Returns `[N, P, C]`. The weights are differentiable in `x` and `y`; the cell choice is not;
/// `sum` is how the table's gradient is summed.
pub fn interpolate<B: KnnBackend>(
    table: Tensor<B, 2>,
    x: Tensor<B, 2>,
    y: Tensor<B, 2>,
    stride: Tensor<B, 2>,
    offset: Tensor<B, 2>,
    sum: GradSum,
) -> Tensor<B, 3> {
    let [n, p] = x.dims();
    let c = table.dims()[1];
    // The lower corner, never the last row or column: a coordinate on the upper border takes
    // the cell below with a fraction of 1, which interpolates to the same value.
    let lower = |t: Tensor<B, 2>| t.detach().mul_scalar(1.0 - 1e-6).floor().clamp_min(0.0);
    let (x0, y0) = (lower(x.clone()), lower(y.clone()));
    let fx = (x - x0.clone()).clamp(0.0, 1.0);
    let fy = (y - y0.clone()).clamp(0.0, 1.0);
    let base = y0 * stride.clone() + x0 + offset;
    let ids = Tensor::stack::<3>(
        vec![
            base.clone(),
            base.clone().add_scalar(1.0),
            base.clone() + stride.clone(),
            (base + stride).add_scalar(1.0),
        ],
        2,
    )
    .int()
    .reshape([n * p * 4]);
    let (gx, gy) = (
        fx.clone().neg().add_scalar(1.0),
        fy.clone().neg().add_scalar(1.0),
    );
    let weights = Tensor::stack::<3>(
        vec![
            gx.clone() * gy.clone(),
            fx.clone() * gy,
            gx * fy.clone(),
            fx * fy,
        ],
        2,
    )
    .reshape([n, p, 4, 1]);
    (gather_rows(table, ids, sum).reshape([n, p, 4, c]) * weights)
        .sum_dim(2)
        .reshape([n, p, c])
}

/// Bilinear lookup in one `[res_v · res_u, C]` table at `u, v` in 0..1 (clamped): `[N, C]`.
pub fn bilinear<B: KnnBackend>(
    table: Tensor<B, 2>,
    u: Tensor<B, 1>,
    v: Tensor<B, 1>,
    res_u: usize,
    res_v: usize,
) -> Tensor<B, 2> {
    let n = u.dims()[0];
    let device = u.device();
    let cells = |t: Tensor<B, 1>, res: usize| {
        t.clamp(0.0, 1.0)
            .mul_scalar((res - 1) as f64)
            .reshape([n, 1])
    };
    let c = table.dims()[1];
    interpolate(
        table,
        cells(u, res_u),
        cells(v, res_v),
        Tensor::full([1, 1], res_u as f32, &device),
        Tensor::zeros([1, 1], &device),
        // Tables looked up this way (source images) take no gradient.
        GradSum::Atomic,
    )
    .reshape([n, c])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use rand::{Rng, SeedableRng};

    /// Bilinear value of `plane` at cell coordinates `(x, y)`, written out on the host.
    fn host_bilinear(table: &[f32], c: usize, plane: &PlaneLayout, x: f32, y: f32) -> Vec<f32> {
        let x0 = (x.floor() as usize).min(plane.res_a - 2);
        let y0 = (y.floor() as usize).min(plane.res_b - 2);
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let at = |i: usize, j: usize, k: usize| {
            table[(plane.offset + (y0 + j) * plane.res_a + x0 + i) * c + k]
        };
        (0..c)
            .map(|k| {
                (1.0 - fy) * ((1.0 - fx) * at(0, 0, k) + fx * at(1, 0, k))
                    + fy * ((1.0 - fx) * at(0, 1, k) + fx * at(1, 1, k))
            })
            .collect()
    }

    #[test]
    fn lookup_matches_a_host_bilinear_inside_and_on_the_borders() {
        let shape = GridShape {
            levels: vec![4, 9],
            time: 3,
            features: 2,
        };
        let device = Default::default();
        let rng = &mut ChaCha8Rng::seed_from_u64(5);
        let grid = FeatureGrid::<NdArray>::new(&shape, 1.0, rng, &device);
        let table: Vec<f32> = grid.table.val().into_data().to_vec().unwrap();
        let mut coords: Vec<[f32; 4]> = (0..40)
            .map(|_| std::array::from_fn(|_| rng.random_range(-0.1..1.1f32)))
            .collect();
        coords.push([0.0, 1.0, 0.0, 1.0]);
        coords.push([1.0, 1.0, 1.0, 0.5]);
        let n = coords.len();
        let flat: Vec<f32> = coords.iter().flatten().copied().collect();
        let got: Vec<f32> = grid
            .lookup(
                &shape,
                Tensor::from_data(TensorData::new(flat, [n, 4]), &device),
                GradSum::Atomic,
            )
            .into_data()
            .to_vec()
            .unwrap();
        let layout = shape.layout();
        assert_eq!(shape.rows(), table.len() / 2);
        for (i, c) in coords.iter().enumerate() {
            let c = c.map(|v| v.clamp(0.0, 1.0));
            for level in 0..2 {
                let mut want = [0.0f32; 2];
                for plane in &layout[level * 6..level * 6 + 6] {
                    let x = c[plane.a] * (plane.res_a - 1) as f32;
                    let y = c[plane.b] * (plane.res_b - 1) as f32;
                    for (w, v) in want.iter_mut().zip(host_bilinear(&table, 2, plane, x, y)) {
                        *w += v;
                    }
                }
                for k in 0..2 {
                    let g = got[i * 4 + level * 2 + k];
                    assert!(
                        (g - want[k]).abs() < 1e-4,
                        "point {i} {c:?} level {level} feature {k}: {g} vs {}",
                        want[k]
                    );
                }
            }
        }
    }
}
