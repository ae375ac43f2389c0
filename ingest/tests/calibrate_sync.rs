//! Calibration of an unsynchronised rig from its rendered board videos, end to end: `synth`
//! renders the board tour (held poses, short moves) through cameras that started recording at
//! different instants, `yakumo-ingest calibrate` finds the offsets from the audio tracks, pairs
//! the frames on one timeline and combines only still views for the extrinsics; the offsets
//! and the cameras are compared with the truth.
//!
//! Bounds are about 2.5 × what was measured (the encoded videos are not bit-exact between
//! runs); see the calibration section of docs/BENCHMARKS.md.

use yakumo_ingest::synth::{BoardChoice, SynthOptions, run};

mod common;

/// How much later each camera starts recording, milliseconds.
const OFFSETS_MS: [f64; 8] = [0.0, 21.0, -13.0, 35.0, 8.0, -30.0, 17.0, -5.0];

#[test]
fn charuco_videos_of_an_unsynchronised_rig() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions {
        cameras: OFFSETS_MS.len(),
        frames: 1,
        width: 640,
        height: 480,
        seed: 7,
        offsets_ms: Some(OFFSETS_MS.to_vec()),
        board: BoardChoice::Charuco,
        calib_frames: 240,
        // Held poses, as a person holds a board: what calibrating without sync relies on.
        board_hold_s: Some(0.3),
        points: 1000,
        progress: false,
        ..SynthOptions::new(dir.path())
    };
    let t = std::time::Instant::now();
    run(&opts).expect("synthetic capture");
    let synth_s = t.elapsed().as_secs_f64();
    let out = dir.path().join("calibration");
    let (report, calibrate_s) = common::calibrate_board_videos(dir.path(), &out);
    let sync = &report["sync"];
    let found: Vec<f64> = sync["offsets_ms"]
        .as_array()
        .expect("the report holds the offsets")
        .iter()
        .map(|o| o.as_f64().unwrap())
        .collect();
    let still: Vec<u64> = sync["still_views"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    let truth = yakumo_core::calib::read_calibration(&dir.path().join("truth")).unwrap();
    let est = yakumo_core::calib::read_calibration(&out).unwrap();
    let e = common::errors(&est, &truth, |_| f64::INFINITY);
    let rms = report["rms_px"].as_f64().unwrap();
    let sync_error = found
        .iter()
        .zip(OFFSETS_MS)
        .map(|(f, t)| (f - t).abs())
        .fold(0.0, f64::max);
    println!(
        "{} cameras 640x480 240 frames seed 7, sync {}: offsets {found:?} ms (worst error \
         {sync_error:.2} ms), still views {still:?}; focal {:.4} %, principal {:.3} px, centres \
         {:.3} mm, rotations {:.4}°, RMS {rms:.3} px; synth {synth_s:.1} s, calibrate {calibrate_s:.1} s",
        OFFSETS_MS.len(),
        sync["method"],
        e.focal_rel * 100.0,
        e.principal_px,
        e.centre_m * 1000.0,
        e.rotation_deg,
    );
    assert_eq!(
        sync["method"], "audio",
        "board videos with audio sync by audio"
    );
    assert!(
        sync_error < 3.0,
        "audio offsets {found:?} ms, truth {OFFSETS_MS:?}"
    );
    assert!(still.iter().all(|&s| s >= 10), "still views {still:?}");
    // Measured (2026-12-01): RMS 0.144 px, centres 4.71 mm, rotations 0.103°, offsets < 0.01 ms.
    // Since the synth encodes sited chroma (2026-12-07): rotations 0.253–0.254° with the lens
    // model k1 k2 p1 p2, 0.269° where the rig-wide test adds k3 (it did for detections moved
    // by at most 0.012 px): the choice is on a knife edge for this rig, and either misses the
    // 0.05° target (docs/BENCHMARKS.md, unsynchronised rigs). With the videos at a fixed
    // quantiser (session 30): focal 0.207 %, principal point 3.16 px, centres 4.04 mm, rotations
    // 0.197°, RMS 0.105 px; the held poses give few distinct views.
    assert!(rms <= 0.36, "RMS {rms:.3} px");
    assert!(e.centre_m <= 0.012, "centres {:.2} mm", e.centre_m * 1000.0);
    assert!(e.rotation_deg <= 0.32, "rotations {:.3}°", e.rotation_deg);
}
