//! End-to-end tests of the GStreamer media layer: encode a small clip with audio, probe it,
//! decode frames and audio back, and check failure modes on damaged and bogus files.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use yakumo_ingest::media::{
    self, AudioTrack, DecodeOptions, EncodeSettings, Fps, MediaError, VideoDecoder, VideoEncoder,
};

const W: u32 = 160;
const H: u32 = 120;
const FRAMES: u64 = 30;
const RATE: u32 = 48_000;
const BURST_START_S: f64 = 0.4;
const BURST_END_S: f64 = 0.5;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("media-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A smooth moving RGB pattern (4:2:0 chroma subsampling leaves smooth content intact).
fn pattern(i: u64) -> Vec<u8> {
    let t = i as f32;
    let mut rgb = Vec::with_capacity((W * H * 3) as usize);
    for y in 0..H {
        for x in 0..W {
            let (xf, yf) = (x as f32, y as f32);
            rgb.push((128.0 + 90.0 * (xf / 23.0 + t * 0.2).sin()) as u8);
            rgb.push((128.0 + 90.0 * (yf / 17.0 - t * 0.15).cos()) as u8);
            rgb.push((40.0 + (xf + yf + 2.0 * t) * 0.6) as u8);
        }
    }
    rgb
}

/// One second of quiet noise with a loud noise burst between 0.4 s and 0.5 s.
fn burst_track() -> AudioTrack {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let samples = (0..RATE)
        .map(|n| {
            let t = f64::from(n) / f64::from(RATE);
            let level = if (BURST_START_S..BURST_END_S).contains(&t) {
                0.6
            } else {
                0.005
            };
            level * rng.random_range(-1.0f32..1.0)
        })
        .collect();
    AudioTrack::new(RATE, samples)
}

fn encode(path: &Path, frames: u64, audio: Option<AudioTrack>) {
    let mut settings = EncodeSettings::new(W, H, 30);
    settings.audio = audio;
    let mut enc = VideoEncoder::create(path, settings).unwrap();
    for i in 0..frames {
        enc.push_frame(&pattern(i)).unwrap();
    }
    assert_eq!(enc.frames_written(), frames);
    enc.finish().unwrap();
}

/// The shared 30-frame clip with audio, encoded once per test run.
fn clip() -> &'static Path {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        let path = scratch("pattern.mp4");
        encode(&path, FRAMES, Some(burst_track()));
        path
    })
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

fn assert_names(err: &MediaError, path: &Path) {
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(
        err.to_string().contains(name.as_ref()),
        "error does not name {name}: {err}"
    );
}

#[test]
fn probe_reports_the_encoded_streams() {
    let info = media::probe(clip()).unwrap();
    let video = info.video.as_ref().expect("video stream");
    assert!(
        info.container.as_deref().unwrap_or("").contains("MP4"),
        "{info:?}"
    );
    assert!(video.codec.contains("H.264"), "{}", video.codec);
    assert_eq!((video.width, video.height), (W, H));
    assert_eq!(video.fps, Some(Fps::new(30, 1)));
    assert!(!video.variable_frame_rate);
    assert_eq!((video.frame_count, video.frame_count_exact), (FRAMES, true));
    assert_eq!(video.start_seconds, Some(0.0));
    assert!(
        (info.duration_seconds.unwrap() - 1.0).abs() < 0.05,
        "{info:?}"
    );
    assert_eq!(info.audio.len(), 1);
    assert_eq!(
        (info.audio[0].channels, info.audio[0].sample_rate),
        (1, RATE)
    );
    assert!(
        info.audio[0].codec.contains("AAC"),
        "{}",
        info.audio[0].codec
    );
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(json["video"]["frame_count"], 30);
}

#[test]
fn decoded_frames_match_the_source() {
    let mut decoder = VideoDecoder::open(clip(), DecodeOptions::default()).unwrap();
    assert!(decoder.decoder_name().is_some());
    let frames: Vec<_> = decoder.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(frames.len() as u64, FRAMES);
    let mut worst = f64::INFINITY;
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!((frame.index, frame.width, frame.height), (i as u64, W, H));
        assert_eq!(frame.pts, Fps::new(30, 1).frame_time_ns(i as u64));
        worst = worst.min(psnr(&frame.rgb, &pattern(i as u64)));
    }
    assert!(worst >= 35.0, "worst frame PSNR {worst:.1} dB");
}

