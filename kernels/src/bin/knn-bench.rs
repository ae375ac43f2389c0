//! Times the K-nearest point rasteriser and the differentiable compositing on a synthetic
//! subject-like scene.
//!
//! `knn-bench --backend cuda --json` rasterises 250k points into a 1024×1024 K-buffer (K = 15) after a
//! warm-up, syncing the device after every repetition, and prints median/min/max wall times; then
//! it times compositing that K-buffer forward, and forward + backward through burn's autodiff,
//! and compares both with the bandwidth floor (the bytes they must touch at the device's measured
//! copy bandwidth).

use std::time::Instant;

use anyhow::{Result, bail};
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use clap::{Parser, ValueEnum};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use yakumo_kernels::knn::rasterize_knn_cpu;
use yakumo_kernels::{KnnBackend, KnnOptions, composite, rasterize_knn};

/// Backend to run on.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum BackendKind {
    /// burn-wgpu (Vulkan/Metal/DX12; lavapipe without a GPU).
    Wgpu,
    /// burn-cuda (needs the `cuda` feature and an NVIDIA driver).
    Cuda,
}

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Benchmark the tile-binned K-nearest point rasteriser")]
struct Args {
    /// Backend to run on.
    #[arg(long, value_enum, default_value = "wgpu")]
    backend: BackendKind,
    /// Number of points.
    #[arg(long, default_value_t = 250_000)]
    points: usize,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1024)]
    width: usize,
    /// Image height in pixels.
    #[arg(long, default_value_t = 1024)]
    height: usize,
    /// Layers per pixel.
    #[arg(long, default_value_t = 15)]
    k: usize,
    /// Smallest screen radius in pixels.
    #[arg(long, default_value_t = 0.5)]
    r_min: f32,
    /// Largest screen radius in pixels.
    #[arg(long, default_value_t = 4.0)]
    r_max: f32,
    /// Untimed repetitions first.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Timed repetitions.
    #[arg(long, default_value_t = 50)]
    reps: usize,
    /// Scene seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also compare the last result with the CPU reference and report differing pixels.
    #[arg(long)]
    check: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Host copy of the synthetic scene.
struct Scene {
    centers: Vec<f32>,
    depths: Vec<f32>,
    radii: Vec<f32>,
}

/// Points filling an upright ellipse (a standing person seen from a few metres) with depths in
/// 2.5..3.5 m, so that pixels inside have a depth complexity of roughly K or more.
fn make_scene(args: &Args) -> Scene {
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let (w, h) = (args.width as f32, args.height as f32);
    let mut s = Scene {
        centers: Vec::with_capacity(args.points * 2),
        depths: Vec::with_capacity(args.points),
        radii: Vec::with_capacity(args.points),
    };
    while s.depths.len() < args.points {
        let (ex, ey): (f32, f32) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
        if ex * ex + ey * ey > 1.0 {
            continue;
        }
        s.centers.push(w * 0.5 + ex * w * 0.22);
        s.centers.push(h * 0.5 + ey * h * 0.45);
        s.depths.push(rng.random_range(2.5..3.5));
        s.radii.push(rng.random_range(args.r_min..=args.r_max));
    }
    s
}

/// Timing summary in milliseconds.
struct Timings {
    median: f64,
    min: f64,
    max: f64,
}

fn summarise(mut ms: Vec<f64>) -> Timings {
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let median = if n % 2 == 1 {
        ms[n / 2]
    } else {
        0.5 * (ms[n / 2 - 1] + ms[n / 2])
    };
    Timings {
        median,
        min: ms[0],
        max: ms[n - 1],
    }
}

