//! The GPU rasteriser (burn-wgpu; lavapipe in CI: `VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json`)
//! must reproduce the CPU reference K-buffer exactly.

use burn::backend::Autodiff;
use burn::backend::wgpu::WgpuDevice;
use burn::tensor::{Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use yakumo_kernels::knn::rasterize_knn_cpu;
use yakumo_kernels::{KnnBackend, KnnError, KnnOptions, WgpuBackend, rasterize_knn};

/// A point set on the host.
#[derive(Default)]
struct Scene {
    centers: Vec<[f32; 2]>,
    depths: Vec<f32>,
    radii: Vec<f32>,
}

impl Scene {
    fn push(&mut self, x: f32, y: f32, z: f32, r: f32) {
        self.centers.push([x, y]);
        self.depths.push(z);
        self.radii.push(r);
    }

    /// Random points on a quarter-pixel grid (exact boundary cases, many equal depths), some behind
    /// the camera, some partly or fully off-screen.
    fn random(rng: &mut ChaCha8Rng, n: usize, width: usize, height: usize, max_r: f32) -> Self {
        let mut s = Scene::default();
        let q = |v: f32| (v * 4.0).round() / 4.0;
        for _ in 0..n {
            s.push(
                q(rng.random_range(-8.0..width as f32 + 8.0)),
                q(rng.random_range(-8.0..height as f32 + 8.0)),
                q(rng.random_range(-1.0..4.0)),
                q(rng.random_range(0.0..max_r)),
            );
        }
        s
    }

    fn tensors<B: KnnBackend>(
        &self,
        device: &B::Device,
    ) -> (Tensor<B, 2>, Tensor<B, 1>, Tensor<B, 1>) {
        let n = self.depths.len();
        let flat: Vec<f32> = self.centers.iter().flatten().copied().collect();
        (
            Tensor::from_data(TensorData::new(flat, [n, 2]), device),
            Tensor::from_data(TensorData::new(self.depths.clone(), [n]), device),
            Tensor::from_data(TensorData::new(self.radii.clone(), [n]), device),
        )
    }
}

/// Rasterises on backend `B` and asserts the K-buffer equals the CPU reference; returns the number
/// of filled layers (so callers can check the scene was not trivially empty).
fn assert_matches_cpu<B: KnnBackend>(
    scene: &Scene,
    options: KnnOptions,
    device: &B::Device,
) -> usize {
    let (c, d, r) = scene.tensors::<B>(device);
    let got = rasterize_knn(c, d, r, options).expect("rasterise");
    let dims = [options.height, options.width, options.k];
    assert_eq!(got.ids.dims(), dims);
    assert_eq!(got.depths.dims(), dims);
    let ids: Vec<i32> = got.ids.into_data().convert::<i32>().into_vec().unwrap();
    let depths: Vec<f32> = got.depths.into_data().convert::<f32>().into_vec().unwrap();
    let want = rasterize_knn_cpu(&scene.centers, &scene.depths, &scene.radii, &options).unwrap();
    if let Some(at) = (0..ids.len()).find(|&i| ids[i] != want.ids[i]) {
        let (pixel, layer) = (at / options.k, at % options.k);
        panic!(
            "pixel ({}, {}) layer {layer}: gpu ids {:?}, cpu ids {:?}",
            pixel % options.width,
            pixel / options.width,
            &ids[pixel * options.k..(pixel + 1) * options.k],
            &want.ids[pixel * options.k..(pixel + 1) * options.k],
        );
    }
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&depths), bits(&want.depths));
    ids.iter().filter(|&&i| i >= 0).count()
}

fn device() -> WgpuDevice {
    WgpuDevice::default()
}

#[test]
fn random_scenes_with_ties_match_cpu() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for (width, height, n, k, max_r) in [
        (37, 53, 300, 4, 6.0),
        (64, 48, 1500, 15, 4.0),
        (19, 70, 80, 2, 12.0),
        (100, 1, 60, 3, 3.0),
    ] {
        let scene = Scene::random(&mut rng, n, width, height, max_r);
        let options = KnnOptions {
            height,
            width,
            k,
            near: 0.0,
        };
        let filled = assert_matches_cpu::<WgpuBackend>(&scene, options, &device());
        assert!(filled > 0, "scene {width}x{height} rendered nothing");
    }
}

#[test]
fn unquantised_random_floats_match_cpu() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut scene = Scene::default();
    for _ in 0..800 {
        scene.push(
            rng.random_range(-5.0..70.0),
            rng.random_range(-5.0..50.0),
            rng.random_range(0.05..3.0),
            rng.random_range(0.1..5.0),
        );
    }
    let options = KnnOptions {
        height: 45,
        width: 66,
        k: 6,
        near: 0.1,
    };
    assert!(assert_matches_cpu::<WgpuBackend>(&scene, options, &device()) > 0);
}

