//! Writes the small clip the OpenXR test plays: a 1.65 m figure (z up, metres) with a blue
//! body and a red head that sways, 30 frames at 30 fps. The head is a sphere, so its image
//! centroid is the projection of its centre: the test compares the two eyes' head centroids
//! against the disparity the IPD and focal length predict.
//!
//! `cargo run -p yakumo-player --example xr_test_clip -- OUT.yk4d`

use std::f64::consts::TAU;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use yakumo_core::clip::{ClipHeaderParams, ClipWriter, FramePoints};

/// Head centre height and radius, metres.
const HEAD: (f64, f64) = (1.52, 0.13);
/// Body (a cylinder from the floor) radius and height, metres.
const BODY: (f64, f64) = (0.15, 1.36);
const FRAMES: u32 = 30;
const FPS: f64 = 30.0;
/// Colour of the head points; the test finds the head by it.
const HEAD_COLOUR: [f32; 3] = [0.95, 0.08, 0.05];
const BODY_COLOUR: [f32; 3] = [0.10, 0.30, 0.90];

/// Points evenly spread on a unit sphere (golden-angle spiral).
fn sphere(n: usize) -> impl Iterator<Item = [f64; 3]> {
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    (0..n).map(move |i| {
        let z = 1.0 - 2.0 * (i as f64 + 0.5) / n as f64;
        let r = (1.0 - z * z).sqrt();
        let a = golden * i as f64;
        [r * a.cos(), r * a.sin(), z]
    })
}

fn frame(index: u32) -> FramePoints {
    let sway = 0.03 * (TAU * index as f64 / FRAMES as f64).sin();
    let mut f = FramePoints::default();
    let mut push = |p: [f64; 3], radius: f32, colour: [f32; 3]| {
        f.positions.push(p.map(|v| v as f32));
        f.radii.push(radius);
        f.densities.push(0.95);
        f.colors.push(colour);
    };
    for s in sphere(1500) {
        let p = [sway + HEAD.1 * s[0], HEAD.1 * s[1], HEAD.0 + HEAD.1 * s[2]];
        push(p, 0.02, HEAD_COLOUR);
    }
    let (rings, around) = (40, 36);
    for i in 0..rings {
        let z = BODY.1 * (i as f64 + 0.5) / rings as f64;
        for j in 0..around {
            let a = TAU * j as f64 / around as f64;
            let lean = sway * z / BODY.1;
            push(
                [lean + BODY.0 * a.cos(), BODY.0 * a.sin(), z],
                0.025,
                BODY_COLOUR,
            );
        }
    }
    f
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out] = args.as_slice() else {
        bail!("usage: xr_test_clip OUT.yk4d");
    };
    let out = PathBuf::from(out);
    let mut w = ClipWriter::create(&out, ClipHeaderParams::new(FPS, 0, FRAMES))
        .with_context(|| format!("creating {}", out.display()))?;
    for i in 0..FRAMES {
        w.write_frame(&frame(i))?;
    }
    let info = w.finish()?;
    eprintln!(
        "wrote {} ({} frames, bounds {:?}..{:?})",
        out.display(),
        info.frame_count,
        info.bounds_min,
        info.bounds_max
    );
    Ok(())
}
