use std::io::Cursor;

use super::*;

/// Small deterministic generator (SplitMix64) so tests need no RNG dependency.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// `n` points on a bumpy ellipsoid (person-sized), with attributes that vary smoothly over the
/// surface, in random order.
fn surface_frame(n: usize, sh_degree: u32, seed: u64) -> FramePoints {
    let mut rng = Rng(seed);
    let per_point = FramePoints::sh_rest_per_point(sh_degree);
    let mut f = FramePoints::default();
    for _ in 0..n {
        let z = 2.0 * rng.next_f32() - 1.0;
        let phi = std::f32::consts::TAU * rng.next_f32();
        let s = (1.0 - z * z).sqrt();
        let bump = 1.0 + 0.05 * (7.0 * phi).sin() * (5.0 * z).cos();
        let p = [
            0.25 * s * phi.cos() * bump,
            0.9 * z * bump + 1.0,
            0.15 * s * phi.sin() * bump,
        ];
        f.positions.push(p);
        f.radii.push(0.003 + 0.002 * (3.0 * p[1]).sin());
        f.densities.push(1.0 / (1.0 + (-5.0 - 2.0 * p[0]).exp()));
        f.colors.push([
            0.5 + 0.4 * (4.0 * p[1]).sin(),
            0.4 + 0.3 * (6.0 * p[0]).cos(),
            0.3 + 0.2 * z,
        ]);
        f.sh_rest.extend(
            (0..per_point)
                .map(|i| 0.08 * ((i as f32 + 1.0) * p[1] + phi).sin() / (1.0 + i as f32 / 3.0)),
        );
    }
    f
}

fn write_clip(
    path: &std::path::Path,
    params: ClipHeaderParams,
    frames: &[FramePoints],
) -> ClipInfo {
    let mut w = ClipWriter::create(path, params).unwrap();
    for f in frames {
        w.write_frame(f).unwrap();
    }
    w.finish().unwrap()
}

fn assert_close(original: &FramePoints, decoded: &FramePoints, sh_degree: u32) {
    assert_eq!(decoded.len(), original.len());
    let (lo, hi) = quant::bounds(&original.positions);
    for (a, b) in original.positions.iter().zip(&decoded.positions) {
        for axis in 0..3 {
            let tol = (hi[axis] - lo[axis]) / 65535.0 + 1e-6;
            assert!((a[axis] - b[axis]).abs() <= tol, "position {a:?} vs {b:?}");
        }
    }
    for (a, b) in original.radii.iter().zip(&decoded.radii) {
        assert!((a - b).abs() <= a * 1e-3, "radius {a} vs {b}");
    }
    for (a, b) in original.densities.iter().zip(&decoded.densities) {
        assert!((a - b).abs() <= 1.0 / 65535.0, "density {a} vs {b}");
    }
    for (a, b) in original
        .colors
        .iter()
        .flatten()
        .zip(decoded.colors.iter().flatten())
    {
        assert!((a - b).abs() <= 1.0 / 255.0, "colour {a} vs {b}");
    }
    let k = sh::coeff_count(sh_degree) - 1;
    for l in 1..=sh_degree {
        let range = (l * l) as usize - 1..((l + 1) * (l + 1)) as usize - 1;
        let max = original
            .sh_rest
            .chunks(k)
            .flat_map(|c| c[range.clone()].iter())
            .fold(0.0f32, |m, v| m.max(v.abs()));
        for (a, b) in original.sh_rest.chunks(k).zip(decoded.sh_rest.chunks(k)) {
            for i in range.clone() {
                assert!(
                    (a[i] - b[i]).abs() <= max / 254.0 + 1e-7,
                    "SH degree {l}: {} vs {}",
                    a[i],
                    b[i]
                );
            }
        }
    }
}