#[test]
fn software_decoding_can_be_forced_and_frames_scaled() {
    let options = DecodeOptions {
        size: Some((80, 60)),
        hardware: false,
        ..DecodeOptions::default()
    };
    let mut decoder = VideoDecoder::open(clip(), options).unwrap();
    assert!(!decoder.uses_hardware());
    let name = decoder.decoder_name().unwrap();
    assert!(name.contains("264"), "{name}");
    let first = decoder.next_frame().unwrap().unwrap();
    assert_eq!(
        (first.width, first.height, first.rgb.len()),
        (80, 60, 80 * 60 * 3)
    );
    assert_eq!(decoder.count(), FRAMES as usize - 1);
}

#[test]
fn decoded_audio_keeps_the_burst_in_place() {
    let track = media::decode_audio(clip(), 16_000)
        .unwrap()
        .expect("audio track");
    assert_eq!(track.sample_rate, 16_000);
    assert!(
        (track.duration_seconds() - 1.0).abs() < 0.1,
        "{}",
        track.duration_seconds()
    );
    // AAC encoders prime with 1024 samples that mp4mux (GStreamer 1.22) does not trim, so the
    // decoded audio lags the source by 1024 / 48000 s.
    let priming = 1024.0 / f64::from(RATE);
    let onset = track.samples.iter().position(|s| s.abs() > 0.2).unwrap() as f64 / 16_000.0;
    assert!(
        (onset - BURST_START_S - priming).abs() < 0.003,
        "burst found at {onset:.4} s"
    );

    // GCC-PHAT between the source and the decoded track measures exactly that lag.
    let decoded = media::decode_audio(clip(), RATE).unwrap().unwrap();
    let est = media::estimate_offset(&burst_track(), &decoded).unwrap();
    assert!((est.offset_seconds + priming).abs() < 0.001, "{est:?}");
}

#[test]
fn video_without_audio_has_no_audio_track() {
    let path = scratch("silent.mp4");
    encode(&path, 5, None);
    assert!(media::decode_audio(&path, 16_000).unwrap().is_none());
    assert!(media::probe(&path).unwrap().audio.is_empty());
}

#[test]
fn truncated_file_yields_its_frames_then_an_error() {
    let full = scratch("long.mp4");
    encode(&full, 60, None);
    let bytes = std::fs::read(&full).unwrap();
    let cut = scratch("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();

    let mut decoder = VideoDecoder::open(&cut, DecodeOptions::default()).unwrap();
    let mut good = 0;
    let err = loop {
        match decoder.next() {
            Some(Ok(frame)) => {
                if frame.index == 0 {
                    assert!(psnr(&frame.rgb, &pattern(0)) > 35.0);
                }
                good += 1;
            }
            Some(Err(e)) => break e,
            None => panic!("truncation went unnoticed after {good} frames"),
        }
    };
    assert!(good > 5 && good < 60, "{good} frames decoded");
    match &err {
        MediaError::Truncated {
            frame, at_seconds, ..
        } => {
            assert_eq!(*frame, good);
            assert!((at_seconds - good as f64 / 30.0).abs() < 0.05, "{err}");
        }
        other => panic!("unexpected error {other}"),
    }
    assert_names(&err, &cut);
    assert!(
        decoder.next().is_none(),
        "iteration must stop after the error"
    );
}

#[test]
fn text_file_named_mp4_is_rejected_with_its_name() {
    let path = scratch("notes.mp4");
    std::fs::write(
        &path,
        "these are not the frames you are looking for\n".repeat(50),
    )
    .unwrap();
    let err = VideoDecoder::open(&path, DecodeOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, MediaError::Unreadable { .. }), "{err}");
    assert_names(&err, &path);
    let err = media::probe(&path).unwrap_err();
    assert!(matches!(err, MediaError::Unreadable { .. }), "{err}");
    assert_names(&err, &path);
    assert_names(&media::decode_audio(&path, 16_000).unwrap_err(), &path);
}

#[test]
fn audio_only_file_has_no_video() {
    use gstreamer::prelude::*;
    // Our encoder always writes video, so build an audio-only MP4 with a plain pipeline.
    let path = scratch("audio-only.m4a");
    gstreamer::init().unwrap();
    let launch = format!(
        "audiotestsrc num-buffers=20 ! audioconvert ! avenc_aac ! mp4mux ! filesink location=\"{}\"",
        path.display()
    );
    let pipeline = gstreamer::parse::launch(&launch).unwrap();
    pipeline.set_state(gstreamer::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gstreamer::ClockTime::from_seconds(30),
            &[gstreamer::MessageType::Eos],
        )
        .expect("audio-only file written");
    drop(msg);
    pipeline.set_state(gstreamer::State::Null).unwrap();

    let err = VideoDecoder::open(&path, DecodeOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, MediaError::NoVideo { .. }), "{err}");
    assert_names(&err, &path);
    let info = media::probe(&path).unwrap();
    assert!(info.video.is_none() && info.audio.len() == 1, "{info:?}");
    assert!(media::decode_audio(&path, 16_000).unwrap().is_some());
}

