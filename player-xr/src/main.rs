//! `yakumo-player`: inspect, render, benchmark and play `.yk4d` clips.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use glam::DVec3;
use yakumo_core::Camera;
use yakumo_core::clip::ClipReader;
use yakumo_core::fsutil::write_atomic;
use yakumo_player::bench::{self, BenchConfig};
use yakumo_player::cameras::{camera_from_spec, orbit, parse_range, parse_size, resized};
use yakumo_player::clipinfo::ClipSummary;
use yakumo_player::offscreen::{OFFSCREEN_FORMAT, OffscreenTarget};
use yakumo_player::render::MAX_K;
use yakumo_player::xr::{DEFAULT_DUMP_COUNT, XrOptions};
use yakumo_player::{Gpu, GpuFrame, RenderParams, RenderPath, ViewTarget, desktop, new_renderer};

#[derive(Parser)]
#[command(
    name = "yakumo-player",
    version,
    about = "Play, render and benchmark Yakumo .yk4d volumetric clips"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a clip's frame count, frame rate, points and bytes per frame and bounds.
    Info {
        /// The clip.
        clip: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Render frames to PNG files OUT/<camera>/<frame:06>.png (with --turntable, one image per
    /// camera instead: OUT/<index:06>.png, the frames of a turntable video).
    Render {
        /// The clip.
        clip: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        view: ViewArgs,
        /// Frames to render: A..B (B exclusive), A.. or A (default: all).
        #[arg(long)]
        frames: Option<String>,
        /// Background colour r,g,b in 0..1 (default: transparent black).
        #[arg(long)]
        background: Option<String>,
        /// Turntable: image i is camera i (of --orbit N) showing clip frame i, the clip looping
        /// over --frames, so that the images in order are a video of the clip playing while the
        /// viewpoint goes once round it.
        #[arg(long)]
        turntable: bool,
    },
    /// Measure frame times.
    Bench {
        /// The clip.
        clip: PathBuf,
        #[command(flatten)]
        view: ViewArgs,
        /// 1 (mono) or 2 (stereo eyes 64 mm apart, drawn as in a headset: into the two layers of
        /// one texture, in one multiview pass on the raster path where the GPU's multiview
        /// passes a self-test at start).
        #[arg(long, default_value_t = 1)]
        views: usize,
        /// With --views 2: draw each eye on its own, to compare with single-pass stereo.
        #[arg(long)]
        per_view: bool,
        /// Measured frames (after 10 warm-up frames).
        #[arg(long, default_value_t = 300)]
        frames: usize,
        /// Most clip frames held in memory; the benchmark cycles through them.
        #[arg(long, default_value_t = 60)]
        resident: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Play a clip in the headset (OpenXR) or in a desktop window.
    ///
    /// Without --xr or --desktop it plays in the headset when an OpenXR runtime with a headset
    /// is found, else on the desktop, and says which and why.
    Play {
        /// The clip.
        clip: PathBuf,
        /// Desktop window (orbit with the mouse, egui controls).
        #[arg(long, conflicts_with = "xr")]
        desktop: bool,
        /// The OpenXR headset; an error when no runtime or headset is found.
        #[arg(long)]
        xr: bool,
        /// OpenXR: end the session cleanly after N submitted frames.
        #[arg(long, value_name = "N", conflicts_with = "desktop")]
        max_frames: Option<u64>,
        /// OpenXR: write what each eye rendered (PNG, plus JSON with the views) for the first
        /// frames that show the clip into DIR.
        #[arg(long, value_name = "DIR", conflicts_with = "desktop")]
        dump_frames: Option<PathBuf>,
        /// OpenXR: how many frames --dump-frames writes.
        #[arg(long, value_name = "N", requires = "dump_frames")]
        dump_count: Option<usize>,
        /// OpenXR: print the end-of-session summary as JSON.
        #[arg(long, conflicts_with = "desktop")]
        json: bool,
        /// OpenXR: no desktop window mirroring the left eye (there is none without a display).
        #[arg(long, conflicts_with = "desktop")]
        no_mirror: bool,
        #[command(flatten)]
        view: ViewArgs,
    },
}

#[derive(clap::Args)]
struct ViewArgs {
    /// Start from a dataset camera: CALIBDIR:NAME (CALIBDIR holds intri.yml and extri.yml).
    #[arg(long)]
    camera: Option<String>,
    /// Render N cameras orbiting the clip's bounds instead.
    #[arg(long, conflicts_with = "camera")]
    orbit: Option<usize>,
    /// Image size WxH (default: the dataset camera's size, or 960x540).
    #[arg(long)]
    size: Option<String>,
    /// World up axis for orbits, x,y,z.
    #[arg(long, default_value = "0,0,1")]
    up: String,
    /// Layers per pixel (15 matches training; 11-12 is usually enough for playback).
    #[arg(long, default_value_t = 15)]
    k: u32,
    /// Renderer: compute (tile binning in compute shaders; the faster one wherever it was
    /// measured, see docs/BENCHMARKS.md) or raster (hardware depth peeling, one pass per layer).
    #[arg(long, default_value_t = RenderPath::Compute)]
    path: RenderPath,
}

impl ViewArgs {
    fn params(&self, background: [f32; 4]) -> Result<RenderParams> {
        if self.k == 0 || self.k > MAX_K {
            bail!("--k must be in 1..={MAX_K}, not {}", self.k);
        }
        Ok(RenderParams {
            k: self.k,
            background,
        })
    }

    /// The cameras to render, sized.
    fn cameras(&self, bounds: ([f32; 3], [f32; 3]), default_orbit: usize) -> Result<Vec<Camera>> {
        let size = self.size.as_deref().map(parse_size).transpose()?;
        if let Some(spec) = &self.camera {
            let cam = camera_from_spec(spec)?;
            return Ok(vec![match size {
                Some(s) => resized(&cam, s),
                None => cam,
            }]);
        }
        let up = parse_vec3(&self.up).context("--up")?;
        let n = self.orbit.unwrap_or(default_orbit);
        if n == 0 {
            bail!("--orbit needs at least one camera");
        }
        Ok(orbit(n, bounds.0, bounds.1, size.unwrap_or((960, 540)), up))
    }
}

fn parse_floats(s: &str, n: usize) -> Result<Vec<f64>> {
    let v: Vec<f64> = s
        .split(',')
        .map(|t| t.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{s:?} is not {n} comma-separated numbers"))?;
    if v.len() != n {
        bail!("{s:?} is not {n} comma-separated numbers");
    }
    Ok(v)
}

fn parse_vec3(s: &str) -> Result<DVec3> {
    let v = parse_floats(s, 3)?;
    let d = DVec3::new(v[0], v[1], v[2]);
    if d.length() == 0.0 {
        bail!("{s:?} is the zero vector");
    }
    Ok(d)
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Info { clip, json } => info(&clip, json),
        Command::Render {
            clip,
            out,
            view,
            frames,
            background,
            turntable,
        } => {
            let opts = RenderOptions {
                frames: frames.as_deref(),
                background: background.as_deref(),
                turntable,
            };
            render(&clip, &out, &view, &opts)
        }
        Command::Bench {
            clip,
            view,
            views,
            per_view,
            frames,
            resident,
            json,
        } => {
            let reader = ClipReader::open(&clip)?;
            let info = reader.info();
            let camera = view
                .cameras((info.bounds_min, info.bounds_max), 1)?
                .remove(0);
            let cfg = BenchConfig {
                camera,
                views,
                per_view,
                params: view.params([0.0; 4])?,
                path: view.path,
                frames,
                max_resident: resident,
            };
            let gpu = Gpu::headless()?;
            let report = bench::run(&gpu, &clip, &cfg)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "{} | {} {}x{} views={}{} K={} frames={} mean points={:.0}",
                    report.adapter,
                    report.path,
                    report.width,
                    report.height,
                    report.views,
                    report.stereo.map_or(String::new(), |m| format!(" ({m})")),
                    report.k,
                    report.frames,
                    report.mean_points
                );
                for (name, s) in [
                    (format!("render ({})", report.timing), &report.render),
                    ("upload".into(), &report.upload),
                    ("frame (cpu)".into(), &report.frame),
                ] {
                    println!(
                        "{name:>26}: median {:.3} ms  p95 {:.3} ms  max {:.3} ms  mean {:.3} ms",
                        s.median_ms, s.p95_ms, s.max_ms, s.mean_ms
                    );
                }
            }
            Ok(())
        }
        Command::Play {
            clip,
            desktop,
            xr,
            max_frames,
            dump_frames,
            dump_count,
            json,
            no_mirror,
            view,
        } => {
            let xr_args = XrArgs {
                forced: xr,
                max_frames,
                dump: dump_frames.map(|d| (d, dump_count.unwrap_or(DEFAULT_DUMP_COUNT))),
                json,
                no_mirror,
            };
            play(clip, desktop, xr_args, &view)
        }
    }
}

