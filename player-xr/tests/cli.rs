//! The `yakumo-player` binary end to end: info, render and bench on a small clip.

use std::process::Command;

use yakumo_core::clip::{ClipHeaderParams, ClipWriter, FramePoints};

fn clip(path: &std::path::Path) {
    let mut w = ClipWriter::create(path, ClipHeaderParams::new(25.0, 0, 3)).unwrap();
    for f in 0..3 {
        let n = 200;
        let frame = FramePoints {
            positions: (0..n)
                .map(|i| {
                    [
                        (i % 20) as f32 * 0.05 - 0.5,
                        (i / 20) as f32 * 0.1 - 0.5,
                        f as f32 * 0.1,
                    ]
                })
                .collect(),
            radii: vec![0.05; n],
            densities: vec![0.9; n],
            colors: vec![[0.8, 0.3, 0.1]; n],
            sh_rest: Vec::new(),
        };
        w.write_frame(&frame).unwrap();
    }
    w.finish().unwrap();
}

fn player(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_yakumo-player"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn info_render_and_bench() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yk4d");
    clip(&path);
    let p = path.to_str().unwrap();

    let info: serde_json::Value = serde_json::from_str(&player(&["info", p, "--json"])).unwrap();
    assert_eq!(info["frames"], 3);
    assert_eq!(info["fps"], 25.0);
    assert_eq!(info["points_per_frame"]["max"], 200);
    assert!(info["bytes_per_frame"]["mean"].as_f64().unwrap() > 0.0);

    let out = dir.path().join("png");
    let o = out.to_str().unwrap();
    player(&[
        "render", p, "--out", o, "--orbit", "2", "--size", "40x30", "--frames", "1..3", "--path",
        "compute",
    ]);
    for cam in ["orbit000", "orbit001"] {
        for f in [1, 2] {
            let img = image::open(out.join(cam).join(format!("{f:06}.png")))
                .unwrap()
                .to_rgba8();
            assert_eq!(img.dimensions(), (40, 30));
            assert!(img.pixels().any(|p| p.0[3] > 0), "{cam}/{f} is empty");
        }
    }
    assert!(!out.join("orbit000").join("000000.png").exists());

    // A turntable: image j is orbit camera j at clip frame 1 + j mod 2 (the clip loops over
    // --frames 1..3), the very image the per-camera render above made.
    let tt = dir.path().join("turntable");
    let t = tt.to_str().unwrap();
    player(&[
        "render",
        p,
        "--out",
        t,
        "--orbit",
        "2",
        "--size",
        "40x30",
        "--frames",
        "1..3",
        "--path",
        "compute",
        "--turntable",
    ]);
    let png = |path: std::path::PathBuf| image::open(&path).unwrap().to_rgba8();
    for (j, cam) in ["orbit000", "orbit001"].iter().enumerate() {
        let frame = 1 + j % 2;
        assert_eq!(
            png(tt.join(format!("{j:06}.png"))),
            png(out.join(cam).join(format!("{frame:06}.png"))),
            "turntable image {j}"
        );
    }
    assert!(!tt.join("000002.png").exists(), "one image per camera");

    let bench: serde_json::Value = serde_json::from_str(&player(&[
        "bench", p, "--size", "32x24", "--frames", "5", "--views", "2", "--json",
    ]))
    .unwrap();
    assert_eq!(bench["frames"], 5);
    assert_eq!(bench["views"], 2);
    let median = bench["render"]["median_ms"].as_f64().unwrap();
    assert!(median > 0.0 && median <= bench["render"]["max_ms"].as_f64().unwrap());

    let bad = Command::new(env!("CARGO_BIN_EXE_yakumo-player"))
        .args(["info", "missing.yk4d"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("missing.yk4d"));
}
