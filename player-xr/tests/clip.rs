//! Clip file → streaming → render, on a small clip written with the core writer.

use std::path::Path;
use std::time::{Duration, Instant};

use glam::DVec3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use yakumo_core::Camera;
use yakumo_core::clip::{ClipHeaderParams, ClipReader, ClipWriter, FramePoints};
use yakumo_core::render_ref::render_cpu;
use yakumo_player::offscreen::{OFFSCREEN_FORMAT, OffscreenTarget};
use yakumo_player::stream::FrameStream;
use yakumo_player::{Gpu, GpuFrame, RenderParams, RenderPath, ViewTarget, new_renderer};

fn frame(seed: u64) -> FramePoints {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = 300;
    FramePoints {
        positions: (0..n)
            .map(|_| [0; 3].map(|_: i32| rng.random_range(-0.5f32..0.5)))
            .collect(),
        radii: (0..n).map(|_| rng.random_range(0.02f32..0.06)).collect(),
        densities: (0..n).map(|_| rng.random_range(0.2f32..1.0)).collect(),
        colors: (0..n)
            .map(|_| [0; 3].map(|_: i32| rng.random_range(0.0f32..1.0)))
            .collect(),
        sh_rest: (0..n * 9).map(|_| rng.random_range(-0.2f32..0.2)).collect(),
    }
}

fn write_clip(path: &Path, frames: u32) {
    let mut w = ClipWriter::create(path, ClipHeaderParams::new(30.0, 1, frames)).unwrap();
    for i in 0..frames {
        w.write_frame(&frame(i as u64)).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn stream_delivers_every_frame_in_the_window_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yk4d");
    write_clip(&path, 6);
    let mut reader = ClipReader::open(&path).unwrap();
    let mut stream = FrameStream::open(&path, 3).unwrap();
    stream.set_looping(false);
    for head in [0, 1, 4, 2] {
        let start = Instant::now();
        let got = loop {
            let t = Instant::now();
            let polled = stream.poll(head);
            assert!(t.elapsed() < Duration::from_millis(50), "poll blocked");
            if let Some(f) = polled {
                break f;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "frame {head} never arrived"
            );
            std::thread::sleep(Duration::from_millis(2));
        };
        assert_eq!(*got, reader.read_frame(head).unwrap(), "frame {head}");
        assert!(stream.buffered() <= 3);
    }
    assert!(stream.take_errors().is_empty());
}

#[test]
fn clip_frames_render_like_the_reference_and_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yk4d");
    write_clip(&path, 2);
    let decoded = ClipReader::open(&path).unwrap().read_frame(1).unwrap();
    let cam = Camera::look_at(
        "c",
        (48, 40),
        (70.0, 70.0),
        (23.5, 19.5),
        DVec3::new(0.4, -2.0, 0.6),
        DVec3::ZERO,
        DVec3::Z,
    );
    let gpu = Gpu::headless().unwrap();
    let gpu_frame = GpuFrame::new(&gpu.device, &gpu.queue, &decoded).unwrap();
    let target = OffscreenTarget::new(&gpu, (48, 40));
    let view = ViewTarget {
        camera: &cam,
        target: &target.view,
        format: OFFSCREEN_FORMAT,
        size: (48, 40),
    };
    let reference = render_cpu(&decoded, &cam, 15);
    for path in [RenderPath::Raster, RenderPath::Compute] {
        let mut r = new_renderer(&gpu, path);
        r.render(&gpu, &gpu_frame, &[view], &RenderParams::default(), None)
            .unwrap();
        let a = target.read(&gpu).unwrap();
        r.render(&gpu, &gpu_frame, &[view], &RenderParams::default(), None)
            .unwrap();
        assert_eq!(a, target.read(&gpu).unwrap(), "{path} not deterministic");
        let worst = a
            .pixels()
            .zip(&reference.pixels)
            .flat_map(|(p, q)| (0..4).map(move |c| (p.0[c] as f32 / 255.0 - q[c]).abs()))
            .fold(0.0f32, f32::max);
        assert!(worst < 0.01, "{path}: worst error {worst}");
        assert!(
            a.pixels().filter(|p| p.0[3] > 0).count() > 100,
            "{path}: nothing drawn"
        );
    }
}