#[test]
fn round_trip_within_quantisation_bounds() {
    let dir = tempfile::tempdir().unwrap();
    for sh_degree in [0, 1, 3] {
        let path = dir.path().join(format!("deg{sh_degree}.yk4d"));
        let frames: Vec<FramePoints> = (0..3)
            .map(|i| surface_frame(500 + 100 * i, sh_degree, i as u64))
            .collect();
        let written = write_clip(&path, ClipHeaderParams::new(30.0, sh_degree, 3), &frames);
        let mut reader = ClipReader::open(&path).unwrap();
        assert_eq!(reader.info(), &written);
        assert_eq!(reader.frame_count(), 3);
        assert_eq!(written.max_points, 700);
        assert_eq!(
            (written.fps, written.sh_degree, written.layout),
            (30.0, sh_degree, AttributeLayout::V1)
        );
        // Read out of order to exercise seeking.
        for i in [2, 0, 1] {
            let read = reader.read_frame(i).unwrap();
            assert_close(&frames[i], &read, sh_degree);
            assert_eq!(frames[i].quantised(sh_degree).unwrap(), read);
        }
        let (lo, hi) = quant::bounds(
            &frames
                .iter()
                .flat_map(|f| f.positions.clone())
                .collect::<Vec<_>>(),
        );
        assert_eq!((written.bounds_min, written.bounds_max), (lo, hi));
    }
}

#[test]
fn view_dependent_colour_survives_the_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yk4d");
    let frame = surface_frame(200, 3, 9);
    write_clip(
        &path,
        ClipHeaderParams::new(24.0, 3, 1),
        std::slice::from_ref(&frame),
    );
    let decoded = ClipReader::open(&path).unwrap().read_frame(0).unwrap();
    for eye in [[0.0, 1.0, 3.0], [-2.0, 0.5, 0.0]] {
        for i in 0..frame.len() {
            let (a, b) = (frame.color(i, 3, eye), decoded.color(i, 3, eye));
            for ch in 0..3 {
                assert!((a[ch] - b[ch]).abs() < 0.01, "point {i}: {a:?} vs {b:?}");
            }
        }
    }
}

#[test]
fn empty_frames_and_empty_clips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.yk4d");
    let frames = [
        FramePoints::default(),
        surface_frame(10, 2, 1),
        FramePoints::default(),
    ];
    let info = write_clip(&path, ClipHeaderParams::new(60.0, 2, 3), &frames);
    let mut reader = ClipReader::open(&path).unwrap();
    assert_eq!(reader.read_frame(0).unwrap(), FramePoints::default());
    assert_eq!(reader.read_frame(2).unwrap(), FramePoints::default());
    assert_eq!(reader.read_frame(1).unwrap().len(), 10);
    assert_eq!(info.max_points, 10);

    let none = dir.path().join("none.yk4d");
    let info = write_clip(&none, ClipHeaderParams::new(25.0, 0, 0), &[]);
    assert_eq!(
        (info.bounds_min, info.bounds_max, info.max_points),
        ([0.0; 3], [0.0; 3], 0)
    );
    assert_eq!(std::fs::metadata(&none).unwrap().len(), HEADER_LEN as u64);
    let reader = ClipReader::open(&none).unwrap();
    assert_eq!(reader.frame_count(), 0);
}

#[test]
fn shared_handles_and_raw_chunks_decode_the_same_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yk4d");
    let frames = [surface_frame(50, 1, 3), surface_frame(60, 1, 4)];
    write_clip(&path, ClipHeaderParams::new(30.0, 1, 2), &frames);
    let bytes = std::fs::read(&path).unwrap();
    let mut reader = ClipReader::from_source(Cursor::new(bytes.clone()), "memory.yk4d").unwrap();
    let own = reader.read_frame(1).unwrap();
    let mut other = std::fs::File::open(&path).unwrap();
    assert_eq!(reader.read_frame_from(&mut other, 1).unwrap(), own);
    let e = reader.frames()[1];
    let chunk = &bytes[e.offset as usize..e.end() as usize];
    assert_eq!(reader.decode_frame(1, chunk).unwrap(), own);
    let err = reader.read_frame(2).unwrap_err().to_string();
    assert_eq!(
        err,
        "memory.yk4d: frame 2 requested but the clip has 2 frames"
    );
}