/// The OpenXR-only options of `play`.
struct XrArgs {
    forced: bool,
    max_frames: Option<u64>,
    dump: Option<(PathBuf, usize)>,
    json: bool,
    no_mirror: bool,
}

impl XrArgs {
    /// True when an option that only the headset session understands was given.
    fn any(&self) -> bool {
        self.forced
            || self.max_frames.is_some()
            || self.dump.is_some()
            || self.json
            || self.no_mirror
    }
}

/// Background behind the clip in the headset: near black, opaque.
const XR_BACKGROUND: [f32; 4] = [0.02, 0.02, 0.025, 1.0];

fn play(clip: PathBuf, desktop: bool, xr_args: XrArgs, view: &ViewArgs) -> Result<()> {
    if desktop {
        eprintln!("yakumo-player: playing on the desktop (--desktop)");
        return play_desktop(clip, view);
    }
    match yakumo_player::xr::Runtime::open() {
        Ok(rt) => {
            let why = if xr_args.forced {
                "--xr".to_owned()
            } else {
                "an OpenXR runtime with a headset is present; --desktop plays in a window"
                    .to_owned()
            };
            eprintln!(
                "yakumo-player: playing in the headset {:?} through {} ({why})",
                rt.system_name, rt.runtime_name
            );
            play_xr(&rt, clip, xr_args, view)
        }
        Err(e) if xr_args.any() => Err(anyhow::Error::new(e).context("cannot play in a headset")),
        Err(e) => {
            eprintln!("yakumo-player: playing on the desktop: {e}");
            play_desktop(clip, view)
        }
    }
}

