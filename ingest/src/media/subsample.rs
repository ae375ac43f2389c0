//! RGB frames to 4:2:0 YUV as a camera records them, for the encoder: limited range, the BT.601
//! matrix below 720 lines and BT.709 from 720 up (GStreamer's defaults, which decoders assume for
//! streams that do not say), and each 2 × 2 block's chroma sample sited on the block's left
//! column, halfway between its rows (MPEG-2 siting, H.264's default), filtered `[1 2 1] / 4`
//! along the row. GStreamer's `videoconvert` averages each block instead (a centred sample) even
//! when told the MPEG-2 siting, so a synthetic video made with it declares one siting and holds
//! the other.

use gstreamer_video as gst_video;
use gstreamer_video::{
    VideoChromaSite, VideoColorMatrix, VideoColorPrimaries, VideoColorRange, VideoTransferFunction,
};

/// The colour matrix (`Kr`, `Kb`) and its GStreamer name for a `height`-line frame.
fn matrix(height: u32) -> (f32, f32, VideoColorMatrix) {
    if height >= 720 {
        (0.2126, 0.0722, VideoColorMatrix::Bt709)
    } else {
        (0.299, 0.114, VideoColorMatrix::Bt601)
    }
}

/// The colorimetry and siting [`rgb_to_i420`] writes, for the stream's caps.
pub(crate) fn i420_info(
    width: u32,
    height: u32,
    fps: gstreamer::Fraction,
) -> Result<gst_video::VideoInfo, gstreamer::glib::BoolError> {
    let colorimetry = gst_video::VideoColorimetry::new(
        VideoColorRange::Range16_235,
        matrix(height).2,
        VideoTransferFunction::Srgb,
        VideoColorPrimaries::Bt709,
    );
    gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, width, height)
        .fps(fps)
        .colorimetry(&colorimetry)
        .chroma_site(VideoChromaSite::MPEG2)
        .build()
}

/// Converts a `width × height` frame of packed RGB or RGBA pixels (`channels` bytes each, rows
/// without padding; even sizes) into `info`'s I420 layout (see [`i420_info`]).
pub(crate) fn rgb_to_i420(pixels: &[u8], channels: usize, info: &gst_video::VideoInfo) -> Vec<u8> {
    let (w, h) = (info.width() as usize, info.height() as usize);
    let (kr, kb, _) = matrix(info.height());
    let kg = 1.0 - kr - kb;
    let (stride, offset) = (info.stride(), info.offset());
    let mut out = vec![0u8; info.size()];
    let (luma_scale, chroma_scale) = (219.0 / 255.0, 224.0 / 255.0);
    let quantise = |x: f32| x.round().clamp(0.0, 255.0) as u8;
    // Full-resolution chroma (centred on 0) of one row, then of the row pair's mean.
    let (mut cb, mut cr) = (vec![0f32; w], vec![0f32; w]);
    for y in (0..h).step_by(2) {
        cb.fill(0.0);
        cr.fill(0.0);
        for row in [y, y + 1] {
            let luma_row = offset[0] + row * stride[0] as usize;
            let pixels = &pixels[row * w * channels..(row + 1) * w * channels];
            for (x, px) in pixels.chunks_exact(channels).enumerate() {
                let [r, g, b] = [px[0], px[1], px[2]].map(f32::from);
                let l = kr * r + kg * g + kb * b;
                out[luma_row + x] = quantise(16.0 + luma_scale * l);
                cb[x] += 0.5 * chroma_scale * (b - l) / (2.0 * (1.0 - kb));
                cr[x] += 0.5 * chroma_scale * (r - l) / (2.0 * (1.0 - kr));
            }
        }
        // The sample on column 2i: [1 2 1] / 4 over columns 2i − 1 … 2i + 1 (edges repeated).
        let j = y / 2;
        for (plane, full) in [(1, &cb), (2, &cr)] {
            let row = offset[plane] + j * stride[plane] as usize;
            for i in 0..w / 2 {
                let (left, right) = ((2 * i).saturating_sub(1), 2 * i + 1);
                let c = 0.25 * full[left] + 0.5 * full[2 * i] + 0.25 * full[right];
                out[row + i] = quantise(128.0 + c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(w: u32, h: u32) -> gst_video::VideoInfo {
        gstreamer::init().unwrap();
        i420_info(w, h, gstreamer::Fraction::new(30, 1)).unwrap()
    }

    /// Plane `p`'s rows (without padding) of an I420 frame.
    fn rows(frame: &[u8], info: &gst_video::VideoInfo, p: usize) -> Vec<Vec<u8>> {
        let (w, h) = if p == 0 {
            (info.width(), info.height())
        } else {
            (info.width() / 2, info.height() / 2)
        };
        let (stride, offset) = (info.stride()[p] as usize, info.offset()[p]);
        (0..h as usize)
            .map(|r| frame[offset + r * stride..][..w as usize].to_vec())
            .collect()
    }

    #[test]
    fn colours_take_their_limited_range_values() {
        let info = layout(4, 2);
        for (rgb, want) in [
            ([0u8, 0, 0], [16u8, 128, 128]),
            ([255, 255, 255], [235, 128, 128]),
            // BT.601 red.
            ([255, 0, 0], [81, 90, 240]),
        ] {
            let frame = rgb_to_i420(&rgb.repeat(8), 3, &info);
            let got = [0, 1, 2].map(|p| rows(&frame, &info, p)[0][0]);
            assert_eq!(got, want, "{rgb:?}");
        }
        // BT.709 from 720 lines: its red.
        let hd = layout(1280, 720);
        let frame = rgb_to_i420(&[255, 0, 0, 255].repeat(1280 * 720), 4, &hd);
        assert_eq!(
            [0, 1, 2].map(|p| rows(&frame, &hd, p)[0][0]),
            [63, 102, 240]
        );
    }

    #[test]
    fn chroma_is_sited_on_the_left_column() {
        // Red from column 3 on: sample 1 (on column 2) sees a quarter of the edge, sample 2 (on
        // column 4) is wholly red, and the rows share each sample.
        let (w, h) = (8, 4);
        let info = layout(w, h);
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        for px in rgb
            .chunks_exact_mut(3)
            .enumerate()
            .filter(|(k, _)| k % 8 >= 3)
        {
            px.1[0] = 255;
        }
        let frame = rgb_to_i420(&rgb, 3, &info);
        let cr = rows(&frame, &info, 2);
        // Red's Cr is 240; black's 128.
        assert_eq!(cr[0], vec![128, 156, 240, 240]);
        assert_eq!(cr[1], cr[0]);
    }
}
