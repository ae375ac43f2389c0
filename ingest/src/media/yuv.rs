//! Decoded frames to packed RGB. Most cameras record 8-bit 4:2:0, which software decoders output
//! as I420 and hardware decoders as NV12: those frames are converted here with SIMD (yuvutils-rs),
//! honouring the stream's colour matrix and range, several times faster than GStreamer's
//! `videoconvert`. Other formats (4:2:2, 4:4:4, 10-bit) reach the appsink as RGB, converted by
//! `videoconvert` in one step.

use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use gstreamer_video::{VideoColorMatrix, VideoColorRange};
use yuvutils_rs::{
    YuvBiPlanarImage, YuvConversionMode, YuvPlanarImage, YuvRange, YuvStandardMatrix,
    yuv_nv12_to_rgb, yuv420_to_rgb,
};

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

/// The formats the decode pipeline's appsink accepts, preferred first.
pub(crate) const FORMATS: [&str; 3] = ["I420", "NV12", "RGB"];

/// Packed RGB (`width·height·3` bytes, rows without padding) of an I420 or RGB `frame`.
pub(crate) fn frame_to_rgb(
    frame: &gst_video::VideoFrameRef<&gst::BufferRef>,
) -> Result<Vec<u8>, String> {
    let (width, height) = (frame.width(), frame.height());
    let plane = |i: u32| frame.plane_data(i).map_err(|e| e.to_string());
    let strides = frame.plane_stride();
    let colorimetry = frame.info().colorimetry();
    let (range, matrix) = (range(&colorimetry), matrix(&colorimetry, height));
    let row = width as usize * 3;
    let mut rgb = vec![0u8; row * height as usize];
    let converted = match frame.format() {
        gst_video::VideoFormat::I420 => {
            let image = YuvPlanarImage {
                y_plane: plane(0)?,
                y_stride: strides[0] as u32,
                u_plane: plane(1)?,
                u_stride: strides[1] as u32,
                v_plane: plane(2)?,
                v_stride: strides[2] as u32,
                width,
                height,
            };
            yuv420_to_rgb(&image, &mut rgb, row as u32, range, matrix)
        }
        gst_video::VideoFormat::Nv12 => {
            // yuvutils-rs 0.8 takes the interleaved chroma plane only without row padding.
            let (uv, uv_stride) = (plane(1)?, strides[1] as usize);
            let uv_row = width.div_ceil(2) as usize * 2;
            let tight: Vec<u8>;
            let uv_plane = if uv_stride == uv_row {
                uv
            } else {
                tight = uv.chunks(uv_stride).flat_map(|r| &r[..uv_row]).copied().collect();
                &tight
            };
            let image = YuvBiPlanarImage {
                y_plane: plane(0)?,
                y_stride: strides[0] as u32,
                uv_plane,
                uv_stride: uv_row as u32,
                width,
                height,
            };
            let mode = YuvConversionMode::Balanced;
            yuv_nv12_to_rgb(&image, &mut rgb, row as u32, range, matrix, mode)
        }
        gst_video::VideoFormat::Rgb => {
            let (data, stride) = (plane(0)?, strides[0] as usize);
            for (y, out) in rgb.chunks_exact_mut(row).enumerate() {
                out.copy_from_slice(&data[y * stride..y * stride + row]);
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

    /// A `w`×`h` frame of `format` filled with one limited-range BT.601 colour (given as Y, Cb,
    /// Cr; RGB frames get the colour's RGB).
    fn solid(
        format: gst_video::VideoFormat,
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
        {
            let b = buffer.get_mut().unwrap();
            let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(b, &info).unwrap();
            match format {
                gst_video::VideoFormat::I420 => {
                    for (p, value) in yuv.iter().enumerate() {
                        frame.plane_data_mut(p as u32).unwrap().fill(*value);
                    }
                }
                gst_video::VideoFormat::Nv12 => {
                    frame.plane_data_mut(0).unwrap().fill(yuv[0]);
                    for pair in frame.plane_data_mut(1).unwrap().chunks_exact_mut(2) {
                        pair.copy_from_slice(&yuv[1..]);
                    }
                }
                _ => {
                    let stride = frame.plane_stride()[0] as usize;
                    for row in frame.plane_data_mut(0).unwrap().chunks_mut(stride) {
                        for px in row[..w as usize * 3].chunks_exact_mut(3) {
                            px.copy_from_slice(&rgb);
                        }
                    }
                }
            }
        }
        (buffer, info)
    }

    #[test]
    fn decoded_formats_convert_to_their_rgb() {
        gst::init().unwrap();
        use gst_video::VideoFormat::{I420, Nv12, Rgb};
        // Odd sizes: the chroma planes are rounded up, rows are padded to the stride.
        for format in [I420, Nv12, Rgb] {
            for (w, h) in [(6, 4), (7, 5)] {
                for (yuv, want) in [
                    ([16, 128, 128], [0u8, 0, 0]),
                    ([235, 128, 128], [255, 255, 255]),
                    // BT.601 limited-range red and a blue-green.
                    ([81, 90, 240], [255, 0, 0]),
                    ([106, 203, 63], [0, 128, 255]),
                ] {
                    let (buffer, info) = solid(format, w, h, yuv, want);
                    let frame =
                        gst_video::VideoFrameRef::from_buffer_ref_readable(&buffer, &info).unwrap();
                    let rgb = frame_to_rgb(&frame).unwrap();
                    assert_eq!(rgb.len(), (w * h * 3) as usize);
                    for px in rgb.chunks_exact(3) {
                        for c in 0..3 {
                            assert!(
                                (px[c] as i32 - want[c] as i32).abs() <= 3,
                                "{format:?} {w}x{h} {yuv:?}: {px:?} vs {want:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}