/// Runs `work` `warmup` times, then times `reps` runs, each ending with a device sync.
fn time_reps<B: Backend>(
    args: &Args,
    device: &B::Device,
    mut work: impl FnMut() -> Result<()>,
) -> Result<Timings> {
    let sync = || B::sync(device).map_err(|e| anyhow::anyhow!("device sync: {e:?}"));
    for _ in 0..args.warmup {
        work()?;
    }
    sync()?;
    let mut times = Vec::with_capacity(args.reps);
    for _ in 0..args.reps {
        let start = Instant::now();
        work()?;
        sync()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(summarise(times))
}

/// Floats in the bandwidth probe (64 MiB: larger than the H100's L2, within every device's
/// largest buffer).
const COPY_FLOATS: usize = 16 << 20;

/// Compositing times (ms) of the K-buffer `ids` and the device's copy bandwidth (GB/s).
struct CompositeTimings {
    forward: Timings,
    forward_backward: Timings,
    copy_gbps: f64,
    forward_bytes: f64,
    backward_bytes: f64,
}

/// Times compositing `ids` (`[H·W·K]`, −1 empty) of the scene forward on `B` and forward +
/// backward on `Autodiff<B>`, and measures copy bandwidth with a 64 MiB tensor copy.
fn time_composite<B: KnnBackend>(
    args: &Args,
    scene: &Scene,
    ids: &[i32],
    device: &B::Device,
) -> Result<CompositeTimings> {
    let (n, h, w, k) = (args.points, args.height, args.width, args.k);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0xC0);
    let density: Vec<f32> = (0..n).map(|_| rng.random_range(0.3..1.0)).collect();
    let colors: Vec<f32> = (0..n * 3).map(|_| rng.random_range(0.0..1.0)).collect();
    let ids64: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    fn upload<C: Backend, const D: usize>(
        v: &[f32],
        shape: [usize; D],
        d: &C::Device,
    ) -> Tensor<C, D> {
        Tensor::from_data(TensorData::new(v.to_vec(), shape), d)
    }
    let ids_t = |d: &B::Device| {
        Tensor::<B, 3, Int>::from_data(TensorData::new(ids64.clone(), [h, w, k]), d)
    };

    let ids_b = ids_t(device);
    let (c, r, a, col) = (
        upload::<B, 2>(&scene.centers, [n, 2], device),
        upload::<B, 1>(&scene.radii, [n], device),
        upload::<B, 1>(&density, [n], device),
        upload::<B, 2>(&colors, [n, 3], device),
    );
    let forward = time_reps::<B>(args, device, || {
        let out = composite(ids_b.clone(), c.clone(), r.clone(), a.clone(), col.clone())?;
        drop(out);
        Ok(())
    })?;

    type Ad<C> = Autodiff<C>;
    let ids_ad =
        Tensor::<Ad<B>, 3, Int>::from_data(TensorData::new(ids64.clone(), [h, w, k]), device);
    let (c, r, a, col) = (
        upload::<Ad<B>, 2>(&scene.centers, [n, 2], device).require_grad(),
        upload::<Ad<B>, 1>(&scene.radii, [n], device).require_grad(),
        upload::<Ad<B>, 1>(&density, [n], device).require_grad(),
        upload::<Ad<B>, 2>(&colors, [n, 3], device).require_grad(),
    );
    let forward_backward = time_reps::<B>(args, device, || {
        let out = composite(ids_ad.clone(), c.clone(), r.clone(), a.clone(), col.clone())?;
        let loss = out.color.sum() + out.alpha.sum();
        let grads = loss.backward();
        // Keep every gradient alive until the sync, so all of the backward pass is timed.
        let held = [c.grad(&grads), r.grad(&grads).map(|g| g.reshape([n, 1]))];
        drop(held);
        Ok(())
    })?;

    let big = Tensor::<B, 1>::ones([COPY_FLOATS], device);
    let copy = time_reps::<B>(args, device, || {
        drop(big.clone().add_scalar(1.0));
        Ok(())
    })?;
    let copy_gbps = 2.0 * (COPY_FLOATS * 4) as f64 / (copy.median * 1e-3) / 1e9;
    // Floors: read the K-buffer and the per-point inputs, write the image; the backward pass reads
    // the K-buffer, the inputs and the image gradient again and writes the per-point gradients.
    let (pixels, points) = ((h * w) as f64, n as f64);
    let kbuf = pixels * k as f64 * 4.0;
    let point_bytes = points * 7.0 * 4.0;
    let image = pixels * 4.0 * 4.0;
    Ok(CompositeTimings {
        forward,
        forward_backward,
        copy_gbps,
        forward_bytes: kbuf + point_bytes + image,
        backward_bytes: kbuf + 2.0 * point_bytes + image,
    })
}