fn play_xr(
    rt: &yakumo_player::xr::Runtime,
    clip: PathBuf,
    xr_args: XrArgs,
    view: &ViewArgs,
) -> Result<()> {
    if view.camera.is_some() || view.orbit.is_some() || view.size.is_some() {
        bail!(
            "--camera, --orbit and --size choose the desktop view; in the headset the runtime sets the views"
        );
    }
    let options = XrOptions {
        clip,
        up: parse_vec3(&view.up).context("--up")?,
        params: view.params(XR_BACKGROUND)?,
        path: view.path,
        max_frames: xr_args.max_frames,
        dump: xr_args.dump,
        mirror: !xr_args.no_mirror,
    };
    let report = yakumo_player::xr::run(rt, &options)?;
    if xr_args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    if !report.exit.clean() {
        bail!("the OpenXR session did not end cleanly: {}", report.exit);
    }
    Ok(())
}

fn play_desktop(clip: PathBuf, view: &ViewArgs) -> Result<()> {
    let start = match &view.camera {
        Some(_) => Some(view.cameras(([0.0; 3], [0.0; 3]), 1)?.remove(0)),
        None => None,
    };
    let up = parse_vec3(&view.up).context("--up")?;
    desktop::run(desktop::PlayOptions {
        clip,
        start_camera: start,
        up,
        k: view.params([0.0; 4])?.k,
        path: view.path,
    })
}

