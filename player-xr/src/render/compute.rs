//! Compute path: tile binning and a per-pixel K-nearest list (no hardware rasteriser).
//!
//! Per view: prepare → count (tiles touched per point, atomics) → scan (tile offsets) → scatter
//! (point indices into per-tile lists) → resolve (one workgroup per 16×16 tile keeps each
//! pixel's K nearest covering points and composites them). The list's size is only known after
//! the scan, so a render call submits twice and reads the totals back in between, growing the
//! list buffer when needed.

use std::collections::HashMap;

use crate::frame::{GpuFrame, dispatch_size};
use crate::gpu::Gpu;
use crate::render::{
    PointRenderer, Prepare, RenderError, RenderParams, RenderPath, ViewTarget, bind_group,
    check_inputs, compute_pipeline, shader,
};
use crate::timer::GpuTimer;
use crate::view::TILE;

/// Compute-shader renderer.
#[derive(Debug)]
pub struct ComputeRenderer {
    prepare: Prepare,
    count: wgpu::ComputePipeline,
    scan: wgpu::ComputePipeline,
    scatter: wgpu::ComputePipeline,
    resolve: HashMap<wgpu::TextureFormat, wgpu::ComputePipeline>,
    bins: Vec<Option<Bins>>,
}

/// Tile lists for one view.
#[derive(Debug)]
struct Bins {
    tiles: (u32, u32),
    tile_count: wgpu::Buffer,
    tile_offset: wgpu::Buffer,
    tile_cursor: wgpu::Buffer,
    totals: wgpu::Buffer,
    list: wgpu::Buffer,
    capacity: u32,
}

impl Bins {
    fn new(device: &wgpu::Device, size: (u32, u32)) -> Self {
        let tiles = (size.0.div_ceil(TILE), size.1.div_ceil(TILE));
        let n = (tiles.0 * tiles.1) as u64;
        let buf = |label: &str, size: u64, extra: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage: wgpu::BufferUsages::STORAGE | extra,
                mapped_at_creation: false,
            })
        };
        let copy = wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC;
        let capacity = (n as u32 * 64).max(1024);
        Bins {
            tiles,
            tile_count: buf("tile count", n * 4, copy),
            tile_offset: buf("tile offset", n * 4, copy),
            tile_cursor: buf("tile cursor", n * 4, copy),
            totals: buf("totals", 8, copy),
            list: buf("tile lists", capacity as u64 * 4, copy),
            capacity,
        }
    }

    fn grow(&mut self, device: &wgpu::Device, needed: u32) {
        let capacity = needed.saturating_add(needed / 4);
        self.list = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tile lists"),
            size: capacity as u64 * 4,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        self.capacity = capacity;
    }
}