#[test]
fn k_larger_than_coverage_leaves_empty_layers() {
    let mut scene = Scene::default();
    scene.push(5.0, 5.0, 2.0, 2.0);
    scene.push(6.0, 5.0, 1.0, 2.0);
    let options = KnnOptions {
        height: 12,
        width: 12,
        k: 8,
        near: 0.0,
    };
    let filled = assert_matches_cpu::<WgpuBackend>(&scene, options, &device());
    // A disc of radius 2 around an integer centre covers 9 pixel centres (strictly inside).
    assert_eq!(filled, 18);
}

#[test]
fn large_radii_spanning_many_tiles_match_cpu() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut scene = Scene::random(&mut rng, 200, 90, 70, 3.0);
    scene.push(45.0, 35.0, 1.5, 60.0);
    scene.push(-20.0, 10.0, 0.75, 50.0);
    scene.push(80.25, 60.5, 2.0, 41.0);
    scene.push(45.0, 35.0, 1.5, 100.0);
    let options = KnnOptions {
        height: 70,
        width: 90,
        k: 5,
        near: 0.0,
    };
    assert!(assert_matches_cpu::<WgpuBackend>(&scene, options, &device()) > 0);
}

#[test]
fn crowded_tile_needs_several_shared_memory_batches() {
    // 1000 points over one 16x16 tile: the tile list is ~4 batches of 256.
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut scene = Scene::default();
    for _ in 0..1000 {
        scene.push(
            rng.random_range(0..16) as f32,
            rng.random_range(0..16) as f32,
            rng.random_range(1..20) as f32 * 0.5,
            rng.random_range(1..12) as f32 * 0.5,
        );
    }
    let options = KnnOptions {
        height: 20,
        width: 20,
        k: 15,
        near: 0.0,
    };
    let filled = assert_matches_cpu::<WgpuBackend>(&scene, options, &device());
    assert!(filled > 16 * 16 * 10);
}

#[test]
fn empty_and_fully_culled_scenes_give_empty_buffers() {
    let options = KnnOptions {
        height: 17,
        width: 33,
        k: 3,
        near: 0.5,
    };
    assert_eq!(
        assert_matches_cpu::<WgpuBackend>(&Scene::default(), options, &device()),
        0
    );
    let mut culled = Scene::default();
    culled.push(10.0, 10.0, 0.5, 3.0); // at the near plane
    culled.push(10.0, 10.0, -2.0, 3.0); // behind the camera
    culled.push(-10.0, 10.0, 1.0, 3.0); // off-screen
    culled.push(10.0, 10.0, 1.0, 0.0); // zero radius
    culled.push(f32::NAN, 10.0, 1.0, 3.0);
    culled.push(10.0, 10.0, 1.0, f32::INFINITY);
    assert_eq!(
        assert_matches_cpu::<WgpuBackend>(&culled, options, &device()),
        0
    );
}

#[test]
fn autodiff_and_ndarray_backends_agree_with_cpu() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let scene = Scene::random(&mut rng, 150, 30, 20, 5.0);
    let options = KnnOptions {
        height: 20,
        width: 30,
        k: 4,
        near: 0.0,
    };
    assert!(assert_matches_cpu::<Autodiff<WgpuBackend>>(&scene, options, &device()) > 0);
    assert!(assert_matches_cpu::<burn::backend::NdArray>(&scene, options, &Default::default()) > 0);
}

#[test]
fn bad_inputs_are_rejected() {
    let dev = device();
    let centers = Tensor::<WgpuBackend, 2>::zeros([4, 3], &dev);
    let depth = Tensor::<WgpuBackend, 1>::zeros([4], &dev);
    let options = KnnOptions {
        height: 8,
        width: 8,
        k: 2,
        near: 0.0,
    };
    let err = rasterize_knn(centers, depth.clone(), depth.clone(), options).unwrap_err();
    assert_eq!(err, KnnError::CentersShape(vec![4, 3]));
    let centers = Tensor::<WgpuBackend, 2>::zeros([4, 2], &dev);
    let short = Tensor::<WgpuBackend, 1>::zeros([3], &dev);
    let err = rasterize_knn(centers.clone(), depth.clone(), short, options).unwrap_err();
    assert!(matches!(err, KnnError::LengthMismatch { radii: 3, .. }));
    let bad_k = KnnOptions { k: 0, ..options };
    let err = rasterize_knn(centers, depth.clone(), depth, bad_k).unwrap_err();
    assert!(matches!(err, KnnError::InvalidOptions(_)));
}

