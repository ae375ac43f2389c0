//! Decoded frames to packed RGB. Decoders output YUV: planar I420 (software H.264/HEVC, 8-bit
//! 4:2:0, what most cameras record), NV12 (hardware decoders), 8-bit 4:2:2 and 4:4:4. These are
//! converted here, honouring the stream's colour matrix and range, with SIMD (yuvutils-rs),
//! several times faster than GStreamer's `videoconvert`, which is left for the other formats (it
//! converts those straight to RGB); or, for 4:2:0 on request, with the chroma brought to full
//! resolution along the luma edges ([`super::chroma`]). 10-bit sources stay with
//! `videoconvert`: yuvutils-rs 0.8's 10-bit to 8-bit conversions clamp to 1023 instead of 255,
//! so a value just above white wraps to black.

use std::borrow::Cow;

use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use gstreamer_video::{VideoColorMatrix, VideoColorRange, VideoFormat};
use yuvutils_rs::{
    YuvBiPlanarImage, YuvConversionMode, YuvPlanarImage, YuvRange, YuvStandardMatrix,
    yuv_nv12_to_rgb, yuv420_to_rgb, yuv422_to_rgb, yuv444_to_rgb,
};

use super::chroma::{self, ChromaUpsampling};

/// A decoded frame as GStreamer maps it.
type FrameRef<'a> = gst_video::VideoFrameRef<&'a gst::BufferRef>;

/// The YUV → RGB matrix of `colorimetry`; an unknown matrix is BT.709 for HD (≥ 720 lines) and
/// BT.601 below, as GStreamer assumes.
fn matrix(colorimetry: &gst_video::VideoColorimetry, height: u32) -> YuvStandardMatrix {
    match colorimetry.matrix() {
        VideoColorMatrix::Bt601 => YuvStandardMatrix::Bt601,
        VideoColorMatrix::Bt709 => YuvStandardMatrix::Bt709,
        VideoColorMatrix::Bt2020 => YuvStandardMatrix::Bt2020,
        VideoColorMatrix::Smpte240m => YuvStandardMatrix::Smpte240,
        // FCC: Kr = 0.30, Kb = 0.11.
        VideoColorMatrix::Fcc => YuvStandardMatrix::Custom(0.30, 0.11),
        _ if height >= 720 => YuvStandardMatrix::Bt709,
        _ => YuvStandardMatrix::Bt601,
    }
}

/// The value range of `colorimetry` (limited, 16–235, unless it says full).
fn range(colorimetry: &gst_video::VideoColorimetry) -> YuvRange {
    match colorimetry.range() {
        VideoColorRange::Range0_255 => YuvRange::Full,
        _ => YuvRange::Limited,
    }
}

/// The formats the decode pipeline's appsink accepts, preferred first: the YUV layouts
/// decoders produce, which [`frame_to_rgb`] converts, then RGB for everything else.
pub(crate) const FORMATS: [&str; 5] = ["I420", "NV12", "Y42B", "Y444", "RGB"];

/// Plane `i` of `frame` and its stride in bytes.
fn plane<'a>(frame: &'a FrameRef<'_>, i: u32) -> Result<(&'a [u8], u32), String> {
    let data = frame.plane_data(i).map_err(|e| e.to_string())?;
    Ok((data, frame.plane_stride()[i as usize] as u32))
}

/// The three planes of a planar YUV `frame`.
fn planar<'a>(frame: &'a FrameRef<'_>) -> Result<YuvPlanarImage<'a, u8>, String> {
    let ((y_plane, y_stride), (u_plane, u_stride), (v_plane, v_stride)) =
        (plane(frame, 0)?, plane(frame, 1)?, plane(frame, 2)?);
    Ok(YuvPlanarImage {
        y_plane,
        y_stride,
        u_plane,
        u_stride,
        v_plane,
        v_stride,
        width: frame.width(),
        height: frame.height(),
    })
}

/// The interleaved 4:2:0 chroma plane of an NV12 `frame` without row padding, which is how
/// yuvutils-rs 0.8 takes it (a padded plane is repacked), and its row length.
fn tight_chroma<'a>(frame: &'a FrameRef<'_>) -> Result<(Cow<'a, [u8]>, u32), String> {
    let (uv, stride) = plane(frame, 1)?;
    let row = frame.width().div_ceil(2) * 2;
    let tight = if stride == row {
        Cow::Borrowed(uv)
    } else {
        let rows = uv.chunks(stride as usize).map(|r| &r[..row as usize]);
        Cow::Owned(rows.flatten().copied().collect())
    };
    Ok((tight, row))
}