fn info(clip: &Path, json: bool) -> Result<()> {
    let reader = ClipReader::open(clip)?;
    let summary = ClipSummary::of(&reader);
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{summary}");
    }
    Ok(())
}

/// What `render` draws besides the view.
struct RenderOptions<'a> {
    /// `--frames`.
    frames: Option<&'a str>,
    /// `--background`.
    background: Option<&'a str>,
    /// `--turntable`.
    turntable: bool,
}

fn render(clip: &Path, out: &Path, view: &ViewArgs, opts: &RenderOptions<'_>) -> Result<()> {
    let mut reader = ClipReader::open(clip)?;
    let info = reader.info().clone();
    let range = match opts.frames {
        Some(s) => parse_range(s, reader.frame_count())?,
        None => 0..reader.frame_count(),
    };
    if range.is_empty() {
        bail!("--frames selects no frame of {}", clip.display());
    }
    let background = match opts.background {
        Some(s) => {
            let v = parse_floats(s, 3).context("--background")?;
            [v[0] as f32, v[1] as f32, v[2] as f32, 1.0]
        }
        None => [0.0; 4],
    };
    let params = view.params(background)?;
    let cams = view.cameras((info.bounds_min, info.bounds_max), 1)?;
    let gpu = Gpu::headless()?;
    let mut renderer = new_renderer(&gpu, view.path);
    // Each shot: a clip frame, and the cameras that see it with the file each one writes.
    let shots: Vec<(usize, Vec<(&Camera, PathBuf)>)> = if opts.turntable {
        cams.iter()
            .enumerate()
            .map(|(j, cam)| {
                let frame = range.start + j % range.len();
                (frame, vec![(cam, out.join(format!("{j:06}.png")))])
            })
            .collect()
    } else {
        range
            .clone()
            .map(|i| {
                let files = cams
                    .iter()
                    .map(|cam| (cam, out.join(&cam.name).join(format!("{i:06}.png"))))
                    .collect();
                (i, files)
            })
            .collect()
    };
    let mut loaded: Option<(usize, GpuFrame)> = None;
    for (i, files) in shots {
        match &mut loaded {
            Some((at, _)) if *at == i => {}
            Some((at, g)) => {
                g.upload(&gpu.device, &gpu.queue, &reader.read_frame(i)?)?;
                *at = i;
            }
            None => {
                let g = GpuFrame::new(&gpu.device, &gpu.queue, &reader.read_frame(i)?)?;
                loaded = Some((i, g));
            }
        }
        let (_, g) = loaded.as_ref().expect("loaded above");
        let targets: Vec<OffscreenTarget> = files
            .iter()
            .map(|(cam, _)| OffscreenTarget::new(&gpu, (cam.width, cam.height)))
            .collect();
        let views: Vec<ViewTarget<'_>> = files
            .iter()
            .zip(&targets)
            .map(|((cam, _), t)| ViewTarget {
                camera: cam,
                target: &t.view,
                format: OFFSCREEN_FORMAT,
                size: t.size(),
            })
            .collect();
        renderer.render(&gpu, g, &views, &params, None)?;
        for ((_, path), target) in files.iter().zip(&targets) {
            let mut png = Vec::new();
            target
                .read(&gpu)?
                .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)?;
            let dir = path.parent().expect("a file in a folder");
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            write_atomic(path, &png).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    eprintln!(
        "rendered frames {}..{} from {} camera(s){} into {} ({}, {})",
        range.start,
        range.end,
        cams.len(),
        if opts.turntable {
            " as a turntable"
        } else {
            ""
        },
        out.display(),
        view.path,
        gpu.describe()
    );
    Ok(())
}
