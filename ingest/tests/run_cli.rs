//! `yakumo-ingest run` on bad inputs, through the command line: each case exits non-zero with a
//! message naming the file (or camera) and the problem, and leaves nothing behind in `--out`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use yakumo_ingest::media::{EncodeSettings, Fps, VideoEncoder};
use yakumo_ingest::synth::{SynthOptions, SynthSummary};

/// A 2-camera, 160×120, 25 fps capture shared by every case.
fn capture() -> &'static SynthSummary {
    static CAPTURE: OnceLock<SynthSummary> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("run-cli-capture");
        let _ = std::fs::remove_dir_all(&dir);
        yakumo_ingest::synth::run(&SynthOptions {
            cameras: 2,
            frames: 3,
            width: 160,
            height: 120,
            fps: 25.0,
            seed: 3,
            calib_frames: 1,
            points: 100,
            progress: false,
            ..SynthOptions::new(&dir)
        })
        .expect("synthetic capture")
    })
}

/// A fresh directory holding copies of the capture's videos.
fn videos(case: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join(case);
    std::fs::create_dir(&videos).unwrap();
    for v in &capture().videos {
        std::fs::copy(v, videos.join(v.file_name().unwrap())).unwrap();
    }
    (dir, videos)
}

/// Runs `yakumo-ingest run --videos VIDEOS --calib TRUTH --out OUT --sync none`.
fn ingest(videos: &[&Path], out: &Path) -> std::process::Output {
    ingest_with(videos, out, &[])
}

/// [`ingest`] with `extra` arguments appended.
fn ingest_with(videos: &[&Path], out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_yakumo-ingest"))
        .arg("run")
        .arg("--videos")
        .args(videos)
        .arg("--calib")
        .arg(&capture().truth)
        .arg("--out")
        .arg(out)
        .args(["--sync", "none"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// Checks that the run failed, mentioning every one of `needles`, and that `out` and no staging
/// sibling of it exist. Returns the message.
fn refused(videos: &[&Path], out: &Path, needles: &[&str]) -> String {
    refused_with(videos, out, &[], needles)
}

/// [`refused`] with `extra` arguments appended to the command line.
fn refused_with(videos: &[&Path], out: &Path, extra: &[&str], needles: &[&str]) -> String {
    let result = ingest_with(videos, out, extra);
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    assert!(!result.status.success(), "run succeeded: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "`{n}` missing from: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists(), "{} was created", out.display());
    let parent = out.parent().unwrap();
    let name = out.file_name().unwrap().to_string_lossy();
    for entry in std::fs::read_dir(parent).unwrap() {
        let entry = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !entry.starts_with(&format!(".{name}.")),
            "staging left behind: {entry}"
        );
    }
    stderr
}

/// Encodes `frames` grey frames of `size` at `fps` to `path`.
fn grey_video(path: &Path, size: (u32, u32), fps: Fps, frames: usize) {
    let mut enc = VideoEncoder::create(path, EncodeSettings::new(size.0, size.1, fps)).unwrap();
    for i in 0..frames {
        enc.push_frame(&vec![(60 + 10 * i) as u8; (size.0 * size.1 * 3) as usize])
            .unwrap();
    }
    enc.finish().unwrap();
}

#[test]
fn missing_video() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("00.mp4");
    refused(
        &[&missing],
        &dir.path().join("out"),
        &["00.mp4", "no such file"],
    );
}

#[test]
fn text_file_named_like_a_video() {
    let (dir, videos) = videos("text");
    std::fs::write(videos.join("01.mp4"), "this is not a video\n").unwrap();
    refused(
        &[&videos],
        &dir.path().join("out"),
        &["01.mp4", "not a readable media file"],
    );
}

#[test]
fn truncated_video() {
    let (dir, videos) = videos("truncated");
    let path = videos.join("01.mp4");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() * 6 / 10]).unwrap();
    refused(
        &[&videos],
        &dir.path().join("out"),
        &["01.mp4", "stops after", "truncated or damaged"],
    );
}