/// The separate `U` and `V` planes of an NV12 `frame` (interleaved there), without row padding,
/// and their row length.
fn split_chroma(frame: &FrameRef<'_>) -> Result<(Vec<u8>, Vec<u8>, usize), String> {
    let (uv, stride) = plane(frame, 1)?;
    let (row, rows) = (
        frame.width().div_ceil(2) as usize,
        frame.height().div_ceil(2) as usize,
    );
    let (mut u, mut v) = (
        Vec::with_capacity(row * rows),
        Vec::with_capacity(row * rows),
    );
    for r in uv.chunks(stride as usize).take(rows) {
        for pair in r[..2 * row].chunks_exact(2) {
            u.push(pair[0]);
            v.push(pair[1]);
        }
    }
    Ok((u, v, row))
}

/// The conversion of `range` and `matrix` for [`chroma::yuv420_to_rgb`].
fn colour(range: YuvRange, matrix: YuvStandardMatrix) -> chroma::Colour {
    let bias = matrix.get_kr_kb();
    chroma::Colour::new(bias.kr, bias.kb, range == YuvRange::Full)
}

/// Plane `i` of a 4:2:0 `frame` (`i` > 0: chroma, half size rounded up).
fn plane_420<'a>(frame: &'a FrameRef<'_>, i: u32) -> Result<chroma::Plane<'a>, String> {
    let (data, stride) = plane(frame, i)?;
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (width, height) = if i == 0 {
        (w, h)
    } else {
        (w.div_ceil(2), h.div_ceil(2))
    };
    Ok(chroma::Plane {
        data,
        stride: stride as usize,
        width,
        height,
    })
}

/// Packed RGB (rows without padding) of the 4:2:0 planes `y`, `u` and `v` into `out`, the chroma
/// brought to full resolution by `upsampling`.
fn i420_to_rgb(
    [y, u, v]: [chroma::Plane; 3],
    upsampling: ChromaUpsampling,
    range: YuvRange,
    matrix: YuvStandardMatrix,
    out: &mut [u8],
) -> Result<(), String> {
    match upsampling {
        ChromaUpsampling::Bilinear => {
            let image = YuvPlanarImage {
                y_plane: y.data,
                y_stride: y.stride as u32,
                u_plane: u.data,
                u_stride: u.stride as u32,
                v_plane: v.data,
                v_stride: v.stride as u32,
                width: y.width as u32,
                height: y.height as u32,
            };
            let stride = y.width as u32 * 3;
            yuv420_to_rgb(&image, out, stride, range, matrix).map_err(|e| e.to_string())
        }
        ChromaUpsampling::Guided => {
            chroma::yuv420_to_rgb(y, u, v, colour(range, matrix), out);
            Ok(())
        }
    }
}

/// Milliseconds that one I420 → RGB conversion of a `width × height` frame takes with
/// `upsampling` on this thread (BT.709, limited range; the best of `repeats`): the conversion's
/// own cost, apart from the decode and from other threads.
pub(crate) fn i420_conversion_ms(
    width: u32,
    height: u32,
    upsampling: ChromaUpsampling,
    repeats: usize,
) -> Result<f64, String> {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    // Some texture; the conversion's cost does not depend on the content.
    let pattern = |n: usize, step: usize| (0..n).map(|k| (k * step % 223) as u8 + 16).collect();
    let (y, u, v): (Vec<u8>, Vec<u8>, Vec<u8>) =
        (pattern(w * h, 7), pattern(cw * ch, 3), pattern(cw * ch, 5));
    let plane = |data, width, height| chroma::Plane {
        data,
        stride: width,
        width,
        height,
    };
    let planes = [plane(&y, w, h), plane(&u, cw, ch), plane(&v, cw, ch)];
    let mut out = vec![0u8; w * h * 3];
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let started = std::time::Instant::now();
        let (range, matrix) = (YuvRange::Limited, YuvStandardMatrix::Bt709);
        i420_to_rgb(planes, upsampling, range, matrix, &mut out)?;
        best = best.min(started.elapsed().as_secs_f64());
    }
    Ok(best * 1000.0)
}

