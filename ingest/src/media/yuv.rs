//! Decoded frames to packed RGB. Decoders output YUV: planar I420 (software H.264/HEVC, 8-bit
//! 4:2:0, what most cameras record), NV12 (hardware decoders), 8-bit 4:2:2 and 4:4:4. These are
//! converted here, honouring the stream's colour matrix, range and chroma siting (H.264's
//! default puts the chroma sample on the left column of its block, JPEG's in its centre), with
//! SIMD (yuvutils-rs), several times faster than GStreamer's `videoconvert`, which is left for
//! the other formats (it converts those straight to RGB); or, for 4:2:0 by default, with the
//! chroma brought to full resolution along the luma edges ([`super::chroma`]). 10-bit sources stay with
//! `videoconvert`: yuvutils-rs 0.8's 10-bit to 8-bit conversions clamp to 1023 instead of 255,
//! so a value just above white wraps to black.

use std::borrow::Cow;

use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use gstreamer_video::{VideoChromaSite, VideoColorMatrix, VideoColorRange, VideoFormat};
use yuvutils_rs::{
    YuvPlanarImage, YuvRange, YuvStandardMatrix, yuv420_to_rgb, yuv422_to_rgb, yuv444_to_rgb,
};

use super::chroma::{self, ChromaUpsampling, Siting};

/// A decoded frame as GStreamer maps it.
pub(crate) type FrameRef<'a> = gst_video::VideoFrameRef<&'a gst::BufferRef>;

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

/// Where `frame`'s chroma samples lie (its caps' `chroma-site`; centred when they do not say).
fn siting(frame: &FrameRef<'_>) -> Siting {
    let site = frame.info().chroma_site();
    Siting {
        left: site.contains(VideoChromaSite::H_COSITED),
        top: site.contains(VideoChromaSite::V_COSITED),
    }
}

/// Chroma plane `p` with centred samples (what yuvutils-rs takes) and its stride:
/// `p` itself, or resampled from `siting`.
fn centred(p: chroma::Plane<'_>, siting: Siting) -> (Cow<'_, [u8]>, u32) {
    if siting.is_centred() {
        (Cow::Borrowed(p.data), p.stride as u32)
    } else {
        (Cow::Owned(chroma::centred_plane(p, siting)), p.width as u32)
    }
}

/// Packed RGB (rows without padding) of the 4:2:0 planes `y`, `u` and `v`, the chroma sited as
/// `siting` says, into `out`, the chroma brought to full resolution by `upsampling`.
fn i420_to_rgb(
    [y, u, v]: [chroma::Plane; 3],
    siting: Siting,
    upsampling: ChromaUpsampling,
    (range, matrix): (YuvRange, YuvStandardMatrix),
    out: &mut [u8],
) -> Result<(), String> {
    match upsampling {
        ChromaUpsampling::Nearest => {
            let ((u_plane, u_stride), (v_plane, v_stride)) =
                (centred(u, siting), centred(v, siting));
            let image = YuvPlanarImage {
                y_plane: y.data,
                y_stride: y.stride as u32,
                u_plane: &u_plane,
                u_stride,
                v_plane: &v_plane,
                v_stride,
                width: y.width as u32,
                height: y.height as u32,
            };
            let stride = y.width as u32 * 3;
            yuv420_to_rgb(&image, out, stride, range, matrix).map_err(|e| e.to_string())
        }
        ChromaUpsampling::Guided => {
            chroma::yuv420_to_rgb([y, u, v], siting, colour(range, matrix), out);
            Ok(())
        }
    }
}

/// Milliseconds that one I420 → RGB conversion of a `width × height` frame takes with
/// `upsampling` on this thread (BT.709, limited range, MPEG-2 siting as H.264 streams have by
/// default; the best of `repeats`): the conversion's own cost, apart from the decode and from
/// other threads.
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
    let colour = (YuvRange::Limited, YuvStandardMatrix::Bt709);
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let started = std::time::Instant::now();
        i420_to_rgb(planes, Siting::MPEG2, upsampling, colour, &mut out)?;
        best = best.min(started.elapsed().as_secs_f64());
    }
    Ok(best * 1000.0)
}

