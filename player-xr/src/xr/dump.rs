//! `--dump-frames DIR`: what each eye rendered, as `frame_NNNNNN_{left,right}.png`, plus
//! `frame_NNNNNN.json` with the views the runtime gave (pose, field of view), the cameras built
//! from them and the clip's placement, for tests and bug reports.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use yakumo_core::Camera;
use yakumo_core::fsutil::write_atomic;

use crate::gpu::Gpu;
use crate::offscreen::Readback;
use crate::xr::eye::{EyeFov, Pose, Similarity};
use crate::xr::placement::{ClipAnchor, Placement};
use crate::xr::swapchain::{EYES, StereoSwapchain};

/// Eye names, in OpenXR's stereo view order.
pub const EYE_NAMES: [&str; 2] = ["left", "right"];

/// A camera as plain numbers (row-major matrices).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CameraRecord {
    /// Image width and height.
    pub size: [u32; 2],
    /// Intrinsics, rows.
    pub k: [[f64; 3]; 3],
    /// World (clip) → camera rotation, rows.
    pub r: [[f64; 3]; 3],
    /// World (clip) → camera translation, clip units.
    pub t: [f64; 3],
}

impl CameraRecord {
    /// From a camera.
    pub fn of(c: &Camera) -> CameraRecord {
        let rows = |m: glam::DMat3| {
            let t = m.transpose();
            [
                t.x_axis.to_array(),
                t.y_axis.to_array(),
                t.z_axis.to_array(),
            ]
        };
        CameraRecord {
            size: [c.width, c.height],
            k: rows(c.k),
            r: rows(c.r),
            t: c.t.to_array(),
        }
    }
}

/// One eye of a dumped frame.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EyeRecord {
    /// `left` or `right`.
    pub eye: String,
    /// The PNG file name.
    pub image: String,
    /// The view pose from `xrLocateViews`, in the reference space (OpenXR axes).
    pub pose: Pose,
    /// The view's field of view.
    pub fov: EyeFov,
    /// The camera the renderer drew with (clip coordinates, OpenCV axes).
    pub camera: CameraRecord,
}

/// A dumped frame's description.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FrameRecord {
    /// Index among submitted frames.
    pub frame: u64,
    /// The clip frame drawn.
    pub clip_frame: usize,
    /// The predicted display time, nanoseconds.
    pub display_time_ns: i64,
    /// The clip's footprint and up axis.
    pub anchor: ClipAnchor,
    /// Where the clip stands.
    pub placement: Placement,
    /// Clip → reference space.
    pub clip_to_space: Similarity,
    /// Both eyes.
    pub eyes: Vec<EyeRecord>,
}

/// Writes the first few frames that show the clip.
#[derive(Debug)]
pub struct Dumper {
    dir: PathBuf,
    remaining: usize,
    written: Vec<u64>,
}

impl Dumper {
    /// Creates `dir` and prepares to dump `count` frames.
    pub fn new(dir: &Path, count: usize) -> Result<Dumper> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Dumper {
            dir: dir.to_owned(),
            remaining: count,
            written: Vec::new(),
        })
    }

    /// True while frames are still to be written.
    pub fn wants(&self) -> bool {
        self.remaining > 0
    }

    /// Frames written so far.
    pub fn written(&self) -> &[u64] {
        &self.written
    }

    /// File stem of frame `frame`.
    pub fn stem(frame: u64) -> String {
        format!("frame_{frame:06}")
    }

    /// Reads back both eyes' rendered layers of image `index` of `swapchain` and writes them
    /// with `record`. Leaves the layers as render targets again, the layout the runtime expects
    /// them in on release.
    pub fn write(
        &mut self,
        gpu: &Gpu,
        swapchain: &StereoSwapchain,
        index: usize,
        record: &FrameRecord,
    ) -> Result<()> {
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        let texture = swapchain.texture(index);
        let readbacks: Vec<Readback> = (0..EYES)
            .map(|eye| {
                let source = wgpu::TexelCopyTextureInfo {
                    texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d {
                        x: 0,
                        y: 0,
                        z: eye as u32,
                    },
                    aspect: wgpu::TextureAspect::All,
                };
                Readback::record(&gpu.device, &mut enc, source, swapchain.size())
            })
            .collect();
        for view in (0..EYES).map(|eye| swapchain.eye_view(index, eye)) {
            // An empty pass that keeps the contents: back to colour-attachment layout.
            drop(enc.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("back to attachment"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Load,
                        store: wgpu::StoreOp::Store,
                    },
                })],
                ..Default::default()
            }));
        }
        gpu.queue.submit([enc.finish()]);
        let stem = Self::stem(record.frame);
        for (readback, eye) in readbacks.into_iter().zip(&record.eyes) {
            let img = readback.finish(gpu)?;
            let mut png = Vec::new();
            img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)?;
            let path = self.dir.join(&eye.image);
            write_atomic(&path, &png).with_context(|| format!("writing {}", path.display()))?;
        }
        let path = self.dir.join(format!("{stem}.json"));
        write_atomic(&path, serde_json::to_string_pretty(record)?.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        self.written.push(record.frame);
        self.remaining -= 1;
        Ok(())
    }
}