#[test]
fn writer_leaves_no_file_unless_finished_with_every_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/w.yk4d");
    {
        let mut w = ClipWriter::create(&path, ClipHeaderParams::new(30.0, 0, 2)).unwrap();
        w.write_frame(&surface_frame(5, 0, 1)).unwrap();
    }
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        0,
        "temporary file left behind"
    );

    let mut w = ClipWriter::create(&path, ClipHeaderParams::new(30.0, 0, 2)).unwrap();
    w.write_frame(&surface_frame(5, 0, 1)).unwrap();
    let err = w.finish().unwrap_err().to_string();
    assert!(
        err.contains("w.yk4d") && err.contains("1 frames written but 2 declared"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        0
    );

    let mut w = ClipWriter::create(&path, ClipHeaderParams::new(30.0, 0, 1)).unwrap();
    w.write_frame(&FramePoints::default()).unwrap();
    let err = w
        .write_frame(&FramePoints::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("all 1 declared frames are already written"),
        "{err}"
    );
    w.finish().unwrap();
    assert!(path.exists());
}

#[test]
fn writer_rejects_bad_parameters_and_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yk4d");
    let bad_params = [
        (ClipHeaderParams::new(0.0, 0, 1), "frame rate 0"),
        (ClipHeaderParams::new(30.0, 4, 1), "SH degree 4"),
        (
            ClipHeaderParams::new(30.0, 0, MAX_FRAMES + 1),
            "exceed the limit",
        ),
        (
            ClipHeaderParams {
                zstd_level: 99,
                ..ClipHeaderParams::new(30.0, 0, 1)
            },
            "zstd level 99",
        ),
    ];
    for (params, expected) in bad_params {
        let err = ClipWriter::create(&path, params)
            .err()
            .expect("parameters should be rejected")
            .to_string();
        assert!(err.contains(expected), "{err}");
    }
    let mut w = ClipWriter::create(&path, ClipHeaderParams::new(30.0, 1, 1)).unwrap();
    let mut frame = surface_frame(4, 1, 1);
    frame.sh_rest.pop();
    let err = w.write_frame(&frame).unwrap_err().to_string();
    assert!(
        err.contains("frame 0: sh_rest has 35 values, expected 36"),
        "{err}"
    );
    let mut frame = surface_frame(4, 1, 1);
    frame.positions[2][1] = f32::NAN;
    assert!(
        w.write_frame(&frame)
            .unwrap_err()
            .to_string()
            .contains("position of point 2 is not finite")
    );
    let mut frame = surface_frame(4, 1, 1);
    frame.radii[3] = -1.0;
    assert!(
        w.write_frame(&frame)
            .unwrap_err()
            .to_string()
            .contains("radius -1 of point 3")
    );
}

/// Rewrites one little-endian u32/u64 field of a valid clip and expects `expected` in the error.
fn corrupt_field(bytes: &[u8], at: usize, value: &[u8], expected: &str) {
    let mut b = bytes.to_vec();
    b[at..at + value.len()].copy_from_slice(value);
    let result =
        ClipReader::from_source(Cursor::new(b), "clip.yk4d").and_then(|mut r| r.read_frame(1));
    let err = result
        .err()
        .unwrap_or_else(|| panic!("corrupting byte {at} should fail"))
        .to_string();
    assert!(
        err.starts_with("clip.yk4d: ") && err.contains(expected),
        "{err:?} should contain {expected:?}"
    );
}