#[test]
fn missing_file_is_reported_clearly() {
    let path = scratch("does-not-exist.mp4");
    let err = VideoDecoder::open(&path, DecodeOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, MediaError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("no such file"), "{err}");
    assert_names(&err, &path);
    assert!(matches!(
        media::probe(&path),
        Err(MediaError::NotFound { .. })
    ));
    assert!(matches!(
        media::decode_audio(&path, 16_000),
        Err(MediaError::NotFound { .. })
    ));
}

#[test]
fn encoder_rejects_bad_input_and_never_leaves_partial_files() {
    let path = scratch("never.mp4");
    let _ = std::fs::remove_file(&path);
    let odd = VideoEncoder::create(&path, EncodeSettings::new(161, 120, 30))
        .err()
        .unwrap();
    assert!(matches!(odd, MediaError::InvalidInput { .. }), "{odd}");

    let mut enc = VideoEncoder::create(&path, EncodeSettings::new(W, H, 30)).unwrap();
    let err = enc.push_frame(&[0u8; 100]).unwrap_err();
    assert!(matches!(err, MediaError::InvalidInput { .. }), "{err}");
    enc.push_frame(&pattern(0)).unwrap();
    let rgba = vec![0u8; (W * H * 4) as usize];
    assert!(enc.push_frame(&rgba).is_err(), "layout changed mid-stream");
    assert!(!path.exists(), "the final name must only appear on finish");
    drop(enc);
    assert!(!path.exists());
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("never.mp4"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary file left behind: {leftovers:?}"
    );
}

#[test]
fn rgba_input_and_ntsc_rate_round_trip() {
    let path = scratch("rgba.mp4");
    let mut enc =
        VideoEncoder::create(&path, EncodeSettings::new(W, H, Fps::new(30000, 1001))).unwrap();
    for i in 0..6 {
        let rgba: Vec<u8> = pattern(i)
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        enc.push_frame(&rgba).unwrap();
    }
    enc.finish().unwrap();
    let info = media::probe(&path).unwrap();
    let video = info.video.unwrap();
    assert_eq!(
        (video.fps, video.frame_count),
        (Some(Fps::new(30000, 1001)), 6)
    );
    let frames: Vec<_> = VideoDecoder::open(&path, DecodeOptions::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(frames.len(), 6);
    assert!(psnr(&frames[5].rgb, &pattern(5)) >= 35.0);
}

/// Detailed moving content: a seeded noise texture scrolling diagonally over a gradient.
fn detailed(i: u64, w: u32, h: u32) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (tw, th) = (w + 64, h + 64);
    let noise: Vec<u8> = (0..tw * th).map(|_| rng.random()).collect();
    let shift = (i * 2) as u32;
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let n = noise[(((y + shift) % th) * tw + (x + shift) % tw) as usize];
            rgb.extend([n, n / 2 + (x % 128) as u8, 255 - n / 3]);
        }
    }
    rgb
}

#[test]
fn the_same_frames_always_encode_to_the_same_video() {
    let (w, h, frames) = (640, 480, 40);
    // Three encodes at once, so the encoder's threads compete for the cores.
    let decoded: Vec<Vec<Vec<u8>>> = std::thread::scope(|s| {
        let jobs: Vec<_> = (0..3)
            .map(|k| {
                s.spawn(move || {
                    let path = scratch(&format!("determinism-{k}.mp4"));
                    let mut enc =
                        VideoEncoder::create(&path, EncodeSettings::new(w, h, 30)).unwrap();
                    for i in 0..frames {
                        enc.push_frame(&detailed(i, w, h)).unwrap();
                    }
                    enc.finish().unwrap();
                    let mut dec = VideoDecoder::open(
                        &path,
                        DecodeOptions {
                            hardware: false,
                            ..DecodeOptions::default()
                        },
                    )
                    .unwrap();
                    let mut out = Vec::new();
                    while let Some(f) = dec.next_frame().unwrap() {
                        out.push(f.rgb);
                    }
                    out
                })
            })
            .collect();
        jobs.into_iter().map(|j| j.join().unwrap()).collect()
    });
    assert_eq!(decoded[0].len(), frames as usize);
    for (k, other) in decoded.iter().enumerate().skip(1) {
        assert_eq!(other.len(), decoded[0].len());
        for (i, (a, b)) in decoded[0].iter().zip(other).enumerate() {
            assert!(a == b, "encode {k} differs from encode 0 at frame {i}");
        }
    }
}