/// The gather's GPU backward kernel (one thread per point over its footprint) gives the same
/// per-point gradient sums as a plain host scatter, on random scenes with ties, culled points and
/// points partly off-screen.
#[test]
fn gather_backward_kernel_matches_the_host_scatter() {
    use burn::tensor::Int;
    use yakumo_kernels::gather_layers;
    type Ad = Autodiff<WgpuBackend>;
    let device = WgpuDevice::default();
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let (w, h, k, c) = (40usize, 28usize, 4usize, 5usize);
    let scene = Scene::random(&mut rng, 300, w, h, 5.0);
    let n = scene.depths.len();
    let options = KnnOptions {
        height: h,
        width: w,
        k,
        near: 0.0,
    };
    let (centers, depths, radii) = scene.tensors::<WgpuBackend>(&device);
    let ids = rasterize_knn(centers.clone(), depths, radii.clone(), options)
        .unwrap()
        .ids;
    let ids_host: Vec<i32> = ids.clone().into_data().convert::<i32>().to_vec().unwrap();
    let values: Vec<f32> = (0..n * c).map(|_| rng.random_range(-1.0..1.0)).collect();
    let upstream: Vec<f32> = (0..h * w * k * c)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();

    let v =
        Tensor::<Ad, 2>::from_data(TensorData::new(values.clone(), [n, c]), &device).require_grad();
    let footprint = Tensor::cat(vec![centers, radii.reshape([n, 1])], 1);
    let ids_ad = Tensor::<Ad, 3, Int>::from_data(ids.into_data(), &device);
    let gathered = gather_layers(v.clone(), ids_ad, Tensor::from_inner(footprint));
    let g = Tensor::<Ad, 2>::from_data(TensorData::new(upstream.clone(), [h * w * k, c]), &device);
    let grads = (gathered.clone() * g).sum().backward();
    let got: Vec<f32> = v.grad(&grads).unwrap().into_data().to_vec().unwrap();

    // Forward: every layer reads its point's row (row 0 for empty layers).
    let fwd: Vec<f32> = gathered.into_data().to_vec().unwrap();
    let mut expected = vec![0.0f64; n * c];
    let mut used = 0;
    for (e, &id) in ids_host.iter().enumerate() {
        let row = id.max(0) as usize;
        for j in 0..c {
            assert_eq!(fwd[e * c + j], values[row * c + j], "layer {e} channel {j}");
        }
        if id >= 0 {
            used += 1;
            for j in 0..c {
                expected[row * c + j] += upstream[e * c + j] as f64;
            }
        }
    }
    assert!(used > 500, "only {used} filled layers");
    assert_rows_close(&got, &expected, c, 1e-4, "point");
}

/// Asserts that every element of the `[_, c]` rows `got` is within `tolerance` of `expected`,
/// naming the row (`what` and its index) and the channel of the first that is not.
fn assert_rows_close(got: &[f32], expected: &[f64], c: usize, tolerance: f64, what: &str) {
    assert_eq!(got.len(), expected.len());
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g as f64 - e).abs() < tolerance,
            "{what} {} channel {}: {g} vs {e}",
            i / c,
            i % c
        );
    }
}

/// The row gather's GPU backward sums repeated indices like a plain host scatter, both by atomic
/// adds (float atomic or compare-and-swap) and in index order; the ordered sum repeats bit for bit.
#[test]
fn gather_rows_backward_sums_repeated_indices() {
    use burn::tensor::Int;
    use yakumo_kernels::{GradSum, gather_rows};
    type Ad = Autodiff<WgpuBackend>;
    let device = WgpuDevice::default();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (m, n, c) = (37usize, 4000usize, 3usize);
    let values: Vec<f32> = (0..m * c).map(|_| rng.random_range(-1.0..1.0)).collect();
    // Heavily repeated indices: ~108 hits per row, so the adds really contend.
    let indices: Vec<i64> = (0..n).map(|_| rng.random_range(0..m as i64)).collect();
    let upstream: Vec<f32> = (0..n * c).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut expected = vec![0.0f64; m * c];
    for (i, &row) in indices.iter().enumerate() {
        for j in 0..c {
            expected[row as usize * c + j] += upstream[i * c + j] as f64;
        }
    }
    let backward = |sum: GradSum| {
        let v = Tensor::<Ad, 2>::from_data(TensorData::new(values.clone(), [m, c]), &device)
            .require_grad();
        let idx = Tensor::<Ad, 1, Int>::from_data(TensorData::new(indices.clone(), [n]), &device);
        let gathered = gather_rows(v.clone(), idx, sum);
        let fwd: Vec<f32> = gathered.clone().into_data().to_vec().unwrap();
        for (i, &row) in indices.iter().enumerate() {
            for j in 0..c {
                assert_eq!(fwd[i * c + j], values[row as usize * c + j]);
            }
        }
        let g = Tensor::<Ad, 2>::from_data(TensorData::new(upstream.clone(), [n, c]), &device);
        let grads = (gathered * g).sum().backward();
        v.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap()
    };
    for sum in [GradSum::Atomic, GradSum::Ordered] {
        assert_rows_close(&backward(sum), &expected, c, 1e-3, &format!("{sum:?}: row"));
    }
    assert_eq!(backward(GradSum::Ordered), backward(GradSum::Ordered));
}
