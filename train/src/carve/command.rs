//! The `yakumo-train carve` subcommand: carve every selected frame of a dataset into
//! `POINTS_DIR/<frame:06>.ply`, skipping frames already written.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use glam::DVec3;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use yakumo_core::ply::write_ply;

use super::dataset::{load_views, open_dataset};
use super::frame::StageSeconds;
use super::frame::{CarveSettings, DEFAULT_MIN_PART_SEEN, carve_frame};
use super::hull::Aabb;
use super::parts::PartStats;
use super::tester::HullDevice;
use crate::fit::backend::{BackendChoice, cuda_unavailable};

/// Arguments of `yakumo-train carve`.
#[derive(Clone, Debug, clap::Args)]
pub struct CarveArgs {
    /// Dataset root (EasyVolcap layout with yakumo.toml).
    pub dataset: PathBuf,
    /// Output directory for one `<frame:06>.ply` per frame.
    #[arg(long)]
    pub out: PathBuf,
    /// Finest voxel edge in metres.
    #[arg(long, default_value_t = 0.002)]
    pub voxel: f64,
    /// Points sampled on each frame's surface.
    #[arg(long, default_value_t = 200_000)]
    pub points: usize,
    /// Frames to carve: `A..B` (B excluded), `A..=B` or a single frame; default all.
    #[arg(long, value_parser = parse_frames)]
    pub frames: Option<(u32, u32)>,
    /// Most cameras that may see background at an inside voxel (default: 1 per 20 cameras, at
    /// least 1).
    #[arg(long)]
    pub tolerance: Option<usize>,
    /// Fewest cameras that must see an inside voxel (default: half the rig, 2 to 16).
    #[arg(long)]
    pub min_seen: Option<usize>,
    /// Keep a connected part of the hull only when some voxel of it is seen by at least this
    /// fraction of the cameras that see the best-seen part: drops the phantom volumes that sparse
    /// rigs carve where few cameras look (0 keeps every part).
    #[arg(long, default_value_t = DEFAULT_MIN_PART_SEEN)]
    pub min_part_seen: f64,
    /// Carving bounds `xmin,ymin,zmin,xmax,ymax,zmax` in metres (default: derived from the rig).
    #[arg(long, value_parser = parse_bounds)]
    pub bounds: Option<Aabb>,
    /// Where the visual hull's cell tests run: `auto` takes CUDA, else a hardware wgpu adapter,
    /// else every CPU core (the rest of carving always runs on the CPU).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Print a JSON summary on stdout instead of a line per frame.
    #[arg(long)]
    pub json: bool,
}

/// The device `choice` carves on.
pub fn hull_device(choice: BackendChoice) -> anyhow::Result<HullDevice> {
    match choice.resolve() {
        BackendChoice::Cpu | BackendChoice::Auto => Ok(HullDevice::Cpu),
        BackendChoice::Wgpu => Ok(HullDevice::Wgpu),
        BackendChoice::Cuda => {
            if let Some(why) = cuda_unavailable() {
                bail!(why);
            }
            #[cfg(feature = "cuda")]
            return Ok(HullDevice::Cuda);
            #[cfg(not(feature = "cuda"))]
            unreachable!("without the cuda feature CUDA is always unavailable")
        }
    }
}

/// Parses `A..B`, `A..=B` or `N` into the inclusive-exclusive range `[A, B)`.
pub fn parse_frames(s: &str) -> Result<(u32, u32), String> {
    let num = |t: &str| {
        t.trim()
            .parse::<u32>()
            .map_err(|_| format!("`{t}` is not a frame number"))
    };
    let (a, b) = if let Some((a, b)) = s.split_once("..=") {
        (
            num(a)?,
            num(b)?.checked_add(1).ok_or("frame number too large")?,
        )
    } else if let Some((a, b)) = s.split_once("..") {
        (num(a)?, num(b)?)
    } else {
        let n = num(s)?;
        (n, n.checked_add(1).ok_or("frame number too large")?)
    };
    if a >= b {
        return Err(format!("frame range `{s}` is empty"));
    }
    Ok((a, b))
}

/// Parses `xmin,ymin,zmin,xmax,ymax,zmax`.
fn parse_bounds(s: &str) -> Result<Aabb, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|t| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| format!("`{t}` is not a number"))
        })
        .collect::<Result<_, _>>()?;
    let [x0, y0, z0, x1, y1, z1] = v[..] else {
        return Err(format!(
            "expected 6 comma-separated numbers, got {}",
            v.len()
        ));
    };
    if !(x0 < x1 && y0 < y1 && z0 < z1) {
        return Err("every minimum must be below its maximum".into());
    }
    Ok(Aabb {
        min: DVec3::new(x0, y0, z0),
        max: DVec3::new(x1, y1, z1),
    })
}

/// Per-frame line of the summary.
#[derive(Debug, Serialize)]
struct FrameSummary {
    frame: u32,
    /// `"carved"` or `"skipped"` (already written).
    status: &'static str,
    points: usize,
    inside_voxels: usize,
    /// Connected parts of the hull, and those dropped as phantoms.
    #[serde(flatten)]
    parts: PartStats,
    cavities_filled: usize,
    outlier_faces: usize,
    seconds: f64,
    /// Where the time went (zero for skipped frames).
    stages: StageSeconds,
}