/// Packed RGB (`width·height·3` bytes, rows without padding) of `frame`, in one of [`FORMATS`].
pub(crate) fn frame_to_rgb(
    frame: &FrameRef<'_>,
    upsampling: ChromaUpsampling,
) -> Result<Vec<u8>, String> {
    let (width, height) = (frame.width(), frame.height());
    let colorimetry = frame.info().colorimetry();
    let (range, matrix) = (range(&colorimetry), matrix(&colorimetry, height));
    let row = width as usize * 3;
    let mut rgb = vec![0u8; row * height as usize];
    let out = &mut rgb;
    let stride = row as u32;
    let simd = |r: Result<(), yuvutils_rs::YuvError>| r.map_err(|e| e.to_string());
    let converted = match frame.format() {
        VideoFormat::Nv12 if upsampling == ChromaUpsampling::Bilinear => {
            let ((y_plane, y_stride), (uv, uv_stride)) = (plane(frame, 0)?, tight_chroma(frame)?);
            let image = YuvBiPlanarImage {
                y_plane,
                y_stride,
                uv_plane: &uv,
                uv_stride,
                width,
                height,
            };
            let mode = YuvConversionMode::Balanced;
            simd(yuv_nv12_to_rgb(&image, out, stride, range, matrix, mode))
        }
        VideoFormat::I420 => {
            let planes = [
                plane_420(frame, 0)?,
                plane_420(frame, 1)?,
                plane_420(frame, 2)?,
            ];
            i420_to_rgb(planes, upsampling, range, matrix, out)
        }
        VideoFormat::Nv12 => {
            let (u, v, row) = split_chroma(frame)?;
            let half = |data| chroma::Plane {
                data,
                stride: row,
                width: row,
                height: (height as usize).div_ceil(2),
            };
            let y = plane_420(frame, 0)?;
            chroma::yuv420_to_rgb(y, half(&u), half(&v), colour(range, matrix), out);
            Ok(())
        }
        VideoFormat::Y42b => simd(yuv422_to_rgb(&planar(frame)?, out, stride, range, matrix)),
        VideoFormat::Y444 => simd(yuv444_to_rgb(&planar(frame)?, out, stride, range, matrix)),
        VideoFormat::Rgb => {
            let (data, data_stride) = plane(frame, 0)?;
            for (y, out_row) in out.chunks_exact_mut(row).enumerate() {
                let start = y * data_stride as usize;
                out_row.copy_from_slice(&data[start..start + row]);
            }
            Ok(())
        }
        other => return Err(format!("unexpected decoded format {other:?}")),
    };
    converted.map_err(|e| format!("{:?} to RGB: {e}", frame.format()))?;
    Ok(rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills `data` with `values` repeated.
    fn fill(data: &mut [u8], values: &[u8]) {
        for (k, s) in data.iter_mut().enumerate() {
            *s = values[k % values.len()];
        }
    }

    /// A `w`×`h` frame of `format` filled with one limited-range BT.601 colour (given as Y, Cb,
    /// Cr; RGB frames get the colour's RGB).
    fn solid(
        format: VideoFormat,
        w: u32,
        h: u32,
        yuv: [u8; 3],
        rgb: [u8; 3],
    ) -> (gst::Buffer, gst_video::VideoInfo) {
        let info = gst_video::VideoInfo::builder(format, w, h)
            .colorimetry(&"bt601".parse().unwrap())
            .build()
            .unwrap();
        let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
        let b = buffer.get_mut().unwrap();
        let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(b, &info).unwrap();
        match format {
            VideoFormat::Rgb => {
                let stride = frame.plane_stride()[0] as usize;
                for row in frame.plane_data_mut(0).unwrap().chunks_mut(stride) {
                    fill(&mut row[..w as usize * 3], &rgb);
                }
            }
            VideoFormat::Nv12 => {
                fill(frame.plane_data_mut(0).unwrap(), &yuv[..1]);
                fill(frame.plane_data_mut(1).unwrap(), &yuv[1..]);
            }
            _ => {
                for (p, value) in yuv.iter().enumerate() {
                    fill(frame.plane_data_mut(p as u32).unwrap(), &[*value]);
                }
            }
        }
        drop(frame);
        (buffer, info)
    }

    #[test]
    fn decoded_formats_convert_to_their_rgb() {
        gst::init().unwrap();
        use VideoFormat::*;
        // Odd sizes: the chroma planes are rounded up, rows are padded to the stride.
        for format in [I420, Nv12, Y42b, Y444, Rgb] {
            assert!(FORMATS.contains(&format.to_str().as_str()), "{format:?}");
            for (w, h) in [(6, 4), (7, 5)] {
                for (yuv, want) in [
                    ([16, 128, 128], [0u8, 0, 0]),
                    ([235, 128, 128], [255, 255, 255]),
                    // Above white (limited range) saturates, it does not wrap.
                    ([250, 128, 128], [255, 255, 255]),
                    // BT.601 limited-range red and a blue-green.
                    ([81, 90, 240], [255, 0, 0]),
                    ([106, 203, 63], [0, 128, 255]),
                ] {
                    let (buffer, info) = solid(format, w, h, yuv, want);
                    let frame =
                        gst_video::VideoFrameRef::from_buffer_ref_readable(&buffer, &info).unwrap();
                    for upsampling in [ChromaUpsampling::Bilinear, ChromaUpsampling::Guided] {
                        let rgb = frame_to_rgb(&frame, upsampling).unwrap();
                        assert_eq!(rgb.len(), (w * h * 3) as usize);
                        for px in rgb.chunks_exact(3) {
                            for c in 0..3 {
                                assert!(
                                    (px[c] as i32 - want[c] as i32).abs() <= 3,
                                    "{format:?} {upsampling:?} {w}x{h} {yuv:?}: {px:?} vs {want:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
