//! Times the K-nearest point rasteriser on a synthetic subject-like scene.
//!
//! `knn-bench --backend cuda --json` rasterises 250k points into a 1024×1024 K-buffer (K = 15) after a
//! warm-up, syncing the device after every repetition, and prints median/min/max wall times.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::tensor::{Tensor, TensorData};
use clap::{Parser, ValueEnum};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use yakumo_kernels::knn::rasterize_knn_cpu;
use yakumo_kernels::{KnnBackend, KnnOptions, rasterize_knn};

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
    let sync =
        |device: &B::Device| B::sync(device).map_err(|e| anyhow::anyhow!("device sync: {e:?}"));

    for _ in 0..args.warmup {
        rasterize_knn(centers.clone(), depths.clone(), radii.clone(), options)?;
    }
    sync(&device)?;
    let mut times = Vec::with_capacity(args.reps);
    let mut last = None;
    for _ in 0..args.reps {
        let start = Instant::now();
        let out = rasterize_knn(centers.clone(), depths.clone(), radii.clone(), options)?;
        sync(&device)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        last = Some(out);
    }
    let t = summarise(times);
    let out = last.context("no repetition ran")?;
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
