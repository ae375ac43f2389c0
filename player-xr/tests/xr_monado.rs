//! Checks the runs of the OpenXR player against Monado (simulated HMD, null compositor,
//! lavapipe) that `scripts/xr-test.sh` made, one session per render path: each reached FOCUSED,
//! submitted at least 100 frames with both eyes rendered by that path, dumped eye images that
//! show the clip from two viewpoints whose disparity matches the eye separation, and exited
//! cleanly.
//!
//! Ignored in plain `cargo test` because it needs that run's results; `scripts/xr-test.sh`
//! (called by `scripts/test.sh`) runs it with `YAKUMO_XR_RESULTS=DIR`, and it fails, never
//! skips, when they are missing.

use std::path::{Path, PathBuf};

use glam::{DQuat, DVec3};
use serde_json::Value;
use yakumo_core::clip::ClipReader;

fn results() -> PathBuf {
    PathBuf::from(
        std::env::var("YAKUMO_XR_RESULTS")
            .expect("YAKUMO_XR_RESULTS=DIR (the results of scripts/xr-test.sh) is not set"),
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn vec3(v: &Value) -> DVec3 {
    let a: Vec<f64> = serde_json::from_value(v.clone()).expect("[x, y, z]");
    DVec3::new(a[0], a[1], a[2])
}

fn quat(v: &Value) -> DQuat {
    let a: Vec<f64> = serde_json::from_value(v.clone()).expect("[x, y, z, w]");
    DQuat::from_xyzw(a[0], a[1], a[2], a[3])
}

/// Centroid of the red head in an eye image, weighted by how red each pixel is, and the weight.
fn red_centroid(img: &image::RgbaImage) -> (f64, f64, f64) {
    let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
    for (x, y, p) in img.enumerate_pixels() {
        let [r, g, b, _] = p.0.map(|c| c as f64 / 255.0);
        let w = (r - g.max(b)).max(0.0);
        sx += w * x as f64;
        sy += w * y as f64;
        sw += w;
    }
    (sx / sw.max(1e-9), sy / sw.max(1e-9), sw)
}

/// Where a reference-space point lands in an eye image, straight from the OpenXR view (pose and
/// FOV tangents), independent of the player's camera conversion.
fn project_xr(eye: &Value, p: DVec3) -> (f64, f64, f64) {
    let pos = vec3(&eye["pose"]["position"]);
    let q = quat(&eye["pose"]["orientation"]);
    let v = q.inverse() * (p - pos); // view space: x right, y up, −z forward
    let depth = -v.z;
    let fov = &eye["fov"];
    let f = |k: &str| fov[k].as_f64().expect("fov angle").tan();
    let (w, h) = (
        eye["camera"]["size"][0].as_f64().unwrap(),
        eye["camera"]["size"][1].as_f64().unwrap(),
    );
    let u = (v.x / depth - f("left")) / (f("right") - f("left")) * w - 0.5;
    let vv = (f("up") - v.y / depth) / (f("up") - f("down")) * h - 0.5;
    (u, vv, depth)
}

#[test]
#[ignore = "needs the results of a Monado run: scripts/xr-test.sh runs it"]
fn the_player_runs_a_stereo_session_on_monado_with_each_render_path() {
    let results = results();
    for path in ["compute", "raster"] {
        println!("--- {path} path");
        check_session(&results, &results.join(path), path);
    }
}

/// Checks one session's results in `dir`, drawn by the render `path`; `results` holds the clip
/// and Monado's log.
fn check_session(results: &Path, dir: &Path, path: &str) {
    let rc = read(&dir.join("player.rc"));
    let log = read(&dir.join("player.log"));
    assert_eq!(
        rc.trim(),
        "0",
        "the player failed; the end of its log:\n{}",
        log.lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let summary: Value =
        serde_json::from_str(&read(&dir.join("summary.json"))).expect("summary JSON");
    assert_eq!(
        summary["render_path"], path,
        "the session drew with another path"
    );
    // The root's lavapipe (Mesa 25) passes the multiview self-test, so the raster path draws both
    // eyes in one pass into the array swapchain; the compute path draws them one after the other.
    let stereo = if path == "raster" {
        "multiview"
    } else {
        "per-view"
    };
    assert_eq!(summary["stereo"], stereo, "stereo drawn another way");
    println!(
        "summary: {}",
        serde_json::to_string_pretty(&summary).unwrap()
    );

    let states: Vec<String> = serde_json::from_value(summary["states_reached"].clone()).unwrap();
    for s in [
        "IDLE",
        "READY",
        "SYNCHRONIZED",
        "VISIBLE",
        "FOCUSED",
        "STOPPING",
        "EXITING",
    ] {
        assert!(
            states.iter().any(|x| x == s),
            "state {s} never reached: {states:?}"
        );
    }
    for s in &states {
        assert!(
            log.contains(&format!("OpenXR session state: {s}")),
            "{s} missing from the log"
        );
    }
    let submitted = summary["frames_submitted"].as_u64().unwrap();
    assert!(submitted >= 100, "only {submitted} frames submitted");
    assert!(summary["frames_with_clip"].as_u64().unwrap() >= 90);
    assert_eq!(summary["exit"]["kind"], "requested", "{}", summary["exit"]);
    assert_eq!(summary["eye_resolution"], summary["recommended_resolution"]);
    // scripts/xr-test.sh gives the player a virtual display when Xvfb is installed: then the
    // desktop mirror must have shown (nearly) every submitted frame.
    let mirrored = summary["mirror_frames"].as_u64().unwrap();
    if std::env::var("YAKUMO_XR_MIRROR").is_ok_and(|v| v == "1") {
        assert!(
            log.contains("desktop mirror window open"),
            "no mirror window on the virtual display"
        );
        assert!(
            mirrored * 10 >= submitted * 9,
            "the mirror showed {mirrored} of {submitted} frames"
        );
    } else {
        assert_eq!(mirrored, 0, "a mirror without a display");
    }
    let monado = read(&results.join("monado.log"));
    assert!(
        monado.to_lowercase().contains("connected"),
        "monado never saw the client:\n{monado}"
    );

    // The clip's head centre, per clip frame, in clip coordinates.
    let mut clip = ClipReader::open(results.join("figure.yk4d")).expect("the test clip");
    let dumps = dir.join("dump");
    let dumped: Vec<u64> = serde_json::from_value(summary["dumped_frames"].clone()).unwrap();
    assert!(!dumped.is_empty(), "no frames dumped");
    println!("frame | measured disparity px | predicted px | fx·IPD/Z px | IPD mm | depth m");
    for frame in dumped {
        let stem = format!("frame_{frame:06}");
        let rec: Value = serde_json::from_str(&read(&dumps.join(format!("{stem}.json")))).unwrap();
        let clip_frame = rec["clip_frame"].as_u64().unwrap() as usize;
        let points = clip.read_frame(clip_frame).unwrap();
        let head: Vec<DVec3> = points
            .positions
            .iter()
            .zip(&points.colors)
            .filter(|(_, c)| c[0] > 0.5 && c[1] < 0.3)
            .map(|(p, _)| DVec3::new(p[0] as f64, p[1] as f64, p[2] as f64))
            .collect();
        let centre_clip = head.iter().sum::<DVec3>() / head.len() as f64;
        let t = &rec["clip_to_space"];
        let centre = quat(&t["rotation"]) * centre_clip * t["scale"].as_f64().unwrap()
            + vec3(&t["translation"]);

        let eyes = rec["eyes"].as_array().unwrap();
        assert_eq!(eyes.len(), 2);
        let imgs: Vec<image::RgbaImage> = eyes
            .iter()
            .map(|e| {
                image::open(dumps.join(e["image"].as_str().unwrap()))
                    .expect("eye image")
                    .to_rgba8()
            })
            .collect();
        assert_ne!(
            imgs[0].as_raw(),
            imgs[1].as_raw(),
            "both eyes show the same image"
        );
        let measured: Vec<(f64, f64, f64)> = imgs.iter().map(red_centroid).collect();
        for (e, m) in eyes.iter().zip(&measured) {
            assert!(
                m.2 > 20.0,
                "{} eye of frame {frame} shows no head",
                e["eye"]
            );
            let [w, h] = [0, 1].map(|i| e["camera"]["size"][i].as_u64().unwrap() as u32);
            assert_eq!(imgs[0].dimensions(), (w, h));
        }
        let predicted: Vec<(f64, f64, f64)> = eyes.iter().map(|e| project_xr(e, centre)).collect();
        let d_measured = measured[0].0 - measured[1].0;
        let d_predicted = predicted[0].0 - predicted[1].0;
        let ipd =
            (vec3(&eyes[1]["pose"]["position"]) - vec3(&eyes[0]["pose"]["position"])).length();
        let fx = eyes[0]["camera"]["k"][0][0].as_f64().unwrap();
        let depth = (predicted[0].2 + predicted[1].2) * 0.5;
        println!(
            "{frame:5} | {d_measured:21.2} | {d_predicted:12.2} | {:11.2} | {:6.1} | {depth:7.3}",
            fx * ipd / depth,
            ipd * 1e3
        );
        assert!(
            ipd > 0.04 && ipd < 0.08,
            "eye separation {ipd} m is not a human IPD"
        );
        assert!(
            d_predicted > 0.5,
            "the eyes should see the head shifted ({d_predicted} px)"
        );
        assert!(
            (d_measured - d_predicted).abs() <= (0.1 * d_predicted.abs()).max(1.0),
            "frame {frame}: measured disparity {d_measured:.2} px, predicted {d_predicted:.2} px"
        );
        assert!(
            (measured[0].1 - predicted[0].1).abs() < 3.0
                && (measured[0].0 - predicted[0].0).abs() < 3.0,
            "left eye: head at ({:.1}, {:.1}), predicted ({:.1}, {:.1})",
            measured[0].0,
            measured[0].1,
            predicted[0].0,
            predicted[0].1
        );
    }
}
