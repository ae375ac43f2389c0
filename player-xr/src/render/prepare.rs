//! The per-view prepare pass shared by both paths: projects every point and shades its colour.

use crate::frame::{GpuFrame, dispatch_size};
use crate::gpu::Gpu;
use crate::render::{RenderParams, ViewTarget, bind_group, compute_pipeline, shader};
use crate::view::ViewUniform;

/// Per-view buffers written by the prepare pass and read by the draw passes.
#[derive(Debug)]
pub struct ViewSlot {
    /// The `View` uniform.
    pub uniform: wgpu::Buffer,
    /// `(x, y, z, r_px)` per point; `z = -1` when culled.
    pub proj: wgpu::Buffer,
    /// Shaded `(r, g, b, density)` per point.
    pub colour: wgpu::Buffer,
    capacity: u32,
}

/// The prepare pipeline and one [`ViewSlot`] per view index.
#[derive(Debug)]
pub struct Prepare {
    pipeline: wgpu::ComputePipeline,
    slots: Vec<ViewSlot>,
}

impl Prepare {
    /// Compiles the prepare shader.
    pub fn new(gpu: &Gpu) -> Self {
        let module = shader(
            &gpu.device,
            "prepare",
            include_str!("../../../shaders/prepare.wgsl"),
        );
        Prepare {
            pipeline: compute_pipeline(&gpu.device, &module, "prepare"),
            slots: Vec::new(),
        }
    }

    /// Updates view `index`'s uniform and records its prepare dispatch; returns the slot.
    pub fn record(
        &mut self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        frame: &GpuFrame,
        index: usize,
        view: &ViewTarget<'_>,
        params: &RenderParams,
        timestamps: Option<wgpu::ComputePassTimestampWrites<'_>>,
    ) -> &ViewSlot {
        let device = &gpu.device;
        while self.slots.len() <= index {
            self.slots.push(ViewSlot::new(device, 0));
        }
        if self.slots[index].capacity < frame.len() {
            self.slots[index] = ViewSlot::new(device, frame.len() + frame.len() / 4);
        }
        let slot = &self.slots[index];
        let uniform = ViewUniform::new(
            view.camera,
            frame.len(),
            frame.sh_coeffs(),
            params.k,
            params.background,
        );
        gpu.queue
            .write_buffer(&slot.uniform, 0, bytemuck::bytes_of(&uniform));
        let bg = bind_group(
            device,
            &self.pipeline.get_bind_group_layout(0),
            &[
                (0, slot.uniform.as_entire_binding()),
                (1, frame.points.as_entire_binding()),
                (2, frame.base.as_entire_binding()),
                (3, frame.sh_rest.as_entire_binding()),
                (4, slot.proj.as_entire_binding()),
                (5, slot.colour.as_entire_binding()),
            ],
        );
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("prepare"),
            timestamp_writes: timestamps,
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &bg, &[]);
        let (x, y) = dispatch_size(frame.len());
        pass.dispatch_workgroups(x, y, 1);
        drop(pass);
        slot
    }
}

impl Prepare {
    /// The buffers of view `index` (recorded by an earlier [`Prepare::record`]).
    ///
    /// # Panics
    /// When view `index` was never recorded.
    pub fn slot(&self, index: usize) -> &ViewSlot {
        &self.slots[index]
    }
}

impl ViewSlot {
    fn new(device: &wgpu::Device, capacity: u32) -> Self {
        let buf = |label: &str, usage: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: (capacity.max(1) as u64) * 16,
                usage,
                mapped_at_creation: false,
            })
        };
        let per_point = wgpu::BufferUsages::STORAGE;
        ViewSlot {
            uniform: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("view"),
                size: std::mem::size_of::<ViewUniform>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            proj: buf("proj", per_point),
            colour: buf("colour", per_point),
            capacity,
        }
    }
}