/// Full-range gray (`width·height` bytes, rows without padding) of `frame`, in one of
/// [`FORMATS`]: the luma plane of YUV formats (limited range stretched to 0–255), BT.601
/// weights of RGB.
pub(crate) fn frame_to_gray(frame: &FrameRef<'_>) -> Result<Vec<u8>, String> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let (data, stride) = plane(frame, 0)?;
    let rows = data.chunks(stride as usize).take(height);
    let mut gray = Vec::with_capacity(width * height);
    if frame.format() == VideoFormat::Rgb {
        for row in rows {
            gray.extend(row[..3 * width].chunks_exact(3).map(|p| {
                let [r, g, b] = [p[0], p[1], p[2]].map(u32::from);
                ((77 * r + 150 * g + 29 * b + 128) >> 8) as u8
            }));
        }
    } else {
        let stretch: [u8; 256] = match range(&frame.info().colorimetry()) {
            YuvRange::Full => std::array::from_fn(|y| y as u8),
            // (y − 16) · 255 / 219, rounded and clamped.
            YuvRange::Limited => std::array::from_fn(|y| {
                ((y as i32 - 16) * 255 * 2 + 219)
                    .div_euclid(2 * 219)
                    .clamp(0, 255) as u8
            }),
        };
        for row in rows {
            gray.extend(row[..width].iter().map(|&y| stretch[usize::from(y)]));
        }
    }
    if gray.len() != width * height {
        return Err(format!(
            "luma plane of {} bytes for {width}×{height}",
            data.len()
        ));
    }
    Ok(gray)
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
        VideoFormat::I420 => {
            let planes = [
                plane_420(frame, 0)?,
                plane_420(frame, 1)?,
                plane_420(frame, 2)?,
            ];
            i420_to_rgb(planes, siting(frame), upsampling, (range, matrix), out)
        }
        VideoFormat::Nv12 => {
            let (u, v, row) = split_chroma(frame)?;
            let half = |data| chroma::Plane {
                data,
                stride: row,
                width: row,
                height: (height as usize).div_ceil(2),
            };
            let planes = [plane_420(frame, 0)?, half(&u), half(&v)];
            i420_to_rgb(planes, siting(frame), upsampling, (range, matrix), out)
        }
        VideoFormat::Y42b => {
            // 4:2:2 chroma has every row: only the siting along them applies.
            let siting = Siting {
                top: false,
                ..siting(frame)
            };
            let image = planar(frame)?;
            let chroma = |data, stride: u32| chroma::Plane {
                data,
                stride: stride as usize,
                width: width.div_ceil(2) as usize,
                height: height as usize,
            };
            let (u, u_stride) = centred(chroma(image.u_plane, image.u_stride), siting);
            let (v, v_stride) = centred(chroma(image.v_plane, image.v_stride), siting);
            let image = YuvPlanarImage {
                u_plane: &u,
                u_stride,
                v_plane: &v,
                v_stride,
                ..image
            };
            simd(yuv422_to_rgb(&image, out, stride, range, matrix))
        }
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
                    for upsampling in [ChromaUpsampling::Nearest, ChromaUpsampling::Guided] {
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

    #[test]
    fn decoded_formats_give_their_luma_in_full_range() {
        gst::init().unwrap();
        use VideoFormat::*;
        for format in [I420, Nv12, Y42b, Y444, Rgb] {
            for (w, h) in [(6, 4), (7, 5)] {
                // Limited-range luma stretched to 0–255 (clamped outside 16–235); RGB frames
                // give BT.601 weights of their colour.
                for (yuv, rgb, want) in [
                    ([16, 128, 128], [0u8, 0, 0], 0u8),
                    ([235, 128, 128], [255, 255, 255], 255),
                    ([250, 128, 128], [255, 255, 255], 255),
                    ([10, 128, 128], [0, 0, 0], 0),
                    ([126, 128, 128], [128, 128, 128], 128),
                    ([81, 90, 240], [255, 0, 0], 76),
                ] {
                    let (buffer, info) = solid(format, w, h, yuv, rgb);
                    let frame =
                        gst_video::VideoFrameRef::from_buffer_ref_readable(&buffer, &info).unwrap();
                    let gray = frame_to_gray(&frame).unwrap();
                    assert_eq!(gray.len(), (w * h) as usize);
                    assert!(
                        gray.iter().all(|&g| g.abs_diff(want) <= 1),
                        "{format:?} {w}x{h} {yuv:?}: {:?} vs {want}",
                        &gray[..4]
                    );
                }
            }
        }
    }

    /// A 16 × 4 frame of `format` with flat luma and a chroma step along the rows: `U` is 96
    /// on the samples before sample 4 and 160 from it on; the caps say `site`.
    fn chroma_step(
        format: VideoFormat,
        site: VideoChromaSite,
    ) -> (gst::Buffer, gst_video::VideoInfo) {
        let (w, h) = (16, 4);
        let info = gst_video::VideoInfo::builder(format, w, h)
            .colorimetry(&"bt601".parse().unwrap())
            .chroma_site(site)
            .build()
            .unwrap();
        let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
        let b = buffer.get_mut().unwrap();
        let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(b, &info).unwrap();
        fill(frame.plane_data_mut(0).unwrap(), &[128]);
        let u = |i: usize| if i < 4 { 96 } else { 160 };
        if format == VideoFormat::Nv12 {
            let stride = frame.plane_stride()[1] as usize;
            for row in frame.plane_data_mut(1).unwrap().chunks_mut(stride) {
                for i in 0..8 {
                    (row[2 * i], row[2 * i + 1]) = (u(i), 128);
                }
            }
        } else {
            let stride = frame.plane_stride()[1] as usize;
            for row in frame.plane_data_mut(1).unwrap().chunks_mut(stride) {
                for (i, s) in row[..8].iter_mut().enumerate() {
                    *s = u(i);
                }
            }
            fill(frame.plane_data_mut(2).unwrap(), &[128]);
        }
        drop(frame);
        (buffer, info)
    }

    /// The chroma of streams sited on the left column (H.264's default) is read there: pixel 7,
    /// halfway between samples 3 (on pixel 6) and 4 (on pixel 8), gets the mean of their `U`;
    /// read as centred it would get ¾ of sample 3 and ¼ of sample 4.
    #[test]
    fn chroma_is_read_at_its_siting() {
        gst::init().unwrap();
        for format in [VideoFormat::I420, VideoFormat::Nv12, VideoFormat::Y42b] {
            for upsampling in [ChromaUpsampling::Nearest, ChromaUpsampling::Guided] {
                let u_at_pixel_7 = |site| {
                    let (buffer, info) = chroma_step(format, site);
                    let frame =
                        gst_video::VideoFrameRef::from_buffer_ref_readable(&buffer, &info).unwrap();
                    let rgb = frame_to_rgb(&frame, upsampling).unwrap();
                    // Blue of flat limited-range luma 128: 130.4 + 2.017 (U − 128) (BT.601).
                    128.0 + (f32::from(rgb[7 * 3 + 2]) - 130.4) / 2.017
                };
                let (left, centred) = (
                    u_at_pixel_7(VideoChromaSite::MPEG2),
                    u_at_pixel_7(VideoChromaSite::JPEG),
                );
                let what =
                    format!("{format:?} {upsampling:?}: U {left:.1} sited, {centred:.1} centred");
                // Guided (flat luma: plain interpolation) reads centred samples as ¾ · 96 + ¼ ·
                // 160 = 112 and sited ones as their mean, 128; nearest (and 4:2:2, which is
                // never guided) takes sample 3 as it is, or moved to its block's centre.
                let guided = upsampling == ChromaUpsampling::Guided && format != VideoFormat::Y42b;
                let want = if guided {
                    [128.0, 112.0]
                } else {
                    [112.0, 96.0]
                };
                assert!((centred - want[1]).abs() <= 2.0, "{what}");
                assert!((left - want[0]).abs() <= 2.0, "{what}");
            }
        }
    }
}