#[test]
fn reader_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.yk4d");
    write_clip(
        &path,
        ClipHeaderParams::new(30.0, 1, 2),
        &[surface_frame(30, 1, 1), surface_frame(40, 1, 2)],
    );
    let bytes = std::fs::read(&path).unwrap();
    let entry1 = HEADER_LEN + INDEX_ENTRY_LEN;
    let len = bytes.len() as u64;
    corrupt_field(&bytes, 0, b"PLY\0", "not a .yk4d clip");
    corrupt_field(&bytes, 4, &2u32.to_le_bytes(), "version 2 is not supported");
    corrupt_field(
        &bytes,
        16,
        &u32::MAX.to_le_bytes(),
        "more than the limit of 1000000",
    );
    corrupt_field(
        &bytes,
        16,
        &1000u32.to_le_bytes(),
        "the index of 1000 frames ends at byte 40064",
    );
    corrupt_field(
        &bytes,
        20,
        &20u32.to_le_bytes(),
        "frame 0 has 30 points, more than the header's maximum of 20",
    );
    corrupt_field(&bytes, 32, &[9], "SH degree 9");
    let offset1 = u64::from_le_bytes(bytes[entry1..entry1 + 8].try_into().unwrap());
    let expected = format!(
        "frame 1 chunk ends at byte {} but the file has {len} bytes",
        offset1 + 1000
    );
    corrupt_field(&bytes, entry1 + 8, &1000u32.to_le_bytes(), &expected);
    corrupt_field(
        &bytes,
        entry1,
        &200u64.to_le_bytes(),
        "frame 1 chunk starts at byte 200 but frame 0 ends at byte",
    );
    corrupt_field(
        &bytes,
        entry1 + 12,
        &39u32.to_le_bytes(),
        "frame 1: chunk decompresses to",
    );
    corrupt_field(
        &bytes,
        entry1 + 16,
        &f32::NAN.to_le_bytes(),
        "frame 1 bounds",
    );
    let last = bytes.len() - 2;
    corrupt_field(
        &bytes,
        last,
        &[bytes[last] ^ 0x40],
        "frame 1: chunk does not decompress",
    );
    let err = ClipReader::from_source(Cursor::new(&bytes[..100]), "clip.yk4d")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the index of 2 frames ends at byte 144 but the file has 100 bytes"),
        "{err}"
    );
}

/// Bytes per point of a 100k-point frame of smooth surface data (figures in the report). Random
/// point order is the worst case for compression; spatially sorted order is what a bake that
/// walks a voxel grid produces.
#[test]
fn compressed_size_of_a_100k_point_frame() {
    let dir = tempfile::tempdir().unwrap();
    for sh_degree in [0, 3] {
        let mut frame = surface_frame(100_000, sh_degree, 42);
        let path = dir.path().join("m.yk4d");
        write_clip(
            &path,
            ClipHeaderParams::new(30.0, sh_degree, 1),
            std::slice::from_ref(&frame),
        );
        let random_order = ClipReader::open(&path).unwrap().frames()[0].compressed_len as f64 / 1e5;

        sort_spatially(&mut frame, sh_degree);
        write_clip(
            &path,
            ClipHeaderParams::new(30.0, sh_degree, 1),
            std::slice::from_ref(&frame),
        );
        let sorted = ClipReader::open(&path).unwrap().frames()[0].compressed_len as f64 / 1e5;
        let raw = 13 + FramePoints::sh_rest_per_point(sh_degree);
        eprintln!(
            "SH degree {sh_degree}: {random_order:.2} B/point random order, {sorted:.2} B/point sorted, {raw} B/point quantised"
        );
        assert!(
            random_order < raw as f64,
            "compression should gain something"
        );
        assert!(
            sorted < random_order,
            "sorted points should compress better"
        );
    }
}

/// Sorts points along a 3D grid walk (z-major voxel order, 1 cm cells).
fn sort_spatially(f: &mut FramePoints, sh_degree: u32) {
    let per = FramePoints::sh_rest_per_point(sh_degree);
    let key = |p: &[f32; 3]| p.map(|v| (v * 100.0).floor() as i32);
    let mut order: Vec<usize> = (0..f.len()).collect();
    order.sort_by_key(|&i| {
        let k = key(&f.positions[i]);
        (k[2], k[1], k[0])
    });
    *f = FramePoints {
        positions: order.iter().map(|&i| f.positions[i]).collect(),
        radii: order.iter().map(|&i| f.radii[i]).collect(),
        densities: order.iter().map(|&i| f.densities[i]).collect(),
        colors: order.iter().map(|&i| f.colors[i]).collect(),
        sh_rest: order
            .iter()
            .flat_map(|&i| f.sh_rest[i * per..(i + 1) * per].iter().copied())
            .collect(),
    };
}