#[test]
fn resolution_differs_from_the_calibration() {
    let (dir, videos) = videos("resolution");
    let path = videos.join("01.mp4");
    std::fs::remove_file(&path).unwrap();
    grey_video(&path, (96, 72), Fps::new(25, 1), 10);
    refused(
        &[&videos],
        &dir.path().join("out"),
        &["01.mp4", "camera 01", "(160, 120)", "(96, 72)"],
    );
}

/// `--size`: unparsable, zero, of another shape than the videos, or larger than them.
#[test]
fn bad_sizes_are_explained() {
    let (dir, videos) = videos("sizes");
    let out = dir.path().join("out");
    let cases: [(&str, &[&str]); 5] = [
        (
            "0x60",
            &["--size 0x60: width and height must be at least 1"],
        ),
        ("160by120", &["--size", "`160by120` is not WIDTHxHEIGHT"]),
        (
            "80x-6",
            &["--size", "`-6` in `80x-6` is not a whole number"],
        ),
        (
            "100x100",
            &[
                "camera 00",
                "00.mp4 (160x120)",
                "--size 100x100",
                "aspect ratio 1.0000 differs from the video's 1.3333 by more than 1 %",
            ],
        ),
        (
            "320x240",
            &["camera 00", "--size 320x240", "larger than the video"],
        ),
    ];
    for (size, needles) in cases {
        refused_with(&[&videos], &out, &["--size", size], needles);
    }
}

/// `--jpeg-quality`: outside 1–100 it is refused; 100 writes larger images than 95.
#[test]
fn jpeg_quality_is_checked_and_used() {
    let (dir, videos) = videos("quality");
    let out = dir.path().join("out");
    for bad in ["0", "101"] {
        refused_with(
            &[&videos],
            &out,
            &["--jpeg-quality", bad],
            &["--jpeg-quality", "1..=100"],
        );
    }
    let image_bytes = |quality: &str| {
        let out = dir.path().join(format!("q{quality}"));
        let result = ingest_with(&[&videos], &out, &["--jpeg-quality", quality]);
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
        std::fs::metadata(out.join("images/00/000000.jpg"))
            .unwrap()
            .len()
    };
    let (lower, best) = (image_bytes("95"), image_bytes("100"));
    assert!(
        best > lower + lower / 4,
        "quality 100: {best} bytes, 95: {lower}"
    );
}

#[test]
fn frame_rates_differ() {
    let (dir, videos) = videos("rates");
    let path = videos.join("01.mp4");
    std::fs::remove_file(&path).unwrap();
    grey_video(&path, (160, 120), Fps::new(30, 1), 12);
    refused(
        &[&videos],
        &dir.path().join("out"),
        &[
            "frame rates differ",
            "01.mp4 30.000 fps",
            "00.mp4 25.000 fps",
        ],
    );
}

#[test]
fn camera_names_not_in_the_calibration() {
    let (dir, videos) = videos("names");
    std::fs::rename(videos.join("01.mp4"), videos.join("left.mp4")).unwrap();
    refused(
        &[&videos],
        &dir.path().join("out"),
        &["no camera left", "it has 00, 01", "file names must match"],
    );
}

#[test]
fn output_holding_a_different_dataset() {
    let (dir, videos) = videos("occupied");
    let out = dir.path().join("out");
    let first = ingest(&[&videos], &out);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let manifest = std::fs::read(out.join("yakumo.toml")).unwrap();
    let one = videos.join("00.mp4");
    let result = ingest(&[&one], &out);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains("holds a different dataset (cameras 00, 01, this run has 00)"),
        "{stderr}"
    );
    assert!(stderr.contains(&out.display().to_string()), "{stderr}");
    assert_eq!(std::fs::read(out.join("yakumo.toml")).unwrap(), manifest);
}