/// The `--json` summary.
#[derive(Debug, Serialize)]
struct Summary {
    dataset: PathBuf,
    out: PathBuf,
    voxel_size: f64,
    /// Where the cell tests ran.
    device: HullDevice,
    cameras: usize,
    tolerance: usize,
    min_seen: usize,
    min_part_seen: f64,
    frames: Vec<FrameSummary>,
    seconds: f64,
}

/// `POINTS_DIR/<frame:06>.ply`.
pub fn points_path(dir: &Path, frame: u32) -> PathBuf {
    dir.join(format!("{frame:06}.ply"))
}

/// Runs `yakumo-train carve`.
pub fn run(args: &CarveArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let dataset = open_dataset(&args.dataset)?;
    let cameras = dataset.cameras().len();
    let mut settings = CarveSettings::for_camera_count(cameras);
    settings.voxel = args.voxel;
    settings.points = args.points;
    settings.bounds = args.bounds;
    settings.device = hull_device(args.backend)?;
    if let Some(t) = args.tolerance {
        settings.rule.tolerance = t;
    }
    if let Some(m) = args.min_seen {
        if m == 0 || m > cameras {
            bail!("--min-seen {m} must be between 1 and the camera count {cameras}");
        }
        settings.rule.min_seen = m;
    }
    if !(0.0..=1.0).contains(&args.min_part_seen) {
        bail!(
            "--min-part-seen {} must be a fraction between 0 and 1",
            args.min_part_seen
        );
    }
    settings.min_part_seen = args.min_part_seen;
    if !(args.voxel > 0.0 && args.voxel.is_finite()) {
        bail!("--voxel {} must be a positive size in metres", args.voxel);
    }
    let frames: Vec<u32> = dataset
        .frames()
        .filter(|f| args.frames.is_none_or(|(a, b)| (a..b).contains(f)))
        .collect();
    if frames.is_empty() {
        bail!(
            "no frame of {} lies in the selected range",
            args.dataset.display()
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let mut summaries = Vec::new();
    for &frame in &frames {
        let frame_start = Instant::now();
        let path = points_path(&args.out, frame);
        if path.is_file() {
            summaries.push(FrameSummary {
                frame,
                status: "skipped",
                points: 0,
                inside_voxels: 0,
                parts: PartStats::default(),
                cavities_filled: 0,
                outlier_faces: 0,
                seconds: 0.0,
                stages: StageSeconds::default(),
            });
            continue;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "frame {prefix} {bar:30} {pos}/{len} levels {msg} {elapsed}",
            )
            .expect("valid template"),
        );
        bar.set_prefix(format!("{frame:06}"));
        bar.set_message("loading masks");
        let views = load_views(&dataset, frame)?;
        bar.set_message("carving");
        settings.seed = u64::from(frame);
        let carved = carve_frame(&views, &settings, &mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .with_context(|| format!("frame {frame} of {}", args.dataset.display()))?;
        bar.set_message("writing");
        write_ply(&path, &carved.point_cloud())?;
        bar.finish_and_clear();
        let summary = FrameSummary {
            frame,
            status: "carved",
            points: carved.points.len(),
            inside_voxels: carved.inside_voxels,
            parts: carved.parts.clone(),
            cavities_filled: carved.cavities_filled,
            outlier_faces: carved.outlier_faces,
            seconds: frame_start.elapsed().as_secs_f64(),
            stages: carved.seconds.clone(),
        };
        if !args.json {
            println!(
                "frame {frame:06}: {} points, {} inside voxels ({} phantom part(s) of {} voxels dropped), {:.1} s (hull {:.1} s on {}) → {}",
                summary.points,
                summary.inside_voxels,
                summary.parts.dropped_parts,
                summary.parts.dropped_voxels,
                summary.seconds,
                summary.stages.hull,
                settings.device.name(),
                path.display()
            );
        }
        summaries.push(summary);
    }
    let skipped = summaries.iter().filter(|s| s.status == "skipped").count();
    if args.json {
        let summary = Summary {
            dataset: args.dataset.clone(),
            out: args.out.clone(),
            voxel_size: settings.voxel,
            device: settings.device,
            cameras,
            tolerance: settings.rule.tolerance,
            min_seen: settings.rule.min_seen,
            min_part_seen: settings.min_part_seen,
            frames: summaries,
            seconds: start.elapsed().as_secs_f64(),
        };
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if skipped > 0 {
        println!(
            "{skipped} frame(s) already carved in {}, skipped",
            args.out.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ranges() {
        assert_eq!(parse_frames("3..7"), Ok((3, 7)));
        assert_eq!(parse_frames("3..=7"), Ok((3, 8)));
        assert_eq!(parse_frames("12"), Ok((12, 13)));
        assert!(parse_frames("7..3").unwrap_err().contains("empty"));
        assert!(parse_frames("a..3").unwrap_err().contains("`a`"));
    }

    #[test]
    fn bounds() {
        let b = parse_bounds("-1,-1,0, 1,1,2").unwrap();
        assert_eq!(b.min, DVec3::new(-1.0, -1.0, 0.0));
        assert_eq!(b.max, DVec3::new(1.0, 1.0, 2.0));
        assert!(parse_bounds("0,0,0,1,1").unwrap_err().contains("6"));
        assert!(parse_bounds("0,0,0,1,-1,1").unwrap_err().contains("below"));
    }
}
