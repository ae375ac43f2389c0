//! GPU timestamp queries bracketing one render call (when the adapter supports them).

use crate::gpu::{Gpu, GpuError};

/// Two timestamps, written at the start of the first pass and the end of the last pass.
#[derive(Debug)]
pub struct GpuTimer {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    period_ns: f32,
}

impl GpuTimer {
    /// A timer, or `None` when the device lacks `TIMESTAMP_QUERY`.
    pub fn new(gpu: &Gpu) -> Option<Self> {
        if !gpu.has_timestamps() {
            return None;
        }
        let queries = gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("frame timer"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolve = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Some(GpuTimer {
            queries,
            resolve,
            period_ns: gpu.queue.get_timestamp_period(),
        })
    }

    /// Timestamp writes for the first compute pass of a frame.
    pub fn start_compute(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: None,
        }
    }

    /// Timestamp writes for the last compute pass of a frame.
    pub fn end_compute(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: None,
            end_of_pass_write_index: Some(1),
        }
    }

    /// Timestamp writes for the last render pass of a frame.
    pub fn end_render(&self) -> wgpu::RenderPassTimestampWrites<'_> {
        wgpu::RenderPassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: None,
            end_of_pass_write_index: Some(1),
        }
    }

    /// Records the copy of both timestamps into the resolve buffer (after the last pass).
    pub fn resolve(&self, enc: &mut wgpu::CommandEncoder) {
        enc.resolve_query_set(&self.queries, 0..2, &self.resolve, 0);
    }

    /// Waits for the GPU and returns the time between the two timestamps in milliseconds.
    pub fn read_ms(&self, gpu: &Gpu) -> Result<f64, GpuError> {
        let bytes = gpu.read_buffer(&self.resolve, 16)?;
        let t: &[u64] = bytemuck::cast_slice(&bytes);
        Ok(t[1].wrapping_sub(t[0]) as f64 * self.period_ns as f64 * 1e-6)
    }
}