fn group(
    device: &wgpu::Device,
    pipeline: &wgpu::ComputePipeline,
    resources: &[(u32, wgpu::BindingResource<'_>)],
) -> wgpu::BindGroup {
    bind_group(device, &pipeline.get_bind_group_layout(0), resources)
}

fn storage_format_name(format: wgpu::TextureFormat) -> &'static str {
    match format {
        wgpu::TextureFormat::Rgba16Float => "rgba16float",
        _ => "rgba8unorm",
    }
}

impl ComputeRenderer {
    /// Compiles the binning pipelines (resolve pipelines are made per output format on use).
    pub fn new(gpu: &Gpu) -> Self {
        let device = &gpu.device;
        let tiles = shader(device, "tiles", include_str!("../../../shaders/tiles.wgsl"));
        ComputeRenderer {
            prepare: Prepare::new(gpu),
            count: compute_pipeline(device, &tiles, "count"),
            scan: compute_pipeline(device, &tiles, "scan"),
            scatter: compute_pipeline(device, &tiles, "scatter"),
            resolve: HashMap::new(),
            bins: Vec::new(),
        }
    }

    fn resolve_pipeline(
        &mut self,
        device: &wgpu::Device,
        format: wgpu::TextureFormat,
    ) -> &wgpu::ComputePipeline {
        self.resolve.entry(format).or_insert_with(|| {
            let source = include_str!("../../../shaders/resolve.wgsl")
                .replace("OUTPUT_FORMAT", storage_format_name(format));
            let module = shader(device, "resolve", &source);
            compute_pipeline(device, &module, "resolve")
        })
    }
}

impl PointRenderer for ComputeRenderer {
    fn render(
        &mut self,
        gpu: &Gpu,
        frame: &GpuFrame,
        views: &[ViewTarget<'_>],
        params: &RenderParams,
        timer: Option<&GpuTimer>,
    ) -> Result<(), RenderError> {
        check_inputs(views, params)?;
        let device = &gpu.device;
        for v in views {
            self.resolve_pipeline(device, v.format);
        }
        while self.bins.len() < views.len() {
            self.bins.push(None);
        }
        let (gx, gy) = dispatch_size(frame.len());

        // Submission 1: project, count tiles, scan; read back the list sizes.
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("totals readback"),
            size: 8 * views.len() as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = device.create_command_encoder(&Default::default());
        for (i, view) in views.iter().enumerate() {
            let tiles = (view.size.0.div_ceil(TILE), view.size.1.div_ceil(TILE));
            if self.bins[i].as_ref().is_none_or(|b| b.tiles != tiles) {
                self.bins[i] = Some(Bins::new(device, view.size));
            }
            let start = if i == 0 {
                timer.map(GpuTimer::start_compute)
            } else {
                None
            };
            let slot = self
                .prepare
                .record(gpu, &mut enc, frame, i, view, params, start);
            let bins = self.bins[i].as_ref().expect("created above");
            enc.clear_buffer(&bins.tile_count, 0, None);
            enc.clear_buffer(&bins.tile_cursor, 0, None);
            let count_bg = group(
                device,
                &self.count,
                &[
                    (0, slot.uniform.as_entire_binding()),
                    (1, slot.proj.as_entire_binding()),
                    (2, bins.tile_count.as_entire_binding()),
                ],
            );
            let scan_bg = group(
                device,
                &self.scan,
                &[
                    (2, bins.tile_count.as_entire_binding()),
                    (3, bins.tile_offset.as_entire_binding()),
                    (6, bins.totals.as_entire_binding()),
                ],
            );
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.count);
            pass.set_bind_group(0, &count_bg, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
            pass.set_pipeline(&self.scan);
            pass.set_bind_group(0, &scan_bg, &[]);
            pass.dispatch_workgroups(1, 1, 1);
            drop(pass);
            enc.copy_buffer_to_buffer(&bins.totals, 0, &staging, 8 * i as u64, 4);
        }
        gpu.queue.submit([enc.finish()]);
        let totals = gpu.map_read(&staging)?;
        let needed: &[u32] = bytemuck::cast_slice(&totals);

        // Submission 2: scatter into the tile lists and resolve every pixel.
        let mut enc = device.create_command_encoder(&Default::default());
        for (i, view) in views.iter().enumerate() {
            let bins = self.bins[i].as_mut().expect("created above");
            let need = needed[2 * i];
            if need > bins.capacity {
                bins.grow(device, need);
            }
            gpu.queue
                .write_buffer(&bins.totals, 4, bytemuck::bytes_of(&bins.capacity));
            let bins = self.bins[i].as_ref().expect("created above");
            let slot = self.prepare.slot(i);
            let scatter_bg = group(
                device,
                &self.scatter,
                &[
                    (0, slot.uniform.as_entire_binding()),
                    (1, slot.proj.as_entire_binding()),
                    (3, bins.tile_offset.as_entire_binding()),
                    (4, bins.tile_cursor.as_entire_binding()),
                    (5, bins.list.as_entire_binding()),
                    (6, bins.totals.as_entire_binding()),
                ],
            );
            let resolve = &self.resolve[&view.format];
            let resolve_bg = group(
                device,
                resolve,
                &[
                    (0, slot.uniform.as_entire_binding()),
                    (1, slot.proj.as_entire_binding()),
                    (2, slot.colour.as_entire_binding()),
                    (3, bins.tile_count.as_entire_binding()),
                    (4, bins.tile_offset.as_entire_binding()),
                    (5, bins.list.as_entire_binding()),
                    (6, wgpu::BindingResource::TextureView(view.target)),
                ],
            );
            let end = if i + 1 == views.len() {
                timer.map(GpuTimer::end_compute)
            } else {
                None
            };
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("scatter+resolve"),
                timestamp_writes: end,
            });
            pass.set_pipeline(&self.scatter);
            pass.set_bind_group(0, &scatter_bg, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
            pass.set_pipeline(resolve);
            pass.set_bind_group(0, &resolve_bg, &[]);
            pass.dispatch_workgroups(bins.tiles.0, bins.tiles.1, 1);
        }
        if let Some(t) = timer {
            t.resolve(&mut enc);
        }
        gpu.queue.submit([enc.finish()]);
        Ok(())
    }

    fn path(&self) -> RenderPath {
        RenderPath::Compute
    }
}