fn run<B: KnnBackend>(args: &Args, device: B::Device) -> Result<()> {
    if args.reps == 0 {
        bail!("--reps must be at least 1");
    }
    let options = KnnOptions {
        height: args.height,
        width: args.width,
        k: args.k,
        near: 0.0,
    };
    options.validate()?;
    let scene = make_scene(args);
    let n = args.points;
    let centers =
        Tensor::<B, 2>::from_data(TensorData::new(scene.centers.clone(), [n, 2]), &device);
    let depths = Tensor::<B, 1>::from_data(TensorData::new(scene.depths.clone(), [n]), &device);
    let radii = Tensor::<B, 1>::from_data(TensorData::new(scene.radii.clone(), [n]), &device);
    let t = time_reps::<B>(args, &device, || {
        rasterize_knn(centers.clone(), depths.clone(), radii.clone(), options)?;
        Ok(())
    })?;
    let out = rasterize_knn(centers.clone(), depths.clone(), radii.clone(), options)?;
    let ids: Vec<i32> = out
        .ids
        .into_data()
        .convert::<i32>()
        .into_vec()
        .map_err(|e| anyhow::anyhow!("reading ids: {e:?}"))?;
    let filled = ids.iter().filter(|&&i| i >= 0).count();
    let full_pixels = ids
        .chunks_exact(args.k)
        .filter(|layers| layers[args.k - 1] >= 0)
        .count();

    let mismatched = if args.check {
        let centers: Vec<[f32; 2]> = scene
            .centers
            .chunks_exact(2)
            .map(|c| [c[0], c[1]])
            .collect();
        let cpu = rasterize_knn_cpu(&centers, &scene.depths, &scene.radii, &options)?;
        Some(
            ids.chunks_exact(args.k)
                .zip(cpu.ids.chunks_exact(args.k))
                .filter(|(a, b)| a != b)
                .count(),
        )
    } else {
        None
    };

    let comp = time_composite::<B>(args, &scene, &ids, &device)?;
    let floor_ms = |bytes: f64| bytes / (comp.copy_gbps * 1e9) * 1e3;
    let (fwd_floor, bwd_floor) = (
        floor_ms(comp.forward_bytes),
        floor_ms(comp.forward_bytes + comp.backward_bytes),
    );

    let name = B::name(&device);
    if args.json {
        let report = serde_json::json!({
            "bench": "rasterize_knn",
            "backend": name,
            "points": n,
            "width": args.width,
            "height": args.height,
            "k": args.k,
            "r_px": [args.r_min, args.r_max],
            "warmup": args.warmup,
            "reps": args.reps,
            "median_ms": t.median,
            "min_ms": t.min,
            "max_ms": t.max,
            "filled_layers": filled,
            "pixels_with_k_layers": full_pixels,
            "pixels_differing_from_cpu": mismatched,
            "composite_forward_median_ms": comp.forward.median,
            "composite_forward_backward_median_ms": comp.forward_backward.median,
            "copy_bandwidth_gbps": comp.copy_gbps,
            "composite_forward_floor_ms": fwd_floor,
            "composite_forward_backward_floor_ms": bwd_floor,
            "composite_forward_over_floor": comp.forward.median / fwd_floor,
            "composite_forward_backward_over_floor": comp.forward_backward.median / bwd_floor,
        });
        println!("{report}");
    } else {
        println!(
            "rasterize_knn on {name}: {n} points, {}x{}, K={}: median {:.3} ms (min {:.3}, max {:.3}) over {} reps",
            args.width, args.height, args.k, t.median, t.min, t.max, args.reps
        );
        println!(
            "filled layers {filled}, pixels with all {} layers filled {full_pixels}",
            args.k
        );
        if let Some(m) = mismatched {
            println!("pixels whose layers differ from the CPU reference: {m}");
        }
        println!(
            "composite forward: median {:.3} ms (min {:.3}), {:.1}× the floor of {:.3} ms",
            comp.forward.median,
            comp.forward.min,
            comp.forward.median / fwd_floor,
            fwd_floor
        );
        println!(
            "composite forward + backward: median {:.3} ms (min {:.3}), {:.1}× the floor of {:.3} ms",
            comp.forward_backward.median,
            comp.forward_backward.min,
            comp.forward_backward.median / bwd_floor,
            bwd_floor
        );
        println!("copy bandwidth {:.0} GB/s", comp.copy_gbps);
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    match args.backend {
        BackendKind::Wgpu => run::<yakumo_kernels::WgpuBackend>(&args, Default::default()),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => run::<yakumo_kernels::CudaBackend>(&args, Default::default()),
        #[cfg(not(feature = "cuda"))]
        BackendKind::Cuda => bail!("this binary was built without the `cuda` feature"),
    }
}
